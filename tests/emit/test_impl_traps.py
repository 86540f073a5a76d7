"""The traps of MAPPING.md, checked on the golden outputs of each implementation emitter
(``testdata/emit/<emitter>/<case>/``) by what they must and must not contain -- so an updated
golden cannot quietly bring a trap back."""

from __future__ import annotations

import json
from typing import Any

import yaml
from support import TESTDATA

ROOT = TESTDATA / "emit"


def _objects(emitter: str, case: str, kind: str) -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / emitter / case / "expected.yaml").read_text())
    return [d for d in docs if d["kind"] == kind]


def _notes(emitter: str, case: str, code: str) -> list[str]:
    notes = json.loads((ROOT / emitter / case / "expected-notes.json").read_text())
    return [n["message"] for n in notes if n["code"] == code]


def test_eg_zero_body_size_is_never_a_zero_limit() -> None:
    assert _objects("envoy-gateway", "body-size-zero", "BackendTrafficPolicy") == []
    (limited,) = _objects("envoy-gateway", "body-size", "BackendTrafficPolicy")
    assert limited["spec"]["requestBuffer"] == {"limit": "8Mi"}


def test_eg_ext_auth_calls_the_exact_path_and_forwards_the_cookie() -> None:
    (policy,) = _objects("envoy-gateway", "auth-url", "SecurityPolicy")
    ext = policy["spec"]["extAuth"]
    assert ext["http"]["pathOverride"] == "/oauth2/auth" and "path" not in ext["http"]
    assert "cookie" in ext["headersToExtAuth"]
    assert ext["http"]["headersToBackend"] == ["x-auth-request-user", "x-auth-request-email"]
    assert ext["statusOnError"] == 500  # nginx answers 500 when the auth call fails
    (grant,) = _objects("envoy-gateway", "auth-url", "ReferenceGrant")
    assert grant["metadata"]["namespace"] == "auth" and grant["spec"]["from"][0]["kind"] == "SecurityPolicy"
    assert any("redirect to https://auth.example.com/oauth2/start" in m for m in _notes("envoy-gateway", "auth-url",
                                                                                          "IMPL-POLICY"))


def test_eg_deny_list_is_checked_before_the_allow_list() -> None:
    (policy,) = _objects("envoy-gateway", "ip-allow-deny", "SecurityPolicy")
    authz = policy["spec"]["authorization"]
    assert authz["defaultAction"] == "Deny"
    assert [(r["action"], r["principal"]["clientCIDRs"]) for r in authz["rules"]] == [
        ("Deny", ["10.1.2.0/24"]), ("Allow", ["10.0.0.0/8", "192.168.0.0/16"])]


def test_eg_sha_only_htpasswd_names_the_secret_and_key_to_create() -> None:
    (policy,) = _objects("envoy-gateway", "basic-auth", "SecurityPolicy")
    assert policy["spec"]["basicAuth"]["users"] == {"name": "basic-auth-htpasswd"}
    (layout,) = _notes("envoy-gateway", "basic-auth", "IMPL-SECRET-LAYOUT")
    assert "create Secret shop/basic-auth-htpasswd with key .htpasswd" in layout and "{SHA}" in layout


def test_eg_rate_limit_is_per_client_and_says_429_and_burst() -> None:
    (policy,) = _objects("envoy-gateway", "rate-limit", "BackendTrafficPolicy")
    rules = policy["spec"]["rateLimit"]["local"]["rules"]
    assert {r["clientSelectors"][0]["sourceCIDR"]["value"] for r in rules} == {"0.0.0.0/0", "::/0"}
    assert all(r["clientSelectors"][0]["sourceCIDR"]["type"] == "Distinct" for r in rules)
    assert all({"sourceCIDR": {"type": "Exact", "value": "10.0.0.0/8", "invert": True}} in r["clientSelectors"]
               for r in rules)
    (rps,) = [m for m in _notes("envoy-gateway", "rate-limit", "IMPL-POLICY") if "rate=10," in m]
    assert "429, not 503" in rps and "not 60" in rps


def test_eg_lost_waf_fails_the_run() -> None:
    assert (ROOT / "envoy-gateway" / "waf" / "exit-code").read_text().strip() == "1"
    assert _notes("envoy-gateway", "waf", "PROTECTION-LOST")


def _snippet(emitter: str, case: str, kind: str, context: str) -> str:
    (obj,) = _objects(emitter, case, kind)
    (value,) = [s["value"] for s in obj["spec"]["snippets"] if s["context"] == context]
    return str(value)


def test_ngf_zero_body_size_disables_the_check_and_sizes_fit_the_pattern() -> None:
    (zero,) = _objects("nginx-gateway-fabric", "body-size-zero", "ClientSettingsPolicy")
    assert zero["spec"]["body"] == {"maxSize": "0"}  # NGF: "0" disables the check, as in nginx
    (limited,) = _objects("nginx-gateway-fabric", "body-size", "ClientSettingsPolicy")
    assert limited["spec"]["body"] == {"maxSize": "8m"}
    assert limited["spec"]["targetRef"]["kind"] == "HTTPRoute"


def test_ngf_ext_auth_calls_the_exact_url_with_every_client_header() -> None:
    location = _snippet("nginx-gateway-fabric", "auth-url", "SnippetsPolicy", "http.server")
    assert "proxy_pass http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth;" in location
    assert "internal;" in location and "proxy_pass_request_body off;" in location
    # auth_request sends the client's headers, Cookie included; nothing strips them
    assert "Cookie" not in location and "proxy_pass_request_headers off" not in location
    rule = _snippet("nginx-gateway-fabric", "auth-url", "SnippetsFilter", "http.server.location")
    name = location.split()[2]
    assert rule.splitlines()[0] == f"auth_request {name};"
    assert "proxy_set_header X-Auth-Request-User $auth_x_auth_request_user;" in rule
    assert "error_page 401 = https://auth.example.com/oauth2/start?rd=" in rule


def test_ngf_deny_list_is_checked_before_the_allow_list() -> None:
    lines = _snippet("nginx-gateway-fabric", "ip-allow-deny", "SnippetsFilter", "http.server.location").splitlines()
    assert lines == ["deny 10.1.2.0/24;", "allow 10.0.0.0/8;", "allow 192.168.0.0/16;", "deny all;"]


def test_ngf_rate_limit_keeps_nginx_semantics() -> None:
    (policy,) = _objects("nginx-gateway-fabric", "rate-limit", "RateLimitPolicy")
    assert policy["spec"]["rateLimit"] == {
        "local": {"rules": [{"rate": "10r/s", "key": "$binary_remote_addr", "burst": 50, "noDelay": True},
                            {"rate": "300r/m", "key": "$binary_remote_addr", "burst": 1500, "noDelay": True}]},
        "rejectCode": 503}


def test_ngf_basic_auth_uses_the_source_secret_and_key() -> None:
    (f,) = _objects("nginx-gateway-fabric", "basic-auth", "AuthenticationFilter")
    assert f["spec"] == {"type": "Basic", "basic": {"secretRef": {"name": "basic-auth"}, "realm": "Staff only"}}
    assert _notes("nginx-gateway-fabric", "basic-auth", "IMPL-SECRET-LAYOUT") == []


def test_ngf_lost_client_certificates_and_waf_fail_the_run() -> None:
    for case in ("client-certs", "waf"):
        assert (ROOT / "nginx-gateway-fabric" / case / "exit-code").read_text().strip() == "1"
        assert _notes("nginx-gateway-fabric", case, "PROTECTION-LOST")


def test_global_deny_list_and_ingress_allow_list_combine_deny_first() -> None:
    eg = [p["spec"]["authorization"] for p in _objects("envoy-gateway", "controller-config", "SecurityPolicy")
          if p["metadata"]["name"].startswith("shop-")]
    assert eg == [{"defaultAction": "Deny", "rules": [
        {"action": "Deny", "principal": {"clientCIDRs": ["10.66.0.0/16"]}},
        {"action": "Allow", "principal": {"clientCIDRs": ["10.0.0.0/8"]}}]}]
    ngf = [s["value"] for f in _objects("nginx-gateway-fabric", "controller-config", "SnippetsFilter")
           if f["metadata"]["name"].startswith("shop-") for s in f["spec"]["snippets"]]
    assert len(ngf) == 1 and ngf[0].endswith("deny 10.66.0.0/16;\nallow 10.0.0.0/8;\ndeny all;")


def test_address_lists_intersect_their_allow_lists() -> None:
    from ing2gw.emit.impl.values import access_lists
    from ing2gw.intents import IPAccess
    from ing2gw.ir import Provenance

    p = Provenance("Ingress", "shop", "web")
    a = IPAccess(allow=("10.0.0.0/8", "192.168.1.0/24"), deny=("10.9.0.0/16",), provenance=p)
    b = IPAccess(allow=("10.1.0.0/16", "172.16.0.0/12"), deny=("10.1.2.0/24",), provenance=p)
    assert access_lists(a, [a, b], "list") == (["10.9.0.0/16", "10.1.2.0/24"], ["10.1.0.0/16"])
    assert not access_lists(b, [a, b], "list").spec  # type: ignore[union-attr]  # the first one carries both
    c = IPAccess(allow=("192.0.2.0/24",), provenance=p)
    assert access_lists(a, [a, c], "list") == (["0.0.0.0/0", "::/0"], [])  # nothing in common: everyone refused
