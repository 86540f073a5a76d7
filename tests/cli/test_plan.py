"""``ing2gw plan``: golden plans (text, markdown, JSON) for the shipped example and an existing
Gateway, and every ``kubectl wait`` line of the shipped example's plan run by the real
``kubectl`` against the API emulator: met when a controller has set the conditions, not met
(exit 1) when it has not."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import ROOT, SHARED, TESTDATA, UPDATE_GOLDEN

CASES = sorted(p.parent for p in (TESTDATA / "plan").glob("*/args"))
FORMATS = {"text": "expected.txt", "markdown": "expected.md", "json": "expected.json"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan_golden(case: Path, fmt: str, ing2gw, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = ing2gw(["plan", *shlex.split((case / "args").read_text()), "-o", fmt])
    assert r.exit_code == 0, r.stderr
    expected = case / FORMATS[fmt]
    if UPDATE_GOLDEN:
        expected.write_text(r.stdout)
    assert r.stdout == expected.read_text()


def test_per_namespace_plan_costs_one_load_balancer_per_namespace(ing2gw, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = ing2gw(["plan", "-f", "testdata/examples/shop.yaml", "--topology", "per-namespace", "-o", "json"])
    plan = json.loads(r.stdout)
    assert plan["load_balancers"] == 2 == len(plan["gateways"])
    assert plan["cost"].startswith("per-namespace topology: one Gateway per namespace, so 2 load balancer(s)")
    assert "--topology per-namespace --output-dir gateway/" in plan["steps"][1]["commands"][0]


def test_required_changes_fail_with_fail_on_error(ing2gw, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    case = "testdata/convert/topology/existing-gateway-required"
    r = ing2gw(["plan", "-f", f"{case}/input.yaml", "--gateway-file", f"{case}/gateway.yaml", "--fail-on", "error"])
    assert r.exit_code == 1
    assert "Required changes before applying:" in r.stdout and "EMIT-EXISTING-LISTENERS-REQUIRED" in r.stdout


def _with_status(m: dict[str, Any], met: bool) -> dict[str, Any]:
    """``m`` as a conformant controller reports it: conditions True (or False when not ``met``)."""
    state = "True" if met else "False"
    out = dict(m)
    if m["kind"] in ("Gateway", "ListenerSet", "GatewayClass"):
        out["status"] = {"conditions": [{"type": t, "status": state, "reason": t, "message": "",
                                         "lastTransitionTime": "2024-01-01T00:00:00Z", "observedGeneration": 1}
                                        for t in ("Accepted", "Programmed")]}
    elif m["kind"].endswith("Route"):
        out["status"] = {"parents": [{"parentRef": p, "controllerName": "example.com/gateway", "conditions": [
            {"type": t, "status": state, "reason": t, "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z",
             "observedGeneration": 1} for t in ("Accepted", "ResolvedRefs")]} for p in m["spec"]["parentRefs"]]}
    return out


@pytest.fixture
def applied(ing2gw, monkeypatch, tmp_path: Path) -> Iterator[tuple[Path, list[str], Any]]:
    """The shipped example's objects in the emulator, with the plan's wait lines."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    if not (SHARED / "gateway-api" / "crds").is_dir():
        pytest.skip("../shared is not present")
    from kube_emulator import Emulator

    monkeypatch.chdir(ROOT)
    args = shlex.split((TESTDATA / "plan" / "shop" / "args").read_text())
    plan = json.loads(ing2gw(["plan", *args, "-o", "json"]).stdout)
    waits = [w for step in plan["steps"] for w in step["waits"]]
    manifests = list(yaml.safe_load_all(ing2gw(["convert", *args]).stdout))
    with Emulator() as em:
        em.add(*(_with_status(m, True) for m in manifests))
        yield em.kubeconfig(tmp_path / "config"), waits, (em, manifests)


def _run(line: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    return subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=60)


def test_every_wait_line_is_met_once_the_controller_reports(applied) -> None:
    kubeconfig, waits, _ = applied
    gateways = [w for w in waits if " gateway/" in w]
    routes = [w for w in waits if " httproute/" in w]
    assert len(gateways) == 2 and len(routes) == 12 and len(waits) == 14
    for line in waits:
        done = _run(line, kubeconfig)
        assert done.returncode == 0, (line, done.stderr)
        assert "condition met" in done.stdout


def test_a_wait_line_fails_while_the_condition_is_not_met(applied) -> None:
    kubeconfig, waits, (em, manifests) = applied
    route = next(m for m in manifests if m["kind"] == "HTTPRoute")
    em.add(_with_status(route, False))
    line = next(w for w in waits if f"httproute/{route['metadata']['name']} " in w and "Accepted" in w)
    done = _run(line.replace("--timeout=2m", "--timeout=1s"), kubeconfig)
    assert done.returncode == 1, done.stdout
