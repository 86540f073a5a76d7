"""``ing2gw serve`` under attack (issue #18), over real sockets on 127.0.0.1: paths that try
to take another rule, clients that never read, headers a client tries to delete, and the
shapes where the proxy must be at least as strict as nginx."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

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
         "spec": {"listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
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
    with socket.create_connection(("127.0.0.1", proxy.ports[80]), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer[9:12])


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
    got = body_json(exchange(proxy, b"PaTcH /public/m HTTP/1.1\r\nHost: site.example\r\n"
                                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"))
    assert got["method"] == "PaTcH"


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
