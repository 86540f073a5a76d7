"""The Azure Application Gateway Ingress Controller annotation table: every
``appgw.ingress.kubernetes.io/*`` key AGIC documents, with the parser that reads it as AGIC does.

AGIC ignores a value it cannot parse and keeps its default, so an invalid value is noted and the
default used. ``ing2gw providers agic`` prints the table; ``docs/providers/agic.md`` is
generated from it.
"""

from __future__ import annotations

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_comma_list, parse_int

__all__ = ["PREFIX", "TABLE", "parse_frontend_port", "parse_status_codes"]

PREFIX = "appgw.ingress.kubernetes.io"


def _bool(text: str) -> bool:
    """AGIC reads booleans with Go's ``strconv.ParseBool``."""
    value = text.strip()
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError("not a boolean")


def _positive(text: str) -> int:
    value = parse_int(text.strip())
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def parse_frontend_port(text: str) -> int:
    """A frontend port; out of 1..64999 AGIC falls back to the protocol's default."""
    value = parse_int(text.strip())
    if not 0 < value < 65000:
        raise ValueError("outside 1..64999")
    return value


def parse_status_codes(text: str) -> tuple[str, ...]:
    """``200-399`` or ``200,401``: codes and ranges the probe counts as healthy."""
    items = parse_comma_list(text)
    for item in items:
        low, _, high = item.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"{item!r} is not a status code or range")
    return items


def _path(text: str) -> str:
    value = text.strip()
    if not value.startswith("/"):
        raise ValueError("must start with /")
    return value


def _name(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("empty")
    return value


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: object) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)  # type: ignore[arg-type]


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED

_SPECS = [
    _S("backend-path-prefix", E, "rewrite", "replace the matched path prefix with this path when forwarding "
       "(the HTTP settings' path override)", parse=_path, target="URLRewrite ReplacePrefixMatch "
       "(ReplaceFullPath for exact paths)", noted_by_feature=True, changes_answer=True),
    _S("backend-hostname", E, "host", "the Host header sent to the backend", parse=_name,
       target="URLRewrite hostname"),
    _S("backend-protocol", A, "backend-tls", "http (default) or https to the Pods", target="BackendTLSPolicy "
       "(needs the backend's CA and hostname)", parse=lambda t: t.strip().lower(), noted_by_feature=True),
    _S("ssl-redirect", E, "protocols", "redirect plain HTTP of the Ingress's TLS hosts to HTTPS (301, path and "
       "query kept); without spec.tls it does nothing", parse=_bool, default=False,
       target="RequestRedirect route on the HTTP listener", noted_by_feature=True, changes_answer=True),
    _S("appgw-ssl-certificate", A, "tls", "a certificate already installed on the Application Gateway (by name) "
       "for the HTTPS listener", parse=_name, target="an HTTPS listener certificate Secret (none: noted)",
       noted_by_feature=True),
    _S("appgw-ssl-profile", X, "tls", "an SSL profile of the Application Gateway (TLS versions, ciphers, client "
       "certificates) for the HTTPS listener", parse=_name, intent=i.TlsPolicy, target="extension: tls-policy",
       noted_by_feature=True),
    _S("appgw-trusted-root-certificate", A, "backend-tls", "root certificates installed on the Application "
       "Gateway (comma-separated names) that backend HTTPS is verified with", parse=parse_comma_list,
       target="BackendTLSPolicy caCertificateRefs (ConfigMaps)"),
    _S("override-frontend-port", E, "protocols", "the frontend port of the listener instead of 80/443 (1..64999; "
       "other values fall back to the default)", parse=parse_frontend_port,
       target="a Gateway listener on that port", noted_by_feature=True, changes_answer=True),
    _S("rule-priority", A, "routing", "the request routing rule's priority (1..20000, lower first) instead of the "
       "generated one (19000+ for host listeners, 19500+ for host-less ones)", parse=_positive,
       target="none: Gateway API orders by hostname and path specificity", noted_by_feature=True),
    _S("hostname-extension", E, "routing", "extra host names (comma-separated) for the listener of each rule",
       parse=parse_comma_list, target="HTTPRoute hostnames", noted_by_feature=True, changes_answer=True),
    _S("use-private-ip", A, "address", "expose the listeners on the Application Gateway's private frontend IP",
       parse=_bool, default=False, target="an internal Gateway (GatewayClass/addresses of the target)",
       noted_by_feature=True),
    _S("request-timeout", E, "timeouts", "seconds the gateway waits for the backend's response (default 30)",
       parse=_positive, default=30, target="HTTPRoute rule timeouts.backendRequest"),
    _S("connection-draining", X, "upstream", "drain connections of removed endpoints", parse=_bool,
       intent=i.ConnectionDraining, target="extension: connection-draining", noted_by_feature=True),
    _S("connection-draining-timeout", X, "upstream", "seconds of connection draining (default 30)",
       parse=_positive, intent=i.ConnectionDraining, target="extension: connection-draining",
       noted_by_feature=True),
    _S("cookie-based-affinity", X, "affinity", "pin clients to a Pod with the ApplicationGatewayAffinity cookie",
       parse=_bool, intent=i.SessionAffinity, target="extension: session-affinity", noted_by_feature=True),
    _S("cookie-based-affinity-distinct-name", X, "affinity", "give the affinity cookie a name distinct per "
       "backend setting", parse=_bool, intent=i.SessionAffinity, target="extension: session-affinity",
       noted_by_feature=True),
    _S("health-probe-hostname", X, "health", "Host header of the backend health probe", parse=_name,
       intent=i.HealthCheck, target="extension: health-check", noted_by_feature=True),
    _S("health-probe-port", X, "health", "port of the health probe", parse=parse_frontend_port,
       intent=i.HealthCheck, target="extension: health-check", noted_by_feature=True),
    _S("health-probe-path", X, "health", "path of the health probe", parse=_path, intent=i.HealthCheck,
       target="extension: health-check", noted_by_feature=True),
    _S("health-probe-status-codes", X, "health", "status codes (and ranges) the probe counts as healthy",
       parse=parse_status_codes, intent=i.HealthCheck, target="extension: health-check", noted_by_feature=True),
    _S("health-probe-interval", X, "health", "seconds between probes", parse=_positive, intent=i.HealthCheck,
       target="extension: health-check", noted_by_feature=True),
    _S("health-probe-timeout", X, "health", "seconds a probe may take", parse=_positive, intent=i.HealthCheck,
       target="extension: health-check", noted_by_feature=True),
    _S("health-probe-unhealthy-threshold", X, "health", "failed probes before a Pod is taken out", parse=_positive,
       intent=i.HealthCheck, target="extension: health-check", noted_by_feature=True),
    _S("waf-policy-for-path", X, "waf", "the Azure WAF policy (resource ID) applied to the Ingress's paths",
       parse=_name, intent=i.SecurityPolicyRef, target="extension: security-policy", noted_by_feature=True),
    _S("rewrite-rule-set", U, "rewrite", "a rewrite rule set already defined on the Application Gateway (header "
       "and URL rewrites)", parse=_name, target="none: re-create as header and URL rewrite filters",
       changes_answer=True),
    _S("rewrite-rule-set-custom-resource", U, "rewrite", "an AzureApplicationGatewayRewrite object with the "
       "rewrite rules", parse=_name, target="none: re-create as header and URL rewrite filters",
       changes_answer=True),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"path", "headers"}),
    "host": frozenset({"host"}),
    "protocols": frozenset({"status", "redirect", "tls"}),
    "tls": frozenset({"tls", "status"}),
    "backend-tls": frozenset({"status"}),
    "timeouts": frozenset({"status"}),
    "affinity": frozenset({"headers"}),
    "waf": frozenset({"status"}),
}

TABLE = AnnotationTable(PREFIX, "AGIC", _SPECS, FAMILY_ASPECTS)
