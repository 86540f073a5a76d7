"""``serve`` enforces the policies over real HTTP on loopback: allow-lists, basic auth against
--htpasswd (hash formats the target accepts), body limits, real token buckets, and external
auth by calling auth services (the built-in stand-in, allow-all and deny-all ones); and
``verify --via-proxy`` finds the proxy doing what the router predicts for protected routes."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
import support
from support import TESTDATA, verify_report

from ing2gw.enforce.credentials import Credentials
from ing2gw.proxy import RunningProxy, ServeOptions, start_serve
from ing2gw.yamlio import parse_documents

PLUGIN = support.ROOT / "tests" / "plugins" / "policy_emitter"
CASE = TESTDATA / "router" / "policies"
TIMEOUT = 5.0
CLIENT = "x-test-client"


def _manifests() -> list[Any]:
    return parse_documents((CASE / "gateway.yaml").read_text(), str(CASE / "gateway.yaml"))


def _serve(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> RunningProxy:
    monkeypatch.syspath_prepend(str(PLUGIN))  # the emitter that reads the TestPolicy objects
    options = ServeOptions(ephemeral=True, echo_backends=True, client_header=CLIENT,
                           credentials=Credentials.from_options([f"shop/users={CASE / 'users.htpasswd'}"]), **kw)
    return start_serve(_manifests(), options)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningProxy]:
    with _serve(monkeypatch) as running:
        yield running


def get(proxy: RunningProxy, host: str, path: str = "/", headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=TIMEOUT)
    try:
        conn.request("POST" if body else "GET", path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_allow_list_basic_auth_and_body_limit(proxy: RunningProxy) -> None:
    assert get(proxy, "web.example.com", "/admin", {CLIENT: "10.1.2.3"})[0] == 200
    assert get(proxy, "web.example.com", "/admin", {CLIENT: "203.0.113.9"})[0] == 403
    assert get(proxy, "web.example.com", "/admin")[0] == 403  # the peer, 127.0.0.1, is not in 10.0.0.0/8
    status, headers, _ = get(proxy, "web.example.com", "/api")
    assert status == 401 and headers["www-authenticate"] == 'Basic realm="shop"'
    assert get(proxy, "web.example.com", "/api", _basic("bob", "bob-pw"))[0] == 200
    assert get(proxy, "web.example.com", "/api", _basic("alice", "alice-pw"))[0] == 401  # apr1 on a SHA-only target
    assert get(proxy, "web.example.com", "/", {CLIENT: "192.0.2.1"}, body=b"x" * 2048)[0] == 413
    status, _, body = get(proxy, "web.example.com", "/", {CLIENT: "192.0.2.2"}, body=b"x" * 1000)
    assert status == 200 and json.loads(body)["bodyLength"] == 1000


def test_rate_limit_is_a_real_token_bucket(proxy: RunningProxy) -> None:
    # rate 2/s + burst 1: three requests at once pass, then the bucket is empty for 0.5 s
    statuses = [get(proxy, "web.example.com", "/", {CLIENT: "198.51.100.7"})[0] for _ in range(8)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:], statuses
    assert get(proxy, "web.example.com", "/", {CLIENT: "198.51.100.8"})[0] == 200  # per client


def test_external_auth_asks_the_auth_service(proxy: RunningProxy) -> None:
    assert "shop/auth:8080" in proxy.backends  # the stand-in auth server of --echo-backends
    status, headers, _ = get(proxy, "ext.example.com")
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="stand-in"'
    status, headers, body = get(proxy, "ext.example.com", "/x", {"Authorization": "Bearer t"})
    echo = json.loads(body)
    assert status == 200 and echo["service"] == "web" and echo["headers"]["X-Auth-Request-User"] == ["stand-in"]
    assert headers["x-frame-options"] == "DENY"  # a policy's response header, on the backend's answer


@pytest.mark.parametrize(("mode", "without", "with_token"), [("allow-all", 200, 200), ("deny-all", 403, 403)])
def test_built_in_allow_all_and_deny_all_auth_backends(monkeypatch: pytest.MonkeyPatch, mode: str, without: int,
                                                       with_token: int) -> None:
    with _serve(monkeypatch, backends=(("shop/auth:8080", mode),)) as proxy:
        assert get(proxy, "ext.example.com")[0] == without
        assert get(proxy, "ext.example.com", headers={"Authorization": "Bearer t"})[0] == with_token


def test_unreachable_auth_service_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with _serve(monkeypatch, backends=(("shop/auth:8080", f"http://127.0.0.1:{dead}"),)) as proxy:
        assert get(proxy, "ext.example.com", headers={"Authorization": "Bearer t"})[0] == 503


def test_verify_via_proxy_agrees_on_protected_routes(ing2gw) -> None:
    case = TESTDATA / "verify" / "policies"
    users = case / "users.htpasswd"
    report = verify_report(ing2gw, "-f", str(case / "ingresses.yaml"), "--emitter", "envoy-gateway", "--via-proxy",
                           "--htpasswd", f"shop/users-htpasswd={users}", "--credentials", "bob:bob-pw",
                           "--allow-unprotected")
    proxy = report["checks"]["proxy"]
    assert proxy["checked"] > 20 and proxy["disagree"] == 0, proxy["problems"]
