"""Cilium's own translation tests (testdata/upstream/cilium, transcribed) through the Cilium
model: each request gets the status, backend, traffic shares and redirect Cilium's Envoy
configuration gives; and the conversion of each case's Ingresses is checked against them
through the reference router, where Gateway API says the same."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import ROOT

from ing2gw.http import Request
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

CASES: list[dict[str, Any]] = json.loads((ROOT / "testdata" / "upstream" / "cilium" / "cases.json").read_text())


def _model(ingresses: list[dict[str, Any]]) -> Any:
    from ing2gw.providers.cilium.model import CiliumModel

    docs = [Document(dict(o), f"<upstream>:{n + 1}") for n, o in enumerate(ingresses)]
    return CiliumModel.from_resources(build_resource_set(docs))


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_model_answers_as_cilium(case: dict[str, Any]) -> None:
    r, e = case["request"], case["expect"]
    out = _model(case["ingresses"]).route(Request.build(host=r["host"], path=r["path"], scheme=r["scheme"])).to_dict()
    assert out["status"] == e["status"], out
    if "backend" in e:
        assert out["backend"] == e["backend"], out
    if "location" in e:
        assert out["redirect"]["location"] == e["location"], out
    if "weights" in e:
        assert out["weights"] == e["weights"], out


def test_every_source_is_named() -> None:
    assert len(CASES) >= 20
    assert all(c["source"] for c in CASES)


def test_doc_is_generated_from_the_table(ing2gw) -> None:
    """docs/providers/cilium.md is `ing2gw providers cilium -o markdown`, never edited by hand."""
    r = ing2gw(["providers", "cilium", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "cilium.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers cilium -o markdown > docs/providers/cilium.md")


def test_annotation_values_are_read_as_cilium_reads_them() -> None:
    from ing2gw.providers.cilium.annotations import parse_enabled, parse_go_duration

    assert parse_enabled("enabled") and parse_enabled("true") and not parse_enabled("disabled")
    assert not parse_enabled("0")
    with pytest.raises(ValueError):
        parse_enabled("yes")
    assert parse_go_duration("1m30s").millis == 90_000
    assert parse_go_duration("1.5s").millis == 1500 and parse_go_duration("250ms").millis == 250
    assert parse_go_duration("0").millis == 0
    for bad in ("", "10", "s", "1x"):
        with pytest.raises(ValueError):
            parse_go_duration(bad)


def test_conversion_of_the_golden_case(ing2gw) -> None:
    """Dedicated Ingresses get Gateways of their own, shared ones one Gateway; TLS hosts get a
    301 redirect route (enforced https) unless force-https is disabled; the request timeout
    lands on the rules; passthrough becomes a TLSRoute; a bad value is one warning."""
    import yaml

    r = ing2gw(["convert", "-f", str(ROOT / "testdata" / "convert" / "cilium" / "routing" / "input.yaml"), "-q",
                "--fail-on", "never"])
    objs = [o for o in yaml.safe_load_all(r.stdout) if o]
    gateways = sorted(o["metadata"]["name"] for o in objs if o["kind"] == "Gateway")
    assert gateways == ["cilium", "cilium-sec-vault", "cilium-shop-shop"]
    routes = {o["metadata"]["name"]: o for o in objs if o["kind"] == "HTTPRoute"}
    redirect = routes["shop-shop-example-com-https"]["spec"]["rules"][0]["filters"][0]["requestRedirect"]
    assert redirect == {"scheme": "https", "statusCode": 301}
    assert not any(n.startswith("docs-") and n.endswith("-https") for n in routes)
    assert routes["shop-shop-example-com"]["spec"]["rules"][0]["timeouts"] == {"request": "1m30s"}
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "TLSRoute"] == ["vault-vault-example-com"]
    bad = ing2gw(["convert", "-f", "-"], input=(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, namespace: d, annotations: "
        "{ingress.cilium.io/request-timeout: soon}}\nspec: {ingressClassName: cilium, rules: [{host: a.example, "
        "http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]}\n"))
    assert "CILIUM-ANNOTATION-INVALID" in bad.stderr and "request-timeout" in bad.stderr
