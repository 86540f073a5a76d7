"""The cluster reader lists the kinds providers claim: through discovery, paged, selected,
"none" when the CRD is not installed, an error when forbidden; never Secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_emulator import Emulator
from support import SHARED

from ing2gw import kube
from ing2gw.errors import ClusterError
from ing2gw.resources import APIKind, build_resource_set

pytestmark = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")

TOY = APIKind("example.com", "v1", "ToyRoute")
TOY_CLASS = APIKind("example.com", "v1", "ToyClass", namespaced=False, selectable=False)


def _toy(ns: str, name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "ToyRoute",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"port": 9000, "protocol": "TCP", "backend": {"name": "db", "port": 5432}}}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as em:
        yield em


@pytest.fixture
def cluster(emulator: Emulator, tmp_path: Path) -> kube.Cluster:
    return kube.connect(str(emulator.kubeconfig(tmp_path / "config")))


def test_claimed_kinds_are_listed_paged_and_kept(emulator: Emulator, cluster: kube.Cluster) -> None:
    emulator.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    emulator.install_crd("example.com/v1", "ToyClass", "toyclasses", namespaced=False)
    emulator.add(*(_toy("apps", f"t{i:03d}") for i in range(7)), _toy("other", "x"),
                 {"apiVersion": "example.com/v1", "kind": "ToyClass", "metadata": {"name": "fast"}})
    read = kube.read_documents(cluster, "apps", kinds=[TOY, TOY_CLASS], page_size=3)
    toys = [d for d in read.documents if d.obj["kind"] == "ToyRoute"]
    assert toys[0].origin == "cluster/emulator:ToyRoute/apps/t000"
    assert len(toys) == 7 and all(d.obj["apiVersion"] == "example.com/v1" for d in toys)
    calls = [r for r in emulator.requests if r.path == "/apis/example.com/v1/namespaces/apps/toyroutes"]
    assert [r.query.get("limit") for r in calls] == ["3", "3", "3"]
    # A cluster-scoped claimed kind is listed cluster-wide.
    assert any(r.path == "/apis/example.com/v1/toyclasses" for r in emulator.requests)
    rs = build_resource_set(read.documents, namespace="apps", kinds=[TOY, TOY_CLASS])
    assert [o.name for o in rs.objects[TOY]] == [f"t{i:03d}" for i in range(7)]
    assert [o.ref for o in rs.objects[TOY_CLASS]] == ["fast"]
    assert not any("/secrets" in r.path for r in emulator.requests)
    assert all(r.method == "GET" for r in emulator.requests)


def test_selector_applies_to_selectable_kinds_only(emulator: Emulator, cluster: kube.Cluster) -> None:
    emulator.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    emulator.install_crd("example.com/v1", "ToyClass", "toyclasses", namespaced=False)
    emulator.add(_toy("apps", "a", team="a"), _toy("apps", "b", team="b"),
                 {"apiVersion": "example.com/v1", "kind": "ToyClass", "metadata": {"name": "fast"}})
    read = kube.read_documents(cluster, None, selector="team=a", kinds=[TOY, TOY_CLASS])
    names = sorted(d.obj["metadata"]["name"] for d in read.documents if d.obj["kind"] in ("ToyRoute", "ToyClass"))
    assert names == ["a", "fast"]


def test_a_missing_crd_means_none_of_that_kind(emulator: Emulator, cluster: kube.Cluster) -> None:
    read = kube.read_documents(cluster, None, kinds=[TOY])
    assert not [d for d in read.documents if d.obj["kind"] == "ToyRoute"]
    (note,) = [n for n in read.notes if n.code == "CLUSTER-KIND-NOT-INSTALLED"]
    assert "example.com/v1 ToyRoute" in note.message and note.level.name == "INFO"


def test_a_forbidden_claimed_kind_is_an_error(emulator: Emulator, cluster: kube.Cluster) -> None:
    emulator.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    emulator.forbid("list", "toyroutes")
    with pytest.raises(ClusterError) as err:
        kube.read_documents(cluster, "apps", kinds=[TOY])
    text = str(err.value)
    assert "\n" not in text
    assert text == ("cluster/emulator: forbidden listing toyroutes (example.com/v1) in namespace apps, which an "
                    "installed provider reads: grant get/list on toyroutes.example.com")


def test_secrets_are_never_read_even_when_claimed(cluster: kube.Cluster, emulator: Emulator) -> None:
    with pytest.raises(ClusterError, match="never reads Secrets"):
        kube.read_documents(cluster, None, kinds=[APIKind("", "v1", "Secret")])
    assert not any("/secrets" in r.path for r in emulator.requests)
