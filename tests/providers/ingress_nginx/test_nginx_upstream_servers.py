"""The controller's own server-building tests (``controller_test.go``), replayed entry by entry.

Every entry of ``docs/upstream/ingress-nginx/backend-servers.json`` becomes a test of the
independent generator's building (:mod:`ing2gw.providers.ingress_nginx.nginxconf.build`),
the servers the nginx oracle serves: ``TestGetBackendServers`` (servers, their locations,
default backends, canaries, snippets, allow-lists) and ``TestMergeAlternativeBackends``
(canary upstreams joining their primaries, or deleted). The server names are also checked
against the data-plane model. Fields a data-plane model does not decide are left out with
the reason: TLS towards backends (proxy-ssl), TLS passthrough, certificate choice, and
session-affinity settings copied to a canary.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.notes import Notes
from ing2gw.providers.ingress_nginx.model import NginxModel
from ing2gw.providers.ingress_nginx.model.settings import CanaryPolicy, ControllerConfig, Policy, read_policy
from ing2gw.providers.ingress_nginx.nginxconf.build import CLocation, CServer, Upstream, build, merge_canary
from ing2gw.resources import Ingress, build_resource_set
from ing2gw.yamlio import Document

TABLE = SHARED / "docs" / "upstream" / "ingress-nginx" / "backend-servers.json"
PREFIX = "nginx.ingress.kubernetes.io/"

NOT_DECIDED = {
    "ProxySSL": "TLS towards the backend (proxy-ssl) is not modelled",
    "SSLPassthrough": "TLS passthrough happens before HTTP; the model answers HTTP requests",
}


def _entries() -> list[Any]:
    if not TABLE.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared is not present"))]
    data = json.loads(TABLE.read_text())
    return [pytest.param(e, id=f"{e['test']}:{e['name']}") for e in data["entries"]]


def _annotations(item: dict[str, Any]) -> dict[str, str]:
    """The raw annotations equivalent to the test's parsed ones."""
    ann = dict(item.get("equivalent_annotations") or {})
    ann.update(((item["ingress"].get("metadata") or {}).get("annotations")) or {})
    parsed = item.get("parsedAnnotations") or {}
    if (parsed.get("Canary") or {}).get("Enabled"):
        ann.setdefault(PREFIX + "canary", "true")
    if parsed.get("SSLPassthrough"):
        ann.setdefault(PREFIX + "ssl-passthrough", "true")
    return ann


def _ingress(item: dict[str, Any], index: int) -> Ingress:
    manifest = json.loads(json.dumps(item["ingress"]))
    manifest.update({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"})
    meta = manifest.setdefault("metadata", {})
    meta.setdefault("name", f"ingress-{index}")
    meta["annotations"] = _annotations(item)
    for rule in manifest.get("spec", {}).get("rules", []):
        for path in (rule.get("http") or {}).get("paths", []):
            if not path.get("backend"):  # no Service: a resource backend, which the controller skips too
                path["backend"] = {"resource": {"apiGroup": "example.com", "kind": "Bucket", "name": "b"}}
    (ing,) = build_resource_set([Document(manifest, f"<servers>:{index}")]).ingresses
    return ing


def _get_backend_servers(entry: dict[str, Any]) -> None:
    data = entry["input"]["controller_configmap"]["data"]
    # the test hands over parsed annotations, so the risk check (a Critical snippet) never runs
    config = ControllerConfig.from_mapping({**data, "annotations-risk-level": "Critical"})
    items: list[tuple[Ingress, Policy]] = []
    for i, item in enumerate(entry["input"]["ingresses"]):
        ing = _ingress(item, i)
        pol = read_policy(ing, config, Notes())
        assert not isinstance(pol, str), pol
        items.append((ing, pol))
    built = build(items, update_locations=False)
    expected = entry["expected"]
    assert len(built.servers) == expected["servers_count"]
    for key, fields in expected.items():
        if not key.startswith("servers["):
            continue
        server = built.servers[int(key[8:-1])]
        for name, want in fields.items():
            if name.startswith("Locations["):
                _check_location(server.locations[int(name[10:-1])], want)
            elif name.split(".")[0] in NOT_DECIDED:
                continue
            elif name == "Hostname":
                assert server.hostname == want
            elif name == "ServerSnippet":
                assert want == "" and not any(i[1].snippets for i in items)
    # the data-plane model builds the same servers
    model_names = {s.name for s in NginxModel.from_resources(
        build_resource_set([Document(_manifest_of(i), "<m>") for i, _ in items]), config).servers}
    assert model_names == {s.hostname for s in built.servers}


def _manifest_of(ing: Ingress) -> dict[str, Any]:
    rules = [{"host": r.host, "http": {"paths": [
        {"path": p.path or "/", "pathType": p.path_type,
         "backend": {"service": {"name": p.backend.service, "port": {"number": p.backend.port_number}}}}
        for p in r.paths if p.backend is not None and p.backend.service]}} if r.host else {"http": {"paths": []}}
        for r in ing.rules]
    spec: dict[str, Any] = {"rules": [r for r in rules if r.get("host")]}
    if ing.default_backend is not None and ing.default_backend.service:
        spec["defaultBackend"] = {"service": {"name": ing.default_backend.service,
                                              "port": {"number": ing.default_backend.port_number}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": ing.name, "namespace": ing.namespace, "annotations": dict(ing.annotations)},
            "spec": spec}


def _check_location(loc: CLocation, want: dict[str, Any]) -> None:
    for name, value in want.items():
        if name.split(".")[0] in NOT_DECIDED:
            continue
        if name == "IsDefBackend":
            assert loc.is_def_backend == value
        elif name == "Backend":
            assert loc.backend == value
        elif name == "ConfigurationSnippet":
            assert value == "" and loc.policy is not None and not loc.policy.snippets
        elif name == "Allowlist.CIDR":
            assert loc.policy is not None and [str(n) for n in loc.policy.allow] == value
        else:
            raise AssertionError(f"no replay for Location field {name}")


def _merge_alternative_backends(entry: dict[str, Any]) -> None:
    inp = entry["input"]
    ing = _ingress(inp["ingress"], 0)
    canary = Policy(ing.ref, ing.namespace, canary=CanaryPolicy(None, None, None, None, 20, 100))
    assert canary.canary is not None
    ups = {name: Upstream(name, name, bool(u.get("NoServer")), canary if u.get("NoServer") else None,
                          list(u.get("AlternativeBackends") or ()))
           for name, u in inp["upstreams"].items()}
    servers = {name: CServer(s["Hostname"], [CLocation(loc["Path"], loc["PathType"], loc["Backend"], False, None, None)
                                             for loc in s["Locations"]])
               for name, s in inp["servers"].items()}
    merge_canary(ing, ups, servers)
    for name, want in entry["expected"]["upstreams"].items():
        assert name in ups, f"upstream {name} was deleted"
        assert ups[name].no_server == want.get("NoServer", False)
        assert ups[name].alternatives == list(want.get("AlternativeBackends") or ())
    for name, want in entry["expected"]["servers"].items():
        assert [(loc.path, loc.path_type, loc.backend) for loc in servers[name].locations] == [
            (loc["Path"], loc["PathType"], loc["Backend"]) for loc in want["Locations"]]


@pytest.mark.parametrize("entry", _entries())
def test_backend_servers(entry: dict[str, Any]) -> None:
    if entry["test"] == "TestExtractTLSSecretName":
        pytest.skip("which Secret serves a host's certificate does not change routing (the model only needs "
                    "whether the host has TLS) and the model never reads Secrets")
    if entry["test"] == "TestGetBackendServers":
        _get_backend_servers(entry)
    else:
        _merge_alternative_backends(entry)
