"""ingress-nginx canary Ingresses, merged into their primary's rules.

A canary Ingress (``canary: "true"``) makes no routes of its own: for each of its (host,
path, pathType) the controller finds the primary location with the identical path string
and type and lets the Lua balancer send some of its requests to the canary Service --
by header, then by cookie, then by weight. Here that becomes, on the primary's rule for
the path: header-match rules listed first (so header beats cookie on equal specificity),
Cookie-header regex rules, and backend weights on the plain rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ing2gw.ir import BackendRef, GatewayRef, HeaderMatch, Provenance, RouteMatch, Rule
from ing2gw.notes import Fidelity, Level, Scope
from ing2gw.resources import Ingress, IngressPath

from .annotations import DEFAULT_CANARY_WEIGHT_TOTAL
from .parsers import effective_canary_weight_total
from .rewrite import regex_error

if TYPE_CHECKING:
    from ing2gw.provider import Annotations

    from .._common.ingress import PathContext
    from .context import CanaryContext

__all__ = ["CanaryIndex", "CanaryPolicy", "canary_rules", "cookie_regex", "header_pattern_regex"]

@dataclass(frozen=True, slots=True)
class CanaryPolicy:
    """How a canary Ingress takes traffic from its primary."""

    header: str | None = None
    header_value: str | None = None
    header_pattern: str | None = None
    cookie: str | None = None
    weight: int = 0
    weight_total: int = DEFAULT_CANARY_WEIGHT_TOTAL

    @classmethod
    def from_annotations(cls, ann: Annotations) -> CanaryPolicy:
        return cls(
            header=ann.get("canary-by-header"),
            header_value=ann.get("canary-by-header-value"),
            header_pattern=ann.get("canary-by-header-pattern"),
            cookie=ann.get("canary-by-cookie"),
            weight=ann.get("canary-weight"),
            weight_total=ann.get("canary-weight-total"),
        )


def cookie_regex(cookie: str, value: str) -> str:
    """A Cookie-header pattern that holds when cookie ``cookie`` has exactly ``value``
    (valid whether the implementation searches or matches the whole header)."""
    name = "".join("\\" + c if not c.isalnum() and c != "_" else c for c in cookie)
    return f"^(.*;\\s*)?{name}={value}(\\s*;.*)?$"


def header_pattern_regex(pattern: str) -> str:
    """nginx searches the header value for the pattern anywhere; so does this RE2 form."""
    return f".*(?:{pattern}).*"


def canary_rules(base: Rule, primary: tuple[BackendRef, ...], canary: BackendRef, policy: CanaryPolicy) -> list[Rule]:
    """The rules replacing ``base`` (the primary's rule for the path), most decisive first."""
    out: list[Rule] = []

    def on_header(h: HeaderMatch, backends: tuple[BackendRef, ...]) -> Rule:
        matches = tuple(replace(m, headers=(*m.headers, h)) for m in base.matches) or (RouteMatch(headers=(h,)),)
        return replace(base, matches=matches, backends=backends)

    if policy.header:
        if policy.header_value is not None:
            out.append(on_header(HeaderMatch(policy.header, policy.header_value), (canary,)))
        elif policy.header_pattern is not None:
            out.append(on_header(HeaderMatch(policy.header, header_pattern_regex(policy.header_pattern),
                                             "RegularExpression"), (canary,)))
        else:
            out.append(on_header(HeaderMatch(policy.header, "always"), (canary,)))
            out.append(on_header(HeaderMatch(policy.header, "never"), primary))
    if policy.cookie:
        always = HeaderMatch("Cookie", cookie_regex(policy.cookie, "always"), "RegularExpression")
        never = HeaderMatch("Cookie", cookie_regex(policy.cookie, "never"), "RegularExpression")
        out.append(on_header(always, (canary,)))
        out.append(on_header(never, primary))
    total = effective_canary_weight_total(policy.weight_total)
    weight = min(policy.weight, total)
    if weight <= 0:
        backends = primary
    elif weight >= total:
        backends = (canary,)
    else:
        backends = (*(replace(b, weight=(total - weight) * b.weight) for b in primary), replace(canary, weight=weight))
    out.append(replace(base, backends=backends))
    return out


@dataclass(frozen=True, slots=True)
class _Canary:
    ingress: Ingress
    path: IngressPath
    policy: CanaryPolicy


Key = tuple[GatewayRef, str, str, str]  # (gateway, host, path, Exact|Prefix)


def _key(gw: GatewayRef, host: str, path: IngressPath) -> Key:
    return (gw, host, path.path or "/", "Exact" if path.path_type == "Exact" else "Prefix")


@dataclass(slots=True)
class CanaryIndex:
    """The canary Ingresses by the (host, path, type) they attach to; the oldest wins."""

    by_key: dict[Key, _Canary] = field(default_factory=dict)
    used: set[Key] = field(default_factory=set)

    def add(self, tr: CanaryContext, ing: Ingress) -> None:
        ann = tr.annotations(ing)
        gw = tr.ctx.gateway_for(ing)
        policy = CanaryPolicy.from_annotations(ann)
        ignored = [k for k in ann.keys() if tr.table.specs[k].family != "canary"]
        if ignored:
            tr.note(ing, "CANARY-ANNOTATIONS-IGNORED", Level.INFO,
                    "a canary Ingress contributes only its backend: ingress-nginx applies the primary's "
                    f"annotations to canary traffic and ignores these: {', '.join(ignored)}",
                    instead="ignored")
        if policy.header_pattern is not None and policy.header_value is None and policy.header:
            error = regex_error(header_pattern_regex(policy.header_pattern))
            if error is not None:
                tr.note_ann(ing, "canary-by-header-pattern", "CANARY-PATTERN-INVALID", Level.ERROR,
                            f"pattern {policy.header_pattern!r} is not RE2 syntax ({error})",
                            fidelity=Fidelity.UNSUPPORTED, instead="header rule left out",
                            aspects=("backend", "weights"))
                policy = replace(policy, header=None)
        if policy.cookie:
            tr.note_ann(ing, "canary-by-cookie", "CANARY-COOKIE", Level.INFO,
                        "Gateway API cannot match a cookie; the canary cookie becomes a RegularExpression "
                        "match on the Cookie header",
                        fidelity=Fidelity.APPROXIMATE, instead="Cookie header regex match (implementation-specific)",
                        aspects=("backend", "weights"))
        if ing.default_backend is not None and not ing.rules:
            tr.note(ing, "CANARY-DEFAULT-BACKEND", Level.WARNING,
                    "a canary default backend has no primary path to attach to",
                    fidelity=Fidelity.UNSUPPORTED, instead="ignored", fld="spec.defaultBackend",
                    aspects=("backend", "weights"))
        for rule in ing.rules:
            for path in rule.paths:
                key = _key(gw, rule.host, path)
                prev = self.by_key.get(key)
                if prev is not None:
                    tr.note(ing, "CANARY-DUPLICATE", Level.WARNING,
                            f"Ingress {prev.ingress.ref} is already the canary for host {rule.host or '*'} path "
                            f"{key[2]}; ingress-nginx uses only one canary per primary",
                            instead="this canary path is not converted", fld=path.field,
                            aspects=("backend", "weights"), scope=((rule.host, path.path or "/"),))
                    continue
                self.by_key[key] = _Canary(ing, path, policy)

    def merge(self, tr: CanaryContext, pc: PathContext, rule: Rule) -> list[Rule]:
        """The primary's rule with its canary's rules (or unchanged when it has none)."""
        key = _key(tr.ctx.gateway_for(pc.ingress), pc.host, pc.path)
        c = self.by_key.get(key)
        if c is None:
            return [rule]
        self.used.add(key)
        if not rule.backends:
            return [rule]
        backend = tr.resolve_backend(c.ingress, c.path.backend, c.path.field + ".backend")
        if backend is None:
            return [rule]
        if any((b.namespace, b.name, b.port) == (backend.namespace, backend.name, backend.port) for b in rule.backends):
            tr.note(c.ingress, "CANARY-SAME-SERVICE", Level.WARNING,
                    f"the canary's Service {backend.name}:{backend.port} is the primary's own",
                    instead="canary ignored (as ingress-nginx does)", fld=c.path.field,
                    aspects=("backend", "weights"), scope=((pc.host, pc.path.path or "/"),))
            return [rule]
        if backend.namespace != pc.ingress.namespace:
            tr.note(c.ingress, "CANARY-CROSS-NAMESPACE", Level.INFO,
                    f"the canary Service is in namespace {backend.namespace}, the primary's route in "
                    f"{pc.ingress.namespace}",
                    instead=f"backendRef across namespaces, with a ReferenceGrant in {backend.namespace}",
                    fld=c.path.field)
        tr.note(c.ingress, "CANARY-SCOPE", Level.INFO,
                "ingress-nginx attaches a canary to the primary's Service port, so every location proxying "
                "to that Service port is canaried, and sticky sessions may pin clients to either side",
                fidelity=Fidelity.APPROXIMATE,
                instead=f"canary rules added to host {pc.host or '*'} path {key[2]} of Ingress {pc.ingress.ref}",
                fld=c.path.field, aspects=("backend", "weights"), scope=_same_service(tr, pc, rule.backends[0]))
        source = Provenance("Ingress", c.ingress.namespace, c.ingress.name, c.path.field, c.ingress.origin)
        return [replace(r, provenance=(*r.provenance, source))
                for r in canary_rules(rule, rule.backends, backend, c.policy)]

    def report_unused(self, tr: CanaryContext) -> None:
        for key in sorted(self.by_key, key=lambda k: (k[0], k[1], k[2], k[3])):
            if key in self.used:
                continue
            c = self.by_key[key]
            service = c.path.backend.service if c.path.backend is not None else None
            tr.note(c.ingress, "CANARY-ORPHAN", Level.WARNING,
                    f"no primary Ingress serves host {key[1] or '*'} path {key[2]} ({key[3]}), so ingress-nginx "
                    f"ignores this canary path and deletes the canary upstream (Service {service}): the canary "
                    "then does nothing on any path, although its other paths are converted",
                    instead="not converted; the canary rules of the other paths send traffic ingress-nginx does not",
                    fld=c.path.field, aspects=("backend", "weights"))


def _same_service(tr: CanaryContext, pc: PathContext, primary: BackendRef) -> Scope:
    """Every (host, path) proxying to the primary's Service port: nginx canaries them all."""
    pairs = {(pc.host, pc.path.path or "/")}
    for ing in tr.resources.ingresses:
        if ing.namespace != primary.namespace:
            continue
        for r in ing.rules:
            for p in r.paths:
                b = p.backend
                if b.service == primary.name and b.port_number in (primary.port, None):
                    pairs.add((r.host, p.path or "/"))
    return tuple(sorted(pairs))
