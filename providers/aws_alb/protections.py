"""The protections of an ALB as policy intents: the WAF web ACL (``wafv2-acl-arn``,
``wafv2-acl-name``, WAF Classic ``waf-acl-id``, IngressClassParams ``wafv2AclArn``/``wafv2AclName``),
frontend mutual TLS in ``verify`` mode (``mutual-authentication``), and per rule the ALB
authentication (``auth-type`` oidc/cognito, ``jwt-validation``). No Gateway API form carries
them, so the run fails unless the user accepts losing them (``--allow-unprotected``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ing2gw import intents as i
from ing2gw.ir import Provenance
from ing2gw.notes import Level, Note, Notes, Security

from .annotations import PREFIX
from .backend import AuthConfig
from .groups import Member
from .stack import Alb, AlbRule

__all__ = ["auth_intent", "protections"]


def _prov(m: Member, key: str) -> Provenance:
    return Provenance("Ingress", m.ingress.namespace, m.ingress.name, key, m.ingress.origin)


def _waf(m: Member) -> i.Waf | None:
    for spec_key, label in (("wafv2AclArn", "wafv2"), ("wafv2AclName", "wafv2")):
        value = m.params.get(spec_key)
        if isinstance(value, str) and value:
            return i.Waf(engine=f"aws-{label}", rules=value,
                         provenance=_prov(m, f"IngressClassParams spec.{spec_key}"))
    for key, label in (("wafv2-acl-arn", "wafv2"), ("wafv2-acl-name", "wafv2"), ("waf-acl-id", "waf-classic")):
        value = m.annotations.raw.get(key)
        if value and value.strip().lower() != "none":
            return i.Waf(engine=f"aws-{label}", rules=value.strip(), provenance=_prov(m, f"{PREFIX}/{key}"))
    return None


def _mtls(m: Member, notes: Notes) -> list[i.ClientCertAuth]:
    raw = m.annotations.get("mutual-authentication")
    if raw is None:
        return []
    out: list[i.ClientCertAuth] = []
    entries = raw if isinstance(raw, list) else []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        mode = str(entry.get("mode") or "off")
        if mode == "verify":
            out.append(i.ClientCertAuth(ca_secret=str(entry.get("trustStore") or ""), mode="on",
                                        provenance=_prov(m, f"{PREFIX}/mutual-authentication")))
        elif mode == "passthrough":
            notes.add(Note(code="ALB-MTLS-PASSTHROUGH", level=Level.INFO, subject=m.ingress.subject,
                           field=f"{PREFIX}/mutual-authentication", origin=m.ingress.origin,
                           message=f"port {entry.get('port')}: the ALB passes client certificates to the targets "
                                   "in X-Amzn-Mtls-Clientcert headers without verifying them",
                           instead="not converted (the target needs its own client-certificate forwarding)"))
    return out


def protections(alb: Alb, notes: Notes) -> list[i.Intent]:
    """The ALB-wide protections: the first member's WAF ACL (the setting is exclusive in a
    group), and every member's mTLS verification."""
    out: list[i.Intent] = []
    for m in alb.members:
        waf = _waf(m)
        if waf is not None:
            out.append(waf)
            break
    for m in alb.members:
        out += [x for x in _mtls(m, notes) if x not in out]
    return out


def auth_intent(rule: AlbRule) -> i.Opaque | None:
    """The rule's ALB authentication as an opaque protection intent (None without one)."""
    auth: AuthConfig = rule.auth
    if not auth.active:
        return None
    if auth.type != "none":
        raw = json.dumps({"type": auth.type, "idp": dict(auth.idp or {}), "onUnauthenticatedRequest":
                          auth.on_unauthenticated, "scope": auth.scope, "sessionCookieName": auth.session_cookie,
                          "sessionTimeout": auth.session_timeout}, sort_keys=True)
        key = f"auth-type {auth.type}"
        fld = f"{PREFIX}/auth-type"
    else:
        raw = json.dumps(dict(auth.jwt or {}), sort_keys=True)
        key = "jwt-validation"
        fld = f"{PREFIX}/jwt-validation"
    src = auth.source
    kind, _, ref = src.partition(" ")
    if kind == "Service":
        ns, _, name = ref.partition("/")
        prov = Provenance("Service", ns, name, fld, "")
    else:
        prov = Provenance("Ingress", rule.ingress.namespace, rule.ingress.name, fld, rule.ingress.origin)
    return i.Opaque(vendor="aws-alb", key=key, raw=raw, protection=Security.AUTHENTICATION,
                    affects=("status", "auth", "redirect", "backend"), provenance=prov)
