"""ingress-nginx ``tcp-services`` / ``udp-services`` ConfigMaps: how the controller reads each
entry, the listeners and routes they become, one-line notes for what it skips, and the stream
model ``route`` and ``verify`` answer with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from support import TESTDATA, verify_report

from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.router.streams import Connection
from ing2gw.streamverify import replay_streams
from ing2gw.verify import VerifyReport
from ing2gw.yamlio import Document

CONVERT = TESTDATA / "convert" / "ingress-nginx" / "tcp-udp-services" / "input.yaml"
VERIFY = TESTDATA / "verify" / "tcp-udp-services" / "input.yaml"


def _resources(objects: list[dict[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(o, f"<test>:{i + 1}") for i, o in enumerate(objects)])


def _configmap(name: str, data: dict[str, str], namespace: str = "ingress-nginx") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def _service(name: str, *ports: tuple[str, int, str], namespace: str = "data") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports]}}


def test_entries_are_read_as_the_controller_reads_them() -> None:
    from ing2gw.providers.ingress_nginx.streamservices import read_stream_services

    rs = _resources([
        _configmap("tcp-services", {"+7000": "data/db:5432", "7001": "data/db:pg::PROXY", "7002": "data/db:pg:Proxy",
                                    "7003": "data/db:5433", "7004": "data/db:dns", "0": "data/db:5432",
                                    "7005": "data//db:5432", "07000": "data/db:5432", "10254": "data/db:5432",
                                    "x1": "data/db:5432", "7006": "data/db:5432:PROXY:PROXY:PROXY"}),
        _service("db", ("pg", 5432, "TCP"), ("dns", 53, "UDP")),
    ])
    entries, problems = read_stream_services(rs, "TCP", ("ingress-nginx", "tcp-services"))
    assert [(e.port, e.backend, e.decode, e.encode, e.source.field) for e in entries] == [
        (7000, "data/db:5432", False, False, "data.+7000"),  # Atoi takes a sign
        (7001, "data/db:5432", False, True, "data.7001"),  # named port; ::PROXY encodes only
        (7002, "data/db:5432", True, False, "data.7002"),  # PROXY in any case
        (7006, "data/db:5432", True, False, "data.7006"),  # a fifth field voids the encode flag
    ]
    assert sorted((p.key, p.code) for p in problems) == [
        ("0", "NGINX-STREAM-INVALID"), ("07000", "NGINX-STREAM-INVALID"), ("10254", "NGINX-STREAM-RESERVED-PORT"),
        ("7003", "NGINX-STREAM-NO-SERVICE-PORT"), ("7004", "NGINX-STREAM-NO-SERVICE-PORT"),  # dns is a UDP port
        ("7005", "NGINX-STREAM-INVALID"), ("7006", "NGINX-STREAM-FIELDS-IGNORED"), ("x1", "NGINX-STREAM-INVALID")]
    udp = _resources([_configmap("udp-services", {"53": "data/db:dns:PROXY"}), _service("db", ("dns", 53, "UDP"))])
    entries, problems = read_stream_services(udp, "UDP", ("ingress-nginx", "udp-services"))
    assert [(e.protocol, e.backend, e.decode) for e in entries] == [("UDP", "data/db:53", False)]
    assert [p.code for p in problems] == ["NGINX-STREAM-FIELDS-IGNORED"]


def test_without_services_in_the_input_a_port_number_is_trusted_and_a_name_is_not() -> None:
    from ing2gw.providers.ingress_nginx.streamservices import read_stream_services

    rs = _resources([_configmap("tcp-services", {"7000": "data/db:5432", "7001": "data/db:pg"})])
    entries, problems = read_stream_services(rs, "TCP", ("ingress-nginx", "tcp-services"))
    assert [e.backend for e in entries] == ["data/db:5432"]
    assert [(p.key, p.code) for p in problems] == [("7001", "NGINX-STREAM-NAMED-PORT")]


def test_the_configmaps_are_found_by_their_conventional_names() -> None:
    from ing2gw.providers.ingress_nginx.streamservices import stream_configmaps

    rs = _resources([_configmap(n, {}) for n in ("tcp-services", "ingress-nginx-tcp", "prod-ingress-nginx-tcp",
                                                 "tcp", "my-tcp-services", "udp-services", "ingress-nginx-controller")])
    assert stream_configmaps(rs, "TCP") == [("ingress-nginx", "ingress-nginx-tcp"),
                                            ("ingress-nginx", "prod-ingress-nginx-tcp"),
                                            ("ingress-nginx", "tcp-services")]
    assert stream_configmaps(rs, "UDP") == [("ingress-nginx", "udp-services")]


def test_each_entry_left_out_is_one_line_naming_file_line_and_key(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CONVERT), "--validate", "--fail-on", "never"])
    assert r.exit_code == 0 and "Traceback" not in r.stderr
    lines = {ln.split(" [", 1)[1].split("]", 1)[0]: ln for ln in r.stderr.splitlines()
             if "ConfigMap" in ln and " [" in ln}
    text = CONVERT.read_text().splitlines()
    for key in ("db", "9000", "9001", "9002", "9003", "80"):
        line = lines[f"data.{key}"]
        number = int(line.split(f"{CONVERT}:", 1)[1].split(":", 1)[0])
        assert text[number - 1].lstrip().strip('"').startswith(f"{key}"), (key, text[number - 1])
    assert "NGINX-STREAM-INVALID: ConfigMap ingress-nginx/tcp-services [data.db]" in lines["data.db"]
    assert "NGINX-STREAM-RESERVED-PORT" in lines["data.80"] and "NGINX-STREAM-NO-SERVICE-PORT" in lines["data.9002"]
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    (gateway,) = [d for d in docs if d["kind"] == "Gateway"]
    listeners = {x["name"]: (x["port"], x["protocol"]) for x in gateway["spec"]["listeners"]}
    assert {k: v for k, v in listeners.items() if k != "http"} == {
        "tcp-1883": (1883, "TCP"), "tcp-5432": (5432, "TCP"), "tcp-6379": (6379, "TCP"), "tcp-8883": (8883, "TCP"),
        "tcp-9004": (9004, "TCP"), "udp-514": (514, "UDP"), "udp-53": (53, "UDP")}
    routes = {(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]):
              [(b["name"], b["port"]) for b in d["spec"]["rules"][0]["backendRefs"]]
              for d in docs if d["kind"] in ("TCPRoute", "UDPRoute")}
    assert routes[("TCPRoute", "data", "redis-tcp-6379")] == [("redis", 6379)]  # the named port, resolved
    assert routes[("UDPRoute", "kube-system", "dns-udp-53")] == [("dns", 53)]
    assert "NGINX-STREAM-PROXY-PROTOCOL: ConfigMap ingress-nginx/tcp-services [data.1883]" in r.stderr
    assert "NGINX-STREAM-PROXY-PROTOCOL-UPSTREAM: ConfigMap ingress-nginx/tcp-services [data.8883]" in r.stderr


def test_route_answers_for_tcp_and_udp_ports(ing2gw, tmp_path: Path) -> None:
    def route(url: str) -> dict[str, Any]:
        r = ing2gw(["route", "-f", str(VERIFY), "--as", "ingress-nginx", url, "-o", "json"])
        assert r.exit_code == 0, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    assert route("tcp://:5432")["backend"] == "data/postgres:5432"
    assert route("tls://db.example.com:5432") | {"listener": ""} == {  # a ClientHello is forwarded as it comes
        "status": "accepted", "backend": "data/postgres:5432", "tls": "none", "listener": "",
        "route": "ConfigMap ingress-nginx/edge-ingress-nginx-tcp"}
    assert route("udp://:53")["backend"] == "kube-system/dns:53"
    assert route("tcp://:1883")["status"] == "refused"  # it expects a PROXY header first
    assert route("tcp://:53")["status"] == "refused" and route("udp://:5432")["status"] == "refused"
    assert route("tls://vault.example.com:443")["tls"] == "passthrough"
    assert route("tcp://:6379")["notes"] == ["sends a PROXY protocol header to data/redis:6379"]
    converted = tmp_path / "gateway.yaml"
    converted.write_text(ing2gw(["convert", "-f", str(VERIFY), "-q"]).stdout)
    gateway = ing2gw(["route", "-f", str(converted), "tcp://:5432"])
    assert gateway.stdout.startswith("accepted: data/postgres:5432\ntls: none\nlistener: gateway-system/nginx/tcp-5432")


def test_verify_replays_the_services_and_explains_proxy_protocol(ing2gw) -> None:
    report = verify_report(ing2gw, "-f", str(VERIFY))
    streams = [d for d in report["differences"] if d["origin"] == "generated (stream)"]
    assert {d["request"]["url"] for d in streams} == {"tcp://:1883", "tls://unknown.ing2gw.invalid:1883"}
    assert all(d["explainedBy"] and d["explainedBy"][0]["code"] == "NGINX-STREAM-PROXY-PROTOCOL" for d in streams)
    assert report["summary"]["unexplained"] == 0


def test_verify_runs_on_the_services_configmaps_alone(ing2gw, tmp_path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(VERIFY.read_text()) if d and d["kind"] != "Ingress"]
    alone = tmp_path / "services.yaml"
    alone.write_text(yaml.safe_dump_all(docs))
    report = verify_report(ing2gw, "-f", str(alone))
    streams = {d["request"]["url"] for d in report["differences"] if d["origin"] == "generated (stream)"}
    assert streams == {"tcp://:1883", "tls://unknown.ing2gw.invalid:1883"}
    assert report["summary"]["unexplained"] == 0


def test_a_route_sent_elsewhere_is_an_unexplained_difference(ing2gw) -> None:
    from ing2gw.providers.ingress_nginx import PROVIDER

    r = ing2gw(["convert", "-f", str(VERIFY), "-q"])
    manifests = [d for d in yaml.safe_load_all(r.stdout) if d]
    for m in manifests:
        if m["kind"] == "UDPRoute":
            m["spec"]["rules"][0]["backendRefs"][0]["port"] = 5353
    docs = [Document(d, f"<test>:{i + 1}") for i, d in enumerate(yaml.safe_load_all(VERIFY.read_text())) if d]
    model = PROVIDER.data_plane.streams(build_resource_set(docs))
    assert model is not None
    assert model.route(Connection("UDP", 53)).backend == "kube-system/dns:53"
    report = VerifyReport("ingress-nginx", 0)
    replay_streams(report, manifests, model, [])
    assert [(d.request["url"], d.aspects, d.explained) for d in report.differences] == [
        ("tcp://:1883", ("status",), False), (f"tls://{'unknown.ing2gw.invalid'}:1883", ("status",), False),
        ("udp://:53", ("backend",), False)]


def test_beside_an_existing_gateway_the_services_go_to_a_listener_set_and_replay_alike(ing2gw, tmp_path: Path) -> None:
    """The stream listeners an existing Gateway lacks are emitted in a ListenerSet that admits
    the routes' namespaces; the stream router reads it, so the replay is the same."""
    gateway = tmp_path / "gateway.yaml"
    gateway.write_text(yaml.safe_dump({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "nginx", "namespace": "gateway-system"},
        "spec": {"gatewayClassName": "nginx", "allowedListeners": {"namespaces": {"from": "All"}},
                 "listeners": [{"name": "http", "port": 80, "protocol": "HTTP",
                                "allowedRoutes": {"namespaces": {"from": "All"}}}]}}))
    existing = ("--gateway-file", str(gateway), "--gateway", "gateway-system/nginx")
    r = ing2gw(["convert", "-f", str(VERIFY), "-q", *existing])
    (lset,) = [d for d in yaml.safe_load_all(r.stdout) if d and d["kind"] == "ListenerSet"]
    allowed = {x["name"]: x["allowedRoutes"]["namespaces"] for x in lset["spec"]["listeners"]}
    assert allowed["udp-53"]["selector"]["matchExpressions"][0]["values"] == ["kube-system"]

    def streams(report: dict[str, Any]) -> list[tuple[str, list[str], bool]]:
        return [(d["request"]["url"], d["differs"], d["explained"]) for d in report["differences"]
                if d["origin"] == "generated (stream)"]

    plain, beside = verify_report(ing2gw, "-f", str(VERIFY)), verify_report(ing2gw, "-f", str(VERIFY), *existing)
    assert streams(beside) == streams(plain) and beside["summary"] == plain["summary"]
