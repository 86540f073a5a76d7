"""The ``cilium`` emitter: Gateway API objects plus what Cilium 1.20 can carry, from the
mapping table :data:`ROWS` (MAPPING.md, column Cilium).

Cilium has no policy API for the Gateway's HTTP path. It implements the experimental
``ExternalAuth`` filter and ``retry`` (written into the route with ``--experimental``) and the
standard CORS filter. IP lists become a **CiliumClusterwideNetworkPolicy** selecting the
``reserved:ingress`` identity -- the Envoy that serves every Gateway and Ingress of the
cluster (a namespaced CiliumNetworkPolicy cannot select it): ``ingress[].fromCIDRSet`` for the
allow list, ``ingressDeny[].fromCIDRSet`` for the deny list. The policy is cluster-wide, so
allow lists of different routes add up: a route's list is carried only when every other
allow list of the output is the same (else the protection is lost, and the run fails).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import (
    BackendTLSOptions,
    BasicAuth,
    BodyLimit,
    Buffering,
    ClientCertAuth,
    Cors,
    ErrorPages,
    ExternalAuth,
    ForwardedHeaders,
    Intent,
    IPAccess,
    LoadBalancing,
    Opaque,
    RateLimit,
    Retries,
    SessionAffinity,
    Timeouts,
    Waf,
)
from ...names import slug
from ...policy import AttachedPolicy, PolicyTarget, provenance_of
from ..gateway import Placed
from .base import ImplEmitter, ObjectKind, Piece, Row, Site
from .shared import per_run
from .stdforms import cors_piece, external_auth_piece, retry_piece

__all__ = ["EMITTER", "INGRESS_SELECTOR", "ROWS", "CiliumEmitter", "read_policies"]

INGRESS_SELECTOR = {"matchExpressions": [{"key": "reserved:ingress", "operator": "Exists"}]}


def _cidrs(cidrs: Sequence[str]) -> list[dict[str, Any]]:
    return [{"fromCIDRSet": [{"cidr": c} for c in cidrs]}]


def _allow_lists(placed: Sequence[Placed]) -> set[frozenset[str]]:
    return {frozenset(i.allow) for _, rule, _, _ in placed for i in rule.intents if isinstance(i, IPAccess) and i.allow}


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    if intent.client_address == "forwarded":
        return ("the source checks the client address from X-Forwarded-For; Cilium's network policy sees only the "
                "packet's source address")
    if intent.allow:
        lists = per_run(site.placed, "cilium-allow-lists", _allow_lists)
        others = sorted(", ".join(sorted(x)) for x in lists if x != frozenset(intent.allow))
        if others:
            return (f"Cilium's ingress policy is cluster-wide and allow lists add up: another route allows "
                    f"{'; '.join(others)}, which this route's sources would then admit too")
    spec: dict[str, Any] = {"endpointSelector": INGRESS_SELECTOR}
    if intent.allow:
        spec["ingress"] = _cidrs(intent.allow)
    else:
        spec["enableDefaultDeny"] = {"ingress": False}
    if intent.deny:
        spec["ingressDeny"] = _cidrs(intent.deny)
    notes = []
    if intent.allow:
        notes.append("requests from addresses outside the list are refused on every route, in-cluster clients and "
                     "load-balancer health checks included, unless listed")
    if intent.order == "allow-first" and intent.deny:
        notes.append("an address in both lists is refused (Cilium's deny rules always win)")
    if intent.status != 403:
        notes.append(f"refused requests get 403, not {intent.status}")
    return Piece(spec, difference="; ".join(notes))


def _retries(intent: Retries, site: Site) -> Piece | str:
    return retry_piece(intent, site, "Cilium", "Cilium's connection-failure retries")


def _cors(intent: Cors, site: Site) -> Piece | str:
    return cors_piece(intent, site, "Cilium's Envoy cors filter")


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        return Piece({}, exact=True, difference="no limit: nothing is emitted (Cilium has no default body limit)")
    return "Cilium has no request body limit"


ROWS: tuple[Row, ...] = (
    Row(ExternalAuth, "HTTPRoute", "spec.rules[].filters[ExternalAuth]", "A",
        "experimental ExternalAuth filter: the Gateway sends the auth service only Host, Method, Path, "
        "Content-Length, Authorization and Cookie, prefixes the client's path with the URL's path, uses the "
        "client's method, copies every auth response header when none are listed, and cannot redirect to a "
        "sign-in page", doc="Needs --experimental and an in-cluster http:// auth Service.",
        build=external_auth_piece),
    Row(IPAccess, "CiliumClusterwideNetworkPolicy", "spec.ingress[].fromCIDRSet, spec.ingressDeny[].fromCIDRSet",
        "A",
        "cluster-wide: the reserved:ingress identity serves every Gateway and Ingress, so the list holds for all "
        "their routes; the packet's source address is checked (keep it with externalTrafficPolicy: Local); deny "
        "rules win over allow rules, as nginx's deny-first order; 403",
        doc="Carried only when every allow list of the output is the same.", build=_ip_access),
    Row(Retries, "HTTPRoute", "spec.rules[].retry", "A",
        "experimental retry: attempts = tries - 1, http_NNN conditions become codes; any method is retried",
        doc="Needs --experimental.", build=_retries),
    Row(Cors, "HTTPRoute", "rules[].filters[CORS]", "A", "the standard CORS filter answers preflights itself (200)",
        build=_cors),
    Row(BodyLimit, "(no object)", "unlimited", "N",
        "Cilium has no request body limit ('0', no limit, is carried: nothing to emit)", build=_body_limit),
    Row(BasicAuth, "", "", "N", "Cilium has no basic-auth object"),
    Row(RateLimit, "CiliumEnvoyConfig", "", "N",
        "no rate limit: CiliumEnvoyConfig cannot patch the listener Cilium generates for a Gateway"),
    Row(ClientCertAuth, "Gateway", "spec.tls.frontend", "N",
        "frontend client-certificate validation is in Cilium's unsupported (exempt) feature list"),
    Row(Waf, "", "", "N", "Cilium has no WAF"),
    Row(Timeouts, "HTTPRoute", "spec.rules[].timeouts", "N",
        "no connect or idle timeouts; only the route's total timeouts"),
    Row(SessionAffinity, "HTTPRoute", "spec.rules[].sessionPersistence", "N",
        "Cilium does not read sessionPersistence"),
    Row(LoadBalancing, "", "", "N", "no load-balancing settings for Gateway traffic"),
    Row(ErrorPages, "", "", "N", "no error pages"),
    Row(Buffering, "", "", "N", "Envoy streams; no buffer settings"),
    Row(BackendTLSOptions, "BackendTLSPolicy", "", "N", "ciphers and protocols towards the backend have no field"),
    Row(ForwardedHeaders, "", "", "N", "the network policy sees packet addresses only"),
    Row(Opaque, "", "", "N", "source settings without a model are not carried"),
)


class CiliumEmitter(ImplEmitter):
    name = "cilium"
    description = ("Gateway API plus Cilium 1.20: experimental ExternalAuth filter and retry on the routes, IP "
                   "lists as a CiliumClusterwideNetworkPolicy on the reserved:ingress identity")
    target = "cilium"
    kinds = (ObjectKind("CiliumClusterwideNetworkPolicy", "ip-access", "cluster"),)
    rows = ROWS

    def gateway_piece(self, intent: Intent) -> Piece | str | None:
        """A controller-wide deny list (ingress-nginx ``block-cidrs``) is what the cluster-wide
        policy says anyway: one CiliumClusterwideNetworkPolicy named after the setting."""
        if not isinstance(intent, IPAccess):
            return None
        if intent.client_address == "forwarded":
            return ("the source checks the client address from X-Forwarded-For; Cilium's network policy sees only "
                    "the packet's source address")
        if intent.allow:
            return "a Gateway-wide allow list would add up with the routes' own lists"
        p = intent.provenance
        name = slug(f"{p.namespace}-{p.name}-{p.field.rsplit('/', 1)[-1]}-ip-access")
        spec = {"endpointSelector": INGRESS_SELECTOR, "enableDefaultDeny": {"ingress": False},
                "ingressDeny": _cidrs(intent.deny)}
        policy = self._object("CiliumClusterwideNetworkPolicy", name, "", [p.subject], spec)
        return Piece(difference="the deny list holds for every Gateway and Ingress of the cluster; the packet's "
                                "source address is checked", exact=intent.status == 403, extra=(policy,))

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        return read_policies(manifests)


def read_policies(manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
    """The cluster's ingress allow/deny lists -- every CiliumClusterwideNetworkPolicy selecting
    ``reserved:ingress`` together: allow lists add up, deny lists add up, and a policy with
    rules and default deny refuses what no allow rule admits -- on every Gateway."""
    allow: list[str] = []
    deny: list[str] = []
    restricted = False
    names: list[str] = []
    first: Mapping[str, Any] | None = None
    for obj in manifests:
        spec = obj.get("spec") or {}
        if obj.get("kind") != "CiliumClusterwideNetworkPolicy" or spec.get("endpointSelector") != INGRESS_SELECTOR:
            continue
        first = first or obj
        names.append(str((obj.get("metadata") or {}).get("name")))
        if ("ingress" in spec or "ingressDeny" in spec) and (spec.get("enableDefaultDeny") or {}).get("ingress", True):
            restricted = True
        for key, into in (("ingress", allow), ("ingressDeny", deny)):
            for rule in spec.get(key) or ():
                into += [str(c["cidr"]) for c in rule.get("fromCIDRSet") or () if c["cidr"] not in into]
    if first is None or not (restricted or deny):
        return []
    if restricted and not allow:
        deny = ["0.0.0.0/0", "::/0"]  # default deny with nothing admitted
    intent = IPAccess(allow=tuple(allow) if restricted else (), deny=tuple(deny), order="deny-first",
                      client_address="peer", status=403, scope="gateway", provenance=provenance_of(first, "spec"))
    source = "CiliumClusterwideNetworkPolicy " + ", ".join(sorted(names))
    return [AttachedPolicy(PolicyTarget("Gateway", str(g["metadata"].get("namespace", "")), str(g["metadata"]["name"])),
                           intent, source)
            for g in manifests if g.get("kind") == "Gateway"]


EMITTER = CiliumEmitter()
