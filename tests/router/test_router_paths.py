"""Path normalisation before routing (issue #18, finding 1): the declared policies, and the
router matching (and sending upstream) the normalised path, never the raw one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ing2gw.http import Request
from ing2gw.router import STANDARD, PathPolicy, Router
from ing2gw.router.paths import BadPath, path_policies, path_policy, register_path_policy

GW = "gateway.networking.k8s.io/v1"


@pytest.mark.parametrize(("raw", "expected", "redirect"), [
    ("/public/../admin", "/admin", False),
    ("/public/%2e%2e/admin", "/admin", False),
    ("/public/%2E%2E/admin", "/admin", False),
    ("/public/.%2e/admin", "/admin", False),
    ("//admin", "/admin", False),
    ("/public//admin", "/public/admin", False),
    ("/public%2F..%2Fadmin", "/admin", True),
    ("/public%2f..%2fadmin", "/admin", True),
    ("/public%5C..%5Cadmin", "/admin", True),
    ("/public\\..\\admin", "/admin", False),
    ("/a/./b/.", "/a/b/", False),
    ("/a/b/..", "/a/", False),
    ("/../../etc", "/etc", False),  # RFC 3986: never above the root
    ("/%41%7e%2D", "/A~-", False),  # unreserved characters decoded
    ("/caf%c3%a9%20x", "/caf%C3%A9%20x", False),  # the rest keep their escape, upper-cased
    ("/a//../b", "/a/b", False),  # dot segments first, then slashes merge (as Envoy)
    ("/plain/path", "/plain/path", False),
    ("/.well-known/x", "/.well-known/x", False),
])
def test_standard_policy(raw: str, expected: str, redirect: bool) -> None:
    got = STANDARD.normalise(raw)
    assert (got.path, got.redirect) == (expected, redirect)


@pytest.mark.parametrize("raw", ["/%zz", "/a%2", "/a%", "/x%00y", "/%g0"])
def test_invalid_percent_encoding_is_refused_by_every_policy(raw: str) -> None:
    for policy in (STANDARD, PathPolicy("lax", decode_unreserved=False, dot_segments=False,
                                        merge_slashes=False, escaped_slashes="keep")):
        with pytest.raises(BadPath):
            policy.normalise(raw)


def test_escaped_slash_actions() -> None:
    raw = "/public%2F..%2Fadmin"
    assert PathPolicy("k", escaped_slashes="keep").normalise(raw).path == "/public%2F..%2Fadmin"
    assert PathPolicy("d", escaped_slashes="decode").normalise(raw) == \
        STANDARD.normalise("/admin")
    with pytest.raises(BadPath, match="encoded slash"):
        PathPolicy("r", escaped_slashes="reject").normalise(raw)


def test_policies_are_declared_by_name() -> None:
    assert path_policy("standard") is STANDARD and "standard" in path_policies()
    own = PathPolicy("test-implementation", merge_slashes=False, escaped_slashes="keep")
    register_path_policy(own)
    assert path_policy("test-implementation") is own
    assert "merges //" not in own.describe() and "keeps %2F" in own.describe()


@given(st.text(alphabet="/.%2eEfF5cC\\aAz0", max_size=24))
def test_normalising_is_idempotent(tail: str) -> None:
    try:
        once = STANDARD.normalise("/" + tail)
    except BadPath:
        return
    again = STANDARD.normalise(once.path)
    assert again.path == once.path and not again.redirect
    assert "//" not in once.path and "/./" not in once.path and "/../" not in once.path


def _router() -> Router:
    def rule(prefix: str, svc: str) -> dict[str, Any]:
        return {"matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
                "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
                    "set": [{"name": "X-Route", "value": svc}]}}],
                "backendRefs": [{"name": svc, "port": 80}]}

    return Router.from_manifests([
        {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
         "spec": {"listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "ns"},
         "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule("/public", "public"),
                                                            rule("/admin", "admin")]}},
    ])


@pytest.mark.parametrize("raw", ["/public/../admin", "/public/%2e%2e/admin", "//admin",
                                 "/public/./../admin/"])
def test_router_matches_and_forwards_the_normalised_path(raw: str) -> None:
    outcome = _router().route(Request.build(host="h", path=raw + "?q=1"))
    assert outcome.backend == "ns/admin:80"
    assert outcome.upstream is not None
    assert outcome.upstream.path.startswith("/admin") and outcome.upstream.path.endswith("?q=1")
    assert outcome.upstream.headers.get("x-route") == "admin"
    assert any("normalised" in n for n in outcome.notes)


def test_router_redirects_escaped_slashes_and_refuses_bad_escapes() -> None:
    router = _router()
    outcome = router.route(Request.build(host="h", path="/public%2F..%2Fadmin?q=1"))
    assert (outcome.status, outcome.reason, outcome.backend) == (307, "PathNormalised", None)
    assert outcome.redirect is not None and outcome.redirect.location == "http://h/admin?q=1"
    bad = router.route(Request.build(host="h", path="/public/%zz"))
    assert (bad.status, bad.reason, bad.backend) == (400, "BadRequestPath", None)


def test_a_router_with_another_policy() -> None:
    keep = Router(_router().table, PathPolicy("keep", escaped_slashes="keep"))
    outcome = keep.route(Request.build(host="h", path="/public%2F..%2Fadmin"))
    assert outcome.status == 404  # one segment "public%2F..%2Fadmin": no prefix takes it


def test_an_emitter_target_declares_its_policy() -> None:
    from ing2gw.router.paths import target_path_policy

    assert target_path_policy("standard") is STANDARD
    assert target_path_policy("no-such-emitter") is STANDARD
    own = PathPolicy("toy-target", escaped_slashes="reject")
    register_path_policy(own)
    assert target_path_policy("toy-target") is own
