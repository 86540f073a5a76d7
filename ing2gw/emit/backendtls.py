"""BackendTLSPolicies: TLS from the Gateway to a Service, one policy per Service."""

from __future__ import annotations

from typing import Any

from ..ir import BackendTLS
from ..names import slug
from .objects import Manifest, meta, obj

__all__ = ["backend_tls_policies"]


def backend_tls_policies(items: tuple[BackendTLS, ...]) -> list[Manifest]:
    """One policy per (namespace, Service); the lowest port's settings win."""
    out: list[Manifest] = []
    grouped: dict[tuple[str, str], list[BackendTLS]] = {}
    for b in items:
        grouped.setdefault((b.namespace, b.service), []).append(b)
    for (ns, svc), group in sorted(grouped.items()):
        first = sorted(group, key=lambda b: (b.port or 0, b.hostname))[0]
        validation: dict[str, Any] = {"hostname": first.hostname}
        if first.ca_certificate_refs:
            validation["caCertificateRefs"] = [
                {"group": "", "kind": "ConfigMap", "name": n} for n in first.ca_certificate_refs
            ]
        else:
            validation["wellKnownCACertificates"] = first.well_known_ca or "System"
        spec = {"targetRefs": [{"group": "", "kind": "Service", "name": svc}], "validation": validation}
        sources = {b.source.subject for b in group if b.source}
        out.append(obj("BackendTLSPolicy", meta(f"{slug(svc)}-tls", ns, sources), spec))
    return out
