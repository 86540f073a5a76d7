"""Unit behaviour of the router pieces: HTTP values, hostname rules, filters, references,
RE2 handling, gRPC, and the case judge."""

from __future__ import annotations

from typing import Any

import pytest

from ing2gw.cases import compare, parse_cases, request_of
from ing2gw.errors import InputError, UsageError
from ing2gw.http import Headers, Request
from ing2gw.router import Router
from ing2gw.router.filters import modify_path, origin_allowed, redirect_location
from ing2gw.router.hostnames import HostIndex, host_matches, intersect
from ing2gw.router.model import Cors, PathModifier, Redirect

GW = "gateway.networking.k8s.io/v1"


def gateway(listeners: list[dict[str, Any]] | None = None, ns: str = "ns") -> dict[str, Any]:
    return {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": ns},
            "spec": {"listeners": listeners or [{"name": "http", "port": 80, "protocol": "HTTP"}]}}


def route(name: str, rules: list[dict[str, Any]], ns: str = "ns", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "ns"}], "rules": rules, **spec}}


def service(name: str, ns: str = "ns", port: int = 80) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"port": port}]}}


def backend(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "port": 80, **kw}


def get(router: Router, path: str = "/", host: str = "a.example.com", **kw: Any) -> Any:
    return router.route(Request.build(host=host, path=path, **kw))


# -- http ------------------------------------------------------------------------------------

def test_headers_are_case_insensitive_and_join_values() -> None:
    h = Headers([("X-A", "1"), ("x-a", "2"), ("B", "3")])
    assert h.get("x-A") == "1,2" and h.get_all("X-a") == ("1", "2")
    assert h.add("b", "4").get("B") == "3,4"
    assert h.set("X-A", "9").as_dict() == {"X-A": "9", "B": "3"}
    assert "x-a" not in h.remove("X-A") and "x-a" in h  # immutable


def test_request_from_url() -> None:
    r = Request.from_url("https://Shop.Example.com:8443/a/b?x=1&x=2&y", headers={"A": "b"})
    assert (r.scheme, r.hostname, r.port, r.path, r.query) == ("https", "shop.example.com",
                                                               8443, "/a/b", "x=1&x=2&y")
    assert r.query_params == {"x": "1", "y": ""} and r.sni == "shop.example.com"
    assert Request.build(host="h:81", port=80).hostname == "h"
    with pytest.raises(UsageError):
        Request.from_url("shop.example.com/")


# -- hostnames ---------------------------------------------------------------------------------

def test_wildcards_match_one_or_more_labels() -> None:
    assert host_matches("*.example.com", "a.b.example.com")
    assert not host_matches("*.example.com", "example.com")
    assert intersect("*.com", "*.example.com") == (True, "*.example.com")
    assert intersect("very.specific.com", "*.specific.com") == (True, "very.specific.com")
    assert intersect("*.wildcard.io", "wildcard.io") == (False, None)
    index: HostIndex[str] = HostIndex()
    for pattern in ("*.example.com", None, "a.b.example.com", "*.b.example.com"):
        index.put(pattern, str(pattern))
    assert list(index.lookup("a.b.example.com")) == [
        "a.b.example.com", "*.b.example.com", "*.example.com", "None"]


# -- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "prefix", "replacement", "result"), [
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"),
    ("/foo/", "/foo", "/xyz", "/xyz/"),
    ("/foo/bar", "/foo", "", "/bar"),
    ("/foo/", "/foo", "/", "/"),
    ("/foo", "/foo", "", "/"),
])
def test_replace_prefix_match_table(path: str, prefix: str, replacement: str,
                                    result: str) -> None:
    assert modify_path(path, PathModifier("ReplacePrefixMatch", replacement), prefix) == result


def test_redirect_default_ports() -> None:
    req = Request.build(host="example.org:8080", path="/p?q=1", port=8080)
    assert redirect_location(req, Redirect(None, None, None, None, 302), 8080, None) == \
        "http://example.org:8080/p?q=1"
    assert redirect_location(req, Redirect("https", None, None, None, 302), 8080, None) == \
        "https://example.org/p?q=1"
    assert redirect_location(req, Redirect(None, "x.org", 8443, None, 302), 8080, None) == \
        "http://x.org:8443/p?q=1"


def test_cors_origins() -> None:
    cors = Cors(("https://www.foo.com", "https://*.bar.com"), (), (), (), False, 5)
    assert origin_allowed(cors, "https://xpto.www.bar.com")
    assert origin_allowed(cors, "https://www.foo.com:443")
    assert not origin_allowed(cors, "http://www.foo.com")
    assert not origin_allowed(cors, "https://bar.com")


# -- router ------------------------------------------------------------------------------------

def test_precedence_exact_prefix_regex_method_headers() -> None:
    r = Router.from_manifests([gateway(), service("a"), service("b"), service("c"), service("d"),
                               route("r", [
        {"matches": [{"path": {"type": "RegularExpression", "value": "/x.*"}}],
         "backendRefs": [backend("d")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/x"}}], "backendRefs": [backend("a")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/x"}, "method": "POST"}],
         "backendRefs": [backend("b")]},
        {"matches": [{"path": {"type": "Exact", "value": "/x/y"}}], "backendRefs": [backend("c")]},
    ])])
    assert get(r, "/x/y").backend == "ns/c:80"
    assert get(r, "/x/z", method="POST").backend == "ns/b:80"
    assert get(r, "/x/z").backend == "ns/a:80"
    assert get(r, "/xy").backend == "ns/d:80"  # not a path-element prefix; the regex matches


def test_invalid_re2_is_reported_not_raised() -> None:
    r = Router.from_manifests([gateway(), service("a"), route("r", [
        {"matches": [{"path": {"type": "RegularExpression", "value": "/(?<=a)b"}}],
         "backendRefs": [backend("a")]}])])
    assert any("not valid RE2" in n for n in r.notes)
    outcome = get(r, "/ab")
    assert outcome.status == 404 and any("not valid RE2" in n for n in outcome.notes)


def test_missing_references_assumed_only_when_kind_absent() -> None:
    rules = [{"backendRefs": [backend("svc")]}]
    assumed = get(Router.from_manifests([gateway(), route("r", rules)]))
    assert assumed.status == 200 and any("assumed Service ns/svc" in n for n in assumed.notes)
    strict = get(Router.from_manifests([gateway(), route("r", rules)], strict_refs=True))
    assert (strict.status, strict.reason) == (500, "BackendNotFound")
    other = get(Router.from_manifests([gateway(), service("other"), route("r", rules)]))
    assert (other.status, other.reason) == (500, "BackendNotFound")


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    objs = [gateway(), service("svc", ns="other"),
            route("r", [{"backendRefs": [backend("svc", namespace="other")]}])]
    assert get(Router.from_manifests(objs)).reason == "RefNotPermitted"
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "g", "namespace": "other"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                "namespace": "ns"}], "to": [{"group": "", "kind": "Service"}]}}
    assert get(Router.from_manifests([*objs, grant])).backend == "other/svc:80"


def test_listener_isolation_and_misdirected_requests() -> None:
    listeners = [{"name": "any", "port": 443, "protocol": "HTTPS",
                  "tls": {"certificateRefs": [{"name": "c"}]}},
                 {"name": "foo", "port": 443, "protocol": "HTTPS", "hostname": "foo.example.com",
                  "tls": {"certificateRefs": [{"name": "c"}]}}]
    r = Router.from_manifests([gateway(listeners), service("a"), route("r", [
        {"backendRefs": [backend("a")]}], parentRefs=[{"name": "gw", "sectionName": "any"}])])
    assert get(r, host="x.example.com", scheme="https").status == 200
    assert get(r, host="foo.example.com", scheme="https").status == 404  # isolated listener
    assert get(r, host="foo.example.com", scheme="https", sni="x.example.com").status == 421
    assert get(r, host="x.example.com", scheme="http", port=443).reason == "ProtocolMismatch"


def test_grpc_routes_and_unresolved_extension_ref() -> None:
    grpc = {"apiVersion": GW, "kind": "GRPCRoute", "metadata": {"name": "g", "namespace": "ns"},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": [
                {"matches": [{"method": {"service": "pkg.Svc"}}], "backendRefs": [backend("a")]}]}}
    ext = {"apiVersion": "example.com/v1", "kind": "Auth",
           "metadata": {"name": "present", "namespace": "ns"}}
    r = Router.from_manifests([gateway(), service("a"), grpc, ext, route("h", [
        {"filters": [{"type": "ExtensionRef", "extensionRef": {
            "group": "example.com", "kind": "Auth", "name": "missing"}}],
         "backendRefs": [backend("a")]}])])
    hit = get(r, "/pkg.Svc/Do", method="POST", headers={"content-type": "application/grpc"})
    assert (hit.grpc_status, hit.backend) == ("OK", "ns/a:80")
    miss = get(r, "/pkg.Other/Do", method="POST", headers={"content-type": "application/grpc"})
    assert miss.grpc_status == "Unimplemented"
    assert (get(r, "/").status, get(r, "/").reason) == (500, "ExtensionRefUnresolved")


def test_timeouts_retry_and_mirrors_are_reported() -> None:
    r = Router.from_manifests([gateway(), service("a"), service("m"), route("r", [
        {"timeouts": {"request": "5s"}, "retry": {"attempts": 2, "codes": [503]},
         "filters": [{"type": "RequestMirror", "requestMirror": {
             "backendRef": backend("m"), "fraction": {"numerator": 1, "denominator": 4}}}],
         "backendRefs": [backend("a")]}])])
    d = get(r).to_dict()
    assert d["timeouts"] == {"request": "5s"} and d["retry"]["attempts"] == 2
    assert d["mirrors"] == [{"backend": "ns/m:80", "percent": 25, "problem": None}]


def test_malformed_object_names_file_and_object() -> None:
    with pytest.raises(InputError, match=r"^<input>:2: HTTPRoute ns/r: spec.rules\[0\]"):
        Router.from_manifests([gateway(), route("r", ["not a mapping"])])  # type: ignore[list-item]


# -- cases --------------------------------------------------------------------------------------

def test_case_file_defaults_and_wrapped_form() -> None:
    cases = parse_cases("cases:\n- request: {host: h}\n  expect: {status: 200}\n", "c.yaml")
    req = request_of(cases[0], gateway="ns/gw")
    assert (req.method, req.scheme, req.port, req.path, req.gateway) == (
        "GET", "http", 80, "/", "ns/gw")
    with pytest.raises(InputError, match="unknown expect field"):
        parse_cases("- request: {host: h}\n  expect: {stauts: 200}\n", "c.yaml")


def test_compare_checks_only_what_it_names() -> None:
    outcome = {"status": 200, "backend": "ns/a:80", "weights": {"ns/a:80": 90, "ns/b:80": 10},
               "upstream": {"method": "GET", "host": "h:8080", "path": "/x",
                            "headers": {"X-A": "1,2"}},
               "redirect": None, "responseHeaders": {}}
    assert compare(outcome, {}) == []
    assert compare(outcome, {"backend": "ns/b:80", "host": "h", "headers": {"x-a": "1,2"}}) == []
    assert compare(outcome, {"backend": "ns/c:80"}) != []
    assert compare(outcome, {"weights": {"ns/a:80": 80, "ns/b:80": 20}}) != []
    redirect = {"status": 301, "redirect": {"location": "https://h/p", "statusCode": 301}}
    assert compare(redirect, {"redirect": {"scheme": "https", "port": None, "path": "/p"}}) == []
    assert compare(redirect, {"redirect": {"port": 8443}}) != []


def test_weighted_pick_applies_that_backends_own_filters() -> None:
    """A proxy that picks the smaller share asks for that backendRef: its filters apply."""
    import yaml as _yaml

    from ing2gw.http import Request as _Request
    from ing2gw.router import Router as _Router

    objs = list(_yaml.safe_load_all("""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: c
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - name: big
      port: 80
      weight: 90
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-backend, value: big}]}}]
    - name: small
      port: 80
      weight: 10
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-backend, value: small}]}}]
"""))
    router = _Router.from_manifests(objs)
    req = _Request.build(host="any.example.com", path="/")
    default = router.route(req)
    assert default.backend == "default/big:80" and default.upstream.headers.get("x-backend") == "big"
    picked = router.route(req, backend="default/small:80")
    assert picked.backend == "default/small:80" and picked.upstream.headers.get("x-backend") == "small"
    assert router.route(req, backend="default/nope:80").backend == "default/big:80"
