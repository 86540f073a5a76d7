"""Gateway-wide settings for the ``gke`` emitter: what a source asks of a whole load balancer
(``IR.gateway_intents``), written on the Gateways of the run.

* :class:`~ing2gw.intents.GatewayAddress` -- a reserved static address -- becomes the Gateway's
  ``spec.addresses`` entry ``{type: NamedAddress, value: <name>}`` (a literal IP: ``IPAddress``);
* :class:`~ing2gw.intents.TlsPolicy` with a name becomes a GCPGatewayPolicy
  (``spec.default.sslPolicy``) targeting the Gateway, in its namespace.

A Gateway is found by its name (the intent's Gateway key) or its ``ing2gw.io/source``
annotation naming the key (``IngressClass <key>``); a Gateway split in several gets the setting
on each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...intents import GatewayAddress, TlsPolicy
from ...ir import IR
from ...names import slug
from ...notes import Fidelity, Level, Note
from ..objects import GROUP, SOURCE_ANNOTATION, Manifest, meta, ordered
from ..registry import EmitContext

if TYPE_CHECKING:
    from .base import ImplEmitter

__all__ = ["gateway_policies", "not_on_rules"]


def not_on_rules(intent: Any, site: Any) -> str:
    """Builder of the rows of Gateway-wide intents: they never sit on a rule."""
    return "it is a Gateway-wide setting"


def _gateways(manifests: list[Manifest], key: str) -> list[Manifest]:
    """The Gateways made for a Gateway key: named after it, or naming it as their source."""
    source, name = f"IngressClass {key}", slug(key) or "gateway"
    return [m for m in manifests if m.get("kind") == "Gateway" and (
        m["metadata"]["name"] == name
        or source in str((m["metadata"].get("annotations") or {}).get(SOURCE_ANNOTATION, "")).split(", "))]


def gateway_policies(emitter: ImplEmitter, ir: IR, manifests: list[Manifest], ctx: EmitContext) -> list[Manifest]:
    """``manifests`` with the Gateway-wide GKE settings written in (addresses, GCPGatewayPolicies)."""
    extra: list[Manifest] = []
    for gi in ir.gateway_intents:
        intent = gi.intent
        if not isinstance(intent, GatewayAddress | TlsPolicy):
            continue
        p = intent.provenance
        gateways = _gateways(manifests, gi.gateway.key)
        why = "" if gateways else f"no Gateway of the output comes from {gi.gateway.key}"
        if isinstance(intent, TlsPolicy) and (not intent.name or intent.vendor != "gcp"):
            why = ("GKE takes TLS versions from a named GCP SSL policy; create one with these settings and name it in "
                   "a GCPGatewayPolicy")
        if why:
            ctx.notes.add(Note(code="IMPL-NOT-EXPRESSIBLE", level=Level.INFO,
                               message=f"{intent.summary()}: {why}, so the {emitter.name} emitter cannot carry it",
                               subject=p.subject, field=p.field, origin=p.origin))
            continue
        where: list[str] = []
        for gw in gateways:
            gmeta = gw["metadata"]
            if isinstance(intent, GatewayAddress):
                address = {"type": "NamedAddress" if intent.type == "name" else "IPAddress", "value": intent.value}
                spec: dict[str, Any] = {}
                for k, v in gw["spec"].items():
                    spec[k] = v
                    if k == "gatewayClassName":
                        spec["addresses"] = [address]
                gw["spec"] = spec
                where.append(f"Gateway {gmeta['namespace']}/{gmeta['name']}")
            else:
                name = f"{gmeta['name']}-ssl-policy"
                extra.append({"apiVersion": emitter.api("GCPGatewayPolicy"), "kind": "GCPGatewayPolicy",
                              "metadata": meta(name, gmeta["namespace"], {p.subject}),
                              "spec": {"default": {"sslPolicy": intent.name},
                                       "targetRef": {"group": GROUP, "kind": "Gateway", "name": gmeta["name"]}}})
                where.append(f"GCPGatewayPolicy {gmeta['namespace']}/{name}")
        ctx.consume(None, intent)
        what = "spec.addresses" if isinstance(intent, GatewayAddress) else "spec.default.sslPolicy"
        ctx.notes.add(Note(code="IMPL-POLICY", level=Level.INFO,
                           message=f"{intent.summary()} is carried by {', '.join(where)} ({what}) with the same "
                                   "behaviour", subject=p.subject, field=p.field, origin=p.origin,
                           fidelity=Fidelity.EXACT, instead=f"{emitter.name}: {what}"))
    return ordered(manifests + extra) if extra else manifests
