"""Rules of one route that ask for different protections: kgateway and agentgateway attach one
policy per rule (targetRefs sectionName = the rule's name), Traefik lists each rule's own
Middlewares; read_policies gives every protection back on its own rule, and only there."""

from __future__ import annotations

from typing import Any

import pytest

from ing2gw.emit.gateway import EmitOptions
from ing2gw.emit.registry import EmitContext, discover_emitters, note_unconsumed
from ing2gw.intents import BasicAuth, IPAccess, RateLimit
from ing2gw.ir import IR, BackendRef, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
from ing2gw.notes import Notes
from ing2gw.policy import PolicyIndex, PolicyTarget

P = Provenance("Ingress", "shop", "web", "nginx.ingress.kubernetes.io/limit-rps")


def _rule(path: str, *intents: Any) -> Rule:
    return Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", path)),),
                backends=(BackendRef("web", "shop", 80),), intents=intents, provenance=(P,))


@pytest.mark.parametrize("name", ["agentgateway", "kgateway", "traefik"])
def test_each_rule_gets_back_its_own_protections(name: str) -> None:
    limit = RateLimit(rate=10, unit="second", burst=20, provenance=P)
    admins = IPAccess(allow=("10.0.0.0/8",), provenance=P)
    basic = BasicAuth(scheme="basic", secret="shop/users", provenance=P)
    route = Route("HTTPRoute", "shop", "web", GatewayRef("nginx", "nginx"), ("shop.example.com",),
                  frozenset({"http"}), (_rule("/", limit), _rule("/admin", limit, admins, basic), _rule("/free")), (P,))
    ir = IR(routes=(route,))
    emitter = discover_emitters().get(name)
    ctx = EmitContext(EmitOptions(), Notes())
    out = emitter.emit(ir, ctx)
    assert note_unconsumed(ir, ctx, emitter) == []
    (http,) = [m for m in out if m["kind"] == "HTTPRoute"]
    names = [r.get("name") for r in http["spec"]["rules"]]
    assert names[0] and names[1] and names[0] != names[1]
    policies = emitter.read_policies(out)  # type: ignore[attr-defined]
    index = PolicyIndex(policies)
    applies = {n: {p.intent.kind for p in index.applicable("HTTPRoute", "shop/web", n, None, None)}
               for n in names}
    assert applies[names[0]] == {"rate-limit"}
    assert applies[names[1]] == {"rate-limit", "ip-access", "basic-auth"}
    assert applies[names[2]] == set()
    assert all(p.target.section in names[:2] or p.target.section is None for p in policies)
    assert {p.target for p in policies} <= {PolicyTarget("HTTPRoute", "shop", "web", n) for n in names[:2]}
