"""The two HAProxy annotation tables: complete against the controllers' documentation, read
under every equivalent prefix, and printed into docs/providers/<name>.md."""

from __future__ import annotations

import json

import pytest
from haproxy_support import resources
from support import ROOT, SHARED

from ing2gw.notes import Notes
from ing2gw.providers._haproxy.policy import read_annotations
from ing2gw.providers.haproxy_ingress.annotations import PREFIXES as INGRESS_PREFIXES
from ing2gw.providers.haproxy_ingress.annotations import TABLE as INGRESS_TABLE
from ing2gw.providers.haproxy_tech.annotations import PREFIXES as TECH_PREFIXES
from ing2gw.providers.haproxy_tech.annotations import TABLE as TECH_TABLE


def test_haproxy_tech_table_has_every_documented_annotation() -> None:
    doc = json.loads((SHARED / "docs" / "upstream" / "haproxy-tech" / "annotations.json").read_text())
    titles = {a["title"] for a in doc["annotations"]}
    # and the one key the controller's code reads that its annotation reference leaves out
    assert titles | {"cors-respond-to-options"} == set(TECH_TABLE.specs)
    ingress_only = {a["title"] for a in doc["annotations"] if a["applies_to"] == ["configmap"]}
    assert all(TECH_TABLE.specs[t].family == "global" for t in ingress_only)


def test_haproxy_ingress_table_has_the_keys_of_every_scope_an_ingress_sets() -> None:
    wanted = {"path-type", "rewrite-target", "ssl-redirect", "app-root", "allowlist-source-range",
              "denylist-source-range", "whitelist-source-range", "auth-url", "auth-secret", "auth-realm", "cors-enable",
              "hsts", "hsts-max-age", "timeout-server", "affinity", "session-cookie-name", "backend-protocol",
              "secure-backends", "proxy-body-size", "redirect-to", "redirect-from", "headers", "balance-algorithm",
              "waf", "limit-rps", "http-header-match", "blue-green-deploy", "config-backend", "ssl-passthrough"}
    assert wanted <= set(INGRESS_TABLE.specs)
    fixtures = json.loads((SHARED / "docs" / "upstream" / "haproxy-ingress" / "cases.json").read_text())
    used = {k.split("/", 1)[1] for c in fixtures for m in c["input"] if m["kind"] == "Ingress"
            for k in (m["metadata"].get("annotations") or {})}
    assert used <= set(INGRESS_TABLE.specs)
    assert len(INGRESS_TABLE) == 164 + 96  # Ingress scopes + Global (ConfigMap) keys


def _ingress(annotations: dict[str, str]):  # type: ignore[no-untyped-def]
    return resources([{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                       "metadata": {"name": "i", "namespace": "n", "annotations": annotations},
                       "spec": {"rules": [{"host": "a.test"}]}}]).ingresses[0]


@pytest.mark.parametrize("prefix", TECH_PREFIXES)
def test_haproxy_tech_prefixes_are_equivalent(prefix: str) -> None:
    ann = read_annotations(TECH_TABLE, _ingress({f"{prefix}/set-host": "x"}), Notes(), TECH_PREFIXES)
    assert ann.get("set-host") == "x"


def test_the_first_prefix_wins_and_unknown_keys_are_noted() -> None:
    notes = Notes()
    ing = _ingress({"haproxy.org/set-host": "org", "haproxy.com/set-host": "com",
                    "ingress.kubernetes.io/rewrite-target": "/"})
    ann = read_annotations(TECH_TABLE, ing, notes, TECH_PREFIXES)
    assert ann.get("set-host") == "org"
    assert [n.code for n in notes] == ["HAPROXY-TECH-ANNOTATION-UNKNOWN"]  # haproxy-ingress's key, not this one's
    ann = read_annotations(INGRESS_TABLE, ing, Notes(), INGRESS_PREFIXES)
    assert ann.get("rewrite-target") == "/"


@pytest.mark.parametrize("name", ["haproxy-tech", "haproxy-ingress"])
def test_provider_doc_is_generated_from_the_table(name: str, ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["providers", name, "-o", "markdown"])
    assert r.exit_code == 0
    assert (ROOT / "docs" / "providers" / f"{name}.md").read_text() == r.stdout, (
        f"regenerate: ing2gw providers {name} -o markdown > docs/providers/{name}.md")
