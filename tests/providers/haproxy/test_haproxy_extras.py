"""What an HAProxy Ingress asks beyond its HTTP rules (providers/_haproxy/extras.py): TLS
passthrough, TLS to the pods, server aliases and redirects from another host -- converted, and
answered by the model the way real haproxy answers them (the verify-haproxy golden asks it)."""

from __future__ import annotations

import yaml
from support import TESTDATA

INGRESS = TESTDATA / "convert" / "haproxy-ingress" / "extras" / "input.yaml"
TECH = TESTDATA / "convert" / "haproxy-tech" / "tls" / "input.yaml"


def _docs(ing2gw, path) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    r = ing2gw(["convert", "-f", str(path), "--validate", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    return list(yaml.safe_load_all(r.stdout))


def test_passthrough_backend_tls_alias_and_redirect_from(ing2gw) -> None:
    docs = _docs(ing2gw, INGRESS)
    (gateway,) = [d for d in docs if d["kind"] == "Gateway"]
    passthrough = [x for x in gateway["spec"]["listeners"] if x.get("tls", {}).get("mode") == "Passthrough"]
    assert [x["hostname"] for x in passthrough] == ["vault.example.com"]
    assert [d["spec"]["hostnames"] for d in docs if d["kind"] == "TLSRoute"] == [["vault.example.com"]]
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "BackendTLSPolicy"}
    assert sorted(policies) == ["api-tls", "shop-tls"]  # legacy's unverified TLS gets none
    assert policies["shop-tls"]["validation"]["hostname"] == "shop.internal"
    routes = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "HTTPRoute"}
    assert routes["shop-shop-example-com"]["hostnames"] == ["shop.example.com", "www.shop.example.com"]
    redirect = routes["shop-old-shop-example-com-redirect"]["rules"][0]["filters"][0]["requestRedirect"]
    assert redirect == {"hostname": "shop.example.com", "statusCode": 301}


def test_unverified_backend_tls_is_an_error(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(TECH)])
    assert r.exit_code == 1
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "HAPROXY-TECH-BACKEND-TLS-UNVERIFIED: Ingress shop/legacy" in errors[0]
    assert "hostname: shop.shop.svc" in r.stdout


def test_model_serves_the_alias_and_redirects_the_old_host(ing2gw) -> None:
    r = ing2gw(["route", "-f", str(INGRESS), "--as", "haproxy-ingress", "http://OLD-shop.example.com/a?b=1"])
    assert r.stdout.splitlines()[0] == "301 Redirect" and "redirect: 301 http://shop.example.com/a?b=1" in r.stdout
    r = ing2gw(["route", "-f", str(INGRESS), "--as", "haproxy-ingress", "http://www.shop.example.com/api/x"])
    assert r.stdout.splitlines()[0] == "200 Routed" and "path /api" in r.stdout
