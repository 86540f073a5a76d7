"""``ing2gw serve`` under attack (issue #18), over real sockets on 127.0.0.1: paths that try
to take another rule, clients that never read, headers a client tries to delete, and the
shapes where the proxy must be at least as strict as nginx."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sockets import send_raw, status_of

from ing2gw.proxy import Limits, RunningProxy, ServeOptions, start_serve

GW = "gateway.networking.k8s.io/v1"
NS = "infra"
TIMEOUT = 5.0


def _rule(prefix: str, svc: str) -> dict[str, Any]:
    return {"matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
            "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
                "set": [{"name": "X-Route", "value": svc}]}}],
            "backendRefs": [{"name": svc, "port": 8080}]}


def manifests() -> list[dict[str, Any]]:
    return [
        {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": NS},
         "spec": {"listeners": [
             {"name": "http", "port": 80, "protocol": "HTTP"},
             {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "site.example",
              "tls": {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}}]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cert", "namespace": NS},
         "type": "kubernetes.io/tls", "data": {}},
        *({"apiVersion": "v1", "kind": "Service", "metadata": {"name": n, "namespace": NS},
           "spec": {"ports": [{"port": 8080}]}} for n in ("public", "admin")),
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "site", "namespace": NS},
         "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["site.example"],
                  "rules": [_rule("/public", "public"), _rule("/admin", "admin")]}},
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "moved", "namespace": NS},
         "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["moved.example"],
                  "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
                      "scheme": "https", "statusCode": 301}}]}]}},
    ]


@pytest.fixture(scope="module")
def proxy() -> Iterator[RunningProxy]:
    options = ServeOptions(ephemeral=True, echo_backends=True,
                           limits=Limits(header_timeout=2.0, max_body_bytes=1024))
    with start_serve(manifests(), options) as running:
        yield running


def exchange(proxy: RunningProxy, data: bytes, wait: float = TIMEOUT) -> bytes:
    return send_raw(proxy.ports[80], data, wait)


def body_json(answer: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    return data


def get(proxy: RunningProxy, target: str, extra: str = "") -> bytes:
    return exchange(proxy, f"GET {target} HTTP/1.1\r\nHost: site.example\r\n{extra}"
                           "Connection: close\r\n\r\n".encode())


# -- 1. routing on the normalised path -----------------------------------------------------

@pytest.mark.parametrize("target", ["/public/../admin", "/public/%2e%2e/admin", "//admin",
                                    "/public/.%2E/admin", "/public\\..\\admin"])
def test_dot_segments_and_slashes_cannot_take_another_rule(proxy: RunningProxy,
                                                           target: str) -> None:
    answer = get(proxy, target + "?x=1")
    assert status_of(answer) == 200, answer[:300]
    got = body_json(answer)
    assert got["service"] == "admin" and got["path"] == "/admin?x=1"
    assert got["headers"]["X-Route"] == ["admin"]


def test_escaped_slashes_are_redirected_to_the_decoded_path(proxy: RunningProxy) -> None:
    answer = get(proxy, "/public%2F..%2Fadmin")
    assert status_of(answer) == 307
    assert b"\r\nlocation: http://site.example/admin\r\n" in answer.lower()


@pytest.mark.parametrize("target", ["/public/%zz", "/public/%00", "/public/%4"])
def test_invalid_percent_encoding_is_400(proxy: RunningProxy, target: str) -> None:
    assert status_of(get(proxy, target)) == 400


def test_unreserved_escapes_are_decoded_before_forwarding(proxy: RunningProxy) -> None:
    got = body_json(get(proxy, "/%70ublic/caf%c3%a9"))
    assert got["service"] == "public" and got["path"] == "/public/caf%C3%A9"


# -- 3. a client cannot delete headers the gateway adds ------------------------------------

def test_connection_cannot_remove_a_header_a_filter_sets(proxy: RunningProxy) -> None:
    got = body_json(get(proxy, "/admin/x", "Connection: X-Route, X-Private\r\nX-Private: p\r\n"
                                           "X-Route: forged\r\nKeep-Alive: 5\r\n"))
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-route"] == ["admin"]  # the filter's value, not removed, not forged
    assert "x-private" not in headers and "keep-alive" not in headers
    assert "connection" not in headers


def test_methods_are_forwarded_as_sent(proxy: RunningProxy) -> None:
    got = body_json(exchange(proxy, b"PURGE /public/m HTTP/1.1\r\nHost: site.example\r\n"
                                    b"Connection: close\r\n\r\n"))
    assert got["method"] == "PURGE"
    # llhttp knows the registered methods, all upper-case: others are refused, never folded
    assert status_of(exchange(proxy, b"PaTcH /public/m HTTP/1.1\r\nHost: site.example\r\n"
                                     b"Connection: close\r\n\r\n")) == 400


# -- 2. one connection must not exhaust memory ---------------------------------------------

def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_client_that_never_reads_cannot_fill_memory(proxy: RunningProxy) -> None:
    """Pipelined requests the proxy answers itself (404s, redirects), replies never read:
    the proxy stops reading that client instead of buffering every reply, and other
    clients are still served promptly."""
    one = b"GET /nowhere HTTP/1.1\r\nHost: unknown.example\r\n\r\n" \
          b"GET /x HTTP/1.1\r\nHost: moved.example\r\n\r\n"
    block = one * (1024 * 1024 // len(one))
    flood = socket.socket()
    flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    flood.connect(("127.0.0.1", proxy.ports[80]))
    flood.settimeout(1.0)
    sent = 0
    before = _rss()
    peak = before

    def send() -> None:
        nonlocal sent
        try:
            while sent < 96 * 1024 * 1024:
                flood.sendall(block)
                sent += len(block)
        except OSError:  # blocked for a second: the proxy stopped reading
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        while sender.is_alive():
            peak = max(peak, _rss())
            time.sleep(0.05)
        peak = max(peak, _rss())
        start = time.monotonic()
        got = body_json(get(proxy, "/admin"))
        assert got["service"] == "admin" and time.monotonic() - start < 1.0
    finally:
        flood.close()
    assert sent < 64 * 1024 * 1024, "the proxy kept reading a client that reads nothing"
    assert peak - before < 48 * 1024 * 1024, (before, peak, sent)


# -- 4. where nginx was stricter -----------------------------------------------------------

@pytest.mark.parametrize(("host", "path", "status"), [
    ("unknown.example", "/", 404),  # answered by the proxy without reading the body
    ("site.example", "/public/", 413),  # over max_body_bytes
])
def test_unread_body_is_drained_so_the_answer_arrives(proxy: RunningProxy, host: str,
                                                      path: str, status: int) -> None:
    """The proxy answers before reading the upload, then reads and drops it (bounded)
    instead of closing on unread data, which resets the connection: the client's upload
    would fail with a broken pipe (curl then reports the reset, not the answer)."""
    body = b"x" * (6 * 1024 * 1024)  # more than the socket buffers hold
    failed: list[OSError] = []
    with socket.create_connection(("127.0.0.1", proxy.ports[80]), timeout=TIMEOUT) as s:
        def upload() -> None:
            try:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            except OSError as exc:
                failed.append(exc)

        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        sender.join(TIMEOUT)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert not failed, failed
    assert status_of(answer) == status


@pytest.mark.parametrize(("data", "status"), [
    (b"GET http://site.example/admin HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    (b"GET http://site.example/admin HTTP/1.0\r\n\r\n", 200),
    (b"GET /admin HTTP/1.1\nHost: site.example\n\n", 400),
    (b"POST /admin HTTP/1.1\r\nHost: site.example\r\nTransfer-Encoding: chunked\r\n\r\n"
     b" 5\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /admin HTTP/1.1\r\nHost: site.example\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5;a=\nb\r\nhello\r\n0\r\n\r\n", 400),
    (b"POST /admin HTTP/1.1\r\nHost: site.example\r\nTransfer-Encoding: chunked\r\n"
     b"Connection: close\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n", 200),
])
def test_stricter_shapes(proxy: RunningProxy, data: bytes, status: int) -> None:
    start = time.monotonic()
    assert status_of(exchange(proxy, data)) == status
    assert time.monotonic() - start < 1.5  # answered at once, not at a timeout


def _listen_backlog(port: int) -> int | None:
    import shutil
    import subprocess

    if shutil.which("ss") is None:
        return None
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                         check=False).stdout.split()
    return int(out[2]) if len(out) > 2 else None


def test_listen_backlog_is_1024(proxy: RunningProxy) -> None:
    backlog = _listen_backlog(proxy.ports[80])
    if backlog is None:
        pytest.skip("ss is not installed")
    assert backlog == 1024
    for echo_port in {int(url.rsplit(":", 1)[1]) for url in proxy.backends.values()}:
        assert _listen_backlog(echo_port) == 1024


def _lf_backend() -> tuple[socket.socket, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi")
                time.sleep(3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_lf_only_backend_heads_get_502_at_once() -> None:
    server, _ = _lf_backend()
    port = server.getsockname()[1]
    try:
        with start_serve(manifests(), ServeOptions(ephemeral=True, backends=(
                ("infra/admin:8080", f"http://127.0.0.1:{port}"),))) as running:
            start = time.monotonic()
            answer = get(running, "/admin")
            assert status_of(answer) == 502 and b"bare LF" in answer
            assert time.monotonic() - start < 2
    finally:
        server.close()


def test_connections_beyond_the_cap_are_closed() -> None:
    options = ServeOptions(ephemeral=True, echo_backends=True, limits=Limits(max_connections=4))
    with start_serve(manifests(), options) as running:
        held = [socket.create_connection(("127.0.0.1", running.ports[80]), timeout=TIMEOUT)
                for _ in range(4)]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", running.ports[80]),
                                          timeout=TIMEOUT) as extra:
                try:
                    assert extra.recv(10) == b""
                except ConnectionResetError:
                    pass
            held[0].sendall(b"GET /admin HTTP/1.1\r\nHost: site.example\r\n"
                            b"Connection: close\r\n\r\n")
            assert held[0].recv(12).startswith(b"HTTP/1.1 200")
        finally:
            for s in held:
                s.close()


def test_idle_tls_connections_stay_small(proxy: RunningProxy) -> None:
    """asyncio allocates a 256 KiB read buffer per TLS connection; the proxy's TLS protocol
    reads one record (16 KiB) at a time. Both ends of each connection live in this process,
    so the bound covers the client's side too."""
    assert proxy.ca_file is not None
    ctx = ssl.create_default_context(cafile=str(proxy.ca_file))

    def dial() -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", proxy.ports[443]), timeout=TIMEOUT)
        return ctx.wrap_socket(raw, server_hostname="site.example")

    conns = [dial() for _ in range(20)]  # warm up allocator and caches
    try:
        time.sleep(0.2)
        before = _rss()
        conns += [dial() for _ in range(200)]
        time.sleep(0.3)
        per_connection = (_rss() - before) / 200
        conns[-1].sendall(b"GET /admin HTTP/1.1\r\nHost: site.example\r\n\r\n")
        assert conns[-1].recv(12) == b"HTTP/1.1 200"
    finally:
        for c in conns:
            c.close()
    assert per_connection < 128 * 1024, per_connection


def _chunked_backend(answer: bytes) -> socket.socket:
    """A backend that answers every request with ``answer`` (raw bytes) on a kept-alive
    connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(TIMEOUT)
                try:
                    while conn.recv(65536):
                        conn.sendall(answer)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return server


@pytest.mark.parametrize(("answer", "body"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n"
     b"0\r\nTrailer: t\r\n\r\n", b"hello world"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n", None),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGARBAGE", b"hello"),
])
def test_chunked_responses_are_decoded_by_llhttp(answer: bytes, body: bytes | None) -> None:
    server = _chunked_backend(answer)
    try:
        with start_serve(manifests(), ServeOptions(ephemeral=True, backends=(
                ("infra/admin:8080", f"http://127.0.0.1:{server.getsockname()[1]}"),))) as running:
            for _ in range(2):  # a second request: a broken or overlong answer is not reused
                got = get(running, "/admin")
                head, _, rest = got.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                assert b"transfer-encoding: chunked" in head.lower()
                if body is None:  # malformed mid-body: the client connection is cut
                    assert not rest.endswith(b"0\r\n\r\n")
                else:
                    assert rest.endswith(b"0\r\n\r\n")
                    assert _dechunk(rest) == body
    finally:
        server.close()


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2:]
