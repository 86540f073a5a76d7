"""HTTPProxy policies -> Gateway API filters where the Gateway API has them, typed intents
otherwise, and a note for everything else.

Route level: ``requestHeadersPolicy`` / ``responseHeadersPolicy`` (header modifiers; a
``Host`` set is a URLRewrite hostname; ``%CONTOUR_NAMESPACE%``-style variables substituted),
``pathRewritePolicy.replacePrefix`` (URLRewrite ReplacePrefixMatch: the entry whose prefix is
the route's, else the one without prefix), ``requestRedirectPolicy`` (RequestRedirect, 302
unless told), ``timeoutPolicy.response`` (rule timeout; ``infinity`` none, ``0s`` Envoy's
default), ``timeoutPolicy.idle`` and ``retryPolicy`` (timeouts/retries intents),
``loadBalancerPolicy`` (load-balancing or session-affinity intent), ``rateLimitPolicy``
(local: a rate-limit intent; global: an opaque rate-limit protection), IP allow/deny
policies (ip-access intent; the route's replace the virtual host's), ``authPolicy``.
Services: weights (none given = equal; some given = the others get 0), ``mirror`` (a
RequestMirror filter, ``weight`` the percentage), per-service header policies (backendRef
filters). Virtual host: ``corsPolicy`` (CORS filter), ``authorization`` (external-auth intent:
a gRPC ExtensionService), ``jwtProviders`` (an opaque authentication protection),
``tls.clientValidation`` (client-cert-auth intent on the HTTPS routes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import (
    CORS,
    BackendRef,
    Filter,
    HeaderModifier,
    PathModifier,
    Provenance,
    RequestMirror,
    RequestRedirect,
    Timeouts,
    URLRewrite,
)
from ing2gw.kinds import KubeObject
from ing2gw.notes import Fidelity, Level, Security
from ing2gw.resources import ResourceSet

from .annotations import parse_go_duration
from .tree import ContourRoute, VirtualHost

__all__ = ["number", "Noter", "RuleParts", "backends_of", "route_parts", "vhost_filters", "vhost_intents"]

# note(obj, field, code, level, message, fidelity, instead, aspects, security)
Noter = Callable[..., None]


@dataclass(slots=True)
class RuleParts:
    """What one HTTPProxy route becomes besides its matches."""

    backends: list[BackendRef] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    intents: list[i.Intent] = field(default_factory=list)
    timeouts: Timeouts | None = None


def number(value: Any, default: int = 0) -> int:
    """An integer field as Contour's schema types it; anything else (a string, a float) is
    taken as unset -- the API server would have refused the object."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _prov(obj: KubeObject, fld: str) -> Provenance:
    return Provenance(obj.kind.kind, obj.namespace, obj.name, fld, obj.origin)


def _expand(value: str, variables: Mapping[str, str]) -> str | None:
    """A header value with Contour's ``%VAR%`` variables substituted (None: one it cannot)."""
    for name, v in variables.items():
        value = value.replace(f"%{name}%", v)
    return None if "%" in value.replace("%%", "") else value.replace("%%", "%")


def header_modifier(policy: Any, obj: KubeObject, fld: str, note: Noter, variables: Mapping[str, str],
                    allow_host: bool) -> tuple[HeaderModifier | None, str | None]:
    """A header policy as a modifier, and the Host it sets (request side only)."""
    policy = _map(policy)
    sets: list[tuple[str, str]] = []
    host = None
    for n, h in enumerate(_list(policy.get("set"))):
        h = _map(h)
        name, raw = str(h.get("name") or ""), str(h.get("value") or "")
        if not name:
            continue
        value = _expand(raw, variables)
        if value is None:
            note(obj, f"{fld}.set[{n}]", "HEADER-VARIABLE", Level.WARNING,
                 f"header {name}: {raw!r} uses an Envoy variable the Gateway API cannot fill in",
                 Fidelity.UNSUPPORTED, "header not set", ("headers",))
            continue
        if name.lower() == "host":
            if allow_host:
                host = value
            else:
                note(obj, f"{fld}.set[{n}]", "HEADER-HOST", Level.WARNING, "Contour refuses a Host header here",
                     Fidelity.UNSUPPORTED, "ignored", ("host",))
            continue
        sets.append((name, value))
    remove = tuple(str(r) for r in _list(policy.get("remove")) if r)
    if not sets and not remove:
        return None, host
    return HeaderModifier(set=tuple(sets), remove=remove), host


def backends_of(r: ContourRoute, rs: ResourceSet, note: Noter) -> tuple[list[BackendRef], list[Filter]]:
    """The route's services as weighted backendRefs (with their own header filters), and its
    mirror as a RequestMirror filter."""
    obj, base = r.owner, r.field
    services = [(n, _map(s)) for n, s in enumerate(_list(r.spec.get("services")))]
    weighted = [(n, s) for n, s in services if not s.get("mirror")]
    any_weight = any(number(s.get("weight"), 0) > 0 for _, s in weighted)
    refs: list[BackendRef] = []
    mirrors: list[Filter] = []
    for n, s in services:
        fld = f"{base}.services[{n}]"
        name = str(s.get("name") or "")
        port = s.get("port")
        if not name or not isinstance(port, int):
            note(obj, fld, "SERVICE-INVALID", Level.ERROR, "a service needs a name and a port number",
                 None, "service skipped", ("status", "backend"))
            continue
        svc = rs.services.get((obj.namespace, name))
        if svc is None and rs.has_services:
            note(obj, fld, "SERVICE-MISSING", Level.WARNING, f"Service {obj.namespace}/{name} is not in the input "
                 "(Contour answers 503 for a route whose Service does not exist)", None, "backendRef kept as written",
                 ("status", "backend"))
        variables = {"CONTOUR_NAMESPACE": obj.namespace, "CONTOUR_SERVICE_NAME": name,
                     "CONTOUR_SERVICE_PORT": str(port)}
        filters: list[Filter] = []
        req, host = header_modifier(s.get("requestHeadersPolicy"), obj, fld + ".requestHeadersPolicy", note, variables,
                                    allow_host=True)
        if host is not None:
            note(obj, fld + ".requestHeadersPolicy", "SERVICE-HOST-REWRITE", Level.WARNING,
                 "a per-service Host rewrite has no backendRef form", Fidelity.UNSUPPORTED, "not rewritten", ("host",))
        if req:
            filters.append(Filter("RequestHeaderModifier", req, _prov(obj, fld + ".requestHeadersPolicy")))
        resp, _ = header_modifier(s.get("responseHeadersPolicy"), obj, fld + ".responseHeadersPolicy", note,
                                  variables, allow_host=False)
        if resp:
            filters.append(Filter("ResponseHeaderModifier", resp, _prov(obj, fld + ".responseHeadersPolicy")))
        for key in ("protocol", "validation", "slowStartPolicy", "healthPort", "cookieRewritePolicies"):
            if s.get(key):
                note(obj, f"{fld}.{key}", f"SERVICE-{key.upper()}", Level.WARNING,
                     f"services[].{key} has no portable Gateway API form", Fidelity.UNSUPPORTED, "not converted",
                     ("status",) if key in ("protocol", "validation") else ())
        ref = BackendRef(name=name, namespace=obj.namespace, port=port, filters=tuple(filters))
        if s.get("mirror"):
            weight = number(s.get("weight"), 0)
            mirrors.append(Filter("RequestMirror", RequestMirror(ref, weight if 0 < weight < 100 else None),
                                  _prov(obj, fld)))
            continue
        weight = number(s.get("weight"), 0) if any_weight else 1
        refs.append(BackendRef(name=name, namespace=obj.namespace, port=port, weight=weight, filters=tuple(filters)))
    if len(mirrors) > 1:
        note(obj, base, "MIRROR-SEVERAL", Level.ERROR, "Contour allows one mirror service per route", None,
             "every mirror kept", ())
    return refs, mirrors


def _duration(text: Any, obj: KubeObject, fld: str, note: Noter) -> int | None:
    """Milliseconds of a Go duration field; None when unset, 0s or infinity."""
    if text in (None, ""):
        return None
    try:
        d = parse_go_duration(str(text))
    except ValueError as exc:
        note(obj, fld, "DURATION-INVALID", Level.ERROR, f"{text!r}: {exc}", None, "ignored", ())
        return None
    return d.millis if d is not None and d.millis > 0 else None


def _redirect(policy: Mapping[str, Any], r: ContourRoute, note: Noter) -> Filter:
    fld = r.field + ".requestRedirectPolicy"
    path = None
    if policy.get("path"):
        path = PathModifier("ReplaceFullPath", str(policy["path"]))
    elif policy.get("prefix"):
        if r.path.kind == "prefix":
            path = PathModifier("ReplacePrefixMatch", str(policy["prefix"]))
        else:
            note(r.owner, fld + ".prefix", "REDIRECT-PREFIX", Level.WARNING, "a prefix redirect on a route without a "
                 "prefix condition has no Gateway API form", Fidelity.UNSUPPORTED, "path kept", ("redirect",))
    code = number(policy.get("statusCode"), 302)
    port = policy.get("port")
    return Filter("RequestRedirect", RequestRedirect(
        scheme=str(policy["scheme"]) if policy.get("scheme") else None,
        hostname=str(policy["hostname"]) if policy.get("hostname") else None,
        port=int(port) if isinstance(port, int) else None, path=path, status_code=code), _prov(r.owner, fld))


def _rewrite(policy: Mapping[str, Any], r: ContourRoute, note: Noter) -> PathModifier | None:
    entries = [_map(e) for e in _list(policy.get("replacePrefix"))]
    if not entries:
        return None
    fld = r.field + ".pathRewritePolicy"
    if r.path.kind != "prefix":
        note(r.owner, fld, "REWRITE-NO-PREFIX", Level.ERROR, "replacePrefix needs a route with a prefix condition: "
             "Contour refuses the route", None, "not rewritten", ("path",))
        return None
    chosen = next((e for e in entries if e.get("prefix") and str(e["prefix"]) == r.path.value), None)
    chosen = chosen or next((e for e in entries if not e.get("prefix")), None)
    if chosen is None:
        return None
    return PathModifier("ReplacePrefixMatch", str(chosen.get("replacement") or "/"))


def _rate_limit(policy: Any, obj: KubeObject, fld: str, note: Noter, key: str) -> list[i.Intent]:
    policy = _map(policy)
    out: list[i.Intent] = []
    local = _map(policy.get("local"))
    if local:
        requests, unit = number(local.get("requests"), 0), str(local.get("unit") or "second")
        burst = number(local.get("burst"), 0)
        if unit == "hour":
            per_minute = max(1, math.ceil(requests / 60))
            if requests % 60:
                note(obj, fld + ".local", "RATE-LIMIT-HOURLY", Level.INFO, f"{requests} requests per hour is "
                     f"carried as {per_minute} per minute", Fidelity.APPROXIMATE, "rounded up", ("status",))
            requests, unit = per_minute, "minute"
        out.append(i.RateLimit(rate=requests, unit="minute" if unit == "minute" else "second", burst=burst, key=key,
                               status=number(local.get("responseStatusCode"), 429),
                               provenance=_prov(obj, fld + ".local")))
        if local.get("responseHeadersToAdd"):
            note(obj, fld + ".local.responseHeadersToAdd", "RATE-LIMIT-HEADERS", Level.INFO,
                 "headers added to rate-limited answers are not carried", Fidelity.UNSUPPORTED, "dropped", ("headers",))
    glob = _map(policy.get("global"))
    if glob and not glob.get("disabled"):
        out.append(i.Opaque(vendor="contour", key="rateLimitPolicy.global", raw=str(dict(glob)),
                            protection=Security.RATE_LIMIT, affects=("status",),
                            provenance=_prov(obj, fld + ".global")))
    return out


def _ip_access(holder: Mapping[str, Any], obj: KubeObject, fld: str, note: Noter) -> i.IPAccess | None:
    allow, deny = _list(holder.get("ipAllowPolicy")), _list(holder.get("ipDenyPolicy"))
    if not allow and not deny:
        return None
    if allow and deny:
        note(obj, fld, "IP-FILTER-BOTH", Level.ERROR, "ipAllowPolicy and ipDenyPolicy together: Contour refuses the "
             "HTTPProxy", None, "the allow list is kept", ("status",))
    entries = [_map(e) for e in (allow or deny)]
    cidrs = tuple(str(e.get("cidr") or "") for e in entries if e.get("cidr"))
    cidrs = tuple(c if "/" in c else c + ("/128" if ":" in c else "/32") for c in cidrs)
    sources = {str(e.get("source") or "Peer") for e in entries}
    if len(sources) > 1:
        note(obj, fld, "IP-FILTER-SOURCES", Level.WARNING, "the list mixes Peer and Remote sources; the intent checks "
             "one address per request", Fidelity.APPROXIMATE, "Remote (the forwarded address) for every entry",
             ("status",), Security.ACCESS_CONTROL)
    client = "forwarded" if "Remote" in sources else "peer"
    field_name = "ipAllowPolicy" if allow else "ipDenyPolicy"
    return i.IPAccess(allow=cidrs if allow else (), deny=() if allow else cidrs, client_address=client,  # type: ignore[arg-type]
                      provenance=_prov(obj, f"{fld}.{field_name}" if fld else f"spec.{field_name}"))


def route_parts(r: ContourRoute, vh: VirtualHost, rs: ResourceSet, note: Noter) -> RuleParts:
    """Backends, filters, intents and timeouts of one route."""
    parts = RuleParts()
    spec, obj, fld = r.spec, r.owner, r.field
    variables = {"CONTOUR_NAMESPACE": obj.namespace}
    if spec.get("requestRedirectPolicy"):
        parts.filters.append(_redirect(_map(spec["requestRedirectPolicy"]), r, note))
    elif spec.get("directResponsePolicy"):
        direct = _map(spec["directResponsePolicy"])
        note(obj, fld + ".directResponsePolicy", "DIRECT-RESPONSE", Level.WARNING,
             f"Contour answers {direct.get('statusCode')} itself; the Gateway API has no direct response",
             Fidelity.UNSUPPORTED, "a rule without backends (500)", ("status",))
    else:
        refs, mirrors = backends_of(r, rs, note)
        parts.backends, parts.filters = refs, mirrors
    req, host = header_modifier(spec.get("requestHeadersPolicy"), obj, fld + ".requestHeadersPolicy", note, variables,
                                allow_host=True)
    if req:
        parts.filters.append(Filter("RequestHeaderModifier", req, _prov(obj, fld + ".requestHeadersPolicy")))
    resp, _ = header_modifier(spec.get("responseHeadersPolicy"), obj, fld + ".responseHeadersPolicy", note, variables,
                              allow_host=False)
    if resp:
        parts.filters.append(Filter("ResponseHeaderModifier", resp, _prov(obj, fld + ".responseHeadersPolicy")))
    rewrite = _rewrite(_map(spec.get("pathRewritePolicy")), r, note)
    if rewrite is not None or host is not None:
        parts.filters.append(Filter("URLRewrite", URLRewrite(hostname=host, path=rewrite),
                                    _prov(obj, fld + ".pathRewritePolicy")))
    timeouts = _map(spec.get("timeoutPolicy"))
    response = _duration(timeouts.get("response"), obj, fld + ".timeoutPolicy.response", note)
    if response:
        parts.timeouts = Timeouts(request=f"{response}ms" if response % 1000 else f"{response // 1000}s")
    idle = _duration(timeouts.get("idle"), obj, fld + ".timeoutPolicy.idle", note)
    if idle:
        parts.intents.append(i.Timeouts(read_ms=idle, provenance=_prov(obj, fld + ".timeoutPolicy.idle")))
    retry = _map(spec.get("retryPolicy"))
    count = number(retry.get("count"), 0) if retry else 0
    if retry and count != -1:
        on = tuple(str(x) for x in _list(retry.get("retryOn"))) or ("5xx",)
        codes = tuple(f"http_{c}" for c in _list(retry.get("retriableStatusCodes")))
        per_try = _duration(retry.get("perTryTimeout"), obj, fld + ".retryPolicy.perTryTimeout", note)
        parts.intents.append(i.Retries(on=on + codes, attempts=max(count, 1) + 1, budget_ms=None,
                                       provenance=_prov(obj, fld + ".retryPolicy")))
        if per_try:
            parts.intents.append(i.Timeouts(read_ms=per_try, provenance=_prov(obj, fld + ".retryPolicy.perTryTimeout")))
    lb = _map(spec.get("loadBalancerPolicy"))
    strategy = str(lb.get("strategy") or "RoundRobin")
    if strategy == "Cookie":
        parts.intents.append(i.SessionAffinity(cookie="X-Contour-Session-Affinity", path="/",
                                               provenance=_prov(obj, fld + ".loadBalancerPolicy")))
    elif strategy != "RoundRobin":
        hashes = [_map(h) for h in _list(lb.get("requestHashPolicies"))]
        key = ",".join(str(_map(h.get("headerHashOptions")).get("headerName") or
                           _map(h.get("queryParameterHashOptions")).get("parameterName") or
                           ("source-ip" if h.get("hashSourceIP") else "")) for h in hashes) or None
        algorithm = {"WeightedLeastRequest": "least_request", "Random": "random",
                     "RequestHash": "consistent-hash"}.get(strategy, strategy)
        parts.intents.append(i.LoadBalancing(algorithm=algorithm, hash_key=key,
                                             provenance=_prov(obj, fld + ".loadBalancerPolicy")))
    parts.intents += _rate_limit(spec.get("rateLimitPolicy"), obj, fld + ".rateLimitPolicy", note, "route")
    ip = _ip_access(spec, obj, fld, note) or _ip_access(vh.virtualhost, vh.root, "spec.virtualhost", note)
    if ip is not None:
        parts.intents.append(ip)
    for key, aspects in (("healthCheckPolicy", ()), ("cookieRewritePolicies", ("headers",)),
                         ("internalRedirectPolicy", ("status",)), ("enableWebsockets", ())):
        if spec.get(key):
            note(obj, f"{fld}.{key}", f"ROUTE-{key.upper()}", Level.INFO if not aspects else Level.WARNING,
                 f"{key} has no portable Gateway API form" if key != "enableWebsockets" else
                 "WebSocket upgrades: Gateway implementations accept them on every route",
                 Fidelity.UNSUPPORTED if aspects else Fidelity.APPROXIMATE, "not converted", aspects)
    return parts


def vhost_filters(vh: VirtualHost, note: Noter) -> list[Filter]:
    """The virtual host's CORS policy, as a CORS filter for each of its rules."""
    cors = _map(vh.virtualhost.get("corsPolicy"))
    if not cors:
        return []
    max_age = None
    if cors.get("maxAge"):
        try:
            d = parse_go_duration(str(cors["maxAge"]))
            max_age = d.millis // 1000 if d is not None else None
        except ValueError:
            note(vh.root, "spec.virtualhost.corsPolicy.maxAge", "DURATION-INVALID", Level.ERROR,
                 f"{cors['maxAge']!r} is not a duration", None, "ignored", ())
    if cors.get("allowPrivateNetwork"):
        note(vh.root, "spec.virtualhost.corsPolicy.allowPrivateNetwork", "CORS-PRIVATE-NETWORK", Level.INFO,
             "Access-Control-Allow-Private-Network is not carried", Fidelity.UNSUPPORTED, "dropped", ("cors",))
    value = CORS(allow_origins=tuple(str(o) for o in _list(cors.get("allowOrigin"))),
                 allow_methods=tuple(str(m) for m in _list(cors.get("allowMethods"))),
                 allow_headers=tuple(str(h) for h in _list(cors.get("allowHeaders"))),
                 expose_headers=tuple(str(h) for h in _list(cors.get("exposeHeaders"))),
                 allow_credentials=bool(cors.get("allowCredentials")) or None, max_age=max_age)
    return [Filter("CORS", value, _prov(vh.root, "spec.virtualhost.corsPolicy"))]


def vhost_intents(vh: VirtualHost, r: ContourRoute, extension_url: Callable[[str, str], str], note: Noter,
                  secure: bool) -> list[i.Intent]:
    """The virtual host's protections that reach route ``r``: its local rate limit (unless the
    route has its own), external
    authorization (unless the route disables it), JWT verification, client certificates."""
    own = _map(_map(r.spec.get("rateLimitPolicy")).get("local")) if r.spec else {}
    vhost_limit = _map(vh.virtualhost.get("rateLimitPolicy"))
    if own:  # Envoy takes the most specific local rate limit: the route's replaces the virtual host's
        vhost_limit = {k: v for k, v in vhost_limit.items() if k != "local"}
    out = _rate_limit(vhost_limit, vh.root, "spec.virtualhost.rateLimitPolicy", note, "host")
    root, auth = vh.root, _map(vh.virtualhost.get("authorization"))
    disabled = bool(_map(r.spec.get("authPolicy")).get("disabled")) if r.spec else False
    if auth and not disabled and secure:
        ref = _map(auth.get("extensionRef"))
        url = extension_url(str(ref.get("namespace") or root.namespace), str(ref.get("name") or ""))
        out.append(i.ExternalAuth(url=url, provenance=_prov(root, "spec.virtualhost.authorization")))
    if _list(vh.virtualhost.get("jwtProviders")) and secure:
        jwt = _map(r.spec.get("jwtVerificationPolicy")) if r.spec else {}
        names = [str(_map(p).get("name")) for p in _list(vh.virtualhost.get("jwtProviders"))]
        default = next((str(_map(p).get("name")) for p in _list(vh.virtualhost.get("jwtProviders"))
                        if _map(p).get("default")), None)
        provider = str(jwt.get("require") or "") or (None if jwt.get("disabled") else default)
        if provider:
            out.append(i.Opaque(vendor="contour", key="jwtProviders", raw=f"JWT verification by {provider} "
                                f"(providers {', '.join(names)})", protection=Security.AUTHENTICATION,
                                affects=("status", "auth"), provenance=_prov(root, "spec.virtualhost.jwtProviders")))
    cv = _map(vh.tls.get("clientValidation")) if vh.tls else {}
    if cv and secure:
        ca = str(cv.get("caSecret") or "")
        mode = "optional_no_ca" if cv.get("skipClientCertValidation") else \
            "optional" if cv.get("optionalClientCertificate") else "on"
        out.append(i.ClientCertAuth(ca_secret=ca if "/" in ca else f"{root.namespace}/{ca}", mode=mode,
                                    pass_to_upstream=bool(_map(cv.get("forwardClientCertificate")).get("cert")),
                                    provenance=_prov(root, "spec.virtualhost.tls.clientValidation")))
    return out
