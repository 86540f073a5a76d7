"""haproxy-ingress's own test expectations (``docs/upstream/haproxy-ingress``) as tests of the
provider's path kinds and of the model's lookup, and the docs' path-type table replayed
through the model and through real haproxy serving the configuration the controller would
write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from haproxy_support import compare, haproxy_process, resources, with_services
from support import SHARED

from ing2gw.http import Request
from ing2gw.providers._haproxy.model import Entry
from ing2gw.providers._haproxy.policy import HaproxyPolicy
from ing2gw.providers._haproxy.process import HaproxyProcess
from ing2gw.providers.haproxy_ingress import PROVIDER
from ing2gw.providers.haproxy_ingress.lookup import IngressLookup, path_matches
from ing2gw.providers.haproxy_ingress.provider import path_kind
from ing2gw.resources import IngressBackend, IngressPath

PLANE = PROVIDER.data_plane
UPSTREAM = SHARED / "docs" / "upstream" / "haproxy-ingress"
UNIT = json.loads((UPSTREAM / "unit-cases.json").read_text())
CASES = json.loads((UPSTREAM / "cases.json").read_text())
DOC_TABLE = json.loads((UPSTREAM / "path-type-doc-examples.json").read_text())
# Two cells of the docs table contradict the rules stated next to it (README "Doubts").
DOUBTFUL = {("begin", "/app/"), ("regex", "/app25xx/sub")}


@pytest.fixture(scope="module")
def process() -> Iterator[HaproxyProcess]:
    yield from haproxy_process()


PATH_TYPE = [c for c in UNIT if c["function"].startswith("path type")]


@pytest.mark.parametrize("case", PATH_TYPE, ids=[c["name"] for c in PATH_TYPE])
def test_spec_path_type_wins_over_the_annotation(case: dict[str, Any]) -> None:
    annotation = case["input"]["annotation ingress.kubernetes.io/path-type"]
    ing = resources(with_services([{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "i", "annotations": {"ingress.kubernetes.io/path-type": annotation} if annotation else {}},
        "spec": {"rules": [{"host": "a.test", "http": {"paths": [{
            "path": "/a", **({"pathType": case["input"]["pathType"]} if case["input"]["pathType"] else {}),
            "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]},
    }])).ingresses[0]
    assert PLANE.flavour.match(ing, ing.rules[0].paths[0], HaproxyPolicy()) == case["expected"]["match"]


def _entry(host: str, path: str, match: str, order: int) -> Entry:
    return Entry(f"ns/{order}", host, path, match, f"ns/s{order}:80", HaproxyPolicy(), False, order)


OVERLAP = [c for c in UNIT if c["function"] == "TestOverlap" and not any("headers" in d for d in c["input"]["data"])]


def _file_order(expected: str) -> list[tuple[str, str, str]]:
    """(host, path, match) in the order the controller's map files list them."""
    out = []
    for line in expected.splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("hosts__"):
            host = parts[0].strip("^$").replace("\\.", ".")
            out.append((host, parts[1], parts[2]))
    return out


@pytest.mark.parametrize("case", OVERLAP, ids=[c["name"] for c in OVERLAP])
def test_longer_overlapping_paths_win_as_in_the_controller_map_order(case: dict[str, Any]) -> None:
    data = case["input"]["data"]
    entries = [_entry(d["hostname"], d["path"], d["match"], i) for i, d in enumerate(data)]
    lookup = IngressLookup(entries)
    order = _file_order(case["expected"]["expected"])
    assert sorted(order) == sorted((d["hostname"], d["path"], d["match"]) for d in data)
    probes = {(e.host, p) for e in entries if e.match != "regex" for p in (e.path, e.path + "/x", e.path + "x")}
    for host, path in sorted(probes):
        expected = next((o for o in order if o[0] == host and path_matches(
            _entry(o[0], o[1], o[2], 0), path)), None)
        found = lookup.find(host, path)
        got = None if found is None else (found.host, found.path, found.match)
        assert got == expected, (host, path)


DOC_ROWS = [(row["path_type"], row["ingress_paths"], request, request in row["matching"])
            for row in DOC_TABLE for request in row["matching"] + row["not_matching"]
            if (row["path_type"], request) not in DOUBTFUL]


def _doc_manifests(path_type: str, paths: list[str]) -> list[dict[str, Any]]:
    return with_services([{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "docs", "annotations": {"haproxy-ingress.github.io/path-type": path_type}},
        "spec": {"rules": [{"host": "docs.test", "http": {"paths": [
            {"path": p, "pathType": "ImplementationSpecific", "backend": {"service": {"name": "app", "port": {
                "number": 80}}}} for p in paths]}}]},
    }])


@pytest.mark.parametrize(("path_type", "paths", "request_path", "matches"), DOC_ROWS,
                         ids=[f"{r[0]}-{','.join(r[1])}-{r[2]}" for r in DOC_ROWS])
def test_docs_path_type_table(path_type: str, paths: list[str], request_path: str, matches: bool,
                              process: HaproxyProcess) -> None:
    rs = resources(_doc_manifests(path_type, paths))
    out = PLANE.model(rs).route(Request.build(host="docs.test", path=request_path))
    assert (out.backend == "default/app:80") is matches
    process.load(*PLANE.configuration(rs))
    _, got, problems = compare(PLANE, rs, process, Request.build(host="docs.test", path=request_path))
    assert not problems, problems
    assert (got.backend == "default/app:80") is matches


def _frontend(case: dict[str, Any]) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    for a in case["expected"]["assertions"]:
        if a["what"].startswith(("frontend", "the default host")):
            parsed = a["parsed"]
            hosts += parsed if isinstance(parsed, list) else [parsed]
    return hosts


def _names_unique(case: dict[str, Any]) -> bool:
    names = [(m["metadata"]["namespace"], m["metadata"]["name"]) for m in case["input"] if m["kind"] == "Ingress"]
    return len(names) == len(set(names))


# Two Go tests declare two Ingresses of the same name, which no cluster or file set can hold.
ROUTED = [c for c in CASES if _frontend(c) and _names_unique(c)]


@pytest.mark.parametrize("case", ROUTED, ids=[c["name"] for c in ROUTED])
def test_converter_cases_route_to_the_asserted_backend(case: dict[str, Any]) -> None:
    # the Go test spells the default host "<default>" in a rule; in a real Ingress that is no host
    docs = json.loads(json.dumps([m for m in case["input"] if m["kind"] in ("Service", "Ingress")])
                      .replace('"host": "<default>"', '"host": ""'))
    model = PLANE.model(resources(docs))  # the fixture has its own Services
    for host in _frontend(case):
        name = "unknown.ing2gw.invalid" if host["hostname"] == "<default>" else host["hostname"]
        for p in host["paths"]:
            headers = {h["name"]: h["value"] for h in p.get("headers", [])}
            scheme = "https" if host.get("tls") else "http"  # plain HTTP of a TLS host is redirected
            out = model.route(Request.build(host=name, path=p["path"], headers=headers, scheme=scheme))
            expected = p["backend"]
            if p["path"] == "/" and host.get("rootredirect"):
                assert out.redirect is not None and out.redirect.location == host["rootredirect"], (name, p)
                continue
            if expected.startswith("system_default_") and out.backend != "system/default:8080":
                assert out.status == 404, (name, p)  # the controller's own default backend
                continue
            assert out.backend is not None, (name, p)
            ns, _, rest = out.backend.partition("/")
            assert expected.startswith(f"{ns}_{rest.partition(':')[0]}_"), (name, p, out.backend)
        if not host["paths"]:
            assert model.route(Request.build(host=name, path="/")).status == 404


def test_strict_host_stops_the_wildcard_fallback() -> None:
    entries = [_entry("a.example.com", "/foo", "begin", 0), _entry("*.example.com", "/bar", "begin", 1),
               _entry("", "/", "begin", 2)]
    loose = IngressLookup(entries)
    strict = IngressLookup(entries, {"strict-host": "true"})
    assert loose.find("a.example.com", "/bar") is entries[1]
    assert loose.find("a.example.com", "/other") is entries[2]
    assert strict.find("a.example.com", "/bar") is None
    assert loose.find("x.y.example.com", "/bar") is entries[2]  # one label only


def test_kinds_of_spec_paths() -> None:
    backend = IngressBackend(service="s", port_number=80)
    assert path_kind(IngressPath("/a", "Exact", backend, "f"), "prefix") == "exact"
    assert path_kind(IngressPath("/a", "Prefix", backend, "f"), "begin") == "prefix"
    assert path_kind(IngressPath("/a", "ImplementationSpecific", backend, "f"), None) == "begin"
