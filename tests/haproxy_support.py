"""Test support for the two HAProxy providers: resource sets from manifests, one real haproxy
per test module, and the comparison of one request's model answer with haproxy's."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ing2gw.http import Request
from ing2gw.providers._haproxy.dataplane import HaproxyDataPlane
from ing2gw.providers._haproxy.model import HaproxyModel
from ing2gw.providers._haproxy.oracle import disagreement
from ing2gw.providers._haproxy.process import HaproxyAnswer, HaproxyProcess, haproxy_binary
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

__all__ = ["compare", "haproxy_process", "resources", "with_services"]


def with_services(manifests: list[dict[str, Any]], namespace: str = "default") -> list[dict[str, Any]]:
    """The manifests plus a Service (port ``http`` = 80, ``8080`` = 8080) for every backend
    they name that has none (the upstream fixtures leave their echo Services out)."""
    docs = json.loads(json.dumps(manifests))
    have = {(m["metadata"].get("namespace", namespace), m["metadata"]["name"]) for m in docs if m["kind"] == "Service"}
    wanted: set[tuple[str, str]] = set()
    for m in docs:
        m["metadata"].setdefault("namespace", namespace)
        if m["kind"] != "Ingress":
            continue
        ns = m["metadata"]["namespace"]
        backends = [p["backend"] for r in m["spec"].get("rules", []) for p in (r.get("http") or {}).get("paths", [])]
        if m["spec"].get("defaultBackend"):
            backends.append(m["spec"]["defaultBackend"])
        wanted |= {(ns, b["service"]["name"]) for b in backends if "service" in b}
    for ns, name in sorted(wanted - have):
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                     "spec": {"ports": [{"name": "http", "port": 80}, {"name": "alt", "port": 8080}]}})
    return docs


def resources(manifests: list[dict[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(m, f"<test>:{i + 1}") for i, m in enumerate(manifests)])


def haproxy_process() -> Iterator[HaproxyProcess]:
    """One haproxy for a test module (a generator for a module-scoped fixture)."""
    if haproxy_binary() is None:
        pytest.skip("haproxy is not installed (Debian package haproxy)")
    process = HaproxyProcess()
    try:
        yield process
    finally:
        process.stop()


def compare(plane: HaproxyDataPlane, rs: ResourceSet, process: HaproxyProcess, request: Request,
            config: Mapping[str, str] | None = None) -> tuple[HaproxyModel, HaproxyAnswer, list[str]]:
    """The model, haproxy's answer to ``request`` (haproxy must already serve ``rs``) and what
    the model and haproxy disagree on."""
    if request.scheme == "https" and process.https_port is None:
        pytest.skip("openssl is not installed: no HTTPS listener")
    model = plane.model(rs, config)
    problems, got = disagreement(model, process, request)
    return model, got, problems
