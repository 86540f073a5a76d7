"""The implementation-emitter framework (:mod:`ing2gw.emit.impl.base`) on hand-built IR: one
object per route when its rules agree, one per rule (named, ``sectionName``) when they differ,
ExtensionRef filters shared by equal rules, conflicting pieces refused with a note; the docs
generated from each mapping table are current; the vendored CRDs match the reference copy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import ROOT, SHARED

from ing2gw.emit.gateway import EmitOptions
from ing2gw.emit.impl.base import ImplEmitter, ObjectKind, Piece, Row, Site, filter_users, policy_targets
from ing2gw.emit.registry import BUILTIN, EmitContext, discover_emitters, note_unconsumed
from ing2gw.intents import BodyLimit, RateLimit
from ing2gw.ir import IR, BackendRef, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
from ing2gw.notes import Notes

P = Provenance("Ingress", "shop", "web", "nginx.ingress.kubernetes.io/limit-rps")
GW = GatewayRef("nginx", "nginx")


def _limit(intent: RateLimit, site: Site) -> Piece | str:
    if intent.unit == "connections":
        return "connections are not limited"
    return Piece({"rateLimit": {"rules": [{"requests": intent.rate}]}, "status": intent.status})


def _body(intent: BodyLimit, site: Site) -> Piece | str:
    return Piece({"size": intent.max_bytes or 0})


class Toy(ImplEmitter):
    name = "envoy-gateway"  # borrows the vendored envoy-gateway data for apiVersions
    target = "envoy-gateway"
    kinds = (ObjectKind("BackendTrafficPolicy", "traffic", "targetRefs", sections=True),
             ObjectKind("HTTPRouteFilter", "filter", "extensionRef"),
             ObjectKind("SecurityPolicy", "security", "targetRefs"))
    rows = (Row(RateLimit, "BackendTrafficPolicy", "spec.rateLimit", "A", "differs", build=_limit),
            Row(BodyLimit, "HTTPRouteFilter", "spec.size", "E", "", build=_body))


def _rule(path: str, *intents: Any) -> Rule:
    return Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", path)),),
                backends=(BackendRef("web", "shop", 80),), intents=intents, provenance=(P,))


def _emit(*rules: Rule, emitter: ImplEmitter | None = None) -> tuple[list[dict[str, Any]], Notes, IR]:
    route = Route("HTTPRoute", "shop", "web", GW, ("shop.example.com",), frozenset({"http"}), rules, (P,))
    ir = IR(routes=(route,))
    ctx = EmitContext(EmitOptions(), Notes())
    e = emitter or Toy()
    out = e.emit(ir, ctx)
    note_unconsumed(ir, ctx, e)
    return out, ctx.notes, ir


def _of(out: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in out if m["kind"] == kind]


def test_rules_that_agree_share_one_policy_on_the_route() -> None:
    rl = RateLimit(rate=10, unit="second", provenance=P)
    out, notes, _ = _emit(_rule("/", rl), _rule("/api", rl))
    (policy,) = _of(out, "BackendTrafficPolicy")
    assert policy["metadata"]["name"] == "web-traffic"
    assert policy["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "web"}]
    (route,) = _of(out, "HTTPRoute")
    assert all("name" not in r for r in route["spec"]["rules"])
    assert [n.code for n in notes if n.code.startswith("IMPL")] == ["IMPL-POLICY"]
    assert not [n for n in notes if n.code in ("PROTECTION-LOST", "INTENT-NOT-EMITTED")]


def test_rules_that_differ_get_one_policy_each_by_section_name() -> None:
    out, notes, _ = _emit(_rule("/", RateLimit(rate=10, unit="second", provenance=P)),
                          _rule("/admin", RateLimit(rate=2, unit="second", provenance=P)), _rule("/free"))
    (route,) = _of(out, "HTTPRoute")
    assert [r.get("name") for r in route["spec"]["rules"]] == ["rule-1", "rule-2", None]
    policies = _of(out, "BackendTrafficPolicy")
    assert [(p["metadata"]["name"], p["spec"]["targetRefs"][0]["sectionName"], p["spec"]["rateLimit"])
            for p in policies] == [("web-rule-1-traffic", "rule-1", {"rules": [{"requests": 10}]}),
                                   ("web-rule-2-traffic", "rule-2", {"rules": [{"requests": 2}]})]
    assert policy_targets(policies[0]) == [("HTTPRoute", "shop", "web", "rule-1")]
    assert not [n for n in notes if n.code == "PROTECTION-LOST"]


def test_extension_ref_filters_are_shared_by_equal_rules() -> None:
    a, b = BodyLimit(max_bytes=1024, provenance=P), BodyLimit(max_bytes=2048, provenance=P)
    out, _, _ = _emit(_rule("/", a), _rule("/x", a), _rule("/y", b))
    filters = _of(out, "HTTPRouteFilter")
    assert [(f["metadata"]["name"], f["spec"]) for f in filters] == [("web-filter-1", {"size": 1024}),
                                                                    ("web-filter-2", {"size": 2048})]
    (route,) = _of(out, "HTTPRoute")
    names = [r["filters"][0]["extensionRef"]["name"] for r in route["spec"]["rules"]]
    assert names == ["web-filter-1", "web-filter-1", "web-filter-2"]
    users = filter_users(out, "gateway.envoyproxy.io", "HTTPRouteFilter")
    assert users[("shop", "web-filter-2")] == [("HTTPRoute", "shop", "web", "rule-3")]  # named: rules differ


def test_conflicting_pieces_refuse_the_second_intent_and_a_refused_protection_is_lost() -> None:
    first = RateLimit(rate=10, unit="second", status=503, provenance=P)
    second = RateLimit(rate=5, unit="minute", status=429, provenance=Provenance("Ingress", "shop", "web", "x"))
    conns = RateLimit(rate=5, unit="connections", provenance=Provenance("Ingress", "shop", "web", "y"))
    out, notes, _ = _emit(_rule("/", first, second, conns))
    (policy,) = _of(out, "BackendTrafficPolicy")
    assert policy["spec"]["status"] == 503 and policy["spec"]["rateLimit"] == {"rules": [{"requests": 10}]}
    refused = {n.field: n.message for n in notes if n.code == "IMPL-NOT-EXPRESSIBLE"}
    assert "conflicts with another setting on spec.status" in refused["x"]
    assert "connections are not limited" in refused["y"]
    assert {n.field for n in notes if n.code == "PROTECTION-LOST"} == {"x", "y"}


def test_route_only_kind_cannot_carry_rules_that_differ() -> None:
    class RouteOnly(Toy):
        kinds = (ObjectKind("BackendTrafficPolicy", "traffic", "targetRefs", sections=False),)
        rows = (Row(RateLimit, "BackendTrafficPolicy", "spec.rateLimit", "A", "differs", build=_limit),)

    out, notes, _ = _emit(_rule("/", RateLimit(rate=10, unit="second", provenance=P)), _rule("/b"),
                          emitter=RouteOnly())
    assert not _of(out, "BackendTrafficPolicy")
    assert any(n.code == "IMPL-NOT-EXPRESSIBLE" and "whole routes only" in n.message for n in notes)
    assert any(n.code == "PROTECTION-LOST" for n in notes)


IMPL = sorted(name for name, ref in BUILTIN.items() if ".emit.impl." in ref)


@pytest.mark.parametrize("name", IMPL)
def test_docs_are_generated_from_the_mapping_table(name: str, ing2gw) -> None:
    r = ing2gw(["emitters", name, "-o", "markdown"])
    assert r.exit_code == 0, r.stderr
    doc = ROOT / "docs" / "emitters" / f"{name}.md"
    assert doc.read_text() == r.stdout, f"regenerate: ing2gw emitters {name} -o markdown > {doc}"
    emitter = discover_emitters().get(name)
    for row in emitter.rows:  # type: ignore[attr-defined]
        assert row.difference in r.stdout.replace("\\", "")


@pytest.mark.parametrize("name", IMPL)
def test_vendored_crds_match_the_reference(name: str) -> None:
    import importlib.util

    source = SHARED / "implementations" / discover_emitters().get(name).target  # type: ignore[attr-defined]
    if not source.is_dir():
        pytest.skip(f"{source} is not present")
    spec = importlib.util.spec_from_file_location("vendor_crds", ROOT / "tools" / "vendor_crds.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    packaged = json.loads((ROOT / "ing2gw" / "data" / "impl" / f"{source.name}.json").read_text())
    assert packaged == json.loads(tool.extract_impl(source)), f"run: python tools/vendor_crds.py --impl {source.name}"
