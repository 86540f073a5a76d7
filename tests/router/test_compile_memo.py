"""Router compile: the filter lists, path matches and backendRefs emitted routes share are
compiled once per table (their templates, by the identity of their mappings). The same routing and notes as compiling
each rule afresh, and a malformed shared value fails where it first appears."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support import TESTDATA

from ing2gw.cli.common import load_resources
from ing2gw.convert import ConvertOptions, convert
from ing2gw.errors import InputError
from ing2gw.http import Request
from ing2gw.plugins import discover
from ing2gw.probes import probes_for
from ing2gw.router import Router, facade, table

_INPUTS = sorted({*TESTDATA.glob("convert/*/*/input.yaml"), *TESTDATA.glob("verify/*/input.yaml")})


def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rule compiled afresh: the router compiles a deep copy of its input, where no two rules share a
    mapping (so no template, filter list, match or backendRef is found again by identity)."""
    real = table.compile_table
    monkeypatch.setattr(facade, "compile_table", lambda manifests, strict_refs=False: real(
        [(copy.deepcopy(body), origin) for body, origin in manifests], strict_refs))


def _routed(manifests: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    router = Router.from_manifests(manifests)
    requests = [Request.build(host=p.host, path=p.path, scheme=p.scheme, headers=list(p.headers), method=p.method,
                              client=p.client, port=p.port) for p in probes_for(manifests) if p.mesh is None]
    return router.notes, [router.route(r).to_dict() for r in requests]


def test_memo_routes_as_compiling_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every convert and verify golden input, converted (the emitter shares equal matches,
    filters and backendRefs between rules): the same notes and the same outcome for every
    probe of its routes."""
    registry = discover(())
    checked = shared = 0
    for path in _INPUTS:
        try:
            rs = load_resources([str(path)], False, None, False, None, kinds=list(registry.claims()))
            manifests = convert(rs, ConvertOptions(), registry).manifests
        except Exception:  # noqa: BLE001 -- inputs made to fail (their tests say how)
            continue
        rules = [r for m in manifests if m.get("kind") == "HTTPRoute" for r in m["spec"].get("rules") or ()]
        matches = [m for r in rules for m in r.get("matches") or ()]
        shared += len({id(m) for m in matches}) < len(matches)
        fast = _routed(manifests)
        with monkeypatch.context() as m:
            _plain(m)
            assert _routed(manifests) == fast, path
        checked += 1
    assert checked > 60 and shared > 30


ROUTES = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: x
  listeners: [{name: http, port: 80, protocol: HTTP}]
"""


def _route(name: str, match: dict[str, Any], filters: list[dict[str, Any]], backend: dict[str, Any],
           namespace: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "shop"}], "hostnames": [f"{name}.example.com"],
                     "rules": [{"matches": [match], "filters": filters, "backendRefs": [backend]}]}}


def test_shared_mappings_across_namespaces_and_malformed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """One match, filter and backendRef dict shared by routes of two namespaces (the
    backendRef resolves in each route's own), and one the second route breaks by sharing a
    malformed value: the same outcomes, and the same one-line error, as without the memo."""
    import yaml

    gateway = yaml.safe_load(ROUTES)
    match = {"path": {"type": "PathPrefix", "value": "/api"}}
    filters = [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]}}]
    backend = {"name": "api", "port": 80}
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": ns},
                 "spec": {"ports": [{"port": 80}]}} for ns in ("shop", "blog")]
    manifests = [gateway, *services, _route("a", match, filters, backend), _route("b", match, filters, backend, "blog"),
                 _route("c", match, copy.deepcopy(filters), {"name": "gone", "port": 80})]
    manifests[0]["spec"]["listeners"][0]["allowedRoutes"] = {"namespaces": {"from": "All"}}
    fast = _routed(manifests)
    with monkeypatch.context() as m:
        _plain(m)
        assert _routed(manifests) == fast
    backends = {o["matched"]["route"]: o["backend"] for o in fast[1] if o.get("matched")}
    assert backends == {"shop/a": "shop/api:80", "blog/b": "blog/api:80", "shop/c": None}

    bad = {"path": {"type": "PathPrefix", "value": 7}}
    broken = [gateway, *services, _route("a", bad, filters, backend), _route("b", bad, filters, backend, "blog")]
    errors = []
    for plain in (False, True):
        with monkeypatch.context() as m:
            if plain:
                _plain(m)
            with pytest.raises(InputError) as exc:
                Router.from_manifests(broken)
            errors.append(str(exc.value))
    assert errors[0] == errors[1] and "HTTPRoute blog/b: spec.rules[0].matches[0].path.value" in errors[0]



def test_rules_alike_share_one_compiled_rule() -> None:
    """Rules of two routes of one namespace made of the same mappings compile to one Rule, while
    each route's entries (and so its outcomes) name that route, its rule's index and name; a route
    of another namespace (its backendRef resolves there) gets its own Rule."""
    import yaml

    gateway = yaml.safe_load(ROUTES)
    gateway["spec"]["listeners"][0]["allowedRoutes"] = {"namespaces": {"from": "All"}}
    match = {"path": {"type": "PathPrefix", "value": "/api"}}
    backend = {"name": "api", "port": 80}
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": ns},
                 "spec": {"ports": [{"port": 80}]}} for ns in ("shop", "blog")]
    a, b, c = _route("a", match, [], backend), _route("b", match, [], backend), _route("c", match, [], backend, "blog")
    b["spec"]["rules"].insert(0, {"matches": [{"path": {"type": "Exact", "value": "/x"}}], "backendRefs": [backend]})
    b["spec"]["rules"][1]["name"] = "second"
    router = Router.from_manifests([gateway, *services, a, b, c])
    entries = {(e.info.matched.route, e.info.matched.rule): e
               for index in router.table.gateways["shop/gw"].ports.values() for listener in index.values()
               for group in listener.routes.values() for e in group.http}
    assert sorted(entries) == [("blog/c", 0), ("shop/a", 0), ("shop/b", 0), ("shop/b", 1)]
    assert entries[("shop/a", 0)].rule is entries[("shop/b", 1)].rule
    assert entries[("blog/c", 0)].rule is not entries[("shop/a", 0)].rule
    assert entries[("blog/c", 0)].rule.chosen.key == "blog/api:80"
    got = router.route(Request.build(host="b.example.com", path="/api/v1")).to_dict()
    assert (got["matched"]["route"], got["matched"]["rule"], got["matched"]["ruleName"]) == ("shop/b", 1, "second")


def test_rules_alike_but_for_their_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole rules are kept by the identity of their matches, filters and backendRefs and the
    values of their timeouts, retry and session persistence: rules that share every mapping
    but differ in one of those values (a string, a number, a list), in name, or in the route's
    kind, each compile to their own, as without the memo."""
    import yaml

    gateway = yaml.safe_load(ROUTES)
    match = {"path": {"type": "PathPrefix", "value": "/api"}}
    backend = {"name": "api", "port": 80}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"ports": [{"port": 80}]}}
    extras: list[dict[str, Any]] = [
        {}, {"timeouts": {"request": "10s"}}, {"timeouts": {"request": "20s"}}, {"timeouts": {"request": "10s"}},
        {"timeouts": {"backendRequest": "10s"}}, {"retry": {"attempts": 2}}, {"retry": {"attempts": 3}},
        {"retry": {"attempts": True}}, {"retry": {"codes": [500]}}, {"retry": {"codes": [502]}},
        {"sessionPersistence": {"type": "Cookie", "sessionName": "a"}}, {"name": "named"},
        {"timeouts": {"request": "10s"}, "name": "other"},
    ]
    manifests: list[dict[str, Any]] = [gateway, service]
    for k, extra in enumerate(extras):
        route = _route(f"r{k}", match, [], backend)
        route["spec"]["rules"][0].update(copy.deepcopy(extra))
        manifests.append(route)
    grpc = _route("g", match, [], backend)
    grpc["kind"] = "GRPCRoute"
    grpc["spec"]["rules"][0]["matches"] = [{}]
    manifests.append(grpc)
    fast = _routed(manifests)
    with monkeypatch.context() as m:
        _plain(m)
        assert _routed(manifests) == fast
    seen = {o["matched"]["route"]: (o["timeouts"], o["retry"], o["sessionPersistence"], o["matched"]["ruleName"])
            for o in fast[1] if o.get("matched")}
    assert {f"shop/r{k}" for k in range(len(extras))} <= set(seen)
    assert seen["shop/r2"][0] == {"request": "20s"} and seen["shop/r7"][1] == {"attempts": True}
    assert seen["shop/r9"][1] == {"codes": [502]} and seen["shop/r12"] == ({"request": "10s"}, None, None, "other")
