"""East-west routing (GAMMA): routes whose parentRef is a Service, and which of them apply to
a request from a client namespace to one Service port.

:mod:`.table` hands every route parentRef with ``group: ""`` and ``kind: Service`` to a
:class:`MeshBuilder`; :mod:`.matcher` asks :func:`select` for requests with ``mesh`` set
and matches the result like a listener's routes. The rules (GEP-1294, the GAMMA pages of
the Gateway API docs):

* a route in the Service's namespace is a *producer* route and applies to requests from
  every namespace; a route in another namespace is a *consumer* route and applies only to
  requests from its own namespace, where it replaces the producer routes;
* the routes of one group (the producer routes, or one namespace's consumer routes) merge
  with the usual precedence; when GRPCRoutes and HTTPRoutes of a group attach to one
  Service port, only the GRPCRoutes apply (the HTTPRoutes are Conflicted);
* ``parentRef.port`` limits a route to that Service port and ``sectionName`` to the port
  of that name; with neither, the route applies to every port of the Service;
* route ``hostnames`` mean nothing in the mesh and are ignored; the destination is the
  Service the client dialled (``name`` in the client's namespace, ``name.ns``,
  ``name.ns.svc``, ``name.ns.svc.cluster.local``), whatever the Host header says;
* backendRefs in other namespaces need no ReferenceGrant;
* no route for the port and the client: the Service itself answers (its endpoints), as
  Kubernetes does without a mesh; routes but no matching rule: 404;
* routes on a headless or ExternalName Service are not attached (a note), and plain
  ``https`` to a Service is TLS the mesh does not open: the Service answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.http import Headers, Request, split_host_port

from .hostnames import HostIndex
from .inventory import Inventory, Obj, int_of, map_of, maps_of, str_of
from .model import Entry, Group, Listener, Match, Rule
from .outcome import Matched, Outcome, RuleInfo, Upstream
from .precedence import MatchKey
from .rules import DropRule, compile_rule

__all__ = ["MeshBuilder", "MeshPlan", "MeshTable", "client_view", "is_service_parent", "select"]

CLUSTER_SUFFIX = ("svc", "cluster", "local")
_PLANS = 100_000  # (Service, port, client namespace) plans kept per table

# A route's compiled rules: each one's index, what it compiles to, its name and its keyed matches
Compiled = tuple[tuple[int, Rule, "str | None", tuple[tuple[MatchKey, Match], ...]], ...]


def is_service_parent(pref: Mapping[str, Any]) -> bool:
    """Is this parentRef a Service (core group, kind Service)?"""
    return pref.get("group") == "" and pref.get("kind") == "Service"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One route attached to one Service (by one parentRef)."""

    kind: str  # HTTPRoute | GRPCRoute
    route: str  # "ns/name"
    namespace: str  # the route's namespace: the Service's (producer) or a consumer's
    port: int | None  # parentRef.port (None: every port)
    section: str | None  # parentRef.sectionName: a Service port name
    rules: Compiled
    notes: tuple[str, ...] = ()  # assumptions made when attaching


@dataclass(slots=True)
class MeshService:
    ref: str  # "ns/name"
    namespace: str
    ports: Mapping[int, str] | None  # port -> name; None: not in the input, assumed to exist
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MeshPlan:
    """What a mesh request meets: the routes to match (one merged group), and the Service
    port as a listener (redirects keep its port)."""

    service: str
    port: int
    listener: Listener
    groups: list[Group]
    notes: tuple[str, ...]
    # the Service itself, when no route applies (then ``groups`` is empty)
    default: RuleInfo | None = None


@dataclass(slots=True)
class MeshTable:
    services: dict[str, MeshService] = field(default_factory=dict)  # "ns/name" -> Service
    assume: bool = True  # a Service the input does not hold is assumed to exist
    plans: dict[tuple[str, int, str], MeshPlan] = field(default_factory=dict)


class MeshBuilder:
    """Collects Service attachments while :mod:`.table` walks the routes."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.table = MeshTable(assume=("", "Service") not in inv.kinds and not inv.strict)
        self._rules: dict[str, Compiled] = {}
        for svc in inv.of_kind("", "Service"):
            self.table.services[svc.ref] = MeshService(svc.ref, svc.namespace, _ports(svc))

    def _compiled(self, o: Obj) -> Compiled:
        key = f"{o.kind} {o.ref}"
        if key not in self._rules:
            spec = map_of(o, o.body.get("spec"), "spec")
            out = []
            for i, rule in enumerate(maps_of(o, spec.get("rules"), "spec.rules")):
                try:
                    r, name, matches = compile_rule(o, i, rule, self.inv, mesh=True)
                except DropRule:
                    continue  # the table notes it
                out.append((i, r, name, tuple(matches)))
            self._rules[key] = tuple(out)
        return self._rules[key]

    def attach(self, o: Obj, k: int, pref: Mapping[str, Any], notes: set[str]) -> None:
        where = f"spec.parentRefs[{k}]"
        ns = str_of(o, pref.get("namespace"), f"{where}.namespace") or o.namespace
        name = str_of(o, pref.get("name"), f"{where}.name") or ""
        port = int_of(o, pref.get("port"), f"{where}.port")
        section = str_of(o, pref.get("sectionName"), f"{where}.sectionName")
        ref = f"{ns}/{name}"
        label = f"{o.kind} {o.ref}: parentRef {k} (Service {ref})"
        anotes: tuple[str, ...] = ()
        svc = self.table.services.get(ref)
        if svc is None:
            if not self.table.assume:
                notes.add(f"{label}: the Service is not in the input; not attached")
                return
            anotes = (f"assumed Service {ref} exists (no Service objects in the input)",)
            self.inv.notes.add("no Service objects in the input: Services that mesh routes name are assumed "
                               "to exist, with every port")
            svc = self.table.services[ref] = MeshService(ref, ns, None)
        elif svc.ports is None:  # assumed by an earlier parentRef: every port
            anotes = (f"assumed Service {ref} exists (no Service objects in the input)",)
        else:
            problem = _unroutable(self.inv.by_key[("", "Service", ns, name)])
            if problem:
                notes.add(f"{label}: {problem}; not attached")
                return
            assert svc.ports is not None
            if port is not None and port not in svc.ports:
                notes.add(f"{label}: the Service has no port {port}; not attached")
                return
            if section is not None and section not in svc.ports.values():
                notes.add(f"{label}: the Service has no port named {section}; not attached")
                return
        spec = map_of(o, o.body.get("spec"), "spec")
        if spec.get("hostnames"):
            notes.add(f"{o.kind} {o.ref}: hostnames mean nothing for a Service parent (GAMMA); ignored there")
        svc.attachments.append(Attachment(o.kind, o.ref, o.namespace, port, section, self._compiled(o), anotes))

    def build(self) -> MeshTable:
        return self.table


def _ports(svc: Obj) -> dict[int, str]:
    spec = map_of(svc, svc.body.get("spec"), "spec")
    out: dict[int, str] = {}
    for i, p in enumerate(maps_of(svc, spec.get("ports"), "spec.ports")):
        number = int_of(svc, p.get("port"), f"spec.ports[{i}].port")
        if number is not None:
            out[number] = str_of(svc, p.get("name"), f"spec.ports[{i}].name") or ""
    return out


def _unroutable(svc: Obj) -> str | None:
    """Why routes cannot attach to this Service (GEP-1294: headless and ExternalName
    Services have no frontend to route at)."""
    spec = map_of(svc, svc.body.get("spec"), "spec")
    if spec.get("type") == "ExternalName":
        return "the Service is of type ExternalName"
    if spec.get("clusterIP") == "None":
        return "the Service is headless (clusterIP: None)"
    return None


def destination(request: Request) -> tuple[str, str] | None:
    """(namespace, name) of the Service a mesh request dials, or None when the name it
    dials is not one of a Service's names."""
    assert request.mesh is not None
    host, _ = split_host_port(request.mesh.service)
    labels = host.split(".")
    if not all(labels):
        return None
    if len(labels) == 1:
        return request.mesh.namespace, labels[0]
    if len(labels) == 2 or (len(labels) == 3 and labels[2] == "svc") or (
            len(labels) == 5 and tuple(labels[2:]) == CLUSTER_SUFFIX):
        return labels[1], labels[0]
    return None


def _applies(att: Attachment, port: int, ports: Mapping[int, str] | None) -> bool:
    if att.port is not None and att.port != port:
        return False
    if att.section is not None and ports is not None and ports.get(port) != att.section:
        return False
    return True


def _plan(svc: MeshService, port: int, client_ns: str) -> MeshPlan:
    listener = Listener(svc.ref, (svc.ports or {}).get(port) or str(port), port, "HTTP", None, HostIndex())
    here = [a for a in svc.attachments if _applies(a, port, svc.ports)]
    consumer = [a for a in here if a.namespace == client_ns and client_ns != svc.namespace]
    chosen = consumer or [a for a in here if a.namespace == svc.namespace]
    if not chosen:
        return MeshPlan(svc.ref, port, listener, [], (
            f"no route attached to Service {svc.ref} port {port} applies to clients in namespace "
            f"{client_ns}: the Service's own endpoints answer",), _itself_info(svc.ref, port))
    notes: list[str] = []
    role = f"consumer routes of namespace {client_ns}" if consumer else "producer routes"
    notes.append(f"mesh: Service {svc.ref} port {port} from namespace {client_ns}: {role} "
                 f"({', '.join(sorted({a.route for a in chosen}))})")
    if any(a.kind == "GRPCRoute" for a in chosen) and any(a.kind == "HTTPRoute" for a in chosen):
        dropped = sorted({a.route for a in chosen if a.kind == "HTTPRoute"})
        notes.append(f"HTTPRoute {', '.join(dropped)}: Conflicted with a GRPCRoute on the same Service port "
                     "(GAMMA: the GRPCRoute wins); ignored")
        chosen = [a for a in chosen if a.kind == "GRPCRoute"]
    group = Group()
    for att in chosen:
        for index, rule, name, matches in att.rules:
            info = RuleInfo(
                Matched("", "", att.kind, att.route, index, name, svc.ref, port),
                None if rule.chosen is None else rule.chosen.key,
                rule.weights, rule.timeouts, rule.retry, rule.session_persistence,
                tuple(f.auth for f in rule.filters if f.auth is not None),
            )
            bnotes = att.notes + tuple(n for b in rule.backends for n in b.notes)
            for mkey, match in matches:
                entry = Entry(mkey, match, rule, info, rule.simple, bnotes)
                (group.grpc if att.kind == "GRPCRoute" else group.http).append(entry)
    group.seal()
    return MeshPlan(svc.ref, port, listener, [group], tuple(notes))


def client_view(table: MeshTable, client_ns: str) -> list[MeshPlan]:
    """What a client in ``client_ns`` meets on every known Service port (sorted by Service,
    then port): the plans :func:`select` uses for its requests, made now and kept, so that a
    sidecar (``serve --mesh``) can list the ports, backends and rules beforehand. Ports come
    from the Service objects, or for a Service assumed to exist from its routes' parentRef
    ports."""
    out: list[MeshPlan] = []
    for ref in sorted(table.services):
        svc = table.services[ref]
        ports = sorted(svc.ports) if svc.ports is not None else sorted(
            {a.port for a in svc.attachments if a.port is not None})
        for port in ports:
            key = (ref, port, client_ns)
            plan = table.plans.get(key)
            if plan is None:
                plan = table.plans[key] = _plan(svc, port, client_ns)
            out.append(plan)
    return out


def select(table: MeshTable, request: Request, grpc: bool) -> MeshPlan | Outcome:
    """The routes a mesh request meets, or the outcome when no route decides it (the name
    resolves to no Service, the Service has no such port, no route applies)."""
    assert request.mesh is not None
    dest = destination(request)
    if dest is None:
        return Outcome(None, "ServiceNotFound", grpc=grpc, notes=(
            f"{request.mesh.service} does not name a Service (name, name.namespace, name.namespace.svc "
            "or name.namespace.svc.cluster.local)",))
    ref = f"{dest[0]}/{dest[1]}"
    port = request.port
    key = (ref, port, request.mesh.namespace)
    plan = table.plans.get(key)
    if plan is None:
        svc = table.services.get(ref)
        if svc is None:
            if not table.assume:
                return Outcome(None, "ServiceNotFound", grpc=grpc, notes=(
                    f"Service {ref} is not in the input: {request.mesh.service} does not resolve",))
            svc = MeshService(ref, dest[0], None)
        if svc.ports is not None and port not in svc.ports:
            return Outcome(None, "ConnectionRefused", grpc=grpc, notes=(
                f"Service {ref} has no port {port}",))
        plan = _plan(svc, port, request.mesh.namespace)
        if len(table.plans) < _PLANS:
            table.plans[key] = plan
    if request.scheme == "https" and plan.default is None:
        return _itself(request, _itself_info(ref, port), grpc, (
            "https to a Service is TLS the mesh does not terminate: its HTTP routes do not apply, "
            "the Service's own endpoints answer",))
    if plan.default is not None:
        return _itself(request, plan.default, grpc, plan.notes)
    return plan


def _itself_info(ref: str, port: int) -> RuleInfo:
    """The Service's port as the "rule" that served: its own endpoints, all the traffic."""
    key = f"{ref}:{port}"
    return RuleInfo(Matched("", "", "Service", "", 0, None, ref, port), key, {key: 100.0})


def _itself(request: Request, info: RuleInfo, grpc: bool, notes: Sequence[str]) -> Outcome:
    """The Service answers the request unchanged (no route applies)."""
    return Outcome(200, "Routed", info, True,
                   Upstream(request.method, request.host, request.target, request.headers), None,
                   request.response_headers or Headers(), (), (), grpc, tuple(notes))
