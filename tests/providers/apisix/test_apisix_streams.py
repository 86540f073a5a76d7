"""ApisixRoute ``stream`` rules -> TCP/TLS/UDP listeners and TCPRoute/TLSRoute/UDPRoute: the golden
(``testdata/convert/apisix/streams``) is valid against the experimental CRDs themselves, each rule
lands on the listener its protocol, port and SNI need, and what APISIX would not serve is
not converted, with the note that says why."""

from __future__ import annotations

from typing import Any

import yaml
from support import SHARED, TESTDATA

CASE = TESTDATA / "convert" / "apisix" / "streams"


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((CASE / "expected.yaml").read_text()) if d]


def _convert(ing2gw, tmp_path, text: str) -> tuple[list[dict[str, Any]], str]:
    """The documents and notes of converting ``text``."""
    src = tmp_path / "in.yaml"
    src.write_text(text)
    r = ing2gw(["convert", "-f", str(src), "--fail-on", "never"])
    return [d for d in yaml.safe_load_all(r.stdout) if d], r.stderr


def test_golden_is_valid_against_the_experimental_crds(ing2gw) -> None:
    crds = SHARED / "gateway-api" / "crds" / "experimental"
    r = ing2gw(["validate", "-f", str(CASE / "expected.yaml"), "--crd", str(crds), "--channel", "experimental",
                "--strict"])
    assert r.exit_code == 0, r.output
    assert "7 valid, 0 invalid, 0 without schema" in r.stdout


def test_each_rule_gets_the_listener_it_needs() -> None:
    docs = _docs()
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    listeners = {x["name"]: (x["port"], x["protocol"], x.get("hostname"), (x.get("tls") or {}).get("mode"))
                 for x in gateway["spec"]["listeners"]}
    assert listeners["tcp-9100"] == (9100, "TCP", None, None)
    assert listeners["udp-53"] == (53, "UDP", None, None)
    assert listeners["tls-9443-redis-example-com"] == (9443, "TLS", "redis.example.com", "Terminate")
    # the wildcard ApisixTls covers the SNI (APISIX looks the SNI up exactly, then by wildcard)
    assert listeners["tls-9443-cache-data-example-com"] == (9443, "TLS", "cache.data.example.com", "Terminate")
    assert not [n for n in listeners if "mq" in n or n.endswith(("9200", "5353"))]
    routes = {(d["kind"], d["metadata"]["name"]): (d["spec"]["parentRefs"][0]["sectionName"],
                                                   d["spec"]["rules"][0]["backendRefs"][0])
              for d in docs if d["kind"] in ("TCPRoute", "TLSRoute", "UDPRoute")}
    assert routes == {
        ("TCPRoute", "db-postgres"): ("tcp-9100", {"name": "postgres", "port": 5432}),  # the port name resolved
        ("TLSRoute", "db-redis"): ("tls-9443-redis-example-com", {"name": "redis", "port": 6379}),
        ("TLSRoute", "db-cache"): ("tls-9443-cache-data-example-com", {"name": "redis", "port": 6379}),
        ("UDPRoute", "dns-dns"): ("udp-53", {"name": "coredns", "port": 53}),
    }


def test_what_is_not_converted_is_noted(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE / "input.yaml"), "--fail-on", "never"])
    assert r.exit_code == 1  # the stream ip-restriction is a protection the standard output loses
    lines = r.stderr.splitlines()

    def noted(code: str, field: str) -> bool:
        return any(f": {code}: " in line and f"[{field}]" in line for line in lines)

    assert noted("APISIX-STREAM-NO-CERTIFICATE", "spec.stream[3].match.host")
    assert noted("APISIX-STREAM-PORT-TAKEN", "spec.stream[4]")
    assert noted("APISIX-STREAM-INVALID", "spec.stream[5]")
    assert noted("APISIX-STREAM-HTTP-PLUGIN", "spec.stream[0].plugins")
    assert noted("APISIX-STREAM-UDP-HOST", "spec.stream[1].match.host")
    assert noted("PROTECTION-LOST", "spec.stream[0].plugins ip-restriction")


def test_sni_rules_take_the_port_from_a_host_less_tcp_rule(ing2gw, tmp_path) -> None:
    """A port with SNI rules speaks TLS in APISIX: a host-less TCP rule there is left out."""
    docs, notes = _convert(ing2gw, tmp_path, """
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: mixed, namespace: data}
spec:
  stream:
    - {name: any, protocol: TCP, match: {ingressPort: 9443}, backend: {serviceName: a, servicePort: 1}}
    - {name: sni, protocol: TCP, match: {ingressPort: 9443, host: a.example.com},
       backend: {serviceName: a, servicePort: 1}}
---
apiVersion: apisix.apache.org/v2
kind: ApisixTls
metadata: {name: a, namespace: data}
spec: {hosts: [a.example.com], secret: {name: a-tls}}
""")
    kinds = [d["kind"] for d in docs]
    assert "TLSRoute" in kinds and "TCPRoute" not in kinds
    assert "APISIX-STREAM-TLS-PORT" in notes
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    assert [x["protocol"] for x in gateway["spec"]["listeners"] if x["port"] == 9443] == ["TLS"]


def test_a_refused_apisixroute_gives_no_stream_route(ing2gw, tmp_path) -> None:
    """The controller refuses an ApisixRoute with an invalid expression whole: its streams too."""
    docs, notes = _convert(ing2gw, tmp_path, """
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: bad, namespace: data}
spec:
  http:
    - name: web
      match:
        paths: [/*]
        exprs: [{subject: {scope: Header}, op: Equal, value: x}]
      backends: [{serviceName: web, servicePort: 80}]
  stream:
    - {name: pg, protocol: TCP, match: {ingressPort: 9100}, backend: {serviceName: pg, servicePort: 5432}}
""")
    assert "APISIX-EXPR-INVALID" in notes
    assert not [d for d in docs if d["kind"] == "TCPRoute"]


def test_the_stream_model_routes_as_apisix_does() -> None:
    from ing2gw.providers.apisix import PROVIDER
    from ing2gw.providers.apisix.streammodel import ApisixStreams
    from ing2gw.resources import build_resource_set
    from ing2gw.router.streams import Connection
    from ing2gw.yamlio import Document

    text = (TESTDATA / "verify" / "apisix-streams" / "input.yaml").read_text()
    docs = [Document(d, f"<test>:{i + 1}") for i, d in enumerate(yaml.safe_load_all(text)) if d]
    model = ApisixStreams.from_resources(build_resource_set(docs, kinds=PROVIDER.kinds))
    assert model is not None

    def out(protocol: str, port: int, sni: str | None = None) -> tuple[str | None, str, str | None]:
        o = model.route(Connection(protocol, port, sni))
        return o.backend, o.tls, o.certificate

    assert out("TCP", 9100) == ("data/postgres:5432", "", None)  # the first host-less rule of the port
    assert out("TLS", 9443, "redis.example.com") == ("data/redis:6379", "terminate", "data/redis-tls")
    # a wildcard rule takes names any depth under it, but the certificate covers one label only
    assert out("TLS", 9443, "a.cache.example.com") == ("data/redis:6379", "terminate", "data/redis-tls")
    assert out("TLS", 9443, "a.b.cache.example.com")[0] is None
    assert out("TLS", 9443, "mq.example.com")[0] is None  # no SSL object: the handshake fails
    assert out("TLS", 9443, "ldap.example.com") == ("data/postgres:5432", "terminate", "data/redis-tls")
    assert out("TCP", 9443)[0] is None  # a TLS port needs a ClientHello
    assert out("UDP", 53) == ("infra/coredns:53", "", None)
    assert out("UDP", 5353)[0] is None  # a UDP rule with a host matches nothing
