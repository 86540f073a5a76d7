"""The AGIC and GKE providers end to end: generated docs, first-match shadowing in the output and
the model, and Gateway-wide settings only the right target carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support import ROOT, TESTDATA

from ing2gw.http import Request
from ing2gw.providers.agic.model import AgicModel
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document


@pytest.mark.parametrize("name", ["agic", "gke"])
def test_docs_are_generated_from_the_table(ing2gw, name: str) -> None:
    r = ing2gw(["providers", name, "-o", "markdown"])
    assert r.exit_code == 0, r.stderr
    doc = ROOT / "docs" / "providers" / f"{name}.md"
    assert doc.read_text() == r.stdout, f"regenerate: ing2gw providers {name} -o markdown > {doc}"


def test_a_shadowed_path_is_dropped_and_the_model_agrees(ing2gw) -> None:
    case = TESTDATA / "convert" / "agic" / "routing" / "input.yaml"
    r = ing2gw(["convert", "-f", str(case), "--fail-on", "never"])
    routes = [d for d in yaml.safe_load_all(r.stdout) if d["kind"] == "HTTPRoute"]
    values = [m["path"]["value"] for d in routes for rule in d["spec"]["rules"] for m in rule.get("matches", ())]
    assert "/api/admin" not in values and "/api" in values
    assert "AGIC-PATH-SHADOWED" in r.stderr
    docs = [Document(d, f"{case}:{n}") for n, d in enumerate(yaml.safe_load_all(case.read_text()))]
    out = AgicModel.from_resources(build_resource_set(docs)).route(Request.from_url("https://shop.example.com/api/admin"))
    assert out.backend == "web/api:80"


def test_an_azure_ssl_profile_is_not_a_gcp_ssl_policy(ing2gw, tmp_path: Path) -> None:
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "a", "namespace": "web", "annotations": {
               "kubernetes.io/ingress.class": "azure/application-gateway",
               "appgw.ingress.kubernetes.io/appgw-ssl-profile": "strict"}},
           "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [
               {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": 80}}}}]}}]}}
    f = tmp_path / "in.yaml"
    f.write_text(json.dumps(ing))
    r = ing2gw(["convert", "-f", str(f), "--emitter", "gke", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    assert "GCPGatewayPolicy" not in r.stdout
    assert "IMPL-NOT-EXPRESSIBLE" in r.stderr and "tls-policy (name=strict, vendor=azure)" in r.stderr
