"""The fast path (hand-written schema compiler and CEL translations) against the reference
(the CRDs' own rules: jsonschema and cel-python) on every golden output, on the hand-made
cases of test_schema.py and on hypothesis-generated objects that reach each CEL rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import support
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_schema import (
    CEL_CASES,
    FILTER_FIELDS,
    PREFIX_REDIRECT,
    PREFIX_REWRITE,
    STRUCTURAL_CASES,
    base,
    edited,
    flt,
)

from ing2gw.schema import CEL_RULES, CHANNELS, SchemaError, validate
from ing2gw.schema.builtin import _needs_reference
from ing2gw.schema.bundle import _data, _kind_info, _schema
from ing2gw.schema.celtable import untranslated_rules
from ing2gw.schema.crds import Schemas
from ing2gw.schema.reference import ReferenceValidator
from ing2gw.yamlio import parse_documents

ROOT = support.ROOT
REFERENCE = {channel: Schemas({}, channel, reference=True) for channel in CHANNELS}


def summary(errors: list[SchemaError] | None) -> list[tuple[str, str]]:
    """What both validators must agree on: each failing CEL rule and each field path with a
    structural problem (the wording of structural messages differs)."""
    assert errors is not None
    return sorted({(e.path, e.rule or "<schema>") for e in errors})


def assert_same(obj: Any, channel: str) -> list[tuple[str, str]]:
    fast = summary(validate(obj, channel))
    reference = summary(REFERENCE[channel].validate(obj))
    assert fast == reference, obj
    return fast


def _golden_objects() -> list[Any]:
    """Each distinct object once (the id names its first occurrence): many goldens hold the
    same object (a GatewayClass, a Gateway, a ReferenceGrant), and validating an equal object
    again is the same check."""
    found = []
    seen: set[str] = set()
    for path in sorted((ROOT / "testdata").rglob("*.yaml")):
        if {"validate", "shared"} & set(path.relative_to(ROOT).parts):
            continue  # invalid on purpose (tests of ing2gw validate); reference data, not outputs
        for doc in parse_documents(path.read_text(encoding="utf-8"), str(path)):
            key = repr(doc.obj)  # types and key order too: an equal repr is the same input
            if REFERENCE["experimental"].builtin_kind(doc.obj) and key not in seen:
                seen.add(key)
                found.append(pytest.param(doc.obj, id=doc.origin.replace(str(ROOT), "")))
    return found


@pytest.mark.parametrize("obj", _golden_objects())
def test_golden_outputs(obj: dict[str, Any]) -> None:
    assert assert_same(obj, "experimental") == []


@pytest.mark.parametrize(("kind", "edits", "channel", "path", "rule"),
                         [c[1:] for c in CEL_CASES], ids=[c[0] for c in CEL_CASES])
def test_cel_cases(kind: str, edits: dict[str, Any], channel: str, path: str, rule: str) -> None:
    assert (path, rule) in assert_same(edited(kind, **edits), channel)


@pytest.mark.parametrize(("edits", "path", "fragment"), [c[1:] for c in STRUCTURAL_CASES],
                         ids=[c[0] for c in STRUCTURAL_CASES])
def test_structural_cases(edits: dict[str, Any], path: str, fragment: str) -> None:
    assert (path, "<schema>") in assert_same(edited("HTTPRoute", **edits), "experimental")


def test_every_cel_rule_has_a_translation_or_its_kind_uses_the_reference() -> None:
    """A CEL rule of the vendored CRDs without a hand translation fails here unless its kind
    is one of the x-k8s.io kinds that the fast path hands to the reference validator."""
    for channel in CHANNELS:
        for api_version, kinds in _data(channel)["schemas"].items():
            for kind, schema in kinds.items():
                missing = untranslated_rules(schema)
                if api_version.startswith("gateway.networking.k8s.io/"):
                    assert missing == [], (channel, api_version, kind)
                else:
                    assert _needs_reference(channel, api_version, kind) == bool(missing)


class _Forgetful(dict):  # type: ignore[type-arg]
    """A memo that never remembers: the reference validator evaluates every rule."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def test_remembered_rules_equal_evaluating_every_rule() -> None:
    """The reference validator remembers which rules a value breaks under a schema node: on
    the CEL cases (each breaks a rule of objects much alike) and a sample of the goldens, in
    one run, it gives the errors of evaluating every rule -- and it did remember."""
    objects = [(edited(kind, **edits), channel) for _, kind, edits, channel, _, _ in CEL_CASES]
    objects += [(p.values[0], "experimental") for p in _golden_objects()[::25]]
    validators: dict[tuple[str, str, str], tuple[ReferenceValidator, ReferenceValidator]] = {}
    hits = 0
    for obj, channel in objects:
        key = (channel, str(obj["apiVersion"]), str(obj["kind"]))
        if key not in validators:
            schema, info = _schema(*key), _kind_info(channel, key[2])
            assert schema is not None
            made = [ReferenceValidator(schema, info.kind, info.scope, info.status_subresource) for _ in "ab"]
            made[1].memo = _Forgetful()
            validators[key] = (made[0], made[1])
        remembering, plain = validators[key]
        before = len(remembering.memo)
        got = remembering.validate(obj)
        hits += len(remembering.memo) == before  # nothing new to remember: every node was a hit
        assert [(e.path, e.message, e.rule) for e in got] == [(e.path, e.message, e.rule) for e in plain.validate(obj)]
    assert hits > 10


def test_x_kinds_are_checked_with_their_own_rules() -> None:
    backend = {"apiVersion": "gateway.networking.x-k8s.io/v1alpha1", "kind": "XBackend",
               "metadata": {"name": "b", "namespace": "a"},
               "spec": {"type": "ExternalHostname", "port": {"port": 443, "name": "Bad_Name"},
                        "externalHostname": {"hostname": "db.svc.cluster.local"}}}
    rules = {e.rule for e in validate(backend, "experimental")}
    assert {"hostname must not be an IP address or end with .cluster.local",
            "Name must be a valid DNS label"} <= rules


# --------------------------------------------------------------------------- generated objects

NAMES = st.sampled_from(["a", "b"])
PATH_VALUES = st.sampled_from(["/", "/a", "a", "/a//b", "/a/..", "/a/.", "/a%2fb", "/a b", "/a#b"])
PATH_MATCH = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["Exact", "PathPrefix", "RegularExpression"]), "value": PATH_VALUES})
PATH_MODIFIER = st.fixed_dictionaries(
    {"type": st.sampled_from(["ReplaceFullPath", "ReplacePrefixMatch"])},
    optional={"replaceFullPath": st.just("/x"), "replacePrefixMatch": st.just("/y")})
FILTER = st.one_of(
    st.sampled_from([flt(t) for t in FILTER_FIELDS] + [PREFIX_REDIRECT, PREFIX_REWRITE]),
    st.builds(lambda t, f, v: {"type": t, f: v},
              st.sampled_from(sorted(FILTER_FIELDS)),
              st.sampled_from(sorted(field for field, _ in FILTER_FIELDS.values())),
              st.sampled_from([value for _, value in FILTER_FIELDS.values()])),
    st.builds(lambda m: {"type": "URLRewrite", "urlRewrite": {"path": m}}, PATH_MODIFIER),
    st.builds(lambda p, f: {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "m", "port": 80}, **p, **f}},
        st.sampled_from([{}, {"percent": 5}]),
        st.sampled_from([{}, {"fraction": {"numerator": 1, "denominator": 2}},
                         {"fraction": {"numerator": 3, "denominator": 2}}])),
    st.builds(lambda v: {"type": "CORS", "cors": {"allowMethods": v}},
              st.sampled_from([["GET"], ["*"], ["*", "GET"]])),
)
BACKEND = st.fixed_dictionaries({"name": st.just("web")}, optional={
    "port": st.just(80), "kind": st.sampled_from(["Service", "Bucket"]),
    "group": st.sampled_from(["", "example.com"]), "filters": st.lists(FILTER, max_size=2)})
HTTP_RULE = st.fixed_dictionaries({}, optional={
    "name": NAMES,
    "matches": st.lists(st.fixed_dictionaries({"path": PATH_MATCH}), max_size=2),
    "filters": st.lists(FILTER, max_size=3),
    "backendRefs": st.lists(BACKEND, max_size=2),
    "timeouts": st.fixed_dictionaries({}, optional={
        "request": st.sampled_from(["1s", "0s", "10s"]),
        "backendRequest": st.sampled_from(["1s", "1500ms"])}),
    "sessionPersistence": st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["Cookie", "Header"]), "absoluteTimeout": st.just("1h"),
        "cookieConfig": st.fixed_dictionaries({}, optional={
            "lifetimeType": st.sampled_from(["Permanent", "Session"])})}),
})
PARENT_REFS = st.lists(st.fixed_dictionaries({"name": NAMES}, optional={
    "sectionName": NAMES, "port": st.sampled_from([80, 443]),
    "namespace": st.sampled_from(["", "x"])}), min_size=1, max_size=3)
LISTENER = st.fixed_dictionaries({
    "name": st.sampled_from(["a", "b", "c"]), "port": st.sampled_from([80, 443]),
    "protocol": st.sampled_from(["HTTP", "HTTPS", "TLS", "TCP", "UDP"])}, optional={
    "hostname": st.sampled_from(["a.example.com", "*.example.com"]),
    "tls": st.fixed_dictionaries({}, optional={
        "mode": st.sampled_from(["Terminate", "Passthrough"]),
        "certificateRefs": st.just([{"name": "c"}])})})
ADDRESS = st.fixed_dictionaries({"value": st.sampled_from(["192.0.2.1", "a.example.com",
                                                           "Bad_Host"])},
                                optional={"type": st.sampled_from(["IPAddress", "Hostname"])})
HOSTNAMES = st.lists(st.sampled_from(["a.example.com", "*.example.com", "a.*.example.com",
                                      "192.0.2.1", "bad_host.example.com"]), max_size=3)
GRPC_MATCH = st.fixed_dictionaries({}, optional={"method": st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["Exact", "RegularExpression"]),
    "service": st.sampled_from(["pkg.Echo", "1pkg"]),
    "method": st.sampled_from(["Ping", "Ping-Pong"])})})
SAN = st.fixed_dictionaries({"type": st.sampled_from(["Hostname", "URI"])}, optional={
    "hostname": st.just("a.example.com"), "uri": st.just("spiffe://a/b")})


def _with(kind: str, **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base(kind))
    obj["spec"].update(spec)
    return obj


OBJECTS = st.one_of(
    st.builds(lambda p, r: _with("HTTPRoute", parentRefs=p, rules=r),
              PARENT_REFS, st.lists(HTTP_RULE, min_size=1, max_size=3)),
    st.builds(lambda listeners, a: _with("Gateway", listeners=listeners, addresses=a),
              st.lists(LISTENER, min_size=1, max_size=3), st.lists(ADDRESS, max_size=2)),
    st.builds(lambda h, p: _with("TLSRoute", hostnames=h, parentRefs=p), HOSTNAMES, PARENT_REFS),
    st.builds(lambda m: _with("GRPCRoute", rules=[{"matches": m}]),
              st.lists(GRPC_MATCH, min_size=1, max_size=2)),
    st.builds(lambda s, w, c: _with("BackendTLSPolicy", validation={
        "hostname": "a.example.com", "subjectAltNames": s, **w, **c}),
        st.lists(SAN, max_size=2), st.sampled_from([{}, {"wellKnownCACertificates": "System"}]),
        st.sampled_from([{}, {"caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                                     "name": "ca"}]}])),
)


@settings(max_examples=120, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(OBJECTS)
def test_generated_objects(obj: dict[str, Any]) -> None:
    assert_same(obj, "experimental")


def test_generated_objects_reach_the_rules() -> None:
    """The generator is no check that cannot fail: its examples break many CEL rules (36 of
    the 90 of these kinds today; test_cel_cases breaks every one of them on purpose)."""
    broken: set[str] = set()

    @settings(max_examples=120, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(OBJECTS)
    def collect(obj: dict[str, Any]) -> None:
        broken.update(e.rule for e in validate(obj, "experimental") if e.rule)

    collect()
    emitted = {r.message for r in CEL_RULES if r.implemented
               and any(k in ("HTTPRoute", "Gateway", "TLSRoute", "GRPCRoute", "BackendTLSPolicy")
                       for k in r.kinds)}
    assert len(broken & emitted) >= 30, sorted(emitted - broken)
