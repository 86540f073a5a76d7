"""The Cilium Ingress annotation table: every ``ingress.cilium.io/*`` key of the current Cilium
docs and operator (``operator/pkg/ingress/annotations``), with Cilium's parsing.

Cilium reads booleans as ``enabled``/``disabled`` or Go booleans, durations as Go
``time.ParseDuration``; an invalid value leaves its default. Keys about the load balancer
Service Cilium creates (type, node ports, traffic policy, class) and Envoy's sockets have no
Gateway API field: they are noted. ``ing2gw providers cilium`` prints the table;
``docs/providers/cilium.md`` is generated from it.
"""

from __future__ import annotations

import re

from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import Duration, parse_bool, parse_int

__all__ = ["LB_PREFIXES", "PREFIX", "TABLE", "parse_enabled", "parse_go_duration", "parse_mode"]

PREFIX = "ingress.cilium.io"
# Annotation prefixes Cilium copies from an Ingress to its load balancer Service (the operator's
# ingress-lb-annotation-prefixes default).
LB_PREFIXES = ("lbipam.cilium.io", "nodeipam.cilium.io", "service.beta.kubernetes.io", "service.kubernetes.io",
               "cloud.google.com")

_GO_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
_GO_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_enabled(text: str) -> bool:
    """``enabled``/``disabled``, or a Go boolean (Cilium accepts both)."""
    if text == "enabled":
        return True
    if text == "disabled":
        return False
    try:
        return parse_bool(text)
    except ValueError:
        raise ValueError("use enabled or disabled") from None


def parse_mode(text: str) -> str:
    if text not in ("dedicated", "shared"):
        raise ValueError("must be dedicated or shared")
    return text


def parse_service_type(text: str) -> str:
    if text not in ("LoadBalancer", "NodePort"):
        raise ValueError("must be LoadBalancer or NodePort")
    return text


def parse_traffic_policy(text: str) -> str:
    if text not in ("Cluster", "Local"):
        raise ValueError("must be Cluster or Local")
    return text


def parse_port(text: str) -> int:
    port = parse_int(text)
    if not 1 <= port <= 65535:
        raise ValueError("not a port number")
    return port


def parse_go_duration(text: str) -> Duration:
    """A Go duration (``30s``, ``1m30s``, ``1.5s``, ``250ms``); ``0`` alone is zero."""
    if text == "0":
        return Duration(0)
    pos, total = 0, 0.0
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        m = _GO_PART.match(text, pos)
        if m is None or m.group(1) in ("", "."):
            raise ValueError("not a Go duration (e.g. 30s, 1m30s, 500ms)")
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return Duration(round(total))


E, A, U = Fidelity.EXACT, Fidelity.APPROXIMATE, Fidelity.UNSUPPORTED


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: object) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)  # type: ignore[arg-type]


_SPECS = [
    _S("loadbalancer-mode", E, "gateway", "dedicated: the Ingress gets its own load balancer (Helm default "
       "ingressController.loadbalancerMode dedicated); shared: one load balancer for every shared Ingress",
       parse=parse_mode, target="one Gateway per dedicated Ingress; one shared Gateway (cilium) for the others",
       noted_by_feature=True),
    _S("loadbalancer-class", U, "infrastructure", "loadBalancerClass of a dedicated Ingress's Service",
       target="the implementation's Gateway infrastructure parameters"),
    _S("service-type", U, "infrastructure", "type of a dedicated Ingress's Service: LoadBalancer (default) or "
       "NodePort", parse=parse_service_type, default="LoadBalancer",
       target="the implementation's Gateway infrastructure parameters"),
    _S("service-external-traffic-policy", U, "infrastructure", "externalTrafficPolicy of a dedicated Ingress's "
       "Service: Cluster (default) or Local", parse=parse_traffic_policy, default="Cluster",
       target="the implementation's Gateway infrastructure parameters"),
    _S("insecure-node-port", U, "infrastructure", "the NodePort for HTTP when service-type is NodePort",
       parse=parse_port, target="the implementation's Gateway infrastructure parameters"),
    _S("secure-node-port", U, "infrastructure", "the NodePort for HTTPS when service-type is NodePort",
       parse=parse_port, target="the implementation's Gateway infrastructure parameters"),
    _S("host-listener-port", U, "infrastructure", "host-network port of a dedicated Ingress's Envoy listener "
       "(host network mode; default 8080)", parse=parse_port,
       target="the implementation's Gateway infrastructure parameters"),
    _S("tls-passthrough", E, "tls", "pass TLS unterminated to the backend of each host's / path, chosen by SNI "
       "(other paths and the default backend are ignored)", parse=parse_enabled, default=False,
       target="TLS listener in Passthrough mode and a TLSRoute per host", noted_by_feature=True,
       changes_answer=True),
    _S("force-https", E, "tls", "redirect plain HTTP to HTTPS (301) for hosts with TLS; unset: the operator's "
       "enforce-ingress-https (Helm ingressController.enforceHttps, default true)", parse=parse_enabled,
       target="RequestRedirect scheme https 301 on the HTTP listener", noted_by_feature=True,
       changes_answer=True),
    _S("request-timeout", E, "timeouts", "Envoy route timeout for every path of the Ingress (Go duration; "
       "default: the operator's ingress-default-request-timeout, none)", parse=parse_go_duration,
       target="HTTPRoute rule timeouts.request", noted_by_feature=True),
    _S("tcp-keep-alive", U, "connection", "TCP keep-alive on Envoy's downstream sockets (enabled by default)",
       parse=parse_enabled, default=True, target="none (implementation socket options)"),
    _S("tcp-keep-alive-idle", U, "connection", "seconds idle before keep-alive probes (default 10)",
       parse=parse_int, target="none (implementation socket options)"),
    _S("tcp-keep-alive-probe-interval", U, "connection", "seconds between keep-alive probes (default 5)",
       parse=parse_int, target="none (implementation socket options)"),
    _S("tcp-keep-alive-probe-max-failures", U, "connection", "keep-alive probes before the connection is "
       "dropped (default 10)", parse=parse_int, target="none (implementation socket options)"),
    _S("websocket", A, "connection", "WebSocket upgrades (Cilium's listeners accept them)", parse=parse_enabled,
       target="Gateway implementations proxy upgrades on HTTPRoutes"),
]

FAMILY_ASPECTS = {
    "gateway": frozenset(),
    "infrastructure": frozenset(),
    "tls": frozenset({"status", "backend", "redirect", "tls"}),
    "timeouts": frozenset(),
    "connection": frozenset(),
}

TABLE = AnnotationTable(PREFIX, "CILIUM", _SPECS, FAMILY_ASPECTS)
