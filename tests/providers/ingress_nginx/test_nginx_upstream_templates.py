"""The controller's own template-helper tests (``template_test.go``), replayed entry by entry.

Every entry of ``docs/upstream/ingress-nginx/template-functions.json`` becomes one test of
the independent configuration generator (:mod:`ing2gw.providers.ingress_nginx.nginxconf`),
whose output the nginx oracle serves. Helpers for things a data-plane model does not decide
(ModSecurity, OpenTelemetry, external-auth plumbing, rate-limit zones, resolvers, byte
sizes ...) are skipped with the reason; so are entries that only exercise Go's type
assertions on a wrongly typed argument.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.providers.ingress_nginx.model.settings import ControllerConfig
from ing2gw.providers.ingress_nginx.nginxconf import helpers as h
from ing2gw.providers.ingress_nginx.nginxconf.build import Build, CLocation, CServer
from ing2gw.providers.ingress_nginx.nginxconf.render import render

TABLE = SHARED / "docs" / "upstream" / "ingress-nginx" / "template-functions.json"
WRONG_TYPE = "<*ingress.Ingress (wrong type)>"

# helper -> why a data-plane model does not decide it
NOT_DATA_PLANE = {
    "TestModSecurityForLocation": "ModSecurity (WAF) rules are not evaluated by the model",
    "TestShouldLoadModSecurityModule": "ModSecurity (WAF) rules are not evaluated by the model",
    "TestBuildByteSize": "body and buffer sizes do not change which location or backend answers",
    "TestBuildAuthLocation": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestShouldApplyGlobalAuth": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestShouldApplyAuthUpstream": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestBuildAuthUpstreamName": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestBuildAuthResponseHeaders": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestBuildAuthResponseLua": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestBuildAuthProxySetHeaders": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestBuildAuthSignURL": "external auth subrequests are not simulated (the model assumes they allow)",
    "TestExtractHostPort": "external auth upstreams are not simulated (the model assumes they allow)",
    "TestChangeHostPort": "external auth upstreams are not simulated (the model assumes they allow)",
    "TestOpentelemetryForLocation": "tracing does not change a request's answer",
    "TestOpentelemetryPropagateContext": "tracing does not change a request's answer",
    "TestBuildOpenTelemetry": "tracing does not change a request's answer",
    "TestBuildNextUpstream": "retries to another endpoint are not observable per request",
    "TestBuildResolvers": "DNS resolvers are not part of request routing",
    "TestBuildRateLimit": "rate limits need request history; the model answers one request at a time",
    "TestBuildRateLimitZones": "rate limits need request history; the model answers one request at a time",
    "TestFilterRateLimits": "rate limits need request history; the model answers one request at a time",
    "TestBuildCustomErrorLocationsPerServer": "custom error pages come from the error backend, not the model",
    "TestBuildLuaSharedDictionaries": "Lua shared memory sizes are not request routing",
    "TestLuaConfigurationRequestBodySize": "Lua shared memory sizes are not request routing",
}


def _entries() -> list[Any]:
    if not TABLE.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared is not present"))]
    data = json.loads(TABLE.read_text())
    return [pytest.param(e, id=f"{e['test']}:{e['name']}:{e['source'].rsplit(':', 1)[1]}") for e in data["entries"]]


def _location_fields(loc: dict[str, Any]) -> tuple[str, str | None]:
    target = loc.get("Rewrite.Target")
    if target is None and isinstance(loc.get("Rewrite"), dict):
        target = loc["Rewrite"].get("Target")
    return loc.get("Path", "/"), target


def _proxy_pass(inp: dict[str, Any]) -> str:
    loc = inp["location"]
    path, target = _location_fields(loc)
    passthrough = any(b.get("SSLPassthrough") for b in inp.get("backends") or () if b.get("Name") == loc["Backend"])
    return h.build_proxy_pass(path, target, backend=loc["Backend"], backend_protocol=loc.get("BackendProtocol"),
                              forwarded_prefix=loc.get("XForwardedPrefix") or None, ssl_passthrough=passthrough)


def _rendered(server: dict[str, Any], location: dict[str, Any] | None) -> str:
    locations = [CLocation(location["Path"], "Prefix", h.DEFAULT_UPSTREAM, True, None, None)] if location else []
    build = Build([CServer(server["Hostname"], locations, list(server.get("Aliases") or ()))], {}, [], {})
    return render(build, ControllerConfig(), listen="127.0.0.1:1", upstream="u", prefix="/tmp").text


def _actual(test: str, inp: dict[str, Any]) -> Any:
    if test == "TestBuildLocation":
        path, _ = _location_fields(inp["location"])
        return h.build_location(path, inp["location"].get("PathType"), inp["enforceRegex"])
    if test in ("TestBuildProxyPass", "TestBuildProxyPassAutoHttp"):
        return _proxy_pass(inp)
    if test == "TestBuildUpstreamName":
        # $proxy_upstream_name as the generator renders it for a location of that upstream
        loc = CLocation(inp["Path"], inp.get("PathType") or "Prefix", inp["Backend"], False, None, None)
        text = render(Build([CServer("example.com", [loc])], {}, [], {}), ControllerConfig(),
                      listen="127.0.0.1:1", upstream="u", prefix="/tmp").text
        return text.split('set $proxy_upstream_name "', 1)[1].split('"', 1)[0]
    if test == "TestBuildServerName":
        return h.build_server_name(inp["hostname"])
    if test == "TestEnforceRegexModifier":
        return h.enforce_regex_modifier(
            (loc["Path"], (loc.get("Rewrite") or {}).get("Target"), bool((loc.get("Rewrite") or {}).get("UseRegex")))
            for loc in inp["locations"])
    if test == "TestQuote":
        return h.go_quote(inp["input"])
    if test == "TestEscapeLiteralDollar":
        return h.escape_literal_dollar(inp["input"])
    if test == "TestFormatIP":
        return h.format_ip(inp["ip"])
    if test == "TestIsLocationInLocationList":
        return h.is_location_in_location_list(inp["location.Path"], inp["rawLocationList"])
    if test == "TestProxySetHeader":
        return h.proxy_set_header((inp["location"] or {}).get("BackendProtocol"))
    if test in ("TestBuildForwardedFor", "TestBuildForwardedHost"):
        return h.build_forwarded_header(inp["header"])
    if test in ("TestTemplateRendersEscapedLocationPath", "TestTemplateRendersEscapedServerAliases"):
        return _rendered(inp["server"], inp.get("location"))
    raise AssertionError(f"no replay for {test}")


@pytest.mark.parametrize("entry", _entries())
def test_template_function(entry: dict[str, Any]) -> None:
    test, inp, expected = entry["test"], entry["input"], entry["expected"]
    if test in NOT_DATA_PLANE:
        pytest.skip(NOT_DATA_PLANE[test])
    if WRONG_TYPE in json.dumps(inp):
        pytest.skip("exercises Go's type assertion on a wrongly typed argument; the Python helpers are typed")
    actual = _actual(test, inp)
    if "nginx_conf_contains" in expected:
        for needle in expected["nginx_conf_contains"]:
            assert needle in actual, f"{needle!r} not in the rendered configuration"
        return
    (want,) = expected.values()
    if entry.get("compare", "").startswith("strings.EqualFold"):
        assert actual.lower() == want.lower()
    else:
        assert actual == want


def test_every_helper_is_replayed_or_skipped_with_a_reason() -> None:
    if not TABLE.is_file():
        pytest.skip("../shared is not present")
    tests = {e["test"] for e in json.loads(TABLE.read_text())["entries"]}
    replayed = tests - set(NOT_DATA_PLANE)
    for name in sorted(replayed):
        entry = next(e for e in json.loads(TABLE.read_text())["entries"] if e["test"] == name)
        if WRONG_TYPE not in json.dumps(entry["input"]):
            _actual(name, entry["input"])  # raises for a helper without a replay
