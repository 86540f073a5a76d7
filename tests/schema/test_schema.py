"""Tests of ing2gw.schema: the vendored CRD data, the structural-schema checks, ObjectMeta,
the hand-translated CEL rules, and the conformance manifests as a corpus of valid objects."""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import json
import re
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SHARED

from ing2gw import schema
from ing2gw.errors import UsageError
from ing2gw.schema import SchemaError, assert_valid, validate
from ing2gw.yamlio import Document, parse_documents

CRDS = SHARED / "gateway-api" / "crds"
CONFORMANCE = SHARED / "gateway-api" / "conformance" / "manifests"
REPO = support.ROOT

needs_shared = pytest.mark.skipif(not CRDS.is_dir(), reason="../shared is not present")


def load(text: str) -> dict[str, Any]:
    docs = parse_documents(text, "<test>")
    assert len(docs) == 1
    return docs[0].obj


def paths(errors: list[SchemaError]) -> list[str]:
    return [e.path for e in errors]


# --------------------------------------------------------------------------- vendored data


def _vendor_tool() -> Any:
    spec = importlib.util.spec_from_file_location("vendor_crds", REPO / "tools" / "vendor_crds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _fresh(channel: str) -> str:
    """The vendored JSON as tools/vendor_crds.py would write it now (parsed once per run)."""
    text: str = _vendor_tool().extract(CRDS / channel, channel)
    return text


@needs_shared
@pytest.mark.parametrize("channel", schema.CHANNELS)
def test_vendored_crds_equal_a_fresh_extraction(channel: str) -> None:
    fresh = _fresh(channel)
    packaged = resources.files("ing2gw").joinpath("data", "crds", f"{channel}.json").read_text(
        encoding="utf-8")
    assert packaged == fresh, "run: python tools/vendor_crds.py"


@needs_shared
def test_vendor_tool_skips_bundles_kustomization_and_vap() -> None:
    names = [p.name for p in _vendor_tool().crd_files(CRDS / "experimental")]
    assert names and all(n.startswith("gateway.networking.") for n in names)
    assert not [n for n in names if "install" in n or "vap" in n or "kustomization" in n]


def test_vendored_facts() -> None:
    assert re.fullmatch(r"v\d+\.\d+\.\d+", schema.bundle_version())
    assert schema.bundle_version("standard") == schema.bundle_version("experimental")
    std = {k.kind: k for k in schema.known_kinds("standard")}
    exp = {k.kind: k for k in schema.known_kinds("experimental")}
    assert {"Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ReferenceGrant",
            "BackendTLSPolicy", "ListenerSet", "TLSRoute"} <= set(std)
    assert set(std) < set(exp)  # XBackend & co. are experimental only
    assert std["GatewayClass"].scope == "Cluster" and std["HTTPRoute"].scope == "Namespaced"
    assert std["HTTPRoute"].plural == "httproutes" and std["HTTPRoute"].storage == "v1"
    assert "v1beta1" in std["HTTPRoute"].served
    assert schema.kind_info("XBackend") is None
    assert schema.kind_info("XBackend", "experimental") is not None


def test_description_property_is_kept_while_description_texts_are_dropped() -> None:
    gc = load("""
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: cls}
spec: {controllerName: example.com/ctrl, description: a property called description}
""")
    assert validate(gc) == []
    text = resources.files("ing2gw").joinpath("data", "crds", "standard.json").read_text(
        encoding="utf-8")
    assert "Gateway represents" not in text  # CRD prose is not vendored


def test_unknown_channel_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        validate({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway"}, "beta")


# --------------------------------------------------------------------------- conformance corpus

PLACEHOLDERS = {
    "{GATEWAY_CLASS_NAME}": "conformance-class",
    "{GATEWAY_CONTROLLER_NAME}": "example.com/conformance-controller",
}


def _conformance_docs(name: str) -> list[Document]:
    text = (CONFORMANCE / name).read_text(encoding="utf-8")
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    docs = parse_documents(text, name)
    for doc in docs:
        # The suite swaps these for addresses the implementation under test supplies.
        for address in doc.obj.get("spec", {}).get("addresses", []):
            if str(address.get("value", "")).startswith("PLACEHOLDER_"):
                address["value"] = "192.0.2.10" if "UNUSABLE" in address["value"] else "192.0.2.20"
    return [d for d in docs
            if str(d.obj.get("apiVersion", "")).startswith("gateway.networking.k8s.io/")]


CONFORMANCE_FILES = sorted(p.name for p in CONFORMANCE.glob("*.yaml")) if CONFORMANCE.is_dir() \
    else []
# Conformance manifests that use fields only the experimental CRDs have.
EXPERIMENTAL_ONLY = {"httproute-retry.yaml": ["spec.rules[0].retry", "spec.rules[1].retry"]}


@needs_shared
def test_conformance_corpus_is_large() -> None:
    objects = [d for name in CONFORMANCE_FILES for d in _conformance_docs(name)]
    assert len(CONFORMANCE_FILES) > 50 and len(objects) > 150
    assert {d.obj["kind"] for d in objects} >= {"Gateway", "HTTPRoute", "GRPCRoute",
                                                "ReferenceGrant", "GatewayClass"}


@needs_shared
@pytest.mark.parametrize("name", CONFORMANCE_FILES)
def test_conformance_manifests_are_valid(name: str) -> None:
    """The suite kubectl-applies every manifest, so the API server must accept all of them,
    including the ``*-invalid-*`` ones: their invalidity is semantic (unresolvable
    references, unsupported protocols, bad certificates), reported in status conditions,
    never a schema or CEL rejection."""
    docs = _conformance_docs(name)
    assert_valid(docs, channel="experimental")
    if name in EXPERIMENTAL_ONLY:
        errors = [e for d in docs for e in validate(d.obj, "standard")]
        assert paths(errors) == EXPERIMENTAL_ONLY[name]
        assert all("unknown field" in e.message for e in errors)
        assert [e.path for d in docs for e in schema.requires_experimental(d.obj)] == \
            EXPERIMENTAL_ONLY[name]
    else:
        assert_valid(docs, channel="standard")
        assert [e for d in docs for e in schema.requires_experimental(d.obj)] == []


@needs_shared
def test_static_addresses_placeholders_are_rejected_until_substituted() -> None:
    """gateway-static-addresses.yaml carries ``value: PLACEHOLDER_...`` without a type; the
    type defaults to IPAddress, and the oneOf then requires an IP, so the raw file is
    invalid until the suite substitutes real addresses (the first, fake-typed address
    is fine: the oneOf branch for non-IPAddress types accepts it)."""
    text = (CONFORMANCE / "gateway-static-addresses.yaml").read_text(encoding="utf-8")
    (gateway,) = [d.obj for d in parse_documents(text, "static") if d.obj["kind"] == "Gateway"]
    errors = validate(gateway)
    assert paths(errors) == ["spec.addresses[1]", "spec.addresses[2]"]
    assert all("oneOf" in e.message for e in errors)


# --------------------------------------------------------------------------- base objects

BASES: dict[str, str] = {
    "HTTPRoute": """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: apps, labels: {app.kubernetes.io/name: web}}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [example.com, "*.example.org"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /app}}]
    backendRefs: [{name: web, port: 8080}]
""",
    "GRPCRoute": """
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: apps}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{method: {service: pkg.Echo, method: Ping}}]
    backendRefs: [{name: grpc, port: 9000}]
""",
    "Gateway": """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra, annotations: {note: "x"}}
spec:
  gatewayClassName: cls
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - name: https
    port: 443
    protocol: HTTPS
    hostname: example.com
    tls: {certificateRefs: [{name: cert}]}
""",
    "ListenerSet": """
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: infra}
spec:
  parentRef: {name: gw}
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: a.example.com}
""",
    "GatewayClass": """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: cls}
spec: {controllerName: example.com/controller}
""",
    "ReferenceGrant": """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: grant, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
""",
    "BackendTLSPolicy": """
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: tls, namespace: apps}
spec:
  targetRefs: [{group: "", kind: Service, name: web}]
  validation:
    hostname: web.example.com
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
""",
    "TLSRoute": """
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: tls, namespace: apps}
spec:
  parentRefs: [{name: gw, sectionName: tls}]
  hostnames: [secure.example.com]
  rules:
  - backendRefs: [{name: web, port: 443}]
""",
}


def base(kind: str) -> dict[str, Any]:
    return load(BASES[kind])


_DELETE = object()


def edited(kind: str, **changes: Any) -> dict[str, Any]:
    """The base object of ``kind`` with ``path=value`` edits; paths use ``__`` for dots and
    ``_N`` suffixes for list indices: ``spec__rules_0__filters=[...]``."""
    obj = base(kind)
    for key, value in changes.items():
        _set(obj, key, value)
    return obj


def _set(obj: Any, key: str, value: Any) -> None:
    steps: list[str | int] = []
    for part in key.split("__"):
        match = re.fullmatch(r"(.+?)((?:_\d+)*)", part)
        assert match is not None
        steps.append(match.group(1))
        steps.extend(int(i) for i in match.group(2).split("_")[1:])
    target = obj
    for step in steps[:-1]:
        if isinstance(step, str) and step not in target:
            target[step] = {}
        target = target[step]
    last = steps[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = copy.deepcopy(value)


@pytest.mark.parametrize("kind", sorted(BASES))
@pytest.mark.parametrize("channel", schema.CHANNELS)
def test_base_objects_are_valid(kind: str, channel: str) -> None:
    assert validate(base(kind), channel) == []


def test_validate_does_not_modify_its_input() -> None:
    route = base("HTTPRoute")
    before = copy.deepcopy(route)
    assert validate(route) == []
    assert route == before


def test_defaults_are_applied_like_the_api_server() -> None:
    route = schema.defaulted(edited("HTTPRoute", spec__rules_0=_RULE_WITHOUT_MATCHES))
    assert route["spec"]["parentRefs"][0]["group"] == "gateway.networking.k8s.io"
    assert route["spec"]["parentRefs"][0]["kind"] == "Gateway"
    assert route["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix",
                                                               "value": "/"}}]
    assert route["spec"]["rules"][0]["backendRefs"][0]["kind"] == "Service"
    with pytest.raises(ValueError, match="Required value"):
        schema.defaulted(edited("HTTPRoute", spec__rules_0__backendRefs_0__name=_DELETE))


_RULE_WITHOUT_MATCHES = {"backendRefs": [{"name": "web", "port": 80}]}


# --------------------------------------------------------------------------- structural checks

STRUCTURAL_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, edits of the HTTPRoute base, expected path, expected message fragment)
    ("type", {"spec__rules_0__backendRefs_0__port": "80"},
     "spec.rules[0].backendRefs[0].port", "must be of type integer, got string"),
    ("type-bool-is-not-integer", {"spec__rules_0__backendRefs_0__port": True},
     "spec.rules[0].backendRefs[0].port", "must be of type integer, got boolean"),
    ("type-float-is-not-integer", {"spec__rules_0__backendRefs_0__weight": 1.5},
     "spec.rules[0].backendRefs[0].weight", "must be of type integer, got number"),
    ("null", {"spec__hostnames": None}, "spec.hostnames", "must be of type array, got null"),
    ("required", {"spec__rules_0__backendRefs_0__name": _DELETE},
     "spec.rules[0].backendRefs[0].name", "Required value"),
    ("unknown-field", {"spec__rules_0__backendRefs_0__prot": 80},
     "spec.rules[0].backendRefs[0].prot", 'unknown field "prot"'),
    ("unknown-top-level-field", {"extra": {}}, "extra", 'unknown field "extra"'),
    ("enum", {"spec__rules_0__matches_0__path__type": "Prefix"},
     "spec.rules[0].matches[0].path.type", 'Unsupported value: "Prefix"'),
    ("pattern", {"spec__hostnames_0": "Example.COM"}, "spec.hostnames[0]", "should match"),
    ("minLength", {"spec__rules_0__backendRefs_0__name": ""},
     "spec.rules[0].backendRefs[0].name", "at least 1 chars"),
    ("maxLength", {"spec__rules_0__backendRefs_0__name": "a" * 254},
     "spec.rules[0].backendRefs[0].name", "more than 253 characters"),
    ("minimum", {"spec__rules_0__backendRefs_0__port": 0},
     "spec.rules[0].backendRefs[0].port", "greater than or equal to 1"),
    ("maximum", {"spec__rules_0__backendRefs_0__port": 65536},
     "spec.rules[0].backendRefs[0].port", "less than or equal to 65535"),
    ("format-int32", {"spec__rules_0__backendRefs_0__weight": 2**31},
     "spec.rules[0].backendRefs[0].weight", "format int32"),
    ("maxItems", {"spec__hostnames": [f"h{i}.example.com" for i in range(17)]},
     "spec.hostnames", "must have at most 16 items"),
    ("minItems", {"spec__rules": []}, "spec.rules", "at least 1 items"),
    ("list-map-duplicate", {"spec__rules_0__filters": [{
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "X-A", "value": "1"},
                                          {"name": "X-A", "value": "2"}]}}]},
     "spec.rules[0].filters[0].requestHeaderModifier.set[1]", "Duplicate value"),
    ("list-set-duplicate", {"spec__rules_0__filters": [{
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"remove": ["X-A", "X-A"]}}]},
     "spec.rules[0].filters[0].requestHeaderModifier.remove[1]", "Duplicate value"),
]


@pytest.mark.parametrize(("edits", "path", "fragment"),
                         [c[1:] for c in STRUCTURAL_CASES], ids=[c[0] for c in STRUCTURAL_CASES])
def test_structural_checks(edits: dict[str, Any], path: str, fragment: str) -> None:
    errors = validate(edited("HTTPRoute", **edits))
    hits = [e for e in errors if e.path == path and fragment in e.message]
    assert hits, errors
    assert all(e.rule is None for e in hits)


def test_string_lengths_count_unicode_characters_not_bytes() -> None:
    name = "é" * 253  # 506 UTF-8 bytes, 253 characters
    assert validate(edited("HTTPRoute", spec__rules_0__backendRefs_0__name=name)) == []
    errors = validate(edited("HTTPRoute", spec__rules_0__backendRefs_0__name=name + "é"))
    assert paths(errors) == ["spec.rules[0].backendRefs[0].name"]


def test_patterns_use_search_semantics_like_go() -> None:
    # Gateway address types: '^Hostname|IPAddress|NamedAddress|<domain>/<name>$' is an
    # unanchored alternation; 'xNamedAddressx' therefore matches in Go and must match here.
    gateway = edited("Gateway", spec__addresses=[{"type": "xNamedAddressx", "value": "a"}])
    assert validate(gateway) == []
    bad = edited("Gateway", spec__addresses=[{"type": "Bogus", "value": "a"}])
    assert paths(validate(bad)) == ["spec.addresses[0].type"]


def test_max_properties() -> None:
    options = {f"example.com/o{i}": "v" for i in range(17)}
    gateway = edited("Gateway", spec__listeners_1__tls__options=options)
    errors = validate(gateway)
    assert [(e.path, "at most 16 properties" in e.message) for e in errors] == \
        [("spec.listeners[1].tls.options", True)]


def test_one_of_with_defaults() -> None:
    ok = edited("Gateway", spec__addresses=[{"value": "192.0.2.1"}, {"value": "2001:db8::1"},
                                            {"type": "Hostname", "value": "gw.example.com"}])
    assert validate(ok) == []
    bad = edited("Gateway", spec__addresses=[{"value": "not-an-ip"}])
    assert paths(validate(bad)) == ["spec.addresses[0]"]


SYNTHETIC = {
    "type": "object",
    "properties": {
        "port": {"x-kubernetes-int-or-string": True,
                 "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                 "properties": {"n": {"type": "integer"}}},
        "maybe": {"type": "string", "nullable": True},
        "when": {"type": "string", "format": "date-time"},
        "ip": {"type": "string", "format": "ipv4"},
        "big": {"type": "integer", "format": "int64"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                   "minProperties": 1},
        "notx": {"type": "string", "not": {"enum": ["x"]}},
        "score": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
    },
}


@pytest.mark.parametrize(("value", "expected"), [
    ({"port": 80}, []),
    ({"port": "http"}, []),
    ({"port": 1.5}, ["port"]),
    ({"free": {"anything": [1, 2], "n": 3}}, []),
    ({"free": {"n": "3"}}, ["free.n"]),
    ({"maybe": None}, []),
    ({"when": "2024-05-01T10:00:00Z"}, []),
    ({"when": "yesterday"}, ["when"]),
    ({"ip": "10.1.2.3"}, []),
    ({"ip": "10.1.2.300"}, ["ip"]),
    ({"ip": "::1"}, ["ip"]),
    ({"big": 2**63}, ["big"]),
    ({"labels": {"a": "b"}}, []),
    ({"labels": {"a": 1}}, ["labels[a]"]),
    ({"labels": {}}, ["labels"]),
    ({"notx": "y"}, []),
    ({"notx": "x"}, ["notx"]),
    ({"score": 0}, ["score"]),
    ({"score": 0.5}, []),
])
def test_schema_features_no_crd_uses(value: dict[str, Any], expected: list[str]) -> None:
    assert paths(schema.validate_value(SYNTHETIC, value)) == expected


# --------------------------------------------------------------------------- apiVersion / kind

def test_unknown_kind_is_one_error() -> None:
    errors = validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                       "spec": {"bogus": 1}})
    assert len(errors) == 1 and "unknown apiVersion/kind" in errors[0].message


def test_unserved_version_names_the_served_ones() -> None:
    route = edited("HTTPRoute", apiVersion="gateway.networking.k8s.io/v1alpha1")
    (error,) = validate(route)
    assert error.path == "apiVersion" and "v1, v1beta1" in error.message


def test_experimental_only_version_in_standard_channel() -> None:
    route = edited("TLSRoute", apiVersion="gateway.networking.k8s.io/v1alpha2")
    (error,) = validate(route, "standard")
    assert "experimental channel" in error.message
    assert validate(route, "experimental") == []


@pytest.mark.parametrize("obj", [None, [], "text", {"kind": "Gateway"},
                                 {"apiVersion": "gateway.networking.k8s.io/v1", "kind": 3}])
def test_not_an_object_or_missing_type_fields(obj: Any) -> None:
    errors = validate(obj)
    assert errors and all(isinstance(e, SchemaError) for e in errors)


# --------------------------------------------------------------------------- ObjectMeta

META_CASES: list[tuple[str, str, Any, str]] = [
    ("name-required", "metadata__name", _DELETE, "metadata.name"),
    ("name-empty", "metadata__name", "", "metadata.name"),
    ("name-uppercase", "metadata__name", "Route", "metadata.name"),
    ("name-too-long", "metadata__name", "a" * 254, "metadata.name"),
    ("namespace-dots", "metadata__namespace", "apps.prod", "metadata.namespace"),
    ("namespace-too-long", "metadata__namespace", "a" * 64, "metadata.namespace"),
    ("label-key", "metadata__labels", {"bad key": "x"}, "metadata.labels[bad key]"),
    ("label-prefix", "metadata__labels", {"Example.com/a": "x"},
     "metadata.labels[Example.com/a]"),
    ("label-value", "metadata__labels", {"a": "spaces are bad"}, "metadata.labels[a]"),
    ("label-value-long", "metadata__labels", {"a": "v" * 64}, "metadata.labels[a]"),
    ("label-value-type", "metadata__labels", {"a": 1}, "metadata.labels[a]"),
    ("annotation-key", "metadata__annotations", {"/x": "y"}, "metadata.annotations[/x]"),
    ("annotations-size", "metadata__annotations", {"a": "x" * (256 * 1024)},
     "metadata.annotations"),
    ("metadata-unknown", "metadata__nmae", "x", "metadata.nmae"),
    ("metadata-type", "metadata", "route", "metadata"),
]


@pytest.mark.parametrize(("key", "value", "path"), [c[1:] for c in META_CASES],
                         ids=[c[0] for c in META_CASES])
def test_object_meta(key: str, value: Any, path: str) -> None:
    errors = validate(edited("HTTPRoute", **{key: value}))
    assert paths(errors) == [path], errors


def test_object_meta_accepts_what_kubectl_get_returns() -> None:
    route = edited("HTTPRoute", metadata__annotations={
        "kubectl.kubernetes.io/last-applied-configuration": "{}"},
        metadata__uid="0b7e", metadata__resourceVersion="42", metadata__generation=3,
        metadata__creationTimestamp="2024-01-01T00:00:00Z", metadata__finalizers=["a/b"],
        metadata__labels={"app.kubernetes.io/name": "web", "empty": ""})
    assert validate(route) == []


def test_cluster_scoped_kind_has_no_namespace() -> None:
    assert paths(validate(edited("GatewayClass", metadata__namespace="apps"))) == \
        ["metadata.namespace"]


def test_status_is_ignored_as_on_create() -> None:
    route = edited("HTTPRoute", status={"parents": None, "whatever": 1})
    assert validate(route) == []


# --------------------------------------------------------------------------- CEL rules

def msg(fragment: str) -> str:
    """The one CEL message of CEL_RULES starting with (else containing) ``fragment``."""
    found = {r.message for r in schema.CEL_RULES if r.message.startswith(fragment)} or {
        r.message for r in schema.CEL_RULES if fragment in r.message}
    assert len(found) == 1, (fragment, found)
    return found.pop()


HDR = {"set": [{"name": "X-A", "value": "1"}]}
MIRROR = {"backendRef": {"name": "mirror", "port": 80}}
FILTER_FIELDS = {
    "RequestHeaderModifier": ("requestHeaderModifier", HDR),
    "ResponseHeaderModifier": ("responseHeaderModifier", HDR),
    "RequestMirror": ("requestMirror", MIRROR),
    "ExtensionRef": ("extensionRef", {"group": "example.com", "kind": "Auth", "name": "a"}),
    "RequestRedirect": ("requestRedirect", {"statusCode": 301}),
    "URLRewrite": ("urlRewrite", {"hostname": "example.net"}),
    "CORS": ("cors", {"allowOrigins": ["https://a.example.com"]}),
    "ExternalAuth": ("externalAuth", {"protocol": "HTTP", "http": {},
                                      "backendRef": {"name": "auth", "port": 80}}),
}


def flt(filter_type: str, **extra: Any) -> dict[str, Any]:
    field, value = FILTER_FIELDS[filter_type]
    return {"type": filter_type, field: copy.deepcopy(value), **extra}


def redirect_rule(filters: list[Any], matches: Any = None, backends: Any = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"filters": filters}
    if matches is not None:
        rule["matches"] = matches
    if backends is not None:
        rule["backendRefs"] = backends
    return rule


EXACT = [{"path": {"type": "Exact", "value": "/a"}}]
PREFIX_REDIRECT = {"type": "RequestRedirect",
                   "requestRedirect": {"path": {"type": "ReplacePrefixMatch",
                                                "replacePrefixMatch": "/b"}}}
PREFIX_REWRITE = {"type": "URLRewrite",
                  "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                          "replacePrefixMatch": "/b"}}}
LISTENER_TLS = {"certificateRefs": [{"name": "c"}]}


def _cel_cases() -> Iterator[tuple[str, str, dict[str, Any], str, str, str]]:
    """(id, kind, edits, channel, expected path, CEL message)."""
    std, exp = "standard", "experimental"
    # BackendTLSPolicy
    svc = {"group": "", "kind": "Service", "name": "web"}
    yield ("btls-section-specified", "BackendTLSPolicy",
           {"spec__targetRefs": [svc, {**svc, "sectionName": "https"}]}, std,
           "spec.targetRefs", msg("sectionName must be specified when targetRefs"))
    yield ("btls-section-unique", "BackendTLSPolicy",
           {"spec__targetRefs": [{**svc, "sectionName": "a"}, {**svc, "sectionName": "a"}]},
           std, "spec.targetRefs", msg("sectionName must be unique when targetRefs"))
    yield ("btls-ca-both", "BackendTLSPolicy",
           {"spec__validation__wellKnownCACertificates": "System"}, std, "spec.validation",
           msg("must not contain both CACertificateRefs"))
    yield ("btls-ca-neither", "BackendTLSPolicy",
           {"spec__validation__caCertificateRefs": _DELETE}, std, "spec.validation",
           msg("must specify either CACertificateRefs"))
    for san, fragment in ((
            {"type": "Hostname"}, "must contain Hostname"),
            ({"type": "URI", "uri": "spiffe://a/b", "hostname": "a.example.com"},
             "must not contain Hostname"),
            ({"type": "URI"}, "must contain URI"),
            ({"type": "Hostname", "hostname": "a.example.com", "uri": "spiffe://a/b"},
             "must not contain URI")):
        yield (f"btls-san-{fragment.replace(' ', '-')}", "BackendTLSPolicy",
               {"spec__validation__subjectAltNames": [san]}, std,
               "spec.validation.subjectAltNames[0]", msg(f"SubjectAltName element {fragment}"))
    # Gateway
    yield ("gw-ip-unique", "Gateway",
           {"spec__addresses": [{"value": "192.0.2.1"},
                                {"type": "IPAddress", "value": "192.0.2.1"}]}, std,
           "spec.addresses", msg("IPAddress values must be unique"))
    yield ("gw-hostname-unique", "Gateway",
           {"spec__addresses": [{"type": "Hostname", "value": "a.example.com"}] * 2}, std,
           "spec.addresses", msg("Hostname values must be unique"))
    yield ("gw-hostname-address", "Gateway",
           {"spec__addresses": [{"type": "Hostname", "value": "Under_Score"}]}, std,
           "spec.addresses[0]", msg("Hostname value must be empty or contain"))
    for field, word in (("annotations", "annotation"), ("labels", "label")):
        yield (f"gw-infra-{field}-form", "Gateway",
               {f"spec__infrastructure__{field}": {"-bad": "x"}}, std,
               f"spec.infrastructure.{field}", msg(f"{word.capitalize()} keys must be"))
        yield (f"gw-infra-{field}-prefix", "Gateway",
               {f"spec__infrastructure__{field}": {"a" * 253 + "/b": "x"}}, std,
               f"spec.infrastructure.{field}", msg(f"the {word} key's prefix"))
    yield ("gw-tls-on-http", "Gateway", {"spec__listeners_0__tls": LISTENER_TLS}, std,
           "spec.listeners", msg("tls must not be specified"))
    yield ("gw-https-passthrough", "Gateway", {"spec__listeners_1__tls__mode": "Passthrough"},
           std, "spec.listeners", msg("tls mode must be Terminate"))
    yield ("gw-tls-without-mode", "Gateway",
           {"spec__listeners_1": {"name": "tls", "port": 8443, "protocol": "TLS"}}, std,
           "spec.listeners", msg("tls mode must be set"))
    yield ("gw-tcp-hostname", "Gateway",
           {"spec__listeners_1": {"name": "tcp", "port": 9000, "protocol": "TCP",
                                  "hostname": "a.example.com"}}, std,
           "spec.listeners", msg("hostname must not be specified for protocols"))
    yield ("gw-listener-names", "Gateway", {"spec__listeners_1__name": "http"}, std,
           "spec.listeners", msg("Listener name must be unique"))
    yield ("gw-listener-combination", "Gateway",
           {"spec__listeners_1": {"name": "http2", "port": 80, "protocol": "HTTP"}}, std,
           "spec.listeners", msg("Combination of port, protocol and hostname"))
    yield ("gw-terminate-needs-certificates", "Gateway", {"spec__listeners_1__tls": {}}, std,
           "spec.listeners[1].tls", msg("certificateRefs or options must be specified"))
    per_port = {"port": 443, "tls": {"validation": {"caCertificateRefs": [
        {"group": "", "kind": "ConfigMap", "name": "ca"}]}}}
    yield ("gw-per-port-unique", "Gateway",
           {"spec__tls__frontend__perPort": [per_port, per_port]}, std,
           "spec.tls.frontend.perPort", msg("Port for TLS configuration must be unique"))
    # ListenerSet: same listener rules (ports are optional there)
    yield ("ls-combination", "ListenerSet",
           {"spec__listeners": [{"name": "a", "port": 80, "protocol": "HTTP"},
                                {"name": "b", "port": 80, "protocol": "HTTP"}]}, std,
           "spec.listeners", msg("Combination of port, protocol and hostname"))
    yield ("ls-tls-on-http", "ListenerSet", {"spec__listeners_0__tls": LISTENER_TLS}, std,
           "spec.listeners", msg("tls must not be specified"))
    # Routes: parentRefs
    yield ("route-section-specified", "HTTPRoute",
           {"spec__parentRefs": [{"name": "gw"}, {"name": "gw", "sectionName": "http"}]}, std,
           "spec.parentRefs", msg("sectionName must be specified when parentRefs"))
    yield ("route-section-unique", "HTTPRoute",
           {"spec__parentRefs": [{"name": "gw", "sectionName": "a"}] * 2}, std,
           "spec.parentRefs", msg("sectionName must be unique when parentRefs"))
    yield ("route-section-or-port-specified", "HTTPRoute",
           {"spec__parentRefs": [{"name": "gw"}, {"name": "gw", "port": 80}]}, exp,
           "spec.parentRefs", msg("sectionName or port must be specified"))
    yield ("route-section-or-port-unique", "HTTPRoute",
           {"spec__parentRefs": [{"name": "gw", "port": 80}] * 2}, exp,
           "spec.parentRefs", msg("sectionName or port must be unique"))
    yield ("route-rule-names", "HTTPRoute",
           {"spec__rules": [{"name": "a"}, {"name": "a"}]}, exp,
           "spec.rules", msg("Rule name must be unique"))
    yield ("route-service-port", "HTTPRoute", {"spec__rules_0__backendRefs_0__port": _DELETE},
           std, "spec.rules[0].backendRefs[0]", msg("Must have port for Service reference"))
    yield ("route-total-matches", "HTTPRoute",
           {"spec__rules": [{"matches": [{"path": {"value": f"/{r}/{m}"}} for m in range(64)]}
                            for r in range(3)]}, std,
           "spec.rules", msg("total number of matches"))
    # Filters
    for filter_type in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
                        "URLRewrite", "CORS"):
        yield (f"filter-repeated-{filter_type}", "HTTPRoute",
               {"spec__rules_0": {"filters": [flt(filter_type), flt(filter_type)]}}, std,
               "spec.rules[0].filters", msg(f"{filter_type} filter cannot be repeated"))
    for filter_type, (field, _) in FILTER_FIELDS.items():
        channel = exp if filter_type == "ExternalAuth" else std
        other = "ExtensionRef" if filter_type != "ExtensionRef" else "RequestMirror"
        yield (f"filter-{field}-missing", "HTTPRoute",
               {"spec__rules_0__filters": [{"type": filter_type}]}, channel,
               "spec.rules[0].filters[0]",
               msg(f"filter.{field} must be specified for {filter_type}"))
        yield (f"filter-{field}-stray", "HTTPRoute",
               {"spec__rules_0__filters": [
                   {**flt(other), field: FILTER_FIELDS[filter_type][1]}]}, channel,
               "spec.rules[0].filters[0]",
               msg(f"filter.{field} must be nil if the filter.type is not {filter_type}"))
    yield ("mirror-percent-and-fraction", "HTTPRoute",
           {"spec__rules_0__filters": [{"type": "RequestMirror", "requestMirror": {
               **MIRROR, "percent": 10, "fraction": {"numerator": 1}}}]}, std,
           "spec.rules[0].filters[0].requestMirror", msg("Only one of percent or fraction"))
    yield ("mirror-fraction", "HTTPRoute",
           {"spec__rules_0__filters": [{"type": "RequestMirror", "requestMirror": {
               **MIRROR, "fraction": {"numerator": 5, "denominator": 4}}}]}, std,
           "spec.rules[0].filters[0].requestMirror.fraction",
           msg("numerator must be less than or equal"))
    yield ("redirect-with-backends", "HTTPRoute",
           {"spec__rules_0__filters": [flt("RequestRedirect")]}, std,
           "spec.rules[0]", msg("RequestRedirect filter must not be used together"))
    yield ("redirect-replace-prefix", "HTTPRoute",
           {"spec__rules_0": redirect_rule([PREFIX_REDIRECT], EXACT)}, std,
           "spec.rules[0]", msg("When using RequestRedirect filter with path.replacePrefixMatch"))
    yield ("rewrite-replace-prefix", "HTTPRoute",
           {"spec__rules_0": redirect_rule([PREFIX_REWRITE], EXACT,
                                           [{"name": "web", "port": 80}])}, std,
           "spec.rules[0]", msg("When using URLRewrite filter with path.replacePrefixMatch"))
    yield ("backend-redirect-replace-prefix", "HTTPRoute",
           {"spec__rules_0": redirect_rule([], EXACT, [
               {"name": "web", "port": 80, "filters": [PREFIX_REDIRECT]}])}, std,
           "spec.rules[0]", msg("Within backendRefs, when using RequestRedirect"))
    yield ("backend-rewrite-replace-prefix", "HTTPRoute",
           {"spec__rules_0": redirect_rule([], [{"path": {"value": "/a"}}] * 2, [
               {"name": "web", "port": 80, "filters": [PREFIX_REWRITE]}])}, std,
           "spec.rules[0]", msg("Within backendRefs, When using URLRewrite"))
    yield ("redirect-and-rewrite", "HTTPRoute",
           {"spec__rules_0": redirect_rule([flt("RequestRedirect"), flt("URLRewrite")])}, std,
           "spec.rules[0].filters", msg("httpRouteFilterRequestRedirect or"))
    for field, word in (("allowHeaders", "AllowHeaders"), ("allowMethods", "AllowMethods"),
                        ("allowOrigins", "AllowOrigins")):
        value = ["*", "GET"] if field == "allowMethods" else (
            ["*", "https://a.example.com"] if field == "allowOrigins" else ["*", "X-A"])
        yield (f"cors-{field}", "HTTPRoute",
               {"spec__rules_0__filters": [{"type": "CORS", "cors": {field: value}}]}, std,
               f"spec.rules[0].filters[0].cors.{field}", msg(f"{word} cannot contain '*'"))
    path_cases = (
        ({"type": "ReplaceFullPath"}, "replaceFullPath must be specified"),
        ({"type": "ReplacePrefixMatch", "replacePrefixMatch": "/a", "replaceFullPath": "/b"},
         "type must be 'ReplaceFullPath'"),
        ({"type": "ReplacePrefixMatch"}, "replacePrefixMatch must be specified"),
        ({"type": "ReplaceFullPath", "replaceFullPath": "/a", "replacePrefixMatch": "/b"},
         "type must be 'ReplacePrefixMatch'"),
    )
    for index, (modifier, fragment) in enumerate(path_cases):
        yield (f"path-modifier-{index}", "HTTPRoute",
               {"spec__rules_0__filters": [{"type": "URLRewrite",
                                            "urlRewrite": {"path": modifier}}]}, std,
               "spec.rules[0].filters[0].urlRewrite.path", msg(fragment))
    for value, fragment in (("app", "must be an absolute path"), ("/a//b", "contain '//'"),
                            ("/a/./b", "contain '/./'"), ("/a/../b", "contain '/../'"),
                            ("/a%2fb", "contain '%2f'"), ("/a%2Fb", "contain '%2F'"),
                            ("/a#b", "contain '#'"), ("/a/..", "end with '/..'"),
                            ("/a/.", "end with '/.'"), ("/a b", "must only contain valid")):
        yield (f"path-value-{value}", "HTTPRoute",
               {"spec__rules_0__matches_0__path__value": value}, std,
               "spec.rules[0].matches[0].path", msg(fragment))
    yield ("path-type", "HTTPRoute", {"spec__rules_0__matches_0__path__type": "Glob"}, std,
           "spec.rules[0].matches[0].path", msg("type must be one of ['Exact'"))
    yield ("timeouts", "HTTPRoute",
           {"spec__rules_0__timeouts": {"request": "1s", "backendRequest": "1500ms"}}, std,
           "spec.rules[0].timeouts", msg("backendRequest timeout cannot be longer"))
    auth = FILTER_FIELDS["ExternalAuth"][1]["backendRef"]
    for index, (external, fragment) in enumerate((
            ({"protocol": "GRPC"}, "grpc must be specified"),
            ({"protocol": "HTTP", "http": {}, "grpc": {}}, "protocol must be 'GRPC'"),
            ({"protocol": "HTTP"}, "http must be specified"),
            ({"protocol": "GRPC", "grpc": {}, "http": {}}, "protocol must be 'HTTP'"))):
        yield (f"external-auth-{index}", "HTTPRoute",
               {"spec__rules_0__filters": [{"type": "ExternalAuth", "externalAuth": {
                   **external, "backendRef": auth}}]}, exp,
               "spec.rules[0].filters[0].externalAuth", msg(fragment))
    yield ("session-cookie-type", "HTTPRoute",
           {"spec__rules_0__sessionPersistence": {"type": "Header", "cookieConfig": {}}}, exp,
           "spec.rules[0].sessionPersistence", msg("cookieConfig can only be set"))
    yield ("session-absolute-timeout", "HTTPRoute",
           {"spec__rules_0__sessionPersistence": {"cookieConfig": {"lifetimeType": "Permanent"}}},
           exp, "spec.rules[0].sessionPersistence", msg("AbsoluteTimeout must be specified"))
    # GRPCRoute
    yield ("grpc-service-or-method", "GRPCRoute",
           {"spec__rules_0__matches_0__method": {"type": "Exact"}}, std,
           "spec.rules[0].matches[0].method", msg("One or both of 'service' or 'method'"))
    yield ("grpc-service", "GRPCRoute",
           {"spec__rules_0__matches_0__method__service": "1pkg.Echo"}, std,
           "spec.rules[0].matches[0].method", msg("service must only contain valid"))
    yield ("grpc-method", "GRPCRoute",
           {"spec__rules_0__matches_0__method__method": "Ping-Pong"}, std,
           "spec.rules[0].matches[0].method", msg("method must only contain valid"))
    # TLSRoute
    yield ("tls-ip", "TLSRoute", {"spec__hostnames": ["192.0.2.1"]}, std,
           "spec.hostnames", msg("Hostnames cannot contain an IP"))
    yield ("tls-rfc1123", "TLSRoute", {"spec__hostnames": ["bad_host.example.com"]}, std,
           "spec.hostnames", msg("Hostnames must be valid based on RFC-1123"))
    yield ("tls-wildcard", "TLSRoute", {"spec__hostnames": ["a.*.example.com"]}, std,
           "spec.hostnames", msg("Wildcards on hostnames must be the first label"))


CEL_CASES = list(_cel_cases())


@pytest.mark.parametrize(("kind", "edits", "channel", "path", "rule"),
                         [c[1:] for c in CEL_CASES], ids=[c[0] for c in CEL_CASES])
def test_cel_rule(kind: str, edits: dict[str, Any], channel: str, path: str,
                  rule: str) -> None:
    errors = validate(edited(kind, **edits), channel)
    assert SchemaError(path, rule, rule) in errors, errors


def test_every_implemented_cel_rule_of_an_emitted_kind_has_a_failing_case() -> None:
    tested = {case[5] for case in CEL_CASES}
    implemented = {r.message for r in schema.CEL_RULES
                   if r.implemented and any(not k.startswith("X") for k in r.kinds)}
    assert implemented - tested == set()


def test_cel_failures_do_not_hide_other_cel_failures() -> None:
    gateway = edited("Gateway", spec__listeners=[
        {"name": "a", "port": 443, "protocol": "HTTPS", "tls": {}},
        {"name": "b", "port": 9000, "protocol": "TCP", "hostname": "x.example.com"}])
    rules = {e.rule for e in validate(gateway)}
    assert {msg("certificateRefs or options"), msg("hostname must not be specified")} <= rules


def test_cel_is_skipped_over_values_of_the_wrong_type() -> None:
    gateway = edited("Gateway", spec__listeners_1__port="443")
    errors = validate(gateway)
    assert [e.rule for e in errors] == [None]


def test_cel_sees_defaults() -> None:
    # backendRef kind defaults to Service, so the port rule applies to the mirror too ...
    route = edited("HTTPRoute", spec__rules_0__filters=[
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "m"}}}])
    assert [e.path for e in validate(route)] == \
        ["spec.rules[0].filters[0].requestMirror.backendRef"]
    # ... but not to a non-Service backend.
    route = edited("HTTPRoute", spec__rules_0__backendRefs_0={
        "group": "example.com", "kind": "Bucket", "name": "b"})
    assert validate(route) == []


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("1s", 1.0), ("1h30m", 5400.0), ("250ms", 0.25), ("1.5s", 1.5),
    ("-2m", -120.0), ("10us", 1e-5), ("", None), ("5", None), ("1x", None), ("s", None),
])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert schema.parse_duration(text) == seconds


# --------------------------------------------------------------------------- CEL review


def _crd_rules() -> set[tuple[str, str, str]]:
    """(kind, message, rule) of every x-kubernetes-validations entry in the shared CRDs."""
    found: set[tuple[str, str, str]] = set()

    def walk(node: Any, kind: str) -> None:
        if isinstance(node, dict):
            for entry in node.get("x-kubernetes-validations") or ():
                found.add((kind, entry.get("message", ""), entry["rule"]))
            for value in node.values():
                walk(value, kind)
        elif isinstance(node, list):
            for value in node:
                walk(value, kind)

    for channel in schema.CHANNELS:
        data = json.loads(_fresh(channel))
        for kinds in data["schemas"].values():
            for kind, version_schema in kinds.items():
                walk(version_schema, kind)
    return found


@needs_shared
def test_cel_rule_table_covers_exactly_the_rules_in_the_crds() -> None:
    """A new CRD release with new or changed CEL rules fails here until each one is read,
    translated (or skipped with a reason) in CEL_RULES, and CEL_RULES_SHA256 updated."""
    crd = _crd_rules()
    in_crds = {(kind, message) for kind, message, _ in crd}
    in_table = {(kind, r.message) for r in schema.CEL_RULES for kind in r.kinds}
    assert in_crds - in_table == set(), "CEL rules not reviewed yet"
    assert in_table - in_crds == set(), "CEL_RULES lists rules the CRDs no longer have"
    assert len(in_crds) == 153 and len({m for _, m in in_crds}) == 98
    digest = hashlib.sha256("\n".join(sorted("\t".join(t) for t in crd)).encode()).hexdigest()
    assert digest == schema.CEL_RULES_SHA256, "a CEL rule's text changed: review it"


def test_cel_rule_table_is_consistent() -> None:
    messages = [r.message for r in schema.CEL_RULES]
    assert len(messages) == len(set(messages))
    for rule in schema.CEL_RULES:
        assert rule.implemented or rule.note, rule.message  # every skip says why
    skipped = {r.message for r in schema.CEL_RULES if not r.implemented}
    assert "Value is immutable" in skipped


# --------------------------------------------------------------------------- channels


def test_experimental_only_fields() -> None:
    route = set(schema.experimental_only_fields("gateway.networking.k8s.io/v1", "HTTPRoute"))
    assert {"spec.rules[].retry", "spec.rules[].sessionPersistence", "spec.useDefaultGateways",
            "spec.rules[].filters[].type=ExternalAuth"} <= route
    assert "spec.rules[].matches" not in route
    gateway = schema.experimental_only_fields("gateway.networking.k8s.io/v1", "Gateway")
    assert "spec.defaultScope" in gateway
    assert schema.experimental_only_fields("gateway.networking.k8s.io/v1", "Nope") == ()


def test_requires_experimental() -> None:
    route = edited("HTTPRoute", spec__rules_0__filters=[flt("ExternalAuth")])
    assert [e.path for e in schema.requires_experimental(route)] == \
        ["spec.rules[0].filters[0].type", "spec.rules[0].filters[0].externalAuth"]
    assert schema.requires_experimental(base("HTTPRoute")) == []
    xbackend = {"apiVersion": "gateway.networking.x-k8s.io/v1alpha1", "kind": "XBackend"}
    assert len(schema.requires_experimental(xbackend)) == 1


# --------------------------------------------------------------------------- helpers for tests


def test_assert_valid_lists_every_problem_with_its_origin() -> None:
    good = base("HTTPRoute")
    bad = edited("HTTPRoute", metadata__name="Bad", spec__rules_0__backendRefs_0__port=0)
    assert_valid([good, Document(good, "a.yaml:1")])
    assert_valid(Document(good, "a.yaml:1"))
    with pytest.raises(AssertionError, match="b.yaml:3"):
        assert_valid(Document(bad, "b.yaml:3"))
    with pytest.raises(AssertionError) as info:
        assert_valid([good, Document(bad, "out.yaml:7")])
    text = str(info.value)
    assert "2 schema problem(s)" in text
    assert "out.yaml:7: HTTPRoute apps/Bad: metadata.name" in text
    assert "spec.rules[0].backendRefs[0].port" in text
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    assert_valid([good, service], gateway_api_only=True)
    with pytest.raises(AssertionError):
        assert_valid(service)


def test_schema_error_str() -> None:
    assert str(SchemaError("spec.x", "Required value")) == "spec.x: Required value"
    assert str(SchemaError("", "unknown kind")) == "unknown kind"


def test_many_objects_validate_quickly() -> None:
    routes = [edited("HTTPRoute", metadata__name=f"r{i}") for i in range(1000)]
    start = time.perf_counter()
    assert_valid(routes)
    assert time.perf_counter() - start < 10  # ~0.3 ms each; generous for shared CI


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=5) | st.sampled_from(["Exact", "PathPrefix", "Service", "/", "HTTPS"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "port", "type", "value", "path", "matches", "filters",
                         "backendRefs", "tls", "mode", "group", "kind", "x"]), inner,
        max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=json_values, kind=st.sampled_from(sorted(BASES)))
def test_arbitrary_input_never_crashes(spec: Any, kind: str) -> None:
    obj = base(kind)
    obj["spec"] = spec
    errors = validate(obj)
    assert all(isinstance(e, SchemaError) for e in errors)


@settings(max_examples=100, deadline=None)
@given(rule=json_values)
def test_arbitrary_rules_never_crash(rule: Any) -> None:
    obj = base("HTTPRoute")
    obj["spec"]["rules"] = [rule, {"backendRefs": [rule]}]
    assert all(isinstance(e, SchemaError) for e in validate(obj, "experimental"))
