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


def _streams(text: str):  # type: ignore[no-untyped-def]
    from ing2gw.providers.kong import PROVIDER
    from ing2gw.providers.kong.streammodel import KongStreams
    from ing2gw.resources import build_resource_set
    from ing2gw.yamlio import Document

    docs = [Document(d, f"<test>:{i + 1}") for i, d in enumerate(yaml.safe_load_all(text)) if d]
    return KongStreams.from_resources(build_resource_set(docs, kinds=PROVIDER.kinds))


def test_the_stream_model_routes_as_kong_does() -> None:
    from ing2gw.router.streams import Connection

    model = _streams(CASE.read_text())
    assert model is not None

    def out(protocol: str, port: int, sni: str | None = None) -> tuple[str | None, str, str | None]:
        o = model.route(Connection(protocol, port, sni))
        return o.backend, o.tls, o.certificate

    assert out("TCP", 9000) == ("data/postgres:5432", "", None)  # the first host-less rule keeps the port
    assert out("TLS", 9000, "db.example.com") == ("data/postgres:5432", "", None)  # a plain port forwards TLS
    assert out("TLS", 9443, "redis.example.com") == ("data/redis:6379", "terminate", "data/redis-tls")
    assert out("TLS", 9443, "mq.example.com") == ("data/rabbit:5672", "terminate", "default")
    assert out("TLS", 9443, "other.example.com")[0] is None  # no rule after the handshake
    assert out("TCP", 9443)[0] is None  # an ssl port needs a ClientHello
    assert out("TLS", 8443, "vault.example.com") == ("sec/vault:8200", "passthrough", None)
    assert out("TLS", 8443, "other.example.com")[0] is None
    assert out("UDP", 53) == ("infra/coredns:53", "", None)
    assert out("UDP", 9000)[0] is None and out("TCP", 53)[0] is None
    assert [c.url for c in model.endpoints()] == ["tcp://:9000", "tls://vault.example.com:8443",
                                                  "tls://mq.example.com:9443", "tls://redis.example.com:9443",
                                                  "udp://:53"]


def test_a_host_less_rule_beside_sni_rules_is_noted_and_left_out(ing2gw) -> None:
    doc = """\
apiVersion: configuration.konghq.com/v1beta1
kind: TCPIngress
metadata: {name: db, namespace: data, annotations: {kubernetes.io/ingress.class: kong}}
spec:
  rules:
  - port: 9443
    backend: {serviceName: echo, servicePort: 7}
  - host: redis.example.com
    port: 9443
    backend: {serviceName: redis, servicePort: 6379}
  tls:
  - {hosts: [redis.example.com], secretName: redis-tls}
"""
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=doc)
    assert r.exit_code == 0, r.stderr
    assert "KONG-STREAM-TLS-PORT: TCPIngress data/db [spec.rules[0]]" in r.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(r.stdout) if d and d["kind"].endswith("Route"))
    assert kinds == ["TLSRoute"]
    model = _streams(doc)
    assert model is not None
    from ing2gw.router.streams import Connection

    assert model.route(Connection("TLS", 9443, "other.example.com")).backend == "data/echo:7"  # Kong's fallback


def test_wildcard_sni_rules_route_any_depth_and_certificates_cover_one_label() -> None:
    from ing2gw.router.streams import Connection

    model = _streams((ROOT / "testdata" / "verify" / "kong-streams" / "input.yaml").read_text())
    assert model is not None
    one = model.route(Connection("TLS", 9443, "a.tenants.example.com"))
    deep = model.route(Connection("TLS", 9443, "a.b.tenants.example.com"))
    assert (one.backend, one.certificate) == ("data/tenant-db:5432", "data/tenants-tls")
    assert (deep.backend, deep.certificate) == ("data/tenant-db:5432", "default")
    assert model.route(Connection("TLS", 9443, "tenants.example.com")).backend == "data/echo:7"  # the fallback


def test_certificate_lookup_follows_kongs_order() -> None:
    """Kong's own unit tests (kong.runloop.certificate, produce_wild_snis) give the wildcard
    names it tries: a two-label name has no ``*.`` form, only ``name.*``; deeper names have
    both; a client without SNI gets the default certificate before any catch-all ``*``."""
    from ing2gw.providers.kong.streammodel import DEFAULT_CERTIFICATE, KongStreams

    certs = {"*.test": "ns/tld", "domain.*": "ns/suffix", "*.domain.test": "ns/prefix",
             "www.domain.*": "ns/www-suffix", "*": "ns/catch-all", "exact.domain.test": "ns/exact"}
    model = KongStreams([], certs)
    assert model.certificate("exact.domain.test") == "ns/exact"
    assert model.certificate("www.domain.test") == "ns/prefix"  # the prefix form before the suffix form
    assert model.certificate("domain.test") == "ns/suffix"  # no "*.test" for two labels
    assert model.certificate("a.www.domain.test") == "ns/catch-all"  # "*.www.domain.test", "a.www.domain.*"
    assert model.certificate("") == DEFAULT_CERTIFICATE  # no SNI: never the catch-all
    assert KongStreams([], {"www.domain.*": "ns/s"}).certificate("www.domain.test") == "ns/s"
    assert KongStreams([], {}).certificate("x.example.com") == DEFAULT_CERTIFICATE
