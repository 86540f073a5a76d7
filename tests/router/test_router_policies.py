"""The reference router enforces attached policies and the ExternalAuth filter
(ing2gw.enforce.guard): read back by an installed emitter's ``read_policies`` (here the test
emitter tests/plugins/policy_emitter), per most specific target, end to end from
``ing2gw route``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import support
from support import TESTDATA

from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.credentials import Credentials
from ing2gw.enforce.guard import Guard
from ing2gw.enforce.standin import AuthAnswer
from ing2gw.http import Headers, Request
from ing2gw.intents import IPAccess, RateLimit, ResponseHeaders
from ing2gw.ir import Provenance
from ing2gw.policy import AttachedPolicy, PolicyIndex, PolicyTarget
from ing2gw.router import Router
from ing2gw.yamlio import parse_documents

PLUGIN = support.ROOT / "tests" / "plugins" / "policy_emitter"
CASE = TESTDATA / "router" / "policies"
P = Provenance("TestPolicy", "shop", "x")


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN))


def _route_args() -> list[str]:
    return ["route", "-f", str(CASE / "gateway.yaml"), "--htpasswd", f"shop/users={CASE / 'users.htpasswd'}"]


def test_policy_cases_pass_end_to_end(reader, ing2gw) -> None:
    r = ing2gw([*_route_args(), "--cases", str(CASE / "cases.yaml"), "-o", "json"])
    assert r.exit_code == 0, r.stdout + r.stderr
    results = json.loads(r.stdout)["results"]
    refused = {x["name"]: x["outcome"].get("policy") for x in results if x["outcome"]["status"] >= 400}
    assert refused["the 4th request of that instant"] == "TestPolicy shop/web-limit"
    ext = refused["external auth refuses without credentials (stand-in)"]
    assert ext == "HTTPRoute shop/ext rule 0 ExternalAuth filter"


def test_checks_can_fail(reader, ing2gw, tmp_path: Path) -> None:
    """Without the htpasswd file only presence is checked (alice gets in); without the reader
    the TestPolicy objects mean nothing to the router."""
    no_file = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(CASE / "cases.yaml")])
    assert no_file.exit_code == 1
    assert "FAIL  api as alice (apr1 hash, locked out on a SHA-only target)  (200 shop/web:80)" in no_file.stdout
    one = ing2gw([*_route_args(), "http://web.example.com/admin", "--client", "203.0.113.9"])
    assert one.exit_code == 0 and one.stdout.startswith("403 Forbidden") and "refused by: TestPolicy" in one.stdout
    bad = ing2gw([*_route_args(), "http://web.example.com/", "--client", "nope"])
    assert bad.exit_code == 2 and "not an IP address" in bad.stderr


def test_without_the_reader_policies_are_not_enforced(ing2gw) -> None:
    one = ing2gw([*_route_args(), "http://web.example.com/admin", "--client", "203.0.113.9"])
    assert one.exit_code == 0 and one.stdout.startswith("200 Routed")


def test_bad_htpasswd_is_a_clear_error(reader, ing2gw, tmp_path: Path) -> None:
    bad = tmp_path / "users"
    bad.write_text("alice\n")
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--htpasswd", f"shop/users={bad}", "http://web.example.com/"])
    assert r.exit_code == 3 and f"{bad}:1: expected user:hash" in r.stderr and "Traceback" not in r.stderr
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--htpasswd", "users", "http://web.example.com/"])
    assert r.exit_code == 2 and "expected NAMESPACE/NAME=FILE" in r.stderr


def _router(policies: list[AttachedPolicy], **kw: object) -> Router:
    docs = parse_documents((CASE / "gateway.yaml").read_text(), "gateway.yaml")
    return Router.from_manifests(docs).with_guard(Guard(PolicyIndex(policies), **kw))  # type: ignore[arg-type]


def test_listener_and_gateway_policies_apply_unless_the_route_has_its_own() -> None:
    on_listener = AttachedPolicy(PolicyTarget("Gateway", "shop", "gw", "http"),
                                 IPAccess(deny=("203.0.113.0/24",), provenance=P), "TestPolicy shop/listener")
    on_route = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "ext"), IPAccess(allow=("0.0.0.0/0",), provenance=P),
                              "TestPolicy shop/route")
    router = _router([on_listener, on_route])
    refused = router.route(Request.build(host="web.example.com", path="/", client="203.0.113.9"))
    assert (refused.status, refused.policy) == (403, "TestPolicy shop/listener")
    # the route's own ip-access policy replaces the listener's
    assert router.route(Request.build(host="ext.example.com", path="/", client="203.0.113.9",
                                      headers=[("authorization", "x")])).status == 200


def test_rate_limit_keys_and_response_headers() -> None:
    clock = [0.0]
    limit = RateLimit(rate=1, unit="second", key="route", status=429, provenance=P)
    shared = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"), limit, "TestPolicy shop/r")
    headers = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"),
                             ResponseHeaders(set=(("x-frame-options", "DENY"),), provenance=P), "TestPolicy shop/h")
    router = _router([shared, headers], limiter=TokenBuckets(), clock=lambda: clock[0])
    first = router.route(Request.build(host="web.example.com", path="/", client="10.0.0.1"))
    assert first.status == 200 and first.response_headers.get("x-frame-options") == "DENY"
    # key "route": one bucket for every client
    assert router.route(Request.build(host="web.example.com", path="/", client="10.0.0.2")).status == 429
    clock[0] = 1.0
    assert router.route(Request.build(host="web.example.com", path="/", client="10.0.0.2")).status == 200
    # without a limiter nothing is counted (verify's boundary probes)
    uncounted = _router([shared])
    assert all(uncounted.route(Request.build(host="web.example.com", path="/")).status == 200 for _ in range(5))


def test_a_real_auth_service_answer_is_used() -> None:
    calls = []

    def deny(call):  # what serve does with a real auth backend
        calls.append(call)
        return AuthAnswer(403, Headers([("x-why", "no")]))

    router = _router([], auth=deny, credentials=Credentials())
    out = router.route(Request.build(host="ext.example.com", path="/p?q=1", headers=[("authorization", "x"),
                                                                                        ("x-other", "y")]))
    assert out.status == 403 and out.response_headers.get("x-why") == "no"
    (call,) = calls
    assert call.service == "shop/auth:8080" and call.path == "/p?q=1"
    assert "authorization" in call.headers and "x-other" not in call.headers  # only the allowed headers
