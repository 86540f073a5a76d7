"""The istio, cilium and gke emitters: their MAPPING.md traps on the golden outputs
(``testdata/emit/<emitter>/<case>/``), and the round trip emit -> ``read_policies`` -> the
intent each consumed, stated with the target's semantics (429 instead of 503, the peer or the
forwarded address, a Gateway-wide list)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from support import TESTDATA

from ing2gw.emit.gateway import EmitOptions
from ing2gw.emit.impl import cilium, gke, istio
from ing2gw.emit.impl.gke_armor import armor_rules
from ing2gw.emit.registry import EmitContext, note_unconsumed, read_policies
from ing2gw.intents import ExternalAuth, IPAccess, RateLimit, Waf
from ing2gw.ir import IR, BackendRef, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
from ing2gw.notes import Notes
from ing2gw.policy import AttachedPolicy, PolicyIndex, PolicyReadError, PolicyTarget

ROOT = TESTDATA / "emit"
P = Provenance("Ingress", "shop", "web", "nginx.ingress.kubernetes.io/allowlist-source-range")


def _docs(emitter: str, case: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / emitter / case / "expected.yaml").read_text()) if d]


def _of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _notes(emitter: str, case: str, code: str) -> list[str]:
    notes = json.loads((ROOT / emitter / case / "expected-notes.json").read_text())
    return [n["message"] for n in notes if n["code"] == code]


def _by_target(policies: list[AttachedPolicy]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in policies:
        out.setdefault(p.target.label(), []).append(p.intent)
    return out


# -- istio -----------------------------------------------------------------------------------------------


def test_istio_allow_list_is_a_deny_policy_that_leaves_other_routes_open() -> None:
    docs = _docs("istio", "ip-allowlist")
    (policy,) = _of(docs, "AuthorizationPolicy")
    # An ALLOW policy on the Gateway would refuse everything else it serves: DENY what is outside.
    assert policy["spec"]["action"] == "DENY" and policy["metadata"]["namespace"] == "gateway-system"
    assert policy["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "nginx"}]
    first = policy["spec"]["rules"][0]
    assert first["from"] == [{"source": {"notIpBlocks": ["10.0.0.0/8", "192.168.0.0/16"]}}]
    # the more specific open route of the same host is excluded
    assert first["to"][0]["operation"]["notPaths"] == ["/public", "/public/*"]
    found = _by_target(read_policies(docs))
    # Istio applies it on every listener: the plain-HTTP redirect route is covered too (noted)
    assert list(found) == ["HTTPRoute shop/shop-shop-example-com", "HTTPRoute shop/shop-shop-example-com-redirect"]
    (intent,) = found["HTTPRoute shop/shop-shop-example-com"]
    assert intent == IPAccess(allow=("10.0.0.0/8", "192.168.0.0/16"), client_address="peer", status=403, provenance=P)


def test_istio_deny_list_first_and_forwarded_addresses_round_trip() -> None:
    docs = _docs("istio", "ip-deny-before-allow")
    (policy,) = _of(docs, "AuthorizationPolicy")
    sources = [r["from"][0]["source"] for r in policy["spec"]["rules"]]
    assert {"notRemoteIpBlocks": ["10.0.0.0/8"]} in sources and {"remoteIpBlocks": ["10.66.0.0/16"]} in sources
    (intent,) = {p.intent for p in istio.read_policies(docs)}
    assert isinstance(intent, IPAccess)
    assert (intent.allow, intent.deny, intent.order, intent.client_address) == (
        ("10.0.0.0/8",), ("10.66.0.0/16",), "deny-first", "forwarded")
    assert any("numTrustedProxies" in m for m in _notes("istio", "ip-deny-before-allow", "IMPL-POLICY"))


def test_istio_external_auth_names_the_mesh_provider_to_configure() -> None:
    docs = _docs("istio", "external-auth")
    (policy,) = _of(docs, "AuthorizationPolicy")
    assert policy["spec"]["action"] == "CUSTOM"
    provider = json.loads(policy["metadata"]["annotations"][istio.PROVIDER_ANNOTATION])
    assert policy["spec"]["provider"]["name"] == provider["name"]
    config = provider["envoyExtAuthzHttp"]
    # cookies reach oauth2-proxy; a failed call answers 500 as in nginx; the path is a prefix (noted)
    assert "cookie" in config["includeRequestHeadersInCheck"] and config["statusOnError"] == "500"
    assert config["service"] == "oauth2-proxy.auth.svc.cluster.local" and config["port"] == 4180
    (note,) = _notes("istio", "external-auth", "IMPL-POLICY")
    assert "meshConfig.extensionProviders" in note and "followed by the client's path" in note
    found = _by_target(read_policies(docs))
    assert list(found) == ["HTTPRoute shop/shop-shop-example-com", "HTTPRoute shop/shop-shop-example-com-redirect"]
    (auth,) = found["HTTPRoute shop/shop-shop-example-com"]
    assert isinstance(auth, ExternalAuth)
    assert auth.url == "http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth"
    assert auth.response_headers == ("x-auth-request-user", "x-auth-request-email")


def _rule(path: str, *intents: Any) -> Rule:
    return Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", path)),),
                backends=(BackendRef("web", "shop", 80),), intents=intents, provenance=(P,))


def test_istio_policy_on_some_rules_names_them_and_reads_back_per_rule() -> None:
    allow = IPAccess(allow=("10.0.0.0/8",), provenance=P)
    route = Route("HTTPRoute", "shop", "web", GatewayRef("nginx", "nginx"), ("shop.example.com",),
                  frozenset({"http"}), (_rule("/admin", allow), _rule("/")), (P,))
    ir = IR(routes=(route,))
    ctx = EmitContext(EmitOptions(), Notes())
    out = istio.EMITTER.emit(ir, ctx)
    assert not note_unconsumed(ir, ctx, istio.EMITTER)
    (web,) = [m for m in out if m["kind"] == "HTTPRoute"]
    names = {r["matches"][0]["path"]["value"]: r.get("name") for r in web["spec"]["rules"]}
    assert names["/admin"] and not names["/"]  # named, so what the policy covers can be told per rule
    (policy,) = [m for m in out if m["kind"] == "AuthorizationPolicy"]
    (rule,) = policy["spec"]["rules"]
    assert rule["to"][0]["operation"]["paths"] == ["/admin", "/admin/*"]
    index = PolicyIndex(istio.read_policies(out))
    (hit,) = index.applicable("HTTPRoute", "shop/web", names["/admin"], None, None)
    assert hit.intent == allow and hit.target.section == names["/admin"]
    assert not index.applicable("HTTPRoute", "shop/web", names["/"], None, None)


def test_istio_destination_rule_per_service_and_session_cookie_ttl() -> None:
    docs = _docs("istio", "upstream")
    rules = {d["spec"]["host"]: d["spec"]["trafficPolicy"] for d in _of(docs, "DestinationRule")}
    assert set(rules) == {"shop.shop.svc.cluster.local", "api.shop.svc.cluster.local"}
    policy = rules["shop.shop.svc.cluster.local"]
    assert policy["connectionPool"]["tcp"]["connectTimeout"] == "3s"
    assert policy["loadBalancer"]["consistentHash"]["httpCookie"]["ttl"] == "1h"


def test_istio_client_certificates_only_when_every_https_route_of_the_gateway_asks() -> None:
    docs = _docs("istio", "client-cert")
    (gateway,) = _of(docs, "Gateway")
    validation = gateway["spec"]["tls"]["frontend"]["default"]["validation"]
    assert validation == {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "partner-ca",
                                                 "namespace": "shop"}], "mode": "AllowValidOnly"}
    assert any(g["spec"]["to"][0]["kind"] == "ConfigMap" for g in _of(docs, "ReferenceGrant"))
    (layout,) = _notes("istio", "client-cert", "IMPL-SECRET-LAYOUT")
    assert "create ConfigMap shop/partner-ca with key ca.crt" in layout
    shared = _docs("istio", "client-cert-shared-lost")
    assert "tls" not in _of(shared, "Gateway")[0]["spec"]  # the other host's clients have no certificates
    (why,) = _notes("istio", "client-cert-shared-lost", "IMPL-NOT-EXPRESSIBLE")
    assert "HTTPRoute shop/shop-shop-example-com" in why
    assert _notes("istio", "client-cert-shared-lost", "PROTECTION-LOST")


# -- cilium ------------------------------------------------------------------------------------------------


def test_cilium_allow_list_is_cluster_wide_on_the_ingress_identity() -> None:
    docs = _docs("cilium", "ip-allowlist")
    (policy,) = _of(docs, "CiliumClusterwideNetworkPolicy")
    assert "namespace" not in policy["metadata"]
    assert policy["spec"]["endpointSelector"] == cilium.INGRESS_SELECTOR
    found = _by_target(read_policies(docs))
    (gateway,) = found
    assert gateway == "Gateway gateway-system/nginx"
    (intent,) = found[gateway]
    assert intent.allow == ("10.0.0.0/8", "192.168.0.0/16") and intent.scope == "gateway"


def test_cilium_deny_list_alone_keeps_everyone_else_admitted() -> None:
    docs = _docs("cilium", "ip-denylist")
    (policy,) = _of(docs, "CiliumClusterwideNetworkPolicy")
    assert policy["spec"]["enableDefaultDeny"] == {"ingress": False} and "ingress" not in policy["spec"]
    (intent,) = {p.intent for p in cilium.read_policies(docs)}
    assert intent.allow == () and intent.deny == ("203.0.113.0/24",)


def test_cilium_controller_block_list_is_one_cluster_wide_deny_policy() -> None:
    docs = _docs("cilium", "block-cidrs")
    (policy,) = _of(docs, "CiliumClusterwideNetworkPolicy")
    assert policy["spec"]["ingressDeny"] == [{"fromCIDRSet": [{"cidr": "198.51.100.0/24"}, {"cidr": "203.0.113.7/32"}]}]
    assert not _notes("cilium", "block-cidrs", "PROTECTION-LOST")
    (intent,) = {p.intent for p in read_policies(docs)}
    assert intent.deny == ("198.51.100.0/24", "203.0.113.7/32") and intent.allow == ()


def test_cilium_different_allow_lists_add_up_so_both_are_lost() -> None:
    assert _of(_docs("cilium", "ip-allowlist-conflict"), "CiliumClusterwideNetworkPolicy") == []
    assert len(_notes("cilium", "ip-allowlist-conflict", "PROTECTION-LOST")) == 2
    assert (ROOT / "cilium" / "ip-allowlist-conflict" / "exit-code").read_text().strip() == "1"


def test_cilium_external_auth_is_the_experimental_filter_first_on_the_rule() -> None:
    docs = _docs("cilium", "external-auth")
    (route,) = [r for r in _of(docs, "HTTPRoute") if r["metadata"]["name"] == "shop-shop-example-com"]
    for rule in route["spec"]["rules"]:
        auth = rule["filters"][0]
        assert auth["type"] == "ExternalAuth"
        assert auth["externalAuth"]["backendRef"] == {"name": "oauth2-proxy", "namespace": "auth", "port": 4180}
        assert "Cookie" in auth["externalAuth"]["http"]["allowedHeaders"]
    (grant,) = [g for g in _of(docs, "ReferenceGrant") if g["metadata"]["namespace"] == "auth"]
    assert grant["spec"]["from"][0]["kind"] == "HTTPRoute"


# -- gke ----------------------------------------------------------------------------------------------------


def test_gke_cloud_armor_rules_are_spelled_out_and_read_back() -> None:
    docs = _docs("gke", "rate-limit")
    policies = _of(docs, "GCPBackendPolicy")
    assert {p["spec"]["targetRef"]["name"] for p in policies} == {"shop", "api"}
    names = {p["spec"]["default"]["securityPolicy"] for p in policies}
    assert len(names) == 1
    (name,) = names
    notes = _notes("gke", "rate-limit", "IMPL-POLICY")
    assert all(f"gcloud compute security-policies create {name}" in n and "--exceed-action=deny-429" in n
               and "429, not 503" in n for n in notes)
    found = _by_target(read_policies(docs))
    (label,) = [k for k in found if k.startswith("HTTPRoute shop/shop-shop-example-com rule ")][:1]
    (limit,) = found[label]
    assert isinstance(limit, RateLimit)
    assert (limit.rate, limit.unit, limit.burst, limit.status, limit.key) == (10, "second", 90, 429, "client-ip")


def test_gke_allow_list_and_shared_service_conflict() -> None:
    docs = _docs("gke", "shared-service-conflict")
    (policy,) = _of(docs, "GCPBackendPolicy")
    record = json.loads(policy["metadata"]["annotations"]["ing2gw.io/cloud-armor-ip-access"])
    assert record == {"allow": ["10.0.0.0/8"], "deny": []}
    assert len(_notes("gke", "shared-service-conflict", "PROTECTION-LOST")) == 1
    (shared,) = _notes("gke", "shared-service-conflict", "IMPL-SHARED-POLICY")
    assert "public-www-example-com" in shared
    # the Service-wide policy applies to every route to the Service, as GKE applies it
    found = _by_target(gke.read_policies(docs))
    assert set(found) == {"HTTPRoute shop/internal-internal-example-com", "HTTPRoute shop/partner-partner-example-com",
                          "HTTPRoute shop/public-www-example-com"}


def test_gke_external_auth_is_an_l7_custom_authz_policy() -> None:
    docs = _docs("gke", "external-auth")
    (policy,) = _of(docs, "GCPAuthzPolicy")
    spec = policy["spec"]
    assert (spec["action"], spec["enforcementLevel"]) == ("CUSTOM", "L7")
    assert spec["customProviders"]["extensionRefs"][0]["kind"] == "GCPAuthzExtension"
    (note,) = _notes("gke", "external-auth", "IMPL-POLICY")
    assert "create GCPAuthzExtension" in note and "gRPC" in note
    found = _by_target(read_policies(docs))
    assert list(found) == ["HTTPRoute shop/shop-shop-example-com", "HTTPRoute shop/shop-shop-example-com-redirect"]


def test_gke_waf_runs_in_preview_unless_the_engine_was_on() -> None:
    (policy,) = _of(_docs("gke", "waf"), "GCPBackendPolicy")
    record = json.loads(policy["metadata"]["annotations"]["ing2gw.io/cloud-armor-waf"])
    assert record["preview"] is True  # ingress-nginx's ModSecurity only detects by default
    on = Waf(engine="modsecurity", core_rule_set=True, rules="SecRuleEngine  On\n", provenance=P)
    assert armor_rules([on])["waf"]["preview"] is False
    assert any("--preview" in m for m in _notes("gke", "waf", "IMPL-POLICY"))


@pytest.mark.parametrize("emitter", ["istio", "cilium", "gke"])
def test_zero_body_size_is_never_a_limit(emitter: str) -> None:
    docs = _docs(emitter, "body-size-zero")
    assert {d["kind"] for d in docs} <= {"Gateway", "HTTPRoute", "ReferenceGrant"}
    assert any("no limit: nothing is emitted" in m for m in _notes(emitter, "body-size-zero", "IMPL-POLICY"))


@pytest.mark.parametrize("emitter", ["istio", "cilium", "gke"])
def test_basic_auth_stays_lost(emitter: str) -> None:
    assert (ROOT / emitter / "basic-auth-lost" / "exit-code").read_text().strip() == "1"
    assert _notes(emitter, "basic-auth-lost", "PROTECTION-LOST")


def test_readers_refuse_a_broken_annotation_and_ignore_other_kinds() -> None:
    docs = _docs("gke", "rate-limit")
    for d in _of(docs, "GCPBackendPolicy"):
        d["metadata"]["annotations"]["ing2gw.io/cloud-armor-rate-limit"] = "not json"
    with pytest.raises(PolicyReadError, match="GCPBackendPolicy shop/"):
        gke.read_policies(docs)
    assert istio.read_policies(_docs("gke", "ip-allowlist")) == []
    assert cilium.read_policies(_docs("istio", "ip-allowlist")) == []
    assert PolicyTarget("Gateway", "gateway-system", "nginx").label() == "Gateway gateway-system/nginx"
