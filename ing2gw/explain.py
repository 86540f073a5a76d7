"""Which conversion notes explain a difference ``verify`` found, and nothing looser.

A note explains a difference only when it declares one of the aspects that differ
(:attr:`~ing2gw.notes.Note.aspects`) *and* its scope (:attr:`~ing2gw.notes.Note.scope`)
covers the rule that served the request on either side: on the source side the Ingress (or
route object: an IngressRoute, a VirtualServer) and path the model matched, on the Gateway
side the source objects, hostname and longest source path of the route that matched (or,
where a side matched nothing, the owners of the request's host). A difference counts as
explained when the explaining notes together cover every differing aspect. Notes without
aspects (generic ones) explain nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .http import Request
from .notes import Fidelity, Level, Note
from .resources import ResourceSet
from .router.outcome import Matched, Outcome

__all__ = ["Explainer", "route_sources", "source_ref"]

_EXPLAINING = (Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED)
_REGEX_META = re.compile(r"[\\^$.|?*+()\[\]{}]")

# Where a side served a request: the Ingresses it came from, the rule host and the
# Ingress path (None: no path of the host matched).
Served = tuple[frozenset[str], str, "str | None"]


def source_ref(kind: str, ref: str) -> str:
    """How a difference names a source object: an Ingress by ``ns/name``, any other kind (an
    IngressRoute, a VirtualServer) by ``Kind ns/name``."""
    return ref if kind == "Ingress" else f"{kind} {ref}"


def route_sources(manifests: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """``ns/name`` of each route -> the objects it was made from (:func:`source_ref`)."""
    out: dict[str, tuple[str, ...]] = {}
    for m in manifests:
        if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        meta = m.get("metadata") or {}
        src = (meta.get("annotations") or {}).get("ing2gw.io/source", "")
        refs = tuple(source_ref(*s.split(" ", 1)) for s in src.split(", ") if " " in s and "/" in s)
        out[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = refs
    return out


def _route_paths(rule: Mapping[str, Any]) -> list[str]:
    """The path values of a route rule's matches (``/`` for a rule without a path match)."""
    out = []
    for match in rule.get("matches") or [{}]:
        path = match.get("path") or {}
        out.append(str(path.get("value") or "/"))
    return out


def _literal(path: str) -> str:
    """The literal start of an Ingress path (a regex path's text before its first operator)."""
    m = _REGEX_META.search(path)
    return path[: m.start()] if m else path


# An Ingress's paths on a host: (path, its literal start lower-cased, that start's length, the
# length of the literal start as written)
_Stems = tuple[tuple[str, str, int, int], ...]


def _longest(stems: _Stems, low: str) -> str | None:
    """The path whose literal start the lower-cased request path ``low`` begins with, the longest
    (by the length of its literal start, lower-cased against the one kept so far as written)."""
    best: str | None = None
    best_len = 0
    for p, stem, stem_len, literal_len in stems:
        if low.startswith(stem) and (best is None or stem_len > best_len):
            best, best_len = p, literal_len
    return best


def _host_matches(rule_host: str, hostname: str) -> bool:
    if rule_host == hostname:
        return True
    return rule_host.startswith("*.") and hostname.endswith(rule_host[1:]) and len(hostname) > len(rule_host) - 1


class Explainer:
    """Finds the notes that explain a difference for a request."""

    def __init__(self, notes: Iterable[Note], resources: ResourceSet, manifests: Sequence[Mapping[str, Any]]) -> None:
        self.by_host: dict[str, list[Note]] = {}  # scope host -> notes about it
        self._by_path: dict[str, dict[str, re.Pattern[str]]] = {}  # host -> its ~regex scopes, compiled
        # (aspects, served, the ~regex scopes the path matches) -> explaining notes (indices)
        self._explained: dict[tuple[tuple[str, ...], tuple[Served, ...], tuple[str, ...]], tuple[int, ...]] = {}
        self._host_notes: dict[str, list[int]] = {}  # by_host as indices into all_notes
        # (aspects, hostname, path, ids of the sides' matches) -> account() (the matches kept: ids stay theirs)
        self._accounts: dict[tuple[tuple[str, ...], str, str, int, int],
                             tuple[Matched | None, Matched | None,
                                   tuple[tuple[Served, ...], tuple[str, ...], tuple[int, ...]]]] = {}
        self.all_notes: list[Note] = []
        self.index: dict[Note, int] = {}
        for n in notes:
            if n in self.index:
                continue
            self.index[n] = len(self.all_notes)
            self.all_notes.append(n)
            if not n.aspects or not n.scope:
                continue
            if n.fidelity not in _EXPLAINING and n.level is not Level.WARNING and n.level is not Level.ERROR:
                continue
            for host in dict.fromkeys(h for h, _ in n.scope):
                self.by_host.setdefault(host, []).append(n)
                self._host_notes.setdefault(host, []).append(self.index[n])
            for h, p in n.scope:  # scopes that are a property of the request's path (``~regex``)
                if p.startswith("~") and p not in self._by_path.setdefault(h, {}):
                    self._by_path[h][p] = re.compile(p[1:])
        # rule host -> Ingress -> its paths on that host
        self.paths: dict[str, dict[str, list[str]]] = {}
        for ing in resources.ingresses:
            for rule in ing.rules:
                mine = self.paths.setdefault(rule.host, {}).setdefault(ing.ref, [])
                mine.extend(p.path or "/" for p in rule.paths)
        self.route_sources = route_sources(manifests)
        self._host_cache: dict[str, list[str]] = {}
        self._owner_cache: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}  # hostname -> owners
        # (hostname, id of the source side's match) -> (the match, where the source side served)
        self._source_sides: dict[tuple[str, int], tuple[Matched | None, Served]] = {}
        # (hostname, route) -> (the rule host, (one-Ingress set, its stems) per source of the route)
        self._gateway_sides: dict[tuple[str, str], tuple[str, tuple[tuple[frozenset[str], _Stems], ...]]] = {}
        self._stems: dict[tuple[str, str], _Stems] = {}  # (host, ref) -> _under's stems
        self.route_hosts: dict[str, tuple[str, ...]] = {}
        for m in manifests:
            if m.get("kind") in ("HTTPRoute", "GRPCRoute"):
                meta = m.get("metadata") or {}
                key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
                spec = m.get("spec") or {}
                self.route_hosts[key] = tuple(str(h) for h in spec.get("hostnames") or ())
                # a route object's own paths are those of the routes made from it (no Ingress to read)
                for ref in (r for r in self.route_sources[key] if " " in r):
                    for host in self.route_hosts[key] or ("",):
                        mine = self.paths.setdefault(host, {}).setdefault(ref, [])
                        mine.extend(p for rule in spec.get("rules") or () for p in _route_paths(rule))

    # --- who served the request ----------------------------------------------------------

    def _hosts_for(self, hostname: str) -> list[str]:
        """The rule hosts that can serve ``hostname``, most specific first ("" last)."""
        found = self._host_cache.get(hostname)
        if found is None:
            found = [hostname] if hostname and hostname in self.paths else []
            labels = hostname.split(".")
            found += [w for i in range(1, len(labels)) for w in ("*." + ".".join(labels[i:]),) if w in self.paths]
            if "" in self.paths:
                found.append("")
            if len(self._host_cache) < 100_000:
                self._host_cache[hostname] = found
        return found

    def owners(self, hostname: str) -> tuple[str, ...]:
        """The Ingresses with a rule host that serves ``hostname``, sorted."""
        return self._owners(hostname)[0]

    def _owners(self, hostname: str) -> tuple[tuple[str, ...], frozenset[str]]:
        found = self._owner_cache.get(hostname)
        if found is None:
            refs: set[str] = set()
            for h in self._hosts_for(hostname):
                if h:
                    refs.update(self.paths[h])
            found = (tuple(sorted(refs)), frozenset(refs))
            if len(self._owner_cache) < 100_000:
                self._owner_cache[hostname] = found
        return found

    def _under(self, ref: str, host: str, path: str) -> str | None:
        """The longest path of Ingress ``ref`` on ``host`` that ``path`` falls under (by the
        length of its literal start, lower-cased against the one kept so far as written)."""
        return _longest(self._stems_of(ref, host), path.lower())

    def _stems_of(self, ref: str, host: str) -> _Stems:
        """The paths of Ingress ``ref`` on ``host`` with their lower-cased literal starts and lengths."""
        stems = self._stems.get((host, ref))
        if stems is None:
            stems = tuple((p, _literal(p).lower(), len(_literal(p).lower()), len(_literal(p)))
                          for p in self.paths.get(host, {}).get(ref, ()))
            if len(self._stems) < 100_000:
                self._stems[(host, ref)] = stems
        return stems

    def served(self, request: Request, source: Outcome, gateway: Outcome) -> list[Served]:
        """Where each side served ``request``, in Ingress terms. A hostname no rule host
        names (a server alias, a twin) stands for itself; "" is the default server."""
        return self._served(request.hostname, request.path, source.matched, gateway.matched)

    def _served(self, hostname: str, path: str, m: Matched | None, g: Matched | None) -> list[Served]:
        """:meth:`served` of a request for ``hostname`` and ``path`` the sides matched by ``m`` and ``g``."""
        key = (hostname, id(m))  # what the source side depends on (m is kept, so its id stays its own)
        hit = self._source_sides.get(key)
        if hit is not None and hit[0] is m:
            first = hit[1]
        else:
            first = self._source_side(hostname, m)
            if len(self._source_sides) < 100_000:
                self._source_sides[key] = (m, first)
        if g is None:
            return [first]
        side = self._gateway_sides.get((hostname, g.route))
        if side is None:
            if g.route not in self.route_sources:
                side = ("", ())
            else:
                names = self.route_hosts.get(g.route, ())
                host = next((h for h in names if _host_matches(h, hostname)), hostname) if names else ""
                side = (host, tuple((frozenset({ref}), self._stems_of(ref, host))
                                    for ref in self.route_sources[g.route]))
            if len(self._gateway_sides) < 100_000:
                self._gateway_sides[(hostname, g.route)] = side
        host, refs = side
        if not refs:
            return [first]
        low = path.lower()
        if len(refs) == 1:
            return [first, (refs[0][0], host, _longest(refs[0][1], low))]
        return [first, *((one, host, _longest(stems, low)) for one, stems in refs)]

    def _source_side(self, hostname: str, m: Matched | None) -> Served:
        hosts = self._hosts_for(hostname)
        if m is not None and (m.kind == "Ingress" or m.route):
            ref, path = source_ref(m.kind, m.route) if m.route else "", m.rule_name
            if ref:
                host = next((h for h in hosts if ref in self.paths.get(h, {})), hostname)
                return (frozenset({ref}), host, path)
            return (frozenset(), hosts[0] if hosts else "", path)  # the controller's own (/healthz ...)
        host = hosts[0] if hosts else ""
        return (frozenset(self.paths.get(host, {})), host, None)

    def involved(self, request: Request, served: Sequence[Served]) -> tuple[str, ...]:
        """The Ingresses a difference concerns: those that served it (:meth:`served`) and the
        host's owners."""
        owners, owned = self._owners(request.hostname)
        extra = [ref for refs, _, _ in served for ref in refs if ref not in owned]
        return tuple(sorted({*owners, *extra})) if extra else owners

    def account(self, aspects: tuple[str, ...], request: Request, source: Outcome,
                gateway: Outcome) -> tuple[tuple[Served, ...], tuple[str, ...], tuple[int, ...]]:
        """Where each side served ``request`` (:meth:`served`), the Ingresses involved
        (:meth:`involved`) and the notes explaining the differing ``aspects`` (:meth:`explaining`).
        Remembered: all three depend on the request only through its hostname and path, and on
        the sides only through the rules they matched."""
        m, g = source.matched, gateway.matched
        key = (aspects, request.hostname, request.path, id(m), id(g))
        hit = self._accounts.get(key)
        if hit is not None and hit[0] is m and hit[1] is g:
            return hit[2]
        served = self._served(request.hostname, request.path, m, g)
        found = (tuple(served), self.involved(request, served), self.explaining(aspects, request, served))
        if len(self._accounts) >= 100_000:
            self._accounts.clear()
        self._accounts[key] = (m, g, found)
        return found

    # --- explanation ---------------------------------------------------------------------

    def _precision(self, note: Note, served: Sequence[Served], request: Request) -> int:
        """How closely the note's scope covers the request: 3 by a property of the request
        (``~regex``), 2 by the exact rule, 1 by the whole host, 0 not at all."""
        best = 0
        for _, host, path in served:
            for h, p in note.scope:
                if h != "*" and h != host:
                    continue
                if p.startswith("~"):
                    if self._by_path[h][p].search(request.path):
                        return 3
                elif path is not None and p == path:
                    best = 2
                elif p == "":
                    best = max(best, 1)
        return best

    def explain(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[Note, ...]:
        """The most precise notes that together account for every differing aspect (none if
        they cannot): notes about the request itself first, then about its rule, then about
        its whole host, each level added only when the closer ones leave an aspect open.
        ``served``: where each side served the request (:meth:`served`). Remembered: the
        answer depends on the request only through ``served`` and which ``~regex`` scopes of
        the served hosts (and of every host) its path matches."""
        return tuple(self.all_notes[i] for i in self.explaining(aspects, request, served))

    def explaining(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[int, ...]:
        """:meth:`explain` as indices into :attr:`all_notes` (cheap to keep and to send)."""
        matching: tuple[str, ...] = ()
        by_path = self._by_path
        if by_path:  # the ~regex scopes of the served hosts, then of every host, that the path matches
            hosts = [host for _, host, _ in served if host in by_path]
            if "*" in by_path:
                hosts.append("*")
            if hosts:
                path = request.path
                matching = tuple(p for h in (dict.fromkeys(hosts) if len(hosts) > 1 else hosts)
                                 for p, rx in by_path[h].items() if rx.search(path))
        key = (tuple(aspects), tuple(served), matching)
        found = self._explained.get(key)
        if found is None:
            if len(self._explained) >= 100_000:
                self._explained.clear()
            found = self._explained[key] = self._explaining(aspects, request, served)
        return found

    def _explain(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[Note, ...]:
        """:meth:`explain` worked out afresh."""
        return tuple(self.all_notes[i] for i in self._explaining(aspects, request, served))

    def _explaining(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[int, ...]:
        wanted = set(aspects)
        notes, host_notes = self.all_notes, self._host_notes
        levels: dict[int, list[int]] = {}
        seen: set[int] = set()
        for h in (*(host for _, host, _ in served), "*"):
            for i in host_notes.get(h, ()):
                if i in seen:
                    continue
                seen.add(i)
                n = notes[i]
                if not n.aspects.isdisjoint(wanted):
                    level = self._precision(n, served, request)
                    if level:
                        levels.setdefault(level, []).append(i)
        useful: list[int] = []
        covered: set[str] = set()
        for level in sorted(levels, reverse=True):
            useful += levels[level]
            covered.update(*(notes[i].aspects for i in levels[level]))
            if wanted <= covered:
                return tuple(sorted(useful))
        return ()
