"""KIC's own test tables (``docs/upstream/kong``) as tests of the Kong provider and model.

``unit-cases.json``: the path translation (``TestPathsFromIngressPaths``,
``TestFlattenMultipleSlashes``, ``TestMaybePrependRegexPrefix``), the route annotations
(``TestOverrideRoute*``, ``TestOverrideHosts``, ``TestOverrideHeaders``, buffering), the rewrite
syntax (``TestGenerateRewriteURIConfig``), the Ingress translation (``TestTranslateIngress``:
route names, paths and hosts of the model's routes), the expression matchers
(``TestPathMatcherFromIngressPath``: Kong's expression and the model agree on sample paths)
and the priority traits. ``cases.json``: every golden case's Kong routes against the model's,
and a request for each expected path routed by the model to that route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from support import SHARED

from ing2gw.http import Request
from ing2gw.notes import Notes
from ing2gw.providers.kong.annotations import parse_rewrite
from ing2gw.providers.kong.model import KongModel
from ing2gw.providers.kong.paths import flatten_slashes, kong_paths, match, strip_regex_marker
from ing2gw.providers.kong.settings import route_settings
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

UNIT = json.loads((SHARED / "docs" / "upstream" / "kong" / "unit-cases.json").read_text())
GOLDEN = json.loads((SHARED / "docs" / "upstream" / "kong" / "cases.json").read_text())


def _cases(prefix: str) -> list[dict[str, Any]]:
    return [c for c in UNIT if c["name"].startswith(prefix)]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


def _resources(objects: list[Mapping[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(dict(o), f"<upstream>:{n + 1}") for n, o in enumerate(objects)],
                              kinds=_kinds())


def _kinds() -> tuple[Any, ...]:
    from ing2gw.providers.kong import PROVIDER

    return PROVIDER.kinds


# --- paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("TestFlattenMultipleSlashes"), ids=_ids(_cases("TestFlattenMultipleSlashes")))
def test_flatten_slashes(case: dict[str, Any]) -> None:
    assert flatten_slashes(case["input"]["in"]) == case["expected"]["out"]


@pytest.mark.parametrize("case", _cases("TestPathsFromIngressPaths"), ids=_ids(_cases("TestPathsFromIngressPaths")))
def test_paths_from_ingress_paths(case: dict[str, Any]) -> None:
    given = case["input"]["in"]
    assert kong_paths(given["path"], given["pathType"]) == case["expected"]["out"]


@pytest.mark.parametrize("case", _cases("TestMaybePrependRegexPrefix"), ids=_ids(_cases("TestMaybePrependRegexPrefix")))
def test_regex_marker(case: dict[str, Any]) -> None:
    given = case["input"]
    if given.get("applyLegacyHeuristic"):
        pytest.skip("the legacy regex heuristic (IngressClassParameters enableLegacyRegexDetection) is KIC 2 only")
    regex = strip_regex_marker(given["path"], given["controllerPrefix"])
    assert (regex or given["path"]) == case["expected"]["expected"]


_SAMPLES = ("/", "/v1", "/v1/", "/v1/api", "/v1/api/", "/v1/api/x", "/v1/apix", "/foo", "/foo/", "/foo/abc",
            "/foo/123", "/foo/bar", "/whatever", "/abc")


def _expression_matches(expression: str, path: str) -> bool:
    """Kong's ATC path predicates (==, ^=, ~) joined by ||."""
    for part in expression.split("||"):
        m = re.fullmatch(r'\s*\(?http\.path (==|\^=|~) "(.*)"\)?\s*', part)
        assert m, part
        op, value = m.group(1), m.group(2).encode().decode("unicode_escape")
        if (op == "==" and path == value) or (op == "^=" and path.startswith(value)) or (
                op == "~" and re.match(value, path)):
            return True
    return False


@pytest.mark.parametrize("case", _cases("TestPathMatcherFromIngressPath"),
                         ids=_ids(_cases("TestPathMatcherFromIngressPath")))
def test_path_matcher_agrees_with_the_model(case: dict[str, Any]) -> None:
    """The expression KIC writes and the traditional paths the model matches accept the same
    sample paths (so both router flavours route these Ingress paths alike)."""
    given = case["input"]["path"]
    paths = kong_paths(given["path"], given["pathType"])
    samples = set(_SAMPLES) | {given["path"] or "/", (given["path"] or "/") + "x", (given["path"] or "/") + "/y"}
    for sample in sorted(samples):
        expected = _expression_matches(case["expected"]["expression"], sample)
        assert any(match(p, sample) is not None for p in paths) == expected, sample


# --- route annotations ----------------------------------------------------------------------

_ROUTE_FIELDS = {
    "strip_path": "strip_path", "preserve_host": "preserve_host", "regex_priority": "regex_priority",
    "https_redirect_status_code": "https_redirect_code", "methods": "methods", "snis": "snis",
    "path_handling": "path_handling", "request_buffering": "request_buffering",
    "response_buffering": "response_buffering", "protocols": "protocols",
}
_DEFAULTS = {"strip_path": False, "preserve_host": True, "regex_priority": 0, "https_redirect_status_code": 426,
             "methods": [], "snis": [], "path_handling": "v0", "request_buffering": None,
             "response_buffering": None, "protocols": ["http", "https"]}

_OVERRIDE_TESTS = re.compile(r"TestOverride(Route|Hosts|Headers|RequestBuffering|ResponseBuffering)")
_OVERRIDES = [c for c in UNIT if _OVERRIDE_TESTS.match(c["name"])]


def _anns(case: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    given, want = case["input"], case["expected"]
    if "inAnnotations" in given:
        return given["inAnnotations"], given["inRoute"]["route"], want["expectedRoute"]["route"]
    args = given.get("args", {})
    base = args.get("route", {}).get("route", {})
    out = want.get("want", {})
    return args.get("anns", {}), base, out.get("route", out)


@pytest.mark.parametrize("case", _OVERRIDES, ids=_ids(_OVERRIDES))
def test_route_annotations(case: dict[str, Any]) -> None:
    """What KIC writes on a route for these annotations equals the settings the provider reads
    (fields the case leaves unset keep their previous value, else KIC's default)."""
    anns, before, after = _anns(case)
    s = route_settings(anns, "Ingress t/t", "<test>", (), Notes())
    for kong_field, attr in _ROUTE_FIELDS.items():
        if kong_field in after:
            expected = after[kong_field]
        elif kong_field in before:
            expected = before[kong_field]
        else:
            expected = _DEFAULTS[kong_field]
        if kong_field == "strip_path" and expected is None:
            continue  # grpc protocols: KIC clears strip_path; Kong then uses its default (false)
        got = getattr(s, attr)
        if kong_field == "protocols" and expected is None:
            expected = _DEFAULTS["protocols"]
        if isinstance(got, tuple):
            got = list(got)
        assert got == expected, kong_field
    if "hosts" in after and "konghq.com/host-aliases" in anns:
        assert list(s.host_aliases) == [h for h in after["hosts"] if h not in before.get("hosts", [])]
    elif "konghq.com/host-aliases" in anns:
        assert s.host_aliases == ()
    if "headers" in after:
        assert dict(s.headers) == {k: tuple(v) for k, v in after["headers"].items()}


_REWRITES = _cases("TestGenerateRewriteURIConfig")


@pytest.mark.parametrize("case", _REWRITES, ids=_ids(_REWRITES))
def test_rewrite_syntax(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if expected.get("expectedError"):
        with pytest.raises(ValueError, match=re.escape(expected["expectedError"]["error"])):
            parse_rewrite(case["input"]["uri"])
    else:
        assert parse_rewrite(case["input"]["uri"]) == expected["expectedURI"]


# --- Ingress translation ------------------------------------------------------------------------

_TRANSLATE = [c for c in _cases("TestTranslateIngress/") if "KongServiceFacade" not in c["name"]]


def _model_routes(model: KongModel) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for piece in sorted(model.pieces, key=lambda p: p.order):
        route = out.setdefault(piece.name, {"paths": [], "hosts": list(piece.hosts)})
        route["paths"].append(piece.kong_path)
    return out


@pytest.mark.parametrize("case", _TRANSLATE, ids=_ids(_TRANSLATE))
def test_translate_ingress(case: dict[str, Any]) -> None:
    model = KongModel.from_resources(_resources(case["input"]["ingresses"]))
    expected = {r["route"]["name"]: {"paths": r["route"]["paths"], "hosts": r["route"].get("hosts") or []}
                for svc in case["expected"]["expected"].values() for r in svc["routes"]}
    got = _model_routes(model)
    assert {k: {"paths": sorted(v["paths"]), "hosts": v["hosts"]} for k, v in got.items()} == {
        k: {"paths": sorted(v["paths"]), "hosts": v["hosts"]} for k, v in expected.items()}


_TRAITS = _cases("TestCalculateIngressRoutePriorityTraits")


@pytest.mark.parametrize("case", _TRAITS, ids=_ids(_TRAITS))
def test_priority_traits(case: dict[str, Any]) -> None:
    """The traits KIC encodes in an expression route's priority are the model's ordering keys."""
    from ing2gw.providers.kong.model import traits

    given = case["input"]
    s = route_settings(given.get("ingressAnnotations") or {}, "Ingress t/t", "<test>", (), Notes())
    host = given.get("ingressHost") or ""
    hosts = ([host] if host else []) + list(s.host_aliases)
    kpaths = [p for path in given["paths"] for p in kong_paths(path["path"], path["pathType"],
                                                                given.get("regexPathPrefix") or "/~")]
    want = case["expected"]["expectedTraits"]
    got = traits(s, hosts, kpaths)
    assert got == {"matchFields": want.get("matchFields", 0), "plainHostOnly": want.get("plainHostOnly", False),
                   "headerCount": want.get("headerCount", 0), "maxPathLength": want.get("maxPathLength", 0),
                   "hasRegexPath": want.get("hasRegexPath", False)}


# --- golden cases -------------------------------------------------------------------------------

_BROKEN = "test.konghq.com/broken"


def _usable(objects: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The objects KIC keeps in its fallback configuration: broken ones and everything that
    depends on one (a plugin reading a broken Secret, a Service or Ingress naming a broken
    plugin or upstream policy, an Ingress reaching a broken Service or IngressClass)."""
    def key(kind: str, o: Mapping[str, Any]) -> tuple[str, str, str]:
        return (kind, o["metadata"].get("namespace", ""), o["metadata"]["name"])

    broken = {key(o["kind"], o) for o in objects if o.get("metadata", {}).get("annotations", {}).get(_BROKEN) == "true"}

    def depends(o: Mapping[str, Any]) -> bool:
        meta = o.get("metadata", {})
        ns = meta.get("namespace", "")
        anns = meta.get("annotations", {})
        if o["kind"] in ("KongPlugin", "KongClusterPlugin"):
            ref = o.get("configFrom", {}).get("secretKeyRef", {})
            return bool(ref) and ("Secret", ref.get("namespace", ns), ref["name"]) in broken
        plugins = [p.strip() for p in anns.get("konghq.com/plugins", "").split(",") if p.strip()]
        if any(("KongPlugin", ns, p) in broken or ("KongClusterPlugin", "", p) in broken for p in plugins):
            return True
        if o["kind"] == "Service":
            policy = anns.get("konghq.com/upstream-policy")
            return bool(policy) and ("KongUpstreamPolicy", ns, policy) in broken
        if o["kind"] == "Ingress":
            paths = [p for r in o["spec"].get("rules", []) for p in r.get("http", {}).get("paths", [])]
            if any("resource" in p["backend"] for p in paths):
                return True  # KongServiceFacade backends: not modelled
            cls = o["spec"].get("ingressClassName") or anns.get("kubernetes.io/ingress.class")
            return any(("Service", ns, p["backend"]["service"]["name"]) in broken for p in paths) or (
                "IngressClass", "", cls) in broken
        return False

    for _ in range(3):  # Secret -> plugin -> Service -> Ingress
        broken |= {key(o["kind"], o) for o in objects if depends(o)}
    return [o for o in objects if key(o["kind"], o) not in broken]


_TRADITIONAL = [c for c in GOLDEN if c["feature_flags"] == "defaults"]
_EXPRESSIONS = [c for c in GOLDEN if c["feature_flags"] != "defaults" and c["feature_flags"].get("ExpressionRoutes")
                and not c["feature_flags"].get("KongServiceFacade")]


def _expected_routes(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: {**r, "service": s} for s in case["expected"].get("services", []) for r in s.get("routes", [])}


@pytest.mark.parametrize("case", _TRADITIONAL, ids=_ids(_TRADITIONAL))
def test_golden_routes(case: dict[str, Any]) -> None:
    """The model's Kong routes (names, paths, hosts, upstream host) are KIC's."""
    model = KongModel.from_resources(_resources(list(_usable(case["input"]))))
    expected = _expected_routes(case)
    got = _model_routes(model)
    assert sorted(got) == sorted(expected)
    for name, route in expected.items():
        assert sorted(got[name]["paths"]) == sorted(route["paths"]), name
        assert got[name]["hosts"] == (route.get("hosts") or []), name
        piece = next(p for p in model.pieces if p.name == name)
        assert piece.route.strip_path == route["strip_path"]
        assert piece.route.preserve_host == route["preserve_host"]
        assert piece.route.https_redirect_code == route["https_redirect_status_code"]
        assert piece.upstream_host == route["service"]["host"]


def _sample(kong_path: str) -> str:
    if kong_path.startswith("~"):
        body = kong_path[1:].rstrip("$")
        return re.sub(r"\\d\{(\d+)\}", lambda m: "7" * int(m.group(1)), body)
    return kong_path + ("x" if kong_path.endswith("/") else "/x")


@pytest.mark.parametrize("case", _TRADITIONAL + _EXPRESSIONS, ids=_ids(_TRADITIONAL + _EXPRESSIONS))
def test_golden_requests(case: dict[str, Any]) -> None:
    """A request for each path KIC wrote (or each path an expression accepts) reaches that
    route's service in the model."""
    model = KongModel.from_resources(_resources(list(_usable(case["input"]))))
    for route in _expected_routes(case).values():
        service = route["service"]["name"]
        if "expression" in route:
            host_m = re.search(r'http\.host == "([^"]+)"', route["expression"])
            paths = [m.group(2).encode().decode("unicode_escape") + ("" if m.group(1) == "==" else "x")
                     for m in re.finditer(r'http\.path (==|\^=) "([^"]*)"', route["expression"])]
            paths += [_sample("~" + m.group(1).encode().decode("unicode_escape").lstrip("^"))
                      for m in re.finditer(r'http\.path ~ "([^"]*)"', route["expression"])]
            hosts = [host_m.group(1)] if host_m else ["any.example"]
        else:
            paths = [_sample(p) for p in route["paths"]]
            hosts = [h.replace("*", "a") for h in route.get("hosts") or ["any.example"]]
        for host in hosts:
            for path in paths:
                out = model.route(Request.build(host=host, path=path))
                assert out.status == 200, (host, path, out.notes)
                svc_ns, svc_name = service.split(".")[0], service.split(".")[1]
                assert out.backend is not None and out.backend.startswith(f"{svc_ns}/{svc_name}:"), (host, path)
