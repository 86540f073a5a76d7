"""The matcher's fast paths give what the plain routing gives: a request's Gateways, listeners
and route groups are planned once per (gateway, port, scheme, SNI, hostname), Gateways that
cannot answer are skipped, and a normalised path is swapped into the request directly.
Checked on thousands of generated requests against a table where several Gateways share
ports (catch-all and per-host listeners, wildcards, TLS problems, gRPC)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from ing2gw.http import Request
from ing2gw.router import Router, matcher
from ing2gw.router.model import Gateway
from ing2gw.router.outcome import Outcome
from ing2gw.router.table import Table

GW = "gateway.networking.k8s.io/v1"
HOSTS = ["a.example.com", "b.example.com", "c.example.com", "x.wild.example.com", "wild.example.com",
         "unknown.example.org", "A.Example.com:8080"]
PATHS = ["/", "/api", "/api/v1", "/other", "/pkg.Svc/Do", "/a/../api", "/a//b", "/%61pi"]


def _tls(name: str, port: int, host: str | None = None, cert: bool = True) -> dict[str, Any]:
    listener: dict[str, Any] = {"name": name, "port": port, "protocol": "HTTPS"}
    if cert:
        listener["tls"] = {"certificateRefs": [{"name": "cert"}]}
    if host:
        listener["hostname"] = host
    return listener


def _objects() -> list[dict[str, Any]]:
    http = {"name": "http", "port": 80, "protocol": "HTTP"}
    gateways = {
        "gw-a": [http, _tls("a", 443, "a.example.com"), _tls("wild", 443, "*.wild.example.com")],
        "gw-b": [http, _tls("b", 443, "b.example.com"), {"name": "alt", "port": 8080, "protocol": "HTTP"}],
        "gw-c": [http, _tls("c", 443, "c.example.com", cert=False)],
        "gw-d": [http],  # no route attaches: never answers
    }
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                   "metadata": {"name": "cert", "namespace": "ns"}}]
    for name, listeners in gateways.items():
        objs.append({"apiVersion": GW, "kind": "Gateway", "metadata": {"name": name, "namespace": "ns"},
                     "spec": {"gatewayClassName": "x", "listeners": listeners}})
    for svc in ("s1", "s2", "s3"):
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc, "namespace": "ns"},
                     "spec": {"ports": [{"port": 80}]}})

    def route(name: str, gw: str, hosts: list[str], rules: list[dict[str, Any]], kind: str = "HTTPRoute") -> None:
        objs.append({"apiVersion": GW, "kind": kind, "metadata": {"name": name, "namespace": "ns"},
                     "spec": {"parentRefs": [{"name": gw}], "hostnames": hosts, "rules": rules}})

    api = {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": [{"name": "s1", "port": 80}]}
    split = {"backendRefs": [{"name": "s1", "port": 80, "weight": 1}, {"name": "s2", "port": 80, "weight": 3}]}
    route("ra", "gw-a", ["a.example.com", "*.wild.example.com"], [api, split])
    route("rb", "gw-b", ["b.example.com"], [api])  # only /api: other paths fall through to later Gateways
    route("rc", "gw-c", [], [{"backendRefs": [{"name": "s3", "port": 80}]}])  # every host on gw-c
    route("rb2", "gw-b", ["a.example.com"], [{"matches": [{"path": {"type": "Exact", "value": "/other"}}],
                                              "backendRefs": [{"name": "missing", "port": 80}]}])
    route("g", "gw-a", ["a.example.com"], [{"matches": [{"method": {"service": "pkg.Svc"}}],
                                            "backendRefs": [{"name": "s2", "port": 80}]}], kind="GRPCRoute")
    return objs


def _route_via(gw: Gateway, request: Request, grpc: bool, note: str | None, pick: str | None) -> Outcome:
    """One Gateway, as the matcher tried each before it planned them."""
    listener, failed = matcher._select_listener(gw, request)
    notes = [note] if note else []
    if listener is None:
        assert failed is not None
        if not notes and not grpc:
            return failed
        return Outcome(failed.status, failed.reason, grpc=grpc, notes=(*notes, *failed.notes))
    return matcher._route_on(listener, listener.routes.lookup_list(request.hostname), request, grpc, notes, pick)


def _plain(table: Table, request: Request, backend: str | None) -> Outcome:
    """Routing as the spec reads: every candidate Gateway tried in order, each from scratch."""
    grpc = matcher._is_grpc(request)
    gateways, note = matcher._candidates(table, request)
    if not gateways:
        if table.gateways:
            return Outcome(None, "ConnectionRefused", grpc=grpc, notes=(note,) if note else ())
        return Outcome(404, "NoMatchingListener", grpc=grpc, notes=(note,) if note else ())
    if len(gateways) == 1:
        return _route_via(gateways[0], request, grpc, note, backend)
    names = ", ".join(gw.name for gw in gateways)
    first: Outcome | None = None
    for gw in gateways:
        note = (f"several Gateways listen on port {request.port} ({names}); routed through "
                f"{gw.name} (name one with --gateway)")
        outcome = _route_via(gw, request, grpc, note, backend)
        if outcome.reason not in matcher._UNMATCHED:
            return outcome
        first = first or outcome
    assert first is not None
    return first


def _requests(count: int) -> list[tuple[Request, str | None]]:
    rng = random.Random(19)
    out = []
    for _ in range(count):
        scheme = rng.choice(["http", "https"])
        headers = {"content-type": "application/grpc"} if rng.random() < 0.2 else {}
        request = Request.build(
            host=rng.choice(HOSTS), path=rng.choice(PATHS), scheme=scheme, headers=headers,
            port=rng.choice([None, None, 80, 443, 8080, 9999]),
            sni=rng.choice([None, None, "a.example.com", "c.example.com"]) if scheme == "https" else None,
            gateway=rng.choice([None, None, None, "ns/gw-b", "ns/missing"]))
        out.append((request, rng.choice([None, None, "ns/s2:80", "ns/s1:80"])))
    return out


def test_planned_routing_equals_trying_every_gateway() -> None:
    """5000 requests, each routed twice (the second time from the remembered plan), give the
    outcomes that trying every candidate Gateway in order gives."""
    router = Router.from_manifests(_objects())
    table = router.table
    reasons = set()
    for request, backend in _requests(5000):
        normalised = matcher.STANDARD.normalise(request.path)
        if normalised.redirect:
            continue
        plain_request = dataclasses.replace(request, path=normalised.path)
        expected = _plain(table, plain_request, backend)
        for _ in range(2):
            assert matcher._route(table, plain_request, backend) == expected, request
        reasons.add(expected.reason)
    # the table exercises every way a Gateway answers or declines
    assert {"Routed", "NoMatchingRoute", "NoMatchingListener", "ConnectionRefused", "TLSHandshakeFailed",
            "MisdirectedRequest", "ProtocolMismatch", "BackendNotFound"} <= reasons


def test_with_path_equals_dataclasses_replace() -> None:
    for request, _ in _requests(500):
        for path in ("/", "/x/y", request.path + "/z"):
            swapped = request.with_path(path)
            assert swapped == dataclasses.replace(request, path=path)
            assert [getattr(swapped, f.name) for f in dataclasses.fields(Request)] == [
                getattr(dataclasses.replace(request, path=path), f.name) for f in dataclasses.fields(Request)]
