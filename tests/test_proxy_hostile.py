"""``ing2gw serve`` under attack (issue #18), over real sockets on 127.0.0.1: paths that try
to take another rule, clients that never read, headers a client tries to delete, and the
shapes where the proxy must be at least as strict as nginx."""

from __future__ import annotations

import json
import socket
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
