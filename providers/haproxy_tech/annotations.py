"""The HAProxy Technologies controller's annotation table: every key of its documentation
(controller 3.2, 82 keys), read under ``haproxy.org/``, ``haproxy.com/`` or
``ingress.kubernetes.io/`` (equivalent prefixes).

Keys the controller reads only from its ConfigMap (``applies_to: configmap``) are listed too:
on an Ingress the controller ignores them, and so does the conversion (family ``global``).
Keys documented for Services are read from the Ingress as well, where the controller applies
them to every Service the Ingress names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_bool, parse_non_negative_int, parse_object_ref, parse_positive_int, parse_trimmed
from .._haproxy.values import parse_header_lines, parse_ip_list, parse_status_in, parse_time

__all__ = ["PREFIXES", "TABLE"]

PREFIXES = ("haproxy.org", "haproxy.com", "ingress.kubernetes.io")

EXACT, APPROX, EXT, UNSUP = Fidelity.EXACT, Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED


def _choice(*values: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return value
    return parse


def _load_balance(text: str) -> str:
    value = text.strip()
    algorithms = ("roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "random",
                  "rdp-cookie")
    if not any(value == a or value.startswith((a + " ", a + "(")) for a in algorithms):
        raise ValueError(f"unknown algorithm (one of {', '.join(algorithms)})")
    return value


def _request_redirect(text: str) -> tuple[str, int | None]:
    host, _, port = text.strip().partition(":")
    if not host or "/" in host:
        raise ValueError("must be host or host:port")
    return host.lower(), (parse_positive_int(port) if port else None)


def _path_rewrite(text: str) -> tuple[tuple[str, str], ...]:
    """One path (every path becomes it) or ``REGEX FORMAT`` lines."""
    rules: list[tuple[str, str]] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty value")
    for line in lines:
        parts = line.split()
        if len(parts) == 1:
            rules.append(("(.*)", parts[0]))
        elif len(parts) == 2:
            rules.append((parts[0], parts[1]))
        else:
            raise ValueError(f"line {line!r}: one path, or a regex and a replacement")
    return tuple(rules)


def _row(key: str, fidelity: Fidelity, family: str, doc: str, parse: Callable[[str], Any] = parse_trimmed,
         default: Any = None, target: str = "", intent: type[i.Intent] | None = None, *, alias: str | None = None,
         noted: bool = False, answer: bool = False) -> AnnotationSpec:
    return AnnotationSpec(key, fidelity, doc, parse, default, family, target, alias, noted, intent, answer)


def _global(key: str, doc: str) -> AnnotationSpec:
    return _row(key, UNSUP, "global", f"ConfigMap only ({doc}); the controller ignores it on an Ingress",
                target="nothing (ignored on an Ingress by the controller too)")


_IPS = "IPs/CIDRs, comma-separated (pattern files on the controller's disk cannot be read)"

_SPECS = [
    # --- routing, redirects, rewrites -------------------------------------------------------
    _row("ingress.class", EXACT, "routing", "Names the ingress class (legacy form of spec.ingressClassName)",
         target="Gateway chosen per class"),
    _row("path-rewrite", APPROX, "rewrite", "Rewrites the path with replace-path: one value replaces every path, "
         "REGEX FORMAT lines rewrite in order", _path_rewrite, target="URLRewrite ReplaceFullPath, or "
         "ReplacePrefixMatch for the ^/p/(.*) /\\1 shape; other regexes not expressible", noted=True, answer=True),
    _row("request-redirect", EXACT, "redirect", "Redirects every request to host[:port], keeping scheme and URI",
         _request_redirect, target="RequestRedirect hostname/port", answer=True),
    _row("request-redirect-code", EXACT, "redirect", "Status of request-redirect (default 302)",
         parse_status_in((301, 302, 303, 307, 308)), 302, "RequestRedirect statusCode"),
    _row("route-acl", UNSUP, "routing", "Service annotation: an inline HAProxy ACL that also routes to the Service",
         target="none (rewrite as header/query matches by hand)"),
    _row("ssl-redirect", EXACT, "tls", "Redirects plain HTTP to HTTPS; on by default for Ingresses with a tls "
         "section", parse_bool, None, "HTTPS-only route plus a RequestRedirect route on the HTTP listener",
         noted=True, answer=True),
    _row("ssl-redirect-code", EXACT, "tls", "Status of the HTTPS redirect: 301, 302 (default) or 303",
         parse_status_in((301, 302, 303)), 302, "RequestRedirect statusCode"),
    _row("ssl-redirect-port", APPROX, "tls", "Port of the HTTPS redirect (default 8443, the controller's own "
         "HTTPS port)", parse_positive_int, 8443, "RequestRedirect port (443 omitted)", noted=True),
    _row("ssl-passthrough", UNSUP, "tls", "Passes TLS through to the pods (layer 4)", parse_bool, False,
         "TLSRoute passthrough (not converted from this controller yet)"),
    # --- headers ----------------------------------------------------------------------------
    _row("request-set-header", EXACT, "headers", "Sets request headers, one 'Name value' per line",
         parse_header_lines, target="RequestHeaderModifier set"),
    _row("response-set-header", EXACT, "headers", "Sets response headers, one 'Name value' per line",
         parse_header_lines, target="ResponseHeaderModifier set"),
    _row("set-host", EXACT, "proxy", "Host header sent to the backend", target="URLRewrite hostname"),
    _row("forwarded-for", APPROX, "proxy", "Adds X-Forwarded-For (default true)", parse_bool, True,
         "implementation default (most add X-Forwarded-For)"),
    _row("src-ip-header", EXT, "access", "Takes the client address from this header (for lists and limits)",
         target="forwarded-header trust of the implementation", intent=i.ForwardedHeaders),
    _row("request-capture", UNSUP, "observability", "Captures request samples into the log"),
    _row("request-capture-len", UNSUP, "observability", "Length of captured samples (default 128)",
         parse_positive_int, 128),
    # --- access control, auth, rate limits --------------------------------------------------
    _row("allow-list", EXT, "access", f"Only these clients are served, others get 403 ({_IPS})", parse_ip_list,
         target="IP access policy", intent=i.IPAccess),
    _row("whitelist", EXT, "access", "Deprecated spelling of allow-list", parse_ip_list, intent=i.IPAccess,
         alias="allow-list"),
    _row("deny-list", EXT, "access", f"These clients get 403 ({_IPS})", parse_ip_list, target="IP access policy",
         intent=i.IPAccess),
    _row("blacklist", EXT, "access", "Deprecated spelling of deny-list", parse_ip_list, intent=i.IPAccess,
         alias="deny-list"),
    _row("auth-type", EXT, "auth", "HTTP authentication: basic-auth", _choice("basic-auth"),
         target="basic-auth policy", intent=i.BasicAuth),
    _row("auth-secret", EXT, "auth", "Secret (ns/name) with one key per user, the value its password hash",
         parse_object_ref, target="basic-auth policy", intent=i.BasicAuth),
    _row("auth-realm", EXT, "auth", "Realm of the basic-auth challenge (default 'Protected Content')",
         default="Protected Content", target="basic-auth policy", intent=i.BasicAuth),
    _row("rate-limit-requests", EXT, "ratelimit", "Requests a client address may send per period before the "
         "limit status", parse_non_negative_int, target="rate-limit policy", intent=i.RateLimit),
    _row("rate-limit-period", EXT, "ratelimit", "Window of rate-limit-requests (default 1s)", parse_time,
         target="rate-limit policy", intent=i.RateLimit),
    _row("rate-limit-status-code", EXT, "ratelimit", "Status of a limited request (default 403)",
         parse_status_in(tuple(range(200, 600))), 403, "rate-limit policy", i.RateLimit),
    _row("rate-limit-size", EXT, "ratelimit", "Client addresses tracked (default 100k)", default="100k",
         target="rate-limit policy (table size has no equivalent)", intent=i.RateLimit),
    _row("rate-limit-whitelist", EXT, "ratelimit", f"Clients never rate limited ({_IPS})", parse_ip_list,
         target="rate-limit policy exemptions", intent=i.RateLimit),
    # --- CORS -------------------------------------------------------------------------------
    _row("cors-enable", APPROX, "cors", "Adds CORS response headers", parse_bool, False, "HTTPRoute CORS filter"),
    _row("cors-allow-origin", APPROX, "cors", "Allowed origin: * or a regular expression (default *)",
         default="*", target="CORS filter allowOrigins"),
    _row("cors-allow-methods", APPROX, "cors", "Allowed methods (default *)", default="*",
         target="CORS filter allowMethods"),
    _row("cors-allow-headers", APPROX, "cors", "Allowed headers (default *)", default="*",
         target="CORS filter allowHeaders"),
    _row("cors-allow-credentials", APPROX, "cors", "Allows credentials", parse_bool, False,
         "CORS filter allowCredentials"),
    _row("cors-max-age", APPROX, "cors", "Preflight cache time (default 5s)", parse_time, None,
         "CORS filter maxAge"),
    # --- backends ---------------------------------------------------------------------------
    _row("load-balance", EXT, "loadbalancing", "Balancing algorithm (default roundrobin)", _load_balance,
         "roundrobin", "load-balancing policy", i.LoadBalancing),
    _row("cookie-persistence", EXT, "affinity", "Sticky sessions with this cookie name", target="session "
         "persistence", intent=i.SessionAffinity),
    _row("cookie-persistence-no-dynamic", EXT, "affinity", "Sticky sessions with this cookie name, without "
         "dynamic cookies", target="session persistence", intent=i.SessionAffinity),
    _row("timeout-server", EXT, "timeout", "Longest inactivity of the backend (default 50s)", parse_time, None,
         "timeouts policy (read)", i.Timeouts),
    _row("timeout-check", UNSUP, "healthcheck", "Health-check timeout", parse_time),
    _row("check", UNSUP, "healthcheck", "Health checks of the pods (default true)", parse_bool, True,
         "implementation health checking"),
    _row("check-http", UNSUP, "healthcheck", "HTTP health-check request"),
    _row("check-interval", UNSUP, "healthcheck", "Health-check interval", parse_time),
    _row("pod-maxconn", UNSUP, "backend", "Most concurrent connections per pod", parse_positive_int),
    _row("scale-server-slots", APPROX, "backend", "Server slots provisioned per backend (default 42); no effect "
         "on answers", parse_positive_int, 42, "nothing needed"),
    _row("standalone-backend", EXACT, "backend", "Gives the Ingress its own backend instead of one shared per "
         "Service", parse_bool, False, "every Gateway rule has its own filters anyway"),
    _row("send-proxy-protocol", UNSUP, "backend", "Sends the PROXY protocol to the pods",
         _choice("proxy", "proxy-v1", "proxy-v2", "proxy-v2-ssl", "proxy-v2-ssl-cn")),
    _row("server-ssl", UNSUP, "backend-tls", "TLS to the pods, unverified unless server-ca is set", parse_bool,
         False, "BackendTLSPolicy needs a CA and hostname (create it by hand)"),
    _row("server-ca", UNSUP, "backend-tls", "Secret with the CA verifying the pods", parse_object_ref,
         target="BackendTLSPolicy caCertificateRefs (a ConfigMap; create by hand)"),
    _row("server-crt", EXT, "backend-tls", "Secret with the client certificate shown to the pods",
         parse_object_ref, target="backend TLS options", intent=i.BackendTLSOptions),
    _row("server-proto", UNSUP, "backend", "h2: cleartext HTTP/2 to the pods", _choice("h2"),
         target="Service port appProtocol kubernetes.io/h2c (set it on the Service)"),
    _row("backend-config-snippet", UNSUP, "snippet", "Raw HAProxy backend directives"),
    # --- ConfigMap-only keys ----------------------------------------------------------------
    _global("clean-certs", "removes unused certificate files"),
    _global("client-ca", "client-certificate CA for the HTTPS frontend"),
    _global("client-crt-optional", "client certificates optional"),
    _global("client-strict-sni", "refuses TLS without a matching SNI"),
    _global("generate-certificates-signer", "CA that signs generated certificates"),
    _global("global-config-snippet", "raw global directives"),
    _global("frontend-config-snippet", "raw frontend directives"),
    _global("stats-config-snippet", "raw stats directives"),
    _global("dontlognull", "does not log empty connections"),
    _global("hard-stop-after", "longest graceful stop"),
    _global("http-connection-mode", "keep-alive mode"),
    _global("http-keep-alive", "client keep-alive"),
    _global("http-server-close", "closes backend connections"),
    _global("log-format", "HTTP log format"),
    _global("log-format-tcp", "TCP log format"),
    _global("logasap", "logs before the response ends"),
    _global("maxconn", "most concurrent connections"),
    _global("nbthread", "worker threads"),
    _global("proxy-protocol", "accepts the PROXY protocol from these addresses"),
    _global("quic-alt-svc-max-age", "Alt-Svc max-age for HTTP/3"),
    _global("ssl-certificate", "default certificate"),
    _global("syslog-server", "log targets"),
    _global("timeout-client", "client inactivity"),
    _global("timeout-client-fin", "half-closed client connections"),
    _global("timeout-connect", "backend connect timeout"),
    _global("timeout-http-request", "time to receive the request headers"),
    _global("timeout-http-keep-alive", "idle keep-alive connections"),
    _global("timeout-queue", "time queued for a server slot"),
    _global("timeout-server-fin", "half-closed backend connections"),
    _global("timeout-tunnel", "tunnel (WebSocket) inactivity"),
    _global("tls-alpn", "ALPN protocols offered"),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"path"}),
    "redirect": frozenset({"status", "redirect"}),
    "tls": frozenset({"status", "redirect"}),
    "headers": frozenset({"headers"}),
    "proxy": frozenset({"host"}),
    "access": frozenset({"status", "auth"}),
    "auth": frozenset({"status", "auth"}),
    "ratelimit": frozenset({"status"}),
    "cors": frozenset({"cors"}),
    "affinity": frozenset({"headers"}),
    "snippet": frozenset({"status", "backend", "redirect", "path", "host", "headers", "cors", "auth"}),
}

TABLE = AnnotationTable(PREFIXES[0], "HAPROXY-TECH", _SPECS, FAMILY_ASPECTS)
