"""The probes of a diff, each made once (``behaviour._probes``: BASE's share, then HEAD's routes
with only the rules whose matches BASE's route of the same name lacks) are the union of each
side's probes made apart, on random sides: rules added, removed, reordered or changed in
their matches or only in their filters and backends, values that are equal but not the same
(``1``, ``1.0``, ``True``, ``"1"``, NaN, ``None``), routes moved to another namespace, host or
parent, and Gateways or Services that differ between the sides."""

from __future__ import annotations

import copy
import random
from typing import Any

from ing2gw.diff import behaviour
from ing2gw.probes import Probe, ProbeValues, probes_for

ODD = [1, 1.0, True, "1", None, float("nan"), 0, False, "/a", "/A"]


def _match(rnd: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    r = rnd.random()
    if r < 0.8:
        kind = rnd.choice(["PathPrefix", "Exact", "RegularExpression"])
        value = rnd.choice(["/", "/a", "/a/", "/api/v1", "^/r[0-9]+", rnd.choice(ODD)])
        match["path"] = {"type": kind, "value": value}
    if rnd.random() < 0.3:
        match["headers"] = [{"name": rnd.choice(["x-a", "X-B"]), "value": rnd.choice(ODD[:4] + ["v"])}]
    if rnd.random() < 0.2:
        match["queryParams"] = [{"name": "q", "value": rnd.choice(["1", 1, 1.0, True])}]
    return match


def _rule(rnd: random.Random) -> dict[str, Any]:
    rule: dict[str, Any] = {"backendRefs": [{"name": rnd.choice(["a", "b"]), "port": rnd.choice([80, 80.0])}]}
    if rnd.random() < 0.8:
        rule["matches"] = [_match(rnd) for _ in range(rnd.randint(0, 2))]
    if rnd.random() < 0.3:
        rule["filters"] = [{"type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]}}]
    return rule


def _route(rnd: random.Random, i: int) -> dict[str, Any]:
    hosts = rnd.choice([[f"h{i}.example.com"], [f"h{i % 3}.example.com", "*.wild.example.com"], []])
    parent: dict[str, Any] = {"name": "gw", "namespace": "gw", "sectionName": rnd.choice(["http", "https", "alt"])}
    if rnd.random() < 0.1:
        parent = {"group": "", "kind": "Service", "name": "svc", "port": rnd.choice([8080, 8080.0, None])}
    spec: dict[str, Any] = {"parentRefs": [parent], "rules": [_rule(rnd) for _ in range(rnd.randint(1, 4))]}
    if hosts:
        spec["hostnames"] = hosts
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"r{i}", "namespace": rnd.choice(["a", "b"])}, "spec": spec}


def _context(rnd: random.Random) -> list[dict[str, Any]]:
    listeners = [{"name": "http", "protocol": "HTTP", "port": 80},
                 {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "h1.example.com"},
                 {"name": "alt", "protocol": "HTTP", "port": rnd.choice([8080, 8080.0, True])}]
    return [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
             "metadata": {"name": "gw", "namespace": "gw"}, "spec": {"listeners": listeners}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "a"},
             "spec": {"ports": [{"name": "web", "port": rnd.choice([8080, 9090])}]}}]


def _mutate(rnd: random.Random, route: dict[str, Any]) -> None:
    spec = route["spec"]
    rules = spec["rules"]
    what = rnd.choice(["add", "remove", "reorder", "match", "value", "backend", "filter", "host", "namespace",
                       "parent", "rules"])
    if what == "add":
        rules.insert(rnd.randint(0, len(rules)), _rule(rnd))
    elif what == "remove" and len(rules) > 1:
        rules.pop(rnd.randrange(len(rules)))
    elif what == "reorder":
        rnd.shuffle(rules)
    elif what == "match":
        rnd.choice(rules)["matches"] = [_match(rnd)]
    elif what == "value":  # equal to what it was, but not the same
        rule = rnd.choice(rules)
        for m in rule.get("matches") or []:
            if "path" in m:
                m["path"]["value"] = rnd.choice(ODD)
    elif what == "backend":
        rnd.choice(rules)["backendRefs"][0]["port"] = rnd.choice([80, 80.0, 81])
    elif what == "filter":
        rnd.choice(rules)["filters"] = []
    elif what == "host":
        spec["hostnames"] = [rnd.choice(["moved.example.com", "h1.example.com"])]
    elif what == "namespace":
        route["metadata"]["namespace"] = rnd.choice(["a", "b", "c"])
    elif what == "parent":
        spec["parentRefs"][0]["sectionName"] = rnd.choice(["http", "https", "alt"])
    else:
        spec["rules"] = [_rule(rnd)]


def _values(probes: list[Probe]) -> set[ProbeValues]:
    """Probes as the field tuples diff makes and sends (ing2gw.probes.probe_values)."""
    return {(p.scheme, p.host, p.path, p.headers, p.method, p.client, p.port, p.mesh) for p in probes}


def test_each_probe_made_once_is_both_sides_probes() -> None:
    rnd = random.Random(19)
    sharing = 0
    for _ in range(300):
        context = _context(rnd)
        base = context + [_route(rnd, i) for i in range(rnd.randint(1, 6))]
        head = copy.deepcopy(base)
        for route in head[len(context):]:
            if rnd.random() < 0.6:
                _mutate(rnd, route)
        if rnd.random() < 0.15:
            head[0]["spec"]["listeners"][2]["port"] = rnd.choice([8080, 8080.0, 9000])
        if rnd.random() < 0.2:
            head.append(_route(rnd, 99))
        if rnd.random() < 0.1:
            head.pop(len(context))
        want = _values(probes_for(base)) | _values(probes_for(head))
        assert behaviour._probes(base, head) == want
        shared = behaviour._head_share(base, head)
        assert shared <= _values(probes_for(head))
        sharing += len(shared) < len(_values(probes_for(head)))
    assert sharing > 100  # most heads share probes with their base
