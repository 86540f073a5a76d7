"""Traefik IngressRoutes (CRD) -> IR routes.

Each ``spec.routes[]`` match is parsed (:mod:`.rules`) into disjunctive normal form; each
alternative becomes one Gateway match, grouped into one HTTPRoute per host set (``Host`` is a
route's hostname, not a match). ``services`` become weighted backendRefs (a weighted
TraefikService is flattened, a mirroring one becomes RequestMirror filters), middlewares become
filters and intents (:mod:`.middlewares`), ``entryPoints`` and ``tls`` choose the listeners (a TLS
route serves only TLS; ``tls.secretName`` gives the hostnames' certificate). What has no
Gateway API form -- negation, ``ClientIP``, ``HostRegexp``, ``priority``, rule-length ordering,
certificate resolvers, TLSOptions -- is noted on the route that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import IR, BackendRef, Certificate, Filter, GatewayRef, Provenance, RequestMirror, Route, Rule
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Notes, Scope
from ing2gw.provider import ProviderContext
from ing2gw.resources import ResourceSet

from .crds import Crds
from .middlewares import Site, convert
from .rules import RuleError, parse, priority_of, to_gateway
from .translator import entry_point_sections, prefix_note

__all__ = ["convert_ingress_routes"]


# A request another rule (or none) serves differs in its status, its backend and its split.
ROUTING = ("status", "backend", "weights")


def _note(notes: Notes, obj: KubeObject, code: str, level: Level, message: str, fld: str, scope: Scope,
          fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "not converted",
          aspects: Sequence[str] = ROUTING) -> None:
    notes.add(Note(f"TRAEFIK-{code}", level, message, subject=obj.subject, field=fld, fidelity=fidelity,
                   instead=instead, origin=obj.origin, aspects=frozenset(aspects), scope=scope))


def _backends(obj: KubeObject, crds: Crds, rs: ResourceSet, services: Sequence[Any], namespace: str, fld: str,
              notes: Notes, scope: Scope, depth: int = 0) -> tuple[list[BackendRef], list[Filter]]:
    refs: list[BackendRef] = []
    mirrors: list[Filter] = []
    for n, s in enumerate(services):
        if not isinstance(s, Mapping) or not s.get("name"):
            continue
        ns = str(s.get("namespace") or namespace)
        weight = int(s["weight"]) if isinstance(s.get("weight"), int) else 1
        if s.get("kind") == "TraefikService":
            ts = crds.get("TraefikService", ns, str(s["name"]))
            spec = ts.spec if ts is not None else {}
            if ts is None or depth > 4:
                _note(notes, obj, "TRAEFIKSERVICE-MISSING", Level.WARNING,
                      f"TraefikService {ns}/{s['name']} is not in the input", f"{fld}[{n}]", scope)
                continue
            if isinstance(spec.get("weighted"), Mapping):
                inner, _ = _backends(obj, crds, rs, spec["weighted"].get("services") or [], ns, fld, notes, scope,
                                     depth + 1)
                refs += inner
            elif isinstance(spec.get("mirroring"), Mapping):
                m = spec["mirroring"]
                main, _ = _backends(obj, crds, rs, [m], ns, fld, notes, scope, depth + 1)
                refs += main
                for mirror in m.get("mirrors") or []:
                    target, _ = _backends(obj, crds, rs, [mirror], ns, fld, notes, scope, depth + 1)
                    pct = mirror.get("percent") if isinstance(mirror, Mapping) else None
                    mirrors += [Filter("RequestMirror", RequestMirror(t, pct if isinstance(pct, int) else None))
                                for t in target]
            continue
        refs.append(BackendRef(name=str(s["name"]), namespace=ns, port=_port(rs, ns, str(s["name"]), s.get("port")),
                               weight=weight))
    return refs, mirrors


def _port(rs: ResourceSet, namespace: str, name: str, port: Any) -> int | None:
    """A service port number: as written, by name through the Service, or its only port."""
    if isinstance(port, int):
        return port
    svc = rs.services.get((namespace, name))
    if svc is None:
        return int(port) if isinstance(port, str) and port.isdigit() else None
    if port is None and len(svc.ports) == 1:
        return svc.ports[0].port
    return next((p.port for p in svc.ports if p.name == port), None)


def _sections(obj: KubeObject, spec: Mapping[str, Any], notes: Notes) -> set[str]:
    eps = [str(e) for e in spec.get("entryPoints") or []]
    sections, unknown = entry_point_sections(eps) if eps else ({"http", "https"}, [])
    if unknown:
        _note(notes, obj, "ENTRYPOINT-UNKNOWN", Level.WARNING,
              f"entry points {', '.join(unknown)} are not web or websecure: their ports come from Traefik's "
              "static configuration", "spec.entryPoints", (("*", ""),), Fidelity.APPROXIMATE,
              "attached to the HTTP listener", ("status", "backend", "tls"))
        sections.add("http")
    if isinstance(spec.get("tls"), Mapping):
        sections = {"https"}  # a TLS router serves only TLS connections
    return set(sections)


def _one(obj: KubeObject, crds: Crds, ctx: ProviderContext, gw: GatewayRef) -> tuple[list[Route], list[Certificate]]:
    spec, notes = obj.spec, ctx.notes
    sections = _sections(obj, spec, notes)
    tls = spec.get("tls") if isinstance(spec.get("tls"), Mapping) else None
    groups: dict[tuple[str, ...], list[Rule]] = {}
    for n, route in enumerate(spec.get("routes") or []):
        fld = f"spec.routes[{n}]"
        if not isinstance(route, Mapping) or not isinstance(route.get("match"), str):
            _note(notes, obj, "ROUTE-INVALID", Level.ERROR, "route has no match rule", fld, (("*", ""),))
            continue
        match = route["match"]
        try:
            conjunctions = to_gateway(parse(match))
        except RuleError as exc:
            _note(notes, obj, "RULE-INVALID", Level.ERROR, f"Traefik refuses rule {match!r}: {exc}", fld + ".match",
                  (("*", ""),), None, "route not converted (Traefik does not serve it either)")
            continue
        prov = Provenance("IngressRoute", obj.namespace, obj.name, fld, obj.origin)
        hosts_scope: Scope = tuple(sorted({(h, "") for c in conjunctions for h in c.hosts})) or (("*", ""),)
        if isinstance(route.get("priority"), int) and route["priority"]:
            _note(notes, obj, "PRIORITY", Level.WARNING, f"priority {route['priority']} orders this route before or "
                  "after others; Gateway API precedence is fixed", fld + ".priority", hosts_scope)
        backends, mirrors = _backends(obj, crds, ctx.resources, route.get("services") or [], obj.namespace,
                                      fld + ".services", notes, hosts_scope)
        refs = [f"{m.get('namespace') or obj.namespace}-{m.get('name')}@kubernetescrd"
                for m in route.get("middlewares") or [] if isinstance(m, Mapping)]
        for conj in conjunctions:
            if conj.match is None:
                _note(notes, obj, "RULE-NOT-EXPRESSIBLE", Level.WARNING,
                      f"an alternative of {match!r}: {conj.problem}", fld + ".match", hosts_scope,
                      instead="this alternative is not converted (requests it matched are not routed)")
                continue
            path = conj.match.path
            scope: Scope = tuple((h, path.value if path else "") for h in conj.hosts) or (("", path.value if path
                                                                                           else ""),)
            if path is not None and path.type == "PathPrefix" and prefix_note(path.value):
                _note(notes, obj, "PREFIX-CHARACTERS", Level.INFO, prefix_note(path.value) or "", fld + ".match",
                      scope, Fidelity.APPROXIMATE, "Gateway PathPrefix (narrower)")
            filters: list[Filter] = list(mirrors)
            intents: list[i.Intent] = []
            backends_for: tuple[BackendRef, ...] = tuple(backends)
            if refs:
                done = convert(refs, obj.namespace, crds, path, Site(obj.subject, obj.origin, fld + ".middlewares",
                                                                     scope, prov), notes)
                filters += done.filters
                intents += done.intents
                if done.scheme_redirect is not None:
                    _note(notes, obj, "REDIRECT-SCHEME", Level.WARNING, "redirectScheme on an IngressRoute: the "
                          "redirect is emitted as the route's only behaviour on the HTTP listener",
                          fld + ".middlewares", scope, Fidelity.APPROXIMATE, "RequestRedirect filter",
                          ("status", "redirect"))
                    filters = [Filter("RequestRedirect", done.scheme_redirect, prov)]
                    backends_for = ()
            groups.setdefault(tuple(sorted(conj.hosts)), []).append(Rule(
                matches=(conj.match,), backends=backends_for, filters=tuple(filters), intents=tuple(intents),
                provenance=(prov,)))
        if len(conjunctions) > 1 or any(c.hosts for c in conjunctions):
            _note(notes, obj, "RULE-ORDER", Level.INFO, "Traefik orders its routers by priority "
                  f"({priority_of(match)}, the rule's length, unless set); the Gateway orders rules by hostname "
                  "and path specificity",
                  fld + ".match", hosts_scope, Fidelity.APPROXIMATE, "Gateway API precedence")
    routes: list[Route] = []
    certs: list[Certificate] = []
    secret = str(tls.get("secretName")) if tls and tls.get("secretName") else None
    if tls is not None and not secret:
        _note(notes, obj, "TLS-NO-SECRET", Level.WARNING, "tls names no secretName (Traefik's default certificate "
              "or a certResolver's)", "spec.tls", (("*", ""),), instead="no HTTPS listener for these hosts",
              aspects=("status", "tls"))
    if tls is not None and (tls.get("options") or tls.get("certResolver")):
        _note(notes, obj, "TLS-OPTIONS", Level.WARNING, "tls.options / tls.certResolver have no portable Gateway API "
              "form", "spec.tls", (("*", ""),), aspects=("tls",))
    for hosts, rules in sorted(groups.items()):
        prov = Provenance("IngressRoute", obj.namespace, obj.name, "", obj.origin)
        if secret:
            certs += [Certificate(gw, h, obj.namespace, secret, prov) for h in hosts]
        name = f"{obj.name}-{host_slug(hosts[0])}" if hosts else obj.name
        route_sections = frozenset(s for s in sections if s == "http" or (s == "https" and secret and hosts))
        routes.append(Route("HTTPRoute", obj.namespace, name, gw, hosts, route_sections,  # type: ignore[arg-type]
                            tuple(rules), (prov,)))
    return routes, certs


def convert_ingress_routes(crds: Crds, ctx: ProviderContext) -> IR:
    gw = ctx.gateway("traefik")
    routes: list[Route] = []
    certs: list[Certificate] = []
    for obj in crds.ingress_routes():
        r, c = _one(obj, crds, ctx, gw)
        routes += r
        certs += c
    return IR(routes=tuple(routes), certificates=tuple(certs))
