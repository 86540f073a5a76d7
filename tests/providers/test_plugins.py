"""Provider discovery: built-ins, entry points, broken plugins, collisions, blocking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ing2gw.errors import PluginError
from ing2gw.plugins import discover
from ing2gw.provider import API_VERSION, AnnotationTable
from ing2gw.resources import APIKind


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
    kinds: tuple[APIKind, ...] = ()
    description = "test"

    def to_ir(self, ingresses: Any, ctx: Any) -> Any:
        raise AssertionError("not called")


class OldProvider(GoodProvider):
    name = "old"
    api_version = 0


def test_builtins_and_third_party() -> None:
    reg = discover(entry_points=[FakeEP("haproxy", GoodProvider())])
    assert {"haproxy", "ingress-nginx"} <= set(reg.names())
    assert reg.get("haproxy").controllers == ("haproxy.org/ingress-controller",)
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


class LegacyProvider:
    """Written for provider API 1: no ``kinds``, ``to_ir(ingresses, ctx)``."""

    name = "legacy"
    api_version = 1
    controllers = ("example.com/legacy",)
    class_names = ("legacy",)
    annotations = AnnotationTable("legacy.example.com", "LEGACY", [])
    description = "test"

    def to_ir(self, ingresses: Any, ctx: Any) -> Any:
        from ing2gw.ir import IR

        self.seen = [i.ref for i in ingresses]
        return IR()


def test_api_version_1_providers_still_run(ing2gw, monkeypatch) -> None:
    import ing2gw.cli.convert as cli_convert
    from ing2gw import plugins

    legacy = LegacyProvider()
    monkeypatch.setattr(cli_convert, "discover",
                        lambda disabled=(): plugins.discover(disabled, entry_points=[FakeEP("legacy", legacy)]))
    doc = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a, namespace: ns}\n"
           "spec: {ingressClassName: legacy, defaultBackend: {service: {name: s, port: {number: 80}}}}\n")
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert r.exit_code == 0, r.stderr
    assert legacy.seen == ["ns/a"]


def test_kinds_must_be_declared_and_typed() -> None:
    class NoKinds(LegacyProvider):  # API 2 requires kinds
        name = "nokinds"
        api_version = 2

    reg = discover(entry_points=[FakeEP("nokinds", NoKinds())])
    assert "kinds is not a tuple" in reg.load_notes()[0].message

    class Untyped(GoodProvider):
        name = "untyped"
        kinds = (("example.com", "v1", "Toy"),)  # type: ignore[assignment]

    assert "kinds is not a tuple" in discover(entry_points=[FakeEP("untyped", Untyped())]).load_notes()[0].message

    class Secrets(GoodProvider):
        name = "secrets"
        kinds = (APIKind("", "v1", "Secret"),)

    class Services(GoodProvider):
        name = "services"
        kinds = (APIKind("", "v1", "Service"),)

    notes = {n.subject: n.message for n in discover(entry_points=[
        FakeEP("secrets", Secrets()), FakeEP("services", Services())]).load_notes()}
    assert "claims Secrets, which ing2gw never reads" in notes["plugin secrets"]
    assert "claims Service, which ing2gw reads for every provider" in notes["plugin services"]


def test_a_kind_claimed_twice_goes_to_the_first_and_is_reported() -> None:
    toy = APIKind("example.com", "v1", "Toy")

    class A(GoodProvider):
        name = "a-toys"
        kinds = (toy,)

    class B(GoodProvider):
        name = "b-toys"
        controllers = ()
        kinds = (toy,)

    reg = discover(entry_points=[FakeEP("b-toys", B()), FakeEP("a-toys", A())])
    claims = {str(k): p.name for k, p in reg.claims().items() if k.group == "example.com"}
    assert claims == {"example.com/v1 Toy": "a-toys"}
    (note,) = [n for n in reg.load_notes() if n.code == "PLUGIN-KIND-CONFLICT"]
    assert note.subject == "plugin b-toys" and "example.com/v1 Toy" in note.message


def test_disable_and_unknown() -> None:
    reg = discover(disabled=["ingress-nginx"], entry_points=[])
    assert "ingress-nginx" not in reg.names()
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


def test_traefik_doc_is_generated_from_the_table(ing2gw) -> None:
    """docs/providers/traefik.md is `ing2gw providers traefik -o markdown`, never edited by hand."""
    from support import ROOT

    r = ing2gw(["providers", "traefik", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "traefik.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers traefik -o markdown > docs/providers/traefik.md")


def test_contour_doc_is_generated_from_the_table(ing2gw) -> None:
    """docs/providers/contour.md is `ing2gw providers contour -o markdown`, never edited by hand."""
    from support import ROOT

    r = ing2gw(["providers", "contour", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "contour.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers contour -o markdown > docs/providers/contour.md")
