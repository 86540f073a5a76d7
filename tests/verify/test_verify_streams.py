"""``verify`` replays stream routes (ing2gw.streamverify): the probes, that a conversion which
changes a stream's behaviour is an unexplained difference, that notes explain only the
connections their scope names, and that reports do not depend on the input's order."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support import TESTDATA, verify_report

from ing2gw.notes import Fidelity, Level, Note, stream_scope
from ing2gw.router.streams import Connection, StreamOutcome
from ing2gw.streamverify import UNKNOWN_SNI, replay_streams, stream_probes
from ing2gw.verify import VerifyReport

KONG = TESTDATA / "verify" / "kong-streams" / "input.yaml"


class _Fixed:
    """A stream model that sends every TCP connection to one backend."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def endpoints(self) -> list[Connection]:
        return [Connection("TCP", 9000)]

    def route(self, conn: Connection, /) -> StreamOutcome:
        if conn.protocol == "UDP" or conn.port != 9000:
            return StreamOutcome(None, "closed")
        return StreamOutcome(self.backend, route="TCPIngress data/db")


_GATEWAY = [
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "kong", "namespace": "gw"},
     "spec": {"gatewayClassName": "kong", "listeners": [
         {"name": "tcp-9000", "port": 9000, "protocol": "TCP", "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
    {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "TCPRoute",
     "metadata": {"name": "db", "namespace": "data", "annotations": {"ing2gw.io/source": "TCPIngress data/db"}},
     "spec": {"parentRefs": [{"name": "kong", "namespace": "gw"}], "rules": [{"backendRefs": [
         {"name": "postgres", "port": 5432}]}]}},
]


def test_probes_cover_each_port_sni_an_unknown_sni_and_an_unused_port() -> None:
    named = [Connection("TLS", 9443, "a.example.com"), Connection("UDP", 53), Connection("TCP", 9000),
             Connection("TLS", 9443, "*.example.com")]
    assert [c.url for c in stream_probes(named)] == [
        "tcp://:9000", "tcp://:9443", "tcp://:9444", f"tls://{UNKNOWN_SNI}:9000", "tls://a.example.com:9443",
        "tls://ing2gw-any.example.com:9443", "tls://ing2gw-deeper.ing2gw-any.example.com:9443",
        f"tls://{UNKNOWN_SNI}:9443", "udp://:53", "udp://:9444"]
    assert stream_probes([]) == []


def test_a_changed_backend_is_an_unexplained_difference() -> None:
    report = VerifyReport("kong", 0)
    replay_streams(report, _GATEWAY, _Fixed("data/mysql:3306"), [])
    assert (report.requests, report.agree) == (3, 1)  # tcp://:9000 and a ClientHello there differ, :9001 agrees
    diff = report.differences[0]
    assert [d.request["url"] for d in report.differences] == ["tcp://:9000", f"tls://{UNKNOWN_SNI}:9000"]
    assert diff.aspects == ("backend",) and not diff.explained
    assert diff.request == {"method": "TCP", "url": "tcp://:9000", "headers": {}}
    assert diff.ingresses == ("TCPIngress data/db",)
    assert diff.source["backend"] == "data/mysql:3306" and diff.gateway["backend"] == "data/postgres:5432"


def test_notes_explain_only_the_connections_their_scope_names() -> None:
    def note(scope: tuple[str, str]) -> Note:
        return Note("X-STREAM", Level.WARNING, "m", subject="TCPIngress data/db", fidelity=Fidelity.APPROXIMATE,
                    aspects=frozenset({"backend"}), scope=(scope,))

    for scope, explained in [(stream_scope("TCP", 9000), True), (stream_scope("TCP", 9001), False),
                             (stream_scope("UDP", 9000), False), (("*", ""), False)]:
        report = VerifyReport("kong", 0)
        replay_streams(report, _GATEWAY, _Fixed("data/mysql:3306"), [note(scope)])
        assert [d.explained for d in report.differences] == [explained, False], scope


def test_the_report_does_not_depend_on_the_input_order(ing2gw, tmp_path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(KONG.read_text()) if d]
    reversed_input = tmp_path / "reversed.yaml"
    reversed_input.write_text(yaml.safe_dump_all(list(reversed(docs))))
    first = verify_report(ing2gw, "-f", str(KONG))
    again = verify_report(ing2gw, "-f", str(reversed_input))
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    urls = {d["request"]["url"] for d in first["differences"]}
    assert {"tls://mq.example.com:9443", f"tls://{UNKNOWN_SNI}:9443"} <= urls


def test_without_the_generated_probes_no_stream_is_replayed(ing2gw, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases: []\n")
    report = verify_report(ing2gw, "-f", str(KONG), "--no-generate", "--cases", str(cases))
    assert report["summary"]["requests"] == 0


def test_ingress_nginx_ssl_passthrough_is_replayed_as_connections(ing2gw) -> None:
    from ing2gw.providers.ingress_nginx import PROVIDER
    from ing2gw.resources import build_resource_set
    from ing2gw.yamlio import Document

    case = TESTDATA / "verify" / "ssl-passthrough" / "input.yaml"
    docs = [Document(d, f"<test>:{i + 1}") for i, d in enumerate(yaml.safe_load_all(case.read_text())) if d]
    streams = PROVIDER.data_plane.streams(build_resource_set(docs, kinds=PROVIDER.kinds))
    assert streams is not None

    def out(sni: str | None, protocol: str = "TLS", port: int = 443) -> tuple[str | None, str]:
        o = streams.route(Connection(protocol, port, sni))
        return o.backend, o.tls

    assert out("vault.example.com") == ("secrets/vault:8200", "passthrough")  # the older Ingress's "/", named port
    assert out("git.example.com") == ("dev/gitea:3000", "passthrough")
    assert out("nohome.example.com")[0] is None and out("canary.example.com")[0] is None
    assert out(None, "TCP")[0] is None and out("git.example.com", port=8443)[0] is None
    report = verify_report(ing2gw, "-f", str(case))
    assert report["summary"]["unexplained"] == 0
    # the conversion's TLSRoute sent elsewhere: the stream replay finds it, and no note explains it
    r = ing2gw(["convert", "-f", str(case), "-q"])
    manifests = [d for d in yaml.safe_load_all(r.stdout) if d]
    for m in manifests:
        if m["kind"] == "TLSRoute" and m["spec"]["hostnames"] == ["git.example.com"]:
            m["spec"]["rules"][0]["backendRefs"][0]["port"] = 3001
    broken = VerifyReport("ingress-nginx", 0)
    replay_streams(broken, manifests, streams, [])
    (diff,) = broken.differences
    assert diff.request["url"] == "tls://git.example.com:443" and diff.aspects == ("backend",) and not diff.explained


def test_contour_tcpproxy_is_replayed_with_its_weights(ing2gw) -> None:
    case = TESTDATA / "verify" / "contour-tcpproxy" / "input.yaml"
    r = ing2gw(["route", "-f", str(case), "--as", "contour", "tls://mq.example.com:443", "-o", "json"])
    assert json.loads(r.stdout) == {
        "status": "accepted", "backend": "data/rabbit:5672", "tls": "terminate (data/mq-tls)",
        "weights": {"data/rabbit:5672": 80, "data/rabbit-next:5672": 20},  # the unweighted service gets none
        "listener": "Envoy HTTPS listener :443", "route": "HTTPProxy data/mq-backend"}
    r = ing2gw(["route", "-f", str(case), "--as", "contour", "tls://db.example.com:443"])
    assert r.stdout.startswith("accepted: data/postgres:5432\ntls: passthrough\n")
    report = verify_report(ing2gw, "-f", str(case))
    assert report["summary"]["differ"] == 0 and report["summary"]["requests"] > 4


def test_cilium_tls_passthrough_is_replayed_as_connections(ing2gw) -> None:
    case = TESTDATA / "verify" / "cilium-routing" / "input.yaml"
    docs = [d for d in yaml.safe_load_all(case.read_text()) if d]
    hosts = sorted(r["host"] for d in docs if d.get("kind") == "Ingress"
                   and str((d["metadata"].get("annotations") or {}).get("ingress.cilium.io/tls-passthrough")) in
                   ("enabled", "true") for r in d["spec"].get("rules") or [] if r.get("host"))
    assert hosts  # the case has passthrough hosts
    report = verify_report(ing2gw, "-f", str(case))
    streamed = {d["request"]["url"] for d in report["differences"] if d["request"]["method"] == "TLS"}
    assert not streamed  # every passthrough connection agrees
    r = ing2gw(["route", "-f", str(case), "--as", "cilium", f"tls://{hosts[0]}:443"])
    assert r.exit_code == 0 and r.stdout.startswith("accepted: ") and "tls: passthrough" in r.stdout
    r = ing2gw(["route", "-f", str(case), "--as", "cilium", "tls://elsewhere.example.com:443"])
    assert r.stdout.startswith("refused: not a passthrough SNI")
