"""The F5 NGINX Ingress Controller annotation table: every key it reads from an Ingress.

Keys are written in full (``nginx.org/*``, the NGINX Plus ``nginx.com/*``, App Protect's
``appprotect.f5.com/*``, and the deprecated ``ingress.kubernetes.io/ssl-redirect``), so the
table's prefix is empty. One :class:`~ing2gw.provider.AnnotationSpec` per key with the
controller's parser (an invalid value is ignored by the controller: noted, the default kept),
what it becomes and how faithfully. Which keys a mergeable master or minion may carry and
which a minion inherits are the controller's lists below. ``ing2gw providers f5-nginx`` prints
the table; ``docs/providers/f5-nginx.md`` is generated from it.
"""

from __future__ import annotations

import re

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_bool, parse_comma_list, parse_int, parse_nginx_time, parse_size

__all__ = [
    "MASTER_DENIED",
    "MINION_DENIED",
    "MINION_INHERITS",
    "PATH_REGEX",
    "PREFIXES",
    "TABLE",
    "parse_rewrites",
]

PREFIXES = ("nginx.org", "nginx.com", "appprotect.f5.com", "appprotectdos.f5.com")
PATH_REGEX = ("case_sensitive", "case_insensitive", "exact")

# A master may not carry these (the controller drops them), a minion not those; a minion
# inherits the master's value of the last list when it has none of its own.
MASTER_DENIED = frozenset({
    "nginx.org/rewrites", "nginx.org/ssl-services", "nginx.org/grpc-services", "nginx.org/websocket-services",
    "nginx.com/sticky-cookie-services", "nginx.com/health-checks", "nginx.com/health-checks-mandatory",
    "nginx.com/health-checks-mandatory-queue", "nginx.org/use-cluster-ip",
})
MINION_DENIED = frozenset({
    "nginx.org/proxy-hide-headers", "nginx.org/proxy-pass-headers", "nginx.org/redirect-to-https",
    "ingress.kubernetes.io/ssl-redirect", "nginx.org/ssl-redirect", "nginx.org/http-redirect-code", "nginx.org/hsts",
    "nginx.org/hsts-max-age", "nginx.org/hsts-include-subdomains", "nginx.org/server-tokens",
    "nginx.org/listen-ports", "nginx.org/listen-ports-ssl", "nginx.org/server-snippets", "nginx.org/ssl-ciphers",
    "nginx.org/ssl-prefer-server-ciphers", "nginx.org/app-root", "appprotect.f5.com/app-protect-enable",
    "appprotect.f5.com/app-protect-policy", "appprotect.f5.com/app-protect-security-log-enable",
    "appprotect.f5.com/app-protect-security-log", "appprotectdos.f5.com/app-protect-dos-resource",
})
MINION_INHERITS = frozenset({
    "nginx.org/proxy-connect-timeout", "nginx.org/proxy-read-timeout", "nginx.org/proxy-send-timeout",
    "nginx.org/client-max-body-size", "nginx.org/proxy-buffering", "nginx.org/proxy-buffers",
    "nginx.org/proxy-buffer-size", "nginx.org/proxy-busy-buffers-size", "nginx.org/proxy-max-temp-file-size",
    "nginx.org/upstream-zone-size", "nginx.org/location-snippets", "nginx.org/lb-method", "nginx.org/keepalive",
    "nginx.org/max-fails", "nginx.org/max-conns", "nginx.org/fail-timeout", "nginx.org/limit-req-rate",
    "nginx.org/limit-req-key", "nginx.org/limit-req-zone-size", "nginx.org/limit-req-delay",
    "nginx.org/limit-req-no-delay", "nginx.org/limit-req-burst", "nginx.org/limit-req-dry-run",
    "nginx.org/limit-req-log-level", "nginx.org/limit-req-reject-code", "nginx.org/limit-req-scale",
})

_RATE = re.compile(r"([1-9][0-9]*)r/([sm])", re.ASCII)
_PORT = re.compile(r"[0-9]+", re.ASCII)
_REDIRECT_CODES = (301, 302, 307, 308)
_LB_METHODS = re.compile(r"round_robin|least_conn|ip_hash|random|random two|random two least_conn|"
                         r"hash \S+( consistent)?", re.ASCII)


def parse_path_regex(text: str) -> str:
    if text not in PATH_REGEX:
        raise ValueError("must be case_sensitive, case_insensitive or exact")
    return text


def parse_redirect_code(text: str) -> int:
    code = parse_int(text.strip())
    if code not in _REDIRECT_CODES:
        raise ValueError("must be 301, 302, 307 or 308")
    return code


def parse_rate(text: str) -> tuple[int, str]:
    """``10r/s`` or ``600r/m``: (rate, ``second``/``minute``)."""
    m = _RATE.fullmatch(text.strip())
    if not m:
        raise ValueError("not a request rate (e.g. 10r/s, 600r/m)")
    return int(m.group(1)), "second" if m.group(2) == "s" else "minute"


def parse_ports(text: str) -> tuple[int, ...]:
    ports = []
    for item in parse_comma_list(text):
        if not _PORT.fullmatch(item) or not 1 <= int(item) <= 65535:
            raise ValueError(f"{item!r} is not a port")
        ports.append(int(item))
    return tuple(ports)


def parse_rewrites(text: str) -> dict[str, str]:
    """``serviceName=svc rewrite=/path/;serviceName=other rewrite=/x``: service -> new prefix."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        fields = dict(f.split("=", 1) for f in part.split() if "=" in f)
        if set(fields) != {"serviceName", "rewrite"} or len(part.split()) != 2:
            raise ValueError(f"{part!r} is not serviceName=NAME rewrite=PATH")
        out[fields["serviceName"]] = fields["rewrite"]
    return out


def parse_services(text: str) -> frozenset[str]:
    return frozenset(parse_comma_list(text))


def parse_lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line.strip())


def parse_lb_method(text: str) -> str:
    value = text.strip()
    if not _LB_METHODS.fullmatch(value):
        raise ValueError("not a load-balancing method of NGINX OSS")
    return value


def parse_proxy_set_headers(text: str) -> tuple[tuple[str, str | None], ...]:
    """``X-A: value, X-B``: a header with a value, or a bare name (its client value is passed)."""
    out: list[tuple[str, str | None]] = []
    for item in parse_comma_list(text):
        name, sep, value = item.partition(":")
        out.append((name.strip(), value.strip() if sep else None))
    return tuple(out)


def _time(text: str) -> int:
    return parse_nginx_time(text).millis


def _size(text: str) -> int:
    return parse_size(text).bytes


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: object) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)  # type: ignore[arg-type]


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED
ORG, C = "nginx.org/", "nginx.com/"

_SPECS = [
    # --- routing ------------------------------------------------------------------------------
    _S(ORG + "path-regex", E, "routing", "paths of the Ingress are regexes: case_sensitive (~ \"^/p\"), "
       "case_insensitive (~* \"^/p\") or exact (= /p)", parse=parse_path_regex,
       target="RegularExpression (.* appended) / Exact path match", noted_by_feature=True, changes_answer=True),
    _S(ORG + "rewrites", E, "rewrite", "serviceName=S rewrite=/p;...: the location's path is replaced by /p for "
       "paths to S (proxy_pass with a URI)", parse=parse_rewrites, target="URLRewrite ReplacePrefixMatch",
       noted_by_feature=True, changes_answer=True),
    _S(ORG + "rewrite-target", E, "rewrite", "rewrite the URI (regex captures $1...) for every path; rewrites wins "
       "when both are set", target="URLRewrite ReplaceFullPath (static values only)", noted_by_feature=True,
       changes_answer=True),
    _S(ORG + "app-root", E, "redirect", "redirect / to this path (302)", target="Exact / rule with a RequestRedirect",
       changes_answer=True),
    _S(ORG + "mergeable-ingress-type", E, "mergeable", "master (host, TLS, server settings, no paths) or minion "
       "(paths of the master's host)", target="one HTTPRoute per minion on the master's host",
       noted_by_feature=True),
    _S(ORG + "listen-ports", E, "listener", "HTTP ports of the host's server instead of 80", parse=parse_ports,
       target="an HTTP listener per port (http-PORT); the host's routes attach to those instead of port 80"),
    _S(ORG + "listen-ports-ssl", E, "listener", "HTTPS ports of the host's server instead of 443 (the HTTPS "
       "redirect goes to the first)", parse=parse_ports,
       target="an HTTPS listener per port with the host's certificate (https-PORT-HOST), instead of port 443"),
    # --- TLS and redirects ---------------------------------------------------------------------
    _S(ORG + "ssl-redirect", E, "redirect", "redirect plain HTTP of a TLS host to HTTPS (default true)",
       parse=parse_bool, default=True, target="RequestRedirect route on the HTTP listener", noted_by_feature=True,
       changes_answer=True),
    _S("ingress.kubernetes.io/ssl-redirect", E, "redirect", "deprecated spelling of nginx.org/ssl-redirect",
       parse=parse_bool, alias_of=ORG + "ssl-redirect"),
    _S(ORG + "http-redirect-code", E, "redirect", "status of the HTTPS redirects (default 301)",
       parse=parse_redirect_code, default=301, target="RequestRedirect statusCode", changes_answer=True),
    _S(ORG + "redirect-to-https", E, "redirect", "redirect requests whose X-Forwarded-Proto is http (TLS ends "
       "before NGINX)", parse=parse_bool, default=False,
       target="a rule matching header X-Forwarded-Proto: http with a RequestRedirect", noted_by_feature=True,
       changes_answer=True),
    _S(ORG + "hsts", E, "headers", "Strict-Transport-Security on HTTPS answers", parse=parse_bool, default=False,
       target="ResponseHeaderModifier on the HTTPS route", noted_by_feature=True),
    _S(ORG + "hsts-max-age", E, "headers", "HSTS max-age (default 2592000)", parse=parse_int, default=2592000,
       target="the HSTS header value"),
    _S(ORG + "hsts-include-subdomains", E, "headers", "HSTS includeSubDomains", parse=parse_bool, default=False,
       target="the HSTS header value"),
    _S(ORG + "hsts-behind-proxy", A, "headers", "HSTS decided by X-Forwarded-Proto instead of the connection",
       parse=parse_bool, default=False, target="the HTTPS route's header (the condition is lost)"),
    _S(ORG + "ssl-ciphers", X, "tls", "TLS ciphers of the server", intent=i.Opaque, target="extension: tls options"),
    _S(ORG + "ssl-prefer-server-ciphers", X, "tls", "prefer the server's cipher order", parse=parse_bool,
       intent=i.Opaque, target="extension: tls options"),
    _S(ORG + "server-tokens", E, "metadata", "NGINX version in the Server header and error pages", parse=parse_bool,
       target="nothing to carry (the gateway sends its own Server header)"),
    # --- upstream request ------------------------------------------------------------------------
    _S(ORG + "proxy-connect-timeout", X, "timeouts", "upstream connect timeout (default 60s)", parse=_time,
       intent=i.Timeouts, target="extension: timeouts"),
    _S(ORG + "proxy-read-timeout", A, "timeouts", "longest pause between two reads from the upstream (default 60s)",
       parse=_time, intent=i.Timeouts, target="HTTPRoute rule timeouts.backendRequest (a total, not an idle "
       "timeout)"),
    _S(ORG + "proxy-send-timeout", X, "timeouts", "longest pause between two writes to the upstream (default 60s)",
       parse=_time, intent=i.Timeouts, target="extension: timeouts"),
    _S(ORG + "proxy-next-upstream", X, "retries", "conditions to try the next endpoint (default error timeout)",
       intent=i.Retries, target="extension: retries"),
    _S(ORG + "proxy-next-upstream-timeout", X, "retries", "time allowed for retrying", parse=_time, intent=i.Retries,
       target="extension: retries"),
    _S(ORG + "proxy-next-upstream-tries", X, "retries", "endpoints tried at most (0: unlimited)", parse=parse_int,
       intent=i.Retries, target="extension: retries"),
    _S(ORG + "proxy-set-headers", E, "upstream-headers", "request headers set upstream (Name: value, or a bare "
       "Name to pass the client's)", parse=parse_proxy_set_headers,
       target="RequestHeaderModifier set (values with NGINX variables: not converted)", noted_by_feature=True),
    _S(ORG + "proxy-hide-headers", E, "headers", "upstream response headers not passed to the client",
       parse=parse_comma_list, target="ResponseHeaderModifier remove"),
    _S(ORG + "proxy-pass-headers", U, "headers", "pass response headers NGINX hides by default (Date, Server, "
       "X-Accel-*)", parse=parse_comma_list, target="none"),
    _S(ORG + "client-max-body-size", X, "body", "largest request body (default 1m; 0: unlimited); larger get 413",
       parse=_size, intent=i.BodyLimit, target="extension: body-limit", noted_by_feature=True),
    _S(ORG + "client-body-buffer-size", X, "buffering", "request body buffer", parse=_size, intent=i.Buffering,
       target="extension: buffering"),
    _S(ORG + "proxy-buffering", X, "buffering", "buffer upstream responses (default true)", parse=parse_bool,
       intent=i.Buffering, target="extension: buffering"),
    _S(ORG + "proxy-buffers", X, "buffering", "number and size of response buffers", intent=i.Buffering,
       target="extension: buffering"),
    _S(ORG + "proxy-buffer-size", X, "buffering", "buffer for the upstream response headers", parse=_size,
       intent=i.Buffering, target="extension: buffering"),
    _S(ORG + "proxy-busy-buffers-size", X, "buffering", "buffers busy sending to the client", intent=i.Buffering,
       target="extension: buffering"),
    _S(ORG + "proxy-max-temp-file-size", X, "buffering", "largest temporary file of a buffered response",
       intent=i.Buffering, target="extension: buffering"),
    # --- upstreams ------------------------------------------------------------------------------
    _S(ORG + "lb-method", X, "upstream", "load-balancing method (default random two least_conn)",
       parse=parse_lb_method, intent=i.LoadBalancing, target="extension: load-balancing"),
    _S(ORG + "use-cluster-ip", X, "upstream", "proxy to the Service's cluster IP, not its endpoints",
       parse=parse_bool, intent=i.LoadBalancing, target="extension: load-balancing"),
    _S(ORG + "keepalive", X, "upstream", "idle keepalive connections per upstream", parse=parse_int,
       intent=i.Opaque, target="extension: upstream settings"),
    _S(ORG + "max-fails", X, "upstream", "failed attempts before an endpoint is skipped (default 1)",
       parse=parse_int, intent=i.Opaque, target="extension: upstream settings"),
    _S(ORG + "fail-timeout", X, "upstream", "how long a failed endpoint is skipped (default 10s)", parse=_time,
       intent=i.Opaque, target="extension: upstream settings"),
    _S(ORG + "max-conns", X, "upstream", "connections per endpoint at most", parse=parse_int, intent=i.Opaque,
       target="extension: upstream settings"),
    _S(ORG + "upstream-zone-size", E, "metadata", "shared memory for the upstream (NGINX internals)",
       target="nothing to carry"),
    _S(ORG + "websocket-services", E, "backend-protocol", "Services spoken to with WebSocket upgrades",
       parse=parse_services, target="nothing needed: Gateway implementations pass upgrades"),
    _S(ORG + "ssl-services", U, "backend-protocol", "Services spoken to over HTTPS, without verifying them",
       parse=parse_services, target="none: BackendTLSPolicy needs a CA and a hostname", noted_by_feature=True),
    _S(ORG + "grpc-services", A, "backend-protocol", "Services spoken to with gRPC (HTTP/2)", parse=parse_services,
       target="GRPCRoute-compatible HTTPRoute rule (appProtocol on the Service)", noted_by_feature=True),
    # --- snippets -------------------------------------------------------------------------------
    _S(ORG + "server-snippets", U, "snippet", "raw NGINX configuration in the server block", parse=parse_lines,
       intent=i.Opaque, target="none"),
    _S(ORG + "location-snippets", U, "snippet", "raw NGINX configuration in each location", parse=parse_lines,
       intent=i.Opaque, target="none"),
    # --- protections ----------------------------------------------------------------------------
    _S(ORG + "basic-auth-secret", X, "auth", "HTTP basic authentication with the htpasswd Secret (key htpasswd)",
       intent=i.BasicAuth, target="extension: basic-auth", noted_by_feature=True),
    _S(ORG + "basic-auth-realm", X, "auth", "realm of the basic-auth challenge", intent=i.BasicAuth,
       target="extension: basic-auth"),
    _S(ORG + "limit-req-rate", X, "ratelimit", "request rate per key (10r/s, 600r/m); over it: 429 by default",
       parse=parse_rate, intent=i.RateLimit, target="extension: rate-limit", noted_by_feature=True),
    _S(ORG + "limit-req-key", X, "ratelimit", "what is counted (default ${binary_remote_addr})", intent=i.RateLimit,
       target="extension: rate-limit"),
    _S(ORG + "limit-req-burst", X, "ratelimit", "requests above the rate queued", parse=parse_int, intent=i.RateLimit,
       target="extension: rate-limit"),
    _S(ORG + "limit-req-delay", X, "ratelimit", "burst requests passed without delay", parse=parse_int,
       intent=i.RateLimit, target="extension: rate-limit"),
    _S(ORG + "limit-req-no-delay", X, "ratelimit", "pass the whole burst without delay", parse=parse_bool,
       intent=i.RateLimit, target="extension: rate-limit"),
    _S(ORG + "limit-req-reject-code", X, "ratelimit", "status of refused requests (default 429)", parse=parse_int,
       intent=i.RateLimit, target="extension: rate-limit"),
    _S(ORG + "limit-req-dry-run", X, "ratelimit", "count but never refuse", parse=parse_bool, intent=i.RateLimit,
       target="extension: rate-limit"),
    _S(ORG + "limit-req-zone-size", E, "metadata", "shared memory of the rate-limit zone (NGINX internals)",
       target="nothing to carry"),
    _S(ORG + "limit-req-log-level", E, "metadata", "log level of refusals", target="nothing to carry"),
    _S(ORG + "limit-req-scale", X, "ratelimit", "divide the rate by the number of NGINX replicas",
       parse=parse_bool, intent=i.RateLimit, target="extension: rate-limit"),
    # --- NGINX Plus and App Protect --------------------------------------------------------------
    _S(C + "jwt-key", X, "auth", "(NGINX Plus) validate a JWT with the keys of this Secret", intent=i.Opaque,
       target="extension: JWT authentication", noted_by_feature=True),
    _S(C + "jwt-realm", X, "auth", "(NGINX Plus) realm of the JWT challenge", intent=i.Opaque,
       target="extension: JWT authentication"),
    _S(C + "jwt-token", X, "auth", "(NGINX Plus) where the token is (default the Authorization header)",
       intent=i.Opaque, target="extension: JWT authentication"),
    _S(C + "jwt-login-url", X, "auth", "(NGINX Plus) redirect for requests without a valid token",
       intent=i.Opaque, target="extension: JWT authentication"),
    _S(C + "health-checks", X, "upstream", "(NGINX Plus) active health checks from the readiness probes",
       parse=parse_bool, intent=i.Opaque, target="extension: health checks"),
    _S(C + "health-checks-mandatory", X, "upstream", "(NGINX Plus) new endpoints wait for a passed check",
       parse=parse_bool, intent=i.Opaque, target="extension: health checks"),
    _S(C + "health-checks-mandatory-queue", X, "upstream", "(NGINX Plus) requests queued while checks pend",
       parse=parse_int, intent=i.Opaque, target="extension: health checks"),
    _S(C + "slow-start", X, "upstream", "(NGINX Plus) ramp-up time of a recovered endpoint", parse=_time,
       intent=i.Opaque, target="extension: upstream settings"),
    _S(C + "sticky-cookie-services", X, "affinity", "(NGINX Plus) sticky cookie per Service (serviceName=S NAME "
       "...)", intent=i.SessionAffinity, target="extension: session-affinity"),
    _S("appprotect.f5.com/app-protect-enable", X, "waf", "(App Protect) enable the WAF", parse=parse_bool,
       intent=i.Waf, target="extension: waf", noted_by_feature=True),
    _S("appprotect.f5.com/app-protect-policy", X, "waf", "(App Protect) the APPolicy (namespace/name)",
       intent=i.Waf, target="extension: waf"),
    _S("appprotect.f5.com/app-protect-security-log-enable", E, "metadata", "(App Protect) security logging",
       parse=parse_bool, target="nothing to carry"),
    _S("appprotect.f5.com/app-protect-security-log", E, "metadata", "(App Protect) the APLogConf",
       target="nothing to carry"),
    _S("appprotect.f5.com/app-protect-security-log-destination", E, "metadata", "(App Protect) log destination",
       target="nothing to carry"),
    _S("appprotectdos.f5.com/app-protect-dos-resource", X, "waf", "(App Protect DoS) the DosProtectedResource",
       intent=i.Opaque, target="extension: DoS protection"),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"path"}),
    "redirect": frozenset({"status", "redirect"}),
    "mergeable": frozenset({"status", "backend", "path"}),
    "listener": frozenset({"status", "tls"}),
    "headers": frozenset({"headers"}),
    "tls": frozenset({"tls"}),
    "timeouts": frozenset({"status"}),
    "retries": frozenset({"status", "backend"}),
    "body": frozenset({"status"}),
    "buffering": frozenset({"status"}),
    "upstream": frozenset({"backend"}),
    "backend-protocol": frozenset({"status"}),
    "snippet": frozenset({"status", "backend", "path", "redirect", "headers"}),
    "auth": frozenset({"status", "auth"}),
    "ratelimit": frozenset({"status"}),
    "affinity": frozenset({"headers", "backend"}),
    "waf": frozenset({"status"}),
}

TABLE = AnnotationTable("", "F5", _SPECS, FAMILY_ASPECTS)
