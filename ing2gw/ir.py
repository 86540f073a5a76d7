"""The provider-neutral intermediate representation (IR) between providers and emitters.

Providers turn Ingresses and their own source objects into these frozen records; the
emitters (:mod:`ing2gw.emit`) turn them into Gateway API manifests. The IR names no provider
and no emitter. Every node that comes from a source object carries :class:`Provenance`, so
notes and the ``ing2gw.io/source`` annotation can name where it came from.

Entry points: a source with its own ports (an entry point, a Gateway server) declares
:class:`Listener` nodes -- port, protocol, hostname, TLS mode, certificate references -- and
its routes attach to them through ``Route.parents`` (:class:`ListenerParent`); a mesh route
(GAMMA) attaches to a Service (:class:`ServiceParent`) instead of a Gateway. Ingress-derived
routes keep the shorthand of ``Route.sections`` (the Gateway's ``http`` listener on 80 and the
HTTPS listener of each route hostname on 443, from :class:`Certificate` records; TLS
passthrough hostnames from :class:`Passthrough` records): the emitter turns those into the same
listener nodes. Route kinds are HTTP, GRPC, TLS, TCP and UDP.

What Gateway API cannot express (rate limits, auth, IP lists ...) hangs on the rule it
modifies as typed policy intents (:mod:`ing2gw.intents`); intents that apply to everything a
Gateway serves (a controller-wide setting) hang on the IR as :class:`GatewayIntent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .intents import Intent

__all__ = [
    "CORS",
    "IR",
    "BackendRef",
    "CertificateRef",
    "BackendTLS",
    "Certificate",
    "ExternalAuthFilter",
    "Filter",
    "GatewayIntent",
    "GatewayRef",
    "HeaderMatch",
    "HeaderModifier",
    "Listener",
    "ListenerParent",
    "Parent",
    "PathMatch",
    "PathModifier",
    "Passthrough",
    "Provenance",
    "QueryMatch",
    "RequestMirror",
    "RequestRedirect",
    "Route",
    "RouteMatch",
    "Rule",
    "ServiceParent",
    "SessionPersistence",
    "Timeouts",
    "URLRewrite",
]

PathType = Literal["Exact", "PathPrefix", "RegularExpression"]
MatchType = Literal["Exact", "RegularExpression"]
Section = Literal["http", "https"]
Protocol = Literal["HTTP", "HTTPS", "TLS", "TCP", "UDP"]
TLSMode = Literal["Terminate", "Passthrough"]
RouteKind = Literal["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"]


@dataclass(frozen=True, slots=True, order=True)
class Provenance:
    """Where an IR node came from: an object, and optionally a field or annotation in it."""

    kind: str
    namespace: str
    name: str
    field: str = ""  # e.g. "spec.rules[0].http.paths[1]" or an annotation key
    origin: str = ""  # file:line

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def ref(self) -> str:
        """``ns/name`` as written in the ``ing2gw.io/source`` annotation."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class PathMatch:
    type: PathType
    value: str


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str
    value: str
    type: MatchType = "Exact"


@dataclass(frozen=True, slots=True)
class QueryMatch:
    name: str
    value: str
    type: MatchType = "Exact"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    path: PathMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()
    method: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderModifier:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PathModifier:
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    value: str


@dataclass(frozen=True, slots=True)
class RequestRedirect:
    scheme: str | None = None
    hostname: str | None = None
    port: int | None = None
    path: PathModifier | None = None
    status_code: int = 302


@dataclass(frozen=True, slots=True)
class URLRewrite:
    hostname: str | None = None
    path: PathModifier | None = None


@dataclass(frozen=True, slots=True)
class CORS:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool | None = None
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class RequestMirror:
    backend: BackendRef
    percent: int | None = None


@dataclass(frozen=True, slots=True)
class ExternalAuthFilter:
    """The experimental HTTPRoute ``ExternalAuth`` filter (HTTP protocol): ``backend`` is asked
    first; ``path`` prefixes the request path sent to it; ``allowed_headers`` are sent besides
    Host, Method, Path, Content-Length and Authorization; ``allowed_response_headers`` are copied
    into the upstream request (empty = all)."""

    backend: BackendRef
    path: str | None = None
    allowed_headers: tuple[str, ...] = ()
    allowed_response_headers: tuple[str, ...] = ()


FilterType = Literal[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
    "RequestMirror",
    "CORS",
    "ExternalAuth",
]


@dataclass(frozen=True, slots=True)
class Filter:
    type: FilterType
    value: HeaderModifier | RequestRedirect | URLRewrite | RequestMirror | CORS | ExternalAuthFilter
    provenance: Provenance | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BackendRef:
    name: str
    namespace: str
    port: int | None
    weight: int = 1
    kind: str = "Service"
    group: str = ""
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True, slots=True)
class Timeouts:
    request: str | None = None  # Gateway API duration, e.g. "60s"
    backend_request: str | None = None


@dataclass(frozen=True, slots=True)
class SessionPersistence:
    session_name: str | None = None
    type: Literal["Cookie", "Header"] = "Cookie"
    absolute_timeout: str | None = None
    idle_timeout: str | None = None
    lifetime_type: Literal["Permanent", "Session"] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    matches: tuple[RouteMatch, ...]
    backends: tuple[BackendRef, ...] = ()
    filters: tuple[Filter, ...] = ()
    timeouts: Timeouts | None = None
    session_persistence: SessionPersistence | None = None
    intents: tuple[Intent, ...] = ()
    provenance: tuple[Provenance, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class GatewayRef:
    """The Gateway a route belongs to, before topology decides names and namespaces.

    ``key`` is the ingress class the routes came from; ``gateway_class`` the class the
    Gateway will use.
    """

    key: str
    gateway_class: str


@dataclass(frozen=True, slots=True, order=True)
class CertificateRef:
    """A certificate a listener terminates TLS with (a Secret unless said otherwise)."""

    namespace: str
    name: str
    kind: str = "Secret"
    group: str = ""


@dataclass(frozen=True, slots=True)
class Listener:
    """A port a Gateway listens on, as a source declares it (an entry point, a server).

    ``name`` is the source's name for it, unique per Gateway (routes refer to it); the emitter
    turns it into a valid section name. ``tls_mode`` applies to HTTPS (always Terminate) and
    TLS (Terminate or Passthrough); ``certificates`` are needed to terminate.
    """

    gateway: GatewayRef
    name: str
    port: int
    protocol: Protocol
    hostname: str = ""  # "" = any hostname
    tls_mode: TLSMode | None = None
    certificates: tuple[CertificateRef, ...] = ()
    source: Provenance | None = None


@dataclass(frozen=True, slots=True, order=True)
class ListenerParent:
    """A route's parent: the listener named ``listener`` of ``gateway``."""

    gateway: GatewayRef
    listener: str


@dataclass(frozen=True, slots=True, order=True)
class ServiceParent:
    """A mesh (GAMMA) route's parent: a Service, for traffic addressed to it inside the
    cluster; ``port`` None = every port of the Service."""

    namespace: str
    name: str
    port: int | None = None


Parent = ListenerParent | ServiceParent


@dataclass(frozen=True, slots=True)
class Route:
    """A route and where it attaches: ``sections`` of ``gateway`` (the Ingress shorthand:
    ``http`` = port 80, ``https`` = the HTTPS listener of each hostname) and/or explicit
    ``parents`` (listeners of any Gateway, or Services for mesh routes). ``gateway`` is None
    for a route with Service parents only. TLS/TCP/UDP routes have rules without matches."""

    kind: RouteKind
    namespace: str
    name: str  # a base name; the emitter makes it unique and valid
    gateway: GatewayRef | None
    hostnames: tuple[str, ...]
    sections: frozenset[Section]  # which listeners of the Gateway the route attaches to
    rules: tuple[Rule, ...]
    sources: tuple[Provenance, ...]
    parents: tuple[Parent, ...] = ()


@dataclass(frozen=True, slots=True)
class Certificate:
    """A TLS certificate for a hostname on a Gateway's HTTPS listener."""

    gateway: GatewayRef
    hostname: str  # "" = no hostname (a catch-all HTTPS listener)
    secret_namespace: str
    secret_name: str
    source: Provenance


@dataclass(frozen=True, slots=True)
class BackendTLS:
    """TLS from the gateway to a Service port (a BackendTLSPolicy)."""

    namespace: str
    service: str
    port: int | None
    hostname: str
    ca_certificate_refs: tuple[str, ...] = ()  # ConfigMap names
    well_known_ca: str | None = None  # "System"
    source: Provenance | None = None


@dataclass(frozen=True, slots=True)
class Passthrough:
    """TLS for a hostname handed unterminated to a backend, chosen by SNI: a TLS listener in
    Passthrough mode on 443 plus a TLSRoute (instead of an HTTPS listener)."""

    gateway: GatewayRef
    hostname: str
    namespace: str  # of the TLSRoute (the source Ingress's)
    name: str  # base name of the TLSRoute
    backend: BackendRef
    source: Provenance


@dataclass(frozen=True, slots=True)
class GatewayIntent:
    """An intent for every request a Gateway serves (e.g. a controller-wide IP deny list)."""

    gateway: GatewayRef
    intent: Intent


@dataclass(frozen=True, slots=True)
class IR:
    routes: tuple[Route, ...] = ()
    certificates: tuple[Certificate, ...] = ()
    backend_tls: tuple[BackendTLS, ...] = ()
    passthrough: tuple[Passthrough, ...] = ()
    listeners: tuple[Listener, ...] = ()
    gateway_intents: tuple[GatewayIntent, ...] = ()
