"""The reference stream router (ing2gw.router.streams): listener selection by port, protocol and
SNI, conflicts, attachment (sectionName, port, allowedRoutes, TLSRoute hostnames), route and
backend choice -- each case a small set of objects and the connection's expected outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ing2gw.errors import InputError, UsageError
from ing2gw.router.streams import Connection, StreamRouter, compare_streams

GW = "gateway.networking.k8s.io/v1"


def _gateway(*listeners: dict[str, Any], name: str = "gw") -> dict[str, Any]:
    for ls in listeners:
        ls.setdefault("allowedRoutes", {"namespaces": {"from": "All"}})
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": name, "namespace": "infra"},
            "spec": {"gatewayClassName": "x", "listeners": list(listeners)}}


def _route(kind: str, name: str, *backends: tuple[str, int, int], hostnames: list[str] | None = None,
           section: str | None = None, port: int | None = None, ns: str = "app",
           created: str | None = None) -> dict[str, Any]:
    parent: dict[str, Any] = {"name": "gw", "namespace": "infra"}
    if section:
        parent["sectionName"] = section
    if port:
        parent["port"] = port
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if created:
        meta["creationTimestamp"] = created
    spec: dict[str, Any] = {"parentRefs": [parent], "rules": [
        {"backendRefs": [{"name": b, "port": p, "weight": w} for b, p, w in backends]}]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": GW, "kind": kind, "metadata": meta, "spec": spec}


def _tls(name: str, port: int, hostname: str | None, mode: str = "Terminate", secret: str = "cert") -> dict[str, Any]:
    ls: dict[str, Any] = {"name": name, "port": port, "protocol": "TLS", "tls": {"mode": mode}}
    if hostname:
        ls["hostname"] = hostname
    if mode == "Terminate":
        ls["tls"]["certificateRefs"] = [{"name": secret}]
    return ls


def _backend(objects: list[dict[str, Any]], conn: Connection) -> str | None:
    return StreamRouter.from_manifests(objects).route(conn).backend


def test_tcp_listener_takes_every_connection_to_its_port() -> None:
    objs = [_gateway({"name": "db", "port": 9000, "protocol": "TCP"}),
            _route("TCPRoute", "db", ("postgres", 5432, 1), section="db")]
    router = StreamRouter.from_manifests(objs)
    plain = router.route(Connection("TCP", 9000))
    assert (plain.backend, plain.tls, plain.route) == ("app/postgres:5432", "", "TCPRoute app/db")
    assert router.route(Connection("TLS", 9000, "any.example.com")).backend == "app/postgres:5432"
    assert not router.route(Connection("TCP", 9001)).served
    assert not router.route(Connection("UDP", 9000)).served


def test_udp_listener_takes_datagrams_only() -> None:
    objs = [_gateway({"name": "dns", "port": 53, "protocol": "UDP"}), _route("UDPRoute", "dns", ("coredns", 53, 1))]
    assert _backend(objs, Connection("UDP", 53)) == "app/coredns:53"
    assert _backend(objs, Connection("TCP", 53)) is None


def test_sni_picks_the_most_specific_tls_listener() -> None:
    objs = [_gateway(_tls("exact", 443, "a.example.com", secret="a"), _tls("wild", 443, "*.example.com", secret="w"),
                     _tls("deep", 443, "*.b.example.com", secret="d"), _tls("any", 443, None, secret="n")),
            _route("TLSRoute", "a", ("a", 1, 1), section="exact"), _route("TLSRoute", "w", ("w", 1, 1), section="wild"),
            _route("TLSRoute", "d", ("d", 1, 1), section="deep"), _route("TLSRoute", "n", ("n", 1, 1), section="any")]
    router = StreamRouter.from_manifests(objs)
    for sni, backend, cert in [("a.example.com", "app/a:1", "infra/a"), ("x.example.com", "app/w:1", "infra/w"),
                               ("x.b.example.com", "app/d:1", "infra/d"), ("example.com", "app/n:1", "infra/n"),
                               (None, "app/n:1", "infra/n")]:
        out = router.route(Connection("TLS", 443, sni))
        assert (out.backend, out.tls, out.certificate) == (backend, "terminate", cert), sni
    assert router.route(Connection("TLS", 443, "x.b.example.com")).summary()["tls"] == "terminate (infra/d)"


def test_a_listener_does_not_fall_back_to_a_less_specific_one() -> None:
    objs = [_gateway(_tls("exact", 443, "a.example.com"), _tls("wild", 443, "*.example.com")),
            _route("TLSRoute", "w", ("w", 1, 1), section="wild")]
    out = StreamRouter.from_manifests(objs).route(Connection("TLS", 443, "a.example.com"))
    assert not out.served and "no route on listener infra/gw/exact" in out.reason


def test_plain_connection_to_a_tls_port_fails_and_no_listener_matches_an_unknown_sni() -> None:
    objs = [_gateway(_tls("a", 443, "a.example.com")), _route("TLSRoute", "a", ("a", 1, 1))]
    router = StreamRouter.from_manifests(objs)
    assert "fails the handshake" in router.route(Connection("TCP", 443)).reason
    assert "matches SNI b.example.com" in router.route(Connection("TLS", 443, "b.example.com")).reason


def test_passthrough_listener_forwards_encrypted_without_a_certificate() -> None:
    objs = [_gateway(_tls("vault", 8443, "vault.example.com", mode="Passthrough")),
            _route("TLSRoute", "vault", ("vault", 8200, 1), hostnames=["vault.example.com"])]
    out = StreamRouter.from_manifests(objs).route(Connection("TLS", 8443, "vault.example.com"))
    assert (out.backend, out.tls, out.certificate) == ("app/vault:8200", "passthrough", None)


def test_tlsroute_hostnames_intersect_the_listener_and_the_most_specific_route_wins() -> None:
    objs = [_gateway(_tls("wild", 443, "*.example.com")),
            _route("TLSRoute", "exact", ("e", 1, 1), hostnames=["a.example.com"]),
            _route("TLSRoute", "wild", ("w", 1, 1), hostnames=["*.example.com"]),
            _route("TLSRoute", "other", ("o", 1, 1), hostnames=["other.org"])]
    router = StreamRouter.from_manifests(objs)
    assert router.route(Connection("TLS", 443, "a.example.com")).backend == "app/e:1"
    assert router.route(Connection("TLS", 443, "b.example.com")).backend == "app/w:1"
    assert "TLSRoute app/other: parentRef 0 (infra/gw) attaches to no listener" in router.notes


def test_of_two_routes_for_one_connection_the_oldest_then_alphabetical_wins() -> None:
    objs = [_gateway({"name": "db", "port": 9000, "protocol": "TCP"}),
            _route("TCPRoute", "b", ("b", 1, 1), created="2024-01-01T00:00:00Z"),
            _route("TCPRoute", "a", ("a", 1, 1), created="2025-01-01T00:00:00Z"),
            _route("TCPRoute", "c", ("c", 1, 1))]
    assert _backend(objs, Connection("TCP", 9000)) == "app/b:1"
    assert _backend(objs[:1] + objs[2:], Connection("TCP", 9000)) == "app/a:1"


def test_parent_ref_section_name_and_port_select_listeners() -> None:
    objs = [_gateway({"name": "one", "port": 9000, "protocol": "TCP"},
                     {"name": "two", "port": 9001, "protocol": "TCP"}),
            _route("TCPRoute", "by-port", ("p", 1, 1), port=9001),
            _route("TCPRoute", "by-name", ("n", 1, 1), section="one"),
            _route("TCPRoute", "nowhere", ("x", 1, 1), section="one", port=9001)]
    router = StreamRouter.from_manifests(objs)
    assert router.route(Connection("TCP", 9000)).backend == "app/n:1"
    assert router.route(Connection("TCP", 9001)).backend == "app/p:1"
    assert "TCPRoute app/nowhere: parentRef 0 (infra/gw) attaches to no listener" in router.notes


def test_allowed_routes_namespaces_and_kinds() -> None:
    same = _gateway({"name": "db", "port": 9000, "protocol": "TCP", "allowedRoutes": {"namespaces": {"from": "Same"}}},
                    {"name": "udp", "port": 9000, "protocol": "UDP",
                     "allowedRoutes": {"kinds": [{"kind": "TCPRoute"}], "namespaces": {"from": "All"}}})
    objs = [same, _route("TCPRoute", "db", ("db", 1, 1)), _route("UDPRoute", "u", ("u", 1, 1))]
    router = StreamRouter.from_manifests(objs)
    assert not router.route(Connection("TCP", 9000)).served  # route namespace app, listener takes infra only
    assert not router.route(Connection("UDP", 9000)).served  # a UDP listener never takes a TCPRoute
    objs.append(_route("TCPRoute", "here", ("h", 1, 1), ns="infra"))
    assert _backend(objs, Connection("TCP", 9000)) == "infra/h:1"


def test_conflicted_listeners_are_left_out() -> None:
    objs = [_gateway({"name": "tcp", "port": 9443, "protocol": "TCP"}, _tls("tls", 9443, "a.example.com"),
                     {"name": "u1", "port": 53, "protocol": "UDP"}, {"name": "u2", "port": 53, "protocol": "UDP"}),
            _route("TCPRoute", "t", ("t", 1, 1)), _route("TLSRoute", "s", ("s", 1, 1)),
            _route("UDPRoute", "u", ("u", 1, 1))]
    router = StreamRouter.from_manifests(objs)
    assert not router.route(Connection("TCP", 9443)).served
    assert not router.route(Connection("TLS", 9443, "a.example.com")).served
    assert not router.route(Connection("UDP", 53)).served
    assert any("ProtocolConflict on port 9443" in n for n in router.notes)
    assert any("listener u1: HostnameConflict on port 53" in n for n in router.notes)


def test_weights_invalid_backends_and_cross_namespace_references() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "app"},
           "spec": {"ports": [{"port": 1}]}}
    gw = _gateway({"name": "db", "port": 9000, "protocol": "TCP"})
    split = _route("TCPRoute", "split", ("a", 1, 3), ("missing", 1, 1))
    out = StreamRouter.from_manifests([gw, svc, split]).route(Connection("TCP", 9000))
    assert (out.backend, out.weights) == ("app/a:1", (("app/a:1", 75), ("app/missing:1", 25)))
    assert out.summary()["weights"] == {"app/a:1": 75, "app/missing:1": 25}
    mostly_missing = _route("TCPRoute", "split", ("a", 1, 1), ("missing", 1, 3))
    refused = StreamRouter.from_manifests([gw, svc, mostly_missing]).route(Connection("TCP", 9000))
    assert not refused.served and "BackendNotFound" in refused.reason
    zero = _route("TCPRoute", "split", ("a", 1, 0))
    assert "no backend has weight" in StreamRouter.from_manifests([gw, svc, zero]).route(Connection("TCP", 9000)).reason
    crossing = _route("TCPRoute", "x", ("a", 1, 1), ns="other")
    crossing["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "app"
    assert "RefNotPermitted" in StreamRouter.from_manifests([gw, svc, crossing]).route(Connection("TCP", 9000)).reason


def test_terminate_listener_needs_a_usable_certificate() -> None:
    bad = _tls("a", 443, "a.example.com")
    bad["tls"]["certificateRefs"] = [{"name": "cert", "namespace": "elsewhere"}]
    out = StreamRouter.from_manifests([_gateway(bad), _route("TLSRoute", "a", ("a", 1, 1))]).route(
        Connection("TLS", 443, "a.example.com"))
    assert not out.served and "RefNotPermitted: Secret elsewhere/cert" in out.reason


def test_an_https_listener_takes_the_snis_it_matches_more_closely() -> None:
    https = {"name": "web", "port": 443, "protocol": "HTTPS", "hostname": "a.example.com",
             "tls": {"certificateRefs": [{"name": "web"}]}}
    objs = [_gateway(https, _tls("any", 443, "*.example.com")), _route("TLSRoute", "w", ("w", 1, 1))]
    router = StreamRouter.from_manifests(objs)
    assert "HTTPS listener infra/gw/web" in router.route(Connection("TLS", 443, "a.example.com")).reason
    assert router.route(Connection("TLS", 443, "b.example.com")).backend == "app/w:1"


def test_endpoints_name_every_port_and_sni() -> None:
    objs = [_gateway(_tls("wild", 443, "*.example.com"), {"name": "db", "port": 9000, "protocol": "TCP"}),
            _route("TLSRoute", "a", ("a", 1, 1), hostnames=["a.example.com"])]
    assert [c.url for c in StreamRouter.from_manifests(objs).endpoints()] == [
        "tcp://:9000", "tls://*.example.com:443", "tls://a.example.com:443"]


def test_compare_streams_names_the_differing_aspects() -> None:
    objs = [_gateway(_tls("a", 443, "a.example.com", secret="one"), _tls("b", 443, "b.example.com", secret="two")),
            _route("TLSRoute", "a", ("x", 1, 1), section="a"), _route("TLSRoute", "b", ("x", 1, 1), section="b")]
    router = StreamRouter.from_manifests(objs)
    a, b = router.route(Connection("TLS", 443, "a.example.com")), router.route(Connection("TLS", 443, "b.example.com"))
    assert compare_streams(a, b) == ("tls",)
    assert compare_streams(a, router.route(Connection("TCP", 443))) == ("status",)
    assert compare_streams(a, a) == ()


def test_malformed_objects_are_one_line_errors() -> None:
    route = _route("TCPRoute", "db", ("db", 1, 1))
    route["spec"]["rules"] = {"backendRefs": []}
    with pytest.raises(InputError, match=r"^<input>:2: TCPRoute app/db: spec.rules must be a list, not dict$"):
        StreamRouter.from_manifests([_gateway({"name": "db", "port": 9000, "protocol": "TCP"}), route])


def test_connection_urls() -> None:
    assert Connection.from_url("tls://DB.example.com:9443") == Connection("TLS", 9443, "db.example.com")
    assert Connection.from_url("tcp://gateway:9000") == Connection("TCP", 9000)
    assert Connection.from_url("udp://:53/") == Connection("UDP", 53)
    assert Connection.from_url("tls://db.example.com", port=443) == Connection("TLS", 443, "db.example.com")
    for bad in ("tls://db.example.com", "tcp://:0", "sctp://:9", "tls://a/b:1"):
        with pytest.raises(UsageError):
            Connection.from_url(bad)


def test_route_cli_decides_connections_on_both_sides(ing2gw) -> None:
    from support import TESTDATA

    case = TESTDATA / "convert" / "kong" / "streams"
    r = ing2gw(["route", "-f", str(case / "expected.yaml"), "tls://redis.example.com:9443"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("accepted: data/redis:6379\ntls: terminate (data/redis-tls)\n")
    r = ing2gw(["route", "-f", str(case / "expected.yaml"), "tls://mq.example.com:9443", "-o", "json"])
    assert json.loads(r.stdout)["status"] == "refused"
    r = ing2gw(["route", "-f", str(case / "input.yaml"), "--as", "kong", "tls://mq.example.com:9443"])
    assert r.exit_code == 0 and r.stdout.startswith("accepted: data/rabbit:5672\ntls: terminate (default)\n")
    for args, message in [(["tls://mq.example.com"], "a stream URL needs a port"),
                          (["-H", "x: y", "tcp://:9000"], "go with HTTP URLs"),
                          (["--as", "traefik", "udp://:53"], "has no stream model")]:
        r = ing2gw(["route", "-f", str(case / "input.yaml"), *args])
        assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def _listener_set(name: str, *listeners: dict[str, Any], ns: str = "app") -> dict[str, Any]:
    for ls in listeners:
        ls.setdefault("allowedRoutes", {"namespaces": {"from": "Same"}})
    return {"apiVersion": GW, "kind": "ListenerSet", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRef": {"name": "gw", "namespace": "infra"}, "listeners": list(listeners)}}


def _on_set(route: dict[str, Any], lset: str, section: str | None = None) -> dict[str, Any]:
    parent: dict[str, Any] = {"kind": "ListenerSet", "name": lset}
    if section:
        parent["sectionName"] = section
    route["spec"]["parentRefs"] = [parent]
    return route


def test_listener_sets_the_gateway_admits_add_stream_listeners() -> None:
    gateway = _gateway({"name": "web", "port": 80, "protocol": "HTTP"}, {"name": "db", "port": 9000, "protocol": "TCP"})
    gateway["spec"]["allowedListeners"] = {"namespaces": {"from": "All"}}
    objs = [gateway,
            _route("TCPRoute", "db", ("postgres", 5432, 1), section="db"),
            _listener_set("mq", {"name": "mq", "port": 9443, "protocol": "TLS", "hostname": "mq.example.com",
                                 "tls": {"mode": "Passthrough"}},
                          {"name": "dns", "port": 53, "protocol": "UDP"},
                          {"name": "dup", "port": 9000, "protocol": "TCP"},  # the Gateway's own port: left out
                          {"name": "web", "port": 80, "protocol": "TCP"}),  # another protocol on its HTTP port
            _on_set(_route("TLSRoute", "mq", ("rabbit", 5671, 1), hostnames=["mq.example.com"]), "mq"),
            _on_set(_route("UDPRoute", "dns", ("coredns", 53, 1)), "mq", "dns"),
            _on_set(_route("TCPRoute", "dup", ("other", 1, 1)), "mq", "dup")]
    router = StreamRouter.from_manifests(objs)
    out = router.route(Connection("TLS", 9443, "mq.example.com"))
    assert (out.backend, out.tls, out.listener) == ("app/rabbit:5671", "passthrough", "app/mq/mq")
    assert router.route(Connection("UDP", 53)).backend == "app/coredns:53"
    assert router.route(Connection("TCP", 9000)).backend == "app/postgres:5432"  # the Gateway's own listener
    assert router.route(Connection("TCP", 80)).backend is None
    assert {n for n in router.notes if "ListenerSet app/mq" in n} == {
        "ListenerSet app/mq listener dup: conflicts with Gateway infra/gw; left out",
        "ListenerSet app/mq listener web: conflicts with Gateway infra/gw; left out"}
    assert Connection("TLS", 9443, "mq.example.com") in router.endpoints()
    # a Gateway whose allowedListeners admits none (the default) takes no set's listener
    del gateway["spec"]["allowedListeners"]
    closed = StreamRouter.from_manifests(objs)
    assert closed.route(Connection("TLS", 9443, "mq.example.com")).backend is None
    assert any("ListenerSet app/mq: not attached" in n for n in closed.notes)
