"""A cut-over plan from a conversion: what to install, apply, check, move and undo.

:func:`build_plan` reads the converted manifests, the Ingresses (their
``status.loadBalancer`` addresses) and the existing Gateways, if any, and gives a
:class:`Plan`:

* the Gateway API CRDs and the GatewayClass(es) to install (emitted with
  ``--gateway-controller``, else expected from an implementation);
* the Gateways and their expected addresses: one load balancer each (a Gateway's address is
  known only once it is Programmed, except for existing Gateways whose status is given);
  ``per-namespace`` topology says it costs one load balancer per namespace;
* the order to apply the ``--output-dir`` files (infrastructure, operator, application), and
  after each step ``kubectl wait --for=jsonpath=...`` lines for GatewayClass Accepted,
  Gateway and ListenerSet Accepted/Programmed, and every route's Accepted/ResolvedRefs per
  parentRef;
* the DNS records to move per host, from the Ingresses' load balancer to the Gateway's;
* required changes (the error notes about existing Gateways), and the rollback steps.

:func:`render` writes it as text, markdown or JSON; the same input gives the same bytes.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .gateways import Existing
from .notes import Level, Note
from .output import layout
from .resources import Ingress
from .yamlio import dump_json

__all__ = ["Plan", "build_plan", "render"]

CRD_VERSION = "v1.6.1"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
_OUT = "gateway"


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    namespace: str
    name: str
    gateway_class: str
    existing: bool
    addresses: tuple[str, ...]  # known addresses (existing Gateways); () = assigned when Programmed
    listener_sets: tuple[str, ...]  # ns/name of the ListenerSets ing2gw adds to it
    hosts: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def address_text(self) -> str:
        if self.addresses:
            return ", ".join(self.addresses)
        return (f"$(kubectl get gateway -n {self.namespace} {self.name} "
                "-o jsonpath='{.status.addresses[0].value}')")


@dataclass(frozen=True, slots=True)
class DNSMove:
    host: str
    ingresses: tuple[str, ...]
    current: tuple[str, ...]  # the Ingresses' status.loadBalancer addresses (else the command reading them)
    gateways: tuple[str, ...]  # ns/name of the Gateways serving it
    target: str  # the new address(es), or the command that reads them


@dataclass(slots=True)
class Step:
    title: str
    commands: list[str]
    waits: list[str] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    topology: str
    crds: str
    classes: list[str]
    gateways: list[GatewayPlan]
    load_balancers: int
    cost: str
    steps: list[Step]
    dns: list[DNSMove]
    required: list[str]
    rollback: list[str]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for g, raw in zip(self.gateways, out["gateways"], strict=True):
            raw["address"] = g.address_text()
        return out


def _q(text: str) -> str:
    return shlex.quote(text)


def _wait(kind: str, namespace: str | None, name: str, path: str, timeout: str) -> str:
    where = f"-n {namespace} " if namespace else ""
    return f"kubectl wait {where}{kind.lower()}/{name} --for=jsonpath={_q(path)}=True --timeout={timeout}"


def _condition(kind: str, namespace: str | None, name: str, condition: str, timeout: str = "5m") -> str:
    return _wait(kind, namespace, name, '{.status.conditions[?(@.type=="' + condition + '")].status}', timeout)


def _route_waits(m: Mapping[str, Any]) -> list[str]:
    """Accepted and ResolvedRefs of every parentRef of a route, each selected by the parentRef
    field that tells it apart (its section name, else its name)."""
    meta = m["metadata"]
    parents = [p for p in m["spec"].get("parentRefs") or [] if p.get("kind", "Gateway") in ("Gateway", "ListenerSet")]
    sections = [p.get("sectionName") for p in parents]
    names = [p.get("name") for p in parents]
    if all(sections) and len(set(sections)) == len(sections):
        keys = [("sectionName", str(s)) for s in sections]
    elif len(set(names)) == len(names):
        keys = [("name", str(n)) for n in names]
    else:
        keys = [("name", str(n)) for n in dict.fromkeys(names)]
    out = []
    for fld, value in keys:
        for condition in ("Accepted", "ResolvedRefs"):
            path = ('{.status.parents[?(@.parentRef.' + fld + '=="' + value + '")].conditions[?(@.type=="'
                    + condition + '")].status}')
            out.append(_wait(m["kind"], meta.get("namespace"), meta["name"], path, "2m"))
    return out


def _gateway_of(parent: Mapping[str, Any], route_ns: str, sets: Mapping[tuple[str, str], tuple[str, str]]
                ) -> tuple[str, str] | None:
    ref = (str(parent.get("namespace") or route_ns), str(parent.get("name")))
    kind = parent.get("kind", "Gateway")
    if kind == "Gateway":
        return ref
    return sets.get(ref) if kind == "ListenerSet" else None


def build_plan(manifests: Sequence[Mapping[str, Any]], ingresses: Iterable[Ingress], notes: Iterable[Note],
               topology: str, existing: Existing | None, convert_command: str, experimental: bool = False) -> Plan:
    """The cut-over plan for ``manifests`` (the conversion of ``ingresses``)."""
    files = layout(manifests)
    emitted = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in manifests
               if m["kind"] == "Gateway"}
    sets: dict[tuple[str, str], tuple[str, str]] = {}  # ListenerSet -> its Gateway
    for m in manifests:
        if m["kind"] == "ListenerSet":
            p = m["spec"]["parentRef"]
            sets[(m["metadata"]["namespace"], m["metadata"]["name"])] = (
                str(p.get("namespace") or m["metadata"]["namespace"]), str(p["name"]))
    emitted_sets = set(sets)
    known = {(g.namespace, g.name): g for g in existing.gateways} if existing else {}
    for g in known.values():
        for lst in g.listeners:
            if lst.owner_kind == "ListenerSet":
                sets[(lst.owner_namespace, lst.owner_name)] = (g.namespace, g.name)
    hosts: dict[tuple[str, str], set[str]] = {}
    for m in manifests:
        if m["kind"] in ROUTE_KINDS:
            for p in m["spec"].get("parentRefs") or []:
                gw = _gateway_of(p, m["metadata"]["namespace"], sets)
                if gw is not None:
                    hosts.setdefault(gw, set()).update(m["spec"].get("hostnames") or ())
    gateways: list[GatewayPlan] = []
    for key in sorted(set(emitted) | set(known) | set(hosts)):
        ns, name = key
        ex = known.get(key)
        cls = ex.gateway_class if ex else str((emitted.get(key) or {}).get("spec", {}).get("gatewayClassName", ""))
        added = tuple(f"{a}/{b}" for (a, b), gw in sorted(sets.items()) if gw == key and (a, b) in emitted_sets)
        gateways.append(GatewayPlan(ns, name, cls, ex is not None, ex.addresses if ex else (), added,
                                    tuple(sorted(hosts.get(key, ())))))
    by_host: dict[str, list[Ingress]] = {}
    for ing in ingresses:
        for rule in ing.rules:
            if rule.host:
                by_host.setdefault(rule.host, []).append(ing)
    dns: list[DNSMove] = []
    for host, owners in sorted(by_host.items()):
        serving = [g for g in gateways if host in g.hosts]
        current = tuple(dict.fromkeys(a for i in owners for a in i.load_balancer)) or tuple(
            f"$(kubectl get ingress -n {i.namespace} {i.name} -o jsonpath="
            "'{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')" for i in owners[:1])
        dns.append(DNSMove(host, tuple(sorted({i.ref for i in owners})), current, tuple(g.ref for g in serving),
                           "; ".join(g.address_text() for g in serving) or "no Gateway serves it (see the notes)"))
    new = [g for g in gateways if not g.existing]
    classes = sorted({g.gateway_class for g in new})
    emitted_classes = {m["metadata"]["name"]: m["spec"].get("controllerName") for m in manifests
                       if m["kind"] == "GatewayClass"}
    if topology == "per-namespace":
        cost = (f"per-namespace topology: one Gateway per namespace, so {len(new)} load balancer(s) and "
                f"{len(new)} address(es) to move DNS to (--topology listenersets keeps one shared address)")
    elif existing is not None:
        cost = (f"existing Gateways: no new load balancer; DNS moves to the {len(gateways)} existing Gateway "
                "address(es)")
    else:
        cost = f"{topology} topology: {len(new)} Gateway(s), one load balancer and one address each"
    channel = "experimental" if experimental else "standard"
    steps: list[Step] = [Step(
        "Install the prerequisites",
        [f"kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/"
         f"{CRD_VERSION}/{channel}-install.yaml"],
        detail=[f"GatewayClass {c}: " + (f"emitted (controllerName {emitted_classes[c]}); install that "
                                         "implementation" if c in emitted_classes else
                                         "install a Gateway API implementation that provides it, or convert "
                                         "with --gateway-class NAME to use an installed one")
                for c in classes])]
    steps.append(Step("Write the objects, one file per role and namespace",
                      [f"{convert_command} --output-dir {_OUT}/"]))
    infra = [f for f in files if f.startswith("infrastructure/")]
    if infra:
        steps.append(Step("Apply the GatewayClass (cluster operator)",
                          [f"kubectl apply --server-side -f {_OUT}/{f}" for f in infra],
                          [_condition("GatewayClass", None, c, "Accepted", "2m") for c in sorted(emitted_classes)]))
    operator = [f for f in files if f.startswith("operator/")]
    if operator:
        waits = []
        for gp in new:
            waits += [_condition("Gateway", gp.namespace, gp.name, c) for c in ("Accepted", "Programmed")]
        for gp in gateways:
            for ls in gp.listener_sets:
                ns, name = ls.split("/")
                waits += [_condition("ListenerSet", ns, name, c) for c in ("Accepted", "Programmed")]
        steps.append(Step("Apply Gateways, ListenerSets and ReferenceGrants (platform operator)",
                          [f"kubectl apply --server-side -f {_OUT}/{f}" for f in operator], waits,
                          [f"Gateway {gp.ref}: address {gp.address_text()}" for gp in new]))
    application = [f for f in files if f.startswith("application/")]
    if application:
        route_waits = [w for m in manifests if m["kind"] in ROUTE_KINDS for w in _route_waits(m)]
        steps.append(Step("Apply the routes and policies (application developers)",
                          [f"kubectl apply --server-side -f {_OUT}/{f}" for f in application], route_waits))
    steps.append(Step("Test each host on the Gateway before moving DNS", [
        f"curl -sk -o /dev/null -w '%{{http_code}}\\n' --resolve {d.host}:443:{d.target} https://{d.host}/"
        for d in dns if len(d.gateways) == 1]))
    steps.append(Step("Move DNS, host by host (lower the TTL a day before)", [],
                      detail=[f"{d.host}: {', '.join(d.current)} -> {d.target}" for d in dns]))
    required = [n.line() for n in notes if n.level is Level.ERROR and n.code.startswith("EMIT-EXISTING-")]
    ours = [f for f in (*application, *operator, *infra)]
    rollback = ["point each moved DNS record back to the Ingress address listed above (the Ingresses and the "
                "controller keep serving until you delete them: delete them only once no traffic reaches them)"]
    rollback += [f"kubectl delete -f {_OUT}/{f}" for f in ours if not (existing and f.startswith("infrastructure/"))]
    if existing is not None:
        rollback.append("the existing Gateways are left as they were (only the routes, ListenerSets and "
                        "ReferenceGrants ing2gw added are deleted)")
    return Plan(topology if existing is None else "existing", f"Gateway API {CRD_VERSION} {channel} channel",
                classes, gateways, len(new), cost, steps, dns, required, rollback)


def _text(plan: Plan) -> str:
    out = [f"Cut-over plan ({plan.crds})", "", plan.cost, ""]
    out.append("Gateways:")
    for g in plan.gateways:
        state = "existing" if g.existing else "new, one load balancer"
        out.append(f"  {g.ref} (class {g.gateway_class or '?'}, {state}): {len(g.hosts)} host(s), "
                   f"address {g.address_text()}")
        out += [f"    ListenerSet {ls}" for ls in g.listener_sets]
    if plan.required:
        out += ["", "Required changes before applying:"] + [f"  {r}" for r in plan.required]
    for i, step in enumerate(plan.steps, 1):
        out += ["", f"{i}. {step.title}"]
        out += [f"   {d}" for d in step.detail]
        out += [f"   $ {c}" for c in step.commands]
        if step.waits:
            out.append("   check:")
            out += [f"   $ {w}" for w in step.waits]
    out += ["", "Rollback:"] + [f"  - {r}" for r in plan.rollback]
    return "\n".join(out) + "\n"


def _markdown(plan: Plan) -> str:
    out = ["# Cut-over plan", "", f"{plan.crds}. {plan.cost}.", "", "## Gateways", "",
           "| Gateway | class | load balancer | address | hosts |", "| --- | --- | --- | --- | ---: |"]
    for g in plan.gateways:
        out.append(f"| {g.ref} | {g.gateway_class or '?'} | {'existing' if g.existing else 'new'} | "
                   f"`{g.address_text()}` | {len(g.hosts)} |")
    if plan.required:
        out += ["", "## Required changes", ""] + [f"- {r}" for r in plan.required]
    for i, step in enumerate(plan.steps, 1):
        out += ["", f"## {i}. {step.title}", ""]
        out += [f"- {d}" for d in step.detail]
        if step.detail and step.commands:
            out.append("")
        if step.commands:
            out += ["```sh", *step.commands, "```"]
        if step.waits:
            out += ["", "Check:", "", "```sh", *step.waits, "```"]
    out += ["", "## DNS records to move", "", "| host | Ingress | now | Gateway | new address |",
            "| --- | --- | --- | --- | --- |"]
    for d in plan.dns:
        out.append(f"| {d.host} | {', '.join(d.ingresses)} | {', '.join(d.current) or '?'} | "
                   f"{', '.join(d.gateways) or '-'} | `{d.target}` |")
    out += ["", "## Rollback", ""] + [f"{i}. {r}" for i, r in enumerate(plan.rollback, 1)]
    return "\n".join(out) + "\n"


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return dump_json(plan.to_dict())
    return _markdown(plan) if fmt == "markdown" else _text(plan)
