"""Istio's gateway TCP and TLS servers as a stream model (``providers/istio/streammodel.py``):
Envoy's filter-chain choice by SNI, tcp route order and matches, weights, and the conversion of
tcp routes on a terminating TLS server (TLSRoutes on the Terminate listener)."""

from __future__ import annotations

from typing import Any

import yaml
from support import TESTDATA, verify_report

from ing2gw.providers.istio.objects import KINDS
from ing2gw.providers.istio.streammodel import IstioStreams
from ing2gw.resources import build_resource_set
from ing2gw.router.streams import Connection
from ing2gw.streamverify import replay_streams
from ing2gw.verify import VerifyReport
from ing2gw.yamlio import Document

CASE = TESTDATA / "verify" / "istio-streams" / "input.yaml"


def _model(docs: list[dict[str, Any]]) -> IstioStreams:
    rs = build_resource_set([Document(d, f"<test>:{i + 1}") for i, d in enumerate(docs)], kinds=KINDS)
    model = IstioStreams.from_resources(rs)
    assert model is not None
    return model


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(CASE.read_text()) if d]


def test_connections_go_as_envoy_chooses_filter_chains() -> None:
    model = _model(_docs())

    def out(protocol: str, port: int, sni: str | None = None) -> tuple[str | None, str, str | None]:
        o = model.route(Connection(protocol, port, sni))
        return o.backend, o.tls, o.route

    assert out("TLS", 443, "db.example.com") == ("data/postgres:5432", "passthrough", "VirtualService data/passthrough")
    # the wildcard sniHost at any depth under it; names the server admits but no route names are closed
    assert out("TLS", 443, "a.b.apps.example.com")[0] == "web/apps-tls:8443"
    assert out("TLS", 443, "other.example.com")[0] is None and out("TCP", 443)[0] is None
    assert model.route(Connection("TLS", 443, "app.example.com")).reason.endswith("HTTP routing")
    assert out("TLS", 9443, "mq.example.com") == ("data/rabbit:5672", "terminate", "VirtualService data/mq")
    assert model.route(Connection("TLS", 9443, "mq.example.com")).certificate == "edge/mq-cert"
    assert out("TCP", 5432) == ("data/postgres:5432", "", "VirtualService data/db")  # the older VirtualService
    assert model.route(Connection("TCP", 5432)).weights == (("data/postgres:5432", 80),
                                                            ("data/postgres-next:5432", 20))
    assert out("TLS", 5432, "x.example.com")[1] == ""  # a TCP server forwards a ClientHello as it comes
    assert out("TCP", 6379)[0] == "data/redis:6379"  # no port: the Service's only one
    assert out("TCP", 7000)[0] is None  # the only tcp route for it matches port 8000
    assert out("UDP", 5432)[0] is None


def test_destinations_without_weights_beside_others_take_nothing() -> None:
    docs = _docs()
    db = next(d for d in docs if d["metadata"]["name"] == "db")
    for dest in db["spec"]["tcp"][0]["route"]:
        del dest["weight"]
    model = _model(docs)
    assert model.route(Connection("TCP", 5432)).backend is None


def test_verify_replays_the_streams_and_finds_a_changed_route(ing2gw) -> None:
    report = verify_report(ing2gw, "-f", str(CASE))
    assert report["summary"]["unexplained"] == 0 and report["summary"]["requests"] >= 15
    r = ing2gw(["convert", "-f", str(CASE), "-q"])
    manifests = [d for d in yaml.safe_load_all(r.stdout) if d]
    # the tcp route of the terminating server is a TLSRoute on its Terminate listener
    (mq,) = [m for m in manifests if m["kind"] == "TLSRoute" and m["metadata"]["name"] == "mq-tcp-tls"]
    assert mq["spec"]["hostnames"] == ["mq.example.com"]
    for m in manifests:
        if m["kind"] == "TCPRoute" and m["metadata"]["name"] == "db-tcp":
            m["spec"]["rules"][0]["backendRefs"][0]["weight"] = 10  # 80/20 made 10/20
    broken = VerifyReport("istio", 0)
    rs = build_resource_set([Document(d, f"<test>:{i + 1}") for i, d in enumerate(_docs())], kinds=KINDS)
    model = IstioStreams.from_resources(rs)
    assert model is not None
    replay_streams(broken, manifests, model, [])
    assert {(d.request["url"], d.aspects) for d in broken.differences} == {
        ("tcp://:5432", ("backend", "weights")), ("tls://unknown.ing2gw.invalid:5432", ("backend", "weights"))}
    assert not any(d.explained for d in broken.differences)


def test_route_as_istio_answers_a_tls_connection(ing2gw) -> None:
    r = ing2gw(["route", "-f", str(CASE), "--as", "istio", "tls://db.example.com:443"])
    assert r.stdout.startswith("accepted: data/postgres:5432\ntls: passthrough\n"), r.stdout


def test_a_tcp_route_on_a_terminating_server_sharing_no_hostname_is_noted(ing2gw) -> None:
    doc = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: edge}
spec:
  selector: {app: edge}
  servers:
  - port: {number: 9443, name: tls, protocol: TLS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: any, namespace: edge}
spec:
  hosts: ["*"]
  gateways: [edge]
  tcp:
  - route:
    - destination: {host: db, port: {number: 5432}}
"""
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=doc)
    assert r.exit_code == 0 and "kind: TLSRoute" not in r.stdout and "kind: TCPRoute" not in r.stdout
    assert "ISTIO-TCP-TERMINATE-NO-HOST: VirtualService edge/any [spec.tcp[0]]" in r.stderr
