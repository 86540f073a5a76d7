"""``verify`` checks timeouts, per emitter: every rule with a timeout on either side is probed
with a backend just slower than each limit (testdata/verify/timeouts). The ingress-nginx model
answers 504 past the location's proxy_read_timeout (60s unless set); the router past the
rule's ``timeouts`` and the attached timeout policies. Where a target keeps no read timeout the
report shows 504 -> 200, explained by that emitter's own notes."""

from __future__ import annotations

import pytest
from support import TESTDATA, assert_golden_report, verify_report

CASE = TESTDATA / "verify" / "timeouts"
RUNS = {
    "standard": [],
    "envoy-gateway": ["--emitter", "envoy-gateway"],
    "istio": ["--emitter", "istio"],
    "kgateway": ["--emitter", "kgateway"],
}


def _verify(ing2gw, *extra: str) -> dict:
    return verify_report(ing2gw, "-f", str(CASE / "ingresses.yaml"), *extra, "--allow-unprotected")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_golden_timeout_report(run: str, ing2gw) -> None:
    assert_golden_report(_verify(ing2gw, *RUNS[run]), CASE / f"{run}.json")


def _timeouts(report: dict) -> list[dict]:
    return [d for d in report["differences"] if "slower than each timeout" in d["origin"]]


def test_probes_show_where_each_target_times_out(ing2gw) -> None:
    standard = _timeouts(_verify(ing2gw))
    # nginx keeps its default 60s read timeout where only connect/send are set; the standard
    # emitter carries neither, so the Gateway waits for the slow backend
    [lost] = standard
    assert lost["request"]["url"] == "http://tuned.example.com/" and lost["request"]["backendDelay"] == "66s"
    assert (lost["source"]["status"], lost["gateway"]["status"]) == (504, 200)
    assert {n["code"] for n in lost["explainedBy"]} == {"INTENT-NOT-EMITTED", "NGINX-ANNOTATION-EXTENSION"}
    # Envoy Gateway carries the read timeout as a stream idle timeout: no difference left
    assert _timeouts(_verify(ing2gw, "--emitter", "envoy-gateway")) == []
    # proxy-read-timeout 5 is timeouts.backendRequest 5s: both sides time out past 5s (no difference)
    assert not [d for d in standard if d["request"]["url"].startswith("http://reads.")]

