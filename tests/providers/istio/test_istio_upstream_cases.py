"""Istio's own test tables (``../shared/docs/upstream/istio/cases.json``) against the provider
and its model: delegate merging and conflict detection (``virtualservice_test.go``) and the
Ingress path conversion (``conversion_test.go`` golden files)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.providers.istio.delegate import has_conflict, merge_matches, merge_route
from ing2gw.providers.istio.ingress import istio_path

DIR = SHARED / "docs" / "upstream" / "istio"
CASES: list[dict[str, Any]] = json.loads((DIR / "cases.json").read_text()) if DIR.is_dir() else []


def _of(test: str) -> list[dict[str, Any]]:
    return [c for c in CASES if c["name"].startswith(test + ":") or c["name"] == test]


def _norm(value: Any) -> Any:
    """JSON-comparable: drop empty values the Go side leaves out."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v not in (None, {}, [], "", 0)}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


@pytest.mark.parametrize("case", _of("TestHasConflict"), ids=lambda c: c["id"])
def test_delegate_conflict(case: dict[str, Any]) -> None:
    assert has_conflict(case["args"]["root"], case["args"]["leaf"]) is case["expected"]["expected"]


@pytest.mark.parametrize("case", _of("TestMergeHTTPMatchRequests"), ids=lambda c: c["id"])
def test_delegate_match_merge(case: dict[str, Any]) -> None:
    leaf = [m for m in case["args"]["delegate"] if isinstance(m, dict)]
    got = merge_matches(case["args"]["root"], leaf)
    expected = case["expected"]["expected"]
    assert (None if got is None else _norm(got)) == (None if expected is None else _norm(expected))


@pytest.mark.parametrize("case", _of("TestMergeHttpRoutes"), ids=lambda c: c["id"])
def test_delegate_route_merge(case: dict[str, Any]) -> None:
    root = case["args"]["root"]
    got = [r for r in (merge_route(root, leaf) for leaf in case["args"]["delegate"]) if r is not None]
    assert _norm(got) == _norm(case["expected"]["expected"])


@pytest.mark.parametrize("case", [c for c in _of("TestGoldenConversion")], ids=lambda c: c["id"])
def test_ingress_paths(case: dict[str, Any]) -> None:
    """Each Ingress path's match in the VirtualService istiod writes (keyed by host, Service
    and port, unique per path in these fixtures)."""
    expected: dict[tuple[str, str, int], tuple[str, str] | None] = {}
    for obj in case["expected"]["objects"]:
        if obj["kind"] != "VirtualService":
            continue
        for route in obj["spec"]["http"]:
            dest = route["route"][0]["destination"]
            key = (obj["spec"]["hosts"][0], dest["host"].split(".")[0], dest["port"]["number"])
            uri = (route.get("match") or [{}])[0].get("uri")
            expected[key] = (next(iter(uri)), next(iter(uri.values()))) if uri else None
    seen = 0
    for ing in case["input"]:
        if ing.get("kind") != "Ingress":
            continue
        for rule in ing["spec"].get("rules") or []:
            for p in (rule.get("http") or {}).get("paths") or []:
                svc = p["backend"]["service"]
                port = (rule.get("host") or "*", svc["name"], svc["port"].get("number"))
                if port not in expected:
                    continue
                got = istio_path(p.get("path") or "", p.get("pathType") or "ImplementationSpecific")
                want = expected[port]
                if want is None:
                    assert (got.type, got.value) == ("PathPrefix", "/"), p
                else:
                    assert ({"Exact": "exact", "PathPrefix": "prefix"}[got.type], got.value) == want, p
                seen += 1
    assert seen or not expected
