"""``verify`` checks protections, per emitter: one Ingress set (testdata/verify/policies)
verified against several emitters gives golden reports that show which protections each
target keeps, and how their behaviour changes (a lost rate limit: 503 -> 200; a body limit
lost: 413 -> 200), each difference explained by that emitter's own notes."""

from __future__ import annotations

import pytest
from support import TESTDATA, assert_golden_report, verify_report

CASE = TESTDATA / "verify" / "policies"
RUNS = {
    "standard": [],
    "standard-experimental": ["--experimental"],
    "envoy-gateway": ["--emitter", "envoy-gateway"],
    "agentgateway": ["--emitter", "agentgateway"],
    "kgateway": ["--emitter", "kgateway"],
    "nginx-gateway-fabric": ["--emitter", "nginx-gateway-fabric"],
    "traefik": ["--emitter", "traefik"],
}


def _verify(ing2gw, *extra: str) -> dict:
    # the users of the source Secret, and of the Secret the envoy-gateway note asks for (same users)
    users = CASE / "users.htpasswd"
    return verify_report(ing2gw, "-f", str(CASE / "ingresses.yaml"), "--htpasswd", f"shop/users={users}",
                         "--htpasswd", f"shop/users-htpasswd={users}",
                         "--credentials", "alice:alice-pw", "--credentials", "bob:bob-pw", *extra,
                         "--allow-unprotected")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_golden_policy_report(run: str, ing2gw) -> None:
    assert_golden_report(_verify(ing2gw, *RUNS[run]), CASE / f"{run}.json")


def _by_origin(report: dict) -> dict[str, dict]:
    return {d["origin"].split(", request")[0]: d for d in report["differences"]}


def test_policy_probes_show_each_protection(ing2gw) -> None:
    standard = _by_origin(_verify(ing2gw))
    burst = standard["policy probe: burst of 16 requests from 203.0.113.9 on http://limited.example.com/"]
    # nginx: limit-rps 5 x burst multiplier 2 = 10 extra, so request 12 is the first refused
    assert burst["origin"].endswith("request 12") and burst["repeats"] == 5 and burst["request"]["sequence"] == 12
    assert (burst["source"]["status"], burst["gateway"]["status"]) == (503, 200)
    assert {n["code"] for n in burst["explainedBy"]} >= {"PROTECTION-LOST"}
    body = standard["policy probe: body sizes on http://guarded.example.com/"]
    assert body["request"]["headers"] == {"content-length": "8193"} and body["request"]["client"] == "10.0.0.1"
    assert (body["source"]["status"], body["gateway"]["status"]) == (413, 200)
    # Envoy Gateway's local rate limit: a token bucket of 5 per second answering 429, not nginx's 503 after 11
    eg = [d for d in _verify(ing2gw, "--emitter", "envoy-gateway")["differences"] if "burst" in d["origin"]]
    assert [(d["request"]["sequence"], d["source"]["status"], d["gateway"]["status"], d.get("repeats", 1))
            for d in eg] == [(6, 200, 429, 6), (12, 503, 429, 5)]
    # with --experimental the external auth is carried (the ExternalAuth filter), asked of the same stand-in
    experimental = _by_origin(_verify(ing2gw, "--experimental"))
    assert "policy probe: credentials on http://ext.example.com/" not in experimental
    assert "policy probe: credentials on http://ext.example.com/" in standard
