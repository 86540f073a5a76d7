"""``dry-run --emitter NAME``: the implementation's policy CRDs are installed, serve the version
used and have every field the output sets (an older release lacks some), checked against the
API emulator; the policies themselves go through the server-side dry run."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_emulator import Emulator
from support import SHARED, TESTDATA

from ing2gw.emit.impl.crds import crd_versions, target_kinds

pytestmark = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")

CASE = TESTDATA / "emit" / "envoy-gateway" / "rate-limit" / "input.yaml"


def crd_document(target: str, kind: str, drop: str | None = None) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind`` rebuilt from the vendored schema (``drop``: a
    top-level spec field removed, as an older release would lack it)."""
    info = target_kinds(target)[kind]
    schema = copy.deepcopy(dict(crd_versions(target)[(info.api_version, kind)].schema))
    if drop:
        del schema["properties"]["spec"]["properties"][drop]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": info.crd_name},
            "spec": {"group": info.group, "scope": info.scope,
                     "names": {"kind": kind, "plural": info.plural, "singular": kind.lower(),
                               "listKind": f"{kind}List"},
                     "versions": [{"name": v, "served": True, "storage": v == info.storage,
                                   "schema": {"openAPIV3Schema": schema}} for v in info.served]}}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as em:
        em.add(*({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                 for ns in ("shop", "gateway-system")))
        em.add({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "nginx"},
                "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                           "message": ""}]}})
        yield em


def _run(ing2gw, em: Emulator, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    r = ing2gw(["dry-run", "-f", str(CASE), "--emitter", "envoy-gateway", "--kubeconfig",
                str(em.kubeconfig(tmp_path / "config")), "-o", "json", "-q"])
    return r.exit_code, json.loads(r.stdout)


def _crd_checks(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["level"], c["message"]) for c in report["preflight"] if c["check"] == "crds"]


def test_installed_policy_crds_pass_and_the_policy_dry_runs(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    emulator.install_crd_document(crd_document("envoy-gateway", "BackendTrafficPolicy"))
    code, report = _run(ing2gw, emulator, tmp_path)
    assert code == 0, report
    checks = _crd_checks(report)
    assert ("ok", "envoy-gateway CRDs installed cover every kind and field used (BackendTrafficPolicy; ing2gw "
                  "writes for v1.9.0)") in checks
    (policy,) = [o for o in report["objects"] if o["kind"] == "BackendTrafficPolicy"]
    assert policy["outcome"] == "create"


def test_missing_policy_crd_fails_the_preflight(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    code, report = _run(ing2gw, emulator, tmp_path)
    assert code == 1
    assert ("error", "CRD backendtrafficpolicies.gateway.envoyproxy.io is not installed: install the envoy-gateway "
                     "v1.9.0 CRDs") in _crd_checks(report)


def test_an_older_policy_crd_without_a_used_field_fails_the_preflight(ing2gw, emulator: Emulator,
                                                                      tmp_path: Path) -> None:
    emulator.install_crd_document(crd_document("envoy-gateway", "BackendTrafficPolicy", drop="rateLimit"))
    code, report = _run(ing2gw, emulator, tmp_path)
    assert code == 1
    (problem,) = [m for level, m in _crd_checks(report) if level == "error"]
    assert "uses spec.rateLimit" in problem and "an older envoy-gateway than v1.9.0" in problem


def test_unreadable_policy_crds_fall_back_to_discovery(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    """Without RBAC to read CRDs, discovery still says whether the policy kind is served: served
    is a warning (fields unchecked), not served an error."""
    emulator.forbid("get", "customresourcedefinitions")
    code, report = _run(ing2gw, emulator, tmp_path)
    assert code == 1
    assert ("error", "gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy is not served (CRD "
                     "backendtrafficpolicies.gateway.envoyproxy.io not installed; install envoy-gateway v1.9.0)"
            ) in _crd_checks(report)

    emulator.install_crd_document(crd_document("envoy-gateway", "BackendTrafficPolicy"))
    code, report = _run(ing2gw, emulator, tmp_path)
    assert ("warning", "cannot read CustomResourceDefinitions (forbidden): the envoy-gateway kinds are served, "
                       "but versions and fields were not checked") in _crd_checks(report)
    assert code == 0, report
