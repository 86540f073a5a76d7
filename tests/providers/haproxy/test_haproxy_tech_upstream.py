"""haproxy-tech's own e2e expectations (``docs/upstream/haproxy-tech/cases.json``) replayed
through the model, and through real haproxy serving the configuration the controller would
write (rendered independently of the model's lookup)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from haproxy_support import compare, haproxy_process, resources, with_services
from support import SHARED

from ing2gw.http import Request
from ing2gw.providers._haproxy.process import HaproxyProcess
from ing2gw.providers.haproxy_tech import PROVIDER

PLANE = PROVIDER.data_plane
CASES: list[dict[str, Any]] = json.loads((SHARED / "docs" / "upstream" / "haproxy-tech" / "cases.json").read_text())
E2E_HOST = "e2e.test"


def _manifests(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The fixture's objects with the e2e host, and the annotation prefix the fixtures leave
    out (the controller strips it before lookup)."""
    docs = json.loads(json.dumps(case["input"]).replace("<host>", E2E_HOST))
    for doc in docs:
        ann = doc["metadata"].get("annotations") or {}
        doc["metadata"]["annotations"] = {(k if "/" in k else f"haproxy.org/{k}"): v for k, v in ann.items()}
    return with_services(docs)


def _requests(case: dict[str, Any]) -> list[tuple[Request, dict[str, Any]]]:
    out = []
    for r in case["expected"].get("requests", []):
        host = r["host"].replace("<host>", E2E_HOST)
        req = Request.build(host=host, path=r["path"], scheme=r["scheme"], headers=r.get("headers") or {},
                            client="127.0.0.1")
        out.append((req, r["expect"]))
    return out


@pytest.fixture(scope="module")
def process() -> Iterator[HaproxyProcess]:
    yield from haproxy_process()


def _check(expect: dict[str, Any], status: int | None, backend: str | None, upstream: dict[str, str] | None,
           upstream_host: str | None, response: dict[str, str]) -> None:
    if "status" in expect:
        assert status == expect["status"]
    if "backend_service" in expect:
        assert backend is not None and backend.startswith(f"default/{expect['backend_service']}:"), backend
    for name, value in (expect.get("upstream_request_headers") or {}).items():
        assert upstream is not None and upstream.get(name.lower()) == value
    if "upstream_host" in expect:
        assert upstream_host == expect["upstream_host"]
    for name, value in (expect.get("response_headers") or {}).items():
        assert response.get(name.lower()) == value


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_model_meets_the_e2e_expectation(case: dict[str, Any]) -> None:
    model = PLANE.model(resources(_manifests(case)))
    burst = case["expected"].get("burst")
    if burst:
        reqs = [Request.build(host=burst["host"], path=burst["path"], client="192.0.2.7")] * (
            burst["ok_200_before_first_limited"] + 3)
        statuses = [o.status for o in model.route_many(reqs)]
        first = statuses.index(burst["limited_status"])
        assert first == burst["ok_200_before_first_limited"] and set(statuses[:first]) == {200}, statuses
        return
    for req, expect in _requests(case):
        out = model.route(req)
        up = out.upstream
        upstream = {k.lower(): up.headers.get(k) or "" for k in up.headers} if up else None
        response = {k.lower(): out.response_headers.get(k) or "" for k in out.response_headers}
        _check(expect, out.status, out.backend, upstream, out.upstream.host if out.upstream else None, response)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_real_haproxy_meets_the_e2e_expectation_and_agrees_with_the_model(
        case: dict[str, Any], process: HaproxyProcess) -> None:
    rs = resources(_manifests(case))
    process.load(*PLANE.configuration(rs))
    burst = case["expected"].get("burst")
    if burst:
        statuses = [process.send("GET", burst["host"], burst["path"]).status
                    for _ in range(burst["ok_200_before_first_limited"] + 3)]
        first = statuses.index(burst["limited_status"])
        assert first == burst["ok_200_before_first_limited"] and set(statuses[:first]) == {200}, statuses
        return
    for req, expect in _requests(case):
        out, got, problems = compare(PLANE, rs, process, req)
        assert not problems, (req.host, req.path, problems)
        upstream = dict(got.upstream["headers"]) if got.upstream else None
        _check(expect, got.status, got.backend, upstream, upstream.get("host") if upstream else None, dict(got.headers))
