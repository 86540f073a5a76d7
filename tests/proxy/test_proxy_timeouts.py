"""Timeouts against a slow backend (ing2gw.enforce.timeouts): the reference router answers a
case that states its backend's delay (``backendDelay``) with the 504 of the shortest limit --
the rule's ``timeouts`` or an attached timeout policy -- and ``serve`` really times out on
loopback against an echo backend told to wait (``X-Echo-Delay``), in the same places."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import support
from support import TESTDATA

from ing2gw.cases import load_cases, request_of
from ing2gw.enforce.guard import Guard, policy_index
from ing2gw.enforce.timeouts import Limit, format_seconds, parse_duration, timed_out
from ing2gw.http import Request
from ing2gw.proxy import RunningProxy, ServeOptions, start_serve
from ing2gw.router import Router
from ing2gw.yamlio import parse_documents

PLUGIN = support.ROOT / "tests" / "plugins" / "policy_emitter"
CASE = TESTDATA / "router" / "timeouts"
TIMEOUT = 5.0


def _manifests() -> list[Any]:
    return parse_documents((CASE / "gateway.yaml").read_text(), str(CASE / "gateway.yaml"))


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN))  # the emitter that reads the TestPolicy objects


@pytest.fixture
def proxy(reader: None) -> Iterator[RunningProxy]:
    with start_serve(_manifests(), ServeOptions(ephemeral=True, echo_backends=True)) as running:
        yield running


def _router() -> Router:
    docs = _manifests()
    return Router.from_manifests(docs).with_guard(Guard(policy_index(docs)))


def send(proxy: RunningProxy, path: str, delay: str | None = None) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=TIMEOUT)
    start = time.monotonic()
    try:
        conn.request("GET", path, headers={"Host": "web.example.com", **({"X-Echo-Delay": delay} if delay else {})})
        resp = conn.getresponse()
        return resp.status, resp.read(), time.monotonic() - start
    finally:
        conn.close()


def test_cases_pass_end_to_end(reader: None, ing2gw: Any) -> None:
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(CASE / "cases.yaml"), "-o", "json"])
    assert r.exit_code == 0, r.stdout + r.stderr
    results = {x["name"]: x for x in json.loads(r.stdout)["results"]}
    over = results["over backendRequest"]
    assert over["request"]["backendDelay"] == "1500ms"
    assert over["outcome"]["reason"] == "BackendTimeout"
    assert "timeouts.backendRequest 500ms of HTTPRoute shop/web rule quick" in over["outcome"]["notes"][-1]


def test_a_wrong_expectation_fails(reader: None, ing2gw: Any, tmp_path: Any) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("- request: {host: web.example.com, path: /quick, backendDelay: 2s}\n  expect: {status: 200}\n"
                     "- request: {host: web.example.com, path: /quick, backendDelay: soon}\n")
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(cases)])
    assert r.exit_code == 3 and "backendDelay: 'soon' is not a duration" in r.stderr, r.stderr
    cases.write_text("- request: {host: web.example.com, path: /quick, backendDelay: 2s}\n  expect: {status: 200}\n")
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(cases)])
    assert r.exit_code == 1 and "FAIL" in r.stdout


def test_the_shortest_limit_fires() -> None:
    from ing2gw.router.outcome import Outcome

    routed = Outcome(200, "Routed", None, True)
    limits = [Limit(2.0, "timeouts.request", "r"), Limit(0.5, "read timeout", "p", "read")]
    assert timed_out(routed, 0.5, limits) is routed  # equal to a limit is within it
    out = timed_out(routed, 0.6, limits)
    assert (out.status, out.policy, out.served) == (504, "p", False)
    assert timed_out(routed, 3, limits).policy == "p"
    assert parse_duration("1h30m") == 5400 and parse_duration("1.5s") is None
    assert [format_seconds(s) for s in (3, 0.35, 60.5)] == ["3s", "350ms", "60500ms"]


def test_serve_times_out_where_the_router_says(proxy: RunningProxy) -> None:
    """Every case whose delay is short is sent through serve with the echo backend told to
    wait that long: the status is the router's, and a 504 comes before the backend would
    have answered (the delays over a limit are 1 s longer than it: room for a loaded machine)."""
    router = _router()
    checked = 0
    for case in load_cases(str(CASE / "cases.yaml")):
        request = request_of(case)
        if request.backend_delay is None or request.backend_delay > 2:
            continue
        want = router.route(request)
        status, body, took = send(proxy, request.target, format_seconds(request.backend_delay))
        assert status == want.status, (case.name, body)
        if status == 504:
            assert took < request.backend_delay, (case.name, took)
        else:
            assert json.loads(body)["service"] == "web"
        checked += 1
    assert checked == 4


def test_serve_read_timeout_applies_to_each_read(proxy: RunningProxy) -> None:
    """The read timeout policy (300ms) bounds the wait for the head; the route's 2s request
    timeout is longer. A quick answer on the same rule gets through on a kept connection."""
    status, body, took = send(proxy, "/read", "1900ms")
    assert status == 504 and b"did not answer in time" in body
    assert 0.25 < took < 1.5, took  # the read timeout's, not the request timeout's (2s) nor the backend's
    assert send(proxy, "/read", "50ms")[0] == 200
    assert send(proxy, "/read")[0] == 200


def test_via_proxy_check_agrees(reader: None) -> None:
    from ing2gw.viaproxy import ProxyCheck

    check = ProxyCheck(_manifests(), _router())
    try:
        quick = Request.build(host="web.example.com", path="/quick", backend_delay=1.5)
        assert check.check(quick) == []
        assert check.check(Request.build(host="web.example.com", path="/read", backend_delay=0.1)) == []
        assert check.check(Request.build(host="web.example.com", path="/", backend_delay=60)) is None  # too slow
    finally:
        check.stop()


def test_route_url_with_a_backend_delay(reader: None, ing2gw: Any) -> None:
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "http://web.example.com/read", "--backend-delay", "400ms"])
    assert r.exit_code == 0 and r.stdout.startswith("504 BackendTimeout") and "read timeout 300ms" in r.stdout
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "http://web.example.com/read", "--backend-delay", "100ms"])
    assert r.exit_code == 0 and r.stdout.startswith("200 Routed")
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "http://web.example.com/", "--backend-delay", "4x"])
    assert r.exit_code == 2 and "expected a duration" in r.stderr
    # the ingress-nginx model: proxy_read_timeout (60s by default) -> 504
    ingresses = str(TESTDATA / "verify" / "timeouts" / "ingresses.yaml")
    model = ["route", "-f", ingresses, "--as", "ingress-nginx"]
    r = ing2gw([*model, "http://reads.example.com/", "--backend-delay", "6s"])
    assert r.exit_code == 0 and r.stdout.startswith("504 BackendTimeout") and "proxy_read_timeout 5s" in r.stdout
    assert ing2gw([*model, "http://tuned.example.com/", "--backend-delay", "59s"]).stdout.startswith("200 Routed")
    assert ing2gw([*model, "http://tuned.example.com/", "--backend-delay", "61s"]).stdout.startswith("504")
