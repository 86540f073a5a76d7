"""``ing2gw serve --mesh NAMESPACE`` over real loopback sockets: the proxy is the sidecar of a
client in NAMESPACE, one socket per Service port, the Host naming the Service. The GAMMA
cases of ``testdata/router/mesh`` (written from the spec, not from the proxy) are sent as
real HTTP requests through one proxy per client namespace to echo backends, whose answers
say which Service port served them; consumer routes replace the producer routes for their
namespace only."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TESTDATA

from ing2gw.errors import UsageError
from ing2gw.proxy import ListenSpec, RunningProxy, ServeOptions, start_serve
from ing2gw.proxy.server import prepare
from ing2gw.router import Router

CASE_DIR = TESTDATA / "router" / "mesh"
TIMEOUT = 5.0


def _objects(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _cases() -> list[dict[str, Any]]:
    """The HTTP/1.1 cases (serve speaks no HTTP/2, so no gRPC) whose Host names the Service
    dialled (a sidecar routes by the authority)."""
    out = []
    for case in yaml.safe_load((CASE_DIR / "cases.yaml").read_text()):
        r = case["request"]
        if "mesh" in r and r.get("method", "GET") != "POST" and "host" not in {k.lower() for k in r.get("headers", {})}:
            out.append(case)
    return out


CASES = _cases()
NAMESPACES = sorted({c["request"]["mesh"]["namespace"] for c in CASES})


@pytest.fixture(scope="module")
def proxies() -> Any:
    objects = _objects(CASE_DIR / "input.yaml")
    running: dict[str, RunningProxy] = {}
    try:
        for ns in NAMESPACES:
            running[ns] = start_serve(objects, ServeOptions(mesh=ns, echo_backends=True, ephemeral=True, split=False))
        yield running
    finally:
        for proxy in running.values():
            proxy.stop()


def _send(proxy: RunningProxy, port: int, host: str, path: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[port], timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Host": host, **headers})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, resp.headers, json.loads(body) if resp.getheader("content-type") == "application/json" \
            else body
    finally:
        conn.close()


def test_every_service_port_is_served(proxies: dict[str, RunningProxy]) -> None:
    """Ports 80, 8080 and 9090 of the Services: one socket each, for every namespace."""
    for proxy in proxies.values():
        assert sorted(proxy.ports) == [80, 8080, 9090]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_gamma_case_over_sockets(proxies: dict[str, RunningProxy], case: dict[str, Any]) -> None:
    r, expect = case["request"], case["expect"]
    host = r["host"]
    port = int(host.rpartition(":")[2]) if ":" in host else int(r.get("port", 80))
    proxy = proxies[r["mesh"]["namespace"]]
    if expect.get("status") is None:  # the Service (or its port) does not resolve: no answer
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            _send(proxy, port, host, r.get("path", "/"), r.get("headers", {}))
        return
    status, headers, body = _send(proxy, port, host, r.get("path", "/"), r.get("headers", {}))
    assert status == expect["status"], body
    if "redirect" in expect:
        red = expect["redirect"]
        assert headers["location"] == f"{red['scheme']}://{red['host']}{red['path']}"
        return
    ns, _, rest = expect["backend"].partition("/")
    service, _, backend_port = rest.partition(":")
    assert (body["namespace"], body["service"], body["port"]) == (ns, service, int(backend_port)), body
    if "path" in expect:
        assert body["path"] == expect["path"]
    for name, value in expect.get("responseHeaders", {}).items():
        assert headers[name] == value
    for name in expect.get("absentResponseHeaders", []):
        assert name not in headers


def test_serve_agrees_with_the_router_for_each_namespace(proxies: dict[str, RunningProxy]) -> None:
    """The same requests from three namespaces: the echo backend that answers is the one the
    router names for that client (consumer routes differ from the producer routes)."""
    from ing2gw.http import MeshSource, Request

    router = Router.from_manifests(_objects(CASE_DIR / "input.yaml"))
    seen: dict[str, set[str]] = {}
    for ns, proxy in proxies.items():
        for path in ("/api/items", "/list", "/admin/users"):
            want = router.route(Request.build(host="reviews.shop", path=path, mesh=MeshSource(ns, "reviews.shop")))
            status, _, body = _send(proxy, 80, "reviews.shop", path, {})
            assert status == want.status
            if want.backend is not None:
                assert f"{body['namespace']}/{body['service']}:{body['port']}" == want.backend
                seen.setdefault(path, set()).add(want.backend)
    assert seen["/api/items"] == {"frontend/reviews-beta:80", "shop/reviews-v1:80"}  # consumer vs producer


def test_listen_names_a_service_port() -> None:
    objects = _objects(CASE_DIR / "input.yaml")
    with pytest.raises(UsageError, match="no Service has port 81"):
        prepare(objects, ServeOptions(mesh="frontend", listen=(ListenSpec(0, 81),)))
    with pytest.raises(UsageError, match="no Service port to serve"):
        prepare([], ServeOptions(mesh="frontend", ephemeral=True))


def test_service_ports_that_would_share_a_local_port_are_named() -> None:
    """Service ports 80 and 8080 both default to local port 8080: a clear error, before any
    socket is bound."""
    with pytest.raises(UsageError, match="ports 80 and 8080 would both be served on local port 8080"):
        prepare(_objects(CASE_DIR / "input.yaml"), ServeOptions(mesh="frontend"))
