"""Typed, provider-neutral policy intents: what a route needs beyond standard Gateway API fields.

A provider states what its source asked for (an auth check, an IP list, a rate limit ...) as
one frozen record per feature, in units and terms no controller owns; emitters consume the
intents they can express (``Emitter.consumes``) and :func:`ing2gw.emit.registry.note_unconsumed`
notes every intent nobody consumed, so nothing is dropped silently.

Every intent carries its :class:`~ing2gw.ir.Provenance` (``field`` = the setting that asked
for it) and states, as class data:

* ``security`` -- the protection it is (:class:`~ing2gw.notes.Security`), or ``None``. Losing a
  protection fails the run unless the user accepts it (``--allow-unprotected``).
* ``replaced_by`` -- which standard or experimental Gateway API feature, or which
  implementation policies, can carry it; the report quotes it for every intent left behind.

Features the Gateway API expresses in the IR directly (the CORS filter, response header
modifiers, rule timeouts, ``sessionPersistence``, BackendTLSPolicy) stay there; their intents
here carry only what those forms cannot say (connect/send timeouts, cookie attributes, TLS
ciphers ...). Durations are whole milliseconds, sizes bytes, rates requests per ``unit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from .ir import CORS, Provenance
from .notes import Security

__all__ = [
    "INTENT_TYPES",
    "AccessLog",
    "BackendTLSOptions",
    "BasicAuth",
    "BodyLimit",
    "Buffering",
    "ClientCertAuth",
    "ConnectionDraining",
    "Cors",
    "ErrorPages",
    "ExternalAuth",
    "ForwardedHeaders",
    "GatewayAddress",
    "HealthCheck",
    "IPAccess",
    "IdentityAwareProxy",
    "Intent",
    "LoadBalancing",
    "Opaque",
    "RateLimit",
    "ResponseHeaders",
    "Retries",
    "SecurityPolicyRef",
    "SessionAffinity",
    "Timeouts",
    "TlsPolicy",
    "Waf",
]


@dataclass(frozen=True, slots=True)
class Intent:
    """Base of every intent. ``kind`` is the stable name emitters and reports use."""

    provenance: Provenance = field(kw_only=True, compare=False)
    # The source's built-in default, not something the user configured (ingress-nginx's 1m
    # body limit): left behind, it is noted as an approximation, not as a lost feature.
    implicit: bool = field(default=False, kw_only=True, compare=False)
    kind: ClassVar[str] = "intent"
    security_category: ClassVar[Security | None] = None
    replaced_by: ClassVar[str] = ""
    # What of a request's outcome losing the intent changes (ing2gw.notes.ASPECTS).
    outcome_aspects: ClassVar[frozenset[str]] = frozenset()

    @property
    def security(self) -> Security | None:
        return self.security_category

    @property
    def aspects(self) -> frozenset[str]:
        return self.outcome_aspects

    def params(self) -> dict[str, Any]:
        """The intent's values as plain data (JSON reports, ``ing2gw emitters``)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name not in ("provenance", "implicit")}

    def summary(self) -> str:
        """A short human description, e.g. ``rate limit 10/second, burst 50``."""
        values = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                           for k, v in self.params().items() if v not in (None, (), [], "", False))
        return f"{self.kind} ({values})" if values else self.kind


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# --- protections ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExternalAuth(Intent):
    """Ask an HTTP service before each request; a 2xx answer lets the request through.

    ``url`` is the full URL of the auth service (scheme, host, port, path); ``method`` the
    subrequest's method (``None`` = the source's default, GET for ingress-nginx). The request
    sent carries the client's headers, no body. ``response_headers`` are copied from the auth
    answer into the upstream request. On 401, ``signin_url`` (when set) is where the client is
    redirected (302), with the original URL in the query parameter ``signin_redirect_param``.
    ``request_headers_from`` names a ConfigMap (``ns/name``) of extra headers for the auth
    service; ``cache_key``/``cache_duration`` are the source's answer cache (opaque text).
    ``always_set_cookie``: the auth service's Set-Cookie reaches the client on failure too.
    """

    url: str
    method: str | None = None
    response_headers: tuple[str, ...] = ()
    signin_url: str | None = None
    signin_redirect_param: str | None = None
    request_headers_from: str | None = None
    request_redirect: str | None = None
    cache_key: str | None = None
    cache_duration: str | None = None
    always_set_cookie: bool = False
    kind: ClassVar[str] = "external-auth"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "auth", "headers", "redirect"})
    security_category: ClassVar[Security | None] = Security.AUTHENTICATION
    replaced_by: ClassVar[str] = (
        "experimental HTTPRoute ExternalAuth filter (ing2gw --experimental, for an in-cluster http:// auth "
        "Service); or Envoy Gateway SecurityPolicy extAuth, kgateway GatewayExtension + TrafficPolicy extAuth, "
        "Traefik Middleware forwardAuth, Istio AuthorizationPolicy CUSTOM, agentgateway AgentgatewayPolicy extAuth")


@dataclass(frozen=True, slots=True)
class BasicAuth(Intent):
    """HTTP authentication against a credentials Secret (referenced, never read).

    ``scheme`` is ``basic`` or ``digest``; ``secret`` is ``ns/name``; ``secret_layout`` how the
    Secret holds users: ``htpasswd`` (one ``auth`` key in htpasswd format) or ``map`` (one key
    per user, the value its hash); ``realm`` is named in the ``WWW-Authenticate`` challenge.
    A request without valid credentials gets 401.
    """

    scheme: Literal["basic", "digest"]
    secret: str | None
    secret_layout: Literal["htpasswd", "map"] = "htpasswd"
    realm: str | None = None
    kind: ClassVar[str] = "basic-auth"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "auth"})
    security_category: ClassVar[Security | None] = Security.AUTHENTICATION
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Envoy Gateway SecurityPolicy basicAuth, kgateway "
        "TrafficPolicy basicAuth (SHA-1 hashes only), NGINX Gateway Fabric AuthenticationFilter, Traefik "
        "Middleware basicAuth, agentgateway AgentgatewayPolicy basicAuthentication")


@dataclass(frozen=True, slots=True)
class ClientCertAuth(Intent):
    """Verify client certificates on TLS connections for the host.

    ``ca_secret`` (``ns/name``) holds the CA bundle; ``mode``: ``on`` (required, 400 without),
    ``optional`` (verified when sent), ``optional_no_ca`` (requested, not verified), ``off``;
    ``depth`` is the longest chain accepted; ``pass_to_upstream`` sends the PEM certificate,
    URL-encoded, in the ``ssl-client-cert`` header; ``match_cn`` is a regular expression the
    subject must match (403 otherwise); ``error_page`` a redirect target instead of the 400.
    """

    ca_secret: str
    mode: str = "on"
    depth: int = 1
    pass_to_upstream: bool = False
    match_cn: str | None = None
    error_page: str | None = None
    kind: ClassVar[str] = "client-cert-auth"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "auth", "headers"})
    security_category: ClassVar[Security | None] = Security.TLS_CLIENT_AUTH
    replaced_by: ClassVar[str] = (
        "standard Gateway spec.tls.frontend client-certificate validation (per listener port, not per "
        "host); or Envoy Gateway ClientTrafficPolicy tls.clientValidation, NGINX Gateway Fabric snippets, "
        "Traefik TLSOption clientAuth")


@dataclass(frozen=True, slots=True)
class IPAccess(Intent):
    """Allow or deny requests by client address; a refused request gets ``status`` (403).

    ``order`` ``deny-first`` (ingress-nginx): an address in ``deny`` is refused, then, with a
    non-empty ``allow``, every address not in it is refused; ``allow-first``: an address in
    ``allow`` passes whatever ``deny`` says. Entries are CIDRs. ``client_address`` says which address is checked:
    ``peer`` (the TCP peer) or ``forwarded`` (the address from X-Forwarded-For / PROXY
    protocol, when the source trusted forwarded headers). ``scope``: ``route`` (these rules)
    or ``gateway`` (every request the Gateway serves).
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    order: Literal["deny-first", "allow-first"] = "deny-first"
    client_address: Literal["peer", "forwarded"] = "peer"
    status: int = 403
    scope: Literal["route", "gateway"] = "route"
    kind: ClassVar[str] = "ip-access"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    security_category: ClassVar[Security | None] = Security.ACCESS_CONTROL
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Envoy Gateway SecurityPolicy authorization "
        "(clientCIDRs), Istio AuthorizationPolicy ipBlocks/remoteIpBlocks, kgateway TrafficPolicy rbac, "
        "Traefik Middleware ipAllowList, NGINX Gateway Fabric snippets, Cilium network policy fromCIDRSet")


@dataclass(frozen=True, slots=True)
class RateLimit(Intent):
    """Limit requests (or concurrent connections) per ``key``.

    ``rate`` requests per ``unit`` (``second``/``minute``), or, with unit ``connections``, at most
    ``rate`` connections open at once. ``burst`` is how many requests above the rate are let
    through before refusing (``0`` = none). ``key`` is what is counted (``client-ip``), ``status``
    the answer when over the limit, ``scope`` where counters live (``per-replica``: each
    proxy instance counts on its own). ``exempt`` lists CIDRs the limit does not apply to.
    """

    rate: int
    unit: Literal["second", "minute", "connections"]
    burst: int = 0
    key: str = "client-ip"
    status: int = 503
    scope: Literal["per-replica", "global"] = "per-replica"
    exempt: tuple[str, ...] = ()
    kind: ClassVar[str] = "rate-limit"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "backend"})  # a refusal reaches no backend
    security_category: ClassVar[Security | None] = Security.RATE_LIMIT
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Envoy Gateway BackendTrafficPolicy rateLimit, "
        "kgateway TrafficPolicy rateLimit.local, NGINX Gateway Fabric RateLimitPolicy, Traefik Middleware "
        "rateLimit/inFlightReq, agentgateway AgentgatewayPolicy rateLimit (token buckets usually answer 429)")


@dataclass(frozen=True, slots=True)
class Waf(Intent):
    """A web application firewall inspects requests. ``engine`` names the source's engine
    (``modsecurity``); ``core_rule_set`` loads the OWASP CRS; ``transaction_id`` is an opaque
    expression of the source; ``rules`` the source's own rule text, if any."""

    engine: str
    core_rule_set: bool = False
    transaction_id: str | None = None
    rules: str | None = None
    kind: ClassVar[str] = "waf"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    security_category: ClassVar[Security | None] = Security.WAF
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: NGINX Gateway Fabric WAFPolicy (NGINX App Protect), "
        "Envoy Gateway EnvoyExtensionPolicy (Coraza wasm), GKE GCPBackendPolicy Cloud Armor")


@dataclass(frozen=True, slots=True)
class SecurityPolicyRef(Intent):
    """A security policy of the cloud, named by the source and kept outside Kubernetes (its
    rules -- address lists, WAF rules, rate limits -- are not visible to ing2gw): ``vendor``
    (``cloud-armor``, ``azure-waf``) and ``name`` (the policy's name or resource ID)."""

    vendor: str
    name: str
    kind: ClassVar[str] = "security-policy"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    security_category: ClassVar[Security | None] = Security.WAF
    replaced_by: ClassVar[str] = (
        "no Gateway API form; GKE GCPBackendPolicy securityPolicy names the same Cloud Armor policy; an Azure WAF "
        "policy attaches to Application Gateway for Containers with a WebApplicationFirewallPolicy; elsewhere "
        "re-create its rules with the target's own policies")


@dataclass(frozen=True, slots=True)
class IdentityAwareProxy(Intent):
    """Sign-in through the cloud's identity-aware proxy (Google IAP): a request without a
    signed-in session is sent to sign in (302) and never reaches the backend. ``client_id``
    and ``client_secret`` (``ns/name`` of a Secret) name the OAuth client (``None``: the
    cloud's managed client)."""

    client_id: str | None = None
    client_secret: str | None = None
    kind: ClassVar[str] = "identity-aware-proxy"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "auth", "redirect", "backend"})
    security_category: ClassVar[Security | None] = Security.AUTHENTICATION
    replaced_by: ClassVar[str] = "no Gateway API form; GKE GCPBackendPolicy iap"


# --- request handling ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BodyLimit(Intent):
    """The largest request body accepted, in bytes; larger ones get 413.

    ``max_bytes`` ``None`` means no limit. A limit is never zero: the source's ``0`` means
    "unlimited" and must be written as ``None`` (constructing one with 0 raises).
    """

    max_bytes: int | None
    kind: ClassVar[str] = "body-limit"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "backend"})  # a refusal reaches no backend
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: NGINX Gateway Fabric ClientSettingsPolicy "
        "body.maxSize, Envoy Gateway ClientTrafficPolicy / BackendTrafficPolicy, Traefik Middleware buffering "
        "maxRequestBodyBytes")

    def __post_init__(self) -> None:
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ValueError("a body limit is a positive number of bytes; None means unlimited")


@dataclass(frozen=True, slots=True)
class Timeouts(Intent):
    """Per-phase upstream timeouts, in milliseconds (``None`` = the implementation's default).

    ``connect``: opening the upstream connection; ``send``/``read``: the longest pause between
    two writes to / reads from the upstream (idle timeouts, not totals); ``idle``: an idle
    client connection; ``request``: the whole request, end to end.
    """

    connect_ms: int | None = None
    send_ms: int | None = None
    read_ms: int | None = None
    idle_ms: int | None = None
    request_ms: int | None = None
    kind: ClassVar[str] = "timeouts"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    replaced_by: ClassVar[str] = (
        "standard HTTPRoute rule timeouts (request, backendRequest: totals, not idle timeouts); "
        "implementation policies for connect/idle: Envoy Gateway BackendTrafficPolicy timeout, kgateway "
        "BackendConfigPolicy connectTimeout, NGINX Gateway Fabric ProxySettingsPolicy")


@dataclass(frozen=True, slots=True)
class Retries(Intent):
    """Retry a failed upstream attempt on another endpoint.

    ``on`` lists the failure conditions (``error``, ``timeout``, ``http_502`` ...), ``attempts``
    the most endpoints tried in all (``0`` = unlimited), ``budget_ms`` the time allowed for
    retrying (``None`` = unlimited).
    """

    on: tuple[str, ...]
    attempts: int = 3
    budget_ms: int | None = None
    kind: ClassVar[str] = "retries"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "backend"})
    replaced_by: ClassVar[str] = (
        "experimental HTTPRoute rule retry (attempts, codes, backoff; nginx's connection-error and timeout "
        "conditions have no code); or Envoy Gateway BackendTrafficPolicy retry")


@dataclass(frozen=True, slots=True)
class LoadBalancing(Intent):
    """How an endpoint is picked: ``algorithm`` (``round_robin``, ``ewma``, ``consistent-hash``),
    ``hash_key`` (the source's expression, e.g. ``$request_uri``), ``subset_size`` (endpoints per
    hash subset, ``None`` = one endpoint), ``service_address`` (proxy to the Service's cluster
    IP instead of its endpoints)."""

    algorithm: str | None = None
    hash_key: str | None = None
    subset_size: int | None = None
    service_address: bool = False
    kind: ClassVar[str] = "load-balancing"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"backend"})
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Envoy Gateway BackendTrafficPolicy loadBalancer, "
        "kgateway BackendConfigPolicy loadBalancer, NGINX Gateway Fabric UpstreamSettingsPolicy, Istio "
        "DestinationRule")


@dataclass(frozen=True, slots=True)
class SessionAffinity(Intent):
    """Pin a client to one endpoint with a cookie, beyond what ``sessionPersistence`` holds:
    ``cookie`` name, ``path``, ``domain``, ``max_age_s``/``expires_s`` (seconds), ``secure``,
    ``same_site``; ``mode`` ``balanced`` (re-spread on scale-out) or ``persistent``."""

    cookie: str
    path: str | None = None
    domain: str | None = None
    expires_s: int | None = None
    max_age_s: int | None = None
    secure: bool = False
    same_site: str | None = None
    mode: str | None = None
    kind: ClassVar[str] = "session-affinity"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"headers", "backend"})
    replaced_by: ClassVar[str] = (
        "experimental HTTPRoute rule sessionPersistence (ing2gw --experimental; cookie attributes not "
        "expressible); or Envoy Gateway / kgateway consistent-hash on the cookie, GKE GCPBackendPolicy "
        "sessionAffinity")


@dataclass(frozen=True, slots=True)
class ErrorPages(Intent):
    """Replace upstream answers with these ``codes`` by a page from ``backend`` (``ns/name``,
    ``None`` = the source's default backend); ``intercept`` off keeps the setting inert."""

    codes: tuple[int, ...]
    backend: str | None = None
    intercept: bool = True
    kind: ClassVar[str] = "error-pages"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "backend"})
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Traefik Middleware errors, kgateway/Envoy Gateway "
        "local replies (approximate)")


@dataclass(frozen=True, slots=True)
class BackendTLSOptions(Intent):
    """TLS options towards the backend that BackendTLSPolicy cannot say: ``ciphers`` (the
    source's cipher string), ``protocols`` (``TLSv1.2`` ...), ``verify_depth``, ``client_cert``
    (``ns/name`` of a Secret with a client certificate)."""

    ciphers: str | None = None
    protocols: tuple[str, ...] = ()
    verify_depth: int | None = None
    client_cert: str | None = None
    kind: ClassVar[str] = "backend-tls"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    replaced_by: ClassVar[str] = (
        "standard BackendTLSPolicy (validation only; client certificates via Gateway "
        "spec.tls.backend.clientCertificateRef); ciphers/protocols via Envoy Gateway BackendTLSPolicy "
        "options or BackendTrafficPolicy")


@dataclass(frozen=True, slots=True)
class Cors(Intent):
    """CORS behaviour of the source that the standard CORS filter does not reproduce:
    ``preflight_status`` (the status the source answers every OPTIONS request with, e.g.
    204), ``echo_wildcard`` (``*`` sent even with credentials). Read back from a target's own
    CORS object (:mod:`ing2gw.policy`), ``settings`` are the CORS settings that object applies
    instead of a standard CORS filter (``None``: the route's CORS filter applies)."""

    preflight_status: int | None = None
    echo_wildcard: bool = False
    settings: CORS | None = None
    kind: ClassVar[str] = "cors"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"cors", "status"})
    replaced_by: ClassVar[str] = "standard HTTPRoute CORS filter (preflight handling differs)"


@dataclass(frozen=True, slots=True)
class ResponseHeaders(Intent):
    """Headers the source adds to responses outside any route: ``set`` (name, value) pairs;
    ``tls_only`` adds them on HTTPS responses only (HSTS)."""

    set: tuple[tuple[str, str], ...]
    tls_only: bool = False
    kind: ClassVar[str] = "response-headers"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"headers"})
    replaced_by: ClassVar[str] = "standard HTTPRoute ResponseHeaderModifier filter on the HTTPS routes"


@dataclass(frozen=True, slots=True)
class Buffering(Intent):
    """Buffer sizes of the source: ``response_header_bytes`` (the buffer for upstream response
    headers), ``request_body`` / ``response_body`` (whether bodies are buffered fully)."""

    response_header_bytes: int | None = None
    request_body: bool | None = None
    response_body: bool | None = None
    kind: ClassVar[str] = "buffering"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status"})
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: NGINX Gateway Fabric ProxySettingsPolicy buffering, "
        "Envoy Gateway ClientTrafficPolicy connection.bufferLimit")


@dataclass(frozen=True, slots=True)
class ForwardedHeaders(Intent):
    """Which client address and scheme the source trusts: ``trust`` the X-Forwarded-* headers
    (or PROXY protocol) from ``trusted`` CIDRs; ``header`` is the one the real IP is read from."""

    trust: bool
    header: str = "X-Forwarded-For"
    trusted: tuple[str, ...] = ()
    kind: ClassVar[str] = "forwarded-headers"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"status", "redirect"})
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: Envoy Gateway ClientTrafficPolicy clientIPDetection, "
        "Istio numTrustedProxies, Traefik entryPoint forwardedHeaders")


@dataclass(frozen=True, slots=True)
class HealthCheck(Intent):
    """Active health checks of the backend's endpoints: ``protocol`` (``HTTP``, ``HTTPS``,
    ``HTTP2``, ``TCP``, ``GRPC``), ``path``, ``port`` (``None``: the serving port), ``host`` (the
    Host header), ``interval_s``/``timeout_s``, the ``healthy``/``unhealthy`` thresholds and the
    ``status_codes`` counted as healthy (empty: the source's default). An endpoint failing them
    gets no traffic."""

    protocol: str | None = None
    path: str | None = None
    port: int | None = None
    host: str | None = None
    interval_s: int | None = None
    timeout_s: int | None = None
    healthy: int | None = None
    unhealthy: int | None = None
    status_codes: tuple[str, ...] = ()
    kind: ClassVar[str] = "health-check"
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: GKE HealthCheckPolicy, Envoy Gateway BackendTrafficPolicy "
        "healthCheck.active, kgateway BackendConfigPolicy healthCheck")


@dataclass(frozen=True, slots=True)
class ConnectionDraining(Intent):
    """How long a removed endpoint keeps serving the requests it has (``timeout_s`` seconds)
    before its connections are closed."""

    timeout_s: int
    kind: ClassVar[str] = "connection-draining"
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: GKE GCPBackendPolicy connectionDraining, Envoy Gateway "
        "BackendTrafficPolicy (drain on endpoint removal)")


@dataclass(frozen=True, slots=True)
class AccessLog(Intent):
    """Request logging by the load balancer: ``enabled``, and ``sample_rate`` (0 to 1, the
    share of requests logged; ``None``: the source's default)."""

    enabled: bool
    sample_rate: float | None = None
    kind: ClassVar[str] = "access-log"
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: GKE GCPBackendPolicy logging, Envoy Gateway EnvoyProxy "
        "telemetry.accessLog")


@dataclass(frozen=True, slots=True)
class GatewayAddress(Intent):
    """The address the load balancer answers on, reserved outside Kubernetes: ``value`` is a
    reserved address's ``name`` or an ``ip``; ``scope`` ``global`` or ``regional``."""

    value: str
    type: Literal["name", "ip"] = "name"
    scope: Literal["global", "regional"] = "global"
    kind: ClassVar[str] = "gateway-address"
    replaced_by: ClassVar[str] = (
        "standard Gateway spec.addresses (an IPAddress, or a NamedAddress for a reserved address: "
        "implementation-specific; the gke emitter writes it)")


@dataclass(frozen=True, slots=True)
class TlsPolicy(Intent):
    """The TLS versions and ciphers clients may use, as a policy the cloud keeps by ``name``
    (``vendor`` ``gcp``: an SSL policy; ``azure``: an Application Gateway SSL profile) and/or a
    ``min_version`` (``TLSv1.2``)."""

    name: str | None = None
    min_version: str | None = None
    vendor: str = ""
    kind: ClassVar[str] = "tls-policy"
    outcome_aspects: ClassVar[frozenset[str]] = frozenset({"tls"})
    replaced_by: ClassVar[str] = (
        "no Gateway API form; implementation policies: GKE GCPGatewayPolicy sslPolicy, Envoy Gateway "
        "ClientTrafficPolicy tls")


@dataclass(frozen=True, slots=True)
class Opaque(Intent):
    """A source setting no other intent models: ``vendor`` (``ingress-nginx``), ``key`` (the
    setting's name) and its ``raw`` text. ``protection`` marks the rare opaque protection
    (e.g. a user-agent block list); ``affects`` what of a request's outcome it changes."""

    vendor: str
    key: str
    raw: str
    protection: Security | None = None
    affects: tuple[str, ...] = ()
    kind: ClassVar[str] = "opaque"
    replaced_by: ClassVar[str] = "no Gateway API form; re-create by hand with the target's own configuration"

    @property
    def security(self) -> Security | None:
        return self.protection

    @property
    def aspects(self) -> frozenset[str]:
        return frozenset(self.affects)

    def summary(self) -> str:
        return f"{self.vendor} {self.key}: {self.raw}"


INTENT_TYPES: tuple[type[Intent], ...] = (
    ExternalAuth, BasicAuth, ClientCertAuth, IPAccess, RateLimit, Waf, BodyLimit, Timeouts, Retries,
    LoadBalancing, SessionAffinity, ErrorPages, BackendTLSOptions, Cors, ResponseHeaders, Buffering,
    ForwardedHeaders, SecurityPolicyRef, IdentityAwareProxy, HealthCheck, ConnectionDraining, AccessLog,
    GatewayAddress, TlsPolicy, Opaque,
)
