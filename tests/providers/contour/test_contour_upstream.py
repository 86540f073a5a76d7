"""Contour's own expectations (``testdata/upstream/contour/``, transcribed from its unit and
end-to-end tests) against ing2gw's Contour model: path merging down include chains, the route
order of a virtual host, what Ingress paths become, include semantics, and requests answered by
real Envoy in Contour's end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import TESTDATA

from ing2gw.http import Headers, Request
from ing2gw.providers.contour.conditions import (
    HeaderCondition,
    PathCondition,
    QueryCondition,
    contour_order,
    merge_path,
)
from ing2gw.providers.contour.ingress import ingress_path
from ing2gw.providers.contour.model import ContourModel
from ing2gw.providers.contour.tree import KINDS
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

DIR = TESTDATA / "upstream" / "contour"


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((DIR / name).read_text())["cases"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", _load("path-merge.json"), ids=lambda c: c["name"])
def test_path_merge(case: dict[str, Any]) -> None:
    got = merge_path(case["conditions"])
    assert (got.kind, got.value) == (case["want"]["kind"], case["want"]["value"])


class _R:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.path = PathCondition(spec["path"][0], spec["path"][1])
        self.headers = tuple(HeaderCondition(n, op, v) for n, op, v in spec.get("headers", []))  # type: ignore[arg-type]
        self.query = tuple(QueryCondition(n, op.removesuffix("-ignorecase"), v, op.endswith("-ignorecase"))  # type: ignore[arg-type]
                           for n, op, v in spec.get("query", []))


@pytest.mark.parametrize("case", _load("route-order.json"), ids=lambda c: c["name"])
def test_route_order(case: dict[str, Any]) -> None:
    want = [_R(s) for s in case["want"]]
    n = len(want)
    for shuffled in (list(reversed(want)), want[n // 2:] + want[:n // 2], want[1::2] + want[::2]):
        assert [r.spec for r in contour_order(shuffled)] == case["want"]


@pytest.mark.parametrize("case", _load("ingress-paths.json"), ids=lambda c: f"{c['pathType']} {c['path']!r}")
def test_ingress_path(case: dict[str, Any]) -> None:
    assert ingress_path(case["path"], case["pathType"]) == (case["want"]["kind"], case["want"]["value"])


def _model(objects: list[dict[str, Any]]) -> ContourModel:
    docs = [Document(json.loads(json.dumps(o)), f"upstream:{n}") for n, o in enumerate(objects)]
    return ContourModel.from_resources(build_resource_set(docs, kinds=KINDS))


def _request(case: dict[str, Any], r: dict[str, Any]) -> Request:
    path, _, query = r["path"].partition("?")
    host = r.get("host") or case.get("host") or case["objects"][0]["spec"].get("virtualhost", {}).get("fqdn")
    req = Request.build(host=host, path=path + (f"?{query}" if query else ""), scheme=r.get("scheme", "http"),
                        headers=Headers(r.get("headers", {})))
    if r.get("sni"):
        from dataclasses import replace

        req = replace(req, sni=r["sni"])
    return req


REQUEST_CASES = [(c, r) for name in ("requests.json", "tree.json") for c in _load(name) for r in c["requests"]]


@pytest.mark.parametrize("case,req", REQUEST_CASES,
                         ids=[f"{c['name']}: {r.get('scheme', 'http')} {r.get('host', '')}{r['path']}"
                              for c, r in REQUEST_CASES])
def test_request(case: dict[str, Any], req: dict[str, Any]) -> None:
    if "host" not in case:
        case = {**case, "host": "tree.example.com"}
    outcome = _model(case["objects"]).route(_request(case, req))
    expect = req["expect"]
    assert outcome.status == expect["status"], outcome
    if "service" in expect:
        want = expect["service"] if "/" in expect["service"] else f"default/{expect['service']}"
        assert outcome.backend is not None and outcome.backend.rsplit(":", 1)[0] == want, outcome
    if "upstreamPath" in expect:
        assert outcome.upstream is not None and outcome.upstream.path == expect["upstreamPath"]
    if "location" in expect:
        assert outcome.redirect is not None and outcome.redirect.location == expect["location"]
