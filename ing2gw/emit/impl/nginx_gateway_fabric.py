"""The ``nginx-gateway-fabric`` emitter: Gateway API objects plus NGINX Gateway Fabric v2.6
policies and filters, from the mapping table :data:`ROWS` (MAPPING.md, column NGF).

NGF runs nginx, so what it has a policy for is exact: RateLimitPolicy (``limit_req`` per client
address, burst, ``nodelay``, the same reject code), ClientSettingsPolicy (``client_max_body_size``,
``0`` = no limit, nginx's 1m default), ProxySettingsPolicy (connect/read/send timeouts, response
buffers), AuthenticationFilter (``auth_basic`` with the ``auth`` key of the same htpasswd Secret).
NGF policies attach to whole routes only (no ``sectionName``). What it has no kind for -- external
auth, IP lists, retries -- is written as the nginx directives ingress-nginx itself generates, in
SnippetsFilter (rule) and SnippetsPolicy (Gateway) objects: approximate, because snippets are off
unless NGF is installed with ``nginxGateway.snippets.enable=true`` and their text is not validated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import (
    BackendTLSOptions,
    BasicAuth,
    BodyLimit,
    Buffering,
    ClientCertAuth,
    Cors,
    ErrorPages,
    ExternalAuth,
    ForwardedHeaders,
    Intent,
    IPAccess,
    LoadBalancing,
    Opaque,
    RateLimit,
    Retries,
    SessionAffinity,
    Timeouts,
    Waf,
)
from ...names import short_hash
from ...policy import AttachedPolicy
from ..objects import GROUP, meta
from .authparts import split_ref
from .base import ImplEmitter, ObjectKind, Piece, Row, Site
from .nginx_gateway_fabric_read import read_policies
from .values import access_lists, auth_url

__all__ = ["EMITTER", "ROWS", "NginxGatewayFabricEmitter", "nginx_duration", "nginx_size"]

_API = "gateway.nginx.org/v1alpha1"
_SNIPPETS = "snippets are off unless NGINX Gateway Fabric runs with nginxGateway.snippets.enable=true"


def nginx_duration(ms: int) -> tuple[str, bool]:
    """An NGF duration (at most 4 digits and a unit) and whether it is exact (else rounded up)."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if ms % size == 0 and ms // size <= 9999:
            return f"{ms // size}{unit}", True
    return f"{-(-ms // 1000)}s", False


def nginx_size(n: int) -> tuple[str, bool]:
    """An NGF size (at most 4 digits, k/m/g) and whether it is exact (else rounded up)."""
    for unit, size in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("", 1)):
        if n % size == 0 and n // size <= 9999:
            return f"{n // size}{unit}", True
    for unit, size in (("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30)):
        if -(-n // size) <= 9999:
            return f"{-(-n // size)}{unit}", False
    return "9999g", False


def _snippet(context: str, value: str) -> dict[str, Any]:
    return {"snippets": [{"context": context, "value": value}]}


def _external_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    url = auth_url(intent.url, site.namespace)
    if isinstance(url, str):
        return url
    listeners = site.listeners()
    if not listeners:
        return "the route attaches to no Gateway, which would hold the auth location"
    host = f"{url.service}.{url.namespace}.svc.cluster.local" if url.service else url.host
    location = f"/_ing2gw_auth_{short_hash(intent.url, 10)}"
    method = f"\n  proxy_method {intent.method};" if intent.method and intent.method != "GET" else ""
    internal = (f"location = {location} {{\n  internal;{method}\n"
                f"  proxy_pass {url.scheme}://{host}:{url.port}{url.path};\n  proxy_pass_request_body off;\n"
                "  proxy_set_header Content-Length \"\";\n"
                "  proxy_set_header X-Original-URL $scheme://$http_host$request_uri;\n"
                "  proxy_set_header X-Original-Method $request_method;\n"
                "  proxy_set_header X-Auth-Request-Redirect $request_uri;\n}")
    lines = [f"auth_request {location};"]
    for header in intent.response_headers:
        var = "$auth_" + re.sub(r"[^a-z0-9]", "_", header.lower())
        lines.append(f"auth_request_set {var} $upstream_http_{re.sub(r'[^a-z0-9]', '_', header.lower())};")
        lines.append(f"proxy_set_header {header} {var};")
    notes = [_SNIPPETS, "an in-cluster auth host is resolved when nginx loads its configuration"]
    if intent.signin_url:
        param = intent.signin_redirect_param or "rd"
        lines.append(f"error_page 401 = {intent.signin_url}?{param}=$scheme://$http_host$request_uri;")
        notes.append("the sign-in redirect's return URL is not escaped")
    if intent.request_headers_from:
        notes.append(f"the extra auth request headers of ConfigMap {intent.request_headers_from} are not sent")
    if intent.cache_key:
        notes.append("the auth answer cache is not carried")
    gateways = sorted({(ns, gw) for ns, gw, _ in listeners})
    extra = tuple({"apiVersion": _API, "kind": "SnippetsPolicy",
                   "metadata": meta(f"{gw}-external-auth", ns, [intent.provenance.subject]),
                   "spec": {"targetRefs": [{"group": GROUP, "kind": "Gateway", "name": gw}],
                            **_snippet("http.server", internal)}} for ns, gw in gateways)
    return Piece(_snippet("http.server.location", "\n".join(lines)), difference="; ".join(notes), extra=extra)


def _basic_auth(intent: BasicAuth, site: Site) -> Piece | str:
    if intent.scheme != "basic":
        return "NGINX Gateway Fabric has no digest authentication"
    if intent.secret is None:
        return "no credentials Secret is named"
    ns, name = split_ref(intent.secret, site.namespace)
    secret = ""
    if intent.secret_layout == "map":
        secret = (f"NGINX Gateway Fabric reads an htpasswd file from key auth: create Secret {site.namespace}/{name} "
                  f"with key auth holding one 'user:hash' line per key of the source Secret {ns}/{name}")
    elif ns != site.namespace:
        secret = (f"NGINX Gateway Fabric reads the Secret from the route's namespace: copy Secret {ns}/{name} "
                  f"(key auth, htpasswd) to {site.namespace}/{name}")
    realm = intent.realm or "Authentication Required"
    difference = "" if intent.realm else "the challenge names the realm 'Authentication Required'"
    return Piece({"type": "Basic", "basic": {"secretRef": {"name": name}, "realm": realm}},
                 difference=difference, exact=not difference, secret=secret)


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    lists = access_lists(intent, site.rule.intents, "allow/deny snippet")
    if not isinstance(lists, tuple):
        return lists
    deny = [f"deny {c};" for c in lists[0]]
    allow = [f"allow {c};" for c in lists[1]]
    lines = deny + allow if intent.order == "deny-first" else allow + deny
    if allow:
        lines.append("deny all;")
    notes = [_SNIPPETS]
    if intent.client_address == "forwarded":
        notes.append("the client address is the one NginxProxy rewriteClientIP derives; set it to match the "
                     "source's real-IP settings")
    if intent.status != 403:
        notes.append(f"refused requests get 403, not {intent.status}")
    return Piece(_snippet("http.server.location", "\n".join(lines)), difference="; ".join(notes))


def _rate_limit(intent: RateLimit, site: Site) -> Piece | str:
    if intent.unit == "connections":
        return "concurrent connection limits need an http-context limit_conn_zone snippet"
    if intent.key != "client-ip":
        return f"the rate-limit key {intent.key} has no NGINX Gateway Fabric form"
    rule: dict[str, Any] = {"rate": f"{intent.rate}r/{'s' if intent.unit == 'second' else 'm'}",
                            "key": "$binary_remote_addr"}
    if intent.burst:
        rule["burst"] = intent.burst
        rule["noDelay"] = True
    difference = ""
    if intent.exempt:
        difference = (f"the exempt addresses {', '.join(intent.exempt)} are limited too (their geo key needs an "
                      "http-context snippet)")
    return Piece({"rateLimit": {"local": {"rules": [rule]}, "rejectCode": intent.status}},
                 difference=difference, exact=not difference)


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        # "0" in the source is no limit, and so it is here: "0" disables the check
        return Piece({"body": {"maxSize": "0"}})
    if intent.implicit and intent.max_bytes == 1 << 20:
        return Piece({}, difference="nginx's default 1m limit applies unchanged: nothing is emitted")
    size, exact = nginx_size(intent.max_bytes)
    return Piece({"body": {"maxSize": size}}, exact=exact,
                 difference="" if exact else f"the limit is rounded up to {size}")


def _timeouts(intent: Timeouts, site: Site) -> Piece | str:
    spec: dict[str, str] = {}
    rounded: list[str] = []
    for key, ms in (("connect", intent.connect_ms), ("read", intent.read_ms), ("send", intent.send_ms)):
        if ms is not None:
            spec[key], exact = nginx_duration(ms)
            if not exact:
                rounded.append(f"{key} is rounded up to {spec[key]}")
    if not spec:
        return "no connect, read or send timeout to carry"
    notes = rounded + [f"the {w} timeout is not carried" for w, v in (("client idle", intent.idle_ms),
                                                                      ("total request", intent.request_ms)) if v]
    return Piece({"timeout": spec}, difference="; ".join(notes), exact=not notes)


def _retries(intent: Retries, site: Site) -> Piece | str:
    lines = [f"proxy_next_upstream {' '.join(intent.on)};", f"proxy_next_upstream_tries {intent.attempts};"]
    budget = f"{intent.budget_ms}ms" if intent.budget_ms else "0"
    lines.append(f"proxy_next_upstream_timeout {budget};")
    return Piece(_snippet("http.server.location", "\n".join(lines)), difference=_SNIPPETS)


def _buffering(intent: Buffering, site: Site) -> Piece | str:
    spec: dict[str, Any] = {}
    if intent.response_header_bytes:
        size, exact = nginx_size(intent.response_header_bytes)
        spec["bufferSize"] = size
    if intent.response_body is not None:
        spec["disable"] = not intent.response_body
    if not spec:
        return "request body buffering has no ProxySettingsPolicy field"
    return Piece({"buffering": spec})


def _backend_tls(intent: BackendTLSOptions, site: Site) -> Piece | str:
    if intent.client_cert:
        return "a client certificate towards the backend needs a file path nginx reads, which a snippet cannot name"
    lines = []
    if intent.protocols:
        lines.append(f"proxy_ssl_protocols {' '.join(intent.protocols)};")
    if intent.ciphers:
        lines.append(f"proxy_ssl_ciphers {intent.ciphers};")
    if intent.verify_depth is not None:
        lines.append(f"proxy_ssl_verify_depth {intent.verify_depth};")
    if not lines:
        return "no TLS option to carry"
    return Piece(_snippet("http.server.location", "\n".join(lines)), difference=_SNIPPETS)


def _cors(intent: Cors, site: Site) -> Piece | str:
    notes = ["the HTTPRoute CORS filter carries the CORS settings"]
    if intent.preflight_status and intent.preflight_status != 204:
        notes.append(f"preflights are answered by the CORS filter, not with {intent.preflight_status}")
    return Piece({}, difference="; ".join(notes))


ROWS: tuple[Row, ...] = (
    Row(ExternalAuth, "SnippetsFilter", "spec.snippets[http.server.location]", "A",
        "ingress-nginx's own auth_request construction (an internal location in a Gateway SnippetsPolicy, "
        "auth_request and auth_request_set in the rule's SnippetsFilter); snippets are off by default and not "
        "validated",
        doc="Needs nginxGateway.snippets.enable=true; the internal location is in SnippetsPolicy "
            "<gateway>-external-auth.", build=_external_auth),
    Row(BasicAuth, "AuthenticationFilter", "spec.basic", "E",
        "nginx auth_basic with the same htpasswd Secret (key auth): every hash format works",
        doc="The Secret must be in the route's namespace.", build=_basic_auth),
    Row(IPAccess, "SnippetsFilter", "spec.snippets[http.server.location]", "A",
        "the same allow/deny directives, deny list first, through a snippet (off by default)",
        doc="Needs nginxGateway.snippets.enable=true.", build=_ip_access),
    Row(RateLimit, "RateLimitPolicy", "spec.rateLimit.local", "E",
        "the same nginx limit_req per client address, burst and nodelay, same reject code; the zone is per "
        "policy, one per route (ingress-nginx: per Ingress)", build=_rate_limit),
    Row(RateLimit, "", "", "N", "limit-connections needs http-context snippets (limit_conn_zone)"),
    Row(BodyLimit, "ClientSettingsPolicy", "spec.body.maxSize", "E",
        "client_max_body_size: 413 above it; 0 disables the check; nginx's default 1m applies without a policy",
        build=_body_limit),
    Row(Timeouts, "ProxySettingsPolicy", "spec.timeout", "E",
        "proxy_connect_timeout, proxy_read_timeout and proxy_send_timeout, as in ingress-nginx", build=_timeouts),
    Row(Buffering, "ProxySettingsPolicy", "spec.buffering", "E",
        "proxy_buffer_size and proxy_buffering; NGF's default buffering is on", build=_buffering),
    Row(Retries, "SnippetsFilter", "spec.snippets[http.server.location]", "A",
        "the same proxy_next_upstream directives through a snippet (off by default)",
        doc="Needs nginxGateway.snippets.enable=true.", build=_retries),
    Row(BackendTLSOptions, "SnippetsFilter", "spec.snippets[http.server.location]", "A",
        "the same proxy_ssl_protocols, proxy_ssl_ciphers and proxy_ssl_verify_depth directives through a snippet "
        "(off by default), next to the standard BackendTLSPolicy", doc="Needs nginxGateway.snippets.enable=true.",
        build=_backend_tls),
    Row(Cors, "HTTPRoute", "rules[].filters[CORS]", "A", "the standard CORS filter answers preflights itself",
        build=_cors),
    Row(SessionAffinity, "HTTPRoute", "rules[].sessionPersistence", "N",
        "sessionPersistence is NGINX Plus only (sticky cookie); open-source NGF has no cookie affinity"),
    Row(LoadBalancing, "UpstreamSettingsPolicy", "spec.loadBalancingMethod", "N",
        "UpstreamSettingsPolicy targets a Service (every route using it), not written by ing2gw yet"),
    Row(ClientCertAuth, "Gateway", "spec.tls.frontend", "N",
        "standard frontend validation applies per Gateway port, not per host; not written by ing2gw yet"),
    Row(Waf, "WAFPolicy", "spec", "N",
        "WAFPolicy is NGINX App Protect (NGINX Plus), a different rule language from ModSecurity/CRS"),
    Row(ErrorPages, "SnippetsFilter", "spec.snippets", "N", "custom error pages need an error location snippet"),
    Row(ForwardedHeaders, "NginxProxy", "spec.rewriteClientIP", "N",
        "set NginxProxy rewriteClientIP on the GatewayClass or Gateway by hand (controller-wide in the source)"),
    Row(Opaque, "", "", "N", "source settings without a model are not carried"),
)


class NginxGatewayFabricEmitter(ImplEmitter):
    name = "nginx-gateway-fabric"
    description = ("Gateway API plus NGINX Gateway Fabric v2.6 policies: RateLimitPolicy, ClientSettingsPolicy, "
                   "ProxySettingsPolicy, AuthenticationFilter; external auth, IP lists and retries as snippets")
    target = "nginx-gateway-fabric"
    kinds = (
        ObjectKind("AuthenticationFilter", "basic-auth", "extensionRef"),
        ObjectKind("SnippetsFilter", "snippets", "extensionRef"),
        ObjectKind("RateLimitPolicy", "rate-limit", "targetRefs"),
        ObjectKind("ClientSettingsPolicy", "client", "targetRef"),
        ObjectKind("ProxySettingsPolicy", "proxy", "targetRefs"),
    )
    rows = ROWS

    def gateway_piece(self, intent: Intent) -> Piece | str | None:
        """The controller's default 1m body limit is nginx's, so NGF's, too."""
        if isinstance(intent, BodyLimit) and intent.max_bytes == 1 << 20:
            return Piece({}, difference="nginx's default 1m body limit applies unchanged: nothing is emitted")
        return None

    def finish(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        """One snippet per context (the CRDs' rule), the pieces' texts joined in order."""
        if kind not in ("SnippetsFilter", "SnippetsPolicy") or "snippets" not in spec:
            return spec
        joined: dict[str, list[str]] = {}
        for s in spec["snippets"]:
            if s["value"] not in joined.setdefault(s["context"], []):
                joined[s["context"]].append(s["value"])
        return {**spec, "snippets": [{"context": c, "value": "\n".join(v)} for c, v in joined.items()]}

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        """The intents this emitter's objects in ``manifests`` carry, as NGINX Gateway Fabric enforces them."""
        return read_policies(manifests)


EMITTER = NginxGatewayFabricEmitter()
