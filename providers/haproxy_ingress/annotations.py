"""The HAProxy Ingress (jcmoraisjr/haproxy-ingress) annotation table: every key the controller
reads from an Ingress (its TCP, Frontend, Host, Backend and Path scopes; Global keys come only
from the controller ConfigMap), under ``haproxy-ingress.github.io/`` or the older
``ingress.kubernetes.io/`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import (
    IPNetwork,
    parse_bool,
    parse_cidrs,
    parse_non_negative_int,
    parse_object_ref,
    parse_positive_int,
    parse_size,
    parse_trimmed,
)
from .._haproxy.table import global_row, row
from .._haproxy.values import (
    FAMILY_ASPECTS,
    parse_choice,
    parse_colon_header_lines,
    parse_header_names,
    parse_status_in,
    parse_time,
)
from .bluegreen import parse_balance, parse_selector

__all__ = ["GLOBAL_KEYS", "PREFIXES", "TABLE", "Ranges"]

PREFIXES = ("haproxy-ingress.github.io", "ingress.kubernetes.io")

EXACT, APPROX, EXT, UNSUP = Fidelity.EXACT, Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED

Ranges = tuple[tuple[IPNetwork, ...], tuple[IPNetwork, ...]]  # (rules, exceptions)
REDIRECT_CODES = (301, 302, 303, 307, 308)


def _ranges(text: str) -> Ranges:
    """Comma-separated CIDRs; ``!CIDR`` entries are exceptions to the others."""
    items = [p.strip() for p in text.split(",") if p.strip()]
    rules = [p for p in items if not p.startswith("!")]
    exceptions = [p[1:] for p in items if p.startswith("!")]
    return (parse_cidrs(",".join(rules)) if rules else (), parse_cidrs(",".join(exceptions)) if exceptions else ())


def _url(text: str) -> str:
    value = text.strip()
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an absolute http(s) URL")
    return value


def _path(text: str) -> str:
    value = text.strip()
    if not value.startswith("/"):
        raise ValueError("must start with /")
    return value


def _host(text: str) -> str:
    """A DNS host name (no wildcard, no port)."""
    value = text.strip().lower()
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", value):
        raise ValueError("must be a host name")
    return value


_CORS_ORIGIN = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[A-Za-z0-9\-.]*(:[0-9]+)?|\*")
_CORS_METHODS = re.compile(r"([A-Za-z]+,?\s?)+")
_CORS_HEADERS = re.compile(r"^([A-Za-z0-9\-_]+,?\s?)|\*+$")


def _cors_origins(text: str) -> str:
    """Comma-separated ``scheme://host[:port]`` origins (or ``*``); one malformed origin makes
    the controller ignore the whole list, which then allows any origin."""
    for item in text.split(","):
        if not _CORS_ORIGIN.fullmatch(item):
            raise ValueError(f"{item!r} is not an origin: the controller ignores the list and allows any origin")
    return text


def _cors_origin_regexes(text: str) -> str:
    """Space-separated regular expressions (one that does not compile: the list is ignored)."""
    for item in text.split(" "):
        try:
            re.compile(item)
        except re.error as exc:
            raise ValueError(f"{item!r} is not a regular expression ({exc}): the controller ignores the list") from None
    return text


def _cors_methods(text: str) -> str:
    if not _CORS_METHODS.fullmatch(text):
        raise ValueError("not a list of methods: the controller uses its default")
    return text


def _cors_headers(text: str) -> str:
    if not _CORS_HEADERS.search(text):
        raise ValueError("not a list of header names: the controller ignores it")
    return text


def _none(key: str, family: str, doc: str, target: str = "", parse: Callable[[str], Any] = parse_trimmed
          ) -> AnnotationSpec:
    return row(key, UNSUP, family, doc, parse, target=target)


# Global keys: read from the controller ConfigMap only (strict-host, ssl-redirect-code, path-type-order and
# no-tls-redirect-locations also change what the model and the conversion do).
GLOBAL_KEYS = (
    "acme-emails", "acme-endpoint", "acme-expiring", "acme-shared", "acme-terms-agreed", "allow-local-bind",
    "auth-log-format", "auth-proxy", "auth-tls-default-secret", "bind-ip-addr-healthz", "bind-ip-addr-prometheus",
    "bind-ip-addr-stats", "bind-ip-addr-tcp", "close-sessions-duration", "config-defaults", "config-frontend",
    "config-frontend-early", "config-frontend-late", "config-global", "config-peers", "config-proxy",
    "config-sections", "config-tcp", "cookie-key", "cpu-map", "create-default-frontends",
    "cross-namespace-secrets-ca", "cross-namespace-secrets-crt", "cross-namespace-secrets-passwd",
    "cross-namespace-services", "default-backend-redirect", "default-backend-redirect-code",
    "dns-accepted-payload-size", "dns-cluster-domain", "dns-hold-obsolete", "dns-hold-valid", "dns-resolvers",
    "dns-timeout-retry", "drain-support", "drain-support-redispatch", "external-has-lua", "fcgi-enabled-apps",
    "forwardfor", "groupname", "healthz-port", "http-frontends", "http-log-format", "http-passthrough-port",
    "http-port", "http-response-prometheus-root", "https-log-format", "https-port", "load-server-state",
    "master-exit-on-failure", "max-connections", "modsecurity-args", "modsecurity-endpoints",
    "modsecurity-timeout-hello", "modsecurity-timeout-idle", "modsecurity-timeout-processing",
    "modsecurity-use-coraza", "nbthread", "no-redirect-locations", "no-tls-redirect-locations",
    "original-forwarded-for-hdr", "path-type-order", "peers-name", "peers-port", "peers-table-global",
    "prometheus-port", "real-ip-hdr", "ssl-dh-default-max-size", "ssl-dh-param", "ssl-engine", "ssl-headers-prefix",
    "ssl-mode-async", "ssl-options", "ssl-redirect-code", "stats-auth", "stats-port", "stats-proxy-protocol",
    "stats-ssl-cert", "strict-host", "syslog-endpoint", "syslog-format", "syslog-length", "syslog-tag",
    "tcp-log-format", "timeout-client", "timeout-client-fin", "timeout-stop", "use-chroot", "use-cpu-map",
    "use-haproxy-user", "username", "worker-max-reloads",
)

_HDRS = parse_colon_header_lines

_RESPONSE_CODES = (200, 400, 401, 403, 405, 407, 408, 410, 413, 421, 425, 429, 495, 496, 500, 501, 502, 503, 504)

_SPECS = [
    # --- paths, hosts, redirects, rewrites ----------------------------------------------------
    row("path-type", APPROX, "routing", "Match of ImplementationSpecific paths: begin (default, case-insensitive "
         "character prefix), prefix, exact or regex", parse_choice("begin", "prefix", "exact", "regex"), "begin",
         "PathPrefix, Exact or RegularExpression", noted=True),
    row("http-header-match", EXACT, "routing", "Also requires these request headers ('name: value' lines; exact)",
         parse_colon_header_lines, target="HTTPRoute header matches (Exact)"),
    row("http-header-match-regex", APPROX, "routing", "Also requires these request headers to match regexes",
         parse_colon_header_lines, target="HTTPRoute header matches (RegularExpression, implementation dialect)"),
    row("app-root", APPROX, "redirect", "Redirects a request for / to this path (302)", _path, target="Exact / "
         "rule with RequestRedirect ReplaceFullPath (absolute Location instead of a relative one)", answer=True),
    row("redirect-to", APPROX, "redirect", "Redirects every request of the path to this URL", _url,
         target="RequestRedirect (scheme, hostname, port, ReplaceFullPath)", answer=True),
    row("redirect-to-code", EXACT, "redirect", "Status of redirect-to (default 302)", parse_status_in(REDIRECT_CODES),
         302, "RequestRedirect statusCode"),
    row("redirect-from", EXACT, "redirect", "Redirects requests for this other host to the Ingress host",
         _host, target="an HTTPRoute for that host with a RequestRedirect to the Ingress host", answer=True),
    _none("redirect-from-regex", "redirect", "Redirects hosts matching this regex to the Ingress host"),
    row("redirect-from-code", EXACT, "redirect", "Status of redirect-from (default 302)",
         parse_status_in(REDIRECT_CODES), 302, "RequestRedirect statusCode (301 or 302; others noted)"),
    row("rewrite-target", APPROX, "rewrite", "Replaces the matched path prefix with this path", _path,
         target="URLRewrite ReplacePrefixMatch", noted=True, answer=True),
    row("server-alias", EXACT, "routing", "Another host name served like the Ingress host", _host,
         target="one more hostname on the Ingress's routes"),
    _none("server-alias-regex", "routing", "Host names matching this regex served like the Ingress host"),
    # --- TLS, HSTS ----------------------------------------------------------------------------
    row("ssl-redirect", EXACT, "tls", "Redirects plain HTTP of TLS hosts to HTTPS (default true)", parse_bool, True,
         "HTTPS-only route plus a RequestRedirect route on the HTTP listener", noted=True, answer=True),
    row("hsts", EXACT, "headers", "Adds Strict-Transport-Security to HTTPS answers (default true)", parse_bool,
         True, "ResponseHeaderModifier on the HTTPS route"),
    row("hsts-max-age", EXACT, "headers", "HSTS max-age (default 15768000)", parse_non_negative_int, 15768000,
         "ResponseHeaderModifier value"),
    row("hsts-include-subdomains", EXACT, "headers", "HSTS includeSubDomains", parse_bool, False,
         "ResponseHeaderModifier value"),
    row("hsts-preload", EXACT, "headers", "HSTS preload", parse_bool, False, "ResponseHeaderModifier value"),
    row("ssl-passthrough", APPROX, "tls", "Passes TLS through to the pods, chosen by SNI", parse_bool, False,
         "TLS listener in Passthrough mode and a TLSRoute to the / path's backend", noted=True, answer=True),
    _none("ssl-passthrough-http-port", "tls", "Plain-HTTP port of a passthrough host"),
    _none("ssl-always-add-https", "tls", "Adds the HTTPS frontend even without TLS", parse=parse_bool),
    _none("ssl-always-follow-redirect", "tls", "Redirects to HTTPS even when the redirect is off", parse=parse_bool),
    _none("ssl-ciphers", "tls", "TLS 1.2 ciphers of the host", "Gateway TLS options of the implementation"),
    _none("ssl-cipher-suites", "tls", "TLS 1.3 cipher suites of the host", "Gateway TLS options of the implementation"),
    _none("ssl-options-host", "tls", "TLS options of the host", "Gateway TLS options of the implementation"),
    _none("tls-alpn", "tls", "ALPN protocols of the host (default h2,http/1.1)"),
    _none("acme-preferred-chain", "tls", "ACME issuer chain", "cert-manager"),
    _none("cert-signer", "tls", "Signs the certificate with ACME", "cert-manager"),
    # --- headers ------------------------------------------------------------------------------
    row("headers", EXACT, "headers", "Request headers sent to the backend ('Name: value' lines)", _HDRS,
         target="RequestHeaderModifier set"),
    row("request-set-headers", EXACT, "headers", "Sets request headers ('Name: value' lines)", _HDRS,
         target="RequestHeaderModifier set"),
    row("request-add-headers", EXACT, "headers", "Adds request headers ('Name: value' lines)", _HDRS,
         target="RequestHeaderModifier add"),
    row("request-del-headers", EXACT, "headers", "Removes request headers", parse_header_names,
         target="RequestHeaderModifier remove"),
    row("response-set-headers", EXACT, "headers", "Sets response headers ('Name: value' lines)", _HDRS,
         target="ResponseHeaderModifier set"),
    row("response-add-headers", EXACT, "headers", "Adds response headers ('Name: value' lines)", _HDRS,
         target="ResponseHeaderModifier add"),
    row("response-del-headers", EXACT, "headers", "Removes response headers", parse_header_names,
         target="ResponseHeaderModifier remove"),
    # --- access control, auth, WAF, limits ----------------------------------------------------
    row("allowlist-source-range", EXT, "access", "Only these clients are served, others get 403 (!CIDR: "
         "exceptions)", _ranges, target="IP access policy", intent=i.IPAccess),
    row("whitelist-source-range", EXT, "access", "Deprecated spelling of allowlist-source-range", _ranges,
         intent=i.IPAccess, alias="allowlist-source-range"),
    row("denylist-source-range", EXT, "access", "These clients get 403 (!CIDR: exceptions)", _ranges,
         target="IP access policy", intent=i.IPAccess),
    row("allowlist-source-header", EXT, "access", "Takes the client address for the lists from this header",
         target="forwarded-header trust of the implementation", intent=i.ForwardedHeaders),
    row("auth-secret", EXT, "auth", "Basic auth: Secret (ns/name) with htpasswd lines in key 'auth'",
         parse_object_ref, target="basic-auth policy", intent=i.BasicAuth),
    row("auth-realm", EXT, "auth", "Realm of the basic-auth challenge", target="basic-auth policy",
         intent=i.BasicAuth),
    row("auth-url", EXT, "auth", "External auth: the service asked before each request", target="external-auth "
         "policy", intent=i.ExternalAuth),
    row("auth-method", EXT, "auth", "Method of the external-auth request (default GET)", default="GET",
         target="external-auth policy", intent=i.ExternalAuth),
    row("auth-signin", EXT, "auth", "Where a refused request is redirected", target="external-auth policy",
         intent=i.ExternalAuth),
    row("auth-headers-request", EXT, "auth", "Headers sent to the auth service", target="external-auth policy",
         intent=i.ExternalAuth),
    row("auth-headers-succeed", EXT, "auth", "Auth answer headers copied upstream", target="external-auth policy",
         intent=i.ExternalAuth),
    row("auth-headers-fail", EXT, "auth", "Auth answer headers copied to a refused client",
         target="external-auth policy", intent=i.ExternalAuth),
    row("auth-external-placement", EXT, "auth", "Checks external auth in the backend or the frontend",
         target="external-auth policy", intent=i.ExternalAuth),
    row("oauth", EXT, "auth", "oauth2_proxy authentication", target="external-auth policy", intent=i.ExternalAuth),
    row("oauth-headers", EXT, "auth", "oauth2_proxy headers copied upstream", target="external-auth policy",
         intent=i.ExternalAuth),
    row("oauth-uri-prefix", EXT, "auth", "URI prefix of oauth2_proxy", target="external-auth policy",
         intent=i.ExternalAuth),
    row("auth-tls-secret", EXT, "mtls", "CA (ns/name) verifying client certificates", target="client-certificate "
         "validation", intent=i.ClientCertAuth),
    row("auth-tls-verify-client", EXT, "mtls", "Client certificates: off, optional, optional_no_ca, on",
         target="client-certificate validation", intent=i.ClientCertAuth),
    row("auth-tls-strict", EXT, "mtls", "Refuses the TLS handshake instead of answering with an error",
         parse_bool, False, "client-certificate validation", i.ClientCertAuth),
    row("auth-tls-error-page", EXT, "mtls", "Redirects clients with a bad certificate here",
         target="client-certificate validation", intent=i.ClientCertAuth),
    row("auth-tls-cert-header", EXT, "mtls", "Sends the client certificate upstream", parse_bool, False,
         "client-certificate validation", i.ClientCertAuth),
    row("waf", EXT, "waf", "Web application firewall: modsecurity or coraza", parse_choice("modsecurity", "coraza"),
         target="WAF policy", intent=i.Waf),
    row("waf-mode", EXT, "waf", "deny (default) or detect", parse_choice("deny", "detect"), "deny", "WAF policy",
         i.Waf),
    row("limit-rps", EXT, "ratelimit", "New connections per second per client address; more are refused",
         parse_positive_int, target="rate-limit policy", intent=i.RateLimit),
    row("limit-connections", EXT, "ratelimit", "Concurrent connections per client address", parse_positive_int,
         target="rate-limit policy (connections)", intent=i.RateLimit),
    row("limit-whitelist", EXT, "ratelimit", "Client addresses never limited", parse_cidrs,
         target="rate-limit policy exemptions", intent=i.RateLimit),
    row("proxy-body-size", EXT, "body", "Largest request body (unlimited by default); larger gets 413",
         parse_size, target="body-limit policy", intent=i.BodyLimit),
    # --- CORS ---------------------------------------------------------------------------------
    row("cors-enable", APPROX, "cors", "Answers every OPTIONS request itself (204) and adds CORS headers for an "
         "allowed Origin", parse_bool, False, "HTTPRoute CORS filter (preflight answers differ, noted)"),
    row("cors-allow-origin", APPROX, "cors", "Allowed origins, comma-separated (default *; one malformed origin "
         "and the controller allows any)", _cors_origins, default="*", target="CORS filter allowOrigins"),
    row("cors-allow-origin-regex", APPROX, "cors", "Allowed origins as regexes, space-separated, unanchored",
         _cors_origin_regexes, target="CORS filter allowOrigins (exact origins only)"),
    row("cors-allow-methods", APPROX, "cors", "Allowed methods", _cors_methods, target="CORS filter allowMethods"),
    row("cors-allow-headers", APPROX, "cors", "Allowed headers", _cors_headers, target="CORS filter allowHeaders"),
    row("cors-allow-credentials", APPROX, "cors", "Allows credentials (default false in the controller's code and "
         "tests; its docs say true)", parse_bool, False, "CORS filter allowCredentials"),
    row("cors-expose-headers", APPROX, "cors", "Headers exposed to scripts", _cors_headers,
         target="CORS filter exposeHeaders"),
    row("cors-max-age", APPROX, "cors", "Preflight cache seconds (default 86400)", parse_non_negative_int, 86400,
         "CORS filter maxAge"),
    # --- backends -----------------------------------------------------------------------------
    row("balance-algorithm", EXT, "loadbalancing", "Balancing algorithm (default random(2))", default="random(2)",
         target="load-balancing policy", intent=i.LoadBalancing),
    row("service-upstream", EXT, "loadbalancing", "Proxies to the Service address instead of the pods",
         parse_bool, False, "load-balancing policy", i.LoadBalancing),
    row("affinity", EXT, "affinity", "cookie: sticky sessions", parse_choice("cookie"), target="session affinity",
         intent=i.SessionAffinity),
    row("session-cookie-name", EXT, "affinity", "Sticky cookie name (default INGRESSCOOKIE)",
         default="INGRESSCOOKIE", target="session affinity", intent=i.SessionAffinity),
    row("session-cookie-domain", EXT, "affinity", "Sticky cookie domain", target="session affinity",
         intent=i.SessionAffinity),
    row("session-cookie-dynamic", EXT, "affinity", "Dynamic cookie values", parse_bool, True, "session affinity",
         i.SessionAffinity),
    row("session-cookie-keywords", EXT, "affinity", "Cookie options (default indirect nocache httponly)",
         target="session affinity", intent=i.SessionAffinity),
    row("session-cookie-preserve", EXT, "affinity", "Keeps the backend's own cookie", parse_bool, False,
         "session affinity", i.SessionAffinity),
    row("session-cookie-same-site", EXT, "affinity", "Adds SameSite=None", parse_bool, False, "session affinity",
         i.SessionAffinity),
    row("session-cookie-shared", EXT, "affinity", "Cookie shared by the backend's hosts", parse_bool, False,
         "session affinity", i.SessionAffinity),
    row("session-cookie-strategy", EXT, "affinity", "insert (default), prefix or rewrite",
         parse_choice("insert", "prefix", "rewrite"), "insert", "session affinity", i.SessionAffinity),
    row("session-cookie-value-strategy", EXT, "affinity", "server-name (default) or pod-uid",
         parse_choice("server-name", "pod-uid"), "server-name", "session affinity", i.SessionAffinity),
    row("timeout-connect", EXT, "timeout", "Backend connect timeout (default 5s)", parse_time, None,
         "timeouts policy", i.Timeouts),
    row("timeout-server", EXT, "timeout", "Backend inactivity (default 50s)", parse_time, None, "timeouts policy",
         i.Timeouts),
    row("timeout-keep-alive", EXT, "timeout", "Idle keep-alive connections (default 1m)", parse_time, None,
         "timeouts policy", i.Timeouts),
    row("timeout-http-request", EXT, "timeout", "Time to receive a whole request (default 5s)", parse_time, None,
         "timeouts policy", i.Timeouts),
    _none("timeout-queue", "timeout", "Time queued for a server slot (default 5s)", parse=parse_time),
    _none("timeout-server-fin", "timeout", "Half-closed backend connections", parse=parse_time),
    _none("timeout-tunnel", "timeout", "Tunnel (WebSocket) inactivity (default 1h)", parse=parse_time),
    row("backend-protocol", APPROX, "backend", "h1 (default), h2, h1-ssl, h2-ssl, grpc, grpcs",
        parse_choice("h1", "h2", "h1-ssl", "h2-ssl", "grpc", "grpcs"), "h1",
        "ssl variants: BackendTLSPolicy (with secure-verify-ca-secret); h2/grpc: set appProtocol kubernetes.io/h2c "
        "on the Service port (noted)", noted=True),
    row("secure-backends", APPROX, "backend-tls", "TLS to the pods", parse_bool, False,
        "BackendTLSPolicy (with secure-verify-ca-secret; none without it, noted)", noted=True),
    row("secure-crt-secret", EXT, "backend-tls", "Client certificate shown to the pods", parse_object_ref,
        target="backend TLS options", intent=i.BackendTLSOptions),
    row("secure-sni", APPROX, "backend-tls", "SNI sent to the pods", target="BackendTLSPolicy hostname",
        noted=True),
    row("secure-verify-ca-secret", APPROX, "backend-tls", "CA verifying the pods", parse_object_ref,
        target="BackendTLSPolicy caCertificateRefs (a ConfigMap named like the Secret)", noted=True),
    row("secure-verify-hostname", EXACT, "backend-tls", "Name verified in the pods' certificate",
        target="BackendTLSPolicy hostname"),
    _none("ssl-ciphers-backend", "backend-tls", "TLS 1.2 ciphers towards the pods"),
    _none("ssl-cipher-suites-backend", "backend-tls", "TLS 1.3 cipher suites towards the pods"),
    _none("ssl-options-backend", "backend-tls", "TLS options towards the pods"),
    _none("ssl-fingerprint-lower", "backend-tls", "Client certificate fingerprint in lower case", parse=parse_bool),
    _none("ssl-fingerprint-sha2-bits", "backend-tls", "SHA-2 size of the client certificate fingerprint"),
    row("blue-green-balance", UNSUP, "bluegreen", "Weights between pod groups of the Service (label=value=weight, "
        "comma-separated)", parse_balance, target="one Service per group with backendRef weights (by hand; the "
        "note lists them)", noted=True),
    row("blue-green-deploy", UNSUP, "bluegreen", "Deprecated spelling of blue-green-balance", parse_balance,
        alias="blue-green-balance", noted=True),
    row("blue-green-mode", UNSUP, "bluegreen", "deploy (default): a group's share is its weight; pod: each pod "
        "carries its group's weight", parse_choice("deploy", "pod"), "deploy", "the blue-green note's weights",
        noted=True),
    row("blue-green-header", UNSUP, "bluegreen", "Pod group chosen by a request header (Header:label)",
        parse_selector, target="a header-match rule per group (by hand; the note says how)", noted=True),
    row("blue-green-cookie", UNSUP, "bluegreen", "Pod group chosen by a cookie (Cookie:label)", parse_selector,
        target="no Gateway API cookie match (the note says what is left)", noted=True),
    _none("config-backend", "snippet", "Raw HAProxy backend directives"),
    _none("config-backend-early", "snippet", "Raw HAProxy backend directives (early)"),
    _none("config-backend-late", "snippet", "Raw HAProxy backend directives (late)"),
    _none("config-tcp-service", "snippet", "Raw HAProxy TCP service directives"),
    _none("tcp-service-port", "tcp", "Serves the backend as a TCP service on this port", "TCPRoute (by hand)"),
    _none("tcp-service-log-format", "tcp", "TCP service log format"),
    _none("tcp-service-proxy-protocol", "tcp", "TCP service expects the PROXY protocol", parse=parse_bool),
    _none("health-check-addr", "healthcheck", "Health-check address"),
    _none("health-check-port", "healthcheck", "Health-check port"),
    _none("health-check-uri", "healthcheck", "HTTP health-check URI"),
    _none("health-check-interval", "healthcheck", "Health-check interval"),
    _none("health-check-fall-count", "healthcheck", "Failures before a pod is down"),
    _none("health-check-rise-count", "healthcheck", "Successes before a pod is up"),
    _none("backend-check-interval", "healthcheck", "Health-check interval (default 2s)"),
    _none("agent-check-addr", "healthcheck", "Agent-check address"),
    _none("agent-check-port", "healthcheck", "Agent-check port"),
    _none("agent-check-interval", "healthcheck", "Agent-check interval"),
    _none("agent-check-send", "healthcheck", "Agent-check request"),
    _none("assign-backend-server-id", "backend", "Stable server ids", parse=parse_bool),
    _none("backend-server-naming", "backend", "Server names: sequence, ip or pod"),
    _none("backend-server-slots-increment", "backend", "Server slots added at a time"),
    _none("dynamic-scaling", "backend", "Updates servers without reloads"),
    _none("slots-min-free", "backend", "Free server slots kept"),
    _none("initial-weight", "backend", "Weight of each pod (default 1)"),
    _none("maxconn-server", "backend", "Most connections per pod"),
    _none("maxqueue-server", "backend", "Most queued requests per pod"),
    _none("peers-table", "backend", "Stick table shared with peers"),
    _none("proxy-protocol", "backend", "Sends the PROXY protocol to the pods"),
    _none("source-address-intf", "backend", "Source addresses for backend connections"),
    _none("use-resolver", "backend", "DNS resolver for the backend"),
    _none("fcgi-app", "backend", "FastCGI application"),
    _none("var-namespace", "observability", "Exposes the namespace in a variable", parse=parse_bool),
    *[_none(f"http-response-{code}", "errors", f"Custom answer for haproxy's own {code}",
            "implementation error pages") for code in _RESPONSE_CODES],
    # --- frontend keys (shared by every Ingress on the frontend) -------------------------------
    _none("bind-http", "frontend", "Address of the HTTP frontend", "Gateway listener (by hand)"),
    _none("bind-https", "frontend", "Address of the HTTPS frontend", "Gateway listener (by hand)"),
    _none("bind-http-passthrough", "frontend", "Address of the passthrough HTTP frontend"),
    _none("bind-ip-addr-http", "frontend", "IP address of the HTTP frontend"),
    _none("bind-fronting-proxy", "frontend", "Address of the fronting-proxy frontend"),
    _none("http-frontend", "frontend", "Frontend the Ingress is served by", "Gateway listener (by hand)"),
    _none("http-passthrough", "frontend", "Plain-HTTP frontend behind a TLS offloader", parse=parse_bool),
    _none("use-forwarded-proto", "frontend", "Trusts X-Forwarded-Proto", parse=parse_bool),
    _none("use-proxy-protocol", "frontend", "Expects the PROXY protocol", parse=parse_bool),
    *[global_row(key) for key in GLOBAL_KEYS],
]


TABLE = AnnotationTable(PREFIXES[0], "HAPROXY-INGRESS", _SPECS, FAMILY_ASPECTS)
