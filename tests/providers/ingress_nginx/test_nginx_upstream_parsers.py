"""The controller's own annotation-parser tests, replayed entry by entry through the model.

Every entry of ``docs/upstream/ingress-nginx/annotation-parsers.json`` becomes a test: its
annotations go on an Ingress, the model reads it the controller's way
(:func:`~ing2gw.providers.ingress_nginx.model.settings.read_policy` over
:mod:`~ing2gw.providers.ingress_nginx.validation`), and what the controller's test asserts is
checked where the model decides it: the Ingress left out (a validation error), its locations
denied (503), or kept -- and then the values the model uses (aliases, redirects, rewrite,
CORS, canary, source ranges, auth, upstream-vhost ...). Values for things the model does not
simulate (timeouts, buffers, rate limits, mirror, backend TLS, error pages) are skipped with
the reason once the keep/deny/drop decision has been checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import SHARED

from ing2gw.notes import Notes
from ing2gw.providers.ingress_nginx import validation
from ing2gw.providers.ingress_nginx.model.settings import ControllerConfig, Policy, cors_settings, read_policy
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

TABLE = SHARED / "docs" / "upstream" / "ingress-nginx" / "annotation-parsers.json"
PREFIX = "nginx.ingress.kubernetes.io/"
SNIPPETS = {"configuration-snippet", "server-snippet", "auth-snippet", "modsecurity-snippet", "stream-snippet"}

# Where the table's derived (not asserted) error kind disagrees with the parser source:
# authreq's ParseStringToCacheDurations returns ing_errors.NewLocationDenied, which Parse
# passes on, so Extract denies the location (503) rather than discarding external auth.
SOURCE_CORRECTIONS = {"plain error from ParseStringToCacheDurations": "LocationDeniedError"}

# family -> why the model does not decide the parsed values (the keep/deny/drop decision is still checked)
VALUES_NOT_MODELLED = {
    "backendprotocol": "the protocol nginx speaks to the Service is not observable in the model's answer",
    "customhttperrors": "custom error pages come from the error backend, not the model",
    "defaultbackend": "the default-backend Service answers only when the location's Service has no endpoints",
    "loadbalancing": "the balancing algorithm picks an endpoint, not a Service",
    "mirror": "mirrored requests do not change the answer",
    "proxy": "timeouts and buffers are not observable per request",
    "proxyssl": "TLS towards the backend is not modelled",
    "ratelimit": "rate limits need request history; the model answers one request at a time",
    "sslpassthrough": "TLS passthrough happens before HTTP; the model answers HTTP requests",
}


def _entries() -> list[Any]:
    if not TABLE.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared is not present"))]
    data = json.loads(TABLE.read_text())
    return [pytest.param(e, id=f"{e['family']}:{e['test']}:{e['source'].rsplit(':', 1)[1]}:{i}")
            for i, e in enumerate(data["entries"])]


def _config(entry: dict[str, Any]) -> dict[str, str]:
    ctx = entry["input"].get("context") or {}
    config: dict[str, str] = {}
    if "default_backend.SSLRedirect" in ctx:
        config["ssl-redirect"] = str(ctx["default_backend.SSLRedirect"]).lower()
    if ctx.get("AllowCrossNamespaceResources"):
        config["allow-cross-namespace-resources"] = "true"
    keys = {k.removeprefix(PREFIX) for k in entry["input"].get("annotations") or ()}
    if keys & SNIPPETS:  # parser tests do not run the risk check: let snippets through
        config.update({"annotations-risk-level": "Critical", "allow-snippet-annotations": "true"})
    return config


def _policy(entry: dict[str, Any]) -> Policy | str:
    ctx = entry["input"].get("context") or {}
    namespace = ctx.get("ingress.namespace", "default")
    manifest = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "parsers", "namespace": namespace},
        "spec": {"rules": [{"host": "parsers.test", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
    }
    if entry["input"].get("annotations") is not None:
        manifest["metadata"]["annotations"] = dict(entry["input"]["annotations"])
    (ing,) = build_resource_set([Document(manifest, "<parsers>:1")]).ingresses
    return read_policy(ing, ControllerConfig.from_mapping(_config(entry)), Notes())


def _needs_secret(entry: dict[str, Any]) -> bool:
    """The controller's answer depends on whether a Secret exists; the model never reads Secrets."""
    ctx = entry["input"].get("context") or {}
    ann = {k.removeprefix(PREFIX): v for k, v in (entry["input"].get("annotations") or {}).items()}
    if entry["family"] == "proxyssl":
        secret = ann.get("proxy-ssl-secret") or ""
        return "/" in secret and secret not in (ctx.get("existing_secrets") or ())
    secret = ann.get("auth-secret")
    if entry["family"] != "auth" or not secret or not validation.valid(ann, "auth-secret"):
        return False
    name = secret if "/" in secret else f"{ctx.get('ingress.namespace', 'default')}/{secret}"
    return name not in (ctx.get("existing_secrets") or ())


def _check_values(family: str, expected: dict[str, Any], pol: Policy, entry: dict[str, Any]) -> None:
    short = {k.removeprefix(PREFIX): v for k, v in (entry["input"].get("annotations") or {}).items()}
    result = expected.get("result")
    if family == "alias":
        assert list(pol.server_aliases) == result
    elif family == "canary":
        enabled = pol.canary is not None
        assert enabled == result["Enabled"]
        if enabled:
            assert pol.canary is not None
            assert pol.canary.weight == result["Weight"]
            assert (pol.canary.header or "") == result.get("Header", "")
            assert (pol.canary.cookie or "") == result.get("Cookie", "")
    elif family == "cors":
        assert (pol.cors is not None) == result["CorsEnabled"]
        cors = cors_settings(short)
        fields = {"CorsAllowOrigin": list(cors.origins), "CorsAllowCredentials": cors.credentials,
                  "CorsAllowHeaders": ",".join(cors.headers), "CorsAllowMethods": ", ".join(cors.methods),
                  "CorsExposeHeaders": ",".join(cors.expose), "CorsMaxAge": cors.max_age}
        for name, want in result.items():
            if name in fields:
                assert fields[name] == want, name
    elif family == "redirect":
        if "isValidURL" in expected:
            for url, error in expected["isValidURL"].items():
                assert validation.redirect_url_ok(url) == (error is None), url
        elif result:
            assert pol.redirect is not None
            assert (pol.redirect.url, pol.redirect.code) == (result["URL"], result["Code"])
    elif family == "rewrite":
        fields = {"Target": pol.rewrite_target or "", "SSLRedirect": pol.ssl_redirect,
                  "ForceSSLRedirect": pol.force_ssl_redirect, "AppRoot": pol.app_root or "", "UseRegex": pol.use_regex}
        for name, want in (result or {}).items():
            assert fields[name] == want, name
    elif family in ("snippet", "serversnippet"):
        key = "configuration-snippet" if family == "snippet" else "server-snippet"
        assert (key in pol.snippets) == bool(result)
    elif family == "xforwardedprefix":
        assert (pol.x_forwarded_prefix or "") == result
    elif family == "upstreamvhost":
        assert pol.upstream_vhost == result
    elif family == "sessionaffinity":
        assert pol.affinity_cookie == result["Cookie"]["Name"] and result["Type"] == "cookie"
    elif family in ("ipallowlist", "ipdenylist"):
        nets = pol.allow if family == "ipallowlist" else pol.deny
        assert sorted(str(n) for n in nets) == result["CIDR"]
    elif family == "auth":
        if result:
            assert (pol.auth_type, pol.auth_realm, pol.basic_auth) == (result["Type"], result["Realm"],
                                                                     result["Secured"])
    elif family == "authreq":
        if result and "URL" in result:
            assert pol.auth_url == result["URL"]
        if result and "AuthCacheDuration" in result:
            assert validation.cache_durations(short.get("auth-cache-duration") or "") == result["AuthCacheDuration"]
        if result and {"ResponseHeaders", "ProxySetHeaders"} & set(result):
            pytest.skip("headers the external auth service returns or receives need that service")
        if result and "KeepaliveConnections" in result:
            pytest.skip("keepalive towards the external auth service is not observable per request")


@pytest.mark.parametrize("entry", _entries())
def test_annotation_parser(entry: dict[str, Any]) -> None:
    family, expected = entry["family"], entry["expected"]
    ctx = entry["input"].get("context") or {}
    derived = entry.get("derived_from_parser_source") or {}
    if ctx.get("EnableAnnotationValidation") is False:
        pytest.skip("the controller started with annotation validation switched off is not modelled")
    if expected.get("function") == "ParseStringToCacheDurations":
        got = validation.cache_durations(expected["arg"])
        assert (got is None) == expected["error"]
        if not expected["error"]:
            assert got == expected["result"]
        return
    if "validator_error" in expected:
        ((key, value),) = entry["input"]["annotations"].items()
        assert validation.VALIDATORS[key.removeprefix(PREFIX)](value) != expected["validator_error"]
        return
    if _needs_secret(entry) or (family == "authtls" and "existing_secrets" in ctx):
        pytest.skip("whether the controller can read the Secret decides this; the model never reads Secrets")
    if "configmap proxy-headers-map data" in ctx:
        pytest.skip("decided by the ConfigMap the parser test mocks for the auth subrequest's headers")
    pol = _policy(entry)
    kind = SOURCE_CORRECTIONS.get(derived.get("error_kind", ""), derived.get("error_kind", ""))
    if derived.get("ingress_dropped"):
        assert isinstance(pol, str), "the controller leaves this Ingress out"
        return
    assert not isinstance(pol, str), f"the controller keeps this Ingress: {pol}"
    if kind == "LocationDeniedError":
        assert pol.denied is not None, "the controller denies every location of this Ingress (503)"
        return
    assert pol.denied is None
    if expected.get("error") is True:  # an error Extract skips: the parser's settings are discarded
        if family == "canary":
            assert pol.canary is None
        if family == "authreq":
            assert pol.auth_url is None
        return
    if family in VALUES_NOT_MODELLED:
        pytest.skip(VALUES_NOT_MODELLED[family] + " (the Ingress is kept, as the controller keeps it)")
    _check_values(family, expected, pol, entry)
