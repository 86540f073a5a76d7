"""The ``agentgateway`` emitter: Gateway API objects plus agentgateway v1.4 policies.

Every intent of a route lands in one ``AgentgatewayPolicy`` (``spec.traffic`` for auth,
authorization, rate limits, body size, retries; ``spec.backend`` for the connect timeout)
attached by ``targetRefs`` to the route, or to one rule (``sectionName``) when the rules
differ. agentgateway has no ExtensionRef form. Address lists become one CEL authorization
expression with the source's deny-first order. :meth:`AgentgatewayEmitter.read_policies`
reads the policies back with agentgateway's semantics (429 and one bucket for every client,
the htpasswd formats it verifies, the auth path it really calls).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import BasicAuth, BodyLimit, Cors, ExternalAuth, Intent, IPAccess, RateLimit, Retries, Timeouts
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from ..objects import Manifest
from . import ipranges, readvalues
from .authparts import cors_differences as _cors
from .authparts import htpasswd_layout, signin_url
from .base import ImplEmitter, ObjectKind, Piece, Row, Site, policy_targets, reference_grant
from .values import auth_url, duration, quantity

__all__ = ["EMITTER", "AgentgatewayEmitter"]

GROUP = "agentgateway.dev"
# htpasswd formats agentgateway verifies ("MD5, bcrypt, crypt, and SHA-1"; MD5 = apr1)
HASHES = frozenset({"apr1", "bcrypt", "crypt", "sha"})
_UNITS = {"second": "Seconds", "minute": "Minutes"}
_STATUS = {"http_500": 500, "http_502": 502, "http_503": 503, "http_504": 504, "http_403": 403, "http_404": 404,
           "http_429": 429}
_CIDR_TERM = re.compile(r"cidr\('([^']+)'\)\.containsIP\(source\.address\)")


def _any_of(nets: Sequence[ipranges.Network]) -> str:
    return " || ".join(f"cidr('{n}').containsIP(source.address)" for n in ipranges.texts(nets))


def _terms(expr: str) -> list[str]:
    found = _CIDR_TERM.findall(expr)
    if not found or " || ".join(f"cidr('{c}').containsIP(source.address)" for c in found) != expr:
        raise ValueError(f"expression {expr!r} is not a list of CIDR tests")
    return found


def _ext_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    url = auth_url(intent.url, site.namespace)
    if isinstance(url, str):
        return url
    if url.service is None or url.namespace is None:
        return f"auth URL host {url.host} is not an in-cluster Service (<service>.<namespace>)"
    if url.scheme != "http":
        return f"auth URL {intent.url} uses TLS, which needs a backend TLS policy on the auth Service"
    ref: dict[str, Any] = {"name": url.service, "port": url.port}
    extra: tuple[Manifest, ...] = ()
    if url.namespace != site.namespace:
        ref["namespace"] = url.namespace
        extra = (reference_grant(f"{GROUP}/v1alpha1", "AgentgatewayPolicy", site.namespace, "Service", url.namespace,
                               url.service, {intent.provenance.subject}),)
    http: dict[str, Any] = {"path": json.dumps(url.path), "allowedRequestHeaders": ["cookie"]}
    if intent.response_headers:
        http["allowedResponseHeaders"] = [h.lower() for h in intent.response_headers]
    words = []
    if intent.signin_url:
        hosts = [str(h) for h in site.manifest["spec"].get("hostnames", ())]
        signin, lost = signin_url(intent, hosts, "https" in site.route.sections, "agentgateway")
        if signin:
            http["redirect"] = json.dumps(signin)
        words.append(lost + (" (agentgateway redirects on every refusal, not only on 401)" if signin else ""))
    if intent.method and intent.method != "GET":
        words.append(f"the source's auth method {intent.method} is not kept")
    if intent.request_headers_from:
        words.append(f"the extra headers of ConfigMap {intent.request_headers_from} are not sent")
    return Piece({"traffic": {"extAuth": {"backendRef": ref, "failureMode": "FailClosed", "http": http}}},
                 "; ".join(words), extra=extra)


def _basic_auth(intent: BasicAuth, site: Site) -> Piece | str:
    if intent.scheme != "basic":
        return "agentgateway has no digest authentication"
    if intent.secret is None:
        return "no credentials Secret is named"
    name, key, note = htpasswd_layout(intent, site.namespace, "agentgateway", "auth", HASHES, same_namespace=True)
    basic: dict[str, Any] = {"secretRef": {"name": name, "key": key}, "mode": "Strict"}
    if intent.realm:
        basic["realm"] = intent.realm
    return Piece({"traffic": {"basicAuthentication": basic}}, secret=note)


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    allow, deny = ipranges.decisive(intent)
    if not allow:
        auth = {"action": "Deny", "policy": {"matchExpressions": [_any_of(deny)]}}
    elif not deny:
        auth = {"action": "Allow", "policy": {"matchExpressions": [_any_of(allow)]}}
    else:
        auth = {"action": "Allow", "policy": {"matchExpressions": [_any_of(allow), f"!({_any_of(deny)})"]}}
    words = []
    if intent.status != 403:
        words.append(f"a refused client gets 403, not {intent.status}")
    if intent.client_address == "forwarded":
        words.append("agentgateway tests the TCP peer's address (source.address); the source tested the address "
                     "forwarded by the proxies in front")
    return Piece({"traffic": {"authorization": auth}}, "; ".join(words),
                 exact=intent.client_address == "peer" and intent.status == 403)


def _rate_limit(intent: RateLimit, site: Site) -> Piece | str:
    if intent.unit == "connections":
        return "agentgateway limits requests, not concurrent connections"
    local = {"requests": intent.rate, "unit": _UNITS[intent.unit]}
    extra = intent.burst + 1 - intent.rate  # the bucket holds requests + burst; nginx admits B + 1 at once
    if extra > 0:
        local["burst"] = extra
    return Piece({"traffic": {"rateLimit": {"local": [local]}}}, readvalues.limit_differences(intent, 429))


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        return Piece({}, "no limit, and agentgateway sets none by default: nothing to emit", exact=True)
    if intent.max_bytes > 0xFFFFFFFF:
        return "agentgateway's buffer limit must fit in 32 bits"
    return Piece({"traffic": {"buffer": {"request": {"maxBytes": quantity(intent.max_bytes),
                                                     "failureMode": "FailClosed"}}}})


def _timeouts(intent: Timeouts, site: Site) -> Piece | str:
    if intent.connect_ms is None and intent.request_ms is None:
        return "agentgateway has no idle timeout per route (only totals)"
    spec: dict[str, Any] = {}
    if intent.connect_ms is not None:
        spec["backend"] = {"tcp": {"connectTimeout": duration(max(intent.connect_ms, 100))}}
    if intent.request_ms is not None:
        spec["traffic"] = {"timeouts": {"request": duration(max(intent.request_ms, 100))}}
    words = [f"the {name} timeout ({duration(ms)}) between two {what} has no agentgateway field"
             for name, ms, what in (("send", intent.send_ms, "writes to the upstream"),
                                    ("read", intent.read_ms, "reads from the upstream")) if ms is not None]
    if intent.read_ms is not None:
        words.append("the rule's standard backendRequest timeout (a total) stays")
    return Piece(spec, "; ".join(words), exact=not words)


def _retries(intent: Retries, site: Site) -> Piece | str:
    if "off" in intent.on:
        return "retries are off"
    codes = sorted(_STATUS[c] for c in intent.on if c in _STATUS)
    if not codes:
        return f"agentgateway retries by status code; none of {', '.join(intent.on)} is one"
    retry = {"attempts": max(intent.attempts - 1, 1) if intent.attempts else 10, "codes": codes}
    others = [c for c in intent.on if c not in _STATUS]
    words = []
    if others:
        words.append(f"the condition(s) {', '.join(others)} (connection errors, timeouts) are not retried")
    if intent.budget_ms:
        words.append(f"the retry time budget of {duration(intent.budget_ms)} is not carried")
    return Piece({"traffic": {"retry": retry}}, "; ".join(words))


class AgentgatewayEmitter(ImplEmitter):
    name = "agentgateway"
    description = ("Gateway API plus agentgateway v1.4 AgentgatewayPolicy (external and basic auth, CEL "
                   "authorization, local rate limits, body size, timeouts, retries)")
    target = "agentgateway"
    kinds = (ObjectKind("AgentgatewayPolicy", "policy", "targetRefs", sections=True),)
    rows = (
        Row(ExternalAuth, "AgentgatewayPolicy", "traffic.extAuth", "A",
            "agentgateway calls exactly the auth URL's path (a CEL string) but sends only Authorization and Cookie "
            "(the source sent every client header); only a 200 answer admits (the source admitted any 2xx); an "
            "unreachable auth service refuses the request",
            "the auth URL must name an in-cluster Service over http://", _ext_auth),
        Row(BasicAuth, "AgentgatewayPolicy", "traffic.basicAuthentication", "A",
            "agentgateway verifies apr1, bcrypt, crypt and SHA-1 entries; MD5-crypt ($1$), SHA-256/512-crypt and "
            "{SSHA} users are locked out; the Secret must be in the route's namespace",
            "secretRef.key is set to auth, the key ingress-nginx uses", _basic_auth),
        Row(BasicAuth, "AgentgatewayPolicy", "(digest)", "N", "agentgateway has no digest authentication"),
        Row(IPAccess, "AgentgatewayPolicy", "traffic.authorization", "E", "",
            "one CEL expression keeps the source's deny-first order; source.address is the TCP peer", _ip_access),
        Row(RateLimit, "AgentgatewayPolicy", "traffic.rateLimit.local", "A",
            "nginx counts per client IP and refuses with 503; agentgateway's local limit is one bucket per policy "
            "target shared by every client, per replica, refusing with 429",
            "per-client limits need rateLimit.global with a rate-limit service", _rate_limit),
        Row(RateLimit, "AgentgatewayPolicy", "(limit-connections)", "N", "agentgateway limits requests only"),
        Row(BodyLimit, "AgentgatewayPolicy", "traffic.buffer.request.maxBytes", "A",
            "agentgateway buffers the whole request body before proxying (nginx streamed it and only checked its "
            "size); bodies over the limit still get 413", "", _body_limit),
        Row(Timeouts, "AgentgatewayPolicy", "backend.tcp.connectTimeout", "E", "",
            "send/read idle timeouts have no agentgateway field; the rule's standard timeouts stay", _timeouts),
        Row(Cors, "HTTPRoute", "CORS filter", "A",
        "the standard CORS filter carries the settings; agentgateway answers every preflight itself", "", _cors),
    Row(Retries, "AgentgatewayPolicy", "traffic.retry", "A",
            "agentgateway retries by response status code; nginx's error/timeout conditions have none", "", _retries),
    )

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        """agentgateway's behaviour for each AgentgatewayPolicy this emitter writes."""
        out: list[AttachedPolicy] = []
        for m in manifests:
            if m.get("kind") != "AgentgatewayPolicy" or not str(m.get("apiVersion", "")).startswith(GROUP):
                continue
            label = f"AgentgatewayPolicy {m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
            try:
                intents = _read(m)
            except (KeyError, TypeError, ValueError) as e:
                raise PolicyReadError(f"{label}: cannot read {e}") from e
            for kind, ns, name, section in policy_targets(m):
                if kind not in ("HTTPRoute", "GRPCRoute", "Gateway"):
                    continue
                for intent in intents:
                    out.append(AttachedPolicy(PolicyTarget(kind, ns, name, section), intent, label,
                                              HASHES if isinstance(intent, BasicAuth) else frozenset()))
        return out


def _read(m: Mapping[str, Any]) -> list[Intent]:
    traffic = (m.get("spec") or {}).get("traffic") or {}
    ns = str(m["metadata"].get("namespace", ""))
    out: list[Intent] = []
    if "authorization" in traffic:
        auth = traffic["authorization"]
        exprs = auth["policy"]["matchExpressions"]
        prov = provenance_of(m, "spec.traffic.authorization")
        if auth.get("action", "Allow") == "Deny":
            out.append(IPAccess(deny=tuple(_terms(exprs[0])), provenance=prov))
        else:
            deny: list[str] = []
            if len(exprs) == 2:
                if not (exprs[1].startswith("!(") and exprs[1].endswith(")")):
                    raise ValueError(f"expression {exprs[1]!r}")
                deny = _terms(exprs[1][2:-1])
            out.append(IPAccess(allow=tuple(_terms(exprs[0])), deny=tuple(deny), provenance=prov))
    if "basicAuthentication" in traffic:
        ref = traffic["basicAuthentication"]["secretRef"]
        out.append(BasicAuth(scheme="basic", secret=f"{ns}/{ref['name']}",
                             realm=traffic["basicAuthentication"].get("realm"),
                             provenance=provenance_of(m, "spec.traffic.basicAuthentication")))
    if "rateLimit" in traffic:
        for local in traffic["rateLimit"].get("local", ()):
            unit = {"Seconds": "second", "Minutes": "minute"}[local["unit"]]
            out.append(RateLimit(rate=int(local["requests"]), unit=unit, burst=int(local.get("burst", 0)),  # type: ignore[arg-type]
                                 key="route", status=429, provenance=provenance_of(m, "spec.traffic.rateLimit")))
    if "buffer" in traffic and "request" in traffic["buffer"]:
        out.append(BodyLimit(max_bytes=readvalues.parse_quantity(traffic["buffer"]["request"]["maxBytes"]),
                             provenance=provenance_of(m, "spec.traffic.buffer")))
    if "extAuth" in traffic:
        ext = traffic["extAuth"]
        ref = ext["backendRef"]
        http = ext.get("http") or {}
        path = json.loads(http["path"]) if "path" in http else ""
        out.append(ExternalAuth(url=f"http://{ref['name']}.{ref.get('namespace', ns)}:{ref['port']}{path}",
                                response_headers=tuple(http.get("allowedResponseHeaders") or ()),
                                signin_url=json.loads(http["redirect"]) if "redirect" in http else None,
                                provenance=provenance_of(m, "spec.traffic.extAuth")))
    return out


EMITTER = AgentgatewayEmitter()
