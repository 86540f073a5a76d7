"""The provider contract: what a controller plugin implements, and its annotation table.

A provider turns the Ingresses of its controller into the :mod:`ing2gw.ir`. It declares one
:class:`AnnotationTable` -- key, parser, :class:`~ing2gw.notes.Fidelity`, one-line doc --
and that table drives three things: parsing (``table.read``), the notes for every
annotation of the provider's prefix that is not converted exactly (or not known at all),
and the documentation ``ing2gw providers NAME`` prints.

A provider also declares the API kinds it reads besides Ingresses (``kinds``: group,
version, kind -- its CRDs included). Files and the cluster reader keep those objects for it,
and ``to_ir`` receives them with its Ingresses as one :class:`Claimed` input. A provider may
convert claimed objects alone (an IngressRoute, a VirtualService) without any Ingress.

Third-party providers register an object satisfying :class:`Provider` under the entry-point
group ``ing2gw.providers``::

    [project.entry-points."ing2gw.providers"]
    haproxy = "ing2gw_haproxy:PROVIDER"

A provider may declare ``annotation_prefixes``, every annotation prefix its controller reads
(``("nginx.org", "nginx.com")``); without it, the table's prefix. Detection
(:mod:`ing2gw.detect`) decides by them which controller an Ingress belongs to.

Provider API versions: 2 (this one) adds ``kinds`` and passes :class:`Claimed` to ``to_ir``;
providers written for 1 (``to_ir(ingresses, ctx)``, no ``kinds``) still load and run.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .intents import Intent
from .ir import IR, GatewayRef
from .kinds import APIKind, KubeObject
from .notes import Fidelity, Level, Note, Notes, Scope
from .resources import Ingress, ResourceSet

__all__ = [
    "kinds_of",
    "prefixes_of",
    "run_provider",
    "API_VERSION",
    "SUPPORTED_API_VERSIONS",
    "APIKind",
    "AnnotationSpec",
    "AnnotationTable",
    "Annotations",
    "Claimed",
    "ConversionOptions",
    "Provider",
    "ProviderContext",
    "ingress_scope",
]

API_VERSION = 2
SUPPORTED_API_VERSIONS = (1, 2)


def _text(value: str) -> str:
    return value


def ingress_scope(ingress: Ingress) -> Scope:
    """Every (host, path) rule of an Ingress, as a note's scope (a host-less rule has host
    ""; an Ingress with only a default backend serves every path of the host-less rule)."""
    pairs = {(rule.host, p.path or "/") for rule in ingress.rules for p in rule.paths}
    pairs |= {(rule.host, "") for rule in ingress.rules if not rule.paths}
    if ingress.default_backend is not None:
        pairs.add(("", ""))
    return tuple(sorted(pairs))


@dataclass(frozen=True, slots=True)
class AnnotationSpec:
    """One row of a provider's annotation table.

    ``parse`` turns the raw string into a value and raises ``ValueError`` (with a short
    reason) for a bad one; the table then notes it and uses ``default``. ``fidelity`` is how
    well the annotation converts in general; when it depends on the value, the feature code
    says so in its own note and ``noted_by_feature`` stops the table's generic one.

    ``intent`` is the policy intent class (:mod:`ing2gw.intents`) the annotation feeds, when
    it is not carried by a standard Gateway API field; ``target`` is documentation only.
    ``changes_answer``: the annotation changes the answer a request gets (a refusal, a
    redirect, a rewrite), not only how it is proxied.
    """

    key: str  # without the prefix, e.g. "rewrite-target"
    fidelity: Fidelity
    doc: str
    parse: Callable[[str], Any] = _text
    default: Any = None
    family: str = ""  # e.g. "routing", "auth", "canary"
    target: str = ""  # what it becomes: "HTTPRoute URLRewrite filter", "extension: rate-limit"
    alias_of: str | None = None  # deprecated spelling of another key
    noted_by_feature: bool = False
    intent: type[Intent] | None = None
    changes_answer: bool = False


@dataclass(frozen=True, slots=True)
class Annotations:
    """The parsed annotations of one Ingress (keys without the prefix)."""

    values: Mapping[str, Any]
    raw: Mapping[str, str]
    table: AnnotationTable

    def get(self, key: str) -> Any:
        values = self.values
        if key in values:  # values are keyed by canonical key: the common, fast case
            return values[key]
        table = self.table
        canonical = table.aliases.get(key)
        if canonical is not None and canonical in values:
            return values[canonical]
        return table.defaults.get(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.table.canonical(key) in self.values

    def keys(self) -> Iterator[str]:
        return iter(sorted(self.values))


class AnnotationTable:
    """A provider's annotations, keyed by name without prefix."""

    def __init__(self, prefix: str, code: str, specs: Iterable[AnnotationSpec],
                 family_aspects: Mapping[str, frozenset[str]] | None = None) -> None:
        self.prefix = prefix.rstrip("/")
        self.code = code  # note-code prefix, e.g. "NGINX"
        # what an annotation of each family changes in a request's outcome (notes.ASPECTS);
        # a family not listed changes nothing verify can see, so its notes explain nothing
        self.family_aspects: Mapping[str, frozenset[str]] = family_aspects or {}
        self.specs: dict[str, AnnotationSpec] = {}
        for spec in specs:
            if spec.key in self.specs:
                raise ValueError(f"annotation {spec.key} declared twice")
            self.specs[spec.key] = spec
        # for Annotations.get: deprecated key -> canonical key; key (either) -> the default
        self.aliases: dict[str, str] = {k: s.alias_of for k, s in self.specs.items() if s.alias_of}
        self.defaults: dict[str, Any] = {}
        for key in self.specs:
            target = self.specs.get(self.canonical(key))
            self.defaults[key] = target.default if target is not None else None

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[AnnotationSpec]:
        return iter(sorted(self.specs.values(), key=lambda s: s.key))

    def aspects(self, spec: AnnotationSpec) -> frozenset[str]:
        """What ``spec``'s annotation changes in a request's outcome (from its family)."""
        return self.family_aspects.get(spec.family, frozenset())

    def canonical(self, key: str) -> str:
        spec = self.specs.get(key)
        return spec.alias_of if spec is not None and spec.alias_of else key

    def read(self, ingress: Ingress, notes: Notes, prefix: str | None = None,
             only: Container[str] | None = None) -> Annotations:
        """Parse the Ingress's annotations of this table's prefix, noting every problem; with
        ``only`` (keys without the prefix), those annotations alone."""
        pfx = (prefix or self.prefix).rstrip("/") + "/"
        start = len(pfx)
        items = [(k, k[start:], ingress.annotations[k]) for k in sorted(ingress.annotations)
                 if k.startswith(pfx) and (only is None or k[start:] in only)]
        # (the scope is only a note's: none without annotations)
        return self.parse(items, notes, ingress.subject, ingress.origin, ingress_scope(ingress) if items else ())

    def parse(self, items: Iterable[tuple[str, str, str]], notes: Notes, subject: str, origin: str,
              scope: Scope, noun: str = "annotation") -> Annotations:
        """Parse ``(full key, key, text)`` items of one object (an Ingress's annotations, a
        controller ConfigMap's keys when ``noun`` is ``setting``), noting unknown keys, invalid
        values and every key that does not convert exactly."""
        code = f"{self.code}-{noun.upper()}"
        values: dict[str, Any] = {}
        raw: dict[str, str] = {}
        for full_key, key, text in items:
            spec = self.specs.get(key)
            if spec is None:
                notes.add(Note(
                    code=f"{code}-UNKNOWN",
                    level=Level.WARNING,
                    message=f"unknown {noun} {full_key}",
                    subject=subject,
                    field=full_key,
                    fidelity=Fidelity.UNSUPPORTED,
                    instead="ignored",
                    origin=origin,
                ))
                continue
            canonical = spec.alias_of or key
            target_spec = self.specs[canonical]
            if spec.alias_of and canonical in raw:
                continue  # the canonical spelling wins over the deprecated alias
            try:
                values[canonical] = target_spec.parse(text)
            except ValueError as exc:
                notes.add(Note(
                    code=f"{code}-INVALID",
                    level=Level.WARNING,
                    message=f"invalid value {text!r}: {exc}",
                    subject=subject,
                    field=full_key,
                    instead=f"using the default ({target_spec.default!r})",
                    origin=origin,
                    aspects=self.aspects(target_spec),
                    scope=scope,
                ))
                continue
            raw[canonical] = text
            if target_spec.fidelity is not Fidelity.EXACT and not target_spec.noted_by_feature:
                notes.add(self.fidelity_note(full_key, target_spec, subject, origin, scope, code))
        return Annotations(values, raw, self)

    def fidelity_note(self, full_key: str, spec: AnnotationSpec, subject: str, origin: str, scope: Scope,
                      code: str) -> Note:
        fidelity = spec.fidelity
        instead = {
            Fidelity.APPROXIMATE: f"converted approximately to {spec.target or 'the closest Gateway API field'}",
            Fidelity.EXTENSION: f"carried as the {spec.intent.kind} policy intent" if spec.intent
            else f"kept for an implementation-specific policy ({spec.target or spec.family})",
            Fidelity.UNSUPPORTED: "not converted",
        }.get(fidelity, "")
        return Note(
            code=f"{code}-{fidelity.upper()}",
            level=Level.INFO if fidelity is Fidelity.APPROXIMATE else Level.WARNING,
            message=spec.doc,
            subject=subject,
            field=full_key,
            fidelity=fidelity,
            instead=instead,
            origin=origin,
            aspects=self.aspects(spec),
            scope=scope,
        )

    def rows(self) -> list[dict[str, str]]:
        """The table as plain rows, for ``ing2gw providers NAME``."""
        return [
            {
                "annotation": f"{self.prefix}/{s.key}" if self.prefix else s.key,
                "fidelity": str(s.fidelity),
                "family": s.family,
                "target": s.target,
                "intent": s.intent.kind if s.intent else "",
                "alias_of": (f"{self.prefix}/{s.alias_of}" if self.prefix else s.alias_of) if s.alias_of else "",
                "doc": s.doc,
            }
            for s in self
        ]


@dataclass(frozen=True, slots=True)
class ConversionOptions:
    """Options every provider sees (set by ``ing2gw convert`` flags)."""

    gateway_class: str | None = None  # --gateway-class
    annotation_prefix: str | None = None  # --annotations-prefix (provider default if None)
    experimental: bool = False  # --experimental: allow experimental-channel fields
    controller_config: Mapping[str, str] = field(default_factory=dict)  # e.g. ingress-nginx ConfigMap


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one provider converts: the Ingresses assigned to it (by class, controller or
    ``--provider``) and the objects of the kinds it claims, each in identity order."""

    ingresses: tuple[Ingress, ...] = ()
    objects: tuple[KubeObject, ...] = ()

    def of(self, kind: str, group: str | None = None) -> list[KubeObject]:
        """The claimed objects of one kind (of one API group when given), any version."""
        return [o for o in self.objects if o.kind.kind == kind and (group is None or o.kind.group == group)]


@dataclass(slots=True)
class ProviderContext:
    """What a provider's ``to_ir`` gets besides its input."""

    resources: ResourceSet
    notes: Notes
    options: ConversionOptions
    gateways: Mapping[str, GatewayRef]  # "ns/name" of each Ingress -> its Gateway

    def gateway_for(self, ingress: Ingress) -> GatewayRef:
        return self.gateways[ingress.ref]

    def gateway(self, key: str) -> GatewayRef:
        """The Gateway for a source that names its own entry point (a Gateway object, an entry
        point): ``key`` names it, ``--gateway-class`` overrides its class."""
        return GatewayRef(key=key, gateway_class=self.options.gateway_class or key)


@runtime_checkable
class Provider(Protocol):
    """What a provider plugin exposes (as a module-level ``PROVIDER`` object)."""

    name: str  # e.g. "ingress-nginx"
    api_version: int  # API_VERSION this provider was written for
    controllers: tuple[str, ...]  # IngressClass spec.controller values it owns
    class_names: tuple[str, ...]  # conventional class names ("nginx")
    annotations: AnnotationTable
    kinds: tuple[APIKind, ...]  # API kinds it reads besides Ingresses (CRDs included)
    description: str
    # optional: annotation_prefixes: tuple[str, ...] -- every prefix it reads (prefixes_of)
    # optional: has_input(resources) -> bool -- core objects of its own to convert even without
    # Ingresses (ingress-nginx's TCP/UDP services ConfigMaps)

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR: ...


def run_provider(provider: Provider, claimed: Claimed, ctx: ProviderContext) -> IR:
    """``provider.to_ir`` in the form its API version expects."""
    if provider.api_version == 1:
        legacy: Any = provider.to_ir
        return legacy(list(claimed.ingresses), ctx)  # type: ignore[no-any-return]
    return provider.to_ir(claimed, ctx)


def kinds_of(provider: Provider) -> tuple[APIKind, ...]:
    """The kinds a provider claims (none for API version 1)."""
    return tuple(getattr(provider, "kinds", ()) or ())


def prefixes_of(provider: Provider) -> tuple[str, ...]:
    """The annotation prefixes a provider reads (without "/"): its ``annotation_prefixes``,
    else its annotation table's prefix."""
    declared = getattr(provider, "annotation_prefixes", None)
    if declared:
        return tuple(p.rstrip("/") for p in declared)
    return (provider.annotations.prefix,) if provider.annotations.prefix else ()
