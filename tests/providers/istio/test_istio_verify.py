"""Istio conversions replayed: every ``testdata/verify-istio/<case>/`` converts ``input.yaml``,
replays requests through the Istio model and through the reference router over the output
(``ing2gw.verify.verify_requests``, as ``verify`` does) and compares the report with
``expected.json``; no difference may be unexplained. The requests are generated from the
VirtualServices (each match's path exactly, below it, as a character-prefix sibling and one
segment up, with and without each header and query condition, http and https; ``mesh.yaml``
names client namespaces for mesh hosts) plus ``requests.yaml`` when present (a list of
``Request.build`` arguments, ``mesh: CLIENT_NS`` making one east-west: gRPC calls, paths a
regex rewrites) -- so the
reordered and split rules are exercised where Istio's first match and Gateway API precedence
could part. ``ING2GW_UPDATE_GOLDEN=1`` rewrites the expected files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TESTDATA, assert_golden_report

from ing2gw.convert import ConvertOptions, convert
from ing2gw.http import MeshSource, Request
from ing2gw.plugins import discover
from ing2gw.providers.istio.model import IstioModel
from ing2gw.providers.istio.objects import KINDS, Index, as_map, service_host, spec_list, str_list
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.router import Router
from ing2gw.verify import verify_requests
from ing2gw.yamlio import Document

CASES = sorted(p for p in (TESTDATA / "verify-istio").iterdir() if (p / "input.yaml").exists()) \
    if (TESTDATA / "verify-istio").is_dir() else []


def _resources(path: Path) -> ResourceSet:
    docs = [Document(d, f"{path.name}:{n}") for n, d in enumerate(yaml.safe_load_all(path.read_text())) if d]
    return build_resource_set(docs, kinds=KINDS)


def _paths(vs: Any) -> set[str]:
    out = {"/", "/other"}
    for route in spec_list(vs.spec.get("http")):
        for m in spec_list(route.get("match")):
            uri = as_map(m.get("uri"))
            for key in ("exact", "prefix"):
                if key in uri:
                    v = str(uri[key])
                    stem = v.rstrip("/") or "/"
                    out |= {v, stem, stem + "/x", stem + "x", stem.rsplit("/", 1)[0] or "/"}
            if "regex" in uri:
                out.add("/" + "/".join(p for p in ("api", "v1", "legacy", "x")))
    return out


def _header_sets(vs: Any) -> list[dict[str, str]]:
    sets: list[dict[str, str]] = [{}]
    for route in spec_list(vs.spec.get("http")):
        for m in spec_list(route.get("match")):
            hs = {str(k): str(as_map(v).get("exact") or as_map(v).get("prefix") or "x")
                  for k, v in as_map(m.get("headers")).items()}
            if hs and hs not in sets:
                sets.append(hs)
    return sets


def _requests(rs: ResourceSet, case: Path) -> list[Request]:
    index = Index(rs.claimed(KINDS))
    mesh = yaml.safe_load((case / "mesh.yaml").read_text()) if (case / "mesh.yaml").exists() else {}
    out: list[Request] = []
    for vs in index.virtual_services:
        hosts = str_list(vs.spec.get("hosts"))
        gateways = str_list(vs.spec.get("gateways")) or ["mesh"]
        for path in sorted(_paths(vs)):
            for headers in _header_sets(vs):
                for host in hosts:
                    if gateways != ["mesh"]:
                        for scheme in ("http", "https"):
                            out.append(Request.build(host=host, path=path, scheme=scheme, headers=headers))
                    if "mesh" in gateways:
                        svc = service_host(host, vs.namespace)
                        for ns in mesh.get("clients", []):
                            if svc is not None:
                                out.append(Request.build(host=svc.fqdn, path=path, headers=headers,
                                                         port=int(mesh.get("port", 80)),
                                                         mesh=MeshSource(ns, svc.fqdn)))
    for extra in yaml.safe_load((case / "requests.yaml").read_text()) if (case / "requests.yaml").exists() else []:
        client = extra.pop("mesh", None)
        mesh_source = MeshSource(client, extra["host"]) if client else None
        out.append(Request.build(**extra, mesh=mesh_source))
    unique = {(r.method, r.scheme, r.host, r.port, r.path, r.query, tuple(r.headers.as_dict().items()),
               getattr(r, "mesh", None)): r for r in out}
    return [unique[k] for k in sorted(unique, key=repr)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verify_istio(case: Path) -> None:
    rs = _resources(case / "input.yaml")
    registry = discover()
    result = convert(rs, ConvertOptions(provider="istio", allow_unprotected=True), registry)
    model = IstioModel(rs)
    services = [d for d in yaml.safe_load_all((case / "input.yaml").read_text()) if d and d.get("kind") == "Service"]
    router = Router.from_manifests([*result.manifests, *services])  # the mesh routes' Services, with their ports
    plane = registry.data_plane("istio")
    assert plane is not None
    notes = [*result.notes, *plane.controller_notes()]
    requests = _requests(rs, case)
    report = verify_requests("istio", rs, result.manifests, notes, model.route, router.route,
                             [(r, "generated") for r in requests])
    got = report.to_dict()
    got["summary"].pop("elapsed_s", None)
    assert_golden_report(got, case / "expected.json")


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_the_verify_command_explains_every_difference(ing2gw, case: str) -> None:
    """The same inputs through the whole ``ing2gw verify`` command: mesh-only output has no
    Gateway, so no north-south request is probed, and two routes on one assumed Service
    attach (once a crash in the mesh router)."""
    r = ing2gw(["verify", "-f", str(TESTDATA / "verify-istio" / case / "input.yaml"), "-q", "-o", "json",
                "--fail-on", "unexplained"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["summary"]["unexplained"] == 0
    assert report["summary"]["requests"] > 0
    if case == "mesh":
        assert not any("ing2gw.invalid" in d["request"]["url"] for d in report["differences"])
