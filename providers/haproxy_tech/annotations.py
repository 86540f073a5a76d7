"""The HAProxy Technologies controller's annotation table: every key of its documentation
(controller 3.2, 82 keys), read under ``haproxy.org/``, ``haproxy.com/`` or
``ingress.kubernetes.io/`` (equivalent prefixes).

Keys the controller reads only from its ConfigMap (``applies_to: configmap``) are listed too:
on an Ingress the controller ignores them, and so does the conversion (family ``global``).
Keys documented for Services are read from the Ingress as well, where the controller applies
them to every Service the Ingress names. ``cors-respond-to-options`` is read by the controller's
code (``pkg/annotations/ingress/resSetCORS.go``) but missing from its reference: listed too.
"""

from __future__ import annotations

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationTable

from .._common.values import parse_bool, parse_non_negative_int, parse_object_ref, parse_positive_int
from .._haproxy.table import global_row, row
from .._haproxy.values import (
    FAMILY_ASPECTS,
    parse_choice,
    parse_header_lines,
    parse_ip_list,
    parse_status_in,
    parse_time,
)

__all__ = ["PREFIXES", "TABLE"]

PREFIXES = ("haproxy.org", "haproxy.com", "ingress.kubernetes.io")

EXACT, APPROX, EXT, UNSUP = Fidelity.EXACT, Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED


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


_IPS = "IPs/CIDRs, comma-separated (pattern files on the controller's disk cannot be read)"

_SPECS = [
    # --- routing, redirects, rewrites -------------------------------------------------------
    row("ingress.class", EXACT, "routing", "Names the ingress class (legacy form of spec.ingressClassName)",
         target="Gateway chosen per class"),
    row("path-rewrite", APPROX, "rewrite", "Rewrites the path with replace-path: one value replaces every path, "
         "REGEX FORMAT lines rewrite in order", _path_rewrite, target="URLRewrite ReplaceFullPath, or "
         "ReplacePrefixMatch for the ^/p/(.*) /\\1 shape; other regexes not expressible", noted=True, answer=True),
    row("request-redirect", EXACT, "redirect", "Redirects every request to host[:port], keeping scheme and URI",
         _request_redirect, target="RequestRedirect hostname/port", answer=True),
    row("request-redirect-code", EXACT, "redirect", "Status of request-redirect (default 302)",
         parse_status_in((301, 302, 303, 307, 308)), 302, "RequestRedirect statusCode"),
    row("route-acl", UNSUP, "routing", "Service annotation: an inline HAProxy ACL that also routes to the Service",
         target="none (rewrite as header/query matches by hand)"),
    row("ssl-redirect", EXACT, "tls", "Redirects plain HTTP to HTTPS; on by default for Ingresses with a tls "
         "section", parse_bool, None, "HTTPS-only route plus a RequestRedirect route on the HTTP listener",
         noted=True, answer=True),
    row("ssl-redirect-code", EXACT, "tls", "Status of the HTTPS redirect: 301, 302 (default) or 303",
         parse_status_in((301, 302, 303)), 302, "RequestRedirect statusCode"),
    row("ssl-redirect-port", APPROX, "tls", "Port of the HTTPS redirect (default 8443, the controller's own "
         "HTTPS port)", parse_positive_int, 8443, "RequestRedirect port (443 omitted)", noted=True),
    row("ssl-passthrough", APPROX, "tls", "Passes TLS through to the pods (layer 4), chosen by SNI", parse_bool,
         False, "TLS listener in Passthrough mode and a TLSRoute to the / path's backend", noted=True, answer=True),
    # --- headers ----------------------------------------------------------------------------
    row("request-set-header", EXACT, "headers", "Sets request headers, one 'Name value' per line",
         parse_header_lines, target="RequestHeaderModifier set"),
    row("response-set-header", EXACT, "headers", "Sets response headers, one 'Name value' per line",
         parse_header_lines, target="ResponseHeaderModifier set"),
    row("set-host", EXACT, "proxy", "Host header sent to the backend", target="URLRewrite hostname"),
    row("forwarded-for", APPROX, "proxy", "Adds X-Forwarded-For (default true)", parse_bool, True,
         "implementation default (most add X-Forwarded-For)"),
    row("src-ip-header", EXT, "access", "Takes the client address from this header (for lists and limits)",
         target="forwarded-header trust of the implementation", intent=i.ForwardedHeaders),
    row("request-capture", UNSUP, "observability", "Captures request samples into the log"),
    row("request-capture-len", UNSUP, "observability", "Length of captured samples (default 128)",
         parse_positive_int, 128),
    # --- access control, auth, rate limits --------------------------------------------------
    row("allow-list", EXT, "access", f"Only these clients are served, others get 403 ({_IPS})", parse_ip_list,
         target="IP access policy", intent=i.IPAccess),
    row("whitelist", EXT, "access", "Deprecated spelling of allow-list", parse_ip_list, intent=i.IPAccess,
         alias="allow-list"),
    row("deny-list", EXT, "access", f"These clients get 403 ({_IPS})", parse_ip_list, target="IP access policy",
         intent=i.IPAccess),
    row("blacklist", EXT, "access", "Deprecated spelling of deny-list", parse_ip_list, intent=i.IPAccess,
         alias="deny-list"),
    row("auth-type", EXT, "auth", "HTTP authentication: basic-auth", parse_choice("basic-auth"),
         target="basic-auth policy", intent=i.BasicAuth),
    row("auth-secret", EXT, "auth", "Secret (ns/name) with one key per user, the value its password hash",
         parse_object_ref, target="basic-auth policy", intent=i.BasicAuth),
    row("auth-realm", EXT, "auth", "Realm of the basic-auth challenge (default 'Protected Content')",
         default="Protected Content", target="basic-auth policy", intent=i.BasicAuth),
    row("rate-limit-requests", EXT, "ratelimit", "Requests a client address may send per period before the "
         "limit status", parse_non_negative_int, target="rate-limit policy", intent=i.RateLimit),
    row("rate-limit-period", EXT, "ratelimit", "Window of rate-limit-requests (default 1s)", parse_time,
         target="rate-limit policy", intent=i.RateLimit),
    row("rate-limit-status-code", EXT, "ratelimit", "Status of a limited request (default 403)",
         parse_status_in(tuple(range(200, 600))), 403, "rate-limit policy", i.RateLimit),
    row("rate-limit-size", EXT, "ratelimit", "Client addresses tracked (default 100k)", default="100k",
         target="rate-limit policy (table size has no equivalent)", intent=i.RateLimit),
    row("rate-limit-whitelist", EXT, "ratelimit", f"Clients never rate limited ({_IPS})", parse_ip_list,
         target="rate-limit policy exemptions", intent=i.RateLimit),
    # --- CORS -------------------------------------------------------------------------------
    row("cors-enable", APPROX, "cors", "Adds CORS response headers", parse_bool, False, "HTTPRoute CORS filter"),
    row("cors-allow-origin", APPROX, "cors", "Allowed origin: * or a regular expression (default *)",
         default="*", target="CORS filter allowOrigins"),
    row("cors-allow-methods", APPROX, "cors", "Allowed methods (default *)", default="*",
         target="CORS filter allowMethods"),
    row("cors-allow-headers", APPROX, "cors", "Allowed headers (default *)", default="*",
         target="CORS filter allowHeaders"),
    row("cors-allow-credentials", APPROX, "cors", "Allows credentials", parse_bool, False,
         "CORS filter allowCredentials"),
    row("cors-max-age", APPROX, "cors", "Preflight cache time (default 5s)", parse_time, None,
         "CORS filter maxAge"),
    row("cors-respond-to-options", APPROX, "cors", "haproxy answers every OPTIONS request itself with 204 (read by "
         "the controller's code; not in its annotation reference)", parse_bool, False,
         "the CORS filter answers preflights itself (200; noted)"),
    # --- backends ---------------------------------------------------------------------------
    row("load-balance", EXT, "loadbalancing", "Balancing algorithm (default roundrobin)", _load_balance,
         "roundrobin", "load-balancing policy", i.LoadBalancing),
    row("cookie-persistence", EXT, "affinity", "Sticky sessions with this cookie name", target="session "
         "persistence", intent=i.SessionAffinity),
    row("cookie-persistence-no-dynamic", EXT, "affinity", "Sticky sessions with this cookie name, without "
         "dynamic cookies", target="session persistence", intent=i.SessionAffinity),
    row("timeout-server", EXT, "timeout", "Longest inactivity of the backend (default 50s)", parse_time, None,
         "timeouts policy (read)", i.Timeouts),
    row("timeout-check", UNSUP, "healthcheck", "Health-check timeout", parse_time),
    row("check", UNSUP, "healthcheck", "Health checks of the pods (default true)", parse_bool, True,
         "implementation health checking"),
    row("check-http", UNSUP, "healthcheck", "HTTP health-check request"),
    row("check-interval", UNSUP, "healthcheck", "Health-check interval", parse_time),
    row("pod-maxconn", UNSUP, "backend", "Most concurrent connections per pod", parse_positive_int),
    row("scale-server-slots", APPROX, "backend", "Server slots provisioned per backend (default 42); no effect "
         "on answers", parse_positive_int, 42, "nothing needed"),
    row("standalone-backend", EXACT, "backend", "Gives the Ingress its own backend instead of one shared per "
         "Service", parse_bool, False, "every Gateway rule has its own filters anyway"),
    row("send-proxy-protocol", UNSUP, "backend", "Sends the PROXY protocol to the pods",
         parse_choice("proxy", "proxy-v1", "proxy-v2", "proxy-v2-ssl", "proxy-v2-ssl-cn")),
    row("server-ssl", APPROX, "backend-tls", "TLS to the pods, unverified unless server-ca is set", parse_bool,
         False, "BackendTLSPolicy with server-ca (hostname: the Service's cluster name); none without it (noted)",
         noted=True),
    row("server-ca", APPROX, "backend-tls", "Secret with the CA verifying the pods", parse_object_ref,
         target="BackendTLSPolicy caCertificateRefs (a ConfigMap named like the Secret)", noted=True),
    row("server-crt", EXT, "backend-tls", "Secret with the client certificate shown to the pods",
         parse_object_ref, target="backend TLS options", intent=i.BackendTLSOptions),
    row("server-proto", UNSUP, "backend", "h2: cleartext HTTP/2 to the pods", parse_choice("h2"),
         target="Service port appProtocol kubernetes.io/h2c (set it on the Service)"),
    row("backend-config-snippet", UNSUP, "snippet", "Raw HAProxy backend directives"),
    # --- ConfigMap-only keys ----------------------------------------------------------------
    global_row("clean-certs", "removes unused certificate files"),
    global_row("client-ca", "client-certificate CA for the HTTPS frontend"),
    global_row("client-crt-optional", "client certificates optional"),
    global_row("client-strict-sni", "refuses TLS without a matching SNI"),
    global_row("generate-certificates-signer", "CA that signs generated certificates"),
    global_row("global-config-snippet", "raw global directives"),
    global_row("frontend-config-snippet", "raw frontend directives"),
    global_row("stats-config-snippet", "raw stats directives"),
    global_row("dontlognull", "does not log empty connections"),
    global_row("hard-stop-after", "longest graceful stop"),
    global_row("http-connection-mode", "keep-alive mode"),
    global_row("http-keep-alive", "client keep-alive"),
    global_row("http-server-close", "closes backend connections"),
    global_row("log-format", "HTTP log format"),
    global_row("log-format-tcp", "TCP log format"),
    global_row("logasap", "logs before the response ends"),
    global_row("maxconn", "most concurrent connections"),
    global_row("nbthread", "worker threads"),
    global_row("proxy-protocol", "accepts the PROXY protocol from these addresses"),
    global_row("quic-alt-svc-max-age", "Alt-Svc max-age for HTTP/3"),
    global_row("ssl-certificate", "default certificate"),
    global_row("syslog-server", "log targets"),
    global_row("timeout-client", "client inactivity"),
    global_row("timeout-client-fin", "half-closed client connections"),
    global_row("timeout-connect", "backend connect timeout"),
    global_row("timeout-http-request", "time to receive the request headers"),
    global_row("timeout-http-keep-alive", "idle keep-alive connections"),
    global_row("timeout-queue", "time queued for a server slot"),
    global_row("timeout-server-fin", "half-closed backend connections"),
    global_row("timeout-tunnel", "tunnel (WebSocket) inactivity"),
    global_row("tls-alpn", "ALPN protocols offered"),
]


TABLE = AnnotationTable(PREFIXES[0], "HAPROXY-TECH", _SPECS, FAMILY_ASPECTS)
