"""The Kong Ingress Controller annotation table: every ``konghq.com/*`` key KIC reads.

One :class:`~ing2gw.provider.AnnotationSpec` per key, with the parser that reads the value
the way KIC does (invalid values are ignored by KIC, so they are noted and the route keeps
Kong's default), what it becomes and how faithfully. Keys marked "(Service)" are read from
the backend Service's annotations, the others from the Ingress. ``headers.<name>`` stands
for every ``konghq.com/headers.*`` key (one header match each). ``ing2gw providers kong``
prints the table; ``docs/providers/kong.md`` is generated from it.
"""

from __future__ import annotations

import re

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_comma_list, parse_int, parse_non_negative_int

__all__ = [
    "HEADER_KEY",
    "PREFIX",
    "PROTOCOLS",
    "REDIRECT_CODES",
    "SERVICE_KEYS",
    "TABLE",
    "parse_kong_bool",
    "parse_methods",
    "parse_rewrite",
]

PREFIX = "konghq.com"
HEADER_KEY = "headers.<name>"  # the row standing for every konghq.com/headers.* key
PROTOCOLS = frozenset({"http", "https", "grpc", "grpcs", "tcp", "tls", "udp", "tls_passthrough", "ws", "wss"})
REDIRECT_CODES = frozenset({301, 302, 307, 308, 426})

_METHOD = re.compile(r"[A-Z]+", re.ASCII)
_HOST = re.compile(r"(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.\*)?", re.ASCII)
_SNI = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)


def parse_kong_bool(text: str) -> bool:
    """KIC compares with ``true``/``false`` ignoring case; anything else leaves Kong's default."""
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ValueError("not true or false")
    return value == "true"


def parse_methods(text: str) -> tuple[str, ...]:
    """Comma-separated HTTP methods, upper-cased; one invalid method voids the whole list."""
    methods = tuple(m.strip().upper() for m in text.split(","))
    for m in methods:
        if not _METHOD.fullmatch(m):
            raise ValueError(f"{m!r} is not an HTTP method")
    return methods


def parse_protocols(text: str) -> tuple[str, ...]:
    """Kong route protocols; an unknown one voids the list (Kong would reject the route)."""
    items = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    bad = [p for p in items if p not in PROTOCOLS]
    if bad or not items:
        raise ValueError(f"unknown protocol {bad[0]!r}" if bad else "empty list")
    return items


def parse_redirect_code(text: str) -> int:
    code = parse_int(text.strip())
    if code not in REDIRECT_CODES:
        raise ValueError("must be 301, 302, 307, 308 or 426")
    return code


def parse_hosts(text: str) -> tuple[str, ...]:
    """Host aliases: hostnames, a wildcard allowed as the first or the last label only;
    duplicates dropped; one invalid name voids the annotation."""
    out: list[str] = []
    for item in parse_comma_list(text):
        host = item.lower()
        if not _HOST.fullmatch(host) or host.count("*") > (2 if host.startswith("*.") and host.endswith(".*") else 1):
            raise ValueError(f"{item!r} is not a hostname Kong accepts")
        if host not in out:
            out.append(host)
    return tuple(out)


def parse_snis(text: str) -> tuple[str, ...]:
    """SNIs: plain hostnames only (no wildcard)."""
    items = parse_comma_list(text)
    for item in items:
        if not _SNI.fullmatch(item.lower()):
            raise ValueError(f"{item!r} is not a hostname (wildcards are not valid SNIs)")
    return items


def parse_path_handling(text: str) -> str:
    value = text.strip()
    if value not in ("v0", "v1"):
        raise ValueError("must be v0 or v1")
    return value


def parse_header_values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip()) or ("",)


def parse_rewrite(text: str) -> str:
    """``konghq.com/rewrite``: ``$N`` refers to the N-th capture of a regex path; ``\\$`` is a
    literal ``$``. Returns the value with captures written ``$(uri_captures[N])`` as KIC does."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            if pos + 1 >= len(text):
                raise ValueError("unexpected end of string")
            if text[pos + 1] != "$":
                raise ValueError(f"unexpected {text[pos + 1]} at pos {pos + 1}")
            out.append("$")
            pos += 2
        elif ch == "$":
            end = pos + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            if end == pos + 1:
                if end >= len(text):
                    raise ValueError("unexpected end of string")
                raise ValueError(f"unexpected {text[end]} at pos {end}")
            out.append(f"$(uri_captures[{text[pos + 1:end]}])")
            pos = end
        else:
            out.append(ch)
            pos += 1
    return "".join(out) or "/"


def _ms(text: str) -> int:
    return parse_non_negative_int(text.strip())


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: object) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)  # type: ignore[arg-type]


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED

_SPECS = [
    # --- routes (Ingress) ---------------------------------------------------------------------
    _S("strip-path", E, "rewrite", "strip the matched path prefix before proxying (KIC default false)",
       parse=parse_kong_bool, default=False, target="URLRewrite ReplacePrefixMatch / (ReplaceFullPath for Exact)",
       noted_by_feature=True, changes_answer=True),
    _S("preserve-host", E, "host", "send the client's Host upstream (KIC default true); false sends the Kong "
       "upstream name <svc>.<ns>.<port>.svc", parse=parse_kong_bool, default=True,
       target="URLRewrite hostname", noted_by_feature=True),
    _S("protocols", E, "protocols", "protocols the route accepts (Kong default http,https); https only answers "
       "plain HTTP with https-redirect-status-code (426)", parse=parse_protocols,
       target="listeners the route attaches to; an HTTP redirect route", noted_by_feature=True,
       changes_answer=True),
    _S("https-redirect-status-code", E, "protocols", "status for plain HTTP on an HTTPS-only route: 426 (default) "
       "or a redirect 301/302/307/308", parse=parse_redirect_code, default=426,
       target="RequestRedirect scheme https on the HTTP listener", noted_by_feature=True, changes_answer=True),
    _S("methods", E, "routing", "HTTP methods the route matches (comma-separated)", parse=parse_methods,
       target="HTTPRoute match method (one match per method)", changes_answer=True),
    _S(HEADER_KEY, E, "routing", "konghq.com/headers.NAME: the route matches only when header NAME has one of "
       "the comma-separated values (case-insensitive; ~* prefix = regex)", parse=parse_header_values,
       target="HTTPRoute header matches (Exact, or RegularExpression for ~*)", noted_by_feature=True,
       changes_answer=True),
    _S("headers-separator", E, "routing", "separator of the values of konghq.com/headers.* (default ,)",
       target="parsing only"),
    _S("regex-priority", A, "routing", "order among routes with regex paths (higher first); Gateway API orders "
       "regular expressions by its own precedence", parse=lambda t: parse_int(t.strip()), default=0,
       target="none (Gateway API precedence)"),
    _S("regex-prefix", E, "routing", "the marker that makes an ImplementationSpecific path a regex "
       "(default /~)", default="/~", target="RegularExpression path match"),
    _S("path-handling", A, "rewrite", "how Kong joins the Service path and the stripped request path (v0 default, "
       "v1)", parse=parse_path_handling, default="v0",
       target="URLRewrite (the join differs only with a Service path other than /)"),
    _S("host-aliases", E, "routing", "extra hostnames for every rule of the Ingress", parse=parse_hosts,
       target="HTTPRoute hostnames", changes_answer=True),
    _S("snis", A, "tls", "TLS server names the route also requires on HTTPS", parse=parse_snis,
       target="none: the HTTPS listener's hostname selects the route by SNI and Host together"),
    _S("request-buffering", X, "buffering", "buffer the request body before proxying (default true)",
       parse=parse_kong_bool, intent=i.Buffering, target="extension: buffering"),
    _S("response-buffering", X, "buffering", "buffer the response body (default true)",
       parse=parse_kong_bool, intent=i.Buffering, target="extension: buffering"),
    _S("rewrite", E, "rewrite", "replace the upstream URI (needs the RewriteURIs feature gate); $N refers to "
       "a capture of a regex path", parse=parse_rewrite, target="URLRewrite ReplaceFullPath (static values only)",
       noted_by_feature=True, changes_answer=True),
    _S("plugins", E, "plugins", "KongPlugin/KongClusterPlugin names run for the route (Ingress) or the Service",
       parse=parse_comma_list, target="filters and policy intents per plugin (see the plugin notes)",
       noted_by_feature=True, changes_answer=True),
    _S("override", X, "upstream", "(Service) a KongIngress whose upstream section tunes load balancing "
       "(deprecated; KIC 3 ignores its proxy and route sections)", intent=i.LoadBalancing,
       target="load-balancing intent", noted_by_feature=True),
    _S("tags", E, "metadata", "Kong entity tags (metadata only, no effect on traffic)", parse=parse_comma_list,
       target="nothing to carry"),
    # --- services (Service) -------------------------------------------------------------------
    _S("connect-timeout", X, "timeouts", "(Service) upstream connect timeout in ms (default 60000)", parse=_ms,
       intent=i.Timeouts, target="extension: timeouts"),
    _S("read-timeout", A, "timeouts", "(Service) upstream read timeout in ms between two reads (default 60000)",
       parse=_ms, intent=i.Timeouts, target="HTTPRoute rule timeouts.backendRequest (a total, not an idle "
       "timeout)"),
    _S("write-timeout", X, "timeouts", "(Service) upstream write timeout in ms (default 60000)", parse=_ms,
       intent=i.Timeouts, target="extension: timeouts"),
    _S("retries", X, "retries", "(Service) retries on connection failures (default 5)", parse=_ms,
       intent=i.Retries, target="extension: retries"),
    _S("path", E, "rewrite", "(Service) a path prefixed to every upstream request", default="/",
       target="URLRewrite ReplacePrefixMatch", noted_by_feature=True, changes_answer=True),
    _S("host-header", E, "host", "(Service) the Host header sent upstream", target="URLRewrite hostname",
       noted_by_feature=True),
    _S("protocol", A, "backend-tls", "(Service) upstream protocol: http (default), https, grpc, grpcs, tcp, tls, "
       "udp, ws, wss", target="BackendTLSPolicy for https/grpcs/tls (needs a CA); GRPCRoute for grpc",
       noted_by_feature=True),
    _S("client-cert", X, "backend-tls", "(Service) client certificate Secret for upstream mTLS",
       intent=i.BackendTLSOptions, target="extension: backend-tls"),
    _S("tls-verify", A, "backend-tls", "(Service) verify the upstream certificate", parse=parse_kong_bool,
       target="BackendTLSPolicy validation"),
    _S("tls-verify-depth", X, "backend-tls", "(Service) upstream certificate chain depth", parse=_ms,
       intent=i.BackendTLSOptions, target="extension: backend-tls"),
    _S("ca-certificates-secrets", A, "backend-tls", "(Service) CA Secrets for upstream verification",
       parse=parse_comma_list, target="BackendTLSPolicy caCertificateRefs (ConfigMaps)"),
    _S("ca-certificates-configmaps", A, "backend-tls", "(Service) CA ConfigMaps for upstream verification",
       parse=parse_comma_list, target="BackendTLSPolicy caCertificateRefs"),
    _S("upstream-policy", X, "upstream", "(Service) a KongUpstreamPolicy: load-balancing algorithm, hashing, "
       "health checks", target="load-balancing / session-affinity intents", noted_by_feature=True),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"path"}),
    "host": frozenset({"host"}),
    "protocols": frozenset({"status", "redirect", "tls"}),
    "plugins": frozenset({"status", "headers", "auth", "cors", "path", "host"}),
    "timeouts": frozenset({"status"}),
    "retries": frozenset({"status", "backend"}),
    "buffering": frozenset({"status"}),
    "upstream": frozenset({"backend"}),
    "backend-tls": frozenset({"status"}),
    "tls": frozenset({"tls", "status"}),
}

TABLE = AnnotationTable(PREFIX, "KONG", _SPECS, FAMILY_ASPECTS)
# keys KIC reads from the Service (the others from the Ingress; plugins, override and tags from both)
SERVICE_KEYS = frozenset(s.key for s in _SPECS if s.doc.startswith("(Service)") and s.key != "override")
