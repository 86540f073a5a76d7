"""Objects a route does not own alone: attachment modes of :class:`~.base.ObjectKind` beyond
the route's own targetRefs, ExtensionRef filters and listeners.

* ``"gateway"`` -- a policy in the **Gateway's namespace** naming the whole Gateway in
  ``targetRefs`` (Istio AuthorizationPolicy, GKE GCPAuthzPolicy: they cannot name a route, so
  each rule's piece scopes itself, e.g. with hosts and paths). One object per route and
  Gateway namespace, the pieces of all its rules merged (lists concatenate), named
  ``<route>-<suffix>`` (``<route namespace>-<route>-<suffix>`` when the namespaces differ).
* ``"service"`` -- a policy per **backend Service** (Istio DestinationRule ``host``, GKE
  GCPBackendPolicy ``targetRef``), in the Service's namespace, named ``<service>-<suffix>``:
  every route to that Service gets it, so the pieces of every rule using the Service merge and
  a different value from another rule is refused (with a note). ``ObjectKind.service_ref``
  says how the object names the Service.
* ``"cluster"`` -- a cluster-scoped object per route (Cilium network policies), named
  ``<route namespace>-<route>-<suffix>``, the pieces of its rules merged.
* ``"frontend"`` -- no object: a field of the parent **Gateway's** spec that holds for every
  HTTPS listener (the standard frontend client-certificate validation). Carried only when
  every rule routed through the Gateway's HTTPS listeners asks the same; else refused, naming
  the routes that did not ask (their clients would have to show certificates too).
* ``"rule"`` -- no object: a standard field written into the emitted rule itself (the
  experimental ``retry``, an ``ExternalAuth`` filter put before the rule's own filters),
  refused when the rule already sets the field differently. Rows whose kind the emitter does
  not declare (``HTTPRoute``) attach this way.

Pieces may carry ``annotations`` for the object (what the user must configure outside
Kubernetes, read back by ``read_policies``); two pieces giving one annotation different
values conflict like two scalars.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ...names import unique_names
from ...notes import Level, Note
from ..gateway import Placed
from ..objects import GROUP, Manifest
from ..registry import EmitContext, intent_scope

if TYPE_CHECKING:
    from .base import ImplEmitter, ObjectKind, _Carried

__all__ = ["SHARED_ATTACH", "attach_shared", "backend_services", "per_run", "service_host", "undeclared"]

T = TypeVar("T")
SHARED_ATTACH = frozenset({"gateway", "service", "cluster", "rule", "frontend"})
_RULE_ORDER = ("name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence")


_RUN: dict[str, tuple[object, Any]] = {}


def per_run(placed: Sequence[Placed], name: str, build: Callable[[Sequence[Placed]], T]) -> T:
    """``build(placed)``, computed once per emitter run (builders that look at every emitted
    rule -- siblings on a host, other allow lists -- use an index instead of scanning)."""
    hit = _RUN.get(name)
    if hit is None or hit[0] is not placed:
        hit = _RUN[name] = (placed, build(placed))
    return hit[1]


def undeclared(kind: str) -> str:
    """How a row whose kind the emitter does not declare attaches: a Gateway API form written
    into the parent Gateway (``"frontend"``) or into the rule (``"rule"``)."""
    return "frontend" if kind == "Gateway" else "rule"


def service_host(namespace: str, name: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def backend_services(manifest: Mapping[str, Any], index: int) -> list[tuple[str, str]]:
    """``(namespace, name)`` of the Services the emitted rule sends to, in order."""
    ns = str(manifest["metadata"]["namespace"])
    out: list[tuple[str, str]] = []
    for ref in manifest["spec"]["rules"][index].get("backendRefs") or ():
        if ref.get("group", "") == "" and ref.get("kind", "Service") == "Service":
            pair = (str(ref.get("namespace", ns)), str(ref["name"]))
            if pair not in out:
                out.append(pair)
    return out


def _gateways(manifest: Manifest) -> dict[str, list[str]]:
    """Gateway namespace -> Gateway names the route attaches to."""
    ns = str(manifest["metadata"]["namespace"])
    out: dict[str, list[str]] = {}
    for ref in manifest["spec"].get("parentRefs") or ():
        if ref.get("kind", "Gateway") == "Gateway" and ref.get("group", GROUP) == GROUP:
            names = out.setdefault(str(ref.get("namespace", ns)), [])
            if ref["name"] not in names:
                names.append(str(ref["name"]))
    return out


class _Group:
    """One object being assembled: its spec, annotations and the pieces in it."""

    def __init__(self, kind: ObjectKind, namespace: str | None, base: str, attach: dict[str, Any]) -> None:
        self.kind = kind
        self.namespace = namespace
        self.base = base
        self.attach = attach
        self.spec: dict[str, Any] = {}
        self.annotations: dict[str, str] = {}
        self.members: list[_Carried] = []
        self.service = ""  # the Service of a "service" object


def attach_shared(emitter: ImplEmitter, carried: Sequence[_Carried], placed: Sequence[Placed],
                  ctx: EmitContext, manifests: Sequence[Manifest] = ()) -> list[Manifest]:
    """The objects (and rule and Gateway fields) of the pieces whose kinds attach in a shared
    mode; ``placed`` is where every IR rule was emitted (a Service-wide policy names the
    others), ``manifests`` the standard output (the Gateways a ``"frontend"`` piece edits)."""
    from .base import ObjectKind, _Conflict, _copy, _merge

    kinds = {k.ref: k for k in emitter.kinds}
    groups: dict[tuple[str, ...], _Group] = {}

    def add(key: tuple[str, ...], make: Any, c: _Carried) -> None:
        g = groups.get(key)
        if g is None:
            g = groups[key] = make()
        spec = _copy(g.spec)
        annotations = dict(g.annotations)
        try:
            _merge(spec, c.piece.spec)
            for k, v in c.piece.annotations.items():
                if annotations.setdefault(k, v) != v:
                    raise _Conflict(f"metadata.annotations[{k}]")
        except _Conflict as e:
            emitter._note_refused(c.intent, c.site.route, f"it conflicts with another setting of {g.kind.kind} "
                                  f"{g.base} on {e}", ctx)
            return
        g.spec, g.annotations = spec, annotations
        g.members.append(c)

    for c in carried:
        kind = kinds.get(c.row.kind) or (ObjectKind("Gateway", "frontend", "frontend") if c.row.kind == "Gateway"
                                         else None)
        m, index = c.site.manifest, c.site.index
        route_ns, route = str(m["metadata"]["namespace"]), str(m["metadata"]["name"])
        mode = kind.attach if kind is not None else "rule"
        if mode == "rule":
            rule = m["spec"]["rules"][index]
            clash = [k for k, v in c.piece.spec.items()
                     if k in rule and rule[k] != v and not (isinstance(v, list) and isinstance(rule[k], list))]
            if clash:
                emitter._note_refused(c.intent, c.site.route, f"the rule already sets {', '.join(clash)}", ctx)
                continue
            for k, v in _copy(c.piece.spec).items():  # list items go first (a filter before the rule's own)
                rule[k] = [*v, *(x for x in rule[k] if x not in v)] if isinstance(v, list) and k in rule else v
            order = {k: i for i, k in enumerate(_RULE_ORDER)}
            ordered_rule = dict(sorted(rule.items(), key=lambda kv: order.get(kv[0], len(order))))
            rule.clear()
            rule.update(ordered_rule)
            emitter._consumed(c, f"{m['kind']} {route_ns}/{route}", ctx)
            continue
        assert kind is not None
        if mode == "frontend":
            gateways = _gateways(m)
            for gw_ns, names in sorted(gateways.items()):
                for gw in names:
                    add((kind.ref, gw_ns, gw), lambda k=kind, ns=gw_ns, n=gw: _frontend_group(k, ns, n), c)
            continue
        if mode == "gateway":
            gateways = _gateways(m)
            if not gateways:
                emitter._note_refused(c.intent, c.site.route, "the route attaches to no Gateway", ctx)
                continue
            for gw_ns, names in sorted(gateways.items()):
                base = f"{route}-{kind.suffix}" if gw_ns == route_ns else f"{route_ns}-{route}-{kind.suffix}"
                refs = [{"group": GROUP, "kind": "Gateway", "name": n} for n in sorted(names)]
                add((kind.ref, gw_ns, m["kind"], route_ns, route),
                    lambda k=kind, ns=gw_ns, b=base, r=refs: _Group(k, ns, b, {"targetRefs": r}), c)
        elif mode == "service":
            services = backend_services(m, index)
            if not services:
                emitter._note_refused(c.intent, c.site.route, "the rule sends to no Service", ctx)
                continue
            for svc_ns, svc in services:
                add((kind.ref, svc_ns, svc), lambda k=kind, ns=svc_ns, s=svc: _service_group(k, ns, s), c)
        else:  # cluster
            add((kind.ref, "", m["kind"], route_ns, route),
                lambda k=kind, b=f"{route_ns}-{route}-{kind.suffix}": _Group(k, None, b, {}), c)
    frontends = [g for g in groups.values() if g.kind.attach == "frontend"]
    _edit_gateways(emitter, frontends, placed, ctx, manifests)
    return _objects(emitter, [g for g in groups.values() if g.kind.attach != "frontend"], placed, ctx)


def _frontend_group(kind: ObjectKind, namespace: str, gateway: str) -> _Group:
    g = _Group(kind, namespace, gateway, {})
    g.service = gateway  # the Gateway's name
    return g


def _https_sections(gateway: Mapping[str, Any]) -> set[str]:
    return {str(listener["name"]) for listener in gateway["spec"].get("listeners") or ()
            if listener.get("protocol") == "HTTPS"}


def _edit_gateways(emitter: ImplEmitter, groups: Sequence[_Group], placed: Sequence[Placed], ctx: EmitContext,
                   manifests: Sequence[Manifest]) -> None:
    """Write each ``"frontend"`` group's spec into its Gateway, when every rule its HTTPS
    listeners route asks for it; else refuse the group's intents, naming who did not ask."""
    from .base import _Conflict, _copy, _merge

    by_key = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in manifests
              if m["kind"] == "Gateway"}
    for g in groups:
        gateway = by_key.get((g.namespace or "", g.service))
        if gateway is None:
            for c in g.members:
                emitter._note_refused(c.intent, c.site.route, f"Gateway {g.namespace}/{g.service} is not emitted", ctx)
            continue
        sections = _https_sections(gateway)
        asked = {(id(c.site.manifest), c.site.index) for c in g.members}
        others = sorted({f"{m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']}"
                         for _, _, m, index in placed if (id(m), index) not in asked
                         and any(r.get("name") == g.service and r.get("namespace", m["metadata"]["namespace"])
                                 == g.namespace and r.get("sectionName") in sections
                                 for r in m["spec"].get("parentRefs") or ())})
        if others:
            for c in g.members:
                emitter._note_refused(c.intent, c.site.route, f"it would hold for every HTTPS listener of Gateway "
                                      f"{g.namespace}/{g.service}, also for routes there that do not ask for it "
                                      f"({_list(others)})", ctx)
            continue
        spec = _copy(gateway["spec"])
        try:
            _merge(spec, g.spec)
        except _Conflict as e:
            for c in g.members:
                emitter._note_refused(c.intent, c.site.route, f"Gateway {g.namespace}/{g.service} already sets {e}",
                                      ctx)
            continue
        gateway["spec"] = spec
        for c in g.members:
            emitter._consumed(c, f"Gateway {g.namespace}/{g.service}", ctx)


def _name_rules(m: Manifest, indexes: set[int]) -> None:
    """Name the rules a policy applies to when they are not the whole route (a Gateway-wide
    policy scoped to some paths, a Service's policy where other rules go elsewhere), so that
    what it covers can be told -- and read back -- per rule."""
    from .base import _rule_name

    if len(indexes) < len(m["spec"]["rules"]):
        for i in sorted(indexes):
            _rule_name(m, i)


def _service_group(kind: ObjectKind, namespace: str, name: str) -> _Group:
    if kind.service_ref == "host":
        attach: dict[str, Any] = {"host": service_host(namespace, name)}
    else:
        ref = {"group": "", "kind": "Service", "name": name}
        attach = {"targetRefs": [ref]} if kind.service_ref == "targetRefs" else {"targetRef": ref}
    g = _Group(kind, namespace, f"{name}-{kind.suffix}", attach)
    g.service = name
    return g


def _objects(emitter: ImplEmitter, groups: list[_Group], placed: Sequence[Placed], ctx: EmitContext) -> list[Manifest]:
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for i, g in enumerate(groups):
        pairs.setdefault((g.kind.kind, g.namespace or ""), []).append((str(i), g.base))
    names = {scope: unique_names(p, 253) for scope, p in pairs.items()}
    out: list[Manifest] = []
    for i, g in enumerate(groups):
        if not g.members:
            continue
        name = names[(g.kind.kind, g.namespace or "")][str(i)]
        obj = emitter._object(g.kind.kind, name, g.namespace or "", {c.intent.provenance.subject for c in g.members},
                              {**g.attach, **g.spec})
        if g.annotations:
            obj["metadata"].setdefault("annotations", {}).update(dict(sorted(g.annotations.items())))
        out.append(obj)
        where = f"{g.kind.kind} {g.namespace}/{name}" if g.namespace else f"{g.kind.kind} {name}"
        if g.kind.attach == "gateway":
            _name_rules(g.members[0].site.manifest, {c.site.index for c in g.members})
        elif g.kind.attach == "service":
            users = per_run(placed, "service-users", _service_users).get((g.namespace or "", g.service), [])
            by_route: dict[int, tuple[Manifest, set[int]]] = {}
            for m, index in users:
                by_route.setdefault(id(m), (m, set()))[1].add(index)
            for m, indexes in by_route.values():
                _name_rules(m, indexes)
            _note_shared(g, where, users, ctx)
        for c in g.members:
            emitter._consumed(c, where, ctx)
    return out


def _service_users(placed: Sequence[Placed]) -> dict[tuple[str, str], list[tuple[Manifest, int]]]:
    """(namespace, Service) -> the emitted rules sending to it."""
    out: dict[tuple[str, str], list[tuple[Manifest, int]]] = {}
    for _, _, m, index in placed:
        for svc in backend_services(m, index):
            out.setdefault(svc, []).append((m, index))
    return out


def _note_shared(g: _Group, where: str, users: Sequence[tuple[Manifest, int]], ctx: EmitContext) -> None:
    """A Service-wide policy also applies to the routes to that Service that did not ask for it."""
    asked = {(id(c.site.manifest), c.site.index) for c in g.members}
    others = sorted({f"{m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']}"
                     for m, index in users if (id(m), index) not in asked})
    if not others:
        return
    first = g.members[0]
    p = first.intent.provenance
    subjects = sorted({c.intent.provenance.subject for c in g.members})
    ctx.notes.add(Note(code="IMPL-SHARED-POLICY", level=Level.WARNING,
                       message=f"{where} applies to every request to Service {g.namespace}/{g.service}, also "
                               f"through {_list(others)}, which did not ask for it ({', '.join(subjects)} did)",
                       subject=p.subject, field=p.field, origin=p.origin,
                       scope=intent_scope(first.site.route, first.site.route.rules, first.intent)))


def _list(items: list[str], limit: int = 3) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
