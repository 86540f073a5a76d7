"""The Istio data-plane model (``providers/istio/model.py``, ``tables.py``) against Istio's own test
tables (``../shared/docs/upstream/istio/cases.json``): gateway virtual hosts and route counts
(TestGatewayHTTPRouteConfig), VirtualService routes as Envoy builds them (TestBuildHTTPRoutes:
each asserted Envoy field replayed as the request behaviour it causes), the routes istiod
makes from Ingresses and their order (TestGoldenConversion, TestConversion), Gateway API
precedence (TestSortHTTPRoutes) and the default retry policy (TestRetry). Cases the model
cannot decide are skipped with the reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from support import SHARED

from ing2gw.http import Request
from ing2gw.intents import Retries
from ing2gw.ir import Provenance
from ing2gw.providers.istio.http import action_of, match_of
from ing2gw.providers.istio.matching import precedence
from ing2gw.providers.istio.model import IstioModel
from ing2gw.providers.istio.objects import KINDS, Index
from ing2gw.providers.istio.tables import filtered, vs_routes
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.router.outcome import Outcome
from ing2gw.yamlio import Document

DIR = SHARED / "docs" / "upstream" / "istio"
CASES: list[dict[str, Any]] = json.loads((DIR / "cases.json").read_text()) if DIR.is_dir() else []


def _of(test: str) -> list[dict[str, Any]]:
    return [c for c in CASES if c["name"].startswith(test + ":") or c["name"] == test]


def _resources(objects: list[dict[str, Any]]) -> ResourceSet:
    docs = []
    for n, o in enumerate(objects):
        o = copy.deepcopy(o)
        o.setdefault("metadata", {}).setdefault("namespace", "default")
        docs.append(Document(o, f"case:{n}"))
    return build_resource_set(docs, kinds=KINDS)


def _route_count(routes: list[Any]) -> int:
    """Envoy routes: one per match of each route (one for a route without matches)."""
    return sum(max(1, len(r.conds)) for r in routes)


# --- TestGatewayHTTPRouteConfig ---------------------------------------------------------------


@pytest.mark.parametrize("case", _of("TestGatewayHTTPRouteConfig"), ids=lambda c: c["id"])
def test_gateway_virtual_hosts(case: dict[str, Any]) -> None:
    model = IstioModel(_resources(case["input"]))
    name = case["args"]["routeName"]
    port, tls = (80, False) if name == "http.80" else (443, True)
    vhosts = model.tables.vhosts.get((port, tls), {})
    expected = case["expected"]
    if any(k.startswith("blackhole") for k in expected["virtualHosts"]):
        assert all(not v.routes for v in vhosts.values())  # nothing routes: every request 404s
        return
    want = {d for domains in expected["virtualHosts"].values() for d in domains}
    assert set(vhosts) == want
    for key, count in expected["httpRouteCounts"].items():
        domain = key.rsplit(":", 1)[0]
        assert _route_count(vhosts[domain].routes) == count, key
    assert any(v.require_tls for v in vhosts.values()) is expected["requireTlsAll"]


# --- TestBuildHTTPRoutes ----------------------------------------------------------------------

GATEWAY = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
           "metadata": {"name": "some-gateway", "namespace": "default"},
           "spec": {"selector": {"istio": "ingressgateway"},
                    "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}


def _build_model(case: dict[str, Any]) -> IstioModel:
    vs = copy.deepcopy(case["input"][0])
    vs["spec"]["hosts"] = vs["spec"].get("hosts") or ["example.org"]
    return IstioModel(_resources([GATEWAY, vs]))


def _get(path: str, **kw: Any) -> Request:
    return Request.build(host="example.org", path=path, port=8080, **kw)


Check = Callable[[Outcome], bool]
# case name (after the test name) -> requests and what the asserted Envoy fields make of them
BEHAVIOUR: dict[str, list[tuple[Request, Check]]] = {
    "for virtual service with catch all route": [
        (_get("/route/v1x"), lambda o: o.status == 200),  # a character prefix, then the catch-all
        (_get("/elsewhere"), lambda o: o.status == 200)],
    "for internally generated virtual service with ingress semantics": [
        (_get("/route/v1/x"), lambda o: o.matched is not None and o.matched.rule_name == "/route/v1"),
        (_get("/route/v1x"), lambda o: o.matched is not None and o.matched.rule_name == "/")],
    "for internally generated virtual service with gateway semantics": [
        (_get("/route/v1"), lambda o: o.matched is not None and o.matched.rule_name == "/route/v1"),
        (_get("/route/v1x"), lambda o: o.matched is not None and o.matched.rule_name == "/")],
    "for virtual service with regex matching on URI": [
        (_get("/a/status"), lambda o: o.status == 308), (_get("/ab/status"), lambda o: o.status == 404)],
    "for virtual service with regex matching on header": [
        (_get("/", headers={"Authentication": "Bearer a.b.c"}), lambda o: o.status == 308),
        (_get("/", headers={"Authentication": "Basic x"}), lambda o: o.status == 404)],
    "for virtual service with regex matching on without_header": [
        (_get("/", headers={"FOO-HEADER": "BAR a.b.c"}), lambda o: o.status == 404),
        (_get("/"), lambda o: o.status == 308)],
    "for virtual service with presence matching on header": [
        (_get("/", headers={"FOO-HEADER": "anything"}), lambda o: o.status == 308),
        (_get("/"), lambda o: o.status == 404)],
    "for virtual service with presence matching on header and without_header": [
        (_get("/", headers={"FOO-HEADER": "x"}), lambda o: o.status == 404), (_get("/"), lambda o: o.status == 308)],
    "for virtual service with exact matching on query parameter": [
        (_get("/?token=foo"), lambda o: o.status == 308), (_get("/?token=foox"), lambda o: o.status == 404)],
    "for virtual service with prefix matching on query parameter": [
        (_get("/?token=foo-1"), lambda o: o.status == 308), (_get("/?token=bar"), lambda o: o.status == 404)],
    "for virtual service with regex matching on query parameter": [
        (_get("/?token=BAR+a.b.c"), lambda o: o.status == 308), (_get("/?token=x"), lambda o: o.status == 404)],
    "for redirect code": [(_get("/"), lambda o: o.status == 308 and o.redirect is not None)],
    "for invalid redirect code": [(_get("/"), lambda o: o.redirect is None)],
    "for host rewrite": [(_get("/"), lambda o: o.upstream is not None and o.upstream.host == "bar.example.org")],
    "for prefix path rewrite": [
        (_get("/x"), lambda o: o.upstream is not None and o.upstream.path == "/replace-prefixx")],
    "for empty prefix path rewrite": [
        (_get("/prefix-to-be-removed/a/b"), lambda o: o.upstream is not None and o.upstream.path == "/a/b"),
        (_get("/prefix-to-be-removed"), lambda o: o.upstream is not None and o.upstream.path == "/")],
    "for full path redirect": [
        (_get("/x?q=1"), lambda o: o.redirect is not None and o.redirect.location ==
         "http://some-authority.default.svc.cluster.local/replace-full-path?q=1")],
    "for prefix_rewrite redirect": [
        (_get("/a/b"), lambda o: o.redirect is not None and o.redirect.location == "http://foo.example.com/a/b"
         and o.status == 301)],
    "for redirect and header manipulation": [
        (_get("/"), lambda o: o.status == 308 and o.response_headers.get("strict-transport-security") ==
         "max-age=31536000; includeSubDomains; preload")],
    "for direct response code": [(_get("/"), lambda o: o.status == 200 and o.backend is None)],
    # Envoy's regex_rewrite: every match of the pattern replaced, \N naming a group, the query kept
    "for full path rewrite": [
        (_get("/a/b?q=1"), lambda o: o.upstream is not None and o.upstream.path == "/replace-full?q=1")],
    "for path and host rewrite": [
        (_get("/a"), lambda o: o.upstream is not None and (o.upstream.path, o.upstream.host) == (
            "/replace-full", "bar.example.org"))],
    "for path regex match with regex rewrite": [
        (_get("/service/s1/a/b"), lambda o: o.upstream is not None and o.upstream.path == "/a/b/instance/s1"),
        (_get("/service/s1"), lambda o: o.status == 404)],
}

# Envoy fields the model does not decide (no request shows them)
SKIP = {
    "for virtual service with timeout": "route timeouts do not change a routing decision",
    "for virtual service with disabled timeout": "route timeouts do not change a routing decision",
}


@pytest.mark.parametrize("case", _of("TestBuildHTTPRoutes"), ids=lambda c: c["id"])
def test_build_http_routes(case: dict[str, Any]) -> None:
    short = case["name"].split(": ", 1)[1]
    if short in SKIP:
        pytest.skip(SKIP[short])
    model = _build_model(case)
    vs = model.index.virtual_services[0]
    routes = filtered(vs_routes(vs, model.index), "default/some-gateway", 8080, {})
    if "routeCount" in case["expected"]:
        assert _route_count(routes) == case["expected"]["routeCount"]
    checks = BEHAVIOUR.get(short)
    if checks is None:
        assert "routeCount" in case["expected"], f"no behaviour transcribed for {short!r}"
        return
    for request, check in checks:
        out = model.route(request)
        assert check(out), (request.path, out)


# --- Ingresses ---------------------------------------------------------------------------------


def _ingress_routes(model: IstioModel, host: str) -> list[Any]:
    return model.tables.vhosts[(80, False)][host].routes


@pytest.mark.parametrize("case", _of("TestGoldenConversion"), ids=lambda c: c["id"])
def test_ingress_virtual_service(case: dict[str, Any]) -> None:
    model = IstioModel(_resources(case["input"]))
    for obj in case["expected"]["objects"]:
        if obj["kind"] != "VirtualService":
            continue
        host = obj["spec"]["hosts"][0]
        got = [((r.conds[0].raw.get("uri") if r.conds else None), r.spec["route"][0]["destination"]["port"]["number"])
               for r in _ingress_routes(model, host)]
        want = [(((route.get("match") or [{}])[0].get("uri")), route["route"][0]["destination"]["port"]["number"])
                for route in obj["spec"]["http"]]
        assert got == want


@pytest.mark.parametrize("case", _of("TestConversion"), ids=lambda c: c["id"])
def test_ingresses_merged_per_host(case: dict[str, Any]) -> None:
    model = IstioModel(_resources(case["input"]))
    for host, want in case["expected"]["hosts"].items():
        routes = _ingress_routes(model, host)
        assert len(routes) == want["httpRoutes"]
        if "routes_uri_match" in want:
            got = []
            for r in routes:
                uri = r.conds[0].raw["uri"]
                got.append({"length": len(next(iter(uri.values()))), "exact": "exact" in uri})
            assert got == want["routes_uri_match"]
        if want.get("match", "absent") is None:
            assert not routes[0].conds


# --- precedence and retries --------------------------------------------------------------------


SORT_SKIP = {
    "istio-094": "Istio ranks an explicit PathPrefix / above a match without a path; Gateway API (and the "
                 "reference router) read an absent path as PathPrefix /, so the method decides: the conversion "
                 "orders by the specification",
}


@pytest.mark.parametrize("case", _of("TestSortHTTPRoutes"), ids=lambda c: c["id"])
def test_gateway_api_precedence(case: dict[str, Any]) -> None:
    """Istio's order of Gateway API matches is the precedence the conversion reorders by."""
    if case["id"] in SORT_SKIP:
        pytest.skip(SORT_SKIP[case["id"]])
    def key(route: dict[str, Any]) -> tuple[int, ...]:
        m, _ = match_of((route.get("match") or [{}])[0], "default")
        assert m is not None
        return precedence(m.match)

    got = sorted(case["args"]["in"], key=key)
    assert got == case["expected"]["out"]


def test_default_retries() -> None:
    (case,) = _of("TestRetry")
    prov = Provenance("VirtualService", "default", "vs")
    routes = {r["name"]: r["route"] for r in case["args"]["routes"]}
    dest = {"route": [{"destination": {"host": "svc", "port": {"number": 80}}}]}

    def retries(route: dict[str, Any]) -> list[Retries]:
        action = action_of({**dest, **route}, "default", ResourceSet(), prov, "spec.http[0]")
        return [x for x in action.intents if isinstance(x, Retries)]

    default = case["expected"]["TestNilRetryShouldReturnDefault"]["defaultPolicy (retry.go:36-37,94-103)"]
    (r,) = retries(routes["TestNilRetryShouldReturnDefault"])
    assert r.attempts == default["numRetries"] + 1 and ",".join(r.on) == default["retryOn"] and r.implicit
    assert retries(routes["TestZeroAttemptsShouldReturnNilPolicy"]) == []
    full = case["expected"]["TestRetryWithAllFieldsSet"]
    (r,) = retries(routes["TestRetryWithAllFieldsSet"])
    assert r.attempts == full["numRetries"] + 1 and ",".join(r.on) == full["retryOn"]
    action = action_of({**dest, **routes["TestRetryWithAllFieldsSet"]}, "default", ResourceSet(), prov, "f")
    assert action.timeouts is not None and action.timeouts.backend_request == full["perTryTimeout"]


def test_index_reads_every_version() -> None:
    assert {k.version for k in KINDS} == {"v1", "v1beta1", "v1alpha3"}
    assert Index([]).virtual_services == []


# --- sidecars: one VirtualService per Service and client ------------------------------------


def test_sidecars_take_the_first_virtual_service_a_client_sees() -> None:
    """Private to the client's namespace, then exported to it, then public, oldest first; a
    VirtualService that leaves a client no route (sourceNamespace) is passed over; none: the
    Service itself (testdata/convert/istio/mesh-clients)."""
    import yaml
    from support import TESTDATA

    from ing2gw.http import MeshSource

    docs = [d for d in yaml.safe_load_all((TESTDATA / "convert/istio/mesh-clients/input.yaml").read_text()) if d]
    model = IstioModel(_resources(docs))

    def backend(service: str, client: str, **headers: str) -> str | None:
        fqdn = f"{service}.bookinfo.svc.cluster.local"
        return model.route(Request.build(host=fqdn, path="/v3/x", port=9080, headers=headers,
                                         mesh=MeshSource(client, fqdn))).backend

    assert backend("reviews", "other") == "bookinfo/reviews:9080"  # reviews-main (oldest), not reviews-late
    assert backend("reviews", "frontend", **{"end-user": "jason"}) == "bookinfo/reviews-v2:9080"  # sourceNamespace
    assert backend("reviews", "other", **{"end-user": "jason"}) == "bookinfo/reviews:9080"
    assert backend("reviews", "qa") == "bookinfo/reviews-v3:9080"  # reviews-qa: private to qa, first there
    assert backend("ratings", "partner") == "bookinfo/ratings-beta:9080"  # exported to partner only
    assert backend("ratings", "other") == "bookinfo/ratings:9080"  # no VirtualService: the Service itself
    assert backend("details", "bookinfo") == "bookinfo/details-v2:9080"
    assert backend("details", "other") == "bookinfo/details:9080"
