"""Every case of the Gateway API conformance tables (cases.json, grpc-cases.json) against
the reference router: base manifests plus the case's manifest, the case's request on the
case's gateway and port, the outcome judged like the suite's CompareRoundTrip does.

Cases outside a router's scope are skipped, each with its reason (see ``_skip_reason``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pytest
from support import SHARED

from ing2gw.cases import compare
from ing2gw.http import DEFAULT_PORTS, Request
from ing2gw.router import Router
from ing2gw.sources import read_paths

CONFORMANCE = SHARED / "gateway-api" / "conformance"
MANIFESTS = CONFORMANCE / "manifests"
GATEWAY_ADDRESS = "192.0.2.10"  # the Gateway's IP: the Host when a test sets none

pytestmark = pytest.mark.skipif(not CONFORMANCE.is_dir(), reason="shared/ reference data missing")


def _load(name: str) -> list[dict[str, Any]]:
    path = CONFORMANCE / name
    return json.loads(path.read_text()) if path.is_file() else []


HTTP_CASES = _load("cases.json")
GRPC_CASES = _load("grpc-cases.json")


def _without_grants(case: Mapping[str, Any]) -> bool:
    """HTTPRouteReferenceGrant's second subtest runs after the test deleted the grant."""
    subtest = str(case.get("subtest") or "").lower()
    return "deleting" in subtest and "reference grant" in subtest


@cache
def _objects(manifest: str, drop_grants: bool) -> tuple[list[dict[str, Any]], Router]:
    docs = read_paths([str(MANIFESTS / "manifests.yaml"), str(MANIFESTS / manifest)])
    if drop_grants:
        docs = [d for d in docs if not (d.obj.get("kind") == "ReferenceGrant"
                                        and d.path.endswith(manifest))]
    return [d.obj for d in docs], Router.from_manifests(docs)


def _pods_of(objects: list[dict[str, Any]], backend: str) -> set[str] | None:
    """Deployment names (pod-name prefixes) behind ``ns/service:port``; None if unknown."""
    ns, _, rest = backend.partition("/")
    name = rest.rpartition(":")[0] or rest
    for o in objects:
        meta = o.get("metadata", {})
        if o.get("kind") == "Service" and meta.get("name") == name and meta.get("namespace") == ns:
            selector = (o.get("spec") or {}).get("selector")
            if not selector:
                return None
            pods = set()
            for d in objects:
                dmeta = d.get("metadata", {})
                if d.get("kind") != "Deployment" or dmeta.get("namespace") != ns:
                    continue
                labels = (((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
                    "labels") or {}
                if all(labels.get(k) == v for k, v in selector.items()):
                    pods.add(dmeta["name"])
            return pods
    return None


def _skip_reason(case: Mapping[str, Any]) -> str | None:
    request, expect = case["request"], case["expect"]
    if request.get("clientCertificate") or expect.get("failure"):
        return ("TLS client-certificate validation happens in the TLS handshake, "
                "outside a router's request model")
    codes = set(expect.get("statusCodes") or [expect.get("status")])
    if "responseCode=" in request["path"] and 200 not in codes:
        return ("the retry outcome depends on the echo backend failing on purpose "
                "(backend behaviour)")
    if "delay=" in request["path"] and codes & {408, 504}:
        return "the timeout depends on the echo backend delaying its answer (backend behaviour)"
    return None


def _host(case: Mapping[str, Any], host: str | None, scheme: str) -> str:
    if host is not None:
        return host
    port = case["port"]
    return GATEWAY_ADDRESS if DEFAULT_PORTS[scheme] == port else f"{GATEWAY_ADDRESS}:{port}"


def _check_backend(objects: list[dict[str, Any]], outcome: Mapping[str, Any],
                   pod: str | None, namespace: str | None) -> list[str]:
    got = outcome.get("backend")
    if got is None:
        return [f"expected a backend ({pod}), got none"] if pod or namespace else []
    failures = []
    if namespace is not None and not got.startswith(namespace + "/"):
        failures.append(f"backend namespace: expected {namespace}, got {got}")
    if pod is not None:
        pods = _pods_of(objects, got)
        # Endpoints of selector-less Services are filled in at run time by the suite, so the
        # manifests do not say which pods serve them: only the namespace is checked.
        if pods is not None and pod not in pods:
            failures.append(f"backend: expected pods of {pod}, got {got} ({sorted(pods)})")
    return failures


def _check_weights(objects: list[dict[str, Any]], outcome: Mapping[str, Any],
                   want: Mapping[str, float]) -> list[str]:
    shares: dict[str, float] = {}
    for backend, percent in (outcome.get("weights") or {}).items():
        for pod in _pods_of(objects, backend) or {backend}:
            shares[pod] = shares.get(pod, 0.0) + percent / 100.0
    return [f"weight of {pod}: expected {share}, got {shares.get(pod, 0.0)}"
            for pod, share in want.items() if abs(shares.get(pod, 0.0) - share) > 0.05]


def _norm(value: str, ignore_ws: bool) -> str:
    return "".join(value.split()) if ignore_ws else value


@pytest.mark.parametrize("case", HTTP_CASES, ids=[f"{c['test']}-{i}" for i, c in
                                                   enumerate(HTTP_CASES)])
def test_http_case(case: dict[str, Any]) -> None:
    reason = _skip_reason(case)
    if reason:
        pytest.skip(reason)
    objects, router = _objects(case["manifest"], _without_grants(case))
    r, e = case["request"], case["expect"]
    request = Request.build(
        host=_host(case, r.get("host"), r["scheme"]), path=r["path"], method=r["method"],
        scheme=r["scheme"], port=case["port"], headers=r.get("headers") or {},
        sni=r.get("sni"), gateway=case["gateway"],
        response_headers=r.get("echoSetResponseHeaders"),
    )
    outcome = router.route(request).to_dict()
    json.dumps(outcome)  # the outcome is JSON-serialisable
    failures: list[str] = []
    codes = set(e.get("statusCodes") or [e["status"]])
    if codes & {408, 504}:
        codes |= {408, 504}
    if outcome["status"] not in codes:
        failures.append(f"status: expected {sorted(codes)}, got {outcome['status']} "
                        f"({outcome['reason']}: {outcome['notes']})")
    elif outcome["status"] in (200, 204) and outcome["upstream"] is not None:
        failures += _check_backend(objects, outcome, e.get("backend"), e.get("namespace"))
        checks = {k: e[k] for k in ("path", "host", "headers", "absentHeaders") if k in e}
        failures += compare(outcome, checks)
        if e.get("requestUnchanged"):
            failures += compare(outcome, {"path": r["path"], "headers": r.get("headers") or {}})
        if e.get("weights"):
            failures += _check_weights(objects, outcome, e["weights"])
        for mirror in e.get("mirroredTo") or ():
            got = [m for m in outcome["mirrors"] if not m["problem"] and mirror["backend"] in
                   (_pods_of(objects, m["backend"]) or ())]
            if not got:
                failures.append(f"no mirror to {mirror['backend']}: {outcome['mirrors']}")
            elif "percent" in mirror and abs(got[0]["percent"] - mirror["percent"]) > 0.01:
                failures.append(f"mirror percent: expected {mirror['percent']}, got {got[0]}")
    elif 300 <= (outcome["status"] or 0) < 400 and "redirect" in e:
        failures += compare(outcome, {"redirect": e["redirect"]})
    failures += compare(outcome, {k: e[k] for k in ("responseHeaders", "absentResponseHeaders")
                                  if k in e})
    ignore_ws = bool(e.get("ignoreWhitespaceInResponseHeaders"))
    got_resp = {k.lower(): v for k, v in outcome["responseHeaders"].items()}
    for name, allowed in (e.get("responseHeadersOneOf") or {}).items():
        value = got_resp.get(name.lower())
        if value is None or _norm(value, ignore_ws) not in {_norm(a, ignore_ws) for a in allowed}:
            failures.append(f"response header {name}: expected one of {allowed}, got {value!r}")
    assert not failures, f"{case['test']} {r['method']} {r['path']}: {failures}\n{outcome}"


@pytest.mark.parametrize("case", GRPC_CASES, ids=[f"{c['test']}-{i}" for i, c in
                                                   enumerate(GRPC_CASES)])
def test_grpc_case(case: dict[str, Any]) -> None:
    objects, router = _objects(case["manifest"], False)
    r, e = case["request"], case["expect"]
    headers = {"content-type": "application/grpc", **(r.get("metadata") or {})}
    request = Request.build(
        host=_host(case, r.get("authority"), "http"), path=f"/{r['service']}/{r['method']}",
        method="POST", port=case["port"], headers=headers, gateway=case["gateway"],
    )
    outcome = router.route(request).to_dict()
    failures = compare(outcome, {"grpcStatus": e["code"]})
    if e["code"] == "OK" and not failures:
        failures += _check_backend(objects, outcome, e.get("backend"), e.get("namespace"))
        if e.get("fullyQualifiedMethod"):
            failures += compare(outcome, {"path": e["fullyQualifiedMethod"]})
        if e.get("weights"):
            failures += _check_weights(objects, outcome, e["weights"])
    assert not failures, f"{case['test']} {request.path}: {failures}\n{outcome}"


def test_every_case_file_was_found() -> None:
    assert len(HTTP_CASES) > 100 and len(GRPC_CASES) > 10
