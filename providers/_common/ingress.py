"""Provider-neutral Ingress -> IR conversion: hosts, paths, pathTypes, backends, TLS and
default backends, with hooks where a controller behaves differently.

:class:`IngressTranslator` turns a set of Ingresses (already assigned to one provider)
into routes: one route per (Ingress, host), one rule per path. Providers subclass it and
override the hooks:

* :meth:`ordered` -- who wins when two Ingresses claim the same host + path + type;
* :meth:`path_matches` -- what a path (and its pathType) matches;
* :meth:`path_rules` -- the rules one path becomes (filters, extra rules, extensions);
* :meth:`route_sections` -- which listeners a host's routes attach to;
* :meth:`host_routes` -- the routes one (Ingress, host) becomes (default: one route);
* :meth:`extra_routes` -- routes beyond the per-path ones (redirects, ...).

The base behaviour follows the Ingress specification; every place where the Gateway API
result can differ gets a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    GatewayRef,
    PathMatch,
    Provenance,
    Route,
    RouteMatch,
    Rule,
    Section,
)
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope
from ing2gw.provider import ProviderContext, ingress_scope
from ing2gw.resources import Ingress, IngressBackend, IngressPath, IngressRule

__all__ = ["HostRoutes", "IngressTranslator", "PathContext"]

# Characters Gateway API forbids in Exact/PathPrefix values (CEL rules), or that the Ingress
# API itself would reject.
_BAD_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F", "#")


@dataclass(frozen=True, slots=True)
class PathContext:
    """One Ingress path being converted, with its place in the source."""

    ingress: Ingress
    rule: IngressRule
    path: IngressPath
    host: str
    provenance: Provenance


@dataclass(slots=True)
class HostRoutes:
    """The rules collected for one (Ingress, host), before they become a Route."""

    ingress: Ingress
    host: str
    gateway: GatewayRef
    rules: list[Rule] = field(default_factory=list)


class IngressTranslator:
    """Converts Ingresses the way the Ingress specification describes them."""

    code = "INGRESS"  # note-code prefix
    wildcard_any_depth = False  # the controller's "*.example.com" matches deeper subdomains too

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.notes = ctx.notes
        self.resources = ctx.resources

    # --- hooks --------------------------------------------------------------------------

    def ordered(self, ingresses: Sequence[Ingress]) -> list[Ingress]:
        """Precedence order: the first Ingress wins a contested host + path.

        Oldest first (``creationTimestamp``), then namespace/name -- the Gateway API's own
        tie-break, which the emitted routes will follow.
        """
        return sorted(ingresses, key=lambda i: (i.created or "~", i.namespace, i.name))

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        """The matches one Ingress path becomes (none = skip the path, with a note)."""
        value = pc.path.path or "/"
        ptype = pc.path.path_type
        if ptype == "Exact":
            return [RouteMatch(path=PathMatch("Exact", value))]
        if ptype == "ImplementationSpecific":
            self.note(pc, "PATHTYPE-IMPLEMENTATION-SPECIFIC", Level.INFO,
                      "pathType ImplementationSpecific has controller-defined meaning",
                      fidelity=Fidelity.APPROXIMATE, instead="treated as Prefix (PathPrefix)",
                      fld=pc.path.field + ".pathType", aspects=("status", "backend"))
        return [RouteMatch(path=PathMatch("PathPrefix", value))]

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        """The rules for one path; providers add filters and extensions here."""
        return [Rule(matches=tuple(matches), backends=backends, provenance=(pc.provenance,))]

    def route_sections(self, ingress: Ingress, host: str, has_tls: bool) -> frozenset[Section]:
        return frozenset({"http", "https"}) if has_tls else frozenset({"http"})

    def route_kind(self, ingress: Ingress) -> Literal["HTTPRoute", "GRPCRoute"]:
        return "HTTPRoute"

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        """The routes one (Ingress, host) becomes; ``has_tls``: the host has an HTTPS listener.

        By default one route on the listeners :meth:`route_sections` names; providers split
        it (e.g. an HTTPS-only route plus an HTTP redirect route).
        """
        return [self.make_route(hr, self.route_sections(hr.ingress, hr.host, has_tls))]

    def extra_routes(self, hosts: Sequence[HostRoutes], tls_hosts: set[tuple[GatewayRef, str]]) -> list[Route]:
        return []

    # --- helpers ------------------------------------------------------------------------

    def note(
        self,
        pc: PathContext | Ingress,
        code: str,
        level: Level,
        message: str,
        *,
        fidelity: Fidelity | None = None,
        instead: str = "",
        fld: str = "",
        aspects: Iterable[str] = (),
        scope: Scope | None = None,
    ) -> None:
        """Note a loss of fidelity. ``aspects`` (:data:`~ing2gw.notes.ASPECTS`) are what the
        loss changes in a request's outcome -- none: it explains no difference ``verify``
        finds; the scope defaults to the path ``pc`` (every path of the Ingress)."""
        ingress = pc.ingress if isinstance(pc, PathContext) else pc
        if scope is None:
            scope = ((pc.host, pc.path.path or "/"),) if isinstance(pc, PathContext) else ingress_scope(ingress)
        self.notes.add(Note(
            code=f"{self.code}-{code}",
            level=level,
            message=message,
            subject=ingress.subject,
            field=fld,
            fidelity=fidelity,
            instead=instead,
            origin=ingress.origin,
            aspects=frozenset(aspects),
            scope=scope,
        ))

    def resolve_backend(self, ingress: Ingress, backend: IngressBackend, fld: str) -> BackendRef | None:
        """An Ingress backend as a Service backendRef (named ports resolved through the Service)."""
        if backend.resource is not None:
            group, kind, name = backend.resource
            self.note(ingress, "BACKEND-RESOURCE", Level.WARNING,
                      f"resource backend {kind} {name} (group {group or 'core'}) has no portable Gateway API form",
                      fidelity=Fidelity.UNSUPPORTED, instead="backend dropped; requests get 500", fld=fld,
                      aspects=("status", "backend"))
            return None
        if not backend.service:
            self.note(ingress, "BACKEND-INVALID", Level.ERROR, "backend names no service",
                      instead="backend dropped; requests get 500", fld=fld, aspects=("status", "backend"))
            return None
        svc = self.resources.services.get((ingress.namespace, backend.service))
        port = backend.port_number
        if port is None:
            if svc is None:
                svc_ref = f"{ingress.namespace}/{backend.service}"
                self.note(ingress, "BACKEND-NAMED-PORT-UNRESOLVED", Level.ERROR,
                          f"port name {backend.port_name!r} of Service {svc_ref} cannot be resolved: the "
                          f"Service is not in the input ({ingress.origin})",
                          instead=f"backend dropped, requests get 500; include the Service: `kubectl get service -n "
                                  f"{ingress.namespace} {backend.service} -o yaml > service.yaml` and add "
                                  "`-f service.yaml`, or pass --lookup-services to read it from the cluster",
                          fld=fld, aspects=("status", "backend"))
                return None
            for sp in svc.ports:
                if sp.name == backend.port_name:
                    port = sp.port
                    break
            else:
                self.note(ingress, "BACKEND-NAMED-PORT-UNKNOWN", Level.ERROR,
                          f"Service {ingress.namespace}/{backend.service} has no port named {backend.port_name!r}",
                          instead="backend dropped; requests get 500", fld=fld, aspects=("status", "backend"))
                return None
        elif svc is None and self.resources.has_services:
            self.note(ingress, "BACKEND-SERVICE-MISSING", Level.WARNING,
                      f"Service {ingress.namespace}/{backend.service} is not in the input",
                      instead="backendRef kept as written", fld=fld, aspects=("status", "backend"))
        elif svc is not None and svc.ports and all(sp.port != port for sp in svc.ports):
            self.note(ingress, "BACKEND-PORT-UNKNOWN", Level.WARNING,
                      f"Service {ingress.namespace}/{backend.service} has no port {port}",
                      instead="backendRef kept as written", fld=fld, aspects=("status", "backend"))
        return BackendRef(name=backend.service, namespace=ingress.namespace, port=port)

    def valid_path(self, pc: PathContext) -> bool:
        value = pc.path.path
        if pc.path.path_type in ("Exact", "Prefix") and value and not value.startswith("/"):
            self.note(pc, "PATH-INVALID", Level.ERROR, f"path {value!r} does not start with '/'",
                      instead="path skipped", fld=pc.path.field + ".path",
                      aspects=("status", "backend", "path", "redirect"))
            return False
        if pc.path.path_type not in ("Exact", "Prefix", "ImplementationSpecific"):
            self.note(pc, "PATHTYPE-INVALID", Level.ERROR, f"unknown pathType {pc.path.path_type!r}",
                      instead="path skipped", fld=pc.path.field + ".pathType",
                      aspects=("status", "backend", "path", "redirect"))
            return False
        return True

    def path_value_ok(self, pc: PathContext, matches: Iterable[RouteMatch]) -> bool:
        """Exact/PathPrefix values must pass the Gateway API's CEL path rules."""
        for m in matches:
            if m.path is None or m.path.type == "RegularExpression":
                continue
            v = m.path.value
            bad = next((s for s in _BAD_PATH_SEQUENCES if s in v), None)
            if bad is None and v.endswith(("/.", "/..")):
                bad = v[v.rfind("/"):]
            if bad is not None:
                self.note(pc, "PATH-NOT-EXPRESSIBLE", Level.ERROR,
                          f"path {v!r} contains {bad!r}, which Gateway API path matches do not allow",
                          fidelity=Fidelity.UNSUPPORTED, instead="path skipped", fld=pc.path.field + ".path",
                          aspects=("status", "backend", "path", "redirect"))
                return False
        return True

    # --- the conversion -----------------------------------------------------------------

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        ordered = self.ordered(ingresses)
        certificates = self._certificates(ordered)
        tls_hosts = {(c.gateway, c.hostname) for c in certificates}
        hosts: dict[tuple[str, str], HostRoutes] = {}  # (ingress ref, host) -> rules
        claimed: dict[tuple[GatewayRef, str, str, str], Ingress] = {}
        catch_all: Ingress | None = None

        for ing in ordered:
            gw = self.ctx.gateway_for(ing)
            if ing.default_backend is not None and not ing.rules:
                if catch_all is None:
                    catch_all = ing
                else:
                    self.note(ing, "DEFAULT-BACKEND-CONFLICT", Level.WARNING,
                              f"another Ingress ({catch_all.ref}) already provides the catch-all default backend",
                              instead="this default backend is not converted", fld="spec.defaultBackend",
                              aspects=("status", "backend"))
            for rule in ing.rules:
                hr = hosts.setdefault((ing.ref, rule.host), HostRoutes(ing, rule.host, gw))
                if rule.host.startswith("*.") and not self.wildcard_any_depth:
                    self.note(ing, "WILDCARD-HOST-DEPTH", Level.INFO,
                              f"Ingress host {rule.host} matches one DNS label; the Gateway API hostname "
                              "also matches deeper subdomains",
                              fidelity=Fidelity.APPROXIMATE, instead="hostname kept as written",
                              fld=rule.field + ".host", aspects=("status", "backend", "path", "redirect", "host"),
                          scope=((rule.host, ""),))
                for path in rule.paths:
                    prov = Provenance("Ingress", ing.namespace, ing.name, path.field, ing.origin)
                    pc = PathContext(ing, rule, path, rule.host, prov)
                    if not self.valid_path(pc):
                        continue
                    matches = self.path_matches(pc)
                    if not matches or not self.path_value_ok(pc, matches):
                        continue
                    key = (gw, rule.host, path.path_type, path.path or "/")
                    winner = claimed.get(key)
                    if winner is not None:
                        if winner is not ing:
                            self.note(pc, "PATH-CONFLICT", Level.WARNING,
                                      f"host {rule.host or '*'} path {path.path or '/'} ({path.path_type}) is "
                                      f"already served by Ingress {winner.ref}, which the controller prefers",
                                      instead="this path is not converted", fld=path.field,
                                      aspects=("status", "backend"))
                        else:
                            self.note(pc, "PATH-DUPLICATE", Level.WARNING,
                                      f"path {path.path or '/'} ({path.path_type}) appears twice for host "
                                      f"{rule.host or '*'}", instead="the first one is used", fld=path.field,
                                      aspects=("status", "backend"))
                        continue
                    claimed[key] = ing
                    backend = self.resolve_backend(ing, path.backend, path.field + ".backend")
                    hr.rules.extend(self.path_rules(pc, matches, (backend,) if backend else ()))
            if ing.default_backend is not None and ing.rules:
                self._host_default_backends(ing, gw, hosts, claimed)

        routes: list[Route] = []
        for (_, host), hr in sorted(hosts.items()):
            if not hr.rules:
                continue
            has_tls = (hr.gateway, host) in tls_hosts or self._covered(hr.gateway, host, tls_hosts)
            routes.extend(self.host_routes(hr, has_tls))
        if catch_all is not None and catch_all.default_backend is not None:
            backend = self.resolve_backend(catch_all, catch_all.default_backend, "spec.defaultBackend")
            prov = Provenance("Ingress", catch_all.namespace, catch_all.name, "spec.defaultBackend", catch_all.origin)
            routes.append(Route(
                kind="HTTPRoute", namespace=catch_all.namespace, name=f"{catch_all.name}-default-backend",
                gateway=self.ctx.gateway_for(catch_all), hostnames=(), sections=frozenset({"http"}),
                rules=(Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                            backends=(backend,) if backend else (), provenance=(prov,)),),
                sources=(prov,),
            ))
            self.note(catch_all, "DEFAULT-BACKEND-CATCH-ALL", Level.INFO,
                      "default backend becomes a route without hostnames on the HTTP listener: it serves every "
                      "plain-HTTP request no other rule matches, unmatched paths of hosts other Ingresses name "
                      "included (ingress-nginx answers those from the host's own implicit / location)",
                      fld="spec.defaultBackend",
                      aspects=("status", "backend"))
        routes.extend(self.extra_routes(list(hosts.values()), tls_hosts))
        return IR(routes=tuple(routes), certificates=tuple(certificates))

    @staticmethod
    def _covered(gw: GatewayRef, host: str, tls_hosts: set[tuple[GatewayRef, str]]) -> bool:
        if not host or host.startswith("*."):
            return False
        parent = "*." + host.split(".", 1)[1] if "." in host else ""
        return (gw, parent) in tls_hosts

    def make_route(self, hr: HostRoutes, sections: frozenset[Section]) -> Route:
        ing = hr.ingress
        name = f"{ing.name}-{host_slug(hr.host)}" if hr.host else ing.name
        return Route(
            kind=self.route_kind(ing),
            namespace=ing.namespace,
            name=name,
            gateway=hr.gateway,
            hostnames=(hr.host,) if hr.host else (),
            sections=sections,
            rules=tuple(hr.rules),
            sources=(Provenance("Ingress", ing.namespace, ing.name, "", ing.origin),),
        )

    def _host_default_backends(
        self,
        ing: Ingress,
        gw: GatewayRef,
        hosts: dict[tuple[str, str], HostRoutes],
        claimed: dict[tuple[GatewayRef, str, str, str], Ingress],
    ) -> None:
        """``spec.defaultBackend`` next to rules: it answers the Ingress's hosts where no path matches."""
        assert ing.default_backend is not None
        backend = self.resolve_backend(ing, ing.default_backend, "spec.defaultBackend")
        prov = Provenance("Ingress", ing.namespace, ing.name, "spec.defaultBackend", ing.origin)
        for rule in ing.rules:
            key = (gw, rule.host, "Prefix", "/")
            if key in claimed:
                continue
            claimed[key] = ing
            hr = hosts[(ing.ref, rule.host)]
            hr.rules.append(Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                                 backends=(backend,) if backend else (), provenance=(prov,)))
        self.note(ing, "DEFAULT-BACKEND-PER-HOST", Level.INFO,
                  "default backend becomes a PathPrefix / rule on each of the Ingress's hosts",
                  fld="spec.defaultBackend", aspects=("status", "backend"))

    def _certificates(self, ordered: Sequence[Ingress]) -> list[Certificate]:
        """One certificate per (Gateway, host): the oldest Ingress listing the host wins."""
        chosen: dict[tuple[GatewayRef, str], Certificate] = {}
        for ing in ordered:
            gw = self.ctx.gateway_for(ing)
            for i, tls in enumerate(ing.tls):
                fld = f"spec.tls[{i}]"
                if not tls.secret_name:
                    self.note(ing, "TLS-NO-SECRET", Level.WARNING,
                              f"TLS entry for {', '.join(tls.hosts) or 'all hosts'} names no secret "
                              "(the controller's default certificate would be used)",
                              fidelity=Fidelity.UNSUPPORTED, instead="no HTTPS listener for these hosts", fld=fld,
                              aspects=("status", "backend", "redirect", "tls"))
                    continue
                hosts = tls.hosts or tuple(sorted({r.host for r in ing.rules if r.host}))
                if not hosts:
                    self.note(ing, "TLS-NO-HOSTS", Level.WARNING,
                              "TLS entry lists no hosts and the Ingress has no host rules",
                              fidelity=Fidelity.UNSUPPORTED, instead="no HTTPS listener", fld=fld,
                              aspects=("status", "backend", "redirect", "tls"))
                    continue
                for host in hosts:
                    prov = Provenance("Ingress", ing.namespace, ing.name, fld, ing.origin)
                    cert = Certificate(gw, host, ing.namespace, tls.secret_name, prov)
                    prev = chosen.get((gw, host))
                    if prev is None:
                        chosen[(gw, host)] = cert
                    elif (prev.secret_namespace, prev.secret_name) != (cert.secret_namespace, cert.secret_name):
                        self.note(ing, "TLS-CONFLICT", Level.WARNING,
                                  f"host {host} already has certificate {prev.secret_namespace}/{prev.secret_name} "
                                  f"from {prev.source.subject}",
                                  instead=f"secret {tls.secret_name} not used for {host}", fld=fld,
                                  aspects=("status", "backend", "redirect", "tls"))
        return [chosen[k] for k in sorted(chosen)]

