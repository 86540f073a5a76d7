"""Topology against the API emulator: existing Gateways read from the cluster (``--gateway``
without ``--gateway-file``), and named ports looked up read-only (``--lookup-services``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_emulator import Emulator
from support import SHARED, TESTDATA

pytestmark = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")

EXISTING = TESTDATA / "convert" / "topology" / "existing-gateway-complete"
NAMED = TESTDATA / "convert" / "named-ports" / "input.yaml"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(channel="standard") as em:
        yield em


def test_gateway_read_from_the_cluster_is_the_gateway_file(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    emulator.add(*_docs(EXISTING / "input.yaml"), *_docs(EXISTING / "gateway.yaml"))
    config = emulator.kubeconfig(tmp_path / "config")
    from_cluster = ing2gw(["convert", "-A", "--kubeconfig", str(config), "--gateway", "infra/public",
                           "--fail-on", "never"])
    assert from_cluster.exit_code == 0, from_cluster.stderr
    assert from_cluster.stdout == (EXISTING / "expected.yaml").read_text()
    assert "EMIT-EXISTING-ROUTES-NOT-ALLOWED: Gateway infra/public: listener web" in from_cluster.stderr
    assert emulator.requests and all(r.method == "GET" for r in emulator.requests)
    assert any(r.path == "/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/public"
               for r in emulator.requests)


def test_missing_gateway_in_the_cluster_is_one_line(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    emulator.add(*_docs(EXISTING / "input.yaml"))
    config = emulator.kubeconfig(tmp_path / "config")
    r = ing2gw(["convert", "-A", "--kubeconfig", str(config), "--gateway", "infra/nope"])
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.strip() == ("Error: cluster/emulator: Gateway infra/nope (--gateway) is not there "
                                "(Gateways found: none)")


def test_forbidden_listenersets_are_a_warning(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    emulator.add(*_docs(EXISTING / "input.yaml"), *_docs(EXISTING / "gateway.yaml"))
    emulator.forbid("list", "listenersets")
    config = emulator.kubeconfig(tmp_path / "config")
    r = ing2gw(["convert", "-A", "--kubeconfig", str(config), "--gateway", "infra/public", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    assert "warning: CLUSTER-OPTIONAL-UNREADABLE: cluster/emulator: cannot read ListenerSets (403" in r.stderr


def test_named_port_looked_up_in_the_cluster(ing2gw, emulator: Emulator, tmp_path: Path) -> None:
    emulator.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other", "namespace": "default"},
                  "spec": {"ports": [{"name": "http", "port": 8081}]}})
    config = emulator.kubeconfig(tmp_path / "config")
    without = ing2gw(["convert", "-f", str(NAMED), "--fail-on", "never"])
    assert "NGINX-BACKEND-NAMED-PORT-UNRESOLVED" in without.stderr
    assert f"Service is not in the input ({NAMED}:11)" in without.stderr and "--lookup-services" in without.stderr
    looked = ing2gw(["convert", "-f", str(NAMED), "--lookup-services", "--kubeconfig", str(config),
                     "--fail-on", "never"])
    assert looked.exit_code == 0, looked.stderr
    assert "NAMED-PORT-UNRESOLVED" not in looked.stderr
    routes = [d for d in yaml.safe_load_all(looked.stdout) if d["kind"] == "HTTPRoute"]
    backends = [b for d in routes for rule in d["spec"]["rules"] for b in rule.get("backendRefs", [])]
    assert {"name": "other", "port": 8081} in [{k: b[k] for k in ("name", "port")} for b in backends]
    # one read-only GET, for exactly the Service the files lack
    assert [r.path for r in emulator.requests if r.method == "GET" and "/services" in r.path] == [
        "/api/v1/namespaces/default/services/other"]
    assert all(r.method == "GET" for r in emulator.requests)
