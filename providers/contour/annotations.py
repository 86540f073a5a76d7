"""The Contour annotation table: every ``projectcontour.io/*`` annotation Contour's documentation
lists (``site/content/docs/main/config/annotations.md``), on Ingresses and on Services.

Ingress keys are read by :class:`~.ingress.ContourTranslator`; Service keys (circuit breakers,
``upstream-protocol.*``) by :func:`read_service` on each Service a converted route points to.
The standard keys Contour also reads (``ingress.kubernetes.io/force-ssl-redirect``,
``kubernetes.io/ingress.allow-http``) are not in the ``projectcontour.io`` prefix: the
translator reads them directly (:data:`FORCE_SSL_REDIRECT`, :data:`ALLOW_HTTP`).
"""

from __future__ import annotations

import re

from ing2gw import intents as i
from ing2gw.notes import Fidelity, Notes, Scope
from ing2gw.provider import Annotations, AnnotationSpec, AnnotationTable
from ing2gw.resources import Service

from .._common.values import Duration, parse_comma_list, parse_int, parse_non_negative_int

__all__ = ["ALLOW_HTTP", "FORCE_SSL_REDIRECT", "PREFIX", "SERVICE_KEYS", "TABLE", "parse_go_duration",
           "read_service"]

PREFIX = "projectcontour.io"
FORCE_SSL_REDIRECT = "ingress.kubernetes.io/force-ssl-redirect"
ALLOW_HTTP = "kubernetes.io/ingress.allow-http"

_GO_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_GO_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> Duration | None:
    """A Go duration (``1m30s``, ``250ms``) as Contour reads it; ``infinity`` (no timeout) is
    ``None``; ``0s`` is a zero duration (Contour then keeps Envoy's default)."""
    text = text.strip()
    if text == "infinity":
        return None
    if text in ("0", "0s"):
        return Duration(0)
    pos, total = 0, 0.0
    for m in _GO_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError("not a Go duration (e.g. 30s, 1m30s, 250ms) or infinity")
    return Duration(int(round(total)))


def _tls_version(text: str) -> str:
    if text not in ("1.2", "1.3"):
        raise ValueError("not 1.2 or 1.3")
    return text


def _retries(text: str) -> int:
    """``num-retries``: -1 disables retries; 0 (or unset) keeps Envoy's one retry."""
    n = parse_int(text)
    return 0 if n == -1 else 1 if n <= 1 else n


_ROUTING, _TLS, _RETRY, _UPSTREAM, _CLASS = "routing", "tls", "retries", "upstream", "class"
_WEBSOCKET, _PROTOCOL = "websocket", "protocol"
_SPECS = [
    AnnotationSpec("ingress.class", Fidelity.EXACT, "the ingress class that serves the Ingress (decides which "
                   "Gateway its routes attach to)", family=_CLASS, target="the Gateway of that class"),
    AnnotationSpec("response-timeout", Fidelity.EXACT, "Envoy's route timeout (Go duration, or infinity); Contour's "
                   "default is 15s", parse_go_duration, family=_ROUTING, target="HTTPRoute rule timeouts.request",
                   noted_by_feature=True),
    AnnotationSpec("retry-on", Fidelity.EXTENSION, "conditions Envoy retries on (5xx, gateway-error, reset, "
                   "connect-failure, retriable-4xx, refused-stream, retriable-status-codes ...)", parse_comma_list,
                   (), _RETRY, "retries intent", intent=i.Retries),
    AnnotationSpec("num-retries", Fidelity.EXTENSION, "how many retries (with retry-on; -1 none, 0 or unset 1)",
                   _retries, 1, _RETRY, "retries intent", intent=i.Retries),
    AnnotationSpec("per-try-timeout", Fidelity.EXTENSION, "the timeout of each retry attempt (with retry-on)",
                   parse_go_duration, None, _RETRY, "retries intent", intent=i.Retries),
    AnnotationSpec("tls-minimum-protocol-version", Fidelity.UNSUPPORTED, "the lowest TLS version the HTTPS listener "
                   "accepts (1.2 or 1.3)", _tls_version, "1.2", _TLS,
                   "no Gateway API field (an implementation's TLS policy)"),
    AnnotationSpec("tls-maximum-protocol-version", Fidelity.UNSUPPORTED, "the highest TLS version the HTTPS listener "
                   "accepts (1.2 or 1.3)", _tls_version, "1.3", _TLS,
                   "no Gateway API field (an implementation's TLS policy)"),
    AnnotationSpec("websocket-routes", Fidelity.APPROXIMATE, "the paths (as written in the Ingress) that accept "
                   "WebSocket upgrades; others refuse them", parse_comma_list, (), _WEBSOCKET,
                   "nothing: Gateway implementations accept upgrades on every route"),
    AnnotationSpec("tls-cert-namespace", Fidelity.EXACT, "the namespace of every TLS Secret the Ingress names "
                   "(certificate delegation)", family=_TLS,
                   target="listener certificateRefs in that namespace, with a ReferenceGrant"),
    # Service annotations (read on the Service a route points to)
    AnnotationSpec("max-connections", Fidelity.UNSUPPORTED, "(Service) circuit breaker: most connections per Envoy "
                   "to the Service (default 1024)", parse_non_negative_int, None, _UPSTREAM,
                   "no Gateway API form (Envoy Gateway BackendTrafficPolicy circuitBreaker)"),
    AnnotationSpec("max-pending-requests", Fidelity.UNSUPPORTED, "(Service) circuit breaker: most queued requests "
                   "(default 1024)", parse_non_negative_int, None, _UPSTREAM,
                   "no Gateway API form (Envoy Gateway BackendTrafficPolicy circuitBreaker)"),
    AnnotationSpec("max-requests", Fidelity.UNSUPPORTED, "(Service) circuit breaker: most parallel requests "
                   "(default 1024)", parse_non_negative_int, None, _UPSTREAM,
                   "no Gateway API form (Envoy Gateway BackendTrafficPolicy circuitBreaker)"),
    AnnotationSpec("max-retries", Fidelity.UNSUPPORTED, "(Service) circuit breaker: most parallel retries "
                   "(default 3)", parse_non_negative_int, None, _UPSTREAM,
                   "no Gateway API form (Envoy Gateway BackendTrafficPolicy circuitBreaker)"),
    AnnotationSpec("per-host-max-connections", Fidelity.UNSUPPORTED, "(Service) circuit breaker: most connections "
                   "to one endpoint", parse_non_negative_int, None, _UPSTREAM,
                   "no Gateway API form (Envoy Gateway BackendTrafficPolicy circuitBreaker)"),
    AnnotationSpec("upstream-protocol.h2", Fidelity.UNSUPPORTED, "(Service) ports (names or numbers) proxied with "
                   "HTTP/2 over TLS", parse_comma_list, (), _PROTOCOL,
                   "Service port appProtocol kubernetes.io/h2 plus a BackendTLSPolicy (validation needed)"),
    AnnotationSpec("upstream-protocol.h2c", Fidelity.APPROXIMATE, "(Service) ports proxied with cleartext HTTP/2",
                   parse_comma_list, (), _PROTOCOL, "Service port appProtocol kubernetes.io/h2c (set it on the "
                   "Service)"),
    AnnotationSpec("upstream-protocol.tls", Fidelity.UNSUPPORTED, "(Service) ports proxied over TLS (HTTP/1.1), "
                   "without certificate validation unless an HTTPProxy sets it", parse_comma_list, (), _PROTOCOL,
                   "BackendTLSPolicy (needs a CA and hostname to validate; unvalidated TLS has no Gateway API form)"),
]

SERVICE_KEYS = frozenset({"max-connections", "max-pending-requests", "max-requests", "max-retries",
                          "per-host-max-connections", "upstream-protocol.h2", "upstream-protocol.h2c",
                          "upstream-protocol.tls"})

# retries, circuit breakers and WebSocket upgrades change nothing a replayed request shows
FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    _ROUTING: frozenset({"status"}),
    _TLS: frozenset({"tls"}),
    _PROTOCOL: frozenset({"status"}),
}

TABLE = AnnotationTable(PREFIX, "CONTOUR", _SPECS, FAMILY_ASPECTS)


def read_service(service: Service, notes: Notes, scope: Scope) -> Annotations:
    """The ``projectcontour.io/*`` Service annotations of a Service a route points to (Ingress
    keys there are unknown to Contour and noted so)."""
    pfx = PREFIX + "/"
    items = [(k, k[len(pfx):], v) for k, v in sorted(service.annotations.items())
             if k.startswith(pfx) and k[len(pfx):] in SERVICE_KEYS]
    return TABLE.parse(items, notes, f"Service {service.namespace}/{service.name}", service.origin, scope)
