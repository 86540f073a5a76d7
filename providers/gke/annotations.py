"""The GKE Ingress annotation table: every annotation ingress-gce documents, on the Ingress
and on its backend Services, with the parser that reads it as ingress-gce does.

GKE's annotations live under several prefixes (``kubernetes.io/ingress.*``,
``ingress.gcp.kubernetes.io``, ``networking.gke.io``, ``cloud.google.com`` and the status
annotations ingress-gce writes under ``ingress.kubernetes.io``), so the table's keys are the full
annotation names (its prefix is empty). Keys marked "(Service)" are read from the backend
Service. ``ing2gw providers gke`` prints the table; ``docs/providers/gke.md`` is generated from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity, Notes
from ing2gw.provider import Annotations, AnnotationSpec, AnnotationTable
from ing2gw.resources import Ingress, Service

from .._common.values import parse_bool, parse_comma_list

__all__ = [
    "BACKEND_CONFIG",
    "BACKEND_CONFIG_BETA",
    "FRONTEND_CONFIG",
    "INGRESS_PREFIXES",
    "SERVICE_KEYS",
    "TABLE",
    "app_protocols",
    "parse_backend_config",
    "read_ingress",
    "read_service",
]

FRONTEND_CONFIG = "networking.gke.io/v1beta1.FrontendConfig"
BACKEND_CONFIG = "cloud.google.com/backend-config"
BACKEND_CONFIG_BETA = "beta.cloud.google.com/backend-config"
APP_PROTOCOLS = "cloud.google.com/app-protocols"
APP_PROTOCOLS_ALPHA = "service.alpha.kubernetes.io/app-protocols"
# the prefixes whose unknown keys are noted on an Ingress (kubernetes.io/ingress.* by key)
INGRESS_PREFIXES = ("networking.gke.io/", "ingress.gcp.kubernetes.io/", "kubernetes.io/ingress.")
_STATUS = "ingress.kubernetes.io/"  # written by ingress-gce itself


def _name(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("empty name")
    return value


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None


def parse_backend_config(text: str) -> dict[str, Any]:
    """``{"ports": {"<name|number>": "<BackendConfig>"}, "default": "<BackendConfig>"}``; any
    other key, or neither, is an error as in ingress-gce."""
    data = _json(text)
    if not isinstance(data, dict) or not data or set(data) - {"ports", "default"}:
        raise ValueError("no BackendConfig's found in annotation (keys must be ports and default)")
    ports = data.get("ports", {})
    if not isinstance(ports, dict) or not all(isinstance(v, str) for v in ports.values()):
        raise ValueError("ports must map port names or numbers to BackendConfig names")
    if "default" in data and not isinstance(data["default"], str):
        raise ValueError("default must be a BackendConfig name")
    return {"ports": {str(k): v for k, v in ports.items()}, "default": data.get("default")}


def parse_app_protocols(text: str) -> dict[str, str]:
    data = _json(text)
    if not isinstance(data, dict):
        raise ValueError("must map port names to protocols")
    out = {str(k): str(v) for k, v in data.items()}
    bad = [v for v in out.values() if v not in ("HTTP", "HTTPS", "HTTP2")]
    if bad:
        raise ValueError(f"unknown protocol {bad[0]!r} (HTTP, HTTPS or HTTP2)")
    return out


def app_protocols(annotations: Mapping[str, str]) -> dict[str, str]:
    """The protocol per Service port of ``cloud.google.com/app-protocols``, or of the older
    ``service.alpha.kubernetes.io/app-protocols``, which ingress-gce reads first when both are
    set; ``ValueError`` for a bad value."""
    raw = annotations.get(APP_PROTOCOLS_ALPHA) or annotations.get(APP_PROTOCOLS)
    return parse_app_protocols(raw) if raw else {}


def parse_neg(text: str) -> dict[str, Any]:
    data = _json(text)
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object")
    return data


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: Any) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED

_SPECS = [
    # --- Ingress ------------------------------------------------------------------------------
    _S("kubernetes.io/ingress.global-static-ip-name", X, "address",
       "the reserved global static IP address (by name) the external load balancer uses", parse=_name,
       intent=i.GatewayAddress, target="Gateway spec.addresses NamedAddress (gke emitter)", noted_by_feature=True),
    _S("kubernetes.io/ingress.regional-static-ip-name", X, "address",
       "the reserved regional static IP address (by name) of an internal or regional load balancer",
       parse=_name, intent=i.GatewayAddress, target="Gateway spec.addresses NamedAddress (gke emitter)",
       noted_by_feature=True),
    _S("kubernetes.io/ingress.allow-http", E, "protocols",
       "false: no HTTP forwarding rule, the load balancer answers HTTPS only (default true)", parse=parse_bool,
       default=True, target="no HTTP listener for the Ingress's Gateway", changes_answer=True),
    _S("ingress.gcp.kubernetes.io/pre-shared-cert", A, "tls",
       "Google Cloud SSL certificate resources (comma-separated names) the HTTPS proxy serves", parse=parse_comma_list,
       target="GKE Gateway: listener tls.options networking.gke.io/pre-shared-certs", noted_by_feature=True),
    _S("networking.gke.io/managed-certificates", A, "tls",
       "ManagedCertificate objects (comma-separated) whose Google-managed certificates the HTTPS proxy serves",
       parse=parse_comma_list, target="GKE Gateway: Certificate Manager certificate map "
       "(Gateway annotation networking.gke.io/certmap)", noted_by_feature=True),
    _S(FRONTEND_CONFIG, E, "frontend",
       "the FrontendConfig (same namespace) with redirectToHttps and sslPolicy", parse=_name,
       target="an HTTP redirect route; GCPGatewayPolicy sslPolicy (gke emitter)", noted_by_feature=True,
       changes_answer=True),
    _S("networking.gke.io/suppress-firewall-xpn-error", E, "metadata",
       "Shared VPC: record missing firewall rules as events instead of errors (no effect on traffic)",
       target="nothing to carry"),
    _S("kubernetes.io/ingress.class", E, "metadata", "gce (external), gce-internal (internal), "
       "gce-regional-external: which load balancer ingress-gce creates", target="the Gateway's GatewayClass"),
    # --- status annotations ingress-gce writes (read from a cluster, nothing to convert) -------
    *(_S(_STATUS + key, E, "metadata", f"status written by ingress-gce: {what}", target="nothing to carry")
      for key, what in (("backends", "backend service health"), ("forwarding-rule", "HTTP forwarding rule"),
                        ("https-forwarding-rule", "HTTPS forwarding rule"), ("target-proxy", "HTTP target proxy"),
                        ("https-target-proxy", "HTTPS target proxy"), ("url-map", "URL map"),
                        ("redirect-url-map", "HTTP-to-HTTPS redirect URL map"), ("ssl-cert", "SSL certificates"),
                        ("static-ip", "the load balancer's address"), ("firewall-rule", "firewall rule"),
                        ("firewall-rule-for-ilb", "internal load balancer firewall rule"))),
    # --- Service ------------------------------------------------------------------------------
    _S(BACKEND_CONFIG, E, "backend", "(Service) BackendConfig per Service port: "
       '{"ports": {"<name|number>": "<BackendConfig>"}, "default": "<BackendConfig>"}',
       parse=parse_backend_config, target="filters and typed intents per BackendConfig field", noted_by_feature=True,
       changes_answer=True),
    _S(BACKEND_CONFIG_BETA, E, "backend", "(Service) the older spelling of cloud.google.com/backend-config",
       parse=parse_backend_config, alias_of=BACKEND_CONFIG, target="as cloud.google.com/backend-config"),
    _S(APP_PROTOCOLS, A, "backend-tls", '(Service) protocol per port name to the Pods: {"<port>": '
       '"HTTP|HTTPS|HTTP2"}', parse=parse_app_protocols,
       target="Service appProtocol (GKE Gateway reads it) and a BackendTLSPolicy for HTTPS", noted_by_feature=True),
    _S(APP_PROTOCOLS_ALPHA, A, "backend-tls", "(Service) the older spelling of cloud.google.com/app-protocols "
       "(ingress-gce prefers it when both are set)", parse=parse_app_protocols,
       target="as cloud.google.com/app-protocols", noted_by_feature=True),
    _S("cloud.google.com/neg", E, "metadata", '(Service) container-native load balancing: {"ingress": true} '
       "sends to the Pods through network endpoint groups", parse=parse_neg,
       target="nothing to carry: GKE Gateway always uses NEGs"),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "protocols": frozenset({"status", "redirect", "tls"}),
    "tls": frozenset({"tls"}),
    "frontend": frozenset({"status", "redirect", "tls"}),
    "backend": frozenset({"status", "headers", "auth"}),
    "backend-tls": frozenset({"status"}),
}

TABLE = AnnotationTable("", "GKE", _SPECS, FAMILY_ASPECTS)
SERVICE_KEYS = frozenset(s.key for s in _SPECS if s.doc.startswith("(Service)"))


def _items(annotations: Mapping[str, str], keys: Iterable[str], prefixes: Iterable[str]) -> list[tuple[str, str, str]]:
    wanted = set(keys)
    pfx = tuple(prefixes)
    return [(k, k, annotations[k]) for k in sorted(annotations)
            if k in wanted or (k.startswith(pfx) and k != "kubernetes.io/ingress.class")]


def read_ingress(ingress: Ingress, notes: Notes, scope: tuple[tuple[str, str], ...]) -> Annotations:
    """The Ingress's GKE annotations, noting unknown and invalid ones."""
    keys = [s.key for s in _SPECS if s.key not in SERVICE_KEYS]
    return TABLE.parse(_items(ingress.annotations, keys, INGRESS_PREFIXES), notes, ingress.subject,
                       ingress.origin, scope)


def read_service(service: Service, notes: Notes, scope: tuple[tuple[str, str], ...]) -> Annotations:
    """A backend Service's GKE annotations (BackendConfig, app protocols, NEG)."""
    return TABLE.parse(_items(service.annotations, SERVICE_KEYS, ()), notes, f"Service {service.namespace}/"
                       f"{service.name}", service.origin, scope)
