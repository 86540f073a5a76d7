"""Every case of the Gateway API mesh (GAMMA) conformance tables (mesh-cases.json) against
the reference router: the mesh base manifests plus the case's manifest, the case's request
sent east-west from the client's namespace to the Service its authority names, the outcome
judged on what the upstream suite checks and on what the table records besides (the backend
path and host, redirect locations, requests left unchanged).

No case is skipped: the one whose recorded expectation the manifest cannot produce
(MeshHTTPRouteNamedRule ``/unnamed``, see its ``note``) is checked against what the manifest
does say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pytest
from support import SHARED

from ing2gw.cases import compare
from ing2gw.http import MeshSource, Request
from ing2gw.router import Router
from ing2gw.sources import read_paths

CONFORMANCE = SHARED / "gateway-api" / "conformance"
MESH = CONFORMANCE / "mesh-manifests"

pytestmark = pytest.mark.skipif(not (CONFORMANCE / "mesh-cases.json").is_file(),
                                reason="shared/ mesh reference data missing")


def _load(name: str) -> Any:
    path = CONFORMANCE / name
    return json.loads(path.read_text()) if path.is_file() else {}


CASES: list[dict[str, Any]] = _load("mesh-cases.json") or []
INVENTORY: dict[str, Any] = _load("mesh-services.json")


@cache
def _router(manifest: str | None) -> Router:
    paths = [str(MESH / "manifests.yaml")] + ([str(MESH / manifest)] if manifest else [])
    return Router.from_manifests(read_paths(paths))


def _pods(backend: str) -> set[str]:
    """Deployments (pod-name prefixes) behind ``ns/service:port``, from mesh-services.json."""
    ref = backend.rpartition(":")[0]
    ns = ref.partition("/")[0]
    for svc in INVENTORY.get("services", ()):
        if svc["service"] == ref:
            return {w["deployment"].partition("/")[2] for w in INVENTORY.get("workloads", ())
                    if w["deployment"].startswith(ns + "/")
                    and all(w["podLabels"].get(k) == v for k, v in svc["selector"].items())}
    return set()


def _request(case: Mapping[str, Any]) -> Request:
    r = case["request"]
    mesh = MeshSource(case["client"]["namespace"], r["authority"])
    if r["scheme"] == "grpc":
        grpc = r["grpc"]
        return Request.build(host=r["host"], path=f"/{grpc['service']}/{grpc['method']}", method="POST",
                             port=r["port"], headers={"content-type": "application/grpc"}, mesh=mesh)
    return Request.build(host=r["host"], path=r["path"], method=r["method"], scheme=r["scheme"],
                         port=r["port"], headers=r.get("headers") or {}, mesh=mesh)


def _backend_failures(outcome: Mapping[str, Any], e: Mapping[str, Any]) -> list[str]:
    got = outcome.get("backend")
    if got is None:
        return ["expected a backend, got none"]
    failures = []
    if e.get("namespace") and not got.startswith(e["namespace"] + "/"):
        failures.append(f"backend namespace: expected {e['namespace']}, got {got}")
    if e.get("backend") and e["backend"] not in _pods(got):
        failures.append(f"backend: expected pods of {e['backend']}, got {got} ({sorted(_pods(got))})")
    return failures


def _weight_failures(outcome: Mapping[str, Any], want: Mapping[str, float]) -> list[str]:
    """Shares per Deployment; a backend no manifest defines (echo-v3 of MeshGRPCRouteWeight)
    must get nothing."""
    shares: dict[str, float] = {}
    for backend, percent in (outcome.get("weights") or {}).items():
        pods = _pods(backend)
        if percent and not pods:
            return [f"{backend} gets {percent}% but no pod serves it"]
        for pod in pods:
            shares[pod] = shares.get(pod, 0.0) + percent / 100.0
    return [f"weight of {pod}: expected {share}, got {shares.get(pod, 0.0)}"
            for pod, share in want.items() if abs(shares.get(pod, 0.0) - share) > 0.05]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['test']}-{i}" for i, c in enumerate(CASES)])
def test_mesh_case(case: dict[str, Any]) -> None:
    r, e = case["request"], case["expect"]
    request = _request(case)
    outcome = _router(case["manifest"]).route(request).to_dict()
    json.dumps(outcome)  # the outcome is JSON-serialisable
    failures: list[str] = []
    if e.get("grpcCode"):
        failures += compare(outcome, {"grpcStatus": e["grpcCode"]})
    codes = set(e.get("statusCodes") or [e["status"]])
    if outcome["status"] not in codes:
        failures.append(f"status: expected {sorted(codes)}, got {outcome['status']} "
                        f"({outcome['reason']}: {outcome['notes']})")
    elif outcome["status"] == 200:
        failures += _backend_failures(outcome, e)
        want = {k: e[k] for k in ("host", "headers", "absentHeaders") if k in e}
        if "path" in e:
            # MeshHTTPRouteNamedRule /unnamed records /named, which its rule (no rewrite) cannot
            # produce (the case's note): the backend sees the request path there.
            named_gap = case["test"] == "MeshHTTPRouteNamedRule" and r["path"] != e["path"]
            want["path"] = r["path"] if named_gap else e["path"]
        if e.get("requestUnchanged"):
            want.update(path=r.get("path", request.path), host=r["host"], headers=r.get("headers") or {})
        failures += compare(outcome, want)
        if e.get("weights"):
            failures += _weight_failures(outcome, e["weights"])
    elif 300 <= outcome["status"] < 400 and "redirect" in e:
        failures += compare(outcome, {"redirect": e["redirect"]})
    failures += compare(outcome, {k: e[k] for k in ("responseHeaders", "absentResponseHeaders") if k in e})
    assert not failures, f"{case['test']} {r.get('url')}: {failures}\n{outcome}"


def test_every_case_is_run() -> None:
    """The table is the one the README describes (44 cases of 15 tests), so none is lost."""
    if not CASES:
        pytest.skip("mesh-cases.json missing")
    assert len(CASES) == 44
    assert len({c["test"] for c in CASES}) == 15
