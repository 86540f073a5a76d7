"""Topologies verify end to end: routes attached to ListenerSets (``--topology listenersets``,
``--listener-sets``) and to existing Gateways reach their backends through the reference
router, and what an existing Gateway refuses is explained by the note that says so."""

from __future__ import annotations

import json

import pytest
from support import TESTDATA, verify_report

TOPOLOGY = TESTDATA / "convert" / "topology"


def _verify(ing2gw, *args: str) -> dict:
    return verify_report(ing2gw, *args)


@pytest.mark.parametrize("case", ["existing-gateway-listenerset", "existing-gateway-complete",
                                  "existing-gateway-required"])
def test_existing_gateway_cases_have_no_unexplained_drift(ing2gw, case: str) -> None:
    report = _verify(ing2gw, "-f", str(TOPOLOGY / case / "input.yaml"),
                     "--gateway-file", str(TOPOLOGY / case / "gateway.yaml"))
    assert report["summary"]["unexplained"] == 0, report["groups"]
    causes = {c for g in report["groups"] for c in g["cause"]}
    if case == "existing-gateway-listenerset":  # every listener is there: only the usual ingress-nginx notes
        assert not {c for c in causes if c.startswith("EMIT-EXISTING")}
    else:
        assert "EMIT-EXISTING-ROUTES-NOT-ALLOWED" in causes


def test_listenersets_topology_serves_https_through_the_sets(ing2gw) -> None:
    report = _verify(ing2gw, "-f", str(TOPOLOGY / "listenersets" / "input.yaml"), "--topology", "listenersets")
    assert report["summary"]["unexplained"] == 0, report["groups"]
    r = ing2gw(["route", "-f", str(TOPOLOGY / "listenersets" / "expected.yaml"), "https://pay.shop.example.com/",
                "-o", "json"])
    out = json.loads(r.stdout)
    assert out["status"] == 200 and out["backend"] == "shop/pay:80", out


def test_overflow_listener_sets_are_routed(ing2gw) -> None:
    r = ing2gw(["route", "-f", str(TESTDATA / "convert" / "limits-listenersets" / "expected.yaml"),
                "https://site69.example.com/", "-o", "json"])
    out = json.loads(r.stdout)
    assert out["status"] == 200 and out["backend"] == "sites/site:80", out
