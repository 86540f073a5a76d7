"""``diff`` sends each probe as the request it stands for -- to a listener on a port other than
80 and 443 on that port, east-west (mesh) from its namespace: a rule added to a route of such a
listener, or to a mesh route, shows as the behaviour change it is."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ing2gw.diff import Side, diff_sides


def _sides(port: int) -> tuple[Side, Side]:
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "gw", "namespace": "gw"},
               "spec": {"gatewayClassName": "c", "listeners": [
                   {"name": "web", "protocol": "HTTP", "port": port,
                    "allowedRoutes": {"namespaces": {"from": "All"}}}]}}
    services: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "a"},
         "spec": {"ports": [{"port": 80}]}} for name in ("svc", "other")]
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "a"},
             "spec": {"parentRefs": [{"name": "gw", "namespace": "gw", "sectionName": "web"}],
                      "hostnames": ["h.example.com"],
                      "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}],
                                 "backendRefs": [{"name": "svc", "port": 80}]}]}}
    changed = copy.deepcopy(route)
    changed["spec"]["rules"].append({"matches": [{"path": {"type": "PathPrefix", "value": "/new"}}],
                                     "backendRefs": [{"name": "other", "port": 80}]})
    return Side("base", [gateway, *services, route]), Side("head", [gateway, *services, changed])


@pytest.mark.parametrize("port", [80, 8080])
def test_a_rule_added_on_any_port_changes_behaviour(port: int) -> None:
    report = diff_sides(*_sides(port)).to_dict()
    changes = report["behaviour"]
    assert changes and all("/new" in c["request"]["url"] for c in changes)
    assert all(c["after"]["backend"] == "a/other:80" for c in changes)
    if port == 8080:
        assert all("h.example.com:8080" in c["request"]["url"] for c in changes)


def test_a_rule_added_to_a_mesh_route_changes_behaviour() -> None:
    services: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "a"},
         "spec": {"ports": [{"port": 80}]}} for name in ("svc", "other")]
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "a"},
             "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "svc", "port": 80}],
                      "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}],
                                 "backendRefs": [{"name": "svc", "port": 80}]}]}}
    changed = copy.deepcopy(route)
    changed["spec"]["rules"].append({"matches": [{"path": {"type": "PathPrefix", "value": "/new"}}],
                                     "backendRefs": [{"name": "other", "port": 80}]})
    changes = diff_sides(Side("base", [*services, route]), Side("head", [*services, changed])).to_dict()["behaviour"]
    assert changes and all("/new" in c["request"]["url"] for c in changes)
    assert all(c["after"]["backend"] == "a/other:80" for c in changes)
    assert {c["request"]["mesh"]["service"] for c in changes} == {"svc.a"}
    assert "a" in {c["request"]["mesh"]["namespace"] for c in changes}  # (from the route's own namespace too)
