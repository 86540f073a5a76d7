"""The compiled form of Gateway API objects: what :mod:`.table` builds and :mod:`.matcher`
reads. Everything is frozen and precomputed (regexes compiled, prefixes normalised,
backend shares worked out) so that routing a request does no parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ing2gw.http import Headers
from ing2gw.making import maker

from .hostnames import HostIndex
from .outcome import AuthFilter, Matched, MirrorTarget, RedirectTo, RuleInfo
from .precedence import MatchKey

__all__ = [
    "Backend",
    "Cors",
    "Entry",
    "Filter",
    "Gateway",
    "Group",
    "HeaderModifier",
    "InfoParts",
    "Listener",
    "Match",
    "Mirror",
    "Passive",
    "PathModifier",
    "Redirect",
    "Rewrite",
    "Rule",
    "ValueMatch",
    "info_parts",
    "new_entry",
    "new_matched",
    "new_rule",
    "new_rule_info",
]

EXACT, PREFIX, REGEX = 0, 1, 2  # path match kinds, in precedence order


@dataclass(frozen=True, slots=True)
class ValueMatch:
    """One header or query-parameter condition."""

    name: str  # lower-case for headers, exact for query parameters
    value: str
    regex: Any | None = None  # compiled RE2 pattern for RegularExpression


@dataclass(frozen=True, slots=True)
class Match:
    """One HTTPRouteMatch (or GRPCMethodMatch turned into a path condition)."""

    path_kind: int  # EXACT | PREFIX | REGEX
    path: str  # exact value, prefix without trailing "/", or the regex source
    path_regex: Any | None = None
    method: str | None = None
    headers: tuple[ValueMatch, ...] = ()
    query: tuple[ValueMatch, ...] = ()
    broken: str | None = None  # why this match can never match (e.g. not RE2)

    def matches(self, path: str, method: str, headers: Any, query: Mapping[str, str]) -> bool:
        kind = self.path_kind
        if kind == PREFIX:
            p = self.path
            if p and path != p and not path.startswith(p + "/"):
                return False
        elif kind == EXACT:
            if path != self.path:
                return False
        elif self.path_regex is None or self.path_regex.fullmatch(path) is None:
            return False
        if self.method is not None and method != self.method:
            return False
        return (not self.headers or all_hold(self.headers, headers)) and (
            not self.query or all_hold(self.query, query))


def all_hold(conds: Any, values: Any) -> bool:
    """Every header or query condition holds for ``values`` (a name -> value lookup)."""
    for cond in conds:
        value = values.get(cond.name)
        if value is None:
            return False
        if cond.regex is None:
            if value != cond.value:
                return False
        elif cond.regex.fullmatch(value) is None:
            return False
    return True


@dataclass(frozen=True, slots=True)
class HeaderModifier:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PathModifier:
    type: str  # "ReplaceFullPath" | "ReplacePrefixMatch"
    value: str


@dataclass(frozen=True, slots=True)
class Redirect:
    scheme: str | None
    hostname: str | None
    port: int | None
    path: PathModifier | None
    status: int


@dataclass(frozen=True, slots=True)
class Rewrite:
    hostname: str | None
    path: PathModifier | None


@dataclass(frozen=True, slots=True)
class Mirror:
    backend: str  # "ns/name:port"
    percent: float
    problem: str | None = None  # why the mirror is not configured


@dataclass(frozen=True, slots=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter of a rule or backendRef, in list order."""

    type: str
    request_headers: HeaderModifier | None = None  # RequestHeaderModifier
    response_headers: HeaderModifier | None = None  # ResponseHeaderModifier
    redirect: Redirect | None = None
    rewrite: Rewrite | None = None
    mirror: Mirror | None = None
    cors: Cors | None = None
    extension: str | None = None  # "group/Kind name" of an ExtensionRef
    auth: AuthFilter | None = None  # ExternalAuth (enforced after matching, by ing2gw.enforce.guard)
    problem: str | None = None  # an ExtensionRef that cannot be resolved


@dataclass(frozen=True, slots=True)
class Backend:
    """One backendRef, resolved."""

    key: str  # "ns/name:port" for Services, "group/Kind ns/name:port" otherwise
    weight: int
    problem: str | None = None  # InvalidKind, BackendNotFound, RefNotPermitted, ...
    detail: str = ""
    filters: tuple[Filter, ...] = ()
    notes: tuple[str, ...] = ()
    app_protocol: str | None = None


@dataclass(frozen=True, slots=True)
class Passive:
    """What a rule does when its filters leave the request as it is (response header
    modifiers, mirrors, ExternalAuth -- the guard's --, at most one CORS filter) and its one
    backend is sound: the matcher's
    second fast path. ``mirrors`` are the rule's mirror targets; ``before_cors`` those of its
    filters before the CORS one (a preflight it answers reports only those)."""

    mods: tuple[HeaderModifier, ...]  # ResponseHeaderModifiers, in order
    mirrors: tuple[MirrorTarget, ...]
    cors: Cors | None = None
    before_cors: tuple[MirrorTarget, ...] = ()
    headers: Headers = field(default_factory=Headers)  # the response headers when the backend's are not known


@dataclass(frozen=True, slots=True)
class Rule:
    """What one route rule does after matching: everything the data plane needs but which
    rule of which route it is (its entries' :attr:`RuleInfo.matched` says). Rules compiled
    alike (the same filters, backendRefs and matches, in routes of one namespace) share one."""

    filters: tuple[Filter, ...]
    backends: tuple[Backend, ...]
    chosen: Backend | None  # the backend a deterministic router sends to (largest share)
    weights: Mapping[str, float]  # backend key -> percent of traffic
    timeouts: Mapping[str, Any] | None = None
    retry: Mapping[str, Any] | None = None
    session_persistence: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()
    # the rule's single PathPrefix (for ReplacePrefixMatch), if it has exactly one match
    prefix: str | None = None
    # no filters, one valid chosen backend without filters: the fast path of the matcher
    simple: bool = False
    passive: Passive | None = None  # set when the rule's filters leave the request as it is (Passive)


@dataclass(frozen=True, slots=True)
class Entry:
    """One match of one rule, placed in a listener's table under one hostname."""

    key: MatchKey
    match: Match
    rule: Rule
    info: RuleInfo  # what outcomes report about the rule on this listener
    simple: bool = False  # copy of rule.simple, so the fast path reads one object
    notes: tuple[str, ...] = ()  # assumptions made when attaching the route


@dataclass(slots=True)
class Group:
    """The entries of one hostname pattern of a listener, sorted by precedence.

    ``http_matches``/``grpc_matches`` repeat the entries' matches in the same order: the
    matcher scans those (shared, cache-friendly objects) and touches only the winning entry.
    """

    http: list[Entry] = field(default_factory=list)
    grpc: list[Entry] = field(default_factory=list)
    # the entries' matches, and the entries, in precedence order (the matcher scans the first)
    http_matches: tuple[Match, ...] = ()
    http_entries: tuple[Entry, ...] = ()
    grpc_matches: tuple[Match, ...] = ()
    grpc_entries: tuple[Entry, ...] = ()

    def seal(self, shared: dict[tuple[int, ...], tuple[Match, ...]] | None = None) -> None:
        """Sort by precedence and fill the tuples (end of compilation). With ``shared`` (by
        the ids of their matches, which the caller keeps alive and interned: equal matches are
        one object), a tuple of the same matches is the one made first: routes made alike match
        alike, and the matcher scans one tuple for all of them."""
        if len(self.http) > 1:
            self.http.sort(key=_KEY)
        if len(self.grpc) > 1:
            self.grpc.sort(key=_KEY)
        self.http_entries = tuple(self.http)
        http = tuple(map(_MATCH, self.http))
        if shared is not None:
            http = shared.setdefault(tuple(map(id, http)), http)
        self.grpc_entries = tuple(self.grpc)
        grpc: tuple[Match, ...] = ()  # (most groups have no gRPC entries: () is the one empty tuple)
        if self.grpc:
            grpc = tuple(map(_MATCH, self.grpc))
            if shared is not None:
                grpc = shared.setdefault(tuple(map(id, grpc)), grpc)
        self.http_matches, self.grpc_matches = http, grpc


_KEY, _MATCH = attrgetter("key"), attrgetter("match")  # (an Entry's, read in C)


@dataclass(frozen=True, slots=True)
class Listener:
    gateway: str  # "ns/name"
    name: str
    port: int
    protocol: str  # HTTP | HTTPS
    hostname: str | None
    routes: HostIndex[Group]
    problem: str | None = None  # why the listener serves nothing (invalid TLS, conflict...)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gateway:
    name: str  # "ns/name"
    # port -> index of that port's listeners by hostname
    ports: Mapping[int, HostIndex[Listener]]
    protocols: Mapping[int, str]  # port -> HTTP | HTTPS


# Compiling builds a Rule per kind of route rule and, per rule and listener, its RuleInfo and an Entry per match;
# the matcher builds a RedirectTo per redirected request. Their frozen __init__ writes each field
# through object.__setattr__: these build the same objects without it (ing2gw.making), taking
# what the constructors take.
new_rule = maker(Rule)
new_entry = maker(Entry)
new_redirect = maker(RedirectTo)
new_matched, new_rule_info = maker(Matched), maker(RuleInfo)


# What a RuleInfo holds of its rule: the chosen backend's key, the weights, timeouts, retry, session persistence
InfoParts = tuple["str | None", Mapping[str, float], "Mapping[str, Any] | None", "Mapping[str, Any] | None",
                  "Mapping[str, Any] | None"]


def info_parts(rule: Rule) -> InfoParts:
    """What a :class:`RuleInfo` of ``rule`` holds between its ``matched`` and its ``auth_filters``."""
    return (None if rule.chosen is None else rule.chosen.key, rule.weights, rule.timeouts, rule.retry,
            rule.session_persistence)
