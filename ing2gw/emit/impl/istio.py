"""The ``istio`` emitter: Gateway API objects plus Istio 1.30 policies, from the mapping table
:data:`ROWS` (MAPPING.md, column Istio).

Istio's AuthorizationPolicy can name a Gateway but no route, and must live in the Gateway's
namespace: each route gets its own policies there (``<route>-ip-access``, ``<route>-ext-authz``),
scoped to the route's hosts and paths (:mod:`.istio_scope`). IP lists become a **DENY**
policy (refuse the denied addresses and every address outside the allow list): an ALLOW
policy would refuse every other request the Gateway serves. External auth is a CUSTOM
policy naming a MeshConfig extension provider, which is istiod configuration, not a
Kubernetes object: the note and the object's ``ing2gw.io/istio-ext-authz-provider``
annotation give the exact entry to add. Connect timeouts, cookie affinity and load balancing
go to a DestinationRule per backend Service; retries to the experimental HTTPRoute ``retry``.
"""

from __future__ import annotations

import json
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
    IPAccess,
    LoadBalancing,
    Opaque,
    RateLimit,
    Retries,
    SessionAffinity,
    Timeouts,
    Waf,
)
from ...names import short_hash
from ...policy import AttachedPolicy, PolicyReadError, provenance_of
from ..gateway import Placed
from .authparts import client_cert_gaps, split_ref
from .base import ImplEmitter, ObjectKind, Piece, Row, Site, reference_grant
from .gateway_scope import gateway_routes, operations, route_targets, same_intent
from .shared import per_run, service_host
from .stdforms import cors_piece, retry_piece
from .values import auth_url, duration

__all__ = ["EMITTER", "PROVIDER_ANNOTATION", "ROWS", "IstioEmitter"]

PROVIDER_ANNOTATION = "ing2gw.io/istio-ext-authz-provider"


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    if intent.scope != "route":
        return "a Gateway-wide address list is not attached per route"
    to, wider = operations(site, same_intent(IPAccess, intent))
    forwarded = intent.client_address == "forwarded"
    field, not_field = ("remoteIpBlocks", "notRemoteIpBlocks") if forwarded else ("ipBlocks", "notIpBlocks")
    rules: list[dict[str, Any]] = []
    if intent.allow:
        rules.append({"from": [{"source": {not_field: list(intent.allow)}}]})
    if intent.deny and (intent.order == "deny-first" or not intent.allow):
        rules.append({"from": [{"source": {field: list(intent.deny)}}]})
    for r in rules:
        if to:
            r["to"] = to
    notes = list(wider)
    if forwarded:
        notes.append("remoteIpBlocks is the client address from X-Forwarded-For: set numTrustedProxies in the "
                     "Gateway's proxy.istio.io/config annotation (gatewayTopology) to the number of proxies in "
                     "front of it, to match the source's real-IP settings")
    if intent.status != 403:
        notes.append(f"refused requests get 403, not {intent.status}")
    return Piece({"action": "DENY", "rules": rules}, difference="; ".join(notes), exact=not notes)


def _auth_variants(placed: Sequence[Placed]) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {}
    for _, rule, _, _ in placed:
        for i in rule.intents:
            if isinstance(i, ExternalAuth):
                out.setdefault(i.url, set()).add(i.response_headers)
    return out


def _provider(intent: ExternalAuth, site: Site) -> tuple[str, dict[str, Any]] | str:
    url = auth_url(intent.url, site.namespace)
    if isinstance(url, str):
        return url
    host = service_host(url.namespace, url.service) if url.service and url.namespace else url.host
    config: dict[str, Any] = {"service": host, "port": url.port}
    if url.path.rstrip("/"):
        config["pathPrefix"] = url.path.rstrip("/")
    # Envoy sends Host, Method, Path and Content-Length only: the session cookie of an
    # oauth2-proxy style service must be listed, or every request is refused.
    config["includeRequestHeadersInCheck"] = ["authorization", "cookie"]
    if intent.response_headers:
        config["headersToUpstreamOnAllow"] = [h.lower() for h in intent.response_headers]
    config["statusOnError"] = "500"
    base = "ing2gw-" + (f"{url.service}-{url.namespace}" if url.service else url.host.replace(".", "-"))
    base += f"-{url.port}"
    # Two routes with the same auth URL but different settings need two providers.
    variants = per_run(site.placed, "istio-auth-variants", _auth_variants).get(intent.url, set())
    name = base if len(variants) <= 1 else f"{base}-{short_hash(json.dumps(config, sort_keys=True))}"
    return name, {"name": name, "envoyExtAuthzHttp": config}


def _external_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    got = _provider(intent, site)
    if isinstance(got, str):
        return got
    name, entry = got
    to, wider = operations(site, same_intent(ExternalAuth, intent))
    config = entry["envoyExtAuthzHttp"]
    notes = list(wider)
    notes.append(f"add this extension provider to istiod's MeshConfig (meshConfig.extensionProviders): "
                 f"{json.dumps(entry, sort_keys=True)}; until it exists Istio refuses the requests the policy covers")
    if "pathPrefix" in config:
        notes.append(f"Istio calls the auth service at {config['pathPrefix']} followed by the client's path (the "
                     f"source called exactly {intent.url}): the auth service must answer every path under "
                     f"{config['pathPrefix']}")
    if "." in config["service"] and not config["service"].endswith(".svc.cluster.local"):
        notes.append(f"the auth host {config['service']} is outside the cluster: register it with a ServiceEntry"
                     + (" and a DestinationRule originating TLS" if intent.url.startswith("https:") else ""))
    if intent.method and intent.method != "GET":
        notes.append(f"the auth request uses the client's method, not {intent.method}")
    if intent.signin_url:
        notes.append(f"a 401 from the auth service reaches the client instead of a redirect to {intent.signin_url}")
    if intent.request_headers_from:
        notes.append(f"the extra auth request headers of ConfigMap {intent.request_headers_from} are not sent")
    rule: dict[str, Any] = {"to": to} if to else {}
    return Piece({"action": "CUSTOM", "provider": {"name": name}, "rules": [rule]},
                 difference="; ".join(notes),
                 annotations={PROVIDER_ANNOTATION: json.dumps(entry, sort_keys=True, separators=(",", ":"))})


def _client_cert(intent: ClientCertAuth, site: Site) -> Piece | str:
    if intent.mode == "off":
        return Piece({}, exact=True, difference="verification is off: nothing is emitted")
    if intent.mode != "on":
        return (f"verify-client {intent.mode} needs Istio's OPTIONAL_MUTUAL listener option "
                "(gateway.istio.io/tls-terminate-mode), which this emitter does not write")
    listeners = site.listeners()
    if not listeners:
        return "the route attaches to no Gateway listener"
    gateway_ns = listeners[0][0]
    ns, name = split_ref(intent.ca_secret, site.namespace)
    ref: dict[str, Any] = {"group": "", "kind": "ConfigMap", "name": name}
    extra: tuple[dict[str, Any], ...] = ()
    if ns != gateway_ns:
        ref["namespace"] = ns
        extra = (reference_grant("gateway.networking.k8s.io/v1", "Gateway", gateway_ns, "ConfigMap", ns, name,
                                 [intent.provenance.subject]),)
    notes = client_cert_gaps(intent, "Istio forwards it in x-forwarded-client-cert when "
                                     "gatewayTopology.forwardClientCertDetails says so")
    return Piece({"tls": {"frontend": {"default": {"validation": {"caCertificateRefs": [ref],
                                                                  "mode": "AllowValidOnly"}}}}},
                 difference="; ".join(notes), extra=extra,
                 secret=f"Gateway API frontend validation reads CA certificates from a ConfigMap: create ConfigMap "
                        f"{ns}/{name} with key ca.crt holding the CA bundle of Secret {ns}/{name} (key ca.crt)")


def _timeouts(intent: Timeouts, site: Site) -> Piece | str:
    if intent.connect_ms is None:
        return "no connect timeout to carry (read timeouts are the route's timeouts.backendRequest)"
    notes = []
    if intent.send_ms is not None:
        notes.append(f"the {duration(intent.send_ms)} send timeout (idle time between two writes to the upstream) "
                     "has no Istio field")
    if intent.idle_ms is not None:
        notes.append("the client connection idle timeout is not carried")
    return Piece({"trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": duration(intent.connect_ms)}}}},
                 difference="; ".join(notes))


def _session_affinity(intent: SessionAffinity, site: Site) -> Piece | str:
    ttl_s = intent.max_age_s if intent.max_age_s is not None else intent.expires_s
    cookie: dict[str, Any] = {"name": intent.cookie, "path": intent.path or "/",
                              # ttl 0s: Envoy issues a session cookie, as nginx does without max-age/expires
                              "ttl": duration((ttl_s or 0) * 1000)}
    attributes = [{"name": k, "value": v} for k, v in (("SameSite", intent.same_site), ("Domain", intent.domain)) if v]
    if intent.secure:
        attributes.append({"name": "Secure"})
    if attributes:
        cookie["attributes"] = attributes
    notes = []
    if intent.mode == "persistent":
        notes.append("affinity-mode persistent is not kept: clients move when endpoints change")
    return Piece({"trafficPolicy": {"loadBalancer": {"consistentHash": {"httpCookie": cookie}}}},
                 difference="; ".join(notes))


_HASH_KEYS = {"$remote_addr": ("useSourceIp", True), "$binary_remote_addr": ("useSourceIp", True)}


def _load_balancing(intent: LoadBalancing, site: Site) -> Piece | str:
    if intent.service_address:
        return "Istio always balances over the endpoints; service-upstream has no form"
    if intent.algorithm == "consistent-hash" and intent.hash_key:
        key = intent.hash_key
        if key in _HASH_KEYS:
            ch: dict[str, Any] = {_HASH_KEYS[key][0]: _HASH_KEYS[key][1]}
        elif key.startswith("$http_") and key[6:].replace("_", "").isalnum():
            ch = {"httpHeaderName": key[6:].replace("_", "-")}
        elif key.startswith("$cookie_") and key[8:].replace("_", "").isalnum():
            ch = {"httpCookie": {"name": key[8:]}}
        elif key.startswith("$arg_") and key[5:].replace("_", "").isalnum():
            ch = {"httpQueryParameterName": key[5:]}
        else:
            return f"the hash key {key} has no Istio consistentHash equivalent"
        notes = "hash subsets are not carried" if intent.subset_size else ""
        return Piece({"trafficPolicy": {"loadBalancer": {"consistentHash": ch}}}, difference=notes)
    if intent.algorithm == "ewma":
        return Piece({"trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}})
    if intent.algorithm == "round_robin":
        # explicit: Istio's default is LEAST_REQUEST
        return Piece({"trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}, exact=True)
    return f"load-balancing algorithm {intent.algorithm} has no Istio equivalent"


def _retries(intent: Retries, site: Site) -> Piece | str:
    return retry_piece(intent, site, "Istio", "Istio's connect-failure, refused-stream and reset retries")


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        return Piece({}, exact=True, difference="no limit: nothing is emitted (Istio has no default body limit)")
    return "Istio has no request body limit (only an EnvoyFilter buffer filter, which buffers every body)"


def _cors(intent: Cors, site: Site) -> Piece | str:
    return cors_piece(intent, site, "Istio turns it into a corsPolicy")


ROWS: tuple[Row, ...] = (
    Row(ExternalAuth, "ext-authz", "spec.action CUSTOM, spec.provider.name", "A",
        "Istio asks the MeshConfig extension provider with the Authorization and Cookie headers besides Host, "
        "Method, Path and Content-Length (the source sent every header), at its pathPrefix followed by the "
        "client's path; a failed call answers 500 (statusOnError) as in nginx; a 401 is not turned into a "
        "sign-in redirect; it holds on every listener, also before the plain-HTTP redirect to HTTPS",
        doc="The extension provider is istiod configuration: add the entry the note prints to "
            "meshConfig.extensionProviders. The policy lives in the Gateway's namespace.",
        build=_external_auth),
    Row(IPAccess, "ip-access", "spec.action DENY, spec.rules[].from[].source", "A",
        "a DENY policy on the Gateway, scoped to the route's hosts and paths, refuses the denied addresses and "
        "every address outside the allow list with 403 (deny checked first, as in nginx); ipBlocks is the peer "
        "address, remoteIpBlocks the X-Forwarded-For one (numTrustedProxies); it holds on every listener, so a "
        "plain-HTTP request nginx redirected to HTTPS first is refused at once",
        doc="An ALLOW policy would refuse every other request of the Gateway: the emitter writes DENY rules.",
        build=_ip_access),
    Row(Timeouts, "DestinationRule", "spec.trafficPolicy.connectionPool.tcp.connectTimeout", "A",
        "the connect timeout is exact but per Service, for every route to it; nginx's send timeout has no field",
        build=_timeouts),
    Row(SessionAffinity, "DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie", "A",
        "a consistent hash on the cookie, per Service (every route to it), endpoints move on scale-out like "
        "affinity-mode balanced; ttl 0s issues a session cookie",
        build=_session_affinity),
    Row(LoadBalancing, "DestinationRule", "spec.trafficPolicy.loadBalancer", "A",
        "per Service; round_robin is exact (written explicitly: Istio's default is LEAST_REQUEST), ewma becomes "
        "LEAST_REQUEST, hash keys $remote_addr, $http_x, $cookie_x, $arg_x become consistentHash",
        build=_load_balancing),
    Row(Retries, "HTTPRoute", "spec.rules[].retry", "A",
        "experimental retry: attempts = tries - 1, http_NNN conditions become codes, error/timeout Istio's "
        "connection-failure retries; any method is retried", doc="Needs --experimental.", build=_retries),
    Row(BodyLimit, "(no object)", "unlimited", "N",
        "Istio has no request body limit ('0', no limit, is carried: nothing to emit)", build=_body_limit),
    Row(Cors, "HTTPRoute", "rules[].filters[CORS]", "A",
        "the standard CORS filter answers preflights itself (200)", build=_cors),
    Row(BasicAuth, "", "", "N",
        "Istio has no basic-auth object (only an EnvoyFilter or a TrafficExtension Lua/Wasm filter)"),
    Row(RateLimit, "EnvoyFilter", "", "N",
        "Istio has no rate-limit API; an EnvoyFilter inserting envoy.filters.http.local_ratelimit is an "
        "unsupported escape hatch the emitter does not write"),
    Row(ClientCertAuth, "Gateway", "spec.tls.frontend.default.validation", "A",
        "standard frontend validation, which Istio turns into MUTUAL TLS: it holds for every HTTPS listener of the "
        "Gateway, so it is written only when every route there asks for it; a missing or bad certificate fails "
        "the TLS handshake instead of answering 400",
        doc="The CA bundle moves to a ConfigMap (key ca.crt) of the same name.", build=_client_cert),
    Row(Waf, "TrafficExtension", "spec.wasm", "N", "no WAF of its own: a Coraza Wasm TrafficExtension is the "
        "user's choice; ModSecurity rules do not carry over"),
    Row(ErrorPages, "", "", "N", "upstream error pages need an EnvoyFilter (Lua)"),
    Row(Buffering, "", "", "N", "Envoy streams; buffer sizes have no Istio field"),
    Row(BackendTLSOptions, "DestinationRule", "spec.trafficPolicy.tls", "N",
        "ciphers and protocols towards the backend have no DestinationRule field"),
    Row(ForwardedHeaders, "Gateway", "metadata.annotations[proxy.istio.io/config]", "N",
        "set gatewayTopology.numTrustedProxies on the Gateway by hand (controller-wide in the source)"),
    Row(Opaque, "", "", "N", "source settings without a model are not carried"),
)


class IstioEmitter(ImplEmitter):
    name = "istio"
    description = ("Gateway API plus Istio 1.30 policies: AuthorizationPolicy on the Gateway, scoped to each "
                   "route (external auth via a MeshConfig provider, IP lists as DENY rules), DestinationRule per "
                   "Service (connect timeout, cookie affinity, load balancing), experimental HTTPRoute retry")
    target = "istio"
    kinds = (
        ObjectKind("AuthorizationPolicy", "ip-access", "gateway", key="ip-access"),
        ObjectKind("AuthorizationPolicy", "ext-authz", "gateway", key="ext-authz"),
        ObjectKind("DestinationRule", "upstream", "service", service_ref="host"),
    )
    rows = ROWS

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        return read_policies(manifests)


def read_policies(manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
    """The IP lists and external auth of the emitted AuthorizationPolicies, per covered route rule."""
    out: list[AttachedPolicy] = []
    for obj in manifests:
        if obj.get("kind") != "AuthorizationPolicy" or not str(obj.get("apiVersion", "")).startswith("security.istio"):
            continue
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ns = str(meta.get("namespace", ""))
        gateways = {str(r.get("name")) for r in spec.get("targetRefs") or () if r.get("kind") == "Gateway"}
        if not gateways:
            continue
        source = f"AuthorizationPolicy {ns}/{meta.get('name')}"
        routes = gateway_routes(manifests, ns, gateways)
        action = spec.get("action", "ALLOW")
        if action == "DENY":
            for key, (allow, deny, forwarded) in _ip_lists(spec.get("rules") or ()).items():
                to = json.loads(key)
                intent = IPAccess(allow=tuple(allow), deny=tuple(deny), order="deny-first",
                                  client_address="forwarded" if forwarded else "peer", status=403,
                                  provenance=provenance_of(obj, "spec.rules"))
                out += [AttachedPolicy(t, intent, source) for r in routes for t in route_targets(r, to)]
        elif action == "CUSTOM":
            auth = _auth_of(obj)
            if auth is None:
                continue
            rules: Sequence[Mapping[str, Any]] = spec.get("rules") or ({},)
            for rule in rules:
                to = rule.get("to") or ()
                out += [AttachedPolicy(t, auth, source) for r in routes for t in route_targets(r, to)]
    return out


def _ip_lists(rules: Sequence[Mapping[str, Any]]) -> dict[str, tuple[list[str], list[str], bool]]:
    """Per operation list (JSON): the allowed CIDRs (notIpBlocks), the denied ones (ipBlocks)."""
    out: dict[str, tuple[list[str], list[str], bool]] = {}
    for rule in rules:
        key = json.dumps(rule.get("to") or [], sort_keys=True)
        allow, deny, forwarded = out.setdefault(key, ([], [], False))
        for f in rule.get("from") or ():
            src = f.get("source") or {}
            allow += [c for c in [*src.get("notIpBlocks", ()), *src.get("notRemoteIpBlocks", ())] if c not in allow]
            deny += [c for c in [*src.get("ipBlocks", ()), *src.get("remoteIpBlocks", ())] if c not in deny]
            forwarded = forwarded or "remoteIpBlocks" in src or "notRemoteIpBlocks" in src
        out[key] = (allow, deny, forwarded)
    return out


def _auth_of(obj: Mapping[str, Any]) -> ExternalAuth | None:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(PROVIDER_ANNOTATION)
    if not raw:
        return None
    try:
        config = json.loads(raw)["envoyExtAuthzHttp"]
        url = f"http://{config['service']}:{config['port']}{config.get('pathPrefix', '')}"
        headers = tuple(config.get("headersToUpstreamOnAllow") or ())
    except (ValueError, KeyError, TypeError) as e:
        meta = obj.get("metadata") or {}
        raise PolicyReadError(f"AuthorizationPolicy {meta.get('namespace')}/{meta.get('name')}: annotation "
                              f"{PROVIDER_ANNOTATION} is not an extension provider entry ({e})") from e
    return ExternalAuth(url=url, response_headers=headers, provenance=provenance_of(obj, "spec.provider"))


EMITTER = IstioEmitter()
