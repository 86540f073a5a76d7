"""The APISIX expectations transcribed in ``testdata/upstream/apisix`` (see its README): the
controller's annotation -> plugin translation, its Ingress path -> URI translation, and the
radixtree router's matching, run against the provider and the model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import TESTDATA

from ing2gw.http import Request
from ing2gw.providers.apisix.annotations import PREFIX, ingress_plugins, upstream_settings
from ing2gw.providers.apisix.config import ApisixEntry, Backend, ingress_uris
from ing2gw.providers.apisix.model import ApisixModel
from ing2gw.resources import IngressBackend, IngressPath

DIR = TESTDATA / "upstream" / "apisix"
ANNOTATIONS = json.loads((DIR / "annotation-cases.json").read_text())
URIS = json.loads((DIR / "ingress-uris.json").read_text())
RADIX = json.loads((DIR / "radixtree-cases.json").read_text())


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


@pytest.mark.parametrize("case", ANNOTATIONS, ids=_ids(ANNOTATIONS))
def test_annotation_plugins(case: dict[str, Any]) -> None:
    raw = {f"{PREFIX}/{k}": v for k, v in case["annotations"].items()}
    assert ingress_plugins(raw) == case["plugins"]
    up = upstream_settings(raw)
    want = case["upstream"]
    assert up.scheme == want.get("scheme", "")
    assert up.retries == want.get("retries", 0)
    assert (up.connect, up.read, up.send) == (want.get("connect", 0), want.get("read", 0), want.get("send", 0))
    if "timeouts" in want:
        assert up.timeouts == tuple(want["timeouts"])


@pytest.mark.parametrize("case", URIS, ids=_ids(URIS))
def test_ingress_uris(case: dict[str, Any]) -> None:
    path = IngressPath(path=case["path"], path_type=case["pathType"], backend=IngressBackend(service="s",
                                                                                             port_number=80),
                       field="spec.rules[0].http.paths[0]")
    uris, exprs = ingress_uris(path, case["useRegex"])
    assert list(uris) == case["uris"]
    assert [[e.variable, *e.text().split(" ", 2)[1:]] for e in exprs] == case["vars"]


def _model(routes: list[dict[str, Any]]) -> ApisixModel:
    entries = [ApisixEntry(name=r["id"], kind="ApisixRoute", source=f"t/{r['id']}", rule=r["id"],
                           hosts=tuple(r.get("hosts", ())), uris=tuple(r["uris"]), priority=r.get("priority", 0),
                           backends=(Backend("t", r["id"], 80),), order=n) for n, r in enumerate(routes)]
    return ApisixModel(entries)


@pytest.mark.parametrize("case", RADIX, ids=_ids(RADIX))
def test_radixtree(case: dict[str, Any]) -> None:
    model = _model(case["routes"])
    for req in case["requests"]:
        path, expected = req[0], req[1]
        host = req[2] if len(req) > 2 else "unnamed.test"
        outcome = model.route(Request.build(host=host, path=path))
        got = outcome.matched.route.removeprefix("t/") if outcome.matched is not None else None
        assert got == expected, f"{host}{path}"
        assert outcome.status == (200 if expected else 404)


def test_doc_is_generated_from_the_table(ing2gw) -> None:
    """docs/providers/apisix.md is `ing2gw providers apisix -o markdown`, never edited by hand."""
    from support import ROOT

    r = ing2gw(["providers", "apisix", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "apisix.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers apisix -o markdown > docs/providers/apisix.md")


def test_presented_certificate_by_sni() -> None:
    """APISIX picks an SSL object by SNI: the exact host, else the longest wildcard covering
    it, which must be one label above it (apisix/ssl/router/radixtree_sni.lua refuses a wildcard
    match of more labels); verify compares this with the Gateway's wildcard listeners."""
    model = ApisixModel([], {"shop.example.com": "shop/shop-tls", "*.example.com": "shop/wild",
                             "*.admin.example.com": "shop/admin-tls"})
    assert model.presented_certificate("shop.example.com") == "shop/shop-tls"
    assert model.presented_certificate("a.admin.example.com") == "shop/admin-tls"
    assert model.presented_certificate("a.b.admin.example.com") is None  # two labels under the wildcard
    assert model.presented_certificate("x.example.com") == "shop/wild"
    assert model.presented_certificate("example.com") is None
    assert model.route(Request.build(host="example.com", path="/", scheme="https")).reason == "NoCertificate"


def test_verify_of_apisixroutes_names_the_rule_by_its_gateway_path() -> None:
    """A request an ApisixRoute rule serves is named by the Gateway path its matched URI
    becomes, so notes scoped to the converted rule's path explain its differences."""
    entry = ApisixEntry(name="r", kind="ApisixRoute", source="t/r", rule="api", hosts=(),
                        uris=("/docs", "/docs/*", "/files*"), backends=(Backend("t", "r", 80),))
    model = ApisixModel([entry])
    named = {p: model.route(Request.build(host="h.test", path=p)).matched for p in ("/docs/a", "/docs", "/filesx")}
    assert {p: m.rule_name if m else None for p, m in named.items()} == {
        "/docs/a": "/docs", "/docs": "/docs", "/filesx": "/files"}


def test_host_groups_fall_through_as_gateway_hostname_precedence(ing2gw, tmp_path) -> None:
    """Exact host, then wildcard hosts (longest first), then host-less routes, falling through a
    group without a match: the Gateway's hostname precedence gives the same answers, so the only
    differences left are those of bare ``PATH/*`` URIs, each explained by its own note."""
    from support import verify_report

    src = tmp_path / "hosts.yaml"
    src.write_text("""
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: hosts, namespace: shop}
spec:
  http:
    - {name: exact-host, match: {hosts: [a.shop.example.com], paths: [/api/*]},
       backends: [{serviceName: exact, servicePort: 80}]}
    - {name: wild-host, match: {hosts: ["*.shop.example.com"], paths: [/api/v1/*, /b/*]},
       backends: [{serviceName: wild, servicePort: 80}]}
    - {name: wider-host, match: {hosts: ["*.example.com"], paths: [/api/v1/x/*, /c/*]},
       backends: [{serviceName: wider, servicePort: 80}]}
    - {name: no-host, match: {paths: [/api/v1/x/y/*, /b/*, /c/*, /d/*]},
       backends: [{serviceName: any, servicePort: 80}]}
""")
    report = verify_report(ing2gw, "-f", str(src))
    assert report["summary"]["requests"] > 50 and report["summary"]["unexplained"] == 0
    assert {tuple(g["cause"]) for g in report["groups"]} == {("APISIX-PATH-PREFIX-BARE",)}
    served = ing2gw(["route", "-f", str(src), "--as", "apisix", "http://a.shop.example.com/api/v1/x/y/z", "-o", "json"])
    assert '"backend": "shop/exact:80"' in served.stdout  # the exact host's shorter /api/* wins
