"""DestinationRules -> BackendTLSPolicy and typed intents on the rules that send to the Service.

``trafficPolicy.tls`` (and each ``portLevelSettings[].tls``) with mode SIMPLE is TLS
origination: a BackendTLSPolicy for the Service (port), validating with ``sni`` (else the
Service's cluster name) against the CA of ``credentialName`` (Istio reads ``ca.crt`` from
that Secret; BackendTLSPolicy takes CA ConfigMaps, so the ConfigMap of that name is named and
the note says to create it) or the system CAs (Istio verifies with them by default);
``insecureSkipVerify`` and file-path CAs are noted. MUTUAL adds the backend-tls intent (a
client certificate); ISTIO_MUTUAL is the mesh's own mTLS (noted, nothing to convert).
``loadBalancer`` becomes the load-balancing intent; ``connectionPool`` and
``outlierDetection`` opaque intents (``istio``), so emitters that can carry them do and the
others say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import BackendTLS, Provenance, Route
from ing2gw.kinds import KubeObject
from ing2gw.notes import Fidelity, Level, Note, Notes

from .fields import walk
from .objects import Index, ServiceHost, as_map, service_host, spec_list

__all__ = ["Policies", "apply_policies", "convert_destination_rules"]

_SIMPLE_LB = {"ROUND_ROBIN": "round_robin", "LEAST_REQUEST": "least_request", "LEAST_CONN": "least_request",
              "RANDOM": "random", "PASSTHROUGH": "passthrough"}


@dataclass(slots=True)
class Policies:
    backend_tls: list[BackendTLS] = field(default_factory=list)
    intents: dict[tuple[str, str, int | None], list[i.Intent]] = field(default_factory=dict)  # (ns, svc, port)


def _note(notes: Notes, dr: KubeObject, code: str, level: Level, message: str, fld: str,
          fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "not converted") -> None:
    notes.add(Note(f"ISTIO-{code}", level, message, subject=dr.subject, field=fld, fidelity=fidelity,
                   instead=instead, origin=dr.origin, aspects=frozenset({"status"}), scope=(("*", ""),)))


def _tls(dr: KubeObject, svc: ServiceHost, port: int | None, tls: Mapping[str, Any], fld: str, notes: Notes,
         out: Policies) -> None:
    mode = str(tls.get("mode") or "DISABLE").upper()
    prov = Provenance("DestinationRule", dr.namespace, dr.name, fld, dr.origin)
    if mode in ("DISABLE", "ISTIO_MUTUAL"):
        if mode == "ISTIO_MUTUAL":
            _note(notes, dr, "DR-ISTIO-MUTUAL", Level.INFO, "ISTIO_MUTUAL is the mesh's own mTLS towards the "
                  "backend; a Gateway outside the mesh speaks plain HTTP to it", fld + ".mode", Fidelity.APPROXIMATE,
                  "no BackendTLSPolicy (keep the gateway in the mesh)")
        return
    if tls.get("insecureSkipVerify"):
        _note(notes, dr, "DR-TLS-INSECURE", Level.WARNING, "insecureSkipVerify: Istio does not verify the backend's "
              "certificate; BackendTLSPolicy always does", fld + ".insecureSkipVerify")
        return
    if tls.get("caCertificates"):
        _note(notes, dr, "DR-TLS-CA-FILE", Level.WARNING, f"the CA is a file in the proxy ({tls['caCertificates']}), "
              "which BackendTLSPolicy cannot name", fld + ".caCertificates", instead="no BackendTLSPolicy")
        return
    hostname = str(tls.get("sni") or svc.fqdn)
    credential = str(tls["credentialName"]) if tls.get("credentialName") else None
    if credential:
        _note(notes, dr, "DR-TLS-CA-CONFIGMAP", Level.WARNING, f"Istio reads the CA from Secret {credential} (ca.crt);"
              f" BackendTLSPolicy reads CA ConfigMaps: create ConfigMap {svc.namespace}/{credential} with that "
              "ca.crt", fld + ".credentialName", Fidelity.APPROXIMATE, f"caCertificateRefs ConfigMap {credential}")
    out.backend_tls.append(BackendTLS(svc.namespace, svc.name, port, hostname,
                                      ca_certificate_refs=(credential,) if credential else (),
                                      well_known_ca=None if credential else "System", source=prov))
    if mode == "MUTUAL":
        secret = credential or ""
        if not secret:
            _note(notes, dr, "DR-TLS-CLIENT-FILE", Level.WARNING, "the client certificate is a file in the proxy",
                  fld + ".clientCertificate")
        else:
            out.intents.setdefault((svc.namespace, svc.name, port), []).append(
                i.BackendTLSOptions(client_cert=f"{dr.namespace}/{secret}", provenance=prov))


def _policy(dr: KubeObject, svc: ServiceHost, port: int | None, policy: Mapping[str, Any], fld: str, notes: Notes,
            out: Policies) -> None:
    if isinstance(policy.get("tls"), Mapping):
        _tls(dr, svc, port, policy["tls"], fld + ".tls", notes, out)
    intents = out.intents.setdefault((svc.namespace, svc.name, port), [])
    lb = policy.get("loadBalancer")
    if isinstance(lb, Mapping):
        prov = Provenance("DestinationRule", dr.namespace, dr.name, fld + ".loadBalancer", dr.origin)
        ch = lb.get("consistentHash")
        if isinstance(ch, Mapping):
            if ch.get("httpHeaderName"):
                key = f"header:{ch['httpHeaderName']}"
            elif isinstance(ch.get("httpCookie"), Mapping):
                key = f"cookie:{ch['httpCookie'].get('name')}"
            elif ch.get("useSourceIp"):
                key = "source-ip"
            elif ch.get("httpQueryParameterName"):
                key = f"query:{ch['httpQueryParameterName']}"
            else:
                key = "unknown"
            intents.append(i.LoadBalancing(algorithm="consistent-hash", hash_key=key, provenance=prov))
        elif lb.get("simple"):
            algorithm = _SIMPLE_LB.get(str(lb["simple"]).upper(), str(lb["simple"]).lower())
            intents.append(i.LoadBalancing(algorithm=algorithm, provenance=prov))
    for key in ("connectionPool", "outlierDetection"):
        value = policy.get(key)
        if isinstance(value, Mapping) and value:
            prov = Provenance("DestinationRule", dr.namespace, dr.name, f"{fld}.{key}", dr.origin)
            intents.append(i.Opaque(vendor="istio", key=key, raw=json.dumps(value, sort_keys=True), provenance=prov))


def convert_destination_rules(index: Index, notes: Notes) -> Policies:
    out = Policies()
    seen: set[ServiceHost] = set()
    for dr in index.destination_rules:
        host = str(dr.spec.get("host") or "")
        svc = service_host(host, dr.namespace)
        if svc is None:
            _note(notes, dr, "DR-HOST", Level.WARNING, f"host {host or '(none)'} names no Kubernetes Service",
                  "spec.host")
            continue
        if svc in seen:
            _note(notes, dr, "DR-SHADOWED", Level.INFO, f"an older DestinationRule already configures {svc.fqdn}; "
                  "Istio uses that one", "spec.host", None, "not converted (as in Istio)")
            continue
        seen.add(svc)
        walk(dr, notes, (("*", ""),))
        policy = dr.spec.get("trafficPolicy")
        if isinstance(policy, Mapping):
            _policy(dr, svc, None, policy, "spec.trafficPolicy", notes, out)
            for n, pl in enumerate(spec_list(policy.get("portLevelSettings"))):
                port = as_map(pl.get("port")).get("number")
                if isinstance(port, int):
                    _policy(dr, svc, port, pl, f"spec.trafficPolicy.portLevelSettings[{n}]", notes, out)
    return out


def apply_policies(routes: list[Route], policies: Policies) -> list[Route]:
    """The routes with each rule carrying the intents of the Services it sends to (a port's
    own settings replace the Service-wide ones of the same kind)."""
    if not any(policies.intents.values()):
        return routes
    out = []
    for route in routes:
        rules = []
        for rule in route.rules:
            extra: list[i.Intent] = []
            for b in rule.backends:
                own = policies.intents.get((b.namespace, b.name, b.port), [])
                kinds = {x.kind for x in own}
                extra += own + [x for x in policies.intents.get((b.namespace, b.name, None), [])
                                if x.kind not in kinds]
            fresh = [x for x in dict.fromkeys(extra) if x not in rule.intents]
            rules.append(replace(rule, intents=rule.intents + tuple(fresh)) if fresh else rule)
        out.append(replace(route, rules=tuple(rules)))
    return out
