"""``ing2gw convert --openapi FILE --host H --backend SVC:PORT``: OpenAPI 3 operations as
HTTPRoute matches (golden testdata/convert/openapi/petstore/expected.yaml, rewritten with
ING2GW_UPDATE_GOLDEN=1), split to the route limits, routed as the document says, and one-line
errors for documents that are not OpenAPI 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TESTDATA, UPDATE_GOLDEN

from ing2gw.http import Request
from ing2gw.router import Router

CASE = TESTDATA / "convert" / "openapi" / "petstore"
ARGS = ["--host", "api.example.com", "--backend", "shop/pets:8080"]


def _convert(ing2gw: Any, doc: Path, *args: str) -> Any:
    return ing2gw(["convert", "--openapi", str(doc), *(args or ARGS), "--fail-on", "never"])


def test_golden(ing2gw: Any) -> None:
    r = _convert(ing2gw, CASE / "openapi.yaml")
    assert r.exit_code == 0, r.stderr
    expected = CASE / "expected.yaml"
    if UPDATE_GOLDEN:
        expected.write_text(r.stdout)
    assert r.stdout == expected.read_text()
    assert "OPENAPI-PATH-TEMPLATE" in r.stderr and "OPENAPI-REQUIRED-PARAMETERS" in r.stderr


def test_the_routes_route_as_the_document_says(ing2gw: Any) -> None:
    objs = [o for o in yaml.safe_load_all(_convert(ing2gw, CASE / "openapi.yaml").stdout) if o]
    router = Router.from_manifests(objs)

    def send(method: str, path: str) -> Any:
        return router.route(Request.build(host="api.example.com", path=path, method=method))

    assert (send("GET", "/v1/pets").status, send("GET", "/v1/pets").backend) == (200, "shop/pets:8080")
    assert send("DELETE", "/v1/pets/42").status == 200
    assert send("PUT", "/v1/pets/42").status == 404  # no such operation
    assert send("GET", "/v1/pets/42/more").status == 404  # {petId} is one segment
    assert send("GET", "/v1/pets/42/photo.png").status == 200
    assert send("GET", "/pets").status == 404  # the server URL's /v1 is part of every path
    assert send("HEAD", "/v1/health").status == 200


def test_split_to_the_route_limits(ing2gw: Any, tmp_path: Path) -> None:
    paths = {f"/r{i}/{{id}}": {m: {"responses": {"200": {"description": "x"}}} for m in ("get", "put", "delete")}
             for i in range(40)}
    doc = tmp_path / "big.yaml"
    doc.write_text(yaml.safe_dump({"openapi": "3.1.0", "info": {"title": "Big API", "version": "1"}, "paths": paths}))
    r = _convert(ing2gw, doc)
    assert r.exit_code == 0, r.stderr
    routes = [o for o in yaml.safe_load_all(r.stdout) if o and o["kind"] == "HTTPRoute"]
    assert len(routes) >= 3 and all(len(x["spec"]["rules"]) <= 16 for x in routes)
    assert sum(len(rule["matches"]) for x in routes for rule in x["spec"]["rules"]) == 120
    router = Router.from_manifests([o for o in yaml.safe_load_all(r.stdout) if o])
    assert router.route(Request.build(host="api.example.com", path="/r39/7", method="PUT")).status == 200


@pytest.mark.parametrize(("text", "message"), [
    ("swagger: '2.0'\npaths: {}\n", "a Swagger 2.0 document, not OpenAPI 3"),
    ("- a\n- b\n", "(a mapping)"),
    ("openapi: 3.0.0\ninfo: {title: x}\n", "without paths"),
    ("openapi: 3.0.0\npaths:\n  /ok: {get: {}}\n  nope: {get: {}}\n", ":4: path 'nope' must start with /"),
    ("openapi: [\n", "malformed YAML"),
    ("openapi: 3.0.0\npaths:\n  /a: {parameters: []}\n", "no path of the document has an operation"),
])
def test_bad_documents_are_one_line_errors(ing2gw: Any, tmp_path: Path, text: str, message: str) -> None:
    doc = tmp_path / "api.yaml"
    doc.write_text(text)
    r = _convert(ing2gw, doc)
    assert r.exit_code == 3 and r.stdout == ""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(doc) in lines[0] and message in lines[0], r.stderr


def test_usage_errors(ing2gw: Any) -> None:
    assert _convert(ing2gw, CASE / "openapi.yaml", "--host", "api.example.com").exit_code == 2
    assert _convert(ing2gw, CASE / "openapi.yaml", "--host", "api.example.com", "--backend", "pets").exit_code == 2
    assert _convert(ing2gw, CASE / "openapi.yaml", "--host", "-x-", "--backend", "pets:80").exit_code == 2
    assert ing2gw(["convert", "--host", "a.example", "-f", str(CASE / "openapi.yaml")]).exit_code == 2
