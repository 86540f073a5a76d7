"""Listener nodes, route kinds and mesh parents in the emitter, on hand-made IR."""

from __future__ import annotations

from typing import Any

from ing2gw.emit.gateway import EmitOptions, emit
from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    CertificateRef,
    GatewayRef,
    Listener,
    ListenerParent,
    PathMatch,
    Provenance,
    Route,
    RouteMatch,
    Rule,
    ServiceParent,
)
from ing2gw.notes import Notes
from ing2gw.schema import validate

TOY = GatewayRef("toy", "toy")
NGINX = GatewayRef("nginx", "nginx")
SRC = Provenance("ToyRoute", "apps", "db")


def _one(out: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [m for m in out if m["kind"] == kind]
    return found


def _valid(out: list[dict[str, Any]]) -> None:
    for m in out:
        assert validate(m) == [], m


def _l4(kind: Any, listener: str, hostnames: tuple[str, ...] = ()) -> Route:
    return Route(kind, "apps", "db", None, hostnames, frozenset(),
                 (Rule(matches=(), backends=(BackendRef("postgres", "apps", 5432),)),), (SRC,),
                 parents=(ListenerParent(TOY, listener),))


def test_explicit_tcp_listener_and_tcproute() -> None:
    ir = IR(listeners=(Listener(TOY, "db", 9000, "TCP", source=SRC),), routes=(_l4("TCPRoute", "db"),))
    notes = Notes()
    out = emit(ir, EmitOptions(), notes)
    _valid(out)
    gw = _one(out, "Gateway")
    assert gw["metadata"] == {"name": "toy", "namespace": "gateway-system",
                              "annotations": {"ing2gw.io/source": "ToyRoute apps/db"}}
    assert gw["spec"]["listeners"] == [{
        "name": "db", "port": 9000, "protocol": "TCP",
        "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps"]}]}}}}]
    route = _one(out, "TCPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "toy",
                        "namespace": "gateway-system", "sectionName": "db"}],
        "rules": [{"backendRefs": [{"name": "postgres", "port": 5432}]}]}
    assert not [n for n in notes if n.code != "EMIT-GATEWAYCLASS-EXPECTED"]


def test_tls_listeners_terminate_with_cross_namespace_secret_and_passthrough() -> None:
    ir = IR(listeners=(
        Listener(TOY, "secure", 8443, "TLS", "db.example.com", "Terminate",
                 (CertificateRef("certs", "db-tls"),), SRC),
        Listener(TOY, "raw", 8443, "TLS", "raw.example.com", "Passthrough", source=SRC),
    ), routes=(_l4("TLSRoute", "secure", ("db.example.com",)),
               Route("TLSRoute", "apps", "raw", None, ("raw.example.com",), frozenset(),
                     (Rule(matches=(), backends=(BackendRef("raw", "apps", 443),)),), (SRC,),
                     parents=(ListenerParent(TOY, "raw"),))))
    out = emit(ir, EmitOptions(), Notes())
    _valid(out)
    listeners = {x["name"]: x for x in _one(out, "Gateway")["spec"]["listeners"]}
    assert listeners["secure"]["tls"] == {"mode": "Terminate", "certificateRefs": [
        {"group": "", "kind": "Secret", "name": "db-tls", "namespace": "certs"}]}
    assert listeners["raw"]["tls"] == {"mode": "Passthrough"}
    grant = _one(out, "ReferenceGrant")
    assert grant["metadata"]["namespace"] == "certs" and grant["spec"]["to"] == [
        {"group": "", "kind": "Secret", "name": "db-tls"}]
    assert sorted(r["metadata"]["name"] for r in out if r["kind"] == "TLSRoute") == ["db", "raw"]


def test_explicit_listeners_join_the_ingress_shorthand_on_one_gateway() -> None:
    web = Route("HTTPRoute", "shop", "web", NGINX, ("shop.example.com",), frozenset({"http", "https"}),
                (Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                      backends=(BackendRef("web", "shop", 80),)),), (Provenance("Ingress", "shop", "web"),))
    cert = Certificate(NGINX, "shop.example.com", "shop", "shop-tls", Provenance("Ingress", "shop", "web"))
    grpc = Route("GRPCRoute", "shop", "api", None, (), frozenset(),
                 (Rule(matches=(), backends=(BackendRef("api", "shop", 9090),)),), (SRC,),
                 parents=(ListenerParent(NGINX, "grpc"),))
    ir = IR(routes=(web, grpc), certificates=(cert,), listeners=(Listener(NGINX, "grpc", 9090, "HTTP", source=SRC),))
    out = emit(ir, EmitOptions(), Notes())
    _valid(out)
    gw = _one(out, "Gateway")
    assert [(x["name"], x["port"], x["protocol"]) for x in gw["spec"]["listeners"]] == [
        ("http", 80, "HTTP"), ("https-shop-example-com", 443, "HTTPS"), ("grpc", 9090, "HTTP")]
    assert gw["metadata"]["annotations"]["ing2gw.io/source"] == "IngressClass nginx"
    assert _one(out, "GRPCRoute")["spec"]["parentRefs"][0]["sectionName"] == "grpc"


def test_mesh_routes_attach_to_services_without_a_gateway() -> None:
    producer = Route("HTTPRoute", "shop", "reviews", None, (), frozenset(),
                     (Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/v2")),),
                           backends=(BackendRef("reviews-v2", "shop", 8080),)),), (SRC,),
                     parents=(ServiceParent("shop", "reviews", 8080),))
    consumer = Route("GRPCRoute", "frontend", "reviews", None, (), frozenset(),
                     (Rule(matches=(), backends=(BackendRef("reviews", "shop", 8080),)),), (SRC,),
                     parents=(ServiceParent("shop", "reviews"),))
    out = emit(IR(routes=(producer, consumer)), EmitOptions(gateway_controller="example.com/gw"), Notes())
    _valid(out)
    assert not [m for m in out if m["kind"] in ("Gateway", "GatewayClass")]
    assert _one(out, "HTTPRoute")["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "reviews",
                                                             "port": 8080}]
    assert _one(out, "GRPCRoute")["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "reviews",
                                                             "namespace": "shop"}]
    # The consumer route's backend in another namespace still needs a grant; its parent does not.
    grant = _one(out, "ReferenceGrant")
    assert grant["spec"]["from"] == [{"group": "gateway.networking.k8s.io", "kind": "GRPCRoute",
                                      "namespace": "frontend"}]


def test_invalid_listeners_and_parents_are_dropped_with_notes() -> None:
    ir = IR(listeners=(
        Listener(TOY, "bad-host", 9000, "TCP", "db.example.com", source=SRC),
        Listener(TOY, "nocert", 8443, "HTTPS", source=SRC),
        Listener(TOY, "udp", 5353, "UDP", source=SRC),
        Listener(TOY, "udp-again", 5353, "UDP", source=SRC),
    ), routes=(_l4("TCPRoute", "udp"), _l4("TCPRoute", "bad-host"), _l4("UDPRoute", "udp")))
    notes = Notes()
    out = emit(ir, EmitOptions(), notes)
    _valid(out)
    codes = sorted(n.code for n in notes if n.code != "EMIT-GATEWAYCLASS-EXPECTED")
    assert codes == ["EMIT-INVALID-LISTENER"] * 3 + ["EMIT-INVALID-PARENT"] * 2 + ["EMIT-ROUTE-UNATTACHED"]
    assert [x["name"] for x in _one(out, "Gateway")["spec"]["listeners"]] == ["udp"]
    assert _one(out, "UDPRoute")["spec"]["parentRefs"][0]["sectionName"] == "udp"
    assert not [m for m in out if m["kind"] == "TCPRoute"]  # both lost their only parent


def test_sections_without_a_gateway_are_refused() -> None:
    route = Route("HTTPRoute", "apps", "r", None, (), frozenset({"http"}),
                  (Rule(matches=(), backends=(BackendRef("s", "apps", 80),)),), (SRC,))
    notes = Notes()
    assert emit(IR(routes=(route,)), EmitOptions(), notes) == []
    assert [n.code for n in notes] == ["EMIT-INVALID-COMBINATION"]


def test_layer4_routes_take_one_rule_each() -> None:
    rules = tuple(Rule(matches=(), backends=(BackendRef(f"b{i}", "apps", 1),)) for i in range(3))
    route = Route("TCPRoute", "apps", "db", None, (), frozenset(), rules, (SRC,),
                  parents=(ListenerParent(TOY, "db"),))
    notes = Notes()
    out = emit(IR(listeners=(Listener(TOY, "db", 9000, "TCP", source=SRC),), routes=(route,)), EmitOptions(), notes)
    _valid(out)
    assert sorted(m["metadata"]["name"] for m in out if m["kind"] == "TCPRoute") == ["db", "db-2", "db-3"]
    assert any(n.code == "EMIT-ROUTE-SPLIT" for n in notes)


def test_many_explicit_listeners_move_to_listenersets() -> None:
    nodes = tuple(Listener(TOY, f"p{port}", port, "TCP", source=SRC) for port in range(10000, 10070))
    routes = tuple(Route("TCPRoute", "apps", f"r{n.port}", None, (), frozenset(),
                         (Rule(matches=(), backends=(BackendRef("s", "apps", n.port),)),), (SRC,),
                         parents=(ListenerParent(TOY, n.name),)) for n in nodes)
    notes = Notes()
    out = emit(IR(listeners=nodes, routes=routes), EmitOptions(listener_sets=True), notes)
    _valid(out)
    gw = _one(out, "Gateway")
    sets = sorted((m for m in out if m["kind"] == "ListenerSet"), key=lambda m: m["metadata"]["name"])
    assert len(gw["spec"]["listeners"]) == 1 and [len(m["spec"]["listeners"]) for m in sets] == [64, 5]
    last = next(m for m in out if m["metadata"]["name"] == "r10069")
    assert last["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "ListenerSet",
                                           "name": "toy-listeners-2", "namespace": "gateway-system",
                                           "sectionName": "p10069"}]
    assert any(n.code == "EMIT-LISTENERSETS" for n in notes)


def test_a_gateway_whose_listeners_are_all_invalid_is_not_emitted() -> None:
    notes = Notes()
    out = emit(IR(listeners=(Listener(TOY, "db", 9000, "TCP", "db.example.com", source=SRC),),
                  routes=(_l4("TCPRoute", "db"), _l4("TCPRoute", "missing"))), EmitOptions(), notes)
    assert out == []
    assert sorted({n.code for n in notes}) == ["EMIT-INVALID-LISTENER", "EMIT-INVALID-PARENT", "EMIT-ROUTE-UNATTACHED"]
