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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from .http import Request
from .notes import Fidelity, Level, Note
from .resources import IngressPath, ResourceSet
from .router.outcome import Matched, Outcome

__all__ = ["Explainer", "route_sources", "source_ref"]

_EXPLAINING = (Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED)
_REGEX_META = re.compile(r"[\\^$.|?*+()\[\]{}]")
_HOST = itemgetter(0)  # a scope entry's host

# Where a side served a request: the Ingresses it came from, the rule host and the
# Ingress path (None: no path of the host matched).
Served = tuple[frozenset[str], str, "str | None"]


def source_ref(kind: str, ref: str) -> str:
    """How a difference names a source object: an Ingress by ``ns/name``, any other kind (an
    IngressRoute, a VirtualServer) by ``Kind ns/name``."""
    return ref if kind == "Ingress" else f"{kind} {ref}"


def route_sources(manifests: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """``ns/name`` of each route -> the objects it was made from (:func:`source_ref`)."""
    return dict(_route_source(m) for m in manifests if m.get("kind") in ("HTTPRoute", "GRPCRoute"))


def _route_source(route: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """A route's ``ns/name`` and the objects it was made from (:func:`_made_from`)."""
    meta = route.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}", _made_from(route)


def _made_from(route: Mapping[str, Any]) -> tuple[str, ...]:
    """The objects a route was made from (:func:`source_ref`), as its ``ing2gw.io/source`` annotation says."""
    src = ((route.get("metadata") or {}).get("annotations") or {}).get("ing2gw.io/source", "")
    if src.startswith("Ingress ") and src.count(" ") == 1:  # (a route made from one Ingress: most)
        return (src[8:],) if "/" in src else ()
    return tuple(source_ref(*s.split(" ", 1)) for s in src.split(", ") if " " in s and "/" in s)


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


# An explaining note's aspects and its scope by how precisely it covers a request: the hosts
# it covers whole (True: every host), the (host, path) pairs it names (a path "" too, which a
# side's rule name may be), the ``~regex`` scopes (host, compiled pattern); last the one host
# its pairs name but "*" (None: none or several) and the pairs with that host as position 0
# (what they are relative to the rule hosts of an analysis whose first host it is; naming no
# such host, as they are; None: naming several).
_Scopes = tuple[frozenset[str], "bool | frozenset[str]", frozenset[tuple[str, str]],
                tuple[tuple[str, "re.Pattern[str]"], ...], "str | None", "frozenset[tuple[str | int, str]] | None"]

# A note as an explanation reads it, relative to the rule hosts of an analysis: the positions
# of the regexes its scope is tried by, the pairs it names (a rule host of the analysis as its
# position there), whether it covers one of those hosts whole, the aspects it declares.
_Candidate = tuple[tuple[int, ...], "frozenset[tuple[str | int, str]]", bool, frozenset[str]]

# What the analyses of rule hosts whose notes read alike share (hosts made from one template:
# each note the same but for its host): their number, the pairs the notes name (relative, as
# in _Candidate), the notes (_Candidate, in the order of their indices), and the explanations
# worked out so far by (pairs named among the rules served, which of the regexes the path
# matches), as positions among the notes.
_Shape = tuple[int, "frozenset[tuple[str | int, str]]", tuple[_Candidate, ...],
               dict[tuple["frozenset[tuple[str | int, str]]", tuple[bool, ...]], tuple[int, ...]]]

# What an explanation can read of a request, for the notes that may explain some aspects on
# some rule hosts: the (host, path) pairs their scopes name (every other rule a side served
# changes nothing), the ``~regex`` scopes they are tried by (the request's path matching or
# not), what the analysis shares with those of hosts whose notes read alike (_Shape), each of
# these rule hosts' position, the notes' indices (by position: ascending) and the explanations
# as indices by the explanation as positions (worked out so far).
_Analysis = tuple[frozenset[tuple[str, str]], tuple["re.Pattern[str]", ...], _Shape, dict[str, int],
                  tuple[int, ...], dict[tuple[int, ...], tuple[int, ...]]]

# What accounted() knows of the requests for one hostname that differ alike and that the sides
# matched by rules of the same source objects: the Ingresses involved, the explanation when it
# does not depend on the request, else how the request is read (:func:`_reading`) -- the
# source side's rule paths a note names, per source of the Gateway side's route its paths'
# stems and the paths a note names, the regexes -- the explanations by what was read, and
# what an explanation is worked out from: the notes' analysis and the source side's and the
# Gateway side's rule hosts; last the readings made so far, by the request's path (and the
# source side's rule path, if read). Plans that read alike share their readings (hosts made
# from one template: their probes' paths repeat), plans whose explanations read alike their
# explanations, as positions among the analysis's notes (_Shape): last the analysis's
# explanations as indices by those positions, and the notes' indices. The rule hosts are as
# the explanation reads them: a rule host of the analysis as its position there.
_Plan = tuple[tuple[str, ...], "tuple[int, ...] | None", frozenset[str], tuple[tuple[_Stems, frozenset[str]], ...],
              tuple["re.Pattern[str]", ...], dict[tuple["str | bool | None", ...], tuple[int, ...]], _Analysis,
              "str | int", "str | int", dict[Any, tuple["str | bool | None", ...]],
              dict[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]

# What the plans for the requests for one hostname that the sides matched by rules of the same
# source objects share, whatever differs: the Ingresses involved, the source side's rule host
# and whether its rule's path is read (it matched a rule of an Ingress or route object), the
# Gateway side's rule host and the sources of its route (their paths' stems are read only by a
# plan with a note naming a path there), the rule hosts of both that explaining notes are about
# (an analysis is made for those whose notes declare one of the differing aspects).
_Sides = tuple[tuple[str, ...], str, bool, str, tuple[str, ...], tuple[str, ...]]


class _Numbers(Mapping[Note, int]):
    """Each of distinct ``notes`` -> its index there, found by identity: no note is hashed (a
    note's hash reads every field, and in a forked worker writing their reference counts
    copies the memory it shares with its parent); an equal note by equality."""

    def __init__(self, notes: Sequence[Note]) -> None:
        self._notes = notes
        self._by_id = {id(n): i for i, n in enumerate(notes)}
        self._equal: dict[Note, int] | None = None  # (made when an equal note is first asked)

    def __getitem__(self, note: Note) -> int:
        i = self._by_id.get(id(note))
        if i is not None and self._notes[i] is note:
            return i
        if self._equal is None:
            self._equal = {n: i for i, n in enumerate(self._notes)}
        return self._equal[note]

    def __iter__(self) -> Iterator[Note]:
        return iter(self._notes)

    def __len__(self) -> int:
        return len(self._notes)


def _longest(stems: _Stems, low: str) -> str | None:
    """The path whose literal start the lower-cased request path ``low`` begins with, the longest
    (by the length of its literal start, lower-cased against the one kept so far as written)."""
    best: str | None = None
    best_len = 0
    for p, stem, stem_len, literal_len in stems:
        if low.startswith(stem) and (best is None or stem_len > best_len):
            best, best_len = p, literal_len
    return best


def _reading(plan: _Plan, m: Matched | None, path: str) -> tuple[str | bool | None, ...]:
    """What ``plan`` reads of a request the source side matched by ``m`` for ``path``: the
    source side's rule path if a note names it (else None), per source of the Gateway side's
    route the path the request falls under if a note names it (else None), then whether the
    path matches each regex."""
    named, needs, regexes = plan[2], plan[3], plan[4]
    first = m.rule_name if m is not None and m.rule_name in named else None
    # (the usual shapes -- one source, one regex -- as one tuple each: no comprehension to call)
    if not needs:
        if not regexes:
            return (first,)
        if len(regexes) == 1:
            return (first, regexes[0].search(path) is not None)
        return (first, *[rx.search(path) is not None for rx in regexes])
    low = path.lower()
    if len(needs) == 1:
        p = _longest(needs[0][0], low)
        under = p if p in needs[0][1] else None
        if not regexes:
            return (first, under)
        if len(regexes) == 1:
            return (first, under, regexes[0].search(path) is not None)
        return (first, under, *[rx.search(path) is not None for rx in regexes])
    return (first, *[p if (p := _longest(stems, low)) in relevant else None for stems, relevant in needs],
            *[rx.search(path) is not None for rx in regexes])


def _host_matches(rule_host: str, hostname: str) -> bool:
    if rule_host == hostname:
        return True
    return rule_host.startswith("*.") and hostname.endswith(rule_host[1:]) and len(hostname) > len(rule_host) - 1


class Explainer:
    """Finds the notes that explain a difference for a request."""

    def __init__(self, notes: Iterable[Note], resources: ResourceSet, manifests: Sequence[Mapping[str, Any]]) -> None:
        # (built right before verify forks its second worker, with the other core idle: only the
        # indexes every request reads are made here; a note's scope is read when an analysis
        # first needs it, _scope)
        self.all_notes: list[Note] = list(dict.fromkeys(notes))  # (equal notes merge: the first one counts)
        self._index: _Numbers | None = None  # (index: made when first read)
        self._host_notes: dict[str, list[int]] = {}  # scope host -> the explaining notes about it (indices)
        self._scopes: dict[int, _Scopes] = {}  # an explaining note (its index) -> its scope, by precision
        self._aspects: dict[str, frozenset[str]] = {}  # a rule host -> what its explaining notes declare
        self._by_path: dict[str, dict[str, re.Pattern[str]]] = {}  # host -> its ~regex scopes, compiled
        # (aspects, served rule hosts) -> what of a request the explanation can depend on (_Analysis)
        self._analyses: dict[tuple[tuple[str, ...], tuple[str, ...]], _Analysis] = {}
        # (aspects, the notes of an analysis as _Candidate values, its regexes' patterns) -> what analyses
        # whose notes read alike share (_Shape), numbered from 0 (each number stays its own)
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._numbered = 0
        # (aspects, hostname, kind and name of the source side's matched object, the Gateway side's route) -> _Plan
        self._plans: dict[tuple[tuple[str, ...], str, str | None, str | None, str | None], _Plan] = {}
        # the same but the aspects -> what a plan takes of where the sides served (_Sides)
        self._sides: dict[tuple[str, str | None, str | None, str | None], _Sides] = {}
        # what a plan reads (its named paths, stems, regexes) -> the readings made (shared: _Plan)
        self._readings: dict[tuple[Any, ...], dict[Any, tuple[str | bool | None, ...]]] = {}
        # (the number of the analysis's _Shape, the positions of the sides' rule hosts in the analysis, the
        # Gateway paths read) -> the explanations by reading, as positions (shared: _Plan)
        self._knowns: dict[tuple[Any, ...], dict[tuple[str | bool | None, ...], tuple[int, ...]]] = {}
        # the last plan accounted() used: (aspects, the sides' Matched values, hostname, the plan)
        self._last: tuple[tuple[str, ...], Matched | None, Matched | None, str, _Plan] | None = None
        host_notes = self._host_notes
        for at, n in enumerate(self.all_notes):
            scope = n.scope
            if not n.aspects or not scope:
                continue
            if n.fidelity not in _EXPLAINING and n.level is not Level.WARNING and n.level is not Level.ERROR:
                continue
            for host in (scope[0][0],) if len(scope) == 1 else dict.fromkeys(map(_HOST, scope)):
                found = host_notes.get(host)
                if found is None:
                    host_notes[host] = [at]
                else:
                    found.append(at)
        # rule host -> Ingress -> its paths on that host, as held (an Ingress's IngressPath values,
        # read as written when first needed, _stems_of: most are never read)
        self.paths: dict[str, dict[str, Sequence[IngressPath | str]]] = {}
        paths = self.paths
        for ing in resources.ingresses:
            rules = ing.rules
            if not rules:
                continue
            ref = f"{ing.namespace}/{ing.name}"  # (ing.ref, without the property to call)
            for rule in rules:
                mine = paths.get(rule.host)
                if mine is None:
                    paths[rule.host] = {ref: rule.paths}
                elif ref in mine:
                    mine[ref] = (*mine[ref], *rule.paths)
                else:
                    mine[ref] = rule.paths
        # a route's ns/name -> the objects it was made from (source_ref) and its hostnames (read
        # here in one pass: the routes read again later would be out of the cache, or copied
        # into a forked worker's memory as their reference counts change)
        self._routes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        routes = self._routes
        for m in manifests:
            kind = m.get("kind")
            if kind != "HTTPRoute" and kind != "GRPCRoute":
                continue
            meta = m.get("metadata") or {}
            spec = m.get("spec") or {}
            hostnames = spec.get("hostnames")
            if not hostnames:
                names: tuple[str, ...] = ()
            elif type(hostnames) is list and len(hostnames) == 1 and type(hostnames[0]) is str:  # (most routes)
                names = (hostnames[0],)
            else:
                names = tuple(map(str, hostnames))
            refs = _made_from(m)
            routes[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = (refs, names)
            for ref in refs:  # a route object's own paths are those of the routes made from it (no Ingress to read)
                if " " in ref:
                    for host in names or ("",):
                        own = [p for rule in spec.get("rules") or () for p in _route_paths(rule)]
                        held = self.paths.setdefault(host, {})
                        held[ref] = [*held.get(ref, ()), *own]
        # hostname -> (the rule hosts that can serve it, most specific first; the Ingresses
        # with such a rule host, sorted, and as a set)
        self._hosts: dict[str, tuple[list[str], tuple[str, ...], frozenset[str]]] = {}
        self._wildcards: bool | None = None  # whether a rule host is a wildcard (None: not looked yet)
        # (hostname, id of the source side's match) -> (the match, where the source side served)
        self._source_sides: dict[tuple[str, int], tuple[Matched | None, Served]] = {}
        # (hostname, route) -> (the rule host, (one-Ingress set, its stems) per source of the route)
        self._gateway_sides: dict[tuple[str, str], tuple[str, tuple[tuple[frozenset[str], _Stems], ...]]] = {}
        self._stems: dict[tuple[str, ...], _Stems] = {}  # an Ingress's paths on a host -> _under's stems
        self._stem_of: dict[str, tuple[str, str, int, int]] = {}  # a path -> its stem (one of _Stems)

    @property
    def index(self) -> Mapping[Note, int]:
        """Each note's index in :attr:`all_notes` (what the explanations are given as)."""
        if self._index is None:
            self._index = _Numbers(self.all_notes)
        return self._index

    # --- who served the request ----------------------------------------------------------

    def _hosts_for(self, hostname: str) -> list[str]:
        """The rule hosts that can serve ``hostname``, most specific first ("" last)."""
        return self._host(hostname)[0]

    def owners(self, hostname: str) -> tuple[str, ...]:
        """The Ingresses with a rule host that serves ``hostname``, sorted."""
        return self._host(hostname)[1]

    def _host(self, hostname: str) -> tuple[list[str], tuple[str, ...], frozenset[str]]:
        """:meth:`_hosts_for` and :meth:`owners` of ``hostname``, and the owners as a set (remembered)."""
        found = self._hosts.get(hostname)
        if found is None:
            paths = self.paths
            hosts = [hostname] if hostname and hostname in paths else []
            if self._wildcards is None:  # (worked out when first needed: none in most inputs)
                self._wildcards = any(h.startswith("*.") for h in paths)
            if self._wildcards:
                labels = hostname.split(".")
                hosts += [w for i in range(1, len(labels)) for w in ("*." + ".".join(labels[i:]),) if w in paths]
            if len(hosts) == 1:  # (one rule host: most)
                owned = frozenset(paths[hosts[0]])
            else:
                owned = frozenset().union(*[paths[h] for h in hosts if h])
            if "" in paths:
                hosts.append("")
            found = (hosts, tuple(sorted(owned)), owned)
            if len(self._hosts) < 100_000:
                self._hosts[hostname] = found
        return found

    def _under(self, ref: str, host: str, path: str) -> str | None:
        """The longest path of Ingress ``ref`` on ``host`` that ``path`` falls under (by the
        length of its literal start, lower-cased against the one kept so far as written)."""
        return _longest(self._stems_of(ref, host), path.lower())

    def _stems_of(self, ref: str, host: str) -> _Stems:
        """The paths of Ingress ``ref`` on ``host`` with their lower-cased literal starts and lengths."""
        written = tuple([p if p.__class__ is str else p.path or "/"  # type: ignore[union-attr]
                         for p in self.paths.get(host, {}).get(ref, ())])
        stems = self._stems.get(written)
        if stems is None:  # (Ingresses made alike have the same paths: their stems are worked out once)
            known = self._stem_of
            out = []
            for p in written:
                stem = known.get(p)
                if stem is None:  # (Ingresses repeat a few paths: each is read once)
                    literal = _literal(p)
                    low = literal.lower()
                    stem = known[p] = (p, low, len(low), len(literal))
                out.append(stem)
            stems = tuple(out)
            if len(self._stems) < 100_000:
                self._stems[written] = stems
        return stems

    def served(self, request: Request, source: Outcome, gateway: Outcome) -> list[Served]:
        """Where each side served ``request``, in Ingress terms. A hostname no rule host
        names (a server alias, a twin) stands for itself; "" is the default server."""
        return list(self._served(request.hostname, request.path, source.matched, gateway.matched))

    def _served(self, hostname: str, path: str, m: Matched | None, g: Matched | None) -> tuple[Served, ...]:
        """:meth:`served` of a request for ``hostname`` and ``path`` the sides matched by ``m`` and ``g``."""
        first = self._source_served(hostname, m)
        if g is None:
            return (first,)
        host, refs = self._gateway_side(hostname, g)
        if not refs:
            return (first,)
        if len(refs) == 1:
            return (first, (refs[0][0], host, _longest(refs[0][1], path.lower())))
        low = path.lower()
        return (first, *[(one, host, _longest(stems, low)) for one, stems in refs])

    def _source_served(self, hostname: str, m: Matched | None) -> Served:
        """Where the source side served a request for ``hostname`` it matched by ``m`` (remembered)."""
        key = (hostname, id(m))  # what the source side depends on (m is kept, so its id stays its own)
        hit = self._source_sides.get(key)
        if hit is not None and hit[0] is m:
            return hit[1]
        first = self._source_side(hostname, m)
        if len(self._source_sides) < 100_000:
            self._source_sides[key] = (m, first)
        return first

    def _gateway_side(self, hostname: str, g: Matched) -> tuple[str, tuple[tuple[frozenset[str], _Stems], ...]]:
        """The Gateway side's rule host for ``hostname`` on the route ``g`` matched, and (a
        one-Ingress set, its paths' stems) per source of that route."""
        side = self._gateway_sides.get((hostname, g.route))
        if side is None:
            host, refs = self._route_side(hostname, g)
            if len(refs) == 1:  # (a route made from one Ingress: most)
                side = (host, ((frozenset(refs), self._stems_of(refs[0], host)),))
            else:
                side = (host, tuple([(frozenset((ref,)), self._stems_of(ref, host)) for ref in refs]))
            if len(self._gateway_sides) < 100_000:
                self._gateway_sides[(hostname, g.route)] = side
        return side

    def _route_side(self, hostname: str, g: Matched) -> tuple[str, tuple[str, ...]]:
        """The Gateway side's rule host for ``hostname`` on the route ``g`` matched, and the objects
        that route was made from (:func:`source_ref`)."""
        route = self._routes.get(g.route)
        if route is None:
            return "", ()
        refs, names = route
        host = hostname if names else ""
        for h in names:
            if h == hostname or _host_matches(h, hostname):
                return h, refs
        return host, refs

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
        _, owners, owned = self._host(hostname)
        for refs, _, _ in served:
            if not refs <= owned:  # an Ingress that served it but does not own the host
                return tuple(sorted(owned.union(*[refs for refs, _, _ in served])))
        return owners

    def account(self, aspects: tuple[str, ...], request: Request, source: Outcome,
                gateway: Outcome) -> tuple[tuple[Served, ...], tuple[str, ...], tuple[int, ...]]:
        """Where each side served ``request`` (:meth:`served`), the Ingresses involved
        (:meth:`involved`) and the notes explaining the differing ``aspects`` (:meth:`explaining`)."""
        return (self._served(request.hostname, request.path, source.matched, gateway.matched),
                *self.accounted(aspects, request, source, gateway))

    def accounted(self, aspects: tuple[str, ...], request: Request, source: Outcome,
                  gateway: Outcome) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """:meth:`account` but where each side served the request: (the Ingresses involved,
        the explaining notes), what a difference reports. Remembered per hostname and source
        objects of the rules the sides matched (:data:`_Plan`): the Ingresses involved depend
        on nothing else, the explanation only on the source side's rule path, the rule paths
        the request's path falls under on the Gateway side and which ``~regex`` scopes it
        matches, and of those only on what a note that may explain it names (:data:`_Analysis`)."""
        m, rule = source.matched, gateway.rule  # (the rule's Matched: what gateway.matched gives)
        g = None if rule is None else rule.matched
        hostname = request.hostname
        last = self._last
        # (a replay's differing requests come a location at a time: the last plan's key is
        # checked first, the Matched values by identity -- kept there, so it stays theirs)
        if last is not None and m is last[1] and g is last[2] and hostname == last[3] and aspects == last[0]:
            plan = last[4]
        else:
            key = (aspects, hostname, None if m is None else m.kind, None if m is None else m.route,
                   None if g is None else g.route)
            made = self._plans.get(key)
            if made is None:
                made = self._plan(key, request.path, m, g)
                if len(self._plans) >= 100_000:
                    self._plans.clear()
                self._plans[key] = made
            plan = made
            self._last = (aspects, m, g, hostname, plan)
        involved, fixed, known = plan[0], plan[1], plan[5]
        if fixed is not None:
            return involved, fixed
        path, readings = request.path, plan[9]
        at: Any = (path, None if m is None else m.rule_name) if plan[2] else path
        read = readings.get(at)
        if read is None:
            read = _reading(plan, m, path)
            if len(readings) >= 100_000:
                readings.clear()
            readings[at] = read
        found = known.get(read)
        if found is None:
            found = known[read] = self._by_reading(aspects, plan, read)
        explained = plan[10].get(found)  # (the positions as this analysis's notes' indices)
        if explained is None:
            explained = _indices(plan[10], plan[11], found)
        return involved, explained

    def _plan(self, key: tuple[tuple[str, ...], str, str | None, str | None, str | None], path: str,
              m: Matched | None, g: Matched | None) -> _Plan:
        """What :meth:`accounted` knows of the requests for a hostname that differ in some
        aspects and that the sides matched by rules of the source objects of ``m`` and ``g``
        (``key``: its key; ``path``: one such request's). The explanations are worked out as
        the requests are read (but for a plan whose explanation reads nothing)."""
        aspects = key[0]
        sides = self._sides.get(key[1:])
        if sides is None:
            sides = self._sides_of(key[1], m, g)
            if len(self._sides) >= 100_000:
                self._sides.clear()
            self._sides[key[1:]] = sides
        involved, source_host, ruled, host, refs, hosts = sides
        # (a rule host whose notes declare none of these aspects changes no analysis either: left
        # out, its plans share the analysis of the hosts without notes, and its explanations)
        if hosts:
            if len(hosts) == 1:
                if self._declared(hosts[0]).isdisjoint(aspects):
                    hosts = ()
            else:
                hosts = tuple([h for h in hosts if not self._declared(h).isdisjoint(aspects)])
        analysis = self._analysis(aspects, hosts)
        exact, regexes, shape, marks = analysis[0], analysis[1], analysis[2], analysis[3]
        named: frozenset[str] = frozenset()
        needs: tuple[tuple[_Stems, frozenset[str]], ...] = ()
        if exact:  # the paths notes name on the source side's rule host, on the Gateway side's
            on_source: list[str] = []
            on_gateway: list[str] = []
            for h, p in exact:
                if h == "*":
                    on_source.append(p)
                    on_gateway.append(p)
                else:
                    if h == source_host:
                        on_source.append(p)
                    if h == host:
                        on_gateway.append(p)
            if ruled and on_source:  # (the source side's path is the rule's)
                named = frozenset(on_source)
            if refs and on_gateway:  # (the path the request falls under matters only if a note names it)
                relevant = frozenset(on_gateway)
                needs = ((self._stems_of(refs[0], host), relevant),) if len(refs) == 1 else \
                    tuple([(self._stems_of(ref, host), relevant) for ref in refs])
        # (what reads alike shares the readings; the explanations of a reading depend on the
        # rule hosts only where a note names them: the analysis's)
        reads = (named, needs, regexes)
        readings = self._readings.get(reads)
        if readings is None:
            if len(self._readings) >= 100_000:
                self._readings.clear()
            readings = self._readings[reads] = {}
        # (the explanations, as positions among the analysis's notes, are those of every analysis
        # whose notes read alike, with the sides' rule hosts at the same positions in it)
        source_at, host_at = marks.get(source_host), marks.get(host)
        alike = (shape[0], source_at, host_at, len(needs))
        known = self._knowns.get(alike)
        if known is None:
            if len(self._knowns) >= 100_000:
                self._knowns.clear()
            known = self._knowns[alike] = {}
        source_read = source_host if source_at is None else source_at
        host_read = host if host_at is None else host_at
        plan: _Plan = (involved, None, named, needs, regexes, known, analysis, source_read, host_read, readings,
                       analysis[5], analysis[4])
        if named or needs or regexes:
            return plan
        read = _reading(plan, m, path)
        fixed = known.get(read)
        if fixed is None:
            fixed = known[read] = self._by_reading(aspects, plan, read)
        return (involved, _indices(analysis[5], analysis[4], fixed), named, needs, regexes, known, analysis,
                source_read, host_read, readings, analysis[5], analysis[4])

    def _declared(self, host: str) -> frozenset[str]:
        """The aspects the explaining notes about rule host ``host`` declare (remembered)."""
        found = self._aspects.get(host)
        if found is None:
            notes = self.all_notes
            found = frozenset().union(*[notes[i].aspects for i in self._host_notes.get(host, ())])
            if len(self._aspects) < 100_000:
                self._aspects[host] = found
        return found

    def _sides_of(self, hostname: str, m: Matched | None, g: Matched | None) -> _Sides:
        """:data:`_Sides` of the requests for ``hostname`` the sides matched by rules of the
        source objects of ``m`` and ``g`` (:meth:`_served` and :meth:`_involved` in one go)."""
        hosts, owners, owned = self._host(hostname)
        ruled = m is not None and (m.kind == "Ingress" or bool(m.route))
        if ruled and m.route:  # type: ignore[union-attr]  # (ruled: m is a Matched)
            ref = m.route if m.kind == "Ingress" else source_ref(m.kind, m.route)  # type: ignore[union-attr]
            source_host = hostname
            for h in hosts:
                if ref in self.paths[h]:
                    source_host = h
                    break
            source_refs: tuple[str, ...] = (ref,)
            stray = ref not in owned  # (an Ingress that served them but does not own the host)
        else:  # the controller's own rule (/healthz ...) or none: the host's
            source_host = hosts[0] if hosts else ""
            source_refs = () if ruled else tuple(self.paths.get(source_host, ()))
            stray = not owned.issuperset(source_refs)
        host = ""
        refs: tuple[str, ...] = ()
        if g is not None:  # (the route's sources: their stems are read by _plan when a note names a path there)
            host, refs = self._route_side(hostname, g)
            if not stray:
                stray = not owned.issuperset(refs)
        involved = tuple(sorted(owned.union(source_refs, refs))) if stray else owners
        # (a rule host no explaining note names changes no analysis: left out, the hosts without
        # notes of their own share one, and the explanations it has worked out)
        noted = self._host_notes
        if not refs or host == source_host:
            noting: tuple[str, ...] = (source_host,) if source_host in noted else ()
        elif source_host in noted:
            noting = (source_host, host) if host in noted else (source_host,)
        else:
            noting = (host,) if host in noted else ()
        return involved, source_host, ruled, host, refs, noting

    def _by_reading(self, aspects: tuple[str, ...], plan: _Plan,
                    read: tuple[str | bool | None, ...]) -> tuple[int, ...]:
        """The explanation of a request ``plan`` read so (:func:`_reading`), as positions among
        its analysis's notes: :meth:`_explained_by` without the request (the rules served that a
        note names are those read)."""
        shape, source_host, gateway_host = plan[6][2], plan[7], plan[8]
        paths = len(plan[3])
        named: frozenset[tuple[str | int, str]] = frozenset()
        if shape[1]:
            rules: list[Any] = [] if read[0] is None else [(source_host, read[0]), ("*", read[0])]
            for p in read[1:1 + paths]:
                if p is not None:
                    rules += [(gateway_host, p), ("*", p)]
            named = shape[1].intersection(rules)
        matched: tuple[bool, ...] = read[1 + paths:]  # type: ignore[assignment]  # (no cast() to call)
        key = (named, matched)
        found = shape[3].get(key)
        if found is None:
            found = shape[3][key] = self._explaining(aspects, shape[2], *key)
        return found

    def _analysis(self, aspects: tuple[str, ...], hosts: tuple[str, ...]) -> _Analysis:
        """:data:`_Analysis` of the notes that may explain ``aspects`` on the rule hosts ``hosts``:
        each note of those hosts and of every host that declares one of ``aspects``."""
        key = (aspects, hosts)
        found = self._analyses.get(key)
        if found is None:
            exact: set[tuple[str, str]] = set()
            regexes: dict[str, int] = {}  # pattern -> its position
            compiled: list[re.Pattern[str]] = []
            candidates: list[_Candidate] = []
            slots: list[int] = []
            host_notes, scopes = self._host_notes, self._scopes
            if len(hosts) == 1:
                indices = [*host_notes.get(hosts[0], ()), *host_notes.get("*", ())]
            else:
                indices = [i for h in (*hosts, "*") for i in host_notes.get(h, ())]
            marks = {h: at for at, h in enumerate(hosts) if h != "*"}  # ("*" stays every host)
            first = hosts[0] if hosts else None
            # (in the order of their indices: an explanation's positions, sorted, give them sorted)
            for i in sorted(set(indices)) if len(indices) > 1 else indices:
                declared, whole, pairs, scoped, own, relative = scopes.get(i) or self._scope(i)
                if declared.isdisjoint(aspects):
                    continue
                exact.update(pairs)
                tried: tuple[int, ...] = ()
                if scoped:
                    positions = []
                    for rh, rx in scoped:
                        if rh == "*" or rh in hosts:
                            at = regexes.get(rx.pattern)
                            if at is None:
                                at = regexes[rx.pattern] = len(compiled)
                                compiled.append(rx)
                            positions.append(at)
                    tried = tuple(positions)
                if relative is None or (own is not None and own != first):  # (else worked out already)
                    relative = frozenset([(marks.get(h, h), p) for h, p in pairs])
                candidates.append((tried, relative, whole is True or bool(whole and not whole.isdisjoint(hosts)),
                                   declared))
                slots.append(i)
            alike = (aspects, tuple(candidates), tuple([rx.pattern for rx in compiled]))
            shape = self._shapes.get(alike)
            if shape is None:
                if len(self._shapes) >= 100_000:
                    self._shapes.clear()
                shape = self._shapes[alike] = (self._numbered, frozenset().union(*[c[1] for c in candidates]),
                                               alike[1], {})
                self._numbered += 1
            found = (frozenset(exact), tuple(compiled), shape, marks, tuple(slots), {})
            if len(self._analyses) >= 100_000:
                self._analyses.clear()
            self._analyses[key] = found
        return found

    def _scope(self, i: int) -> _Scopes:
        """:data:`_Scopes` of the explaining note ``i``, worked out when an analysis first reads it (remembered)."""
        n = self.all_notes[i]
        whole: list[str] = []
        pairs: list[tuple[str, str]] = []
        scoped: list[tuple[str, re.Pattern[str]]] = []
        for h, p in n.scope:
            if p.startswith("~"):  # a property of the request's path, compiled once per host and pattern
                mine = self._by_path.setdefault(h, {})
                rx = mine.get(p)
                if rx is None:
                    rx = mine[p] = re.compile(p[1:])
                scoped.append((h, rx))
            else:
                pairs.append((h, p))
                if not p:
                    whole.append(h)
        named = {h for h, _ in pairs if h != "*"}
        own = named.pop() if len(named) == 1 else None
        relative: frozenset[tuple[str | int, str]] | None = None  # (several hosts: an analysis works them out)
        if own is not None:  # (most notes name one host: as position 0, where an analysis has it first)
            relative = frozenset([(0 if h == own else h, p) for h, p in pairs])
        elif not named:  # (every host, or none: as named)
            relative = frozenset(pairs)
        found = self._scopes[i] = (n.aspects, True if "*" in whole else frozenset(whole), frozenset(pairs),
                                   tuple(scoped), own, relative)
        return found

    # --- explanation ---------------------------------------------------------------------

    def explain(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[Note, ...]:
        """The most precise notes that together account for every differing aspect (none if
        they cannot): notes about the request itself first, then about its rule, then about
        its whole host, each level added only when the closer ones leave an aspect open.
        ``served``: where each side served the request (:meth:`served`). Remembered
        (:meth:`_explained_by`)."""
        return tuple(self.all_notes[i] for i in self.explaining(aspects, request, served))

    def explaining(self, aspects: Sequence[str], request: Request, served: Sequence[Served]) -> tuple[int, ...]:
        """:meth:`explain` as indices into :attr:`all_notes` (cheap to keep and to send)."""
        return self._explained_by(tuple(aspects), request.path, served)

    def _explained_by(self, aspects: tuple[str, ...], path: str, served: Sequence[Served],
                      analysis: _Analysis | None = None) -> tuple[int, ...]:
        """:meth:`explaining` of a request for ``path``, remembered by what the answer depends on
        (:data:`_Analysis`): the served rule hosts, which of the rules served (host and path,
        or every host and path) a note that may explain it names, and which ``~regex`` scopes
        that may explain it the path matches."""
        if analysis is None:  # (else the analysis of these aspects and served hosts)
            analysis = self._analysis(aspects, tuple(dict.fromkeys([host for _, host, _ in served])))
        regexes, shape, marks = analysis[1], analysis[2], analysis[3]
        named: frozenset[tuple[str | int, str]] = frozenset()
        if shape[1]:
            rules: set[tuple[str | int, str]] = {(marks.get(host, host), p) for _, host, p in served if p is not None}
            rules.update([("*", p) for _, p in rules])
            named = shape[1].intersection(rules)
        key = (named, tuple([rx.search(path) is not None for rx in regexes]))
        found = shape[3].get(key)
        if found is None:
            found = shape[3][key] = self._explaining(aspects, shape[2], *key)
        return analysis[5].get(found) or _indices(analysis[5], analysis[4], found)

    def _explaining(self, aspects: tuple[str, ...], candidates: tuple[_Candidate, ...],
                    named: frozenset[tuple[str | int, str]], matched: tuple[bool, ...]) -> tuple[int, ...]:
        """:meth:`explaining` worked out from the request's reading, as positions among the notes
        that may explain ``aspects`` (``candidates``, an analysis's): each at the most precise
        level its scope covers the request by (:data:`_Scopes`): 3 by a property of the request
        (a ``~regex`` scope of a served host or of every host whose regex the path ``matched``),
        2 by the exact rule (the host and path, or every host and the path, a side served it
        by: ``named``), 1 by the whole host."""
        levels: tuple[list[int], list[int], list[int]] = ([], [], [])
        for at, (tried, pairs, whole, _) in enumerate(candidates):
            if tried and (matched[tried[0]] or any([matched[j] for j in tried[1:]])):
                levels[0].append(at)
            elif pairs and not named.isdisjoint(pairs):
                levels[1].append(at)
            elif whole:
                levels[2].append(at)
        useful: list[int] = []
        covered: set[str] = set()
        for level in levels:
            if level:
                useful += level
                for at in level:
                    covered.update(candidates[at][3])
                if covered.issuperset(aspects):
                    return tuple(sorted(useful))
        return ()


def _indices(known: dict[tuple[int, ...], tuple[int, ...]], slots: tuple[int, ...],
             positions: tuple[int, ...]) -> tuple[int, ...]:
    """An explanation as positions among an analysis's notes (``slots``: their indices, ascending)
    as the notes' indices (remembered in ``known``, the analysis's)."""
    found = known[positions] = tuple([slots[at] for at in positions])
    return found
