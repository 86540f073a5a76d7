"""The emitter seam: the :class:`Emitter` protocol, discovery, and the unconsumed-intent pass.

An emitter turns the IR into manifests. ``standard`` (:mod:`.standard`) writes plain Gateway
API objects; implementation emitters layer on it and consume the policy intents
(:mod:`ing2gw.intents`) their target can express. Each declares the intent classes it
consumes (``consumes``) and marks every intent it really carried with
:meth:`EmitContext.consume`. :func:`note_unconsumed` then notes each intent left behind --
with its security category, so a lost protection fails the run -- and what could replace it.

Third-party emitters register under the entry-point group ``ing2gw.emitters``::

    [project.entry-points."ing2gw.emitters"]
    my-gateway = "my_package:EMITTER"

A broken one is reported (``PLUGIN-LOAD-FAILED``) and skipped, like a broken provider.

An emitter that writes its target's own policy objects may also define
``read_policies(manifests) -> list[ing2gw.policy.AttachedPolicy]``, reading back only its own
kinds; :func:`read_policies` asks every installed emitter, so the reference router and
``serve`` enforce what emitted YAML says (the contract is in :mod:`ing2gw.policy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..intents import BodyLimit, Intent
from ..ir import IR, Route, Rule
from ..notes import Fidelity, Level, Note, Notes, Scope
from ..plugins import PluginEntry, load_plugins, lookup
from ..policy import AttachedPolicy
from .gateway import EmitOptions

__all__ = [
    "EMITTER_API_VERSION",
    "ENTRY_POINT_GROUP",
    "EmitContext",
    "Emitter",
    "EmitterRegistry",
    "Lost",
    "discover_emitters",
    "emitter_crds",
    "intent_scope",
    "note_unconsumed",
    "read_policies",
]

EMITTER_API_VERSION = 1
ENTRY_POINT_GROUP = "ing2gw.emitters"
BUILTIN: dict[str, str] = {
    "agentgateway": "ing2gw.emit.impl.agentgateway:EMITTER",
    "cilium": "ing2gw.emit.impl.cilium:EMITTER",
    "envoy-gateway": "ing2gw.emit.impl.envoy_gateway:EMITTER",
    "gke": "ing2gw.emit.impl.gke:EMITTER",
    "istio": "ing2gw.emit.impl.istio:EMITTER",
    "kgateway": "ing2gw.emit.impl.kgateway:EMITTER",
    "nginx-gateway-fabric": "ing2gw.emit.impl.nginx_gateway_fabric:EMITTER",
    "standard": "ing2gw.emit.standard:EMITTER",
    "traefik": "ing2gw.emit.impl.traefik:EMITTER",
}

Manifest = dict[str, Any]


@dataclass(slots=True)
class EmitContext:
    """What an emitter gets besides the IR: options, the notes, and the consumption record."""

    options: EmitOptions
    notes: Notes
    _consumed: set[tuple[int, int]] = field(default_factory=set)

    def consume(self, rule: Rule | None, intent: Intent) -> None:
        """Record that ``intent`` is carried into the output: on ``rule`` (one of the IR's
        rules, as given to ``emit``), or, with ``None``, a Gateway-wide intent of
        ``IR.gateway_intents``."""
        self._consumed.add((id(rule) if rule is not None else 0, id(intent)))

    def consumed(self, rule: Rule | None, intent: Intent) -> bool:
        return (id(rule) if rule is not None else 0, id(intent)) in self._consumed


@runtime_checkable
class Emitter(Protocol):
    """What an emitter plugin exposes (a module-level ``EMITTER`` object)."""

    name: str
    api_version: int  # EMITTER_API_VERSION it was written for
    description: str
    consumes: tuple[type[Intent], ...]  # the intent classes it can carry (some values may not fit)
    # Optionally ``conditions``: intent kind -> when it is carried ("with --experimental"),
    # and ``read_policies(manifests) -> list[AttachedPolicy]`` (see ing2gw.policy).

    def emit(self, ir: IR, ctx: EmitContext) -> list[Manifest]: ...


_REQUIRED = ("name", "api_version", "description", "consumes", "emit")


def _check(obj: Any, name: str) -> Emitter:
    missing = [attr for attr in _REQUIRED if not hasattr(obj, attr)]
    if missing:
        raise TypeError(f"missing {', '.join(missing)}")
    if obj.api_version != EMITTER_API_VERSION:
        raise TypeError(f"written for emitter API {obj.api_version!r}, this ing2gw speaks {EMITTER_API_VERSION}")
    if not callable(obj.emit):
        raise TypeError("emit is not callable")
    bad = [c for c in obj.consumes if not (isinstance(c, type) and issubclass(c, Intent))]
    if bad:
        raise TypeError(f"consumes {bad[0]!r}, which is not an ing2gw.intents.Intent class")
    if obj.name != name:
        raise TypeError(f"registered as {name!r} but calls itself {obj.name!r}")
    return obj  # type: ignore[no-any-return]


class EmitterRegistry:
    """The emitters available in this installation."""

    def __init__(self, entries: Iterable[PluginEntry]) -> None:
        self.entries: dict[str, PluginEntry] = {}
        for e in entries:
            self.entries.setdefault(e.name, e)
        self.failed = [e for e in entries if e.error is not None]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> Emitter:
        return lookup(self.entries, name, "emitter")  # type: ignore[no-any-return]

    def load_notes(self) -> list[Note]:
        return [
            Note(code="PLUGIN-LOAD-FAILED", level=Level.WARNING,
                 message=f"emitter plugin {e.name!r} from {e.distribution} {e.version} failed to load: {e.error}",
                 subject=f"plugin {e.name}", instead="plugin skipped")
            for e in sorted(self.failed, key=lambda e: (e.name, e.distribution))
        ]


def discover_emitters(entry_points: Iterable[Any] | None = None) -> EmitterRegistry:
    """The built-in emitters plus the ``ing2gw.emitters`` entry points (``entry_points`` overrides
    discovery, for tests)."""
    return EmitterRegistry(load_plugins(ENTRY_POINT_GROUP, BUILTIN, _check, "emitter", (), entry_points))


def read_policies(manifests: Sequence[Manifest], registry: EmitterRegistry | None = None) -> list[AttachedPolicy]:
    """The policies every installed emitter that defines ``read_policies`` reads back from
    ``manifests`` (each reads only its own kinds; emitters without a reader are skipped), in
    a stable order and without duplicates. A reader's :class:`~ing2gw.policy.PolicyReadError`
    (an object it owns is malformed) propagates."""
    registry = registry if registry is not None else discover_emitters()
    found: set[AttachedPolicy] = set()
    for name in registry.names():
        plugin = registry.entries[name].plugin
        reader = getattr(plugin, "read_policies", None) if plugin is not None else None
        if callable(reader):
            found.update(reader(manifests))
    return sorted(found, key=AttachedPolicy.sort_key)


def emitter_crds(name: str, registry: EmitterRegistry | None = None) -> Mapping[tuple[str, str], Any]:
    """The CRD schemas of the kinds emitter ``name`` writes beyond the Gateway API (an
    implementation emitter's vendored policy CRDs; empty for others), by (apiVersion, kind)."""
    emitter = (registry or discover_emitters()).get(name)
    crds = getattr(emitter, "crds", None)
    return crds() if callable(crds) else {}


@dataclass(frozen=True, slots=True)
class Lost:
    """An intent no emitter carried, on one route (``route`` "" = Gateway-wide)."""

    route: str  # "HTTPRoute ns/name"
    hostnames: tuple[str, ...]
    intent: Intent
    scope: Scope = ()  # the (host, path) rules that carried it

    def as_dict(self) -> dict[str, Any]:
        p = self.intent.provenance
        return {
            "route": self.route,
            "hostnames": list(self.hostnames),
            "intent": self.intent.kind,
            "security": str(self.intent.security) if self.intent.security else None,
            "summary": self.intent.summary(),
            "subject": p.subject,
            "field": p.field,
            "replaced_by": self.intent.replaced_by,
        }


def _route_label(route: Route) -> str:
    return f"{route.kind} {route.namespace}/{route.name}"


def note_unconsumed(ir: IR, ctx: EmitContext, emitter: Emitter) -> list[Lost]:
    """Note every intent the emitter did not consume; returns them per route, routes in order."""
    lost: list[Lost] = []
    for route in ir.routes:
        seen: set[tuple[str, str, str]] = set()
        for rule in route.rules:
            for intent in rule.intents:
                key = (intent.provenance.subject, intent.provenance.field, intent.summary())
                if ctx.consumed(rule, intent) or key in seen:
                    continue
                seen.add(key)
                scope = intent_scope(route, route.rules, intent)
                lost.append(Lost(_route_label(route), route.hostnames, intent, scope))
    for gi in ir.gateway_intents:
        if not ctx.consumed(None, gi.intent):
            # A Gateway-wide protection, or a body limit the user set, explains refusals anywhere
            # (verify probes both); other Gateway-wide settings (TLS options, the source's own
            # default body limit, which verify does not probe) change nothing the probes can see.
            probed = isinstance(gi.intent, BodyLimit) and gi.intent.max_bytes is not None and not gi.intent.implicit
            wide: Scope = (("*", ""),) if gi.intent.security or probed else ()
            lost.append(Lost(f"Gateway {gi.gateway.key}", (), gi.intent, wide))
    by_intent: dict[tuple[str, str, str], list[Lost]] = {}
    for item in lost:
        p = item.intent.provenance
        by_intent.setdefault((p.subject, p.field, item.intent.summary()), []).append(item)
    for items in by_intent.values():
        intent = items[0].intent
        p = intent.provenance
        where = sorted({i.route for i in items})
        default = intent.implicit and not intent.security
        ctx.notes.add(Note(
            code="PROTECTION-LOST" if intent.security else "DEFAULT-NOT-EMITTED" if default else "INTENT-NOT-EMITTED",
            level=Level.INFO if default else Level.WARNING,
            message=f"{intent.summary()}{' (the source default)' if default else ''} is not carried into the "
                    f"output by the {emitter.name} emitter ({_list(where)})"
                    f"{': this protection is lost' if intent.security else ''}",
            subject=p.subject,
            field=p.field,
            fidelity=Fidelity.APPROXIMATE if default else Fidelity.EXTENSION,
            instead=f"replace with: {intent.replaced_by}",
            origin=p.origin,
            security=intent.security,
            aspects=intent.aspects,
            scope=tuple(sorted({pair for i in items for pair in i.scope})),
        ))
    return lost


def intent_scope(route: Route, rules: Sequence[Rule], intent: Intent) -> Scope:
    """The (host, path) pairs of the route's rules that carry ``intent`` (a regular expression
    path as ``~REGEX``; a rule without a path match covers every path)."""
    p = intent.provenance
    paths: set[str] = set()
    for rule in rules:
        # the same intent: same class and values (what summary() shows), from the same setting
        if not any(i is intent or (type(i) is type(intent) and i == intent and i.provenance.subject == p.subject
                                   and i.provenance.field == p.field) for i in rule.intents):
            continue
        for m in rule.matches or (None,):
            if m is None or m.path is None:
                paths.add("")
            elif m.path.type == "RegularExpression":
                paths.add("~" + m.path.value)
            else:
                paths.add(m.path.value)
    return tuple(sorted((h, p) for h in (route.hostnames or ("",)) for p in paths))


def _list(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
