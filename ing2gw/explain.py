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


# An explaining note's aspects and its scope by how precisely it covers a request: the hosts
# it covers whole (True: every host), the (host, path) pairs it names (a path "" too, which a
# side's rule name may be), the ``~regex`` scopes (host, compiled pattern).
_Scopes = tuple[frozenset[str], "bool | frozenset[str]", frozenset[tuple[str, str]],
                tuple[tuple[str, "re.Pattern[str]"], ...]]


# What an explanation can read of a request, for the notes that may explain some aspects on
# some rule hosts: the (host, path) pairs their scopes name (every other rule a side served
# changes nothing), the ``~regex`` scopes they are tried by (the request's path matching or
# not), the explanations worked out so far by (pairs named among the rules served, which of
# the regexes the path matches), and the notes themselves: (index, positions of the regexes
# their scope is tried by, the pairs it names, whether it covers a served host whole).
_Analysis = tuple[frozenset[tuple[str, str]], tuple["re.Pattern[str]", ...],
                  dict[tuple[frozenset[tuple[str, str]], tuple[bool, ...]], tuple[int, ...]],
                  tuple[tuple[int, tuple[int, ...], frozenset[tuple[str, str]], bool], ...]]

# What accounted() knows of the requests for one hostname that differ alike and that the sides
# matched by rules of the same source objects: the Ingresses involved, the explanation when it
# does not depend on the request, else how the request is read (:func:`_reading`) -- the
# source side's rule paths a note names, per source of the Gateway side's route its paths'
# stems and the paths a note names, the regexes -- the explanations by what was read, and
# what an explanation is worked out from: the notes' analysis and the source side's and the
# Gateway side's rule hosts.
_Plan = tuple[tuple[str, ...], "tuple[int, ...] | None", frozenset[str], tuple[tuple[_Stems, frozenset[str]], ...],
              tuple["re.Pattern[str]", ...], dict[tuple["str | bool | None", ...], tuple[int, ...]], _Analysis,
              str, str]


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
        self.by_host: dict[str, list[Note]] = {}  # scope host -> notes about it
        self._by_path: dict[str, dict[str, re.Pattern[str]]] = {}  # host -> its ~regex scopes, compiled
        self._host_notes: dict[str, list[int]] = {}  # by_host as indices into all_notes
        self._scopes: dict[int, _Scopes] = {}  # an explaining note (its index) -> its scope, by precision
        # (aspects, served rule hosts) -> what of a request the explanation can depend on (_Analysis)
        self._analyses: dict[tuple[tuple[str, ...], tuple[str, ...]], _Analysis] = {}
        # (aspects, hostname, kind and name of the source side's matched object, the Gateway side's route) -> _Plan
        self._plans: dict[tuple[tuple[str, ...], str, str | None, str | None, str | None], _Plan] = {}
        # the last plan accounted() used: (aspects, the sides' Matched values, hostname, the plan)
        self._last: tuple[tuple[str, ...], Matched | None, Matched | None, str, _Plan] | None = None
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
                n.aspects,
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
        self._owner_cache: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}  # hostname -> owners
        # (hostname, id of the source side's match) -> (the match, where the source side served)
        self._source_sides: dict[tuple[str, int], tuple[Matched | None, Served]] = {}
        # (hostname, route) -> (the rule host, (one-Ingress set, its stems) per source of the route)
        self._gateway_sides: dict[tuple[str, str], tuple[str, tuple[tuple[frozenset[str], _Stems], ...]]] = {}
        self._stems: dict[tuple[str, str], _Stems] = {}  # (host, ref) -> _under's stems
        self._stem_of: dict[str, tuple[str, str, int, int]] = {}  # a path -> its stem (one of _Stems)
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
            known = self._stem_of
            out = []
            for p in self.paths.get(host, {}).get(ref, ()):
                stem = known.get(p)
                if stem is None:  # (Ingresses repeat a few paths: each is read once)
                    literal = _literal(p)
                    low = literal.lower()
                    stem = known[p] = (p, low, len(low), len(literal))
                out.append(stem)
            stems = tuple(out)
            if len(self._stems) < 100_000:
                self._stems[(host, ref)] = stems
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
            if g.route not in self.route_sources:
                side = ("", ())
            else:
                names = self.route_hosts.get(g.route, ())
                host = next((h for h in names if _host_matches(h, hostname)), hostname) if names else ""
                side = (host, tuple((frozenset({ref}), self._stems_of(ref, host))
                                    for ref in self.route_sources[g.route]))
            if len(self._gateway_sides) < 100_000:
                self._gateway_sides[(hostname, g.route)] = side
        return side

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
        m, g = source.matched, gateway.matched
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
                made = self._plan(aspects, hostname, request.path, m, g)
                if len(self._plans) >= 100_000:
                    self._plans.clear()
                self._plans[key] = made
            plan = made
            self._last = (aspects, m, g, hostname, plan)
        involved, fixed, known = plan[0], plan[1], plan[5]
        if fixed is not None:
            return involved, fixed
        path = request.path
        read = _reading(plan, m, path)
        found = known.get(read)
        if found is None:
            found = known[read] = self._by_reading(aspects, plan, read)
        return involved, found

    def _plan(self, aspects: tuple[str, ...], hostname: str, path: str, m: Matched | None,
              g: Matched | None) -> _Plan:
        """What :meth:`accounted` knows of the requests for ``hostname`` that differ in
        ``aspects`` and that the sides matched by rules of the source objects of ``m`` and
        ``g`` (``path``: one such request's). (:meth:`_served` and :meth:`_involved` worked
        out here in one go: a plan is made for a few requests only, many thousand times.)"""
        source_refs, source_host, _ = self._source_served(hostname, m)
        host = ""
        refs: tuple[tuple[frozenset[str], _Stems], ...] = ()
        if g is not None:
            host, refs = self._gateway_side(hostname, g)
        # (a rule host no explaining note names changes no analysis: left out, the hosts without
        # notes of their own share one, and the explanations it has worked out)
        noted = self._host_notes
        if not refs or host == source_host:
            hosts: tuple[str, ...] = (source_host,) if source_host in noted else ()
        else:
            hosts = tuple([h for h in (source_host, host) if h in noted])
        exact, regexes, _, _ = analysis = self._analysis(aspects, hosts)
        owners, owned = self._owners(hostname)
        involved = owners
        if not source_refs <= owned or any(not one <= owned for one, _ in refs):  # served but not an owner
            involved = tuple(sorted(owned.union(source_refs, *[one for one, _ in refs])))
        named: frozenset[str] = frozenset()
        if exact and m is not None and (m.kind == "Ingress" or m.route):  # (the source side's path is the rule's)
            named = frozenset([p for h, p in exact if h == source_host or h == "*"])
        needs: tuple[tuple[_Stems, frozenset[str]], ...] = ()
        if refs and exact:  # (the path the request falls under matters only if a note names it)
            relevant = frozenset([p for h, p in exact if h == host or h == "*"])
            if relevant:
                needs = tuple([(stems, relevant) for _, stems in refs])
        plan: _Plan = (involved, None, named, needs, regexes, {}, analysis, source_host, host)
        read = _reading(plan, m, path)
        explained = self._by_reading(aspects, plan, read)
        if named or needs or regexes:
            plan[5][read] = explained
            return plan
        return (involved, explained, named, needs, regexes, plan[5], analysis, source_host, host)

    def _by_reading(self, aspects: tuple[str, ...], plan: _Plan,
                    read: tuple[str | bool | None, ...]) -> tuple[int, ...]:
        """The explanation of a request ``plan`` read so (:func:`_reading`): :meth:`_explained_by`
        without the request (the rules served that a note names are those read)."""
        analysis, source_host, gateway_host = plan[6], plan[7], plan[8]
        paths = len(plan[3])
        named: frozenset[tuple[str, str]] = frozenset()
        if analysis[0]:
            rules = [] if read[0] is None else [(source_host, read[0]), ("*", read[0])]
            for p in read[1:1 + paths]:
                if p is not None:
                    rules += [(gateway_host, p), ("*", p)]
            named = analysis[0].intersection(rules)
        matched: tuple[bool, ...] = read[1 + paths:]  # type: ignore[assignment]  # (no cast() to call)
        key = (named, matched)
        found = analysis[2].get(key)
        if found is None:
            found = analysis[2][key] = self._explaining(aspects, analysis, *key)
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
            candidates: list[tuple[int, tuple[int, ...], frozenset[tuple[str, str]], bool]] = []
            host_notes, scopes = self._host_notes, self._scopes
            if len(hosts) == 1:
                indices = [*host_notes.get(hosts[0], ()), *host_notes.get("*", ())]
            else:
                indices = [i for h in (*hosts, "*") for i in host_notes.get(h, ())]
            for i in dict.fromkeys(indices) if len(indices) > 1 else indices:
                declared, whole, pairs, scoped = scopes[i]
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
                candidates.append((i, tried, pairs, whole is True or bool(whole and not whole.isdisjoint(hosts))))
            found = (frozenset(exact), tuple(compiled), {}, tuple(candidates))
            if len(self._analyses) >= 100_000:
                self._analyses.clear()
            self._analyses[key] = found
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
        exact, regexes, known, _ = analysis
        named: frozenset[tuple[str, str]] = frozenset()
        if exact:
            rules = {(host, p) for _, host, p in served if p is not None}
            rules.update([("*", p) for _, p in rules])
            named = exact.intersection(rules)
        key = (named, tuple([rx.search(path) is not None for rx in regexes]))
        found = known.get(key)
        if found is None:
            found = known[key] = self._explaining(aspects, analysis, *key)
        return found

    def _explaining(self, aspects: tuple[str, ...], analysis: _Analysis, named: frozenset[tuple[str, str]],
                    matched: tuple[bool, ...]) -> tuple[int, ...]:
        """:meth:`explaining` worked out from the request's reading: each note that may explain
        ``aspects`` (``analysis``'s) at the most precise level its scope covers the request
        by (:data:`_Scopes`): 3 by a property of the request (a ``~regex`` scope of a served
        host or of every host whose regex the path ``matched``), 2 by the exact rule (the
        host and path, or every host and the path, a side served it by: ``named``), 1 by the
        whole host."""
        scopes = self._scopes
        levels: tuple[list[int], list[int], list[int]] = ([], [], [])
        for i, tried, pairs, whole in analysis[3]:
            if tried and (matched[tried[0]] or any([matched[j] for j in tried[1:]])):
                levels[0].append(i)
            elif pairs and not named.isdisjoint(pairs):
                levels[1].append(i)
            elif whole:
                levels[2].append(i)
        useful: list[int] = []
        covered: set[str] = set()
        for level in levels:
            if level:
                useful += level
                for i in level:
                    covered.update(scopes[i][0])
                if covered.issuperset(aspects):
                    return tuple(sorted(useful))
        return ()
