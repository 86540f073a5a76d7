"""ALB path semantics: Ingress paths -> ALB ``path-pattern`` values, ALB pattern matching, and
the Gateway API path match that carries a pattern.

* ``Exact`` -> the literal path (``*`` or ``?`` in it is an error); ``Prefix`` ``/p`` or ``/p/``
  -> ``/p`` and ``/p/*``, ``/`` -> ``/*`` (a wildcard is an error); ``ImplementationSpecific``
  or no pathType -> the raw pattern, or with ``use-regex-path-match`` a regular expression
  (the path minus its first ``/``).
* A pattern's ``*`` matches any run of characters, ``/`` included; ``?`` exactly one; the rest
  literally, case-sensitively, against the whole path (not the query).
* Inside one Ingress rule the paths are ordered: Exact, then Prefix longest first (stable),
  then ImplementationSpecific as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ing2gw.ir import PathMatch
from ing2gw.resources import IngressPath

__all__ = [
    "PathValues",
    "gateway_path",
    "pattern_regex",
    "path_values",
    "pattern_matches",
    "regex_matches",
    "sort_paths",
]


@dataclass(frozen=True, slots=True)
class PathValues:
    """The ``path-pattern`` condition of one Ingress path: ALB patterns or regular expressions."""

    values: tuple[str, ...] = ()
    regex_values: tuple[str, ...] = ()


def path_values(path: str, path_type: str, use_regex: bool = False) -> PathValues:
    """The controller's path-pattern values of one Ingress path (``ValueError`` as it fails)."""
    if path_type == "Exact":
        if "*" in path or "?" in path:
            raise ValueError(f"exact path shouldn't contain wildcards: {path}")
        return PathValues((path,)) if path else PathValues()
    if path_type == "Prefix":
        if "*" in path or "?" in path:
            raise ValueError(f"prefix path shouldn't contain wildcards: {path}")
        if path in ("", "/"):
            return PathValues(("/*",))
        stem = path.rstrip("/") if path.endswith("/") else path
        return PathValues((stem, stem + "/*"))
    if path_type in ("ImplementationSpecific", ""):
        if not path:
            return PathValues()
        if use_regex:
            return PathValues(regex_values=(path[1:],))
        return PathValues((path,))
    raise ValueError(f"unsupported pathType: {path_type}")


def sort_paths(paths: Sequence[IngressPath]) -> list[IngressPath]:
    """Exact first, then Prefix by length (longest first, stable), then ImplementationSpecific."""
    exact = [p for p in paths if p.path_type == "Exact"]
    prefix = sorted((p for p in paths if p.path_type == "Prefix"), key=lambda p: -len(p.path))
    other = [p for p in paths if p.path_type not in ("Exact", "Prefix")]
    return exact + prefix + other


@lru_cache(maxsize=4096)
def pattern_regex(pattern: str) -> str:
    """An ALB wildcard pattern as a full-match regular expression (``*`` -> ``.*``, ``?`` -> ``.``)."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern_regex(pattern), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def pattern_matches(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Whether an ALB wildcard pattern matches the whole of ``text``."""
    return _compiled(pattern, ignore_case).fullmatch(text) is not None


@lru_cache(maxsize=1024)
def _regex(expr: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expr)
    except re.error:
        return None


def regex_matches(expr: str, text: str) -> bool:
    """An ALB regular expression (``regexValues``): found anywhere unless anchored (Python ``re``
    stands in for ALB's dialect; an expression it cannot compile matches nothing)."""
    compiled = _regex(expr)
    return compiled is not None and compiled.search(text) is not None


def gateway_path(pattern: str) -> tuple[PathMatch, str]:
    """The Gateway API path match for one ALB pattern, and how exact it is: ``exact``,
    ``widened`` (``/p/*`` as PathPrefix ``/p``, which also matches ``/p`` itself) or ``regex``
    (a RegularExpression: implementation-specific support)."""
    if "*" not in pattern and "?" not in pattern:
        return PathMatch("Exact", pattern), "exact"
    if pattern == "/*":
        return PathMatch("PathPrefix", "/"), "exact"
    stem = pattern[:-2]
    if pattern.endswith("/*") and "*" not in stem and "?" not in stem and stem.startswith("/"):
        return PathMatch("PathPrefix", stem), "widened"
    return PathMatch("RegularExpression", pattern_regex(pattern)), "regex"
