"""``ing2gw verify`` for the two HAProxy providers: golden reports where every difference is
explained by a note, and real haproxy agreeing with the model on every replayed request."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import TESTDATA, assert_golden_report, verify_report

CASES = sorted(p for p in (TESTDATA / "verify-haproxy").iterdir() if (p / "input.yaml").exists())


def _report(ing2gw, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return verify_report(ing2gw, *args, "--allow-unprotected")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_report(case: Path, ing2gw) -> None:  # type: ignore[no-untyped-def]
    report = _report(ing2gw, "-f", str(case / "input.yaml"))
    assert_golden_report(report, case / "expected.json")  # every difference is explained by a note
    assert report["provider"] == ("haproxy-ingress" if case.name.startswith("haproxy-ingress") else "haproxy-tech")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_haproxy_agrees_with_the_model(case: Path, ing2gw) -> None:  # type: ignore[no-untyped-def]
    from ing2gw.providers._haproxy.process import haproxy_binary

    if haproxy_binary() is None:
        pytest.skip("haproxy is not installed (Debian package haproxy)")
    report = _report(ing2gw, "-f", str(case / "input.yaml"), "--oracle", "haproxy")
    oracle = report["checks"]["haproxy"]
    assert oracle["checked"] > 0  # probes from other client addresses are the model's alone
    assert oracle["disagree"] == 0, oracle["problems"]
