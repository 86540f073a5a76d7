"""The implementation-emitter framework: a target's mapping table (:class:`Row`) drives its
policy objects, how they attach to the emitted routes, the fidelity notes and the docs.

:class:`ImplEmitter` emits the standard Gateway API objects (:func:`ing2gw.emit.gateway.emit`),
learns where each IR rule landed, asks each intent's rows for a :class:`Piece`, merges the
pieces per object and target, attaches the objects (targetRefs to the route or one of its
rules, ExtensionRef filters, Gateway listeners), names them from the route, and notes every
consumed intent with its fidelity and the difference in words. The package docstring
(:mod:`ing2gw.emit.impl`) explains how to write an emitter with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...intents import Intent
from ...ir import IR, Route, Rule
from ...names import unique_names
from ...notes import Fidelity, Level, Note
from ...schema.crds import CrdVersion
from ..gateway import Placed, emit
from ..objects import GROUP, SOURCE_ANNOTATION, Manifest, meta, obj, ordered
from ..registry import EMITTER_API_VERSION, EmitContext, intent_scope
from .crds import api_version, crd_versions, target_kinds, target_version
from .shared import SHARED_ATTACH, attach_shared, undeclared

__all__ = [
    "Attach",
    "Builder",
    "ImplEmitter",
    "ObjectKind",
    "Piece",
    "Row",
    "Site",
    "filter_users",
    "policy_targets",
    "reference_grant",
]

Attach = Literal["targetRefs", "targetRef", "extensionRef", "listener", "gateway", "service", "cluster", "rule",
                 "frontend"]
FidelityTag = Literal["E", "A", "N"]
_FIDELITY = {"E": Fidelity.EXACT, "A": Fidelity.APPROXIMATE}


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """A kind the emitter writes: its name suffix and how it reaches a route (see the package
    docstring); ``sections``: its targetRefs may name a route rule (``sectionName``)."""

    kind: str
    suffix: str
    attach: Attach
    sections: bool = False
    service_ref: Literal["targetRef", "targetRefs", "host"] = "targetRef"  # "service" objects (:mod:`.shared`)
    key: str = ""  # what rows name it by, when two ObjectKinds share a kind (one Traefik Middleware per job)

    @property
    def ref(self) -> str:
        return self.key or self.kind


@dataclass(frozen=True, slots=True)
class Site:
    """Where an intent is carried: the IR route and rule, and the emitted route (read only)."""

    route: Route
    rule: Rule
    manifest: Manifest
    index: int  # of the rule in the manifest's spec.rules
    placed: Sequence[Placed] = field(default=(), compare=False, repr=False)  # every emitted rule of the run
    experimental: bool = False  # Gateway API experimental-channel fields may be written

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    def listeners(self) -> list[tuple[str, str, str]]:
        """``(namespace, gateway, listener)`` of each Gateway listener the route attaches to."""
        out: list[tuple[str, str, str]] = []
        for ref in self.manifest["spec"].get("parentRefs", ()):
            if ref.get("kind", "Gateway") == "Gateway" and ref.get("sectionName"):
                out.append((ref.get("namespace", self.namespace), ref["name"], ref["sectionName"]))
        return out


@dataclass(frozen=True, slots=True)
class Piece:
    """What one intent contributes: ``spec`` (merged into its object's spec; empty = no object,
    e.g. "no limit" on a target without a default limit), value-specific ``difference`` words,
    ``exact`` (overrides the row's fidelity for this value), ``secret`` (the Secret layout the
    user must create) and ``extra`` objects (a Backend, a ReferenceGrant ...)."""

    spec: Mapping[str, Any] = field(default_factory=dict)
    difference: str = ""
    exact: bool | None = None
    secret: str = ""
    extra: tuple[Manifest, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)  # shared-mode objects only (:mod:`.shared`)


Builder = Callable[[Any, Site], "Piece | str"]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a target's mapping table (one intent class, one way of carrying it)."""

    intent: type[Intent]
    kind: str  # an ObjectKind of the emitter, or a Gateway API kind for a standard form
    path: str  # field path in that kind
    fidelity: FidelityTag
    difference: str  # what changes for a client, in words ("" when exact)
    doc: str = ""  # what the user must enable or create
    build: Builder | None = None  # None for an N row


@dataclass(slots=True)
class _Carried:
    intent: Intent
    row: Row
    piece: Piece
    site: Site


class _Conflict(Exception):
    pass


def _conflict(into: Mapping[str, Any], part: Mapping[str, Any], path: str = "spec") -> str:
    """The first field ``part`` would set to another value than ``into`` has ("" if none)."""
    for key, value in part.items():
        if key not in into:
            continue
        have = into[key]
        if isinstance(value, Mapping) and isinstance(have, dict):
            clash = _conflict(have, value, f"{path}.{key}")
            if clash:
                return clash
        elif not (isinstance(value, list) and isinstance(have, list)) and have != value:
            return f"{path}.{key}"
    return ""


def _merge(into: dict[str, Any], part: Mapping[str, Any], path: str = "spec") -> None:
    """Deep-merge ``part`` into ``into``: mappings merge, lists concatenate (an item already
    there is not repeated), equal scalars agree; a scalar set twice to different values raises
    :class:`_Conflict` (:func:`_conflict` tells beforehand)."""
    for key, value in part.items():
        if key not in into:
            into[key] = _copy(value)
        elif isinstance(value, Mapping) and isinstance(into[key], dict):
            _merge(into[key], value, f"{path}.{key}")
        elif isinstance(value, list) and isinstance(into[key], list):
            into[key].extend(_copy(v) for v in value if v not in into[key])
        elif into[key] != value:
            raise _Conflict(f"{path}.{key}")


def _union(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    """Merge ``part`` into ``into`` keeping ``into``'s scalars; list items not yet present are
    appended (extra objects several intents ask for)."""
    for key, value in part.items():
        if key not in into:
            into[key] = _copy(value)
        elif isinstance(value, Mapping) and isinstance(into[key], dict):
            _union(into[key], value)
        elif isinstance(value, list) and isinstance(into[key], list):
            into[key].extend(_copy(v) for v in value if v not in into[key])


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


def _route_ref(m: Manifest, section: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"group": GROUP, "kind": m["kind"], "name": m["metadata"]["name"]}
    if section:
        ref["sectionName"] = section
    return ref


def _rule_name(m: Manifest, index: int) -> str:
    """The rule's name, naming it (``rule-N``, unique in the route) when it has none."""
    rules = m["spec"]["rules"]
    if rules[index].get("name"):
        return str(rules[index]["name"])
    taken = {r.get("name") for r in rules}
    n = index + 1
    while f"rule-{n}" in taken:
        n += 1
    rules[index] = {"name": f"rule-{n}", **rules[index]}
    return f"rule-{n}"


class ImplEmitter:
    """Base of the implementation emitters (subclasses set the class attributes)."""

    name: str = ""
    description: str = ""
    target: str = ""  # ing2gw/data/impl/<target>.json
    kinds: tuple[ObjectKind, ...] = ()
    rows: tuple[Row, ...] = ()
    api_version = EMITTER_API_VERSION

    @property
    def consumes(self) -> tuple[type[Intent], ...]:
        seen: dict[type[Intent], None] = {}
        for row in self.rows:
            if row.build is not None:
                seen.setdefault(row.intent, None)
        return tuple(seen)

    @property
    def conditions(self) -> dict[str, str]:
        """Intent kind -> the objects carrying it (shown by ``ing2gw emitters``)."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            if row.build is not None:
                out.setdefault(row.intent.kind, []).append(f"{row.kind} {row.path} ({row.fidelity})")
        return {k: "; ".join(v) for k, v in out.items()}

    def version(self) -> str:
        return target_version(self.target)

    def crds(self) -> Mapping[tuple[str, str], CrdVersion]:
        """The target's CRD schemas, for validating the output."""
        return crd_versions(self.target)

    def crd_names(self) -> list[tuple[str, str]]:
        """``(CRD name, apiVersion)`` of every kind this emitter can write (dry-run preflight)."""
        kinds = target_kinds(self.target)
        return list(dict.fromkeys((kinds[k.kind].crd_name, kinds[k.kind].api_version) for k in self.kinds))

    def api(self, kind: str) -> str:
        return api_version(self.target, kind)

    # -- emitting --------------------------------------------------------------------------

    def emit(self, ir: IR, ctx: EmitContext) -> list[Manifest]:
        self._noted: set[tuple[Any, ...]] = set()
        placed: list[Placed] = []
        manifests = emit(ir, ctx.options, ctx.notes, placed)
        carried = self._build(placed, ctx)
        kinds = {k.ref: k.attach for k in self.kinds}
        shared = [c for c in carried if c.piece.spec and kinds.get(c.row.kind, undeclared(c.row.kind)) in SHARED_ATTACH]
        shared_ids = {id(c) for c in shared}
        objects = self._attach([c for c in carried if id(c) not in shared_ids], ctx)
        objects += attach_shared(self, shared, placed, ctx, manifests)
        objects += self._gateway_intents(ir, ctx)
        taken = {(m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in manifests + objects}
        extra: dict[tuple[str, str, str], Manifest] = {}
        for m in (m for c in carried if ctx.consumed(c.site.rule, c.intent) for m in c.piece.extra):
            key = (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
            if key in taken:
                continue
            if key not in extra:
                extra[key] = _copy(m)
            else:  # the same object asked for by several intents (one Gateway-wide snippet ...)
                _union(extra[key]["spec"], m["spec"])
                sources = {*extra[key]["metadata"].get("annotations", {}).get(SOURCE_ANNOTATION, "").split(", "),
                           *m["metadata"].get("annotations", {}).get(SOURCE_ANNOTATION, "").split(", ")} - {""}
                if sources:
                    extra[key]["metadata"]["annotations"] = {SOURCE_ANNOTATION: ", ".join(sorted(sources))}
        for m in extra.values():
            m["spec"] = self.finish(m["kind"], m["spec"])
            objects.append(m)
        return ordered(manifests + objects)

    def _build(self, placed: Sequence[Placed], ctx: EmitContext) -> list[_Carried]:
        table: dict[type[Intent], list[Row]] = {}
        for row in self.rows:
            if row.build is not None:
                table.setdefault(row.intent, []).append(row)
        carried: list[_Carried] = []
        for route, rule, manifest, index in placed:
            site = Site(route, rule, manifest, index, placed, ctx.options.experimental)
            for intent in rule.intents:
                reasons: list[str] = []
                for row in table.get(type(intent), ()):
                    assert row.build is not None
                    got = row.build(intent, site)
                    if isinstance(got, Piece):
                        carried.append(_Carried(intent, row, got, site))
                        break
                    reasons.append(got)
                else:
                    if reasons:
                        self._note_refused(intent, route, "; ".join(reasons), ctx)
        return carried

    def _note_refused(self, intent: Intent, route: Route, why: str, ctx: EmitContext) -> None:
        p = intent.provenance
        ctx.notes.add(Note(code="IMPL-NOT-EXPRESSIBLE", level=Level.INFO,
                           message=f"{intent.summary()}: {why}, so the {self.name} emitter cannot carry it",
                           subject=p.subject, field=p.field, origin=p.origin,
                           scope=intent_scope(route, route.rules, intent)))

    def _attach(self, carried: list[_Carried], ctx: EmitContext) -> list[Manifest]:
        kinds = {k.ref: k for k in self.kinds}
        # (id of route manifest, kind) -> rule index -> pieces, in rule order
        groups: dict[tuple[int, str], dict[int, list[_Carried]]] = {}
        manifests: dict[int, Manifest] = {}
        for c in carried:
            if not c.piece.spec:  # nothing to write: consumed with its note alone
                self._consumed(c, None, ctx)
                continue
            manifests[id(c.site.manifest)] = c.site.manifest
            groups.setdefault((id(c.site.manifest), c.row.kind), {}).setdefault(c.site.index, []).append(c)
        wanted: list[tuple[ObjectKind, str, Manifest, str | None, dict[str, Any], list[_Carried]]] = []
        listener_specs: dict[tuple[str, str, str, str], tuple[dict[str, Any], list[_Carried]]] = {}
        for (mid, kind_name), by_rule in groups.items():
            m = manifests[mid]
            kind = kinds[kind_name]
            specs: dict[int, dict[str, Any]] = {}
            used: dict[int, list[_Carried]] = {}
            for index, items in sorted(by_rule.items()):
                spec: dict[str, Any] = {}
                for c in items:
                    clash = _conflict(spec, c.piece.spec)
                    if clash:
                        self._note_refused(c.intent, c.site.route, f"it conflicts with another setting on {clash}",
                                           ctx)
                        continue
                    _merge(spec, c.piece.spec)
                    used.setdefault(index, []).append(c)
                if spec:
                    specs[index] = spec
            if kind.attach == "listener":
                for index, spec in specs.items():
                    site = used[index][0].site
                    for ns, gw, section in site.listeners():
                        key = (kind.ref, ns, gw, section)
                        if key not in listener_specs:
                            listener_specs[key] = (spec, list(used[index]))
                        elif listener_specs[key][0] == spec:
                            listener_specs[key][1].extend(used[index])
                        else:
                            for c in used[index]:
                                self._note_refused(c.intent, c.site.route, f"listener {section} of Gateway {ns}/{gw} "
                                                   "already carries a different setting from another route", ctx)
                continue
            rule_count = len(m["spec"]["rules"])
            uniform = len(specs) == rule_count and all(s == specs[0] for s in specs.values())
            if kind.attach == "extensionRef":
                distinct: list[dict[str, Any]] = []
                for spec in specs.values():
                    if spec not in distinct:
                        distinct.append(spec)
                if not uniform:  # name the rules listing a filter, so readers can tell them apart
                    for index in specs:
                        _rule_name(m, index)
                for n, spec in enumerate(distinct):
                    tag = None if len(distinct) == 1 else str(n + 1)
                    members = [c for i, s in specs.items() if s == spec for c in used[i]]
                    wanted.append((kind, m["metadata"]["namespace"], m, tag, spec, members))
            elif uniform:
                members = [c for i in specs for c in used[i]]
                wanted.append((kind, m["metadata"]["namespace"], m, None, specs[0], members))
            elif kind.sections:
                for index, spec in specs.items():
                    wanted.append((kind, m["metadata"]["namespace"], m, _rule_name(m, index), spec, used[index]))
            else:
                for index in specs:
                    for c in used[index]:
                        self._note_refused(c.intent, c.site.route, f"{kind.kind} attaches to whole routes only and the "
                                           f"rules of {m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']} "
                                           "differ", ctx)
        return self._objects(wanted, listener_specs, ctx)

    def _objects(self, wanted: list[tuple[ObjectKind, str, Manifest, str | None, dict[str, Any], list[_Carried]]],
                 listener_specs: Mapping[tuple[str, str, str, str], tuple[dict[str, Any], list[_Carried]]],
                 ctx: EmitContext) -> list[Manifest]:
        kinds = {k.ref: k for k in self.kinds}
        pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for kind, ns, m, tag, _, _ in wanted:
            parts = (m["metadata"]["name"], kind.suffix, tag) if kind.attach == "extensionRef" else (
                m["metadata"]["name"], tag, kind.suffix)
            base = "-".join(x for x in parts if x)
            pairs.setdefault((kind.kind, ns), []).append((f"{kind.ref}/{m['kind']}/{m['metadata']['name']}/{tag or ''}",
                                                          base))
        for (kref, ns, gw, section) in listener_specs:
            pairs.setdefault((kinds[kref].kind, ns), []).append((f"{kref}/Gateway/{gw}/{section}",
                                                                 f"{gw}-{section}-{kinds[kref].suffix}"))
        names = {scope: unique_names(p, 253) for scope, p in pairs.items()}
        out: list[Manifest] = []
        for kind, ns, m, tag, spec, members in wanted:
            name = names[(kind.kind, ns)][f"{kind.ref}/{m['kind']}/{m['metadata']['name']}/{tag or ''}"]
            sources = {c.intent.provenance.subject for c in members}
            if kind.attach == "extensionRef":
                body = spec
                ref = {"type": "ExtensionRef",
                       "extensionRef": {"group": self.api(kind.kind).split("/")[0], "kind": kind.kind, "name": name}}
                for index in sorted({c.site.index for c in members}):
                    rule = m["spec"]["rules"][index]
                    rule["filters"] = [ref, *rule.get("filters", ())]
            else:
                target = _route_ref(m, tag if kind.sections and tag else None)
                body = {"targetRef": target} if kind.attach == "targetRef" else {"targetRefs": [target]}
                body.update(spec)
            out.append(self._object(kind.kind, name, ns, sources, body))
            for c in members:
                self._consumed(c, f"{kind.kind} {ns}/{name}", ctx)
        for (kref, ns, gw, section), (spec, members) in sorted(listener_specs.items()):
            kind_name = kinds[kref].kind
            name = names[(kind_name, ns)][f"{kref}/Gateway/{gw}/{section}"]
            body = {"targetRefs": [{"group": GROUP, "kind": "Gateway", "name": gw, "sectionName": section}], **spec}
            out.append(self._object(kind_name, name, ns, {c.intent.provenance.subject for c in members}, body))
            for c in members:
                self._consumed(c, f"{kind_name} {ns}/{name}", ctx)
        return out

    def gateway_piece(self, intent: Intent) -> Piece | str | None:
        """What carries a Gateway-wide intent (``IR.gateway_intents``: a controller setting):
        a piece without spec -- the target's default is the same, or its ``extra`` objects are
        complete policies of their own (a cluster-wide network policy). A string: why it
        cannot be carried (noted). None: this emitter does not handle it (noted as not carried)."""
        return None

    def _gateway_intents(self, ir: IR, ctx: EmitContext) -> list[Manifest]:
        out: list[Manifest] = []
        for gi in ir.gateway_intents:
            got = self.gateway_piece(gi.intent)
            p = gi.intent.provenance
            if isinstance(got, str):
                ctx.notes.add(Note(code="IMPL-NOT-EXPRESSIBLE", level=Level.INFO,
                                   message=f"{gi.intent.summary()}: {got}, so the {self.name} emitter cannot carry it",
                                   subject=p.subject, field=p.field, origin=p.origin))
            if not isinstance(got, Piece) or got.spec:
                continue
            ctx.consume(None, gi.intent)
            exact = not got.extra or got.exact is True
            where = ", ".join(f"{m['kind']} {m['metadata']['name']}" for m in got.extra) or "the target's default"
            ctx.notes.add(Note(code="IMPL-POLICY", level=Level.INFO if exact else Level.WARNING,
                               message=f"{gi.intent.summary()} on Gateway {gi.gateway.key}"
                                       + (f" is carried by {where}" if got.extra else "") + f": {got.difference}",
                               subject=p.subject, field=p.field, origin=p.origin,
                               fidelity=Fidelity.EXACT if exact else Fidelity.APPROXIMATE,
                               instead=f"{self.name}: {where}", security=gi.intent.security,
                               aspects=frozenset() if exact else gi.intent.aspects))
            out.extend(got.extra)
        return out

    def finish(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        """The merged spec of one object, made valid for its kind (override to join what
        pieces contributed, e.g. snippets of the same context); the default keeps it."""
        return spec

    def _object(self, kind: str, name: str, namespace: str, sources: Iterable[str], spec: dict[str, Any]) -> Manifest:
        return {"apiVersion": self.api(kind), "kind": kind, "metadata": meta(name, namespace, sources),
                "spec": self.finish(kind, spec)}

    def _consumed(self, c: _Carried, where: str | None, ctx: EmitContext) -> None:
        ctx.consume(c.site.rule, c.intent)
        # one note per route, intent and object (an Ingress's intent sits on each of its rules)
        key = (id(c.site.route), id(c.row), id(c.intent), where, c.piece.difference)
        if key in self._noted:
            return
        self._noted.add(key)
        exact = c.piece.exact if c.piece.exact is not None else c.row.fidelity == "E"
        p = c.intent.provenance
        what = f"{c.row.kind} {c.row.path}" if where is None else f"{where} ({c.row.path})"
        differences = [d for d in (c.row.difference if not exact else "", c.piece.difference) if d]
        scope = intent_scope(c.site.route, c.site.route.rules, c.intent)
        ctx.notes.add(Note(
            code="IMPL-POLICY",
            level=Level.INFO if exact else Level.WARNING,
            message=f"{c.intent.summary()} is carried by {what}" + (": " + "; ".join(differences) if differences
                                                                  else " with the same behaviour"),
            subject=p.subject, field=p.field, origin=p.origin,
            fidelity=Fidelity.EXACT if exact else Fidelity.APPROXIMATE,
            instead=f"{self.name}: {c.row.kind} {c.row.path}", security=c.intent.security,
            aspects=c.intent.aspects if not exact else frozenset(), scope=scope))
        if c.piece.secret:
            ctx.notes.add(Note(code="IMPL-SECRET-LAYOUT", level=Level.WARNING, message=c.piece.secret,
                               subject=p.subject, field=p.field, origin=p.origin,
                               instead=f"{self.name}: create the Secret before applying the output",
                               security=c.intent.security, aspects=c.intent.aspects, scope=scope))


def reference_grant(from_api: str, from_kind: str, from_ns: str, to_kind: str, to_ns: str, to_name: str,
                    sources: Iterable[str] = ()) -> Manifest:
    """A ReferenceGrant in ``to_ns`` letting ``from_kind`` objects of ``from_ns`` refer to one
    object (a policy's auth Service or CA Secret in another namespace); an extra object."""
    spec = {"from": [{"group": from_api.split("/")[0], "kind": from_kind, "namespace": from_ns}],
            "to": [{"group": "", "kind": to_kind, "name": to_name}]}
    name = unique_names([("", f"{from_kind}-{from_ns}-{to_name}")], 253)[""]
    return obj("ReferenceGrant", meta(name, to_ns, sources), spec)


def policy_targets(obj: Mapping[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """``(kind, namespace, name, sectionName)`` of each targetRef of a policy object (same
    namespace as the policy)."""
    spec = obj.get("spec") or {}
    refs = list(spec.get("targetRefs") or ())
    if spec.get("targetRef"):
        refs.append(spec["targetRef"])
    ns = str((obj.get("metadata") or {}).get("namespace", ""))
    return [(str(r.get("kind", "")), ns, str(r.get("name", "")), r.get("sectionName")) for r in refs]


def filter_users(manifests: Iterable[Mapping[str, Any]], group: str,
                 kind: str) -> dict[tuple[str, str], list[tuple[str, str, str, str | None]]]:
    """Which route rules list each ``group``/``kind`` object as an ExtensionRef filter:
    ``(namespace, name)`` -> ``(route kind, namespace, route name, rule name)``."""
    out: dict[tuple[str, str], list[tuple[str, str, str, str | None]]] = {}
    for m in manifests:
        if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        ns = str(m["metadata"].get("namespace", ""))
        for rule in (m.get("spec") or {}).get("rules") or ():
            for f in rule.get("filters") or ():
                ref = f.get("extensionRef") or {}
                if f.get("type") == "ExtensionRef" and ref.get("group") == group and ref.get("kind") == kind:
                    out.setdefault((ns, str(ref.get("name"))), []).append(
                        (str(m["kind"]), ns, str(m["metadata"]["name"]), rule.get("name")))
    return out
