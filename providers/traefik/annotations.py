"""The Traefik annotation table: every ``traefik.ingress.kubernetes.io/*`` key of Traefik v3's
Kubernetes Ingress provider.

``router.*`` keys are read on the Ingress, ``service.*`` keys on the Service a path points to
(:func:`read_service`). Keys are matched case-insensitively, as Traefik's label parser does, and
the ``router.tls.domains.<n>.main`` / ``.sans`` pairs share one row each (``<n>`` any index).
Each row: parser, default, the Gateway API construct it becomes, how faithfully, and the policy
intent it feeds. The feature code in :mod:`.translator` owes the notes of rows marked
``noted_by_feature`` (their fidelity depends on the value).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from ing2gw import intents as i
from ing2gw.notes import Fidelity, Notes, Scope
from ing2gw.provider import Annotations, AnnotationSpec, AnnotationTable
from ing2gw.resources import Ingress, Service

from .._common.values import parse_bool, parse_comma_list, parse_int, parser_for_enum

__all__ = ["PREFIX", "TABLE", "domains", "read_router", "read_service"]

PREFIX = "traefik.ingress.kubernetes.io"

_PATH_MATCHERS = ("Path", "PathPrefix", "PathRegexp")


def _path_matcher(text: str) -> str:
    if text not in _PATH_MATCHERS:
        raise ValueError(f"not one of {', '.join(_PATH_MATCHERS)} (Traefik skips the paths it applies to)")
    return text


def _scheme(text: str) -> str:
    if text not in ("http", "https", "h2c"):
        raise ValueError("not one of http, https, h2c")
    return text


def _same_site(text: str) -> str:
    if text.lower() not in ("none", "lax", "strict", ""):
        raise ValueError("not one of none, lax, strict")
    return text.lower()


class RuleSyntax(enum.StrEnum):
    V2 = "v2"
    V3 = "v3"


_rule_syntax = parser_for_enum(RuleSyntax)

R = "routing"
_SPECS = [
    AnnotationSpec("router.entrypoints", Fidelity.APPROXIMATE, "entry points the router listens on "
                   "(default: every default entry point)", parse_comma_list, (), R,
                   "HTTPRoute parentRefs sectionName: web -> the HTTP listener, websecure -> HTTPS",
                   noted_by_feature=True),
    AnnotationSpec("router.middlewares", Fidelity.APPROXIMATE, "Middlewares applied in order "
                   "(<namespace>-<name>@kubernetescrd)", parse_comma_list, (), "middleware",
                   "standard filters where exact, policy intents otherwise (per Middleware)",
                   noted_by_feature=True, changes_answer=True),
    AnnotationSpec("router.priority", Fidelity.UNSUPPORTED, "router priority (default: the rule's length)",
                   parse_int, 0, R, "none: Gateway API precedence is fixed", noted_by_feature=True),
    AnnotationSpec("router.rulesyntax", Fidelity.EXACT, "rule syntax v2 or v3 of the generated rule (deprecated)",
                   _rule_syntax, "v3", R, "only changes how wildcard hosts are written"),
    AnnotationSpec("router.pathmatcher", Fidelity.APPROXIMATE, "matcher for ImplementationSpecific paths",
                   _path_matcher, "PathPrefix", R, "Exact / PathPrefix / RegularExpression path match",
                   noted_by_feature=True),
    AnnotationSpec("router.tls", Fidelity.EXACT, "the router serves TLS connections only", parse_bool, False,
                   "tls", "HTTPRoute attached to the HTTPS listeners only", noted_by_feature=True),
    AnnotationSpec("router.tls.certresolver", Fidelity.UNSUPPORTED, "ACME resolver that obtains the certificate",
                   default=None, family="tls", target="none: use cert-manager on the Gateway"),
    AnnotationSpec("router.tls.domains.n.main", Fidelity.UNSUPPORTED, "main domain asked of the resolver",
                   default=None, family="tls", target="none: cert-manager Certificate"),
    AnnotationSpec("router.tls.domains.n.sans", Fidelity.UNSUPPORTED, "SANs asked of the resolver",
                   parse_comma_list, (), "tls", "none: cert-manager Certificate"),
    AnnotationSpec("router.tls.options", Fidelity.APPROXIMATE, "TLSOption (<namespace>-<name>@kubernetescrd): "
                   "versions, ciphers, client certificates", default=None, family="tls",
                   target="client certificates -> client-cert-auth intent; versions and ciphers noted",
                   intent=i.ClientCertAuth, noted_by_feature=True),
    AnnotationSpec("router.observability.accesslogs", Fidelity.UNSUPPORTED, "access logs for this router",
                   parse_bool, True, "observability", "none: implementation telemetry"),
    AnnotationSpec("router.observability.metrics", Fidelity.UNSUPPORTED, "metrics for this router",
                   parse_bool, True, "observability", "none: implementation telemetry"),
    AnnotationSpec("router.observability.tracing", Fidelity.UNSUPPORTED, "tracing for this router",
                   parse_bool, True, "observability", "none: implementation telemetry"),
    AnnotationSpec("router.observability.traceverbosity", Fidelity.UNSUPPORTED, "trace verbosity "
                   "(minimal, detailed)", default="minimal", family="observability",
                   target="none: implementation telemetry"),
    # --- on the Service -----------------------------------------------------------------
    AnnotationSpec("service.serversscheme", Fidelity.APPROXIMATE, "scheme to the backend: http, https, h2c "
                   "(Service annotation)", _scheme, "http", "backend-tls",
                   "https -> BackendTLSPolicy; h2c -> Service appProtocol kubernetes.io/h2c",
                   noted_by_feature=True),
    AnnotationSpec("service.serverstransport", Fidelity.APPROXIMATE, "ServersTransport "
                   "(<namespace>-<name>@kubernetescrd): backend TLS, timeouts (Service annotation)",
                   default=None, family="backend-tls", target="BackendTLSPolicy / backend-tls intent",
                   intent=i.BackendTLSOptions, noted_by_feature=True),
    AnnotationSpec("service.passhostheader", Fidelity.APPROXIMATE, "forward the client's Host header "
                   "(default true; Service annotation)", parse_bool, True, "proxy",
                   "none: false (the backend's address as Host) is noted", noted_by_feature=True),
    AnnotationSpec("service.nativelb", Fidelity.EXTENSION, "balance to the ClusterIP instead of the pods "
                   "(Service annotation)", parse_bool, False, "loadbalancing", "load-balancing intent",
                   intent=i.LoadBalancing),
    AnnotationSpec("service.nodeportlb", Fidelity.UNSUPPORTED, "balance to the node ports "
                   "(Service annotation)", parse_bool, False, "loadbalancing", "none"),
    AnnotationSpec("service.middlewares", Fidelity.APPROXIMATE, "Middlewares applied for this service "
                   "(Service annotation)", parse_comma_list, (), "middleware",
                   "standard filters where exact, policy intents otherwise", noted_by_feature=True,
                   changes_answer=True),
    AnnotationSpec("service.sticky.cookie", Fidelity.EXTENSION, "sticky sessions by cookie (Service annotation)",
                   parse_bool, False, "affinity", "session-affinity intent / sessionPersistence",
                   intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.name", Fidelity.EXTENSION, "sticky cookie name (default: a hash)",
                   default=None, family="affinity", target="session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.secure", Fidelity.EXTENSION, "sticky cookie Secure flag", parse_bool,
                   False, "affinity", "session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.httponly", Fidelity.EXTENSION, "sticky cookie HttpOnly flag",
                   parse_bool, False, "affinity", "session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.samesite", Fidelity.EXTENSION, "sticky cookie SameSite (none, lax, "
                   "strict)", _same_site, "", "affinity", "session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.maxage", Fidelity.EXTENSION, "sticky cookie Max-Age in seconds",
                   parse_int, 0, "affinity", "session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.path", Fidelity.EXTENSION, "sticky cookie Path (default /)",
                   default="/", family="affinity", target="session-affinity intent", intent=i.SessionAffinity),
    AnnotationSpec("service.sticky.cookie.domain", Fidelity.EXTENSION, "sticky cookie Domain",
                   default=None, family="affinity", target="session-affinity intent", intent=i.SessionAffinity),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "middleware": frozenset({"status", "backend", "path", "redirect", "headers", "host", "auth", "cors"}),
    "tls": frozenset({"status", "tls", "backend"}),
    "backend-tls": frozenset({"status"}),
    "proxy": frozenset({"host"}),
    "affinity": frozenset({"headers", "backend"}),
    "loadbalancing": frozenset({"backend"}),
}

TABLE = AnnotationTable(PREFIX, "TRAEFIK", _SPECS, FAMILY_ASPECTS)

_INDEXED = re.compile(r"^router\.tls\.domains\.\d+\.")


def _items(annotations: Mapping[str, str], wanted: str) -> list[tuple[str, str, str]]:
    """``(full key, table key, value)`` for the keys of ``wanted`` ("router." or "service."):
    lower-cased, the domain index folded into ``n``."""
    pfx = PREFIX + "/"
    out = []
    for full in sorted(annotations):
        if not full.startswith(pfx):
            continue
        key = _INDEXED.sub("router.tls.domains.n.", full[len(pfx):].lower())
        if key.startswith(wanted) or (wanted == "router." and not key.startswith("service.")):
            out.append((full, key, annotations[full]))
    return out


def read_router(ingress: Ingress, notes: Notes, scope: Scope) -> Annotations:
    """The ``router.*`` annotations of an Ingress (``service.*`` ones there are unknown keys:
    Traefik reads them on Services only)."""
    return TABLE.parse(_items(ingress.annotations, "router."), notes, ingress.subject, ingress.origin, scope)


def read_service(service: Service, notes: Notes, scope: Scope) -> Annotations:
    """The ``service.*`` annotations of a Service."""
    items = [it for it in _items(service.annotations, "service.") if it[1].startswith("service.")]
    return TABLE.parse(items, notes, f"Service {service.namespace}/{service.name}", service.origin, scope)


def domains(annotations: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    """The ``router.tls.domains.<n>.main`` / ``.sans`` pairs, by index."""
    found: dict[int, dict[str, str]] = {}
    for full, value in annotations.items():
        m = re.fullmatch(re.escape(PREFIX) + r"/router\.tls\.domains\.(\d+)\.(main|sans)", full, re.IGNORECASE)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2).lower()] = value
    return [(d.get("main", ""), tuple(s.strip() for s in d.get("sans", "").split(",") if s.strip()))
            for _, d in sorted(found.items())]
