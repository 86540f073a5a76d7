"""Which Gateway API conformance features an object needs its implementation to support.

The names are those a GatewayClass lists in ``status.supportedFeatures``; the preflight
check compares the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["features_used"]

_REDIRECT_CODES = {303: "HTTPRoute303RedirectStatusCode", 307: "HTTPRoute307RedirectStatusCode",
                   308: "HTTPRoute308RedirectStatusCode"}


def _filter_features(filters: Iterable[Any], backend: bool) -> set[str]:
    found: set[str] = set()
    mirrors = 0
    for f in filters:
        if not isinstance(f, Mapping):
            continue
        kind = f.get("type")
        if kind == "RequestHeaderModifier" and backend:
            found.add("HTTPRouteBackendRequestHeaderModification")
        elif kind == "ResponseHeaderModifier":
            found.add("HTTPRouteResponseHeaderModification")
        elif kind == "RequestRedirect":
            redirect = f.get("requestRedirect") or {}
            if "scheme" in redirect:
                found.add("HTTPRouteSchemeRedirect")
            if "port" in redirect:
                found.add("HTTPRoutePortRedirect")
            if "path" in redirect:
                found.add("HTTPRoutePathRedirect")
            code = redirect.get("statusCode")
            if code in _REDIRECT_CODES:
                found.add(_REDIRECT_CODES[code])
        elif kind == "URLRewrite":
            rewrite = f.get("urlRewrite") or {}
            if "hostname" in rewrite:
                found.add("HTTPRouteHostRewrite")
            if "path" in rewrite:
                found.add("HTTPRoutePathRewrite")
        elif kind == "RequestMirror":
            mirrors += 1
            found.add("HTTPRouteRequestMirror")
            mirror = f.get("requestMirror") or {}
            if "percent" in mirror or "fraction" in mirror:
                found.add("HTTPRouteRequestPercentageMirror")
        elif kind == "CORS":
            found.add("HTTPRouteCORS")
    if mirrors > 1:
        found.add("HTTPRouteRequestMultipleMirrors")
    return found


def features_used(manifest: Mapping[str, Any]) -> set[str]:
    """Gateway API conformance feature names an object needs its implementation to support
    (as listed in a GatewayClass's ``status.supportedFeatures``)."""
    kind = manifest.get("kind")
    spec = manifest.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    found: set[str] = set()
    if kind in ("Gateway", "ReferenceGrant", "GRPCRoute", "BackendTLSPolicy", "ListenerSet", "HTTPRoute"):
        found.add(str(kind))
    if kind == "Gateway":
        for listener in spec.get("listeners") or []:
            if isinstance(listener, Mapping) and listener.get("port") == 8080:
                found.add("GatewayPort8080")
    if kind not in ("HTTPRoute", "GRPCRoute"):
        return found
    prefix = "HTTPRoute" if kind == "HTTPRoute" else "GRPCRoute"
    if any(isinstance(ref, Mapping) and "port" in ref for ref in spec.get("parentRefs") or []):
        found.add(f"{prefix}ParentRefPort" if kind == "HTTPRoute" else "GRPCRoute")
    for rule in spec.get("rules") or []:
        if not isinstance(rule, Mapping):
            continue
        if rule.get("name"):
            found.add(f"{prefix}NamedRouteRule")
        if kind != "HTTPRoute":
            continue
        timeouts = rule.get("timeouts") or {}
        if "request" in timeouts:
            found.add("HTTPRouteRequestTimeout")
        if "backendRequest" in timeouts:
            found.add("HTTPRouteBackendTimeout")
        if "retry" in rule:
            found.add("HTTPRouteRetry")
        for match in rule.get("matches") or []:
            if isinstance(match, Mapping):
                if "method" in match:
                    found.add("HTTPRouteMethodMatching")
                if match.get("queryParams"):
                    found.add("HTTPRouteQueryParamMatching")
        found |= _filter_features(rule.get("filters") or [], backend=False)
        for ref in rule.get("backendRefs") or []:
            if isinstance(ref, Mapping):
                found |= _filter_features(ref.get("filters") or [], backend=True)
    return found
