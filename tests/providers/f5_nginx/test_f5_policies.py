"""F5 NGINX Policy objects referenced from VirtualServers: what each becomes, how route and
subroute policies replace the spec's of the same type, what a missing Policy does, and the
model answering with the access lists in force (``route --as f5-nginx``)."""

from __future__ import annotations

import json

from support import ROOT

CASE = ROOT / "testdata" / "convert" / "f5-nginx" / "policies" / "input.yaml"


def _route(ing2gw, url: str, client: str, *extra: str) -> str:  # type: ignore[no-untyped-def]
    r = ing2gw(["route", "-f", str(CASE), "--as", "f5-nginx", url, "--client", client, *extra])
    assert r.exit_code == 0, r.stderr
    return str(r.stdout.splitlines()[0])


def test_every_protection_is_carried_or_fails_the_run(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE)])
    assert r.exit_code == 1 and "UNPROTECTED" in r.stderr
    lost = [ln for ln in r.stderr.splitlines() if "PROTECTION-LOST" in ln]
    for kind in ("accessControl", "rateLimit", "basicAuth", "ingressMTLS", "waf", "jwt", "apiKey"):
        assert any(f" {kind})]" in ln for ln in lost), kind
    assert "type: CORS" in r.stdout and "allowOrigins" in r.stdout


def test_route_policies_replace_the_specs_of_their_type(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE), "--allow-unprotected"])
    admin = [ln for ln in r.stderr.splitlines() if "spec.routes[2].policies (" in ln]
    assert any("block-partner accessControl" in ln and "deny=203.0.113.0/24" in ln for ln in admin)
    assert not any("office-only" in ln for ln in admin)  # replaced by the route's own access list
    shop = [ln for ln in r.stderr.splitlines() if "VirtualServerRoute cafe/shop [spec.subroutes[0]" in ln]
    assert any("api-keys apiKey" in ln for ln in shop) and any("office-only accessControl" in ln for ln in shop)
    assert "F5-POLICY-MTLS-ROUTE: VirtualServer cafe/cafe [spec.routes[2].policies[2]]" in r.stderr


def test_missing_policy_answers_500_on_both_sides(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE), "--allow-unprotected", "-o", "json"])
    assert "F5-POLICY-INVALID: VirtualServer cafe/cafe [spec.routes[3].policies[0]]: Policy cafe/not-there" in r.stderr
    rules = [rule for doc in json.loads(r.stdout)["items"] if doc["kind"] == "HTTPRoute"
             for rule in doc["spec"]["rules"]
             if any(m.get("path", {}).get("value") == "/broken" for m in rule.get("matches", []))]
    assert rules and all("backendRefs" not in rule for rule in rules)
    assert _route(ing2gw, "https://cafe.example.com/broken", "10.1.2.3").startswith("500")


def test_model_applies_the_access_lists_in_force(ing2gw) -> None:
    alice = ("-H", "Authorization: Basic YWxpY2U6YWxpY2UtcHc=")
    assert _route(ing2gw, "https://cafe.example.com/tea", "10.1.2.3", *alice).startswith("200")
    assert _route(ing2gw, "https://cafe.example.com/tea", "198.51.100.7", *alice).startswith("403")
    # /tea's basicAuth policy: 401 without credentials, after the access list's 403
    assert _route(ing2gw, "https://cafe.example.com/tea", "10.1.2.3").startswith("401")
    # /admin's deny list replaces the spec's allow list
    assert _route(ing2gw, "https://cafe.example.com/admin", "198.51.100.7").startswith("200")
    assert _route(ing2gw, "https://cafe.example.com/admin", "203.0.113.9").startswith("403")
    # the VirtualServerRoute's subroutes inherit the spec's allow list through /shop
    assert _route(ing2gw, "https://cafe.example.com/shop/api", "198.51.100.7").startswith("403")
