"""Property tests of match precedence: a route that cannot match a request never changes
that request's outcome, and the outcome never depends on the order of the input."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ing2gw.http import Request
from ing2gw.router import Router

GW = "gateway.networking.k8s.io/v1"
HOSTS = ["a.example.com", "b.example.com"]
PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/b"]
MATCH_PATHS = ["/", "/", "/a", "/a/", "/a/b"]  # overlapping on purpose: ties are likely
SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

BASE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}},
    {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
     "spec": {"listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
    *({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": "ns"},
       "spec": {"ports": [{"port": 80}]}} for i in range(3)),
]

match_st = st.fixed_dictionaries({
    "path": st.fixed_dictionaries({"type": st.sampled_from(["Exact", "PathPrefix"]),
                                   "value": st.sampled_from(MATCH_PATHS)}),
}, optional={
    "method": st.sampled_from(["GET", "POST"]),
    "headers": st.lists(st.fixed_dictionaries({"name": st.just("x-v"),
                                               "value": st.sampled_from(["1", "2"])}),
                        max_size=1),
    "queryParams": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["q", "r"]),
                                                   "value": st.just("1")}), max_size=2),
})
rule_st = st.fixed_dictionaries({
    "matches": st.lists(match_st, min_size=1, max_size=2),
    "backendRefs": st.lists(st.fixed_dictionaries({
        "name": st.sampled_from(["s0", "s1", "s2", "missing"]), "port": st.just(80),
        "weight": st.integers(0, 3)}), min_size=1, max_size=2),
})
route_body_st = st.fixed_dictionaries({
    "hostnames": st.lists(st.sampled_from([*HOSTS, "*.example.com"]), max_size=1),
    "rules": st.lists(rule_st, min_size=1, max_size=3),
    "created": st.sampled_from(["2024-01-01T00:00:00Z"] * 3 + ["2024-01-02T00:00:00Z"]),
})
# single-rule, single-match routes over few paths: equal precedence keys are common, so the
# tie-breaks (age, namespace/name) decide and input order would show if it leaked through
tie_body_st = st.fixed_dictionaries({
    "hostnames": st.lists(st.sampled_from(HOSTS), max_size=1),
    "rules": st.lists(st.fixed_dictionaries({
        "matches": st.lists(st.fixed_dictionaries({"path": st.fixed_dictionaries({
            "type": st.just("PathPrefix"), "value": st.sampled_from(["/", "/a"])})}),
            min_size=1, max_size=1),
        "backendRefs": st.lists(st.fixed_dictionaries({
            "name": st.sampled_from(["s0", "s1", "s2"]), "port": st.just(80)}),
            min_size=1, max_size=1)}), min_size=1, max_size=1),
    "created": st.sampled_from(["2024-01-01T00:00:00Z"] * 3 + ["2024-01-02T00:00:00Z"]),
})
request_st = st.builds(
    lambda host, path, method, header, query: Request.build(
        host=host, path=path + query, method=method, gateway="ns/gw",
        headers={"x-v": header} if header else {}),
    st.sampled_from(HOSTS), st.sampled_from(PATHS), st.sampled_from(["GET", "POST"]),
    st.sampled_from([None, "1", "2"]), st.sampled_from(["", "?q=1", "?q=1&r=1"]),
)


def to_route(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": GW, "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": body["created"]},
            "spec": {"parentRefs": [{"name": "gw"}], "hostnames": body["hostnames"],
                     "rules": body["rules"]}}


def outcome(objects: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    return Router.from_manifests(objects).route(request).to_dict()


@SETTINGS
@given(st.lists(route_body_st, max_size=4), request_st, route_body_st,
       st.sampled_from(["other-host", "never-path"]))
def test_a_route_that_cannot_match_changes_nothing(
    bodies: list[dict[str, Any]], request: Request, extra: dict[str, Any], how: str
) -> None:
    objects = BASE + [to_route(f"r{i}", b) for i, b in enumerate(bodies)]
    before = outcome(objects, request)
    if how == "other-host":  # hostnames that never intersect the request's host
        extra = {**extra, "hostnames": ["unrelated.example.org"]}
    else:  # every match pinned to a path the request never has
        extra = {**extra, "rules": [{**rule, "matches": [
            {**m, "path": {"type": "Exact", "value": "/never/requested"}}
            for m in rule["matches"]]} for rule in extra["rules"]]}
    after = outcome([*objects, to_route("zz-extra", extra)], request)
    assert before == after


@SETTINGS
@given(st.lists(st.one_of(tie_body_st, route_body_st), min_size=2, max_size=4), request_st,
       st.data())
def test_outcome_does_not_depend_on_input_order(
    bodies: list[dict[str, Any]], request: Request, data: st.DataObject
) -> None:
    objects = BASE + [to_route(f"r{i}", b) for i, b in enumerate(bodies)]
    shuffled = data.draw(st.permutations(objects))
    assert outcome(objects, request) == outcome(shuffled, request)
