"""Kong's router flavors (providers/kong/flavor.py): the ``expressions`` model's route priorities
are the numbers KIC writes (its golden expression-route configurations), a short path of a
route with a long one outranks other routes' longer paths, header values compare
case-sensitively, wildcard hosts match any depth in every flavor, the flavor is chosen with
``router_flavor`` in --controller-config, and the verify golden explains every difference."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from support import SHARED, TESTDATA, assert_golden_report, verify_report

from ing2gw.errors import UsageError
from ing2gw.http import Request
from ing2gw.providers.kong import PROVIDER
from ing2gw.providers.kong.flavor import COMPATIBLE, EXPRESSIONS, router_flavor
from ing2gw.providers.kong.model import KongModel
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

GOLDEN = json.loads((SHARED / "docs" / "upstream" / "kong" / "cases.json").read_text())
EXPRESSION_CASES = [c for c in GOLDEN if c["feature_flags"] != "defaults" and c["feature_flags"].get("ExpressionRoutes")
                    and not c["feature_flags"].get("KongServiceFacade")]
CASE = TESTDATA / "verify-kong-expressions"


def _resources(objects: list[Mapping[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(dict(o), f"<test>:{n + 1}") for n, o in enumerate(objects)],
                              kinds=PROVIDER.kinds)


@pytest.mark.parametrize("case", EXPRESSION_CASES, ids=[c["name"] for c in EXPRESSION_CASES])
def test_expression_route_priorities_are_kics(case: dict[str, Any]) -> None:
    model = KongModel.from_resources(_resources(case["input"]), flavor=EXPRESSIONS)
    got = {p.name: p.expression_priority for p in model.pieces}
    want = {r["name"]: r["priority"] for s in case["expected"]["services"] for r in s["routes"]}
    assert want and got == want


def _ingress(name: str, host: str, paths: list[str], service: str, annotations: dict[str, str] | None = None
             ) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "web", "annotations": annotations or {}},
            "spec": {"ingressClassName": "kong", "rules": [{"host": host, "http": {"paths": [
                {"path": p, "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}
                for p in paths]}}]}}


def test_a_routes_longest_path_ranks_its_short_paths_under_expressions() -> None:
    rs = _resources([_ingress("shop", "shop.test", ["/", "/catalog/items/all"], "web"),
                     _ingress("api", "shop.test", ["/api"], "api")])
    request = Request.build(host="shop.test", path="/api/v1")
    assert KongModel.from_resources(rs, flavor=COMPATIBLE).route(request).backend == "web/api:80"
    assert KongModel.from_resources(rs, flavor=EXPRESSIONS).route(request).backend == "web/web:80"
    other = Request.build(host="shop.test", path="/catalog/items/all/x")
    assert KongModel.from_resources(rs, flavor=EXPRESSIONS).route(other).backend == "web/web:80"


def test_header_values_compare_case_sensitively_under_expressions() -> None:
    rs = _resources([_ingress("beta", "b.test", ["/"], "beta", {"konghq.com/headers.x-env": "Beta,~*^can"})])
    for flavor, lower in ((COMPATIBLE, 200), (EXPRESSIONS, 404)):
        model = KongModel.from_resources(rs, flavor=flavor)
        assert model.route(Request.build(host="b.test", path="/", headers={"x-env": "Beta"})).status == 200
        assert model.route(Request.build(host="b.test", path="/", headers={"x-env": "beta"})).status == lower
        assert model.route(Request.build(host="b.test", path="/", headers={"x-env": "CANARY"})).status == lower


@pytest.mark.parametrize("flavor", [COMPATIBLE, EXPRESSIONS])
def test_wildcard_hosts_match_any_depth_in_every_flavor(flavor: str) -> None:
    model = KongModel.from_resources(_resources([_ingress("apps", "*.apps.test", ["/"], "apps")]), flavor=flavor)
    for host, status in (("a.apps.test", 200), ("a.b.apps.test", 200), ("apps.test", 404)):
        assert model.route(Request.build(host=host, path="/")).status == status, host


def test_the_flavor_comes_from_the_controller_config() -> None:
    assert router_flavor(None) == COMPATIBLE and router_flavor({"router_flavor": " expressions "}) == EXPRESSIONS
    for bad in ("traditional", "atc"):
        with pytest.raises(UsageError, match="router_flavor"):
            router_flavor({"router_flavor": bad})


def _args() -> list[str]:
    return ["-f", str(CASE / "input.yaml"), "--controller-config", str(CASE / "controller-config.yaml")]


def test_conversion_notes_the_overtaken_path_once(ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["convert", *_args()])
    assert r.exit_code == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "KONG-EXPRESSIONS-PRIORITY" in ln]
    assert len(notes) == 1 and "Ingress web/shop" in notes[0] and "/api of Ingress web/api" in notes[0]
    assert "(?i)" not in r.stdout and "KONG-HEADER-CASE" not in r.stderr  # case-sensitive, as Gateway matches
    assert "WILDCARD-HOST-DEPTH" not in r.stderr  # Kong and Gateway API: any depth
    bad = ing2gw(["convert", "-f", str(CASE / "input.yaml"), "--controller-config", str(CASE / "input.yaml")])
    assert bad.exit_code == 3  # no ConfigMap in the file: unreadable input


def test_verify_golden(ing2gw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = verify_report(ing2gw, *_args())
    assert_golden_report(report, CASE / "expected.json")
    overtaken = [d for d in report["differences"] if d["request"]["url"] == "http://shop.example.com/api"]
    assert [g["code"] for d in overtaken for g in d["explainedBy"]] == ["KONG-EXPRESSIONS-PRIORITY"]
    config = tmp_path / "traditional.yaml"
    config.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata: {router_flavor: traditional}\n")
    r = ing2gw(["verify", "-f", str(CASE / "input.yaml"), "--controller-config", str(config)])
    assert r.exit_code == 2 and "router_flavor traditional is not modelled" in r.stderr
    assert "Traceback" not in r.stderr
