"""The F5 NGINX Ingress Controller's own test tables (``docs/upstream/f5-nginx``) as tests of the
provider, its model and the nginx configuration the oracle serves.

``unit-cases.json``: location paths (``TestGenerateIngressPath``, ``TestMakeLocationPath_*``,
mergeable masters and minions included), rewrite patterns (``TestMakeRewritePattern_*``),
annotation readings (ssl-redirect and its deprecated spelling, app-root, http-redirect-code,
proxy-next-upstream, rewrite-target and its exclusion by rewrites) and the template's
``rewrite`` directive (``TestExecuteTemplate_ForIngressForNGINXRewriteTarget``: the rendered
configuration contains / lacks the listed lines). ``cases.json``: the servers and locations of
the controller's generated configuration against the model's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.notes import Notes
from ing2gw.providers.f5_nginx.locations import location_of, rewrite_pattern
from ing2gw.providers.f5_nginx.model import F5Model
from ing2gw.providers.f5_nginx.nginxconf import generate
from ing2gw.providers.f5_nginx.settings import annotations_of, minion_annotations, plan
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

UNIT = json.loads((SHARED / "docs" / "upstream" / "f5-nginx" / "unit-cases.json").read_text())
GOLDEN = json.loads((SHARED / "docs" / "upstream" / "f5-nginx" / "cases.json").read_text())


def _cases(prefix: str) -> list[dict[str, Any]]:
    return [c for c in UNIT if c["name"].startswith(prefix)]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


def _ingress(name: str, annotations: dict[str, str] | None, paths: list[tuple[str, str | None]], *,
             host: str = "cafe.example.com", tls: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"host": host, "http": {"paths": [
        {"path": p, **({"pathType": t} if t else {}),
         "backend": {"service": {"name": f"svc{n}", "port": {"number": 80}}}} for n, (p, t) in enumerate(paths)]}}
    spec: dict[str, Any] = {"rules": [rule]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": "cafe-secret"}]
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _resources(*objects: dict[str, Any]) -> ResourceSet:
    return build_resource_set([Document(o, f"<upstream>:{n + 1}") for n, o in enumerate(objects)])


@pytest.mark.parametrize("case", _cases("TestGenerateIngressPath"), ids=_ids(_cases("TestGenerateIngressPath")))
def test_ingress_path(case: dict[str, Any]) -> None:
    given = case["input"]
    loc = location_of(given["path"], given["pathType"] or "ImplementationSpecific", None)
    assert loc.directive == case["expected"]["expected"]


_LOCATIONS = _cases("TestMakeLocationPath")


@pytest.mark.parametrize("case", _LOCATIONS, ids=_ids(_LOCATIONS))
def test_location_path(case: dict[str, Any]) -> None:
    """The location's path for an Ingress (or a minion of a master with these annotations)."""
    given = case["input"]
    minion = given["location"].get("MinionIngress")
    path = given["location"]["Path"]
    if minion is None:
        rs = _resources(_ingress("ing", given["annotations"], [(path, "Prefix")]))
        regex = next(iter(plan(rs.ingresses, Notes()).served.values())).annotations.get("nginx.org/path-regex")
    else:  # the minion as the controller hands it over (the case's minion may carry no annotation at all)
        master = _ingress("master", {**given["annotations"], "nginx.org/mergeable-ingress-type": "master"}, [])
        rs = _resources(master, _ingress(minion["Name"], minion.get("Annotations"), [(path, "Prefix")]))
        by_name = {i.name: i for i in rs.ingresses}
        effective = minion_annotations(by_name[minion["Name"]], by_name["master"], Notes())
        regex = effective.get("nginx.org/path-regex")
    assert location_of(path, "Prefix", regex).directive == case["expected"]["result"]


_PATTERNS = _cases("TestMakeRewritePattern")


@pytest.mark.parametrize("case", _PATTERNS, ids=_ids(_PATTERNS))
def test_rewrite_pattern(case: dict[str, Any]) -> None:
    given = case["input"]
    minion = given["location"].get("MinionIngress")
    path = given["location"]["Path"]
    if minion is None:
        rs = _resources(_ingress("ing", given["annotations"], [(path, "Prefix")]))
        regex = next(iter(plan(rs.ingresses, Notes()).served.values())).annotations.get("nginx.org/path-regex")
    else:
        master = _ingress("master", {**given["annotations"], "nginx.org/mergeable-ingress-type": "master"}, [])
        rs = _resources(master, _ingress("minion", minion.get("Annotations"), [(path, "Prefix")]))
        by_name = {i.name: i for i in rs.ingresses}
        regex = minion_annotations(by_name["minion"], by_name["master"], Notes()).get("nginx.org/path-regex")
    assert rewrite_pattern(path, regex) == case["expected"]["result"]


_READINGS = [*_cases("TestSSLRedirectAnnotations"), *_cases("TestAppRootAnnotation"),
             *_cases("TestHTTPRedirectCodeAnnotationBehavior"), *_cases("TestProxyNextUpstreamAnnotation")]
_KEY = {"TestSSLRedirectAnnotations": "nginx.org/ssl-redirect", "TestAppRootAnnotation": "nginx.org/app-root",
        "TestHTTPRedirectCodeAnnotationBehavior": "nginx.org/http-redirect-code",
        "TestProxyNextUpstreamAnnotation": "nginx.org/proxy-next-upstream"}


@pytest.mark.parametrize("case", _READINGS, ids=_ids(_READINGS))
def test_annotation_readings(case: dict[str, Any]) -> None:
    anns = case["input"]["annotations"]
    parsed = annotations_of(anns, "Ingress t/t", "<test>", Notes(), ())
    expected = case["expected"].get("expected", case["expected"].get("expectedCode"))
    assert parsed.get(_KEY[case["name"].split("/")[0]]) == expected


_TARGETS = [*_cases("TestGetRewriteTarget/"), *_cases("TestGetRewriteTargetWithComplexValues")]


@pytest.mark.parametrize("case", _TARGETS, ids=_ids(_TARGETS))
def test_rewrite_target_reaches_the_location(case: dict[str, Any]) -> None:
    """rewrite-target is the location's rewrite, unless nginx.org/rewrites is also set."""
    given = case["input"]
    anns = given["annotations"] if "annotations" in given else {"nginx.org/rewrite-target": given["rewriteTarget"]}
    model = F5Model.from_resources(_resources(_ingress("ing", anns, [("/(.*)", "ImplementationSpecific")])))
    (loc,) = model.servers["cafe.example.com"].locations
    expected = case["expected"].get("expectedValue", case["expected"].get("expected"))
    assert (loc.rewrite_target[1] if loc.rewrite_target else "") == expected


_TEMPLATES = _cases("TestExecuteTemplate_ForIngressForNGINXRewriteTarget")


@pytest.mark.parametrize("case", _TEMPLATES, ids=_ids(_TEMPLATES))
def test_template_rewrite_directive(case: dict[str, Any]) -> None:
    """The configuration the oracle serves writes the template's rewrite directive."""
    cfg = case["input"]["ingressCfg"]
    loc = cfg["Servers"][0]["Locations"][0]
    anns = dict(cfg["Ingress"].get("Annotations") or {})
    if loc.get("RewriteTarget"):
        anns["nginx.org/rewrite-target"] = loc["RewriteTarget"]
    rs = _resources(_ingress(cfg["Ingress"]["Name"], anns, [(loc["Path"], "ImplementationSpecific")],
                             host=cfg["Servers"][0]["Name"]))
    text = generate(rs).render("127.0.0.1:1", "127.0.0.1:2", "/tmp/x")
    for line in case["expected"]["output_contains"]:
        assert line in text
    for line in case["expected"]["output_does_not_contain"]:
        assert line not in text


@pytest.mark.parametrize("case", GOLDEN, ids=_ids(GOLDEN))
def test_generated_servers_and_locations(case: dict[str, Any]) -> None:
    """The controller's servers (name, TLS, redirect) and locations (path, Service) are the
    model's, and the configuration the oracle serves names the same locations."""
    given = case["input"]
    if "Master" in given:
        objects = [given["Master"]["Ingress"], *(m["Ingress"] for m in given["Minions"])]
    else:
        objects = [given["Ingress"]]
    docs = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", **o} for o in objects]
    rs = _resources(*docs)
    model = F5Model.from_resources(rs)
    conf = generate(rs)
    for want in case["expected"]["Servers"]:
        server = model.servers[want["Name"]]
        assert server.ssl == want.get("SSL", False)
        assert server.ssl_redirect == want.get("SSLRedirect", False)
        assert server.code == want["HTTPRedirectCode"]
        got = [(loc.location.directive, loc.backend.split("/")[1].split(":")[0]) for loc in server.locations]
        assert got == [(loc["Path"], loc["ServiceName"]) for loc in want["Locations"]]
        rendered = [loc.directive for s in conf.servers if s.host == want["Name"] for loc in s.locations]
        assert rendered == [loc["Path"] for loc in want["Locations"]]
