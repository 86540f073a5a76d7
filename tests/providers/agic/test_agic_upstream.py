"""AGIC's own tests (``docs/upstream/agic/cases.json``) as tests of the AGIC provider and model.

Every case runs: the complete gateway configurations (listeners, host names, frontend ports,
rule types and priorities, path maps, redirects), the pathType table and the catch-all rule,
frontend-port overrides, generated priorities, the backend HTTP settings of the annotations
(through the translator's rule and the model's upstream request), SSL redirects and listener
de-duplication. Names, resource IDs and pool members (generated names, Endpoints) are Azure
plumbing the model does not keep; the cases' routing facts are what is compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from support import SHARED

from ing2gw import intents as i
from ing2gw.http import Request
from ing2gw.ir import IR, GatewayRef
from ing2gw.notes import Notes
from ing2gw.provider import ConversionOptions, ProviderContext
from ing2gw.providers.agic.appgw import build, catch_all, pattern
from ing2gw.providers.agic.model import AgicModel
from ing2gw.providers.agic.translator import AgicTranslator
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

CASES = {c["id"]: c for c in json.loads((SHARED / "docs" / "upstream" / "agic" / "cases.json").read_text())}
# the configbuilder cases run in a cluster without the TLS Secret: an unrelated Secret makes the
# input say which Secrets exist
_OTHER_SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unrelated", "namespace": "default"}}


def _resources(objects: list[Mapping[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(dict(o), f"<upstream>:{n + 1}") for n, o in enumerate(objects)
                               if o.get("kind") in ("Ingress", "Service", "Secret")])


def _translate(rs: ResourceSet) -> IR:
    notes = Notes()
    gw = GatewayRef("azure/application-gateway", "azure/application-gateway")
    ctx = ProviderContext(rs, notes, ConversionOptions(), {ing.ref: gw for ing in rs.ingresses})
    return AgicTranslator(ctx).translate_all(rs.ingresses)


@pytest.mark.parametrize("cid", ["agic-001", "agic-002", "agic-003"])
def test_complete_gateway_configuration(cid: str) -> None:
    case = CASES[cid]
    rs = _resources([*case["input"], _OTHER_SECRET])
    gw = build(rs.ingresses, rs)
    props = case["expected"]["appGatewayJSON"]["properties"]
    want = [(ls["properties"]["protocol"].lower(), sorted(ls["properties"]["hostNames"]))
            for ls in props["httpListeners"]]
    assert [(ls.protocol, sorted(ls.hosts)) for ls in gw.listeners] == want
    ports = {int(p["properties"]["port"]) for p in props["frontendPorts"]}
    assert {ls.port for ls in gw.listeners} == ports
    rules = props["requestRoutingRules"]
    assert [r["properties"]["priority"] for r in rules] == [ls.priority for ls in gw.listeners]
    for r, ls in zip(rules, gw.listeners, strict=True):
        basic = r["properties"]["ruleType"] == "Basic"
        assert basic == (not ls.entries)  # only a catch-all (or a default backend): a Basic rule
    assert props["urlPathMaps"] == [] and props["redirectConfigurations"] == []
    # every request reaches the one backend, through the listener's default
    model = AgicModel.from_resources(rs)
    pool = props["backendAddressPools"][0]["name"]
    assert "hello-world-80" in pool
    for ls in gw.listeners:
        host = ls.hosts[0] if ls.hosts else "anything.example"
        out = model.route(Request.from_url(f"http://{host}/some/path"))
        assert out.backend == "test-ingress-controller/hello-world:80"


def test_path_types() -> None:
    case = CASES["agic-004"]
    rs = _resources(case["input"])
    (ls,) = build(rs.ingresses, rs).listeners
    assert len(ls.entries) == case["expected"]["pathRuleCount"]
    assert [e.pattern for e in ls.entries] == case["expected"]["pathRules[i].paths[0]"]
    assert ls.default is not None and ls.default[1].service == "--service-name--"


def test_prepare_path_from_path_type() -> None:
    for row in CASES["agic-005"]["expected"]["table"]:
        assert pattern(row["path"], row["pathType"] or "ImplementationSpecific") == row["result"], row


def test_catch_all() -> None:
    for row in CASES["agic-006"]["expected"]["table"]:
        assert catch_all(row["path"]) == row["catchAll"], row


def _ingress(name: str, annotations: Mapping[str, str], rules: list[Any], tls: list[Any] | None = None
             ) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "default",
                         "annotations": {"kubernetes.io/ingress.class": "azure/application-gateway", **annotations}},
            "spec": {"rules": rules, **({"tls": tls} if tls else {})}}


_ROOT = [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                              "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]


def test_frontend_port_override() -> None:
    for row in CASES["agic-007"]["expected"]["table"]:
        ann = {} if row["override"] in (None, "annotation absent") else {
            "appgw.ingress.kubernetes.io/override-frontend-port": row["override"]}
        tls = [{"secretName": "cert"}] if row["protocol"] == "Https" else None
        rs = _resources([_ingress("x", ann, _ROOT, tls)])
        (ls,) = build(rs.ingresses, rs).listeners
        assert (ls.protocol, ls.port) == (row["protocol"].lower(), row["frontendPort"]), row


def test_generated_priorities() -> None:
    want = CASES["agic-008"]["expected"]
    for label, extension in (("multiSite (hostname-extension host-<i> on each)", True),
                             ("basic (no hostnames)", False)):
        ingresses = [_ingress(f"ing-{n}", {"appgw.ingress.kubernetes.io/override-frontend-port": str(n),
                                           **({"appgw.ingress.kubernetes.io/hostname-extension": f"host-{n}"}
                                              if extension else {})}, _ROOT) for n in range(1, 51)]
        rs = _resources(ingresses)
        listeners = build(rs.ingresses, rs).listeners
        priorities = [ls.priority for ls in listeners]
        low, high = want[label]["priorityRange"]
        assert len(listeners) == want[label]["ruleCount"]
        assert len(set(priorities)) == len(priorities) and all(low <= p < high for p in priorities)


def test_backend_settings_annotations() -> None:
    case = CASES["agic-009"]
    rs = _resources(case["input"])
    want = case["expected"]["backend" + "HttpSettings contains"]
    ir = _translate(rs)
    (route,) = ir.routes
    (rule,) = route.rules
    (rewrite,) = [f.value for f in rule.filters if f.type == "URLRewrite"]
    assert rewrite.path is not None and rewrite.path.value == want["path"]  # type: ignore[union-attr]
    assert rewrite.hostname == want["hostName"]  # type: ignore[union-attr]
    assert rule.timeouts is not None and rule.timeouts.backend_request == f"{want['requestTimeout']}s"
    drains = [x for x in rule.intents if isinstance(x, i.ConnectionDraining)]
    assert [d.timeout_s for d in drains] == [want["connectionDraining"]["drainTimeoutInSec"]]
    assert any(isinstance(x, i.SessionAffinity) for x in rule.intents) == (want["cookieBasedAffinity"] == "Enabled")
    out = AgicModel.from_resources(rs).route(Request.from_url("http://hello.com/hi"))
    assert out.upstream is not None and (out.upstream.path, out.upstream.host) == (want["path"], want["hostName"])


def _listeners(case: dict[str, Any]) -> list[Any]:
    rs = _resources(case["input"])
    return build(rs.ingresses, rs).listeners


def test_ssl_redirect_with_tls() -> None:
    case = CASES["agic-010"]
    listeners = _listeners(case)
    assert len(listeners) == case["expected"]["listenerCount"]
    https = [ls for ls in listeners if ls.protocol == "https"]
    redirect = [ls for ls in listeners if ls.redirect]
    assert len(https) == 1 and https[0].port == 443 and len(redirect) == 1 and redirect[0].port == 80
    rs = _resources(case["input"])
    out = AgicModel.from_resources(rs).route(Request.from_url("http://bye.com/api1?x=1"))
    assert out.redirect is not None and (out.status, out.redirect.location) == (301, "https://bye.com/api1?x=1")


def test_ssl_redirect_without_tls() -> None:
    case = CASES["agic-011"]
    body = json.loads(json.dumps(case["input"][0]))
    body["spec"].pop("tls", None)
    listeners = _listeners({"input": [body]})
    assert len(listeners) == case["expected"]["listenerCount"] and not any(ls.redirect for ls in listeners)


def test_tls_without_ssl_redirect() -> None:
    case = CASES["agic-012"]
    listeners = _listeners(case)
    assert len(listeners) == case["expected"]["listenerCount"]
    (ls,) = listeners
    assert ls.protocol == case["expected"]["listener"]["protocol"].lower()
    rs = _resources(case["input"])
    out = AgicModel.from_resources(rs).route(Request.from_url("http://bye.com/api1"))
    assert out.status is None  # plain HTTP has no listener for the host


def test_two_ingresses_share_one_path_map() -> None:
    case = CASES["agic-013"]
    listeners = _listeners(case)
    (ls,) = [x for x in listeners if x.protocol == "https"]
    assert len(ls.entries) == case["expected"]["pathRuleCount"]
    assert len({(e.ingress.ref, e.path.field) for e in ls.entries}) == len(ls.entries)


def test_identical_listeners_are_one() -> None:
    case = CASES["agic-014"]
    copies = []
    for n in range(7):
        body = json.loads(json.dumps(case["input"][0]))
        body["metadata"]["name"] = f"copy-{n}"
        copies.append(body)
    listeners = _listeners({"input": copies})
    assert len(listeners) == case["expected"]["listenerCount"]
    assert sorted({ls.port for ls in listeners}) == case["expected"]["ports"]
