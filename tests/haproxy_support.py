"""Test support for the two HAProxy providers: resource sets from manifests, one real haproxy
per test module, and the comparison of one request's model answer with haproxy's."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ing2gw.http import Request
from ing2gw.providers._haproxy.dataplane import HaproxyDataPlane
from ing2gw.providers._haproxy.process import HaproxyAnswer, HaproxyProcess, haproxy_binary
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.router.outcome import Outcome
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
            config: Mapping[str, str] | None = None) -> tuple[Outcome, HaproxyAnswer, list[str]]:
    """The model's and haproxy's answers to ``request`` (haproxy must already serve ``rs``),
    and what they disagree on: status, backend, redirect location, the path, Host and set
    headers the backend got, and the response headers the configuration adds."""
    model = plane.model(rs, config)
    request = Request.build(host=request.host, path=request.target, method=request.method, scheme=request.scheme,
                            headers=request.headers, client="127.0.0.1")
    out = model.route(request)
    https = request.scheme == "https"
    if https and process.https_port is None:
        pytest.skip("openssl is not installed: no HTTPS listener")
    headers = {k: v for k, v in request.headers.as_dict().items()}
    got = process.send(request.method, request.host, request.target, headers, https=https)
    problems: list[str] = []
    if out.status != got.status:
        problems.append(f"status: model {out.status}, haproxy {got.status}")
    if out.backend != got.backend:
        problems.append(f"backend: model {out.backend}, haproxy {got.backend}")
    if out.redirect is not None and out.redirect.location != got.headers.get("location"):
        problems.append(f"location: model {out.redirect.location}, haproxy {got.headers.get('location')}")
    if out.upstream is not None and got.upstream is not None:
        if out.upstream.path != got.upstream["target"]:
            problems.append(f"upstream path: model {out.upstream.path}, haproxy {got.upstream['target']}")
        if out.upstream.host != got.upstream["headers"].get("host"):
            problems.append(f"upstream host: model {out.upstream.host}, haproxy {got.upstream['headers'].get('host')}")
        for name in out.upstream.headers:
            value = out.upstream.headers.get(name)
            if name.lower() != "host" and got.upstream["headers"].get(name.lower()) != value:
                problems.append(f"upstream {name}: model {value}, haproxy {got.upstream['headers'].get(name.lower())}")
    for name in out.response_headers:
        if got.headers.get(name.lower()) != out.response_headers.get(name):
            problems.append(f"response {name}: model {out.response_headers.get(name)}, "
                            f"haproxy {got.headers.get(name.lower())}")
    return out, got, problems
