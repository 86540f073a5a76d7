"""A diff routes only the probes a changed rule can take (``behaviour._reach``): on random sides
whose routes change only in their rules -- rules added, removed, reordered, their paths,
matches, filters or backends changed, rules the router drops (an unknown filter, a redirect
status it does not know) -- over two Gateways that both serve some hosts, the report is the
report of routing every probe."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ing2gw.diff import Side, behaviour, diff_sides

_PATHS = ["/a", "/a/", "/api", "/api/v1", "/API", "/b/c", "/healthz", "/new", "/a%2Fb", "/x/../a", "/café"]
_FILTERS: list[dict[str, Any]] = [
    {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [{"name": "x-r", "value": "1"}]}},
    {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-q", "value": "2"}]}},
    {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}},
    {"type": "RequestRedirect", "requestRedirect": {"statusCode": 399}},  # dropped by the router
    {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/in"}}},
    {"type": "Bogus"},  # dropped by the router
    {"type": "CORS", "cors": {"allowOrigins": ["https://a.example.com"]}},
]


def _match(rnd: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    r = rnd.random()
    if r < 0.9:
        kinds = ["PathPrefix", "PathPrefix", "Exact", "Exact", "RegularExpression"]
        kind = rnd.choice(kinds + [None] if r < 0.1 else kinds)
        value = rnd.choice(_PATHS) if kind != "RegularExpression" else rnd.choice(["^/r[0-9]+", "/a.*"])
        match["path"] = {"value": value} if kind is None else {"type": kind, "value": value}
    if rnd.random() < 0.2:
        match["headers"] = [{"name": "x-a", "value": "v"}]
    if rnd.random() < 0.1:
        match["method"] = "POST"
    return match


def _rule(rnd: random.Random) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if rnd.random() < 0.9:
        rule["matches"] = [_match(rnd) for _ in range(rnd.randint(1, 2))]
    if rnd.random() < 0.5:
        rule["filters"] = [copy.deepcopy(rnd.choice(_FILTERS))]
    redirect = any(f["type"] == "RequestRedirect" for f in rule.get("filters", []))
    if not redirect or rnd.random() < 0.1:
        rule["backendRefs"] = [{"name": rnd.choice(["svc", "other", "missing"]), "port": 80}]
    return rule


def _route(rnd: random.Random, i: int) -> dict[str, Any]:
    gateway = rnd.choice(["gw", "gw", "gw2"])
    parent = {"name": gateway, "namespace": "gw"}
    if gateway == "gw" and rnd.random() < 0.5:
        parent["sectionName"] = rnd.choice(["http", "https"])
    hosts = [f"h{rnd.randrange(4)}.example.com"]
    if rnd.random() < 0.2:
        hosts.append(f"h{rnd.randrange(4, 6)}.example.com")
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"r{i}", "namespace": "a"},
            "spec": {"parentRefs": [parent], "hostnames": hosts,
                     "rules": [_rule(rnd) for _ in range(rnd.randint(1, 4))]}}


def _context() -> list[dict[str, Any]]:
    def gateway(name: str, listeners: list[dict[str, Any]]) -> dict[str, Any]:
        for listener in listeners:
            listener["allowedRoutes"] = {"namespaces": {"from": "All"}}
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                "metadata": {"name": name, "namespace": "gw"},
                "spec": {"gatewayClassName": "c", "listeners": listeners}}

    return [gateway("gw", [{"name": "http", "protocol": "HTTP", "port": 80},
                           {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "h1.example.com",
                            "tls": {"certificateRefs": [{"name": "cert"}]}}]),
            gateway("gw2", [{"name": "web", "protocol": "HTTP", "port": 80, "hostname": "*.example.com"}]),
            *({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "a"},
               "spec": {"ports": [{"port": 80}]}} for name in ("svc", "other"))]


def _mutate(rnd: random.Random, route: dict[str, Any]) -> None:
    rules = route["spec"]["rules"]
    what = rnd.choice(["add", "add", "remove", "reorder", "path", "backend", "filter", "match"])
    if what == "add":
        rules.insert(rnd.randint(0, len(rules)), _rule(rnd))
    elif what == "remove" and len(rules) > 1:
        rules.pop(rnd.randrange(len(rules)))
    elif what == "reorder":
        rnd.shuffle(rules)
    elif what == "path":
        for m in rnd.choice(rules).get("matches") or []:
            if "path" in m:
                m["path"]["value"] = rnd.choice(_PATHS)
    elif what == "backend":
        rnd.choice(rules)["backendRefs"] = [{"name": rnd.choice(["svc", "other", "missing"]), "port": 80}]
    elif what == "filter":
        rnd.choice(rules)["filters"] = [copy.deepcopy(rnd.choice(_FILTERS))]
    else:
        rnd.choice(rules)["matches"] = [_match(rnd)]


@pytest.mark.parametrize("seed", range(3))
def test_routing_what_changed_rules_reach_gives_the_report_of_routing_everything(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    pruned = 0
    for _ in range(150):
        base = _context() + [_route(rnd, i) for i in range(rnd.randint(2, 6))]
        head = copy.deepcopy(base)
        for route in rnd.sample(head[4:], rnd.choice([1, 1, 2])):
            _mutate(rnd, route)
        sides = Side("b", base), Side("h", head)
        got = diff_sides(*sides)
        plan = behaviour.replay(*sides, [])
        probes = plan.probes(plan.base_probes(), plan.head_probes())
        pruned += len(plan.routed(probes)) < len(probes)
        with monkeypatch.context() as m:
            m.setattr(behaviour, "_reach", lambda old, new: None)
            want = diff_sides(*sides)
        assert got.to_dict() == want.to_dict()
    assert pruned > 10  # many of these changes leave probes no changed rule can take


def test_a_route_whose_kept_rules_the_router_may_drop_is_routed_whole() -> None:
    """When every rule both versions hold may be dropped by the router (the route may then
    attach to no listener on one side only), every probe of its hosts is routed."""
    dropped = {"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}], "filters": [{"type": "Bogus"}],
               "backendRefs": [{"name": "svc", "port": 80}]}
    added = {"matches": [{"path": {"type": "PathPrefix", "value": "/new"}}],
             "backendRefs": [{"name": "svc", "port": 80}]}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "a"},
             "spec": {"parentRefs": [{"name": "gw", "namespace": "gw"}], "hostnames": ["h0.example.com"],
                      "rules": [dropped]}}
    head_route = copy.deepcopy(route)
    head_route["spec"]["rules"].append(added)
    assert behaviour._reach([route], [head_route]) is None
    route["spec"]["rules"][0]["filters"] = []
    head_route["spec"]["rules"][0]["filters"] = []
    assert behaviour._reach([route], [head_route]) == {"h0.example.com": ("/new",)}
