"""The ``envoy-gateway`` emitter: Gateway API objects plus Envoy Gateway v1.9 policies
(SecurityPolicy, BackendTrafficPolicy, ClientTrafficPolicy, Backend), from the mapping table
:data:`ROWS` (MAPPING.md, column EG).

Policies attach by ``targetRefs`` to the route, or to one rule (``sectionName`` = the rule's
name) when the rules of a route differ; Envoy Gateway lets the most specific policy *replace*
a less specific one, so every intent of one kind for a rule lands in the same object.
ClientTrafficPolicy attaches to the HTTPS listeners of the route's Gateway.
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
    IPAccess,
    LoadBalancing,
    Opaque,
    RateLimit,
    Retries,
    SessionAffinity,
    Timeouts,
    Waf,
)
from ...policy import AttachedPolicy
from .authparts import client_cert_gaps, split_ref
from .base import ImplEmitter, ObjectKind, Piece, Row, Site, reference_grant
from .envoy_gateway_read import read_policies
from .values import access_lists, auth_url, duration, quantity

__all__ = ["EMITTER", "ROWS", "EnvoyGatewayEmitter"]

_API = "gateway.envoyproxy.io/v1alpha1"


def _external_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    url = auth_url(intent.url, site.namespace)
    if isinstance(url, str):
        return url
    http: dict[str, Any] = {}
    extra: tuple[dict[str, Any], ...] = ()
    notes: list[str] = []
    if url.service is not None and url.namespace is not None and url.scheme == "http":
        ref: dict[str, Any] = {"name": url.service, "port": url.port}
        if url.namespace != site.namespace:
            ref["namespace"] = url.namespace
            extra = (reference_grant(_API, "SecurityPolicy", site.namespace, "Service", url.namespace, url.service,
                                     [intent.provenance.subject]),)
        http["backendRefs"] = [ref]
    else:
        name = f"{site.name}-auth"
        spec: dict[str, Any] = {"endpoints": [{"fqdn": {"hostname": url.host, "port": url.port}}]}
        if url.scheme == "https":
            spec["tls"] = {"wellKnownCACertificates": "System", "sni": url.host}
        extra = ({"apiVersion": _API, "kind": "Backend",
                  "metadata": {"name": name, "namespace": site.namespace}, "spec": spec},)
        http["backendRefs"] = [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name}]
        notes.append(f"the auth host {url.host} is reached through Backend {site.namespace}/{name}, which needs "
                     "extensionApis.enableBackend in the EnvoyGateway configuration")
    http["pathOverride"] = url.path
    if intent.response_headers:
        http["headersToBackend"] = [h.lower() for h in intent.response_headers]
    if intent.method and intent.method != "GET":
        notes.append(f"the auth request uses the client's method, not {intent.method}")
    if intent.signin_url:
        notes.append(f"a 401 from the auth service reaches the client instead of a redirect to {intent.signin_url}")
    if intent.request_headers_from:
        notes.append(f"the extra auth request headers of ConfigMap {intent.request_headers_from} are not sent")
    # Envoy sends only Host, Method, Path, Content-Length and Authorization unless listed: the
    # session cookie of an oauth2-proxy style service must be listed, or every request fails.
    return Piece({"extAuth": {"headersToExtAuth": ["authorization", "cookie"], "http": http,
                              "statusOnError": 500}},
                 difference="; ".join(notes), extra=extra)


def _basic_auth(intent: BasicAuth, site: Site) -> Piece | str:
    if intent.scheme != "basic":
        return "Envoy Gateway has no digest authentication"
    if intent.secret is None:
        return "no credentials Secret is named"
    ns, name = split_ref(intent.secret, site.namespace)
    target = f"{name}-htpasswd"
    users: dict[str, Any] = {"name": target}
    layout = ("an htpasswd Secret (key auth)" if intent.secret_layout == "htpasswd"
              else "a Secret with one key per user")
    secret = (f"Envoy Gateway reads htpasswd users from the key .htpasswd and accepts only {{SHA}} (SHA-1) hashes: "
              f"create Secret {site.namespace}/{target} with key .htpasswd holding every user of {ns}/{name} "
              f"({layout}) as 'user:{{SHA}}<base64 sha1>' (htpasswd -s); apr1, bcrypt and crypt entries of the "
              "source Secret lock their users out")
    realm = f"the realm {intent.realm!r} is not sent" if intent.realm else ""
    return Piece({"basicAuth": {"users": users}}, difference=realm, secret=secret)


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    lists = access_lists(intent, site.rule.intents, "authorization")
    if not isinstance(lists, tuple):
        return lists
    deny_cidrs, allow_cidrs = lists
    deny = [{"action": "Deny", "principal": {"clientCIDRs": deny_cidrs}}] if deny_cidrs else []
    allow = [{"action": "Allow", "principal": {"clientCIDRs": allow_cidrs}}] if allow_cidrs else []
    # rules are first-match: ingress-nginx checks the deny list before the allow list
    rules = deny + allow if intent.order == "deny-first" else allow + deny
    notes = []
    if intent.client_address == "forwarded":
        notes.append("the client address is the one ClientTrafficPolicy clientIPDetection derives; configure "
                     "xForwardedFor (numTrustedHops or trustedCIDRs) to match the source's real-IP settings")
    if intent.status != 403:
        notes.append(f"refused requests get 403, not {intent.status}")
    return Piece({"authorization": {"defaultAction": "Deny" if allow_cidrs else "Allow", "rules": rules}},
                 difference="; ".join(notes), exact=not notes)


def _rate_limit(intent: RateLimit, site: Site) -> Piece | str:
    if intent.unit == "connections":
        return "Envoy Gateway limits connections per listener, not per client"
    unit = {"second": "Second", "minute": "Minute"}[intent.unit]
    exempt = [{"sourceCIDR": {"type": "Exact", "value": c, "invert": True}} for c in intent.exempt]
    rules = [{"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}, *exempt],
              "limit": {"requests": intent.rate, "unit": unit}} for cidr in ("0.0.0.0/0", "::/0")]
    burst = (f"a client may send {intent.rate} requests at once, not {intent.rate + intent.burst} "
             f"(rate + burst {intent.burst})") if intent.burst else ""
    return Piece({"rateLimit": {"local": {"rules": rules}}},
                 difference="; ".join(x for x in (burst, f"over the limit the answer is 429, not {intent.status}"
                                                  if intent.status != 429 else "") if x))


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        # "0" in the source: no limit, which is Envoy Gateway's default -- never a 0-byte limit
        return Piece({}, exact=True, difference="no limit: nothing is emitted (Envoy Gateway has no default limit)")
    if intent.implicit:
        return ("the source's default limit is not emitted: the only 413 limit, requestBuffer, buffers every "
                "request body of the route")
    return Piece({"requestBuffer": {"limit": quantity(intent.max_bytes)}})


def _timeouts(intent: Timeouts, site: Site) -> Piece | str:
    spec: dict[str, Any] = {}
    notes: list[str] = []
    if intent.connect_ms is not None:
        spec["tcp"] = {"connectTimeout": duration(intent.connect_ms)}
    idle = [ms for ms in (intent.read_ms, intent.send_ms) if ms is not None]
    if idle:
        spec["http"] = {"streamIdleTimeout": duration(max(idle))}
        if len(set(idle)) > 1:
            notes.append(f"the longer of the read and send timeouts, {duration(max(idle))}, applies to both "
                         "directions")
        else:
            notes.append("the idle timeout applies to both directions together")
    if intent.request_ms is not None:
        spec.setdefault("http", {})["requestTimeout"] = duration(intent.request_ms)
    if intent.idle_ms is not None:
        notes.append("the client connection idle timeout is not carried (ClientTrafficPolicy, Gateway-wide)")
    if not spec:
        return "no connect or idle timeout to carry"
    return Piece({"timeout": spec}, difference="; ".join(notes), exact=not notes)


_TRIGGERS = {"error": ["connect-failure", "reset"], "timeout": ["reset"], "http_500": [], "http_502": [],
             "http_503": [], "http_504": [], "http_403": [], "http_404": [], "http_429": []}


def _retries(intent: Retries, site: Site) -> Piece | str:
    if "off" in intent.on or intent.attempts == 1:
        return Piece({}, exact=True, difference="no retries: nothing is emitted (Envoy Gateway does not retry "
                                                "by default)")
    triggers: list[str] = []
    codes: list[int] = []
    skipped: list[str] = []
    for cond in intent.on:
        if cond not in _TRIGGERS:
            skipped.append(cond)
            continue
        for t in _TRIGGERS[cond]:
            if t not in triggers:
                triggers.append(t)
        if cond.startswith("http_"):
            codes.append(int(cond[5:]))
    retry_on: dict[str, Any] = {}
    if codes:
        triggers.append("retriable-status-codes")
        retry_on["httpStatusCodes"] = codes
    if not triggers:
        return f"none of the retry conditions {', '.join(intent.on)} has an Envoy trigger"
    retry_on["triggers"] = triggers
    notes = ["Envoy retries requests of any method (nginx does not retry a non-idempotent request once sent)"]
    if intent.attempts == 0:
        notes.append("unlimited tries become 10 retries")
    if intent.budget_ms:
        notes.append(f"the {duration(intent.budget_ms)} budget for retrying is not carried")
    if skipped:
        notes.append(f"conditions without an Envoy trigger are ignored: {', '.join(skipped)}")
    return Piece({"retry": {"numRetries": intent.attempts - 1 if intent.attempts else 10, "retryOn": retry_on}},
                 difference="; ".join(notes))


def _session_affinity(intent: SessionAffinity, site: Site) -> Piece | str:
    ttl_s = intent.max_age_s if intent.max_age_s is not None else intent.expires_s
    if ttl_s is None:
        return ("Envoy Gateway issues a hashing cookie only with a ttl and the source's is a session cookie; use "
                "--experimental for the HTTPRoute sessionPersistence form")
    cookie: dict[str, Any] = {"name": intent.cookie, "ttl": duration(ttl_s * 1000)}
    attributes = {k: v for k, v in (("Path", intent.path), ("SameSite", intent.same_site),
                                    ("Domain", intent.domain)) if v}
    if intent.secure:
        attributes["Secure"] = ""
    if attributes:
        cookie["attributes"] = attributes
    return Piece({"loadBalancer": {"type": "ConsistentHash", "consistentHash": {"type": "Cookie", "cookie": cookie}}})


def _load_balancing(intent: LoadBalancing, site: Site) -> Piece | str:
    spec: dict[str, Any] = {}
    notes: list[str] = []
    if intent.service_address:
        spec["routingType"] = "Service"
    if intent.algorithm == "consistent-hash" and intent.hash_key:
        key = intent.hash_key
        if key in ("$remote_addr", "$binary_remote_addr"):
            ch: dict[str, Any] = {"type": "SourceIP"}
        elif key.startswith("$http_") and key[6:].replace("_", "").isalnum():
            ch = {"type": "Headers", "headers": [{"name": key[6:].replace("_", "-")}]}
        elif key.startswith("$cookie_") and key[8:].replace("_", "").isalnum():
            ch = {"type": "Cookie", "cookie": {"name": key[8:]}}
        elif key.startswith("$arg_") and key[5:].replace("_", "").isalnum():
            ch = {"type": "QueryParams", "queryParams": [{"name": key[5:]}]}
        else:
            return f"the hash key {key} has no Envoy Gateway consistent-hash equivalent"
        spec["loadBalancer"] = {"type": "ConsistentHash", "consistentHash": ch}
        notes.append("Envoy's ring hash moves some keys when endpoints change, as nginx's consistent hash does")
        if intent.subset_size:
            notes.append("hash subsets are not carried")
    elif intent.algorithm == "ewma":
        spec["loadBalancer"] = {"type": "LeastRequest"}
        notes.append("ewma becomes LeastRequest")
    elif intent.algorithm in ("round_robin", None):
        if intent.algorithm:
            spec["loadBalancer"] = {"type": "RoundRobin"}  # Envoy Gateway's default is LeastRequest
    else:
        return f"load-balancing algorithm {intent.algorithm} has no Envoy Gateway equivalent"
    if not spec:
        return "nothing to carry"
    return Piece(spec, difference="; ".join(notes), exact=not notes)


def _client_cert(intent: ClientCertAuth, site: Site) -> Piece | str:
    if intent.mode == "off":
        return Piece({}, exact=True, difference="verification is off: nothing is emitted")
    if intent.mode == "optional_no_ca":
        return "requesting a certificate without verifying it (optional_no_ca) has no Envoy Gateway mode"
    listeners = site.listeners()
    if not listeners:
        return "the route attaches to no Gateway listener"
    gateway_ns = listeners[0][0]
    ns, name = split_ref(intent.ca_secret, site.namespace)
    ref: dict[str, Any] = {"kind": "Secret", "name": name}
    extra: tuple[dict[str, Any], ...] = ()
    if ns != gateway_ns:
        ref["namespace"] = ns
        extra = (reference_grant(_API, "ClientTrafficPolicy", gateway_ns, "Secret", ns, name,
                                 [intent.provenance.subject]),)
    notes = client_cert_gaps(intent, "Envoy's header is x-forwarded-client-cert, set with ClientTrafficPolicy "
                                     "headers.xForwardedClientCert")
    mode = "RequireAndVerify" if intent.mode == "on" else "VerifyIfGiven"
    return Piece({"tls": {"clientValidation": {"caCertificateRefs": [ref], "mode": mode}}},
                 difference="; ".join(notes), extra=extra,
                 secret=f"Envoy Gateway reads the CA bundle from key ca.crt of Secret {ns}/{name}, as the source does")


def _cors(intent: Cors, site: Site) -> Piece | str:
    notes = ["the HTTPRoute CORS filter carries the CORS settings"]
    if intent.preflight_status:
        notes.append(f"Envoy answers preflight requests 200, not {intent.preflight_status}")
    if intent.echo_wildcard:
        notes.append("with credentials Envoy echoes the request's origin instead of *")
    return Piece({}, difference="; ".join(notes))


ROWS: tuple[Row, ...] = (
    Row(ExternalAuth, "SecurityPolicy", "spec.extAuth.http", "A",
        "Envoy calls the auth service with the exact URL path (pathOverride) and only the Authorization and "
        "Cookie headers besides Host, Method, Path and Content-Length (the source sent every header); a failed "
        "call answers 500 as in nginx, but any non-2xx auth answer reaches the client as-is (nginx turned "
        "answers other than 401/403 into 500)",
        doc="An auth host outside the cluster becomes a Backend (extensionApis.enableBackend).",
        build=_external_auth),
    Row(BasicAuth, "SecurityPolicy", "spec.basicAuth.users", "A",
        "Envoy Gateway accepts only {SHA} hashes from Secret key .htpasswd: apr1, bcrypt and crypt users are "
        "locked out; the realm is not settable",
        doc="Create a re-keyed Secret <name>-htpasswd with key .htpasswd and {SHA} hashes.", build=_basic_auth),
    Row(IPAccess, "SecurityPolicy", "spec.authorization", "E",
        "first-match rules: deny CIDRs first, then allow CIDRs, then defaultAction; 403",
        doc="The client address is what ClientTrafficPolicy clientIPDetection says.", build=_ip_access),
    Row(RateLimit, "BackendTrafficPolicy", "spec.rateLimit.local", "A",
        "nginx limit_req counts per client IP per Ingress per replica with a burst and answers 503; Envoy "
        "Gateway's local limit is a token bucket per client IP (Distinct CIDR), per route and Envoy replica, "
        "holding one unit's worth of requests, answering 429 with X-RateLimit headers",
        build=_rate_limit),
    Row(RateLimit, "", "", "N", "limit-connections (concurrent connections per client) has no Envoy Gateway form"),
    Row(BodyLimit, "BackendTrafficPolicy", "spec.requestBuffer.limit", "A",
        "requestBuffer buffers the whole request body before proxying (no streaming; not with WebSocket "
        "upgrades); a body over the limit gets 413 as in nginx",
        doc="'0' (no limit) emits nothing; the source's default 1m is not emitted.", build=_body_limit),
    Row(Timeouts, "BackendTrafficPolicy", "spec.timeout", "A",
        "connect timeout is exact (tcp.connectTimeout, TLS handshake included); nginx's read/send timeouts "
        "(idle time between two reads/writes) become one stream idle timeout (http.streamIdleTimeout)",
        build=_timeouts),
    Row(Retries, "BackendTrafficPolicy", "spec.retry", "A",
        "nginx error/timeout become Envoy connect-failure/reset triggers, http_NNN retriable status codes; "
        "tries-1 retries; no time budget for retrying",
        build=_retries),
    Row(SessionAffinity, "BackendTrafficPolicy", "spec.loadBalancer.consistentHash.cookie", "A",
        "a consistent hash on the cookie (endpoints move on scale-out, like affinity-mode balanced); Envoy "
        "issues the cookie only with a ttl",
        build=_session_affinity),
    Row(LoadBalancing, "BackendTrafficPolicy", "spec.loadBalancer", "A",
        "round_robin is exact (emitted explicitly: Envoy Gateway's default is LeastRequest); ewma becomes "
        "LeastRequest; hash keys $remote_addr, $http_x, $cookie_x, $arg_x become consistent hashes; "
        "service-upstream becomes routingType Service",
        build=_load_balancing),
    Row(ClientCertAuth, "ClientTrafficPolicy", "spec.tls.clientValidation", "A",
        "verified per HTTPS listener, for every host of the listener; a missing or bad certificate fails the "
        "TLS handshake instead of answering 400",
        doc="Attached to the route's Gateway listeners, in the Gateway's namespace.", build=_client_cert),
    Row(Cors, "HTTPRoute", "rules[].filters[CORS]", "A",
        "the standard CORS filter answers preflights itself (200) and echoes the origin with credentials",
        build=_cors),
    Row(BackendTLSOptions, "Backend", "spec.tls", "N",
        "TLS versions, ciphers and a client certificate towards the backend need a Backend object in place of "
        "the Service backendRef (extensionApis.enableBackend); not written by ing2gw yet, the standard "
        "BackendTLSPolicy carries the validation"),
    Row(Waf, "EnvoyExtensionPolicy", "spec.wasm", "N",
        "no WAF of its own: a Coraza Wasm build in EnvoyExtensionPolicy, or extProc to an external WAF, is the "
        "user's choice; ModSecurity rules do not carry over"),
    Row(ErrorPages, "BackendTrafficPolicy", "spec.responseOverride", "N",
        "response overrides return a static body, they cannot call the error Service with its X-Code headers"),
    Row(Buffering, "", "", "N", "response header buffer sizes have no Envoy Gateway field (Envoy streams)"),
    Row(ForwardedHeaders, "ClientTrafficPolicy", "spec.clientIPDetection", "N",
        "set clientIPDetection on the Gateway's ClientTrafficPolicy by hand (controller-wide in the source)"),
    Row(Opaque, "", "", "N", "source settings without a model are not carried"),
)


class EnvoyGatewayEmitter(ImplEmitter):
    name = "envoy-gateway"
    description = ("Gateway API plus Envoy Gateway v1.9 policies: SecurityPolicy (external auth, basic auth, "
                   "IP lists), BackendTrafficPolicy (rate limits, body size, timeouts, retries, affinity, load "
                   "balancing), ClientTrafficPolicy (client certificates)")
    target = "envoy-gateway"
    kinds = (
        ObjectKind("SecurityPolicy", "security", "targetRefs", sections=True),
        ObjectKind("BackendTrafficPolicy", "traffic", "targetRefs", sections=True),
        ObjectKind("ClientTrafficPolicy", "client", "listener"),
    )
    rows = ROWS

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        """The intents this emitter's objects in ``manifests`` carry, as Envoy Gateway enforces them."""
        return read_policies(manifests)


EMITTER = EnvoyGatewayEmitter()
