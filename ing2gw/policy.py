"""The policy contract between implementation emitters and the enforcing data planes.

An implementation emitter turns intents (:mod:`ing2gw.intents`) into its target's own policy
objects. To let the reference router, ``serve`` and ``verify`` enforce what the emitted YAML
really says, the emitter also reads those objects back: an optional
``read_policies(manifests) -> list[AttachedPolicy]`` on the emitter object, collected from
every installed emitter by :func:`ing2gw.emit.registry.read_policies`.

Each :class:`AttachedPolicy` says which object it attaches to (:class:`PolicyTarget`: a
route, one named rule of it, a Gateway or one of its listeners) and carries an intent that
states the *target implementation's* behaviour (its status codes, its counting, the hash
formats it accepts), not the source's.

Which policies apply to a request (:class:`PolicyIndex`): for each intent kind, the most
specific target wins -- a rule (``section`` = rule name) over its route, the route over a
listener (``section`` = listener name), a listener over its whole Gateway. Several
policies of one kind on the same, most specific target all apply (all must pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .intents import Intent
from .ir import Provenance

__all__ = [
    "HASH_SCHEMES",
    "AttachedPolicy",
    "PolicyIndex",
    "PolicyReadError",
    "PolicyTarget",
    "hash_scheme",
    "provenance_of",
]

ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute"})
TARGET_KINDS = ROUTE_KINDS | {"Gateway"}

# The htpasswd formats nginx (and so ingress-nginx) accepts, by the name hash_scheme gives them.
HASH_SCHEMES = ("apr1", "bcrypt", "crypt", "md5-crypt", "plain", "sha", "sha256-crypt", "sha512-crypt",
                "ssha")


class PolicyReadError(ValueError):
    """An emitter's own object cannot be read back (the message names the object)."""


@dataclass(frozen=True, slots=True)
class PolicyTarget:
    """What a policy attaches to. ``section`` is an HTTPRoute/GRPCRoute rule name or a
    Gateway listener name; ``None`` means the whole object."""

    kind: str  # "HTTPRoute" | "GRPCRoute" | "Gateway"
    namespace: str
    name: str
    section: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"a policy targets an HTTPRoute, GRPCRoute or Gateway, not {self.kind!r}")

    @property
    def ref(self) -> str:
        """``ns/name``, as the router names routes and Gateways."""
        return f"{self.namespace}/{self.name}"

    def label(self) -> str:
        """``HTTPRoute shop/web`` or ``HTTPRoute shop/web rule api``."""
        where = f"{self.kind} {self.ref}"
        if self.section is None:
            return where
        return f"{where} {'listener' if self.kind == 'Gateway' else 'rule'} {self.section}"

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.namespace, self.name, self.section or "")


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    """One intent, as the target implementation enforces it, attached to ``target``.

    ``source`` names the emitted object carrying it (``SecurityPolicy shop/web-basic-auth``).
    ``hash_schemes`` (BasicAuth only): the htpasswd hash formats the target accepts
    (names from :data:`HASH_SCHEMES`, e.g. ``{"sha"}``); empty means every format nginx accepts.

    A RateLimit is enforced as a token bucket refilled at ``rate`` per ``unit``, holding
    ``rate + burst`` tokens (Envoy's local rate limit: ``rate`` tokens, ``burst`` 0) unless
    ``capacity`` says how many requests the target accepts at one instant (nginx's
    ``limit_req burst=B nodelay``, as in NGINX Gateway Fabric: ``B + 1``).
    """

    target: PolicyTarget
    intent: Intent
    source: str
    hash_schemes: frozenset[str] = frozenset()
    capacity: int | None = None  # RateLimit only: requests accepted at one instant, when not rate + burst

    def __post_init__(self) -> None:
        if self.capacity is not None and self.capacity < 1:
            raise ValueError("a rate limit's capacity is at least one request")
        unknown = sorted(self.hash_schemes - set(HASH_SCHEMES))
        if unknown:
            raise ValueError(f"unknown htpasswd hash scheme(s) {', '.join(unknown)}; known: {', '.join(HASH_SCHEMES)}")

    def accepts_hash(self, stored: str) -> bool:
        """Whether the target accepts a user whose htpasswd entry holds ``stored``."""
        return not self.hash_schemes or hash_scheme(stored) in self.hash_schemes

    def sort_key(self) -> tuple[Any, ...]:
        return (self.target.sort_key(), self.intent.kind, self.source, repr(sorted(self.intent.params().items())))


def hash_scheme(stored: str) -> str:
    """The htpasswd format of a stored password: ``apr1`` (``$apr1$``), ``md5-crypt``
    (``$1$``), ``sha256-crypt`` (``$5$``), ``sha512-crypt`` (``$6$``), ``bcrypt`` (``$2a$``,
    ``$2b$``, ``$2y$``), ``sha`` (``{SHA}``), ``ssha`` (``{SSHA}``), ``plain`` (``{PLAIN}``)
    or ``crypt`` (13-character DES crypt, and anything else)."""
    if stored.startswith("$apr1$"):
        return "apr1"
    if stored.startswith("$1$"):
        return "md5-crypt"
    if stored.startswith("$5$"):
        return "sha256-crypt"
    if stored.startswith("$6$"):
        return "sha512-crypt"
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        return "bcrypt"
    if stored.startswith("{SHA}"):
        return "sha"
    if stored.startswith("{SSHA}"):
        return "ssha"
    if stored.startswith("{PLAIN}"):
        return "plain"
    return "crypt"


def provenance_of(obj: Mapping[str, Any], field: str = "") -> Provenance:
    """The provenance of an intent read back from an emitted object (its kind and name)."""
    meta = obj.get("metadata") or {}
    return Provenance(str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or ""), field)


# The scopes a request is in, most specific first (see PolicyIndex.applicable).
_RULE, _ROUTE, _LISTENER, _GATEWAY = 0, 1, 2, 3


class PolicyIndex:
    """Attached policies by target, to find the ones that apply to one routed request."""

    __slots__ = ("_by_target", "policies")

    def __init__(self, policies: Iterable[AttachedPolicy]) -> None:
        self.policies: tuple[AttachedPolicy, ...] = tuple(sorted(set(policies), key=AttachedPolicy.sort_key))
        self._by_target: dict[tuple[str, str, str | None], list[AttachedPolicy]] = {}
        for p in self.policies:
            self._by_target.setdefault((p.target.kind, p.target.ref, p.target.section), []).append(p)

    def __bool__(self) -> bool:
        return bool(self.policies)

    def applicable(self, route_kind: str, route: str | None, rule_name: str | None, gateway: str | None,
                   listener: str | None) -> tuple[AttachedPolicy, ...]:
        """The policies for a request routed to the ``route_kind`` (HTTPRoute/GRPCRoute)
        ``route`` (``ns/name``) rule ``rule_name`` on
        ``gateway`` (``ns/name``) listener ``listener``: per intent kind, those of the most
        specific target that has any."""
        if not self._by_target:
            return ()
        scopes: list[list[AttachedPolicy]] = [[], [], [], []]
        get = self._by_target.get
        if route is not None:
            if rule_name is not None:
                scopes[_RULE] = get((route_kind, route, rule_name), [])
            scopes[_ROUTE] = get((route_kind, route, None), [])
        if gateway is not None:
            if listener is not None:
                scopes[_LISTENER] = get(("Gateway", gateway, listener), [])
            scopes[_GATEWAY] = get(("Gateway", gateway, None), [])
        out: list[AttachedPolicy] = []
        decided: set[str] = set()
        for found in scopes:
            kinds = {p.intent.kind for p in found} - decided
            out.extend(p for p in found if p.intent.kind in kinds)
            decided |= kinds
        return tuple(out)
