"""Kong TCPIngress / UDPIngress -> listeners and TCPRoute / TLSRoute / UDPRoute, end to end."""

from __future__ import annotations

import yaml
from support import ROOT

CASE = ROOT / "testdata" / "convert" / "kong" / "streams" / "input.yaml"


def test_stream_rules_become_listeners_and_routes(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE), "--validate", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    (gateway,) = [d for d in docs if d["kind"] == "Gateway"]
    listeners = {x["name"]: x for x in gateway["spec"]["listeners"]}
    assert listeners["tcp-9000"]["protocol"] == "TCP" and listeners["udp-53"]["protocol"] == "UDP"
    assert listeners["tls-9443-redis-example-com"]["tls"]["mode"] == "Terminate"
    assert listeners["tls-8443-vault-example-com"]["tls"] == {"mode": "Passthrough"}
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in docs if d["kind"].endswith("Route"))
    assert kinds == [("TCPRoute", "db-9000"), ("TLSRoute", "db-9443-redis-example-com"),
                     ("TLSRoute", "vault-8443-vault-example-com"), ("UDPRoute", "dns-53")]
    assert "KONG-STREAM-NO-CERTIFICATE: TCPIngress data/db [spec.rules[2]]" in r.stderr
    assert "KONG-STREAM-PORT-TAKEN: TCPIngress data/legacy" in r.stderr


def test_a_broken_rule_is_one_error_and_the_rest_converts(ing2gw) -> None:
    doc = """\
apiVersion: configuration.konghq.com/v1beta1
kind: TCPIngress
metadata: {name: db, namespace: data, annotations: {kubernetes.io/ingress.class: kong}}
spec:
  rules:
  - backend: {serviceName: postgres, servicePort: 5432}
  - port: 9001
    backend: {serviceName: mysql, servicePort: 3306}
"""
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "spec.rules[0].port must be a port number" in errors[0]
    assert "name: db-9001" in r.stdout
