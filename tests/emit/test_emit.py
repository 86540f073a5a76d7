"""The emitter on hand-made IR: limits, forbidden filter combinations, naming."""

from __future__ import annotations

from ing2gw.emit.gateway import EmitOptions, emit
from ing2gw.ir import (
    IR,
    BackendRef,
    Filter,
    GatewayRef,
    PathMatch,
    PathModifier,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    URLRewrite,
)
from ing2gw.notes import Notes
from ing2gw.schema import validate

GW = GatewayRef("nginx", "nginx")
SRC = Provenance("Ingress", "default", "src")


def _route(rules: tuple[Rule, ...], name: str = "r") -> Route:
    return Route("HTTPRoute", "default", name, GW, ("a.example.com",), frozenset({"http"}), rules, (SRC,))


def _prefix(i: int) -> RouteMatch:
    return RouteMatch(path=PathMatch("PathPrefix", f"/p{i}"))


def test_match_limits_split_rules_and_routes() -> None:
    big = Rule(matches=tuple(_prefix(i) for i in range(150)), backends=(BackendRef("s", "default", 80),))
    notes = Notes()
    out = emit(IR(routes=(_route((big,)),)), EmitOptions(), notes)
    routes = [m for m in out if m["kind"] == "HTTPRoute"]
    assert len(routes) == 2  # 150 matches -> 3 rules of <=64 -> routes of <=128 matches
    for r in routes:
        rules = r["spec"]["rules"]
        assert len(rules) <= 16
        assert all(len(x["matches"]) <= 64 for x in rules)
        assert sum(len(x["matches"]) for x in rules) <= 128
        assert validate(r) == []
    assert sum(len(x["matches"]) for r in routes for x in r["spec"]["rules"]) == 150
    assert any(n.code == "EMIT-ROUTE-SPLIT" for n in notes)


def test_forbidden_combinations_are_never_emitted() -> None:
    redirect = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=301))
    rewrite = Filter("URLRewrite", URLRewrite(path=PathModifier("ReplacePrefixMatch", "/x")))
    rules = (
        Rule(matches=(_prefix(1),), backends=(BackendRef("s", "default", 80),), filters=(redirect,), provenance=(SRC,)),
        Rule(matches=(_prefix(2),), backends=(BackendRef("s", "default", 80),), filters=(redirect, rewrite)),
        Rule(matches=(RouteMatch(path=PathMatch("Exact", "/e")),), backends=(BackendRef("s", "default", 80),),
             filters=(rewrite,)),
        Rule(matches=(_prefix(3),), backends=(BackendRef("s", "default", 80),), filters=(rewrite, rewrite)),
    )
    notes = Notes()
    (route,) = [m for m in emit(IR(routes=(_route(rules),)), EmitOptions(), notes) if m["kind"] == "HTTPRoute"]
    assert validate(route) == []
    r0, r1, r2, r3 = route["spec"]["rules"]
    assert "backendRefs" not in r0 and r0["filters"][0]["type"] == "RequestRedirect"
    assert [f["type"] for f in r1["filters"]] == ["RequestRedirect"]
    assert "filters" not in r2
    assert [f["type"] for f in r3["filters"]] == ["URLRewrite"]
    assert sum(n.code == "EMIT-INVALID-COMBINATION" for n in notes) == 5


def test_colliding_route_names_get_stable_hashes() -> None:
    a = _route((Rule(matches=(_prefix(1),)),), name="x-y")
    b = Route("HTTPRoute", "default", "x-y", GW, ("b.example.com",), frozenset({"http"}),
              (Rule(matches=(_prefix(1),)),), (Provenance("Ingress", "default", "other"),))
    names1 = sorted(m["metadata"]["name"] for m in emit(IR(routes=(a, b)), EmitOptions(), Notes())
                    if m["kind"] == "HTTPRoute")
    names2 = sorted(m["metadata"]["name"] for m in emit(IR(routes=(b, a)), EmitOptions(), Notes())
                    if m["kind"] == "HTTPRoute")
    assert names1 == names2 and len(set(names1)) == 2 and all(n.startswith("x-y-") for n in names1)


def test_cross_namespace_backends_get_reference_grants() -> None:
    from ing2gw.ir import RequestMirror

    mirror = Filter("RequestMirror", RequestMirror(BackendRef("shadow", "mirror-ns", 80)))
    rule = Rule(matches=(_prefix(1),), filters=(mirror,),
                backends=(BackendRef("s", "default", 80), BackendRef("canary", "other", 8080, weight=10)))
    out = emit(IR(routes=(_route((rule,)),)), EmitOptions(), Notes())
    grants = {m["metadata"]["namespace"]: m for m in out if m["kind"] == "ReferenceGrant"}
    assert set(grants) == {"other", "mirror-ns"}
    assert grants["other"]["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
        "to": [{"group": "", "kind": "Service", "name": "canary"}],
    }
    for m in out:
        assert validate(m) == [], m
