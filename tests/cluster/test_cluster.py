"""Cluster mode: reading Ingresses through the real ``kubernetes`` client from the API emulator."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import support
import yaml
from kube_emulator import Emulator
from support import SHARED, TESTDATA

from ing2gw import kube
from ing2gw.errors import ClusterError

pytestmark = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")

SHOP = TESTDATA / "examples" / "shop.yaml"


def _shop_objects() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(SHOP.read_text(encoding="utf-8")) if d]


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _ingress(ns: str, name: str, host: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
    }


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as em:
        em.add(*_shop_objects(), _ns("shop"), _ns("marketing"))
        yield em


@pytest.fixture
def kubeconfig(emulator: Emulator, tmp_path: Path) -> Path:
    return emulator.kubeconfig(tmp_path / "config")


def test_convert_from_cluster_matches_convert_from_files(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    from_files = ing2gw(["convert", "-f", str(SHOP)])
    from_cluster = ing2gw(["convert", "-A", "--kubeconfig", str(kubeconfig)])
    assert from_files.exit_code == 0, from_files.stderr
    assert from_cluster.exit_code == 0, from_cluster.stderr
    assert "kind: HTTPRoute" in from_cluster.stdout
    assert from_cluster.stdout == from_files.stdout
    # Reads only, and never a Secret.
    assert emulator.requests and all(r.method == "GET" for r in emulator.requests)
    assert not any("/secrets" in r.path for r in emulator.requests)
    assert all(r.authorized for r in emulator.requests)


def test_origins_name_the_context_and_object(emulator: Emulator, kubeconfig: Path) -> None:
    cluster = kube.connect(str(kubeconfig))
    read = kube.read_documents(cluster, None)
    origins = {d.origin for d in read.documents}
    assert "cluster/emulator:Ingress/shop/storefront" in origins
    assert "cluster/emulator:IngressClass/nginx" in origins
    assert "cluster/emulator:Namespace/marketing" in origins
    ingress = next(d for d in read.documents if d.origin.endswith("Ingress/shop/storefront"))
    # List items come without kind/apiVersion from the API server; they are filled in.
    assert ingress.obj["kind"] == "Ingress" and ingress.obj["apiVersion"] == "networking.k8s.io/v1"


def test_namespace_defaults_to_the_context_namespace(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    config = emulator.kubeconfig(tmp_path / "config", namespace="marketing")
    result = ing2gw(["convert", "--kubeconfig", str(config)])
    assert result.exit_code == 0, result.stderr
    assert "ing2gw.io/source: Ingress marketing/blog" in result.stdout
    assert "Ingress shop/" not in result.stdout
    assert any(r.path == "/apis/networking.k8s.io/v1/namespaces/marketing/ingresses" for r in emulator.requests)
    other = ing2gw(["convert", "--kubeconfig", str(config), "-n", "shop"])
    assert "Ingress shop/storefront" in other.stdout and "Ingress marketing/" not in other.stdout
    both = ing2gw(["convert", "--kubeconfig", str(config), "-A"])
    assert "Ingress shop/storefront" in both.stdout and "Ingress marketing/blog" in both.stdout


def test_label_selector_is_sent_to_the_server(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    emulator.add(_ingress("shop", "a", "a.example.com", {"team": "a"}),
                 _ingress("shop", "b", "b.example.com", {"team": "b"}))
    result = ing2gw(["convert", "--kubeconfig", str(kubeconfig), "-n", "shop", "-l", "team=a"])
    assert result.exit_code == 0, result.stderr
    assert "a.example.com" in result.stdout and "b.example.com" not in result.stdout
    lists = [r for r in emulator.requests if r.path.endswith("/ingresses")]
    assert lists and all(r.query.get("labelSelector") == "team=a" for r in lists)


def test_large_lists_are_paged(emulator: Emulator, kubeconfig: Path) -> None:
    emulator.add(*(_ingress("bulk", f"ing-{i:04d}", f"h{i}.example.com") for i in range(1200)))
    cluster = kube.connect(str(kubeconfig))
    pages: list[int] = []
    read = kube.read_documents(cluster, "bulk", progress=lambda plural, n: pages.append(n)
                               if plural == "ingresses" else None)
    ingresses = [d for d in read.documents if d.obj["kind"] == "Ingress"]
    assert len(ingresses) == 1200
    assert len({d.origin for d in ingresses}) == 1200
    calls = [r for r in emulator.requests if r.path.endswith("/ingresses")]
    assert [r.query.get("limit") for r in calls] == ["500", "500", "500"]
    assert "continue" not in calls[0].query and all("continue" in r.query for r in calls[1:])
    assert pages == [500, 1000, 1200]


def test_progress_only_on_a_terminal(ing2gw, emulator: Emulator, kubeconfig: Path, monkeypatch) -> None:
    result = ing2gw(["convert", "-A", "--kubeconfig", str(kubeconfig)])
    assert "reading cluster/" not in result.stderr

    from ing2gw.cli.common import load_resources

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rs = load_resources([], False, None, True, None, cluster=kube.connect(str(kubeconfig)))
    assert len(rs.ingresses) == 2
    assert terminal.getvalue().startswith("\rreading cluster/emulator: 2 ingresses")
    assert terminal.getvalue().endswith("\n")


def test_expired_credentials_exit_4_with_one_line(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    config = emulator.kubeconfig(tmp_path / "config", token="expired")
    result = ing2gw(["convert", "-A", "--kubeconfig", str(config)])
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "cluster/emulator" in result.stderr and "401" in result.stderr and "ingresses" in result.stderr
    assert emulator.requests and not any(r.authorized for r in emulator.requests)


def test_forbidden_ingresses_is_an_error(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    emulator.forbid("list", "ingresses")
    result = ing2gw(["convert", "-A", "--kubeconfig", str(kubeconfig)])
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1
    assert "cluster/emulator: forbidden listing ingresses" in result.stderr
    assert 'cannot list resource "ingresses"' in result.stderr


@pytest.mark.parametrize("plural", ["configmaps", "namespaces", "services", "ingressclasses"])
def test_forbidden_optional_resources_degrade_to_a_warning(ing2gw, emulator: Emulator, kubeconfig: Path,
                                                           plural: str) -> None:
    emulator.add({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "data": {}})
    emulator.forbid("*", plural)
    # Without Services a named port cannot be resolved (an error note): --fail-on never.
    result = ing2gw(["convert", "-A", "--kubeconfig", str(kubeconfig), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    assert "kind: HTTPRoute" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "CLUSTER-OPTIONAL-UNREADABLE" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning:") and "forbidden" in warnings[0]


def test_unreachable_cluster(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = emulator.kubeconfig(tmp_path / "config", server=f"https://127.0.0.1:{port}")
    result = ing2gw(["convert", "-A", "--kubeconfig", str(config)])
    assert result.exit_code == 4
    assert result.stderr.count("\n") == 1
    assert f"cluster/emulator: cannot reach the API server at https://127.0.0.1:{port}" in result.stderr


def test_missing_kubeconfig_and_context(ing2gw, kubeconfig: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    missing = ing2gw(["convert", "--kubeconfig", str(tmp_path / "nope")])
    assert missing.exit_code == 4 and "kubeconfig file not found" in missing.stderr
    bad_context = ing2gw(["convert", "--kubeconfig", str(kubeconfig), "--context", "prod"])
    assert bad_context.exit_code == 4 and "context 'prod' not found" in bad_context.stderr
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("HOME", str(tmp_path))
    nothing = ing2gw(["convert"])
    assert nothing.exit_code == 4 and "no kubeconfig found" in nothing.stderr and "-f FILE" in nothing.stderr


def test_kubeconfig_env_is_a_merge_list(emulator: Emulator, tmp_path: Path, monkeypatch) -> None:
    full = yaml.safe_load(emulator.kubeconfig(tmp_path / "full").read_text())
    # One file has the cluster and the user, another the context and the current context.
    (tmp_path / "a").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                                                "clusters": full["clusters"], "users": full["users"]}))
    ctx = {"name": "team", "context": {"cluster": "emulator", "user": "emulator-user", "namespace": "shop"}}
    (tmp_path / "b").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": [ctx],
                                                "current-context": "team"}))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'missing'}:{tmp_path / 'b'}")
    cluster = kube.connect()
    assert (cluster.context, cluster.namespace, cluster.label) == ("team", "shop", "cluster/team")
    docs = kube.read_documents(cluster, cluster.namespace).documents
    assert {d.origin for d in docs if d.obj["kind"] == "Ingress"} == {"cluster/team:Ingress/shop/storefront"}


def test_in_cluster_service_account_fallback(emulator: Emulator, tmp_path: Path, monkeypatch) -> None:
    import kubernetes.config.incluster_config as incluster

    (tmp_path / "token").write_text(emulator.token)
    (tmp_path / "ca.crt").write_text(Path(emulator.ca_file).read_text())
    (tmp_path / "namespace").write_text("marketing")
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
    monkeypatch.setattr(kube, "SERVICE_ACCOUNT_NAMESPACE", str(tmp_path / "namespace"))
    port = emulator.url.rsplit(":", 1)[1]
    env = {"KUBECONFIG": str(tmp_path / "none"), "KUBERNETES_SERVICE_HOST": "127.0.0.1",
           "KUBERNETES_SERVICE_PORT": port}
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    cluster = kube.connect(env=env)
    assert (cluster.label, cluster.namespace) == ("cluster/in-cluster", "marketing")
    docs = kube.read_documents(cluster, cluster.namespace).documents
    assert [d.origin for d in docs if d.obj["kind"] == "Ingress"] == ["cluster/in-cluster:Ingress/marketing/blog"]


def test_controller_configmap_is_read_when_found(emulator: Emulator, kubeconfig: Path) -> None:
    emulator.add({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
                  "data": {"ssl-redirect": "false"}})
    from ing2gw.resources import build_resource_set

    cluster = kube.connect(str(kubeconfig))
    rs = build_resource_set(kube.read_documents(cluster, "shop").documents, namespace="shop")
    assert rs.config_maps[("ingress-nginx", "ingress-nginx-controller")] == {"ssl-redirect": "false"}
    assert not any("/secrets" in r.path for r in emulator.requests)


def test_stream_services_configmaps_are_read_and_converted(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    for name, data in (("tcp-services", {"9000": "shop/db:5432"}), ("ingress-nginx-udp", {"53": "shop/dns:53"})):
        emulator.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ingress-nginx"},
                      "data": data})
    for name, port, protocol in (("db", 5432, "TCP"), ("dns", 53, "UDP")):
        emulator.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
                      "spec": {"ports": [{"port": port, "protocol": protocol}]}})
    result = ing2gw(["convert", "-A", "--kubeconfig", str(kubeconfig), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("TCPRoute", "UDPRoute")} == {
        ("TCPRoute", "db-tcp-9000"), ("UDPRoute", "dns-udp-53")}
    gets = [r.path for r in emulator.requests if r.path.startswith("/api/v1/namespaces/ingress-nginx/configmaps/")]
    assert [p.rsplit("/", 1)[1] for p in gets][-3:] == ["tcp-services", "udp-services", "ingress-nginx-udp"]


def test_missing_ingress_api_is_a_cluster_error(emulator: Emulator, kubeconfig: Path) -> None:
    cluster = kube.connect(str(kubeconfig))
    emulator._res.pop("networking.k8s.io/v1")  # an API server without networking.k8s.io/v1
    with pytest.raises(ClusterError, match="does not serve networking.k8s.io/v1 Ingress"):
        kube.read_documents(cluster, None)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_drives_the_emulator(emulator: Emulator, kubeconfig: Path) -> None:
    emulator.add(*(_ingress("bulk", f"ing-{i:04d}", f"h{i}.example.com") for i in range(1200)))
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "ingress", "-A", "-o", "json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)["items"]
    assert len(items) == 1202
    pages = [r for r in emulator.requests if r.path == "/apis/networking.k8s.io/v1/ingresses"]
    assert len(pages) == 3 and all(r.query["limit"] == "500" for r in pages)
    missing = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "httproute", "nope", "-n", "shop"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and 'httproutes.gateway.networking.k8s.io "nope" not found' in missing.stderr


def _rules(role_name: str) -> list[dict[str, Any]]:
    text = (support.ROOT / "docs" / "cluster.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    roles = [yaml.safe_load(b) for b in blocks]
    return next(r["rules"] for r in roles if r["metadata"]["name"] == role_name)


def _allowed(rules: list[dict[str, Any]], path: str, method: str) -> bool:
    parts = path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if not rest:
        return method == "GET"  # API discovery: every authenticated user may (system:discovery)
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
    verb = {"GET": "get" if name else "list", "PATCH": "patch"}[method]
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"]
               and (name in r["resourceNames"] if "resourceNames" in r else True) for r in rules)


def test_documented_read_only_role_covers_every_request(ing2gw, emulator: Emulator, kubeconfig: Path) -> None:
    rules = _rules("ing2gw-reader")
    assert all(set(r["verbs"]) <= {"get", "list"} for r in rules)
    for args in (["-A"], ["-n", "shop"]):
        emulator.requests.clear()
        assert ing2gw(["convert", "--kubeconfig", str(kubeconfig), *args]).exit_code == 0
        denied = [r.path for r in emulator.requests if not _allowed(rules, r.path, r.method)]
        assert emulator.requests and denied == []
