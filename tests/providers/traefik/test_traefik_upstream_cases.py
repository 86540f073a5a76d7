"""Traefik's Ingress provider tests (``../shared/docs/upstream/traefik/cases.json``): the routers
``providers/traefik/dynamic.py`` builds from each fixture, against the configuration Traefik
asserts (rule, priority, entry points, middlewares, TLS, service; router names where the
fixture's Ingresses have names), and the annotation parsing cases (``annotation-cases.json``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.notes import Notes
from ing2gw.providers.traefik import dynamic
from ing2gw.providers.traefik.annotations import domains, read_router, read_service
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

DIR = SHARED / "docs" / "upstream" / "traefik"
CASES: list[dict[str, Any]] = json.loads((DIR / "cases.json").read_text()) if DIR.is_dir() else []
ANNOTATION_CASES: list[dict[str, Any]] = (json.loads((DIR / "annotation-cases.json").read_text())
                                          if DIR.is_dir() else [])

# Why a fixture cannot be decided from what ing2gw reads.
SKIP = {
    "Ingress with one service without endpoint": "EndpointSlices are not read: a Service without endpoints "
                                                 "still gets its router",
    "Ingress with service with externalName": "ExternalName Services are not modelled (allowExternalNameServices)",
    "Ingress with missing ingressClass": "a class the input does not hold is taken to be Traefik's "
                                         "(file inputs are partial)",
    "Ingress with ingressClass [disableIngressClassLookup=true]": "disableIngressClassLookup is not modelled",
    "Ingress with ingressClass [disableClusterScopeResources=true]": "disableClusterScopeResources is not modelled",
    "Ingress with node port lb cluster scope disabled [disableClusterScopeResources=true]":
        "disableClusterScopeResources is not modelled",
    "Ingress with middleware annotation is dropped when option is empty": "crossProviderNamespaces is not modelled",
    "Ingress with middleware annotation is dropped when its namespace is not allow-listed":
        "crossProviderNamespaces is not modelled",
    "Ingress with TLS options annotation is dropped when option is empty": "crossProviderNamespaces is not modelled",
    "Ingress with TLS options annotation is dropped when its namespace is not allow-listed":
        "crossProviderNamespaces is not modelled",
    "Ingress with native lb by default but service has disabled nativelb [nativeLBByDefault=true]":
        "a backend port with both name and number: ing2gw's loader keeps the number, Traefik the name",
    "Ingress with IPv6 endpoints": "ExternalName Services are not modelled (allowExternalNameServices)",
}


def _resources(docs: list[dict[str, Any]]) -> Any:
    named = []
    for i, d in enumerate(docs):
        d = json.loads(json.dumps(d))
        if not d["metadata"].get("name"):
            d["metadata"]["name"] = f"unnamed{i}"  # Traefik's fixtures leave names empty; the loader needs one
        named.append(Document(d, f"fixture:{i}"))
    return build_resource_set(named)


def _view(router: dynamic.Router) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": router.rule, "service": router.service.name if router.service else None}
    if router.priority:
        out["priority"] = router.priority
    if router.entry_points:
        out["entryPoints"] = list(router.entry_points)
    if router.middlewares:
        out["middlewares"] = list(router.middlewares)
    out["tls"] = router.tls or bool(router.extra.get("tls.options"))
    return out


def _expected_view(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": r.get("rule"), "service": r.get("service")}
    for key in ("priority", "entryPoints", "middlewares"):
        if r.get(key):
            out[key] = r[key]
    out["tls"] = "tls" in r
    return out


@pytest.mark.skipif(not CASES, reason="../shared/docs/upstream/traefik is not present")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_upstream_ingress_case(case: dict[str, Any]) -> None:
    if case["name"] in SKIP:
        pytest.skip(SKIP[case["name"]])
    opts = case["provider_options"]
    rs = _resources(case["input"])
    routers = dynamic.build(rs, strict_prefix=bool(opts.get("strictPrefixMatching")),
                            ingress_class=opts.get("ingressClass"), syntax=opts.get("defaultRuleSyntax") or "v3")
    expected = case["expected"].get("http", {}).get("routers", {})
    unnamed = any(not d["metadata"].get("name") for d in case["input"] if d["kind"] == "Ingress")
    if case["asserts"] == "partial" and not expected:
        pytest.skip("asserts a service's serversTransport under crossProviderNamespaces, which is not modelled")
    if case["asserts"] == "partial":  # only the router's presence was asserted
        assert len(routers) == len(expected) if unnamed else {r.name for r in routers} >= set(expected)
        return
    if unnamed:  # compare without router names
        def key(v: dict[str, Any]) -> str:
            return json.dumps(v, sort_keys=True)
        assert sorted(map(key, map(_view, routers))) == sorted(map(key, map(_expected_view, expected.values())))
    else:
        assert {r.name: _view(r) for r in routers} == {k: _expected_view(v) for k, v in expected.items()}


def _as_ingress(annotations: dict[str, str] | None) -> Any:
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "x", "namespace": "ns", "annotations": annotations or {}},
           "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}}
    return build_resource_set([Document(doc, "case")]).ingresses[0]


def _as_service(annotations: dict[str, str] | None) -> Any:
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "namespace": "ns",
                                                               "annotations": annotations or {}},
           "spec": {"ports": [{"port": 80}]}}
    return build_resource_set([Document(doc, "case")]).services[("ns", "x")]


ROUTER_CASES = [c for c in ANNOTATION_CASES if c["name"].startswith("Test_parseRouterConfig")]
SERVICE_CASES = [c for c in ANNOTATION_CASES if c["name"].startswith("Test_parseServiceConfig")]


@pytest.mark.parametrize("case", ROUTER_CASES, ids=[c["name"] for c in ROUTER_CASES])
def test_upstream_router_annotations(case: dict[str, Any]) -> None:
    raw = case["input"]["annotations"]
    ann = read_router(_as_ingress(raw), Notes(), ())
    want = (case["expected"] or {}).get("router")
    if want is None:
        assert not list(ann.keys())
        return
    assert ann.get("router.pathmatcher") == (want.get("pathMatcher") if want.get("pathMatcher") in
                                             ("Path", "PathPrefix", "PathRegexp") else "PathPrefix")
    assert list(ann.get("router.entrypoints")) == want.get("entryPoints", [])
    assert list(ann.get("router.middlewares")) == want.get("middlewares", [])
    assert ann.get("router.priority") == want.get("priority", 0)
    assert ("router.tls" in ann) == ("tls" in want)
    tls = want.get("tls", {})
    assert ann.get("router.tls.certresolver") == tls.get("certResolver")
    assert ann.get("router.tls.options") == tls.get("options")
    assert [{"main": m, "sans": list(s)} for m, s in domains(raw)] == tls.get("domains", [])
    obs = want.get("observability", {})
    for key in ("accessLogs", "metrics", "tracing"):
        if key in obs:
            assert ann.get(f"router.observability.{key.lower()}") is obs[key]


@pytest.mark.parametrize("case", SERVICE_CASES, ids=[c["name"] for c in SERVICE_CASES])
def test_upstream_service_annotations(case: dict[str, Any]) -> None:
    ann = read_service(_as_service(case["input"]["annotations"]), Notes(), ())
    want = (case["expected"] or {}).get("service")
    if want is None:
        assert not list(ann.keys())
        return
    assert ann.get("service.passhostheader") is want.get("passHostHeader", True)
    assert list(ann.get("service.middlewares")) == want.get("middlewares", [])
    assert ann.get("service.nativelb") is want.get("nativeLB", False)
    assert ann.get("service.serverstransport") == want.get("serversTransport")
    cookie = (want.get("sticky") or {}).get("cookie")
    assert bool(ann.get("service.sticky.cookie")) is (cookie is not None)
    if cookie is not None:
        assert ann.get("service.sticky.cookie.name") == cookie.get("name")
        assert ann.get("service.sticky.cookie.secure") is cookie.get("secure", False)
        assert ann.get("service.sticky.cookie.httponly") is cookie.get("httpOnly", False)
        assert ann.get("service.sticky.cookie.path") == cookie.get("path", "/")
        assert ann.get("service.sticky.cookie.domain") == cookie.get("domain")
