"""VirtualServices -> HTTPRoutes (on Gateway listeners or, for the mesh, on Services), TLSRoutes
and TCPRoutes.

A VirtualService binds to the Istio Gateways its ``gateways`` name (``mesh``, or no gateways at
all, means the sidecars). For each place it applies -- a (gateway, port) of the listeners that
admit it, or a Service for the mesh -- the matches of its ``http`` routes (delegates expanded,
:mod:`.delegate`) that apply there are put in Istio's order and handed to
:func:`.ordering.to_precedence`, which drops the unreachable ones and adds intersections so
that Gateway API precedence picks what Istio's first match picks; places with the same result
share one route. Consecutive matches with the same action share a rule. Several
VirtualServices serving one host on one gateway are one virtual host in Istio: their routes
are tried one VirtualService after the other (each cut after its first catch-all, the
catch-alls moved last), so such a host gets one HTTPRoute made from all of them, ordered the
same way (:meth:`_Converter.merged`).

Mesh routes (GAMMA) attach to the Service each host names (``parentRef`` kind Service; one
route per Service port, ``parentRef.port``, when matches name a port, as each port's sidecar
listener keeps only its own matches, or when gRPC and other ports mix). Which
VirtualService each client namespace takes for a Service (sidecars do not merge them) and
which GAMMA routes give every namespace that -- a producer route in the Service's namespace,
consumer routes in the namespaces that get something else (``exportTo``, ``sourceNamespace``)
-- is the mesh plan's (:mod:`.meshplan`); a match with ``sourceNamespace`` applies to its
namespace's consumer route only, one with ``sourceLabels`` nowhere (client pod labels have no
Gateway API form: a note per match).

Routes served as gRPC -- on a Gateway server of protocol GRPC, for a Service port that speaks
gRPC, or whose destinations all are gRPC Service ports -- become GRPCRoutes (:mod:`.grpc`);
a Service with gRPC and other ports gets a GRPCRoute per gRPC port and an HTTPRoute for the
rest.

``tls`` and ``tcp`` routes become TLSRoutes and TCPRoutes (:mod:`.l4`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ing2gw.ir import ListenerParent, Provenance, Route, RouteMatch, Rule, ServiceParent
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope
from ing2gw.provider import ProviderContext

from .delegate import expand
from .fields import walk
from .gateway import Servers, redirect_listeners
from .grpc import GRPC_ONLY, as_grpc, grpc_ports
from .http import Action, Match, action_of, match_of, rule_for
from .l4 import L4Converter
from .meshplan import Role, plan
from .objects import Index, ServiceHost, service_host, spec_list, str_list
from .ordering import Item, Ordered, to_precedence
from .places import Place, applies, applies_any, is_catch_all, labels_cover, route_hosts, selector
from .scopes import conflict_scope, host_scope, prefix_scope, scope

__all__ = ["convert_virtual_services"]

_ASPECTS = ("status", "backend", "weights", "path", "redirect", "headers", "host", "cors")
# problems of an action that lose what it does (the others change it a little)
_LOST = frozenset({"DIRECT-RESPONSE", "REWRITE-REGEX", "DESTINATION-EXTERNAL", "DESTINATION-PORT",
                   "DESTINATION-INVALID"})


@dataclass(frozen=True, slots=True)
class _Entry:
    """One match of one (expanded) Istio route."""

    origin: int  # index in spec.http of the route it stands for
    position: int  # index in the expanded list
    match: Match
    action: Action
    provenance: Provenance
    # Istio's character prefix, kept by a GRPCRoute's method match, narrowed by an HTTPRoute's
    # PathPrefix: (VirtualService, why, field, scope) of the note an HTTPRoute holding this match gives
    prefix_notes: tuple[tuple[Any, str, str, Scope], ...] = ()


class _Converter:
    def __init__(self, index: Index, servers: Servers, ctx: ProviderContext) -> None:
        self.index, self.servers, self.ctx, self.notes = index, servers, ctx, ctx.notes
        self.redirecting = redirect_listeners(servers)
        self.mesh = plan(index, self._service_ports)
        self.l4 = L4Converter(index, servers, ctx, self.note)

    def _service_ports(self, svc: ServiceHost) -> frozenset[int] | None:
        ports = grpc_ports(self.ctx.resources, svc)
        return None if ports is None else ports[0] | ports[1]

    def note(self, vs: Any, code: str, level: Level, message: str, fld: str, scope: Scope,
             fidelity: Fidelity | None = Fidelity.APPROXIMATE, instead: str = "",
             aspects: Sequence[str] = _ASPECTS) -> None:
        self.notes.add(Note(f"ISTIO-{code}", level, message, subject=vs.subject, field=fld, fidelity=fidelity,
                            instead=instead, origin=vs.origin, aspects=frozenset(aspects), scope=scope))

    # --- places ------------------------------------------------------------------------------

    def places(self, vs: Any, hosts: list[str], exclude: frozenset[tuple[str, str]] = frozenset(),
               only: str | None = None) -> list[Place]:
        """Where ``vs`` applies for ``hosts``: per gateway port (or Service for the mesh);
        ``exclude`` (gateway, host) pairs merged elsewhere; ``only`` one gateway."""
        gateways = str_list(vs.spec.get("gateways")) or ["mesh"]
        out: list[Place] = []
        for g in gateways:
            if g == "mesh":
                out += self.mesh_places(vs, hosts)
                continue
            found = self.servers.of(g, vs.namespace, self.index)
            if found is None:
                self.note(vs, "GATEWAY-MISSING", Level.WARNING, f"Gateway {g} is not in the input",
                          "spec.gateways", host_scope(hosts), Fidelity.UNSUPPORTED, "routes not attached there")
                continue
            gw_ref = g if "/" in g else f"{vs.namespace}/{g}"
            if only is not None and gw_ref != only:
                continue
            by_port: dict[tuple[int, bool, bool], Place] = {}
            admitted: dict[tuple[int, bool, bool], set[str]] = {}
            for server in found:
                if server.family not in ("HTTP", "HTTPS"):
                    continue
                for host in hosts:
                    if (gw_ref, host.lower()) in exclude:
                        continue
                    for parent in server.admits(vs.namespace, host):
                        if parent in self.redirecting:
                            continue
                        key = (server.port, server.client_auth is not None, server.grpc)
                        place = by_port.setdefault(key, Place(gw_ref, server.port, namespace=vs.namespace,
                                                               client_auth=server.client_auth, grpc=server.grpc,
                                                               labels=selector(server.gateway)))
                        place.parents.add(parent)
                        admitted.setdefault(key, set()).add(host)
            for key, place in by_port.items():
                place.hosts = route_hosts(sorted(admitted[key]))
            if not by_port and found and not exclude:
                self.note(vs, "GATEWAY-NOT-BOUND", Level.WARNING, f"no HTTP server of Gateway {g} admits hosts "
                          f"{', '.join(hosts)} from namespace {vs.namespace}", "spec.gateways", host_scope(hosts),
                          None, "Istio does not serve these routes there either", ())
            out += [by_port[p] for p in sorted(by_port)]
        return out

    def mesh_places(self, vs: Any, hosts: list[str]) -> list[Place]:
        """A place per GAMMA route the mesh plan gives ``vs`` (:mod:`.meshplan`), per gRPC port."""
        out: list[Place] = []
        roles = self.mesh.roles.get((vs.namespace, vs.name), [])
        seen: set[ServiceHost] = set()
        for host in hosts:
            svc = service_host(host, vs.namespace)
            if svc is None:
                self.note(vs, "MESH-HOST", Level.WARNING, f"mesh host {host} names no Kubernetes Service: GAMMA "
                          "routes attach to Services", "spec.hosts", host_scope([host]), Fidelity.UNSUPPORTED,
                          "not converted for the mesh")
                continue
            if svc in seen:
                continue
            seen.add(svc)
            for role in (r for r in roles if r.service == svc):
                self.role_notes(vs, role)
                out += self.service_places(vs, svc, role)
        return out

    def role_notes(self, vs: Any, role: Role) -> None:
        svc = role.service
        if role.client_ns is None and role.route_ns != vs.namespace:
            self.note(vs, "MESH-PRODUCER-ROUTE", Level.INFO, f"the VirtualService applies to every client of "
                      f"{svc.fqdn}: the route goes in the Service's namespace {svc.namespace} (a GAMMA "
                      f"producer route); a route in {vs.namespace} would reach only that namespace's clients",
                      "spec.exportTo", (), None, f"HTTPRoute in namespace {svc.namespace}", ())
        elif role.client_ns is not None and role.route_ns != vs.namespace:
            self.note(vs, "MESH-CONSUMER-ROUTE", Level.INFO, f"clients in namespace {role.client_ns} get other "
                      f"routes for {svc.fqdn} than the rest (exportTo or sourceNamespace): a GAMMA consumer route in "
                      f"{role.client_ns} gives them theirs", "spec.http", (), Fidelity.EXACT,
                      f"HTTPRoute in namespace {role.client_ns}", ())

    def service_places(self, vs: Any, svc: ServiceHost, role: Role) -> list[Place]:
        """The places of one GAMMA route on ``svc``: the whole Service, or -- when it has gRPC
        and other ports, or ``vs`` has matches for one port -- one per Service port
        (``parentRef.port``; places that end up with the same rules share one route)."""
        ns, client = role.route_ns, role.client_ns
        ports = grpc_ports(self.ctx.resources, svc)
        named = {m["port"] for r in spec_list(vs.spec.get("http")) for m in spec_list(r.get("match"))
                 if isinstance(m.get("port"), int) and m["port"]}
        if ports is None or (role.ports is None and not named and (not ports[0] or not ports[1])):
            grpc = ports is not None and bool(ports[0])  # every port speaks gRPC: one GRPCRoute
            return [Place("mesh", None, {ServiceParent(svc.namespace, svc.name)}, ns, (), grpc=grpc,
                          client_ns=client)]
        return [Place("mesh", p, {ServiceParent(svc.namespace, svc.name, p)}, ns, (), grpc=p in ports[0],
                      client_ns=client) for p in sorted(ports[0] | ports[1]) if role.ports is None or p in role.ports]

    def labels_note(self, vs: Any, hosts: list[str], where: str, match: Match) -> None:
        """Where a sourceLabels match cannot hold in the output: the mesh (no GAMMA route
        selects client pods by labels), Gateways whose selector does not carry the labels."""
        wanted = ", ".join(f"{k}={v}" for k, v in match.source_labels)
        lost = []
        for g in str_list(vs.spec.get("gateways")) or ["mesh"]:
            if g == "mesh":
                lost.append("for the sidecars Gateway API routes, GAMMA's too, cannot select clients by pod labels")
                continue
            gw = self.index.gateway(g, vs.namespace)
            if gw is not None and labels_cover(selector(gw), match.source_labels):
                continue
            lost.append(f"the pods of Gateway {g} carry its selector's labels, not these")
        if lost:
            self.note(vs, "SOURCE-LABELS", Level.WARNING, f"{where} holds only for requests from workloads labelled "
                      f"{wanted}: {'; '.join(lost)}; left out there, so the requests it took reach the routes after "
                      "it", f"{where}.sourceLabels", tuple(p for p in scope(hosts, match.match) if p[0] != "*"),
                      Fidelity.UNSUPPORTED, "match left out")

    def mesh_notes(self) -> None:
        """What the mesh plan cannot give every client as Istio does."""
        for vs, svc, winner in self.mesh.shadowed:
            self.note(vs, "MESH-VS-SHADOWED", Level.WARNING, f"Istio's sidecars use one VirtualService per Service "
                      f"and do not merge them: every client that sees this one takes {winner.ref} for {svc.fqdn} "
                      "first, so its routes are never used", "spec.hosts", (), None, "not converted", ())
        for vs, svc, ns in self.mesh.inexact:
            if ns:
                why = (f"clients in the Service's own namespace {ns} take this VirtualService's routes for "
                       f"{svc.fqdn}, every other client other routes; a GAMMA route in {ns} is the producer route "
                       f"of every client, so {ns}'s clients get the other clients' routes")
            else:
                why = (f"only clients in {svc.namespace} see this VirtualService for {svc.fqdn}; a GAMMA route in "
                       f"the Service's namespace is the producer route of every client, so the other namespaces' "
                       "clients get it too (in Istio the Service itself answers them)")
            # mesh requests are explained under the empty host (GAMMA routes have no hostnames)
            self.note(vs, "MESH-CLIENTS-MERGED", Level.WARNING, why, "spec.hosts", (("", ""), (svc.fqdn, "")),
                      Fidelity.APPROXIMATE, "the producer route for those clients")

    # --- http --------------------------------------------------------------------------------

    def entries(self, vs: Any, hosts: list[str]) -> list[_Entry]:
        http = spec_list(vs.spec.get("http"))

        def lookup(ns: str, name: str) -> list[Mapping[str, Any]] | None:
            target = self.index.virtual_service(ns, name)
            if target is None or str_list(target.spec.get("hosts")):
                return None
            return spec_list(target.spec.get("http"))

        def dropped(n: int, why: str) -> None:
            self.note(vs, "DELEGATE-DROPPED", Level.WARNING, why, f"spec.http[{n}].delegate", (), None,
                      "Istio drops these routes too", ())

        out: list[_Entry] = []
        for position, (n, route) in enumerate(expand(http, vs.namespace, lookup, dropped)):
            fld = f"spec.http[{n}]"
            prov = Provenance("VirtualService", vs.namespace, vs.name, fld, vs.origin)
            action = action_of(route, vs.namespace, self.ctx.resources, prov, fld)
            raw = spec_list(route.get("match")) or [{}]
            route_scope: Scope = tuple(sorted({pair for m in raw for pair in scope(
                hosts, (match_of(m, vs.namespace)[0] or Match(RouteMatch())).match)}))
            for code, where, message in action.problems:
                self.note(vs, code, Level.WARNING, message, where, route_scope, Fidelity.UNSUPPORTED
                          if code in _LOST else Fidelity.APPROXIMATE, aspects=_ASPECTS)
            for k, m in enumerate(raw):
                match, problems = match_of(m, vs.namespace)
                if match is not None and match.source_labels:
                    self.labels_note(vs, hosts, f"{fld}.match[{k}]", match)
                if match is None:
                    self.note(vs, "MATCH-NOT-CONVERTED", Level.WARNING, f"{'; '.join(problems)}: requests it "
                              "matched reach the routes after it", f"{fld}.match[{k}]", host_scope(hosts),
                              Fidelity.UNSUPPORTED, "match left out")
                    continue
                if match.source_namespace is not None and any(g != "mesh" for g in str_list(vs.spec.get(
                        "gateways"))):
                    self.note(vs, "SOURCE-NAMESPACE-GATEWAY", Level.WARNING, f"{fld}.match[{k}] holds only for "
                              f"proxies in namespace {match.source_namespace}: on a gateway that is where the "
                              "gateway pods run, which the converted Gateway does not keep; left out there, so its "
                              "requests reach the routes after it", f"{fld}.match[{k}].sourceNamespace",
                              scope(hosts, match.match), Fidelity.UNSUPPORTED, "match left out on gateways")
                prefix = tuple((vs, why, f"{fld}.match[{k}].uri", prefix_scope(hosts, match.match))
                               for why in problems)
                out.append(_Entry(n, position, match, action, prov, prefix))
        return out

    def convert(self, vs: Any, exclude: frozenset[tuple[str, str]] = frozenset()) -> list[Route]:
        hosts = str_list(vs.spec.get("hosts"))
        if not hosts:
            return []  # a delegate: its routes are merged into the VirtualServices naming it
        walk(vs, self.notes, host_scope(hosts))
        routes: list[Route] = []
        entries = self.entries(vs, hosts) if spec_list(vs.spec.get("http")) else []
        results: dict[tuple[str, bool, tuple[str, ...], bool, tuple[int, ...]], tuple[list[Place], Ordered]] = {}
        for place in self.places(vs, hosts, exclude) if entries else []:
            chosen = [e for e in entries if applies(e.match, place)]
            key = (place.namespace, place.client_auth is not None, place.hosts, place.grpc,
                   tuple(n for n, e in enumerate(entries) if applies(e.match, place)))
            if key not in results:
                items = [Item(e.match.match, (e.action, e.position), e.position) for e in chosen]
                results[key] = ([], to_precedence(items))
            results[key][0].append(place)
        by_position = {e.position: e for e in entries}
        for n, (places, ordered) in enumerate(results.values()):
            name = vs.name if n == 0 else f"{vs.name}-{n + 1}"
            if places[0].gateway == "mesh":
                svc = next(p for p in places[0].parents if isinstance(p, ServiceParent))
                name = f"{vs.name}-{svc.name}" if (svc.name != vs.name or places[0].namespace != vs.namespace) \
                    else vs.name
                if places[0].port is not None and len(results) > 1:  # one route per Service port
                    name += "-" + "-".join(str(p.port) for p in places)
            route = self.route(vs, name, places, ordered, by_position, hosts, (vs,))
            if route is not None:
                routes.append(route)
        routes += self.l4.l4_routes(vs, hosts)
        return routes

    def route(self, vs: Any, name: str, places: list[Place], ordered: Ordered, by_position: dict[int, _Entry],
              hosts: list[str], sources: Sequence[Any]) -> Route | None:
        """The HTTPRoute of ``places`` (one rule list), or None when no rule is left."""
        self.order_notes(vs, hosts, ordered, by_position)
        rules = self.rules(vs, ordered, by_position, hosts)
        if not rules:
            return None
        auth = places[0].client_auth
        if auth is not None:  # mutual TLS on the server: every request shows a client certificate
            rules = [replace(r, intents=r.intents + (auth,)) for r in rules]
        parents = tuple(sorted({p for place in places for p in place.parents}, key=repr))
        gw = next((p.gateway for p in parents if isinstance(p, ListenerParent)), None)
        route = Route("HTTPRoute", places[0].namespace, name, gw, places[0].hosts, frozenset(), tuple(rules),
                      tuple(Provenance("VirtualService", s.namespace, s.name, "", s.origin) for s in sources), parents)
        why = self.grpc_reason(places, rules)
        out = self.grpc_route(vs, route, hosts, why) if why else route
        if out is None or out.kind == "HTTPRoute":
            held = [*ordered.items, *(dropped for dropped, _ in ordered.unreachable)]
            self.prefix_notes([by_position[i.origin] for i in held])
        return out

    def prefix_notes(self, entries: Sequence[_Entry]) -> None:
        """Where an HTTPRoute's PathPrefix narrows Istio's character prefix (a GRPCRoute keeps it)."""
        for entry in entries:
            for vs, why, fld, where in entry.prefix_notes:
                self.note(vs, "PREFIX-CHARACTERS", Level.INFO, why, fld, where, Fidelity.APPROXIMATE,
                          "Gateway PathPrefix", ("status", "backend", "weights", "path", "redirect", "headers",
                                                 "host", "cors"))

    # --- gRPC --------------------------------------------------------------------------------

    def grpc_reason(self, places: list[Place], rules: list[Rule]) -> str:
        """Why the route of ``places`` is a GRPCRoute ("" when it is not one)."""
        if all(p.grpc for p in places):
            return "the Gateway server's protocol is GRPC" if places[0].gateway != "mesh" else \
                "the Service port speaks gRPC (appProtocol grpc or a grpc port name)"
        backends = [b for r in rules for b in r.backends]
        if places[0].gateway == "mesh" or not backends:
            return ""
        for b in backends:
            ports = grpc_ports(self.ctx.resources, ServiceHost(b.namespace or "", b.name))
            if ports is None or b.port not in ports[0]:
                return ""
        return "every destination is a gRPC Service port (appProtocol grpc or a grpc port name)"

    def grpc_route(self, vs: Any, route: Route, hosts: list[str], why: str) -> Route | None:
        def problem(code: str, where: str, message: str, rx: str) -> None:
            order = code == "GRPC-ORDER"
            where_rx = tuple(sorted({("*", "~" + rx)} | {("" if h == "*" else h.lower(), "~" + rx) for h in hosts})) \
                if rx else host_scope(hosts)
            self.note(vs, code, Level.WARNING, message, where, where_rx, Fidelity.APPROXIMATE if order
                      else Fidelity.UNSUPPORTED, "GRPCRoute precedence" if order else "left out of the GRPCRoute")

        out = as_grpc(route, problem)
        if out is not None:
            self.note(vs, "GRPC-ONLY", Level.WARNING, f"{why}: {GRPC_ONLY}", "spec.http", host_scope(hosts),
                      Fidelity.APPROXIMATE, "GRPCRoute", ("status", "backend", "weights", "path", "redirect",
                                                          "headers", "host", "cors"))
        return out

    # --- VirtualServices merged on one host ------------------------------------------------------

    def shared_hosts(self) -> dict[tuple[str, str], list[Any]]:
        """(gateway, host) -> the VirtualServices with HTTP routes bound there for that host, in
        Istio's order, where there are several: Istio merges them into one virtual host."""
        owners: dict[tuple[str, str], list[Any]] = {}
        for vs in self.index.virtual_services:
            hosts = str_list(vs.spec.get("hosts"))
            if not hosts or not spec_list(vs.spec.get("http")):
                continue
            for g in str_list(vs.spec.get("gateways")):
                if g == "mesh":
                    continue
                ref = g if "/" in g else f"{vs.namespace}/{g}"
                for h in {h.lower() for h in hosts}:
                    owners.setdefault((ref, h), []).append(vs)
        return {k: v for k, v in sorted(owners.items()) if len(v) > 1}

    def merged(self, gateway: str, host: str, vss: list[Any]) -> Route | None:
        """One HTTPRoute for ``host`` on ``gateway`` from several VirtualServices, their routes
        in Istio's order (each cut after its first catch-all, the catch-alls moved last)."""
        first: list[_Entry] = []
        rest: list[_Entry] = []
        places: list[Place] = []
        by_position: dict[int, _Entry] = {}
        for n, vs in enumerate(vss):
            mine = [p for p in self.places(vs, [host], only=gateway)]
            if not mine:
                continue
            places += mine
            entries = [replace(e, position=n * 100_000 + e.position) for e in self.entries(vs, [host])]
            cut: list[_Entry] = []
            catch_all = None
            for e in entries:
                if catch_all is not None and e.position != catch_all:
                    break
                cut.append(e)
                if is_catch_all(e.match):
                    catch_all = e.position
            for e in cut:
                by_position[e.position] = e
                (rest if e.position == catch_all else first).append(e)
        if not places:
            return None
        merged_places = [p for p in places if applies_any(p)]
        items = [Item(e.match.match, (e.action, e.position), e.position) for e in first + rest
                 if any(applies(e.match, p) for p in merged_places)]
        names = ", ".join(vs.ref for vs in vss)
        for vs in vss:
            self.note(vs, "VIRTUALSERVICES-MERGED", Level.INFO, f"VirtualServices {names} all serve {host} on "
                      f"Gateway {gateway}: Istio tries their routes one after the other (in that order, catch-all "
                      "routes last)", "spec.hosts", (), Fidelity.EXACT, f"one HTTPRoute for {host}", ())
        lead = vss[0]
        place = Place(gateway, None, {p for pl in merged_places for p in pl.parents}, lead.namespace,
                       (host,) if host != "*" else (), merged_places[0].client_auth,
                       all(p.grpc for p in merged_places), labels=merged_places[0].labels)
        return self.route(lead, f"{lead.name}-{host_slug(host)}", [place], to_precedence(items), by_position,
                          [host], vss)

    def rules(self, vs: Any, ordered: Ordered, by_position: dict[int, _Entry], hosts: list[str]) -> list[Rule]:
        """Consecutive items with one action share a rule (not a prefix rewrite: one match each)."""
        rules: list[Rule] = []
        group: list[Item] = []

        def flush() -> None:
            if not group:
                return
            entry = by_position[group[0].origin]
            rule, code, problem = rule_for([g.match for g in group], entry.action, (entry.provenance,))
            if code == "REWRITE-REGEX":  # the requests the pattern rewrites, within this rule's
                assert entry.action.rewrite_regex is not None
                rewritten = tuple(sorted({(h, p) for h, p in scope(hosts, group[0].match) if h != "*"}
                                     | {("*", "~" + entry.action.rewrite_regex[0])}))
                self.note(vs, code, Level.WARNING, problem, entry.provenance.field + ".rewrite.uriRegexRewrite",
                          rewritten, Fidelity.UNSUPPORTED, "the path is sent unchanged", ("path",))
            elif problem:
                self.note(vs, code, Level.INFO, problem, entry.provenance.field + ".rewrite",
                          scope(hosts, group[0].match), Fidelity.APPROXIMATE, "URLRewrite ReplacePrefixMatch",
                          ("path",))
            rules.append(rule)
            group.clear()

        for item in ordered.items:
            entry = by_position[item.origin]
            kind = item.match.path.type if item.match.path else "PathPrefix"
            same = group and group[-1].action == item.action and entry.action.rewrite_uri is None and \
                entry.action.rewrite_regex is None and (
                (group[-1].match.path.type if group[-1].match.path else "PathPrefix") == kind)
            if not same:
                flush()
            group.append(item)
        flush()
        return rules

    def order_notes(self, vs: Any, hosts: list[str], ordered: Ordered, by_position: dict[int, _Entry]) -> None:
        for item, cover in ordered.unreachable:
            self.note(vs, "ROUTE-UNREACHABLE", Level.INFO, f"{_where(item, by_position)} is never reached in Istio: "
                      f"{_where(cover, by_position)} before it matches every request it matches",
                      by_position[item.origin].provenance.field, (), None, "not converted", ())
        if any(i.added for i in ordered.items):
            split = sorted({i.origin for i in ordered.items if i.added})
            self.note(vs, "ORDER-SPLIT", Level.INFO, "Istio tries routes in order; Gateway API prefers more specific "
                      "matches: rules for the requests " + ", ".join(
                          f"{by_position[o].provenance.field}" for o in split) + " share with later, more specific "
                      "matches were added before those, so the first route still answers them",
                      "spec.http", (), Fidelity.EXACT, "intersections added", ())
        for early, late, why in ordered.conflicts:
            self.note(vs, "ORDER-NOT-EXPRESSIBLE", Level.WARNING,
                      f"{_where(early, by_position)} comes first in Istio, but the Gateway prefers "
                      f"{_where(late, by_position)} for requests both match, and their intersection is no Gateway API "
                      f"match ({why})", by_position[late.origin].provenance.field,
                      conflict_scope(hosts, early.match, late.match), Fidelity.APPROXIMATE,
                      "Gateway API precedence for those requests")

def _where(item: Item, by_position: dict[int, _Entry]) -> str:
    m = item.match
    parts = [f"{m.path.type} {m.path.value}" if m.path else "any path"]
    parts += [f"header {h.name}" for h in m.headers] + [f"query {q.name}" for q in m.query]
    if m.method:
        parts.append(m.method)
    prov = by_position[item.origin].provenance
    return f"{prov.namespace}/{prov.name} {prov.field} ({', '.join(parts)})"


def convert_virtual_services(index: Index, servers: Servers, ctx: ProviderContext) -> list[Route]:
    conv = _Converter(index, servers, ctx)
    routes: list[Route] = []
    conv.mesh_notes()
    shared = conv.shared_hosts()
    for (gateway, host), vss in shared.items():
        route = conv.merged(gateway, host, vss)
        if route is not None:
            routes.append(route)
    for vs in index.virtual_services:
        exclude = frozenset(k for k, vss in shared.items() if vs in vss)
        routes += conv.convert(vs, exclude)
    return routes

