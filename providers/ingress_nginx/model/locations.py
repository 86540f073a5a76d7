"""The location list of one nginx server, and nginx's choice of location for a URI.

:func:`build_locations` follows the controller (semantics doc 2.1): the implicit root
first, then the Ingress paths (oldest Ingress first, an existing path+type keeps its first
owner except the implicit root, which is taken over), a stable sort by path length and
then bytes, both descending, and the Prefix expansion (``/foo`` -> ``"/foo/"`` plus an
Exact copy ``= "/foo"``) for every Prefix path that neither uses regex nor rewrites. If any
location uses regex or rewrites, every location of the server becomes ``~* "^<path>"``.
Two identical static locations make the configuration invalid (``nginx -t`` fails); they
are returned as conflicts for the caller to resolve.

:func:`choose` is nginx's ``find_location``: an ``=`` hit wins, then the trailing-slash
auto-redirect of a longer prefix, then the regex locations in order (first match), then
the longest static prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .settings import Policy

__all__ = [
    "Choice", "Location", "PathEntry", "build_locations", "builtin", "choose", "merge_entries", "quote",
    "with_builtins",
]


def quote(text: str) -> str:
    """A string as the controller writes it into nginx.conf: in quotes, ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class PathEntry:
    """An Ingress path on a server before expansion (path and type already normalised)."""

    path: str
    path_type: str  # "Exact" | "Prefix"
    backend: str | None  # "ns/svc:port"; None = the controller's default backend
    policy: Policy | None  # annotations in force; None = no Ingress annotations at all
    ingress: str | None  # the Ingress the path (or implicit root's annotations) comes from
    implicit: bool = False  # the server's implicit root location
    created_by: str | None = None  # the Ingress that wrote this path (None for the implicit root)

    @property
    def regex(self) -> bool:
        """Uses regex itself: use-regex, or a rewrite-target different from the path."""
        return self.policy is not None and (self.policy.use_regex or self.policy.rewrites(self.path))


@dataclass(frozen=True, slots=True)
class Location:
    """One ``location`` block as emitted."""

    path: str  # what nginx matches (after the Prefix expansion)
    modifier: str  # "=" exact, "" prefix, "~*" case-insensitive regex
    entry: PathEntry
    copy: bool = False  # the Exact copy of a Prefix path
    builtin: str | None = None  # "healthz" | "nginx_status" on the default server
    pattern: re.Pattern[str] | None = field(default=None, compare=False)
    regex_error: str | None = None

    @property
    def directive(self) -> str:
        """The location's modifier and argument, e.g. ``~* "^/foo"``, ``= "/foo"``, ``"/foo/"``."""
        if self.builtin:
            return self.path
        if self.modifier == "~*":
            return f"~* {quote('^' + self.path)}"
        if self.modifier == "=":
            return f"= {quote(self.path)}"
        return quote(self.path)

    @property
    def rewrites(self) -> bool:
        return self.entry.policy is not None and self.entry.policy.rewrites(self.entry.path)

    @property
    def auto_redirect(self) -> bool:
        """nginx answers ``<path minus />`` with a 301 to this prefix location."""
        return self.modifier == "" and self.builtin is None and len(self.path) > 1 and self.path.endswith("/")


def _regex(path: str) -> tuple[re.Pattern[str] | None, str | None]:
    try:
        return re.compile("^" + path, re.IGNORECASE), None
    except re.error as exc:
        return None, str(exc)


def _location(path: str, modifier: str, entry: PathEntry, copy: bool = False) -> Location:
    pattern, error = _regex(path) if modifier == "~*" else (None, None)
    return Location(path, modifier, entry, copy, pattern=pattern, regex_error=error)


def merge_entries(root: PathEntry, candidates: Iterable[PathEntry]) -> tuple[list[PathEntry], list[PathEntry]]:
    """The root followed by the candidates (oldest first) where (path, type) is new.

    Returns the kept entries and the ignored ones (a younger Ingress's duplicate path)."""
    kept: list[PathEntry] = [root]
    index: dict[tuple[str, str], int] = {(root.path, root.path_type): 0}
    ignored: list[PathEntry] = []
    for entry in candidates:
        key = (entry.path, entry.path_type)
        at = index.get(key)
        if at is None:
            index[key] = len(kept)
            kept.append(entry)
        elif kept[at].implicit:
            kept[at] = entry
        else:
            ignored.append(entry)
    return kept, ignored


def build_locations(entries: Sequence[PathEntry]) -> tuple[tuple[Location, ...], bool, list[tuple[Location, Location]]]:
    """Locations in emitted order, whether the server is in regex mode, and conflicts."""
    ordered = sorted(entries, key=lambda e: (len(e.path), e.path.encode()), reverse=True)
    regex_mode = any(e.regex for e in ordered)
    exact_paths = {e.path for e in ordered if e.path_type == "Exact"}
    static = "~*" if regex_mode else ""
    exact = "~*" if regex_mode else "="
    out: list[Location] = []
    for e in ordered:
        if e.path_type == "Exact":
            out.append(_location(e.path, exact, e))
        elif e.path == "/" or e.regex:
            out.append(_location(e.path, "~*" if regex_mode else "", e))
        else:
            out.append(_location(e.path if e.path.endswith("/") else e.path + "/", static, e))
            if e.path not in exact_paths:
                out.append(_location(e.path, exact, e, copy=True))
    conflicts: list[tuple[Location, Location]] = []
    seen: dict[tuple[str, str], Location] = {}
    for loc in out:
        if loc.modifier == "~*":
            continue
        key = (loc.modifier, loc.path)
        if key in seen:
            conflicts.append((seen[key], loc))
        else:
            seen[key] = loc
    return tuple(out), regex_mode, conflicts


def builtin(path: str, name: str) -> Location:
    """A location nginx.tmpl always puts in the default server (``/healthz``, ``/nginx_status``)."""
    entry = PathEntry(path, "Prefix", None, None, None)
    return Location(path, "", entry, builtin=name)


def with_builtins(locations: tuple[Location, ...]) -> tuple[Location, ...]:
    return (*locations, builtin("/healthz", "healthz"), builtin("/nginx_status", "nginx_status"))


@dataclass(frozen=True, slots=True)
class Choice:
    """nginx's decision for one URI: a location, or the trailing-slash redirect to one."""

    location: Location | None
    auto_redirect: bool = False
    match: re.Match[str] | None = None


def choose(locations: Sequence[Location], uri: str) -> Choice:
    for loc in locations:
        if loc.modifier == "=" and loc.path == uri:
            return Choice(loc)
    best: Location | None = None
    for loc in locations:
        if loc.modifier == "" and uri.startswith(loc.path) and (best is None or len(loc.path) > len(best.path)):
            best = loc
    for loc in locations:
        if loc.auto_redirect and loc.path[:-1] == uri:
            return Choice(loc, auto_redirect=True)
    for loc in locations:
        if loc.modifier == "~*" and loc.pattern is not None:
            m = loc.pattern.search(uri)
            if m:
                return Choice(loc, match=m)
    return Choice(best)

