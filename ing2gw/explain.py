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


# An explaining note's scope by how precisely it covers a request: the hosts it covers whole
# (True: every host), the (host, path) pairs it names (a path "" too, which a side's rule
# name may be), the ``~regex`` scopes (host, compiled pattern).
_Scopes = tuple["bool | frozenset[str]", frozenset[tuple[str, str]], tuple[tuple[str, "re.Pattern[str]"], ...]]


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
        self._scopes: dict[int, _Scopes] = {}  # an explaining note (its index) -> its scope, by precision
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
            whole = frozenset(h for h, p in n.scope if not p)
            self._scopes[self.index[n]] = (
                True if "*" in whole else whole,
                frozenset((h, p) for h, p in n.scope if not p.startswith("~")),
                tuple((h, self._by_path[h][p]) for h, p in n.scope if p.startswith("~")))
        # rule host -> Ingress -> its paths on that host
        self.paths: dict[str, dict[str, list[str]]] = {}
        for ing in resources.ingresses:
            for rule in ing.rules:
                mine = self.paths.setdefault(rule.host, {}).setdefault(ing.ref, [])
                mine.extend(p.path or "/" for p in rule.paths)
        self.route_sources = route_sources(manifests)
        self._host_cache: dict[str, list[str]] = {}
        # served rule hosts -> the ~regex scopes explaining() tries for them (pattern text, compiled)
        self._regexes: dict[tuple[str, ...], tuple[tuple[str, re.Pattern[str]], ...]] = {}
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
        return list(self._served(request.hostname, request.path, source.matched, gateway.matched))

    def _served(self, hostname: str, path: str, m: Matched | None, g: Matched | None) -> tuple[Served, ...]:
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
            return (first,)
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
            return (first,)
        if len(refs) == 1:
            return (first, (refs[0][0], host, _longest(refs[0][1], path.lower())))
        low = path.lower()
        return (first, *[(one, host, _longest(stems, low)) for one, stems in refs])

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
        return self._involved(request.hostname, served)

    def _involved(self, hostname: str, served: Sequence[Served]) -> tuple[str, ...]:
        owners, owned = self._owners(hostname)
        for refs, _, _ in served:
            if not refs <= owned:  # an Ingress that served it but does not own the host
                return tuple(sorted(owned.union(*[refs for refs, _, _ in served])))
        return owners

    def account(self, aspects: tuple[str, ...], request: Request, source: Outcome,
                gateway: Outcome) -> tuple[tuple[Served, ...], tuple[str, ...], tuple[int, ...]]:
        """Where each side served ``request`` (:meth:`served`), the Ingresses involved
        (:meth:`involved`) and the notes explaining the differing ``aspects`` (:meth:`explaining`).
        Remembered: all three depend on the request only through its hostname and path, and on
        the sides only through the rules they matched."""
        m, g = source.matched, gateway.matched
        hostname, path = request.hostname, request.path
        key = (aspects, hostname, path, id(m), id(g))
        hit = self._accounts.get(key)
        if hit is not None and hit[0] is m and hit[1] is g:
            return hit[2]
        served = self._served(hostname, path, m, g)
        # (the Gateway side's sources share one rule host)
        explained = self._explaining_cached(aspects, path, served, (served[0][1], served[-1][1]))
        found = (served, self._involved(hostname, served), explained)
        if len(self._accounts) >= 100_000:
            self._accounts.clear()
        self._accounts[key] = (m, g, found)
        return found

    # --- explanation ---------------------------------------------------------------------

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
        return self._explaining_cached(tuple(aspects), request.path, tuple(served),
                                       tuple(host for _, host, _ in served))

    def _explaining_cached(self, aspects: tuple[str, ...], path: str, served: tuple[Served, ...],
                           hosts: tuple[str, ...]) -> tuple[int, ...]:
        """:meth:`explaining` of a request for ``path`` served on the rule hosts ``hosts`` (each
        one at least once, in order)."""
        matching: tuple[str, ...] = ()
        if self._by_path:  # the ~regex scopes of the served hosts, then of every host, that the path matches
            regexes = self._regexes.get(hosts)
            if regexes is None:
                regexes = tuple((p, rx) for h in dict.fromkeys([h for h in (*hosts, "*") if h in self._by_path])
                                for p, rx in self._by_path[h].items())
                if len(self._regexes) < 100_000:
                    self._regexes[hosts] = regexes
            if regexes:
                matching = tuple([p for p, rx in regexes if rx.search(path)])
        key = (aspects, served, matching)
        found = self._explained.get(key)
        if found is None:
            if len(self._explained) >= 100_000:
                self._explained.clear()
            found = self._explained[key] = self._explaining(aspects, path, served)
        return found

    def _explain(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[Note, ...]:
        """:meth:`explain` worked out afresh."""
        return tuple(self.all_notes[i] for i in self._explaining(aspects, request.path, served))

    def _explaining(self, aspects: Sequence[str], path: str, served: Sequence[Served]) -> tuple[int, ...]:
        """:meth:`explaining` worked out afresh: each note of the served hosts and of every host
        that declares a differing aspect, at the most precise level its scope covers the
        request by (:data:`_Scopes`): 3 by a property of the request (a ``~regex`` scope of a
        served host or of every host its path matches), 2 by the exact rule (the host and
        path, or every host and the path, a side served it by), 1 by the whole host."""
        notes, host_notes, scopes = self.all_notes, self._host_notes, self._scopes
        hosts = {host for _, host, _ in served}
        rules = {(host, p) for _, host, p in served if p is not None}
        rules.update([("*", p) for _, p in rules])
        levels: tuple[list[int], list[int], list[int]] = ([], [], [])
        seen: set[int] = set()
        for h in (*hosts, "*"):
            for i in host_notes.get(h, ()):
                if i in seen:
                    continue
                seen.add(i)
                if notes[i].aspects.isdisjoint(aspects):
                    continue
                whole, exact, regexes = scopes[i]
                if regexes and any((rh == "*" or rh in hosts) and rx.search(path) for rh, rx in regexes):
                    levels[0].append(i)
                elif exact and not rules.isdisjoint(exact):
                    levels[1].append(i)
                elif whole is True or (whole and not hosts.isdisjoint(whole)):
                    levels[2].append(i)
        wanted = set(aspects)
        useful: list[int] = []
        covered: set[str] = set()
        for level in levels:
            if level:
                useful += level
                covered.update(*(notes[i].aspects for i in level))
                if wanted <= covered:
                    return tuple(sorted(useful))
        return ()
