"""The HAProxy controllers' ``ssl-passthrough`` hosts as a stream model
(``providers/_haproxy/streammodel.py``): SNI looked up exactly, then one label up; the oldest
Ingress's ``/`` backend; everything else on to the HTTPS frontend."""

from __future__ import annotations

import json
from typing import Any

from support import TESTDATA

CASE = TESTDATA / "verify" / "haproxy-passthrough" / "input.yaml"
EXTRAS = TESTDATA / "verify-haproxy" / "haproxy-ingress-extras" / "input.yaml"


def _route(ing2gw: Any, case: Any, provider: str, url: str) -> dict[str, Any]:
    r = ing2gw(["route", "-f", str(case), "--as", provider, url, "-o", "json"])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_passthrough_hosts_are_looked_up_as_haproxy_does(ing2gw) -> None:
    def backend(url: str) -> str | None:
        return _route(ing2gw, CASE, "haproxy-tech", url).get("backend")

    assert _route(ing2gw, CASE, "haproxy-tech", "tls://VAULT.example.com:443") == {
        "status": "accepted", "backend": "sec/vault:8200", "tls": "passthrough",  # the older Ingress, named port
        "listener": "haproxy-tech TLS passthrough :443", "route": "Ingress sec/vault"}
    assert backend("tls://a.apps.example.com:443") == "apps/tenant-router:8443"
    assert backend("tls://a.b.apps.example.com:443") is None  # two labels under the wildcard
    assert backend("tls://apps.example.com:443") is None and backend("tcp://:443") is None
    assert backend("tls://vault.example.com:8443") is None
    assert _route(ing2gw, EXTRAS, "haproxy-ingress", "tls://vault.example.com:443")["backend"] == "sec/vault:8200"


def test_a_host_two_ingresses_pass_through_converts_once(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE), "--fail-on", "never"])
    assert r.exit_code == 0 and "Traceback" not in r.stderr and "Internal error" not in r.stderr
    assert r.stdout.count("kind: TLSRoute") == 2
    assert "HAPROXY-TECH-SSL-PASSTHROUGH-HOST-TAKEN: Ingress sec/vault-next" in r.stderr
