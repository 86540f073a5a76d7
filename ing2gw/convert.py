"""The conversion pipeline as one function: resources + options -> manifests + notes.

1. resolve each Ingress's class (``spec.ingressClassName``, the legacy
   ``kubernetes.io/ingress.class`` annotation, the default IngressClass);
2. choose its provider (``--provider``; else the controller :mod:`ing2gw.detect` decides
   from the IngressClass controller, the annotation prefixes, the class name); an Ingress of a
   controller without a provider is not converted, and other controllers' annotations are
   noted as ignored;
3. ``provider.to_ir`` per provider, with its Ingresses and the objects of the kinds it
   claims (a provider with claimed objects runs even without Ingresses);
4. emit manifests with the chosen emitter (``--emitter``, :mod:`ing2gw.emit.registry`);
5. note every policy intent it left behind.

No I/O happens here, so golden tests call :func:`convert` directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .detect import Detector
from .emit.gateway import EmitOptions
from .emit.registry import EmitContext, EmitterRegistry, Lost, discover_emitters, note_unconsumed
from .errors import UsageError
from .ir import IR, GatewayRef
from .kinds import APIKind
from .notes import Fidelity, Level, Note, Notes, lost_protection
from .plugins import Registry
from .provider import Claimed, ConversionOptions, Provider, ProviderContext, run_provider
from .resources import Ingress, ResourceSet

__all__ = ["ConvertOptions", "ConvertResult", "IngressStatus", "chosen_providers", "convert", "unprotected"]

IngressStatus = Literal["converted", "partial", "not converted"]


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    provider: str | None = None  # --provider
    ingress_class: str | None = None  # --ingress-class
    conversion: ConversionOptions = field(default_factory=ConversionOptions)
    emit: EmitOptions = field(default_factory=EmitOptions)
    emitter: str = "standard"  # --emitter
    allow_unprotected: bool = False  # --allow-unprotected: losing a protection does not fail the run
    extra_ir: tuple[IR, ...] = ()  # routes from other sources (convert --openapi), emitted with the rest
    extra_notes: tuple[Note, ...] = ()  # and the notes made while reading them


@dataclass(frozen=True, slots=True)
class ConvertResult:
    manifests: list[dict[str, Any]]
    notes: Notes
    status: dict[str, IngressStatus]  # "ns/name" -> status
    providers: dict[str, str]  # "ns/name" -> provider name
    skipped_kinds: Mapping[str, int]
    annotation_counts: dict[str, int]  # annotation key -> number of Ingresses using it
    lost: tuple[Lost, ...] = ()  # policy intents the emitter did not carry, per route
    # claimed source objects (selectable kinds: IngressRoute, VirtualService...): subject -> status, provider
    objects: dict[str, IngressStatus] = field(default_factory=dict)
    object_providers: dict[str, str] = field(default_factory=dict)
    ir: IR | None = None  # what the providers produced (verify probes its protections)


def _class_of(ing: Ingress, rs: ResourceSet) -> tuple[str | None, str]:
    """The Ingress's class and where it came from."""
    if ing.class_name:
        return ing.class_name, "spec.ingressClassName"
    if ing.legacy_class:
        return ing.legacy_class, "annotation kubernetes.io/ingress.class"
    default = rs.default_class()
    if default is not None:
        return default.name, "default IngressClass"
    return None, ""


def _note_unprotected(notes: Notes, allowed: bool) -> None:
    """One closing note when protections are lost: an error (the run fails), or, with
    ``--allow-unprotected``, the record that the user accepted the loss."""
    lost = [n for n in notes if lost_protection(n)]
    if not lost:
        return
    kinds = ", ".join(sorted({str(n.security) for n in lost}))
    subjects = len({n.subject for n in lost})
    text = f"{len(lost)} protection(s) ({kinds}) of {subjects} object(s) are not carried into the output"
    if allowed:
        notes.add(Note("UNPROTECTED-ACCEPTED", Level.INFO, f"{text}; accepted with --allow-unprotected",
                       subject="conversion", instead="routes emitted without them"))
    else:
        notes.add(Note("UNPROTECTED", Level.ERROR, f"{text}; the run fails unless --allow-unprotected accepts this",
                       subject="conversion",
                       instead="routes emitted without them; see PROTECTION-LOST notes for what replaces each"))


def unprotected(notes: Iterable[Note], allowed: bool) -> bool:
    """Does losing a protection fail the run (convert, verify, diff)?"""
    return not allowed and any(lost_protection(n) for n in notes)


def has_input(provider: Provider, resources: ResourceSet) -> bool:
    """Does ``provider`` read objects of its own among the core kinds (ingress-nginx's TCP/UDP
    services ConfigMaps): the optional ``has_input(resources)``; then it runs without Ingresses."""
    method = getattr(provider, "has_input", None)
    return bool(method(resources)) if method is not None else False


def chosen_providers(resources: ResourceSet, options: ConvertOptions, registry: Registry) -> dict[str, str]:
    """Which provider :func:`convert` gives each Ingress (``ns/name`` -> provider name), without
    converting (``verify`` plans its processes with it before the conversion)."""
    forced = registry.get(options.provider) if options.provider else None
    return _assign(resources, options, registry, forced, None)[3]


_Assigned = tuple[dict[str, list[Ingress]], dict[str, Provider], dict[str, GatewayRef], dict[str, str],
                  dict[str, IngressStatus]]


def _assign(resources: ResourceSet, options: ConvertOptions, registry: Registry, forced: Provider | None,
            notes: Notes | None) -> _Assigned:
    """Each Ingress's provider (steps 1 and 2): the Ingresses per provider, the providers, each
    Ingress's Gateway, its provider's name, and the status of those not converted. With
    ``notes`` None (the choice alone is wanted), no note is made and no Gateway is named."""
    assigned: dict[str, list[Ingress]] = {}
    providers: dict[str, Provider] = {}
    gateways: dict[str, GatewayRef] = {}
    chosen: dict[str, str] = {}
    status: dict[str, IngressStatus] = {}
    classes = {ing.ref: _class_of(ing, resources) for ing in resources.ingresses}
    detector = Detector(registry, resources, {ref: cls for ref, (cls, _) in classes.items()})
    for ing in sorted(resources.ingresses, key=lambda i: (i.namespace, i.name)):
        cls, source = classes[ing.ref]
        if options.ingress_class is not None and cls != options.ingress_class:
            continue
        provider = forced
        if provider is None:
            decision = detector.decide(ing, cls, source)
            if decision.note is not None and notes is not None:
                notes.add(decision.note)
            provider = decision.provider
            if provider is None:
                status[ing.ref] = "not converted"
                continue
        if notes is not None:
            notes.extend(detector.foreign_notes(ing, provider))
            key = cls or (provider.class_names[0] if provider.class_names else provider.name)
            gateways[ing.ref] = GatewayRef(key=key, gateway_class=options.conversion.gateway_class or key)
        assigned.setdefault(provider.name, []).append(ing)
        providers[provider.name] = provider
        chosen[ing.ref] = provider.name
    return assigned, providers, gateways, chosen, status


def convert(resources: ResourceSet, options: ConvertOptions, registry: Registry,
            emitters: EmitterRegistry | None = None) -> ConvertResult:
    notes = Notes()
    notes.extend(resources.notes)
    notes.extend(options.extra_notes)
    if options.emit.existing is not None:
        notes.extend(options.emit.existing.notes)
    notes.extend(registry.load_notes())
    emitters = emitters or discover_emitters()
    notes.extend(emitters.load_notes())
    emitter = emitters.get(options.emitter)
    forced = registry.get(options.provider) if options.provider else None
    if options.conversion.annotation_prefix is not None and not options.conversion.annotation_prefix.strip():
        raise UsageError("--annotations-prefix must not be empty")
    assigned, providers, gateways, chosen, status = _assign(resources, options, registry, forced, notes)

    owned: dict[str, list[APIKind]] = {}
    for kind, provider in registry.claims().items():
        owned.setdefault(provider.name, []).append(kind)
        providers.setdefault(provider.name, provider)
    standalone = {p.name for p in registry.providers() if (forced is None or p is forced) and has_input(p, resources)}
    providers.update((p.name, p) for p in registry.providers() if p.name in standalone)
    parts: list[IR] = list(options.extra_ir)
    object_providers: dict[str, str] = {}
    for name in sorted(providers):
        claimed = Claimed(tuple(assigned.get(name, ())), tuple(resources.claimed(owned.get(name, ()))))
        if not claimed.ingresses and not claimed.objects and name not in standalone:
            continue
        object_providers.update((o.subject, name) for o in claimed.objects if o.kind.selectable)
        ctx = ProviderContext(resources, notes, options.conversion, gateways)
        parts.append(run_provider(providers[name], claimed, ctx))
    ir = IR(
        routes=tuple(r for p in parts for r in p.routes),
        certificates=tuple(c for p in parts for c in p.certificates),
        backend_tls=tuple(b for p in parts for b in p.backend_tls),
        passthrough=tuple(t for p in parts for t in p.passthrough),
        listeners=tuple(x for p in parts for x in p.listeners),
        gateway_intents=tuple(g for p in parts for g in p.gateway_intents),
    )
    emit_ctx = EmitContext(options.emit, notes)
    manifests = emitter.emit(ir, emit_ctx)
    lost = note_unconsumed(ir, emit_ctx, emitter)
    _note_unprotected(notes, options.allow_unprotected)

    # An Ingress is converted when something emitted comes from it: a route, a rule merged
    # into another Ingress's route (canaries), a TLS passthrough.
    produced = ({s.ref for r in ir.routes for s in r.sources}
                | {p.ref for r in ir.routes for rule in r.rules for p in rule.provenance}
                | {p.ref for r in ir.routes for rule in r.rules for b in rule.backends for f in b.filters
                   if f.provenance is not None for p in (f.provenance,)}
                | {t.source.ref for t in ir.passthrough})
    grouped = notes.by_subject()
    for ref in chosen:
        status[ref] = _status(ref in produced, grouped.get(f"Ingress {ref}", []))
    # Claimed source objects, by subject: converted when a route or listener comes from them.
    made = ({s.subject for r in ir.routes for s in r.sources}
            | {p.subject for r in ir.routes for rule in r.rules for p in rule.provenance}
            | {x.source.subject for x in ir.listeners if x.source is not None})
    objects = {subject: _status(subject in made, grouped.get(subject, [])) for subject in sorted(object_providers)}
    counts: Counter[str] = Counter()
    for ing in resources.ingresses:
        if ing.ref in chosen:
            counts.update(k for k in ing.annotations if "/" in k)
    return ConvertResult(
        manifests=manifests,
        notes=notes,
        status=dict(sorted(status.items())),
        providers=dict(sorted(chosen.items())),
        skipped_kinds=dict(sorted(resources.skipped.items())),
        annotation_counts=dict(sorted(counts.items())),
        lost=tuple(lost),
        objects=objects,
        object_providers=dict(sorted(object_providers.items())),
        ir=ir,
    )


def _status(produced: bool, own: Iterable[Note]) -> IngressStatus:
    if not produced:
        return "not converted"
    if any(n.level is not Level.INFO or n.fidelity in (Fidelity.EXTENSION, Fidelity.UNSUPPORTED) for n in own):
        # Info-level approximate notes describe small, known differences (a redirect's
        # trailing slash); they do not make the conversion partial.
        return "partial"
    return "converted"

