"""``ing2gw dry-run``: preflight checks and server-side dry-run apply against the API emulator."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_emulator import Emulator
from support import SHARED, TESTDATA

from ing2gw import kube
from ing2gw.convert import ConvertOptions, convert
from ing2gw.dryrun import dry_run, features_used, field_changes, render
from ing2gw.plugins import discover
from ing2gw.resources import build_resource_set
from ing2gw.sources import read_paths

pytestmark = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")

SHOP = TESTDATA / "examples" / "shop.yaml"
GW = "gateway.networking.k8s.io/v1"


def _gateway_class(name: str = "nginx", accepted: bool = True, features: list[str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "Accepted", "status": "True" if accepted else "False",
                                              "reason": "Accepted" if accepted else "InvalidParameters",
                                              "message": "" if accepted else "parametersRef not found"}]}
    if features is not None:
        status["supportedFeatures"] = [{"name": f} for f in sorted(features)]
    return {"apiVersion": GW, "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": "example.com/gateway"}, "status": status}


def _populate(em: Emulator, namespaces: tuple[str, ...] = ("shop", "marketing", "gateway-system"),
              gateway_class: dict[str, Any] | None = None) -> None:
    em.add(*(d for d in yaml.safe_load_all(SHOP.read_text(encoding="utf-8")) if d))
    em.add(*({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces))
    if gateway_class is not None:
        em.add(gateway_class)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as em:
        _populate(em, gateway_class=_gateway_class())
        yield em


@pytest.fixture
def kubeconfig(emulator: Emulator, tmp_path: Path) -> Path:
    return emulator.kubeconfig(tmp_path / "config")


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    rs = build_resource_set(read_paths([str(SHOP)]))
    return convert(rs, ConvertOptions(), discover(())).manifests


def _apply_for_real(em: Emulator, manifest: dict[str, Any]) -> None:
    """What an earlier ``kubectl apply --server-side --field-manager=ing2gw`` would have stored."""
    res = next(r for r in em._res[manifest["apiVersion"]].values() if r.kind == manifest["kind"])
    meta = manifest["metadata"]
    path = kube.Cluster.path(manifest["apiVersion"], res.plural, meta.get("namespace") if res.namespaced else None,
                             meta["name"])
    code, body = em.handle("PATCH", f"{path}?fieldManager=ing2gw&force=true",
                           {"authorization": f"Bearer {em.token}", "content-type": "application/apply-patch+yaml"},
                           json.dumps(manifest).encode())
    assert code in (200, 201), body


def _cluster(kubeconfig: Path) -> kube.Cluster:
    return kube.connect(str(kubeconfig))


def test_everything_would_be_created_and_only_dry_runs_are_sent(ing2gw, emulator: Emulator,
                                                                kubeconfig: Path, manifests: list[Any]) -> None:
    result = ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.count("would create  ") == len(manifests)
    assert "would create  HTTPRoute shop/storefront-shop-example-com (from Ingress shop/storefront)" in result.stdout
    writes = emulator.writes()
    assert len(writes) == len(manifests)
    for w in writes:
        assert w.method == "PATCH" and w.content_type == "application/apply-patch+yaml"
        assert w.query["dryRun"] == "All" and w.query["fieldManager"] == "ing2gw" and w.query["force"] == "true"
    # Nothing was stored.
    assert emulator.get(GW, "Gateway", "nginx", "gateway-system") is None


def test_files_as_input_with_the_cluster_as_target(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    result = ing2gw(["dry-run", "-f", str(SHOP), "--kubeconfig", str(kubeconfig), "-o", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["cluster"] == "cluster/emulator"
    assert not any("/ingresses" in r.path for r in emulator.requests)  # Ingresses came from the file
    assert {o["outcome"] for o in report["objects"]} == {"create"}


def test_unchanged_and_changed_objects(ing2gw, emulator: Emulator, kubeconfig: Path, manifests: list[Any]) -> None:
    for m in manifests:
        _apply_for_real(emulator, m)
    same = ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig), "-o", "json"])
    assert same.exit_code == 0, same.stdout
    report = json.loads(same.stdout)
    assert [o["outcome"] for o in report["objects"]] == ["unchanged"] * len(manifests)
    assert all(c["level"] != "error" for c in report["preflight"])  # its own hostnames are not "claimed"

    live = emulator.get(GW, "HTTPRoute", "storefront-shop-example-com", "shop")
    assert live is not None
    live["spec"]["rules"][0]["backendRefs"][0]["port"] = 8081
    live["spec"]["hostnames"].append("old.example.com")
    changed = ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig), "-o", "json"])
    assert changed.exit_code == 0
    by_name = {o["name"]: o for o in json.loads(changed.stdout)["objects"]}
    route = by_name["storefront-shop-example-com"]
    assert route["outcome"] == "change" and route["source"] == "Ingress shop/storefront"
    assert {"path": "spec.rules[0].backendRefs[0].port", "change": "changed", "old": 8081, "new": 8080} \
        in route["changes"]
    assert {"path": "spec.hostnames[1]", "change": "removed", "old": "old.example.com", "new": None} \
        in route["changes"]
    assert sum(o["outcome"] == "change" for o in by_name.values()) == 1
    text = ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig)]).stdout
    assert "~ spec.rules[0].backendRefs[0].port: 8081 -> 8080" in text


def test_rejected_object_names_its_ingress_and_field(kubeconfig: Path, manifests: list[Any]) -> None:
    bad = copy.deepcopy(next(m for m in manifests if m["metadata"]["name"] == "storefront-shop-example-com"))
    bad["metadata"]["name"] = "storefront-bad"
    bad["spec"]["rules"][0]["backendRefs"][0]["port"] = 70000
    report = dry_run([*manifests, bad], _cluster(kubeconfig))
    assert not report.ok
    rejected = [o for o in report.objects if o.outcome == "rejected"]
    assert [o.name for o in rejected] == ["storefront-bad"]
    assert rejected[0].source == "Ingress shop/storefront"
    assert rejected[0].message.startswith('HTTPRoute.gateway.networking.k8s.io "storefront-bad" is invalid')
    assert [f for f, _ in rejected[0].causes] == ["spec.rules[0].backendRefs[0].port"]
    text = render(report, "text")
    assert "rejected      HTTPRoute shop/storefront-bad (from Ingress shop/storefront)" in text
    assert "spec.rules[0].backendRefs[0].port: Invalid value: 70000" in text
    assert "1 rejected" in text


def test_no_gateway_api_crds(ing2gw, tmp_path: Path) -> None:
    with Emulator(channel=None) as em:
        _populate(em)
        config = em.kubeconfig(tmp_path / "config")
        result = ing2gw(["dry-run", "-A", "--kubeconfig", str(config)])
    assert result.exit_code == 1
    assert "FAIL  CRD gateways.gateway.networking.k8s.io is not installed" in result.stdout
    assert "does not serve gateway.networking.k8s.io/v1 HTTPRoute" in result.stdout
    assert "0 would create" in result.stdout and "would create  " not in result.stdout


@pytest.mark.parametrize(("gateway_class", "expected"), [
    (None, "FAIL  GatewayClass nginx does not exist"),
    (_gateway_class(accepted=False), "FAIL  GatewayClass nginx is not Accepted: InvalidParameters: parametersRef"),
    (_gateway_class(features=["Gateway", "HTTPRoute", "ReferenceGrant"]),
     "FAIL  GatewayClass nginx does not support HTTPRouteSchemeRedirect, used by HTTPRoute "
     "marketing/blog-blog-example-com-redirect"),
])
def test_gateway_class_preflight(ing2gw, tmp_path: Path, gateway_class: Any, expected: str) -> None:
    with Emulator() as em:
        _populate(em, gateway_class=gateway_class)
        config = em.kubeconfig(tmp_path / "config")
        result = ing2gw(["dry-run", "-A", "--kubeconfig", str(config)])
    assert result.exit_code == 1
    assert expected in result.stdout
    assert "rejected  " not in result.stdout  # the objects themselves would apply


def test_gateway_class_with_every_feature(kubeconfig: Path, manifests: list[Any], emulator: Emulator) -> None:
    needed = set().union(*(features_used(m) for m in manifests))
    emulator.add(_gateway_class(features=sorted(needed | {"HTTPRouteQueryParamMatching"})))
    report = dry_run(manifests, _cluster(kubeconfig))
    assert report.ok
    assert any(c.name == "gatewayclass" and c.level == "ok" for c in report.checks)


def test_hostname_already_claimed(emulator: Emulator, kubeconfig: Path, manifests: list[Any]) -> None:
    emulator.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "legacy"}},
                 {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "hand-made", "namespace": "legacy"},
                  "spec": {"hostnames": ["blog.example.com"], "rules": [{}]}})
    report = dry_run(manifests, _cluster(kubeconfig))
    assert not report.ok
    [problem] = [c.message for c in report.failed_checks]
    assert problem == ("hostname blog.example.com of HTTPRoute marketing/blog-blog-example-com, HTTPRoute "
                       "marketing/blog-blog-example-com-redirect is already claimed by HTTPRoute legacy/hand-made")


def test_missing_gateway_namespace(ing2gw, tmp_path: Path) -> None:
    with Emulator() as em:
        _populate(em, namespaces=("shop", "marketing"), gateway_class=_gateway_class())
        config = em.kubeconfig(tmp_path / "config")
        result = ing2gw(["dry-run", "-A", "--kubeconfig", str(config)])
    assert result.exit_code == 1
    assert "FAIL  namespace gateway-system does not exist (create it first)" in result.stdout
    assert 'rejected      Gateway gateway-system/nginx (from IngressClass nginx)\n      namespaces "gateway-system" ' \
           "not found" in result.stdout


def test_experimental_field_against_an_older_standard_bundle(tmp_path: Path, manifests: list[Any]) -> None:
    route = copy.deepcopy(next(m for m in manifests if m["kind"] == "HTTPRoute"))
    route["spec"]["rules"][0]["retry"] = {"attempts": 2}
    with Emulator(channel=None) as em:
        em.install_gateway_api("standard", bundle_version="v1.2.0")
        _populate(em, gateway_class=_gateway_class())
        report = dry_run([route], kube.connect(str(em.kubeconfig(tmp_path / "config"))))
    [crds] = [c for c in report.checks if c.name == "crds"]
    assert crds.level == "error"
    assert "uses spec.rules[0].retry, which the installed CRD httproutes.gateway.networking.k8s.io " \
           "(v1.2.0, standard channel) does not have (experimental-channel fields" in crds.message
    [result] = report.objects
    assert result.outcome == "rejected"
    assert result.message.endswith(".spec.rules[0].retry: field not declared in schema")


def test_experimental_channel_accepts_experimental_fields(tmp_path: Path, manifests: list[Any]) -> None:
    route = copy.deepcopy(next(m for m in manifests if m["kind"] == "HTTPRoute"))
    route["spec"]["rules"][0]["retry"] = {"attempts": 2}
    with Emulator(channel="experimental") as em:
        _populate(em, gateway_class=_gateway_class())
        report = dry_run([route], kube.connect(str(em.kubeconfig(tmp_path / "config"))))
    assert report.ok, render(report)
    assert [o.outcome for o in report.objects] == ["create"]


def test_unreadable_crds_and_routes_are_warnings(emulator: Emulator, kubeconfig: Path, manifests: list[Any]) -> None:
    emulator.forbid("get", "customresourcedefinitions")
    emulator.forbid("list", "httproutes")
    report = dry_run(manifests, _cluster(kubeconfig))
    assert report.ok
    levels = {c.name: c.level for c in report.checks if c.level == "warning"}
    assert levels.get("crds") == "warning" and levels.get("hostnames") == "warning"


def test_expired_credentials(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    config = emulator.kubeconfig(tmp_path / "config", token="stale")
    result = ing2gw(["dry-run", "-f", str(SHOP), "--kubeconfig", str(config)])
    assert result.exit_code == 4 and "401 Unauthorized" in result.stderr and "Traceback" not in result.stderr
    assert not emulator.writes() or all(not w.authorized for w in emulator.writes())


def test_markdown_and_json_reports(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    md = ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig), "-o", "markdown", "-q"])
    assert md.exit_code == 0 and md.stderr == ""
    assert md.stdout.startswith("## ing2gw dry run against `cluster/emulator`")
    assert "| would create | HTTPRoute shop/storefront-shop-example-com | Ingress shop/storefront |" in md.stdout
    js = json.loads(ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig), "-o", "json"]).stdout)
    assert js["summary"]["create"] == len(js["objects"]) and js["summary"]["preflight_failed"] == 0


def test_features_used() -> None:
    route = {"apiVersion": GW, "kind": "HTTPRoute", "spec": {"parentRefs": [{"name": "g", "port": 80}], "rules": [
        {"name": "r", "timeouts": {"request": "1s"},
         "matches": [{"method": "GET", "queryParams": [{"name": "a", "value": "b"}]}],
         "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "x"}},
                     {"type": "RequestMirror", "requestMirror": {"percent": 5}},
                     {"type": "RequestMirror", "requestMirror": {}},
                     {"type": "RequestRedirect", "requestRedirect": {"statusCode": 307, "port": 8443}}],
         "backendRefs": [{"name": "s", "filters": [{"type": "RequestHeaderModifier"}]}]}]}}
    assert features_used(route) == {
        "HTTPRoute", "HTTPRouteParentRefPort", "HTTPRouteNamedRouteRule", "HTTPRouteRequestTimeout",
        "HTTPRouteMethodMatching", "HTTPRouteQueryParamMatching", "HTTPRouteHostRewrite", "HTTPRouteRequestMirror",
        "HTTPRouteRequestPercentageMirror", "HTTPRouteRequestMultipleMirrors", "HTTPRoute307RedirectStatusCode",
        "HTTPRoutePortRedirect", "HTTPRouteBackendRequestHeaderModification",
    }
    assert features_used({"kind": "ReferenceGrant", "spec": {}}) == {"ReferenceGrant"}


def test_field_changes_ignore_server_bookkeeping() -> None:
    live = {"kind": "HTTPRoute", "metadata": {"name": "a", "resourceVersion": "1", "uid": "u", "managedFields": [1]},
            "spec": {"hostnames": ["a", "b"]}, "status": {"parents": []}}
    new = {"kind": "HTTPRoute", "metadata": {"name": "a", "resourceVersion": "2", "uid": "u"},
           "spec": {"hostnames": ["a", "c"], "rules": []}}
    changes = field_changes(live, new)
    assert [(c.path, c.change, c.old, c.new) for c in changes] == [
        ("spec.hostnames[1]", "changed", "b", "c"), ("spec.rules", "added", None, [])]
    assert field_changes(live, {**live, "metadata": {"name": "a"}, "status": {}}) == ()


def test_documented_dry_run_role_covers_every_request(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    from test_cluster import _allowed, _rules

    rules = _rules("ing2gw-dry-run") + _rules("ing2gw-reader")
    assert ing2gw(["dry-run", "-A", "--kubeconfig", str(kubeconfig)]).exit_code == 0
    # Discovery (/api/v1, /apis/<group>/<version>) is open to every authenticated user.
    discovery = {"/api/v1"} | {r.path for r in emulator.requests if r.path.count("/") == 3 and
                               r.path.startswith("/apis/")}
    api_calls = [r for r in emulator.requests if r.path not in discovery]
    denied = [(r.method, r.path) for r in api_calls if not _allowed(rules, r.path, r.method)]
    assert api_calls and denied == []
