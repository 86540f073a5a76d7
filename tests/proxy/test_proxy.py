"""``ing2gw serve`` over real sockets: one proxy with echo backends on ephemeral loopback
ports, exercised with http.client, ssl and raw sockets. Every socket has a timeout, and the
proxy must still answer normally after each bad-input case."""

from __future__ import annotations

import collections
import http.client
import http.server
import json
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sockets import send_raw, status_of

from ing2gw.errors import UsageError
from ing2gw.proxy import Limits, ListenSpec, RunningProxy, ServeOptions, start_serve
from ing2gw.proxy.server import prepare

GW = "gateway.networking.k8s.io/v1"
NS = "infra"
TIMEOUT = 5.0


def _svc(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"ports": [{"port": 8080}]}}


def _route(name: str, hostnames: list[str], rules: list[dict[str, Any]],
           section: str | None = None) -> dict[str, Any]:
    parent: dict[str, Any] = {"name": "gw"}
    if section:
        parent["sectionName"] = section
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": name, "namespace": NS},
            "spec": {"parentRefs": [parent], "hostnames": hostnames, "rules": rules}}


def _to(*names: str, weights: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = [{"name": n, "port": 8080} for n in names]
    for ref, w in zip(refs, weights, strict=False):
        ref["weight"] = w
    return refs


def manifests() -> list[dict[str, Any]]:
    tls = {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}
    objs: list[dict[str, Any]] = [
        {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": NS},
         "spec": {"gatewayClassName": "x", "listeners": [
             {"name": "http", "port": 80, "protocol": "HTTP"},
             {"name": "https-wild", "port": 443, "protocol": "HTTPS",
              "hostname": "*.secure.example", "tls": tls},
             {"name": "https-other", "port": 443, "protocol": "HTTPS",
              "hostname": "other.example", "tls": tls},
         ]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cert", "namespace": NS},
         "type": "kubernetes.io/tls", "data": {}},
        *(_svc(n) for n in ("v1", "v2", "v3", "dead")),
        _route("plain", ["plain.example"], [{"backendRefs": _to("v1")}]),
        _route("perbackend", ["perbackend.example"], [{"backendRefs": [
            {**ref, "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
                "set": [{"name": "X-Backend", "value": ref["name"]}]}}]}
            for ref in _to("v1", "v2", weights=(50, 50))]}]),
        _route("redirect", ["redirect.example"], [{"filters": [{
            "type": "RequestRedirect",
            "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]),
        _route("rewrite", ["rewrite.example"], [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {
                "hostname": "backend.internal",
                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}}}],
            "backendRefs": _to("v1")}]),
        _route("headers", ["headers.example"], [{
            "filters": [
                {"type": "RequestHeaderModifier", "requestHeaderModifier": {
                    "set": [{"name": "X-Set", "value": "set"}],
                    "add": [{"name": "X-Add", "value": "added"}],
                    "remove": ["X-Remove"]}},
                {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
                    "add": [{"name": "X-Resp", "value": "r"}], "remove": ["X-Drop"]}},
            ],
            "backendRefs": _to("v1")}]),
        _route("split", ["split.example"], [{"backendRefs": _to("v1", "v2", weights=(70, 30))}]),
        _route("cors", ["cors.example"], [{
            "filters": [{"type": "CORS", "cors": {
                "allowOrigins": ["https://app.example"], "allowMethods": ["GET", "PUT"],
                "allowHeaders": ["X-Token"], "maxAge": 60}}],
            "backendRefs": _to("v1")}]),
        _route("slow", ["slow.example"], [{"timeouts": {"request": "300ms"},
                                           "backendRefs": _to("v1")}]),
        _route("dead", ["dead.example"], [{"backendRefs": _to("dead")}]),
        _route("mirror", ["mirror.example"], [{
            "filters": [{"type": "RequestMirror", "requestMirror": {
                "backendRef": {"name": "v3", "port": 8080}}}],
            "backendRefs": _to("v1")}]),
        _route("secure", ["a.secure.example", "other.example"], [{"backendRefs": _to("v2")}]),
    ]
    return objs


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LIMITS = Limits(header_timeout=0.4, max_request_line=1024, max_header_bytes=4096)


@pytest.fixture(scope="module")
def proxy() -> Iterator[RunningProxy]:
    options = ServeOptions(
        ephemeral=True, echo_backends=True, seed=7, limits=LIMITS,
        backends=(("infra/dead:8080", f"http://127.0.0.1:{_closed_port()}"),),
    )
    with start_serve(manifests(), options) as running:
        yield running


def get(proxy: RunningProxy, host: str, path: str = "/", method: str = "GET",
        headers: dict[str, str] | None = None, body: bytes | None = None
        ) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def echo(proxy: RunningProxy, host: str, path: str = "/", **kw: Any) -> dict[str, Any]:
    status, _, body = get(proxy, host, path, **kw)
    assert status == 200, body
    data: dict[str, Any] = json.loads(body)
    return data


def raw(proxy: RunningProxy, data: bytes, wait: float = TIMEOUT) -> bytes:
    """Send bytes as they are; everything the proxy answers until it closes (or ``wait``)."""
    return send_raw(proxy.ports[80], data, wait)


# -- routing behaviour --------------------------------------------------------------------

def test_plain_request_reaches_the_backend_with_forwarding_headers(proxy: RunningProxy) -> None:
    got = echo(proxy, "plain.example", "/a/b?x=1", headers={"X-Forwarded-For": "10.0.0.9",
                                                           "Connection": "keep-alive, X-Hop",
                                                           "X-Hop": "secret"})
    assert got["service"] == "v1" and got["namespace"] == NS
    assert got["path"] == "/a/b?x=1" and got["host"] == "plain.example"
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-forwarded-for"] == ["10.0.0.9, 127.0.0.1"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == ["plain.example"]
    assert "x-hop" not in headers and "connection" not in headers


def test_unrouted_host_gets_the_routers_404(proxy: RunningProxy) -> None:
    status, _, body = get(proxy, "nowhere.example")
    assert status == 404 and b"NoMatchingRoute" in body


def test_redirect_is_answered_by_the_proxy(proxy: RunningProxy) -> None:
    status, headers, _ = get(proxy, "redirect.example", "/p?q=1")
    assert status == 301
    assert headers["Location"] == "https://redirect.example/p?q=1"


def test_rewrite_changes_path_and_host(proxy: RunningProxy) -> None:
    got = echo(proxy, "rewrite.example", "/old/page?z=2")
    assert got["path"] == "/new/page?z=2"
    assert got["host"] == "backend.internal"


def test_request_and_response_header_filters(proxy: RunningProxy) -> None:
    status, headers, body = get(proxy, "headers.example", headers={
        "X-Set": "client", "X-Add": "client", "X-Remove": "gone",
        "X-Echo-Set-Header": "X-Drop:1,X-Keep:2"})
    assert status == 200
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert seen["x-set"] == ["set"]
    assert ",".join(seen["x-add"]) == "client,added"
    assert "x-remove" not in seen
    assert headers["X-Resp"] == "r" and headers["X-Keep"] == "2"
    assert headers.get("X-Drop") is None


def test_weights_split_traffic_by_share(proxy: RunningProxy) -> None:
    counts: collections.Counter[str] = collections.Counter()
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=TIMEOUT)
    try:
        for _ in range(300):  # one kept-alive connection
            conn.request("GET", "/", headers={"Host": "split.example"})
            resp = conn.getresponse()
            counts[json.loads(resp.read())["service"]] += 1
    finally:
        conn.close()
    assert set(counts) == {"v1", "v2"}
    # 70/30 over 300 requests: a 5-sigma band is about +-40
    assert abs(counts["v1"] - 210) < 40, counts


def test_weighted_pick_gets_its_own_backend_filters(proxy: RunningProxy) -> None:
    """Whichever backendRef the weights pick, that backendRef's filters are applied (the
    conformance suite's HTTPRouteRequestHeaderModifierBackendWeights)."""
    seen: collections.Counter[str] = collections.Counter()
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=TIMEOUT)
    try:
        for _ in range(60):
            conn.request("GET", "/", headers={"Host": "perbackend.example"})
            echo = json.loads(conn.getresponse().read())
            headers = {k.lower(): v for k, v in echo["headers"].items()}
            assert headers["x-backend"] == [echo["service"]]
            seen[echo["service"]] += 1
    finally:
        conn.close()
    assert set(seen) == {"v1", "v2"}


def test_cors_preflight_is_answered_and_actual_request_gets_headers(proxy: RunningProxy) -> None:
    status, headers, body = get(proxy, "cors.example", "/", method="OPTIONS", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT"})
    assert status == 200 and body == b""
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Max-Age"] == "60"
    status, headers, _ = get(proxy, "cors.example", "/", headers={"Origin": "https://app.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example"
    status, headers, _ = get(proxy, "cors.example", "/", headers={"Origin": "https://evil.example"})
    assert status == 200 and headers.get("Access-Control-Allow-Origin") is None


def test_route_timeout_gives_504(proxy: RunningProxy) -> None:
    start = time.monotonic()
    status, _, body = get(proxy, "slow.example", "/?delay=2s")
    assert status == 504, body
    assert time.monotonic() - start < 1.5
    assert echo(proxy, "slow.example", "/?delay=10ms")["service"] == "v1"


def test_dead_backend_gives_502(proxy: RunningProxy) -> None:
    status, _, body = get(proxy, "dead.example")
    assert status == 502 and b"infra/dead:8080" in body


def test_mirror_gets_a_copy(proxy: RunningProxy) -> None:
    token = f"/mirrored-{random.Random(1).randrange(10**9)}"
    assert echo(proxy, "mirror.example", token, method="POST", body=b"hello")["service"] == "v1"
    mirror = proxy.echoes["infra/v3:8080"]
    deadline = time.monotonic() + TIMEOUT
    while ("POST", token) not in mirror.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ("POST", token) in mirror.seen


def test_request_bodies_are_forwarded(proxy: RunningProxy) -> None:
    got = echo(proxy, "plain.example", "/upload", method="POST", body=b"x" * 200_000)
    assert got["bodyLength"] == 200_000
    answer = raw(proxy, b"POST / HTTP/1.1\r\nHost: plain.example\r\nTransfer-Encoding: chunked\r\n"
                        b"Connection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    assert status_of(answer) == 200
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["bodyLength"] == 11


def test_unmapped_backend_gives_503_with_a_clear_body() -> None:
    with start_serve(manifests(), ServeOptions(ephemeral=True)) as bare:
        status, _, body = get(bare, "plain.example")
    assert status == 503
    assert b"infra/v1:8080" in body and b"--backend" in body


def test_weights_without_split_follow_the_router() -> None:
    with start_serve(manifests(), ServeOptions(ephemeral=True, echo_backends=True,
                                               split=False)) as fixed:
        services = {echo(fixed, "split.example")["service"] for _ in range(20)}
    assert services == {"v1"}


# -- TLS ----------------------------------------------------------------------------------

def _tls_get(proxy: RunningProxy, sni: str, host: str | None = None) -> tuple[int, bytes, str]:
    assert proxy.ca_file is not None
    ctx = ssl.create_default_context(cafile=str(proxy.ca_file))
    with socket.create_connection(("127.0.0.1", proxy.ports[443]), timeout=TIMEOUT) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as tls:
            names = [v for kind, v in tls.getpeercert().get("subjectAltName", ()) if kind == "DNS"]
            tls.sendall(f"GET /t HTTP/1.1\r\nHost: {host or sni}\r\nConnection: close\r\n\r\n"
                        .encode())
            out = b""
            while chunk := tls.recv(65536):
                out += chunk
    return status_of(out), out.split(b"\r\n\r\n", 1)[1], ",".join(names)


def test_tls_certificate_is_chosen_by_sni(proxy: RunningProxy) -> None:
    status, body, names = _tls_get(proxy, "a.secure.example")
    assert status == 200 and json.loads(body)["service"] == "v2"
    assert names == "*.secure.example"
    headers = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    assert headers["x-forwarded-proto"] == ["https"]
    status, body, names = _tls_get(proxy, "other.example")
    assert status == 200 and names == "other.example"


def test_tls_unknown_sni_fails_the_handshake(proxy: RunningProxy) -> None:
    with pytest.raises(ssl.SSLError):
        _tls_get(proxy, "unknown.example")


def test_tls_host_of_another_listener_is_misdirected(proxy: RunningProxy) -> None:
    status, _, _ = _tls_get(proxy, "a.secure.example", host="other.example")
    assert status == 421


# -- safety under bad input ---------------------------------------------------------------

@pytest.mark.parametrize(("request_bytes", "expected"), [
    (b"POST / HTTP/1.1\r\nHost: plain.example\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: plain.example\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
     b"hello!", 400),
    (b"POST / HTTP/1.1\r\nHost: plain.example\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: plain.example\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: plain.example\r\nX-A: a\r\n  folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : plain.example\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: plain.example\nX-Bare: lf\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX-No-Host: 1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: plain.example\r\nHost: other.example\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: bad host/\r\n\r\n", 400),
    (b"GET http://evil.example/ HTTP/1.1\r\nHost: plain.example\r\n\r\n", 400),
    (b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405),
    (b"GET / HTTP/2.0\r\nHost: plain.example\r\n\r\n", 505),
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: plain.example\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: plain.example\r\n" + b"X-Big: " + b"b" * 5000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: plain.example\r\n" + b"X: y\r\n" * 150 + b"\r\n", 431),
    (b"POST / HTTP/1.1\r\nHost: plain.example\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_bad_requests_are_refused(proxy: RunningProxy, request_bytes: bytes,
                                  expected: int) -> None:
    answer = raw(proxy, request_bytes)
    assert status_of(answer) == expected, answer[:200]
    assert b"connection: close" in answer.lower()
    assert echo(proxy, "plain.example")["service"] == "v1"  # still serving


def test_absolute_form_for_the_same_host_is_served(proxy: RunningProxy) -> None:
    answer = raw(proxy, b"GET http://plain.example/abs?q=1 HTTP/1.1\r\nHost: plain.example\r\n"
                        b"Connection: close\r\n\r\n")
    assert status_of(answer) == 200
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["path"] == "/abs?q=1"


def test_slow_client_gets_408_and_idle_client_is_closed(proxy: RunningProxy) -> None:
    start = time.monotonic()
    answer = raw(proxy, b"GET / HTTP/1.1\r\nHost: plain.exa", wait=3)
    assert status_of(answer) == 408
    assert time.monotonic() - start < 2
    assert raw(proxy, b"", wait=3) == b""  # nothing sent: closed without an answer
    assert echo(proxy, "plain.example")["service"] == "v1"


def test_pipelined_requests_are_answered_in_order(proxy: RunningProxy) -> None:
    one = b"GET /one HTTP/1.1\r\nHost: plain.example\r\n\r\n"
    two = b"GET /two HTTP/1.1\r\nHost: plain.example\r\nConnection: close\r\n\r\n"
    answer = raw(proxy, one + two)
    assert answer.count(b"HTTP/1.1 200") == 2
    assert answer.index(b'"/one"') < answer.index(b'"/two"')


def test_many_bad_connections_do_not_wedge_the_proxy(proxy: RunningProxy) -> None:
    socks = [socket.create_connection(("127.0.0.1", proxy.ports[80]), timeout=TIMEOUT)
             for _ in range(30)]
    try:
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: plain")  # half a head, then silence
        assert echo(proxy, "plain.example")["service"] == "v1"
    finally:
        for s in socks:
            s.close()


def test_fast_and_lent_requests_share_one_connection(proxy: RunningProxy) -> None:
    """Plain forwards run from callbacks, a chunked upload is lent to a coroutine, a
    redirect is answered directly: pipelined on one connection, all in order."""
    answer = raw(proxy, b"GET /first HTTP/1.1\r\nHost: plain.example\r\n\r\n"
                        b"POST /upload HTTP/1.1\r\nHost: plain.example\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                        b"GET /moved HTTP/1.1\r\nHost: redirect.example\r\n\r\n"
                        b"POST /small HTTP/1.1\r\nHost: plain.example\r\nContent-Length: 2\r\n"
                        b"\r\nhi"
                        b"GET /last HTTP/1.1\r\nHost: plain.example\r\nConnection: close\r\n\r\n")
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    assert statuses == [200, 200, 301, 200, 200]
    order = [answer.index(p) for p in (b'"/first"', b'"/upload"', b"location: https://redirect",
                                       b'"/small"', b'"/last"')]
    assert order == sorted(order)
    assert b'"bodyLength": 3' in answer and b'"bodyLength": 2' in answer


_BIG = 16 * 1024 * 1024  # more than socket buffers hold: the proxy must wait for the reader


class _FixedBackend(http.server.BaseHTTPRequestHandler):
    """Byte-for-byte identical response heads (fixed Date and Server); ``/big`` sends
    ``_BIG`` bytes; other answers close the connection although the head does not say so
    (a backend that drops kept-alive connections)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"x" * _BIG if self.path == "/big" else b"fixed\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = self.path != "/big"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def version_string(self) -> str:
        return "fixed"

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def fixed_proxy() -> Iterator[RunningProxy]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FixedBackend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    objs = [o for o in manifests() if o["kind"] != "HTTPRoute"] + [
        _route("plain", ["plain.example"], [{"backendRefs": _to("v1")}]),
        _route("headers", ["headers.example"], [{
            "filters": [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {
                "add": [{"name": "X-Resp", "value": "r"}]}}],
            "backendRefs": _to("v1")}]),
    ]
    options = ServeOptions(ephemeral=True, limits=LIMITS, backends=(
        ("infra/v1:8080", f"http://127.0.0.1:{server.server_address[1]}"),))
    try:
        with start_serve(objs, options) as running:
            yield running
    finally:
        server.shutdown()
        server.server_close()


def test_identical_backend_heads_keep_each_routes_response_filters(
        fixed_proxy: RunningProxy) -> None:
    for _ in range(3):  # the same backend head bytes each time, alternating routes
        status, headers, body = get(fixed_proxy, "plain.example")
        assert (status, body, headers.get("X-Resp")) == (200, b"fixed\n", None)
        status, headers, body = get(fixed_proxy, "headers.example")
        assert (status, body, headers.get("X-Resp")) == (200, b"fixed\n", "r")


def test_backend_dropping_kept_alive_connections_is_redialled(
        fixed_proxy: RunningProxy) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fixed_proxy.ports[80], timeout=TIMEOUT)
    try:
        for _ in range(20):  # each pooled connection is stale by the next request
            conn.request("GET", "/", headers={"Host": "plain.example"})
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"fixed\n")
    finally:
        conn.close()


def test_large_response_streams_to_a_slow_reader(fixed_proxy: RunningProxy) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # the proxy must wait
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", fixed_proxy.ports[80]))
        s.sendall(b"GET /big HTTP/1.1\r\nHost: plain.example\r\n\r\n"
                  b"GET / HTTP/1.1\r\nHost: plain.example\r\nConnection: close\r\n\r\n")
        time.sleep(0.2)
        received = bytearray()
        while chunk := s.recv(1 << 20):
            received += chunk
    data = bytes(received)
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and f"content-length: {_BIG}".encode() in head.lower()
    assert rest[:_BIG] == b"x" * _BIG
    assert rest[_BIG:].startswith(b"HTTP/1.1 200") and rest.endswith(b"fixed\n")


# -- options ------------------------------------------------------------------------------

def test_listen_spec_parsing() -> None:
    assert ListenSpec.parse("8080") == ListenSpec(8080, None, "127.0.0.1")
    assert ListenSpec.parse("0.0.0.0:9000=80") == ListenSpec(9000, 80, "0.0.0.0")
    assert ListenSpec.parse("[::1]:9000=443") == ListenSpec(9000, 443, "::1")
    with pytest.raises(UsageError):
        ListenSpec.parse("x:y")


def test_listen_on_an_unknown_gateway_port_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no Gateway listens on port 81"):
        prepare(manifests(), ServeOptions(listen=(ListenSpec(0, 81),)))


def test_bad_backend_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="NAMESPACE/NAME:PORT"):
        prepare(manifests(), ServeOptions(ephemeral=True, backends=(("v1", "http://x:1"),)))
