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

import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ing2gw.making import maker

from .settings import Policy

__all__ = [
    "Choice", "Location", "Lookup", "PathEntry", "build_locations", "builtin", "choose", "choose_in", "choose_plain",
    "lookup", "merge_entries", "pcre_to_python", "quote", "with_builtins",
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
        """The template writes ``rewrite``: a target that differs from *this location's* path
        (after the Prefix expansion, so a target equal to a Prefix path ``/p`` rewrites on ``/p/``)."""
        return self.entry.policy is not None and self.entry.policy.rewrites(self.path)

    @property
    def auto_redirect(self) -> bool:
        """nginx answers ``<path minus />`` with a 301 to this static location (prefix or exact)."""
        return self.modifier in ("", "=") and self.builtin is None and len(self.path) > 1 and self.path.endswith("/")


_POSIX_CLASSES = {
    "alnum": "A-Za-z0-9", "alpha": "A-Za-z", "digit": "0-9", "lower": "a-z", "upper": "A-Z",
    "space": " \\t\\n\\r\\f\\v", "xdigit": "0-9A-Fa-f", "word": "A-Za-z0-9_", "punct": "!-/:-@\\[-`{-~",
    "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f", "print": " -~", "graph": "!-~",
}
_POSIX = re.compile(r"\[:(\^?)([a-z]+):\]")


def pcre_to_python(pattern: str) -> str:
    """PCRE syntax Python's ``re`` spells differently, rewritten: named groups ``(?<n>…)`` and
    ``(?'n'…)``, back-references ``\\k<n>``/``\\k{n}``, POSIX classes ``[[:digit:]]``. Anything else
    that PCRE accepts and ``re`` does not is left for the caller to report."""
    out = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)
    out = re.sub(r"\(\?'([A-Za-z_]\w*)'", r"(?P<\1>", out)
    out = re.sub(r"\\k[<{']([A-Za-z_]\w*)[>}']", r"(?P=\1)", out)

    def posix(m: re.Match[str]) -> str:
        chars = _POSIX_CLASSES.get(m.group(2))
        if chars is None or m.group(1):
            raise re.error(f"POSIX class {m.group(0)} has no equivalent here")
        return chars

    return _POSIX.sub(posix, out)


_LOCATION = maker(Location)  # Location(...), every field given in order (one per location of every server)


def _regex(path: str) -> tuple[re.Pattern[str] | None, str | None]:
    """The compiled ``~* "^<path>"``; (None, why) when the model cannot evaluate it."""
    try:
        return re.compile("^" + pcre_to_python(path), re.IGNORECASE), None
    except re.error as exc:
        return None, str(exc)


def _location(path: str, modifier: str, entry: PathEntry, copy: bool = False) -> Location:
    if modifier == "~*":
        pattern, error = _regex(path)
        return _LOCATION(path, modifier, entry, copy, None, pattern, error)
    return _LOCATION(path, modifier, entry, copy, None, None, None)


def merge_entries(root: PathEntry, candidates: Iterable[PathEntry]) -> tuple[list[PathEntry], list[PathEntry]]:
    """The root followed by the candidates (oldest first), as ``getBackendServers`` merges them.

    A candidate is compared with the *first* kept entry of the same path only: the same type
    means an overlap (the implicit root is taken over, anything else keeps its first owner), a
    different type adds the candidate -- so an older Exact ``/p`` lets every later Prefix ``/p``
    through (and the duplicate Prefix copies then clash in nginx.conf).
    Returns the kept entries and the ignored ones (a younger Ingress's duplicate path)."""
    kept: list[PathEntry] = [root]
    first: dict[str, int] = {root.path: 0}
    ignored: list[PathEntry] = []
    for entry in candidates:
        at = first.get(entry.path)
        if at is None:
            first[entry.path] = len(kept)
            kept.append(entry)
        elif kept[at].path_type != entry.path_type:
            kept.append(entry)
        elif kept[at].implicit:
            kept[at] = entry
        else:
            ignored.append(entry)
    return kept, ignored


def build_locations(entries: Sequence[PathEntry]) -> tuple[tuple[Location, ...], bool, list[tuple[Location, Location]]]:
    """Locations in emitted order, whether the server is in regex mode, and conflicts.

    The Prefix expansion looks at each entry's own path (``updateServerLocations``); regex mode
    looks at the expanded locations (``enforceRegexModifier``), so a rewrite-target equal to a
    Prefix path ``/p`` still rewrites on ``/p/`` and turns regex mode on.

    What the entries give depends on their paths, path types and regex settings only (their
    :func:`_shape_key`): servers of one shape -- most servers of a large input share a few --
    share its layout (:func:`_layout`), and each gets its own locations of its own entries."""
    key = _shape_key(entries)
    layout = _LAYOUTS.get(key)
    if layout is None:
        if len(_LAYOUTS) >= 10_000:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _layout(entries)
    places, regex_mode, clashes = layout
    out = tuple([_location(path, modifier, entries[at], copy) for at, path, modifier, copy in places])
    return out, regex_mode, [(out[first], out[second]) for first, second in clashes]


# A layout: each location as (its entry's index, its path, its modifier, whether it is an
# Exact copy), whether the server is in regex mode, and the clashing locations' indices.
_Layout = tuple[tuple[tuple[int, str, str, bool], ...], bool, tuple[tuple[int, int], ...]]
_LAYOUTS: dict[tuple[tuple[str, str, bool | None, str | None], ...], _Layout] = {}


def _shape_key(entries: Sequence[PathEntry]) -> tuple[tuple[str, str, bool | None, str | None], ...]:
    """What :func:`_layout` reads of the entries: each one's path, type, and its policy's
    use-regex and rewrite-target (None and None without a policy), in order."""
    key = []
    for e in entries:
        pol = e.policy
        key.append((e.path, e.path_type, None, None) if pol is None else
                   (e.path, e.path_type, pol.use_regex, pol.rewrite_target))
    return tuple(key)


def _layout(entries: Sequence[PathEntry]) -> _Layout:
    """:func:`build_locations`'s work on ``entries``, by position (see the module docstring)."""
    ordered = sorted(range(len(entries)), key=lambda at: (len(entries[at].path), entries[at].path.encode()),
                     reverse=True)
    exact_paths = {e.path for e in entries if e.path_type == "Exact"}
    shapes: list[tuple[str, str, int, bool]] = []  # (path, "exact"|"prefix", entry index, copy)
    for at in ordered:
        e = entries[at]
        if e.path_type == "Exact":
            shapes.append((e.path, "exact", at, False))
        elif e.path == "/" or e.regex:
            shapes.append((e.path, "prefix", at, False))
        else:
            shapes.append((e.path if e.path.endswith("/") else e.path + "/", "prefix", at, False))
            if e.path not in exact_paths:
                shapes.append((e.path, "exact", at, True))
    regex_mode = any(pol is not None and (pol.use_regex or pol.rewrites(path))
                     for path, pol in ((path, entries[at].policy) for path, _, at, _ in shapes))
    places = tuple((at, path, "~*" if regex_mode else ("=" if kind == "exact" else ""), copy)
                   for path, kind, at, copy in shapes)
    clashes: list[tuple[int, int]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, (_, path, modifier, _) in enumerate(places):
        if modifier == "~*":
            continue
        first = seen.setdefault((modifier, path), index)
        if first != index:
            clashes.append((first, index))
    return places, regex_mode, tuple(clashes)


def builtin(path: str, name: str) -> Location:
    """A location nginx.tmpl always puts in the default server (``/healthz``, ``/nginx_status``)."""
    entry = PathEntry(path, "Prefix", None, None, None)
    return Location(path, "", entry, builtin=name)


def with_builtins(locations: tuple[Location, ...]) -> tuple[Location, ...]:
    return (*locations, builtin("/healthz", "healthz"), builtin("/nginx_status", "nginx_status"))


class Choice(NamedTuple):  # a tuple: built per location list, and per regex hit
    """nginx's decision for one URI: a location, or the trailing-slash redirect to one."""

    location: Location | None
    auto_redirect: bool = False
    match: re.Match[str] | None = None
    unmodelled: tuple[Location, ...] = ()  # regex locations tried first that the model cannot evaluate


@dataclass(frozen=True, slots=True)
class Lookup:
    """One location list arranged for :func:`choose` (built once per list)."""

    exact: dict[str, Choice]  # "=" locations' choice by path, the first of each path
    prefixes: tuple[tuple[str, Choice], ...]  # "" locations' paths and choices, longest first (else in order)
    redirects: dict[str, Choice]  # auto-redirecting locations' choice by path minus "/", the first of each
    regexes: tuple[Location, ...]  # "~*" locations, in order


_LOOKUPS: dict[int, tuple[Sequence[Location], Lookup]] = {}
_tuple_new = tuple.__new__
_first = operator.itemgetter(0)
_NOTHING = Choice(None)  # no location matches (choices are frozen: one value serves every request)


def lookup(locations: Sequence[Location]) -> Lookup:
    """``locations`` arranged for :func:`choose_in` (remembered per list)."""
    hit = _LOOKUPS.get(id(locations))
    if hit is not None and hit[0] is locations:
        return hit[1]
    exact: dict[str, Choice] = {}
    redirects: dict[str, Choice] = {}
    prefixes: list[tuple[int, str, Choice]] = []
    regexes: list[Location] = []
    for loc in locations:  # (Choice(loc, ...) as a plain tuple: a model looks up every server's list)
        modifier, path = loc.modifier, loc.path
        if modifier == "=":
            if path not in exact:
                exact[path] = _tuple_new(Choice, (loc, False, None, ()))
        elif modifier == "":
            prefixes.append((-len(path), path, _tuple_new(Choice, (loc, False, None, ()))))
        elif modifier == "~*":
            regexes.append(loc)
        if loc.auto_redirect and path[:-1] not in redirects:
            redirects[path[:-1]] = _tuple_new(Choice, (loc, True, None, ()))
    prefixes.sort(key=_first)  # longest first, stable
    found = Lookup(exact, tuple((path, choice) for _, path, choice in prefixes), redirects, tuple(regexes))
    if len(_LOOKUPS) >= 100_000:
        _LOOKUPS.clear()
    _LOOKUPS[id(locations)] = (locations, found)
    return found


def choose(locations: Sequence[Location], uri: str) -> Choice:
    """nginx's ``find_location`` (the module docstring); :func:`choose_plain` spelled out."""
    return choose_in(lookup(locations), uri)


def choose_in(lookup: Lookup, uri: str) -> Choice:
    """:func:`choose` in a location list's :func:`lookup` (for a caller that keeps it)."""
    found = lookup.exact.get(uri)
    if found is not None:
        return found
    best_choice = _NOTHING
    for path, choice in lookup.prefixes:  # the longest matching prefix, the first of equal ones
        if uri.startswith(path):
            best_choice = choice
            break
    found = lookup.redirects.get(uri)
    if found is not None:
        return found
    if not lookup.regexes:
        return best_choice
    skipped: list[Location] = []
    for loc in lookup.regexes:
        if loc.pattern is None:
            skipped.append(loc)
            continue
        m = loc.pattern.search(uri)
        if m:
            return Choice(loc, match=m, unmodelled=tuple(skipped))
    return Choice(best_choice.location, unmodelled=tuple(skipped))


def choose_plain(locations: Sequence[Location], uri: str) -> Choice:
    """:func:`choose` as nginx's order reads, one scan per step (the reference the tests hold
    :func:`choose` to)."""
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
    skipped: list[Location] = []
    for loc in locations:
        if loc.modifier == "~*":
            if loc.pattern is None:
                skipped.append(loc)
                continue
            m = loc.pattern.search(uri)
            if m:
                return Choice(loc, match=m, unmodelled=tuple(skipped))
    return Choice(best, unmodelled=tuple(skipped))
