"""Provider discovery: built-ins, entry points, broken plugins, collisions, blocking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ing2gw.errors import PluginError
from ing2gw.plugins import discover
from ing2gw.provider import API_VERSION, AnnotationTable


@dataclass
class FakeDist:
    name: str
    version: str = "1.0"


class FakeEP:
    def __init__(self, name: str, target: Any, dist: str = "ing2gw-fake") -> None:
        self.name = name
        self._target = target
        self.dist = FakeDist(dist)

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


class GoodProvider:
    name = "haproxy"
    api_version = API_VERSION
    controllers = ("haproxy.org/ingress-controller",)
    class_names = ("haproxy",)
    annotations = AnnotationTable("haproxy.org", "HAPROXY", [])
    description = "test"

    def to_ir(self, ingresses: Any, ctx: Any) -> Any:
        raise AssertionError("not called")


class OldProvider(GoodProvider):
    name = "old"
    api_version = 0


def test_builtins_and_third_party() -> None:
    reg = discover(entry_points=[FakeEP("haproxy", GoodProvider())])
    assert reg.names() == ["haproxy", "ingress-nginx"]
    assert reg.for_controller("haproxy.org/ingress-controller").name == "haproxy"
    assert reg.for_controller("k8s.io/ingress-nginx").name == "ingress-nginx"
    assert reg.for_class_name("nginx").name == "ingress-nginx"
    assert reg.for_annotations(["nginx.ingress.kubernetes.io/rewrite-target"]).name == "ingress-nginx"
    assert reg.entries["haproxy"].distribution == "ing2gw-fake"


def test_broken_plugins_are_reported_not_fatal() -> None:
    reg = discover(entry_points=[
        FakeEP("boom", ImportError("no module named boom")),
        FakeEP("old", OldProvider()),
        FakeEP("half", object()),
        FakeEP("ingress-nginx", GoodProvider(), dist="evil"),
    ])
    assert reg.get("ingress-nginx").name == "ingress-nginx"  # the built-in wins
    notes = {n.subject: n.message for n in reg.load_notes()}
    assert "collides with the built-in" in notes["plugin ingress-nginx"]
    assert "ImportError" in notes["plugin boom"]
    assert "provider API 0" in notes["plugin old"]
    assert "missing" in notes["plugin half"]
    with pytest.raises(PluginError, match="failed to load"):
        reg.get("boom")


def test_disable_and_unknown() -> None:
    reg = discover(disabled=["ingress-nginx"], entry_points=[])
    assert reg.names() == []
    with pytest.raises(PluginError, match="no provider named"):
        reg.get("ingress-nginx")


def test_providers_command(ing2gw) -> None:
    r = ing2gw(["providers"])
    assert r.exit_code == 0 and "ingress-nginx" in r.stdout and "k8s.io/ingress-nginx" in r.stdout
    r = ing2gw(["providers", "ingress-nginx", "-o", "json"])
    import json

    model = json.loads(r.stdout)
    assert len(model["annotations"]) == 138
    assert sum(model["counts"].values()) == 138
    r = ing2gw(["providers", "ingress-nginx", "-o", "markdown"])
    assert r.stdout.count("\n| `nginx.ingress.kubernetes.io/") == 138
    assert ing2gw(["providers", "nope"]).exit_code == 5


def test_provider_doc_is_generated_from_the_table(ing2gw) -> None:
    """docs/ingress-nginx.md is `ing2gw providers ingress-nginx -o markdown`, never edited by hand."""
    from support import ROOT

    r = ing2gw(["providers", "ingress-nginx", "-o", "markdown"])
    assert (ROOT / "docs" / "ingress-nginx.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers ingress-nginx -o markdown > docs/ingress-nginx.md")
