"""Kong paths: how KIC writes an Ingress path as Kong route paths, and how Kong matches them.

KIC (traditional and traditional-compatible routers) turns each Ingress path into Kong paths
(:func:`kong_paths`): ``Prefix /foo`` into ``/foo/`` plus the regex ``~/foo$`` (so it is
segment-correct), ``Exact /foo`` into ``~/foo$``, an ``ImplementationSpecific`` path is kept
as written -- a plain Kong path, which is a **character** prefix (``/foo`` matches
``/foobar``) -- unless it starts with the regex marker (``/~`` by default,
``konghq.com/regex-prefix``), which makes it a Kong regex path ``~...``, anchored at the
start only. Runs of ``/`` are collapsed first. :func:`match` says whether a request path
matches one Kong path, and which part of it (what ``strip_path`` removes).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["KongPath", "flatten_slashes", "kong_paths", "match", "regex_of", "strip_regex_marker"]

_SLASHES = re.compile(r"/{2,}")


def flatten_slashes(path: str) -> str:
    """Runs of ``/`` collapsed into one, as KIC does before anything else."""
    return _SLASHES.sub("/", path)


def strip_regex_marker(path: str, marker: str = "/~") -> str | None:
    """The Kong regex path (``~...``) for an ImplementationSpecific path starting with the
    regex marker, or None for a plain path."""
    if marker and path.startswith(marker):
        return "~" + path[len(marker):]
    return None


def kong_paths(path: str, path_type: str, marker: str = "/~") -> list[str]:
    """The Kong route paths KIC writes for one Ingress path."""
    path = flatten_slashes(path)
    if path_type == "Exact":
        return [f"~{path or '/'}$"]
    if path_type == "Prefix":
        if path in ("", "/"):
            return ["/"]
        base = path.rstrip("/")
        return [base + "/", f"~{base}$"]
    regex = strip_regex_marker(path, marker)
    if regex is not None:
        return [regex]
    return [path or "/"]


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def regex_of(kong_path: str) -> str:
    """The pattern of a Kong regex path, anchored at the start as Kong anchors it."""
    body = kong_path[1:]
    return body if body.startswith("^") else "^" + body


@dataclass(frozen=True, slots=True)
class KongPath:
    """One Kong path of a route: its text, whether it is a regex, and its length (Kong
    orders plain paths by length)."""

    text: str

    @property
    def regex(self) -> bool:
        return self.text.startswith("~")

    @property
    def length(self) -> int:
        return len(self.text) - 1 if self.regex else len(self.text)


def match(kong_path: str, request_path: str) -> str | None:
    """The part of ``request_path`` a Kong path matches (from the start), or None.

    A plain path is a character prefix; a regex path is searched at the start only (PCRE
    read as Python ``re``; a pattern Python cannot compile matches nothing)."""
    if kong_path.startswith("~"):
        compiled = _compiled(regex_of(kong_path))
        if compiled is None:
            return None
        m = compiled.match(request_path)
        return m.group(0) if m else None
    return kong_path if request_path.startswith(kong_path) else None
