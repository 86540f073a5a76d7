"""Round trip of the implementation emitters' ``read_policies``: emit a golden case, read the
output back, and get the intents that were consumed -- with the target's semantics (Envoy
Gateway answers 429 without a burst, accepts only {SHA} hashes ...) -- attached to the
emitted route, rule or listener; other kinds are ignored and a malformed own object is an
error naming it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from support import TESTDATA

from ing2gw.emit.registry import discover_emitters, read_policies
from ing2gw.intents import (
    BasicAuth,
    BodyLimit,
    ClientCertAuth,
    ExternalAuth,
    IPAccess,
    RateLimit,
    Retries,
    Timeouts,
)
from ing2gw.ir import Provenance
from ing2gw.policy import PolicyReadError, PolicyTarget

P = Provenance("", "", "")


def _read(emitter: str, case: str) -> list[tuple[PolicyTarget, Any, frozenset[str]]]:
    docs = list(yaml.safe_load_all((TESTDATA / "emit" / emitter / case / "expected.yaml").read_text()))
    reader = discover_emitters().get(emitter).read_policies  # type: ignore[attr-defined]
    return [(p.target, p.intent, p.hash_schemes) for p in reader(docs)]


def _route(name: str, section: str | None = None) -> PolicyTarget:
    return PolicyTarget("HTTPRoute", "shop", name, section)


EG = {
    "rate-limit": [(_route("api-api-example-com"),
                    RateLimit(rate=10, unit="second", burst=0, status=429, exempt=("10.0.0.0/8",), provenance=P),
                    frozenset()),
                   (_route("api-api-example-com"),
                    RateLimit(rate=300, unit="minute", burst=0, status=429, exempt=("10.0.0.0/8",), provenance=P),
                    frozenset())],
    "basic-auth": [(_route("basic-basic-example-com"),
                    BasicAuth(scheme="basic", secret="shop/basic-auth-htpasswd", provenance=P), frozenset({"sha"}))],
    "ip-allow-deny": [(_route("office-office-example-com"),
                       IPAccess(allow=("10.0.0.0/8", "192.168.0.0/16"), deny=("10.1.2.0/24",), provenance=P),
                       frozenset())],
    "auth-url": [(_route("auth-auth-example-com"),
                  ExternalAuth(url="http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth",
                               response_headers=("x-auth-request-user", "x-auth-request-email"), provenance=P),
                  frozenset())],
    "auth-url-external": [(_route("auth-auth-example-com"),
                           ExternalAuth(url="https://sso.example.net:443/verify", provenance=P), frozenset())],
    "body-size": [(_route("upload-upload-example-com"), BodyLimit(max_bytes=8 << 20, provenance=P), frozenset())],
    "body-size-zero": [],
    "timeouts": [(_route("slow-slow-example-com"),
                  Timeouts(connect_ms=3000, read_ms=300_000, send_ms=300_000, provenance=P), frozenset())],
    "client-certs": [(PolicyTarget("Gateway", "gateway-system", "nginx", "https-partner-example-com"),
                      ClientCertAuth(ca_secret="shop/partner-ca", mode="on", depth=100, provenance=P), frozenset())],
}


@pytest.mark.parametrize("case", sorted(EG))
def test_envoy_gateway_reads_back_what_it_emitted(case: str) -> None:
    assert _read("envoy-gateway", case) == EG[case]


NGF = {
    "rate-limit": [(_route("api-api-example-com"),
                    RateLimit(rate=10, unit="second", burst=50, status=503, provenance=P), frozenset()),
                   (_route("api-api-example-com"),
                    RateLimit(rate=300, unit="minute", burst=1500, status=503, provenance=P), frozenset())],
    "basic-auth": [(_route("basic-basic-example-com"),
                    BasicAuth(scheme="basic", secret="shop/basic-auth", realm="Staff only", provenance=P),
                    frozenset())],  # listed by both rules of the route: the whole route
    "ip-allow-deny": [(_route("office-office-example-com"),
                       IPAccess(allow=("10.0.0.0/8", "192.168.0.0/16"), deny=("10.1.2.0/24",), provenance=P),
                       frozenset())],
    "auth-url": [(_route("auth-auth-example-com"),
                  ExternalAuth(url="http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth",
                               response_headers=("X-Auth-Request-User", "X-Auth-Request-Email"), provenance=P),
                  frozenset())],
    "body-size": [(_route("upload-upload-example-com"), BodyLimit(max_bytes=8 << 20, provenance=P), frozenset())],
    "body-size-zero": [(_route("stream-stream-example-com"), BodyLimit(max_bytes=None, provenance=P), frozenset())],
    "timeouts": [(_route("slow-slow-example-com"),
                  Timeouts(connect_ms=3000, read_ms=300_000, send_ms=120_000, provenance=P), frozenset())],
    "retries": [(_route("flaky-flaky-example-com"),
                 Retries(on=("error", "timeout", "http_502", "http_503"), attempts=4, provenance=P), frozenset())],
}


@pytest.mark.parametrize("case", sorted(NGF))
def test_nginx_gateway_fabric_reads_back_what_it_emitted(case: str) -> None:
    assert _read("nginx-gateway-fabric", case) == NGF[case]


def test_registry_reads_policies_of_every_emitter_and_ignores_other_kinds() -> None:
    docs = list(yaml.safe_load_all((TESTDATA / "emit" / "envoy-gateway" / "rate-limit" / "expected.yaml").read_text()))
    got = read_policies(docs)
    assert {p.source for p in got} == {"BackendTrafficPolicy shop/api-api-example-com-traffic"}
    assert read_policies([d for d in docs if d["kind"] != "BackendTrafficPolicy"]) == []


def test_a_malformed_policy_is_an_error_naming_it() -> None:
    bad = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy",
           "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"targetRefs": [{"kind": "HTTPRoute", "name": "web"}], "basicAuth": {}}}
    with pytest.raises(PolicyReadError, match="SecurityPolicy shop/web"):
        discover_emitters().get("envoy-gateway").read_policies([bad])  # type: ignore[attr-defined]
