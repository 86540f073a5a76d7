"""East-west (GAMMA) routing: Service names, ports, producer and consumer routes, and the
golden case testdata/router/mesh (its case file run by ``ing2gw route``; the JSON report is
pinned in expected.json, ``ING2GW_UPDATE_GOLDEN=1`` rewrites it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import support
from click.testing import CliRunner

from ing2gw.cli import cli
from ing2gw.errors import InputError
from ing2gw.http import MeshSource, Request
from ing2gw.router import Router

GOLDEN = support.ROOT / "testdata" / "router" / "mesh"


def svc(ns: str, name: str, *ports: tuple[str, int], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"name": n, "port": p} for n, p in ports], **spec}}


def route(ns: str, name: str, parent: dict[str, Any], backend: str, port: int = 80, kind: str = "HTTPRoute",
          **rule: Any) -> dict[str, Any]:
    ref_ns, _, ref_name = backend.rpartition("/")
    ref = {"name": ref_name, "port": port, **({"namespace": ref_ns} if ref_ns else {})}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [{"group": "", "kind": "Service", **parent}],
                     "rules": [{"backendRefs": [ref], **rule}]}}


BASE = [svc("shop", "api", ("http", 80), ("admin", 8080)), svc("shop", "api-v2", ("http", 80), ("admin", 8080)),
        svc("web", "api-web", ("http", 80))]


def send(objs: list[dict[str, Any]], host: str, client: str, path: str = "/", port: int | None = None,
         **kw: Any) -> dict[str, Any]:
    request = Request.build(host=host, path=path, port=port, mesh=MeshSource(client, host), **kw)
    return Router.from_manifests(objs).route(request).to_dict()


@pytest.mark.parametrize("host", ["api.shop", "api.shop.svc", "api.shop.svc.cluster.local", "API.shop."])
def test_every_form_of_the_service_name(host: str) -> None:
    out = send([*BASE, route("shop", "r", {"name": "api"}, "api-v2")], host, "web")
    assert (out["status"], out["backend"]) == (200, "shop/api-v2:80")
    assert out["matched"]["service"] == "shop/api" and "gateway" not in out["matched"]


def test_a_bare_name_is_in_the_client_namespace() -> None:
    objs = [*BASE, route("shop", "r", {"name": "api"}, "api-v2")]
    assert send(objs, "api", "shop")["backend"] == "shop/api-v2:80"
    out = send(objs, "api", "web")
    assert (out["status"], out["reason"]) == (None, "ServiceNotFound")
    for bad in ("api.shop.svc.example", "a.b.c.d", "x..y"):
        assert send(objs, bad, "web")["reason"] == "ServiceNotFound"


def test_no_route_means_the_service_itself_and_a_missing_port_is_refused() -> None:
    out = send(BASE, "api.shop:8080", "web", "/x?y=1")
    assert (out["status"], out["backend"], out["upstream"]["path"]) == (200, "shop/api:8080", "/x?y=1")
    assert out["matched"]["kind"] == "Service"
    assert send(BASE, "api.shop", "web", port=9999)["reason"] == "ConnectionRefused"


def test_routes_but_no_matching_rule_is_404() -> None:
    objs = [*BASE, route("shop", "r", {"name": "api"}, "api-v2", matches=[{"path": {"type": "Exact", "value": "/a"}}])]
    assert send(objs, "api.shop", "web", "/a")["status"] == 200
    assert send(objs, "api.shop", "web", "/b")["status"] == 404


def test_consumer_routes_replace_producer_routes_for_their_namespace_only() -> None:
    objs = [*BASE, route("shop", "producer", {"name": "api"}, "api-v2"),
            route("web", "consumer", {"name": "api", "namespace": "shop"}, "api-web")]
    assert send(objs, "api.shop", "web")["backend"] == "web/api-web:80"
    assert send(objs, "api.shop", "shop")["backend"] == "shop/api-v2:80"
    assert send(objs, "api.shop", "other")["backend"] == "shop/api-v2:80"
    # a consumer route alone: other namespaces get the Service itself
    objs = [*BASE, route("web", "consumer", {"name": "api", "namespace": "shop"}, "api-web")]
    assert send(objs, "api.shop", "other")["backend"] == "shop/api:80"


def test_routes_of_one_group_merge_by_precedence() -> None:
    objs = [*BASE, route("shop", "a", {"name": "api"}, "api-v2"),
            route("shop", "b", {"name": "api"}, "api", matches=[{"path": {"type": "PathPrefix", "value": "/b"}}])]
    assert send(objs, "api.shop", "web", "/b/1")["matched"]["route"] == "shop/b"
    assert send(objs, "api.shop", "web", "/c")["matched"]["route"] == "shop/a"


def test_port_and_section_name_limit_a_route() -> None:
    objs = [*BASE, route("shop", "p", {"name": "api", "port": 8080}, "api-v2", port=8080),
            route("shop", "s", {"name": "api", "sectionName": "http"}, "api-v2")]
    assert send(objs, "api.shop:8080", "web")["matched"]["route"] == "shop/p"
    assert send(objs, "api.shop", "web")["matched"]["route"] == "shop/s"
    bad = [*BASE, route("shop", "x", {"name": "api", "port": 81}, "api-v2"),
           route("shop", "y", {"name": "api", "sectionName": "nope"}, "api-v2")]
    router = Router.from_manifests(bad)
    assert any("no port 81; not attached" in n for n in router.notes)
    assert any("no port named nope; not attached" in n for n in router.notes)


def test_grpc_route_wins_over_http_route_on_one_port() -> None:
    grpc = route("shop", "g", {"name": "api"}, "api-v2", kind="GRPCRoute")
    objs = [*BASE, grpc, route("shop", "h", {"name": "api"}, "api")]
    out = send(objs, "api.shop", "web", "/pkg.Svc/M", method="POST", headers={"content-type": "application/grpc"})
    assert (out["grpcStatus"], out["backend"]) == ("OK", "shop/api-v2:80")
    out = send(objs, "api.shop", "web", "/page")
    assert out["status"] == 404 and any("Conflicted" in n for n in out["notes"])


def test_mesh_backends_need_no_reference_grant_but_gateway_ones_do() -> None:
    consumer = route("web", "c", {"name": "api", "namespace": "shop"}, "shop/api-v2")
    assert send([*BASE, consumer], "api.shop", "web")["backend"] == "shop/api-v2:80"


def test_hostnames_are_ignored_and_headless_or_external_services_take_no_routes() -> None:
    objs = [*BASE, route("shop", "r", {"name": "api"}, "api-v2", ), svc("shop", "hl", ("http", 80), clusterIP="None"),
            svc("shop", "ext", ("http", 80), type="ExternalName"),
            route("shop", "h", {"name": "hl"}, "api-v2"), route("shop", "e", {"name": "ext"}, "api-v2")]
    objs[3]["spec"]["hostnames"] = ["elsewhere.example"]
    assert send(objs, "api.shop", "web")["backend"] == "shop/api-v2:80"
    assert send(objs, "hl.shop", "web")["backend"] == "shop/hl:80"
    notes = Router.from_manifests(objs).notes
    assert any("headless" in n for n in notes) and any("ExternalName" in n for n in notes)
    assert any("hostnames mean nothing" in n for n in notes)


def test_https_to_a_service_is_not_routed_by_http_routes() -> None:
    objs = [*BASE, route("shop", "r", {"name": "api"}, "api-v2")]
    out = send(objs, "api.shop", "web", scheme="https", port=80)
    assert out["backend"] == "shop/api:80" and "TLS" in out["notes"][0]


def test_without_service_objects_services_are_assumed() -> None:
    objs = [route("shop", "r", {"name": "api"}, "api-v2")]
    assert send(objs, "api.shop:1234", "web")["backend"] == "shop/api-v2:80"
    assert send(objs, "other.shop", "web")["backend"] == "shop/other:80"
    strict = Router.from_manifests(objs, strict_refs=True)
    request = Request.build(host="api.shop", mesh=MeshSource("web", "api.shop"))
    assert strict.route(request).reason == "ServiceNotFound"


def test_gateway_requests_ignore_mesh_routes() -> None:
    objs = [*BASE, route("shop", "r", {"name": "api"}, "api-v2")]
    out = Router.from_manifests(objs).route(Request.build(host="api.shop")).to_dict()
    assert out["status"] == 404 and out["reason"] == "NoMatchingListener"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["route", *args], standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        from ing2gw.errors import Ing2gwError

        assert isinstance(result.exception, Ing2gwError), result.exception
        return int(result.exception.exit_code), str(result.exception)
    return (result.return_value or 0), result.stdout


def test_golden_case_file() -> None:
    code, out = run("-f", str(GOLDEN / "input.yaml"), "--cases", str(GOLDEN / "cases.yaml"), "-o", "json")
    expected = GOLDEN / "expected.json"
    if support.UPDATE_GOLDEN:
        expected.write_text(out)
    assert code == 0, out
    report = json.loads(out)
    assert report["summary"]["failed"] == 0 and report["summary"]["cases"] >= 10
    assert out == expected.read_text()


def test_cli_single_mesh_request_and_usage_errors() -> None:
    code, out = run("-f", str(GOLDEN / "input.yaml"), "--mesh", "frontend", "http://reviews.shop/api/x")
    assert code == 0
    assert "via Service shop/reviews port 80" in out and "backend: frontend/reviews-beta:80" in out
    code, err = run("-f", str(GOLDEN / "input.yaml"), "--mesh", "frontend", "--gateway", "a/b", "http://x/")
    assert code == 2 and "--mesh" in err


def test_case_file_errors_are_one_line(tmp_path: Any) -> None:
    for bad, msg in (("mesh: frontend", "mesh must be {namespace"),
                     ("mesh: {namespace: a, x: 1}", "mesh must be {namespace"),
                     ("mesh: {namespace: a}, gateway: a/b", "not to a gateway")):
        cases = tmp_path / "c.yaml"
        cases.write_text(f"- request: {{host: reviews.shop, {bad}}}\n")
        code, err = run("-f", str(GOLDEN / "input.yaml"), "--cases", str(cases))
        assert code == InputError.exit_code and msg in err and "\n" not in err.strip()


def test_mesh_probes_and_verify_carry_mesh_requests() -> None:
    """probes_for probes Service parents east-west (from the route's namespace and from one
    without routes); verify replays them through both sides, serially and through the wire
    form workers get, and a dropped consumer route shows as differences for its namespace only."""
    from ing2gw import verify as v
    from ing2gw.explain import Explainer
    from ing2gw.probes import MESH_OTHER_NAMESPACE, probes_for
    from ing2gw.resources import build_resource_set
    from ing2gw.sources import read_paths

    docs = [d.obj for d in read_paths([str(GOLDEN / "input.yaml")])]
    probes = probes_for(docs)
    mesh = [p for p in probes if p.mesh is not None]
    assert {p.mesh for p in mesh} == {"frontend", "shop", MESH_OTHER_NAMESPACE}
    assert any(p.host == "reviews.shop" and p.port == 9090 for p in mesh) is False  # GRPCRoutes are not probed
    assert {p.port for p in mesh if p.host == "reviews.shop"} == {80}
    full = Router.from_manifests(docs)
    without = Router.from_manifests([d for d in docs if d["metadata"]["name"] != "reviews-for-frontend"])
    report = v.verify_requests("none", build_resource_set([]), docs, [], full.route, without.route,
                               [(p, "probe") for p in mesh])
    assert report.requests == len(mesh) and report.differences
    assert {d.request["mesh"]["namespace"] for d in report.differences} == {"frontend"}
    v._MEMO.clear()  # the wire form a forked worker receives gives the same rows
    v._REPLAY = v._Replay(Explainer([], build_resource_set([]), docs), full.route, without.route)
    try:
        agree, rows, *_ = v._replay_wire([v._to_wire(p, "probe") for p in mesh])
    finally:
        v._REPLAY = None
        v._MEMO.clear()
    assert agree + len(rows) == len(mesh) and len(rows) == len(report.differences)
    assert {row[0]["mesh"]["namespace"] for row in rows} == {"frontend"}
