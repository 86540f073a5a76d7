"""Which controller serves each Ingress, and so which provider converts it.

The evidence, strongest first:

1. the IngressClass's ``spec.controller`` (when the input holds the class);
2. the annotation prefixes the Ingress uses -- only a prefix one controller alone reads counts
   (``ingress.kubernetes.io`` is read by several and only narrows a shared class name);
3. the class name. A class name several controllers use by convention (``nginx``: ingress-nginx
   and F5 NGINX; ``haproxy``: both HAProxy controllers) is decided by the annotations: the
   Ingress's own, else those of the other Ingresses of that class in the input (one class name
   is one IngressClass). When they do not decide and only one of those controllers has an
   installed provider, that provider converts it. Otherwise a class name may have a presumed
   controller (``nginx``: ingress-nginx, which serves most Ingresses of that class): when the
   input shows no sign of the others (none of their IngressClass controllers, annotations or
   claimed CRD kinds anywhere in it), the Ingresses of that class convert as the presumed one,
   with one ``INGRESS-CLASS-ASSUMED`` warning per class naming ``--provider``. When the input
   shows another claimant is there too, or the class has no presumed controller (``haproxy``),
   the class is still ambiguous: the Ingress is not converted and an
   ``INGRESS-CONTROLLER-AMBIGUOUS`` error names ``--provider``.

An Ingress without any class is decided by its annotations, else by those of the other
class-less Ingresses of the input, else it goes to the only installed provider (with a warning);
with several installed it is not converted.

Controllers come from the installed providers (``controllers``, ``class_names``,
``annotation_prefixes``) and from :data:`KNOWN`, the controllers ing2gw recognises whether or
not a provider for them is installed. An Ingress of a controller without a provider is not
converted, with one error note naming the controller. Annotations of any controller other than
the chosen one are noted as ignored, so no report counts them as converted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .notes import Fidelity, Level, Note
from .plugins import Registry
from .provider import Provider, ingress_scope, prefixes_of
from .resources import Ingress, ResourceSet

__all__ = ["KNOWN", "Controller", "Decision", "Detector"]


@dataclass(frozen=True, slots=True)
class Controller:
    """One Ingress controller: how to recognise it, and its provider when one is installed."""

    name: str  # the provider's name (installed), or the name a provider for it would have
    title: str  # how notes name it
    controllers: tuple[str, ...]  # IngressClass spec.controller values
    class_names: tuple[str, ...]  # conventional class names
    prefixes: tuple[str, ...]  # annotation prefixes it reads, without "/"
    provider: Provider | None = None
    presumed: tuple[str, ...] = ()  # shared class names it is presumed to serve when nothing tells

    def owns(self, controller: str) -> bool:
        """Is ``controller`` one of its values? (HAProxy Technologies accepts a ``/<class>`` suffix.)"""
        return any(controller == c or controller.startswith(c + "/") for c in self.controllers)


# Controllers recognised by their IngressClass controller, class name and annotation prefixes.
# Sources: each controller's documentation (see ../shared/docs/other-providers.md, section 0.3).
KNOWN: tuple[Controller, ...] = (
    Controller("ingress-nginx", "ingress-nginx", ("k8s.io/ingress-nginx",), ("nginx",),
               ("nginx.ingress.kubernetes.io",), presumed=("nginx",)),
    Controller("traefik", "Traefik", ("traefik.io/ingress-controller",), ("traefik",),
               ("traefik.ingress.kubernetes.io",)),
    Controller("kong", "Kong Ingress Controller", ("ingress-controllers.konghq.com/kong",), ("kong",),
               ("konghq.com", "configuration.konghq.com", "plugins.konghq.com")),
    Controller("f5-nginx", "F5 NGINX Ingress Controller", ("nginx.org/ingress-controller",), ("nginx",),
               ("nginx.org", "nginx.com", "appprotect.f5.com", "appprotectdos.f5.com")),
    Controller("haproxy-tech", "HAProxy Technologies Kubernetes Ingress", ("haproxy.org/ingress-controller",),
               ("haproxy",), ("haproxy.org", "haproxy.com", "ingress.kubernetes.io")),
    Controller("haproxy-ingress", "HAProxy Ingress", ("haproxy-ingress.github.io/controller",), ("haproxy",),
               ("haproxy-ingress.github.io", "ingress.kubernetes.io")),
    Controller("aws-alb", "AWS Load Balancer Controller", ("ingress.k8s.aws/alb", "eks.amazonaws.com/alb"),
               ("alb",), ("alb.ingress.kubernetes.io",)),
    Controller("gke", "GKE Ingress (ingress-gce)", (), ("gce", "gce-internal", "gce-regional-external"),
               ("ingress.gcp.kubernetes.io", "networking.gke.io")),
    Controller("agic", "Azure Application Gateway Ingress Controller", ("azure/application-gateway",),
               ("azure/application-gateway", "azure-application-gateway"), ("appgw.ingress.kubernetes.io",)),
    Controller("istio", "Istio", ("istio.io/ingress-controller",), ("istio",), ()),
    Controller("contour", "Contour", ("projectcontour.io/ingress-controller",), ("contour",),
               ("projectcontour.io",)),
    Controller("apisix", "Apache APISIX Ingress Controller",
               ("apisix.apache.org/apisix-ingress-controller", "apisix.apache.org/ingress-controller"),
               ("apisix",), ("k8s.apisix.apache.org",)),
    Controller("cilium", "Cilium", ("cilium.io/ingress-controller",), ("cilium",), ("ingress.cilium.io",)),
)


@dataclass(frozen=True, slots=True)
class Decision:
    """Who serves one Ingress: ``controller`` (None when nothing tells), why, and the note to add
    (an error when the Ingress is not converted, a warning when the evidence disagrees)."""

    controller: Controller | None
    why: str
    note: Note | None = None

    @property
    def provider(self) -> Provider | None:
        return self.controller.provider if self.controller is not None else None


def controllers_of(registry: Registry) -> tuple[Controller, ...]:
    """The installed providers, then every known controller no installed provider covers."""
    installed = []
    for p in registry.providers():
        known = next((k for k in KNOWN if k.name == p.name or set(k.controllers) & set(p.controllers)), None)
        installed.append(Controller(p.name, known.title if known else p.name, tuple(p.controllers),
                                    tuple(p.class_names), prefixes_of(p), p, known.presumed if known else ()))
    covered = {c.name for c in installed} | {v for c in installed for v in c.controllers}
    rest = [k for k in KNOWN if k.name not in covered and not set(k.controllers) & covered]
    return (*installed, *rest)


def _titles(controllers: Iterable[Controller]) -> str:
    return " and ".join(sorted(c.title for c in controllers))


class Detector:
    """Decides the controller of each Ingress of one input (see the module docstring)."""

    def __init__(self, registry: Registry, resources: ResourceSet, classes: Mapping[str, str | None]) -> None:
        """``classes``: each Ingress's class ("ns/name" -> class name or None)."""
        self.controllers = controllers_of(registry)
        self.resources = resources
        self.installed = sorted(c.name for c in self.controllers if c.provider is not None)
        # A class name is one IngressClass: what the annotations of all its Ingresses say.
        self._class_evidence: dict[str, set[str]] = {}
        for ing in resources.ingresses:
            cls = classes.get(ing.ref) or ""  # "": the Ingresses without a class
            self._class_evidence.setdefault(cls, set()).update(c.name for c in self._readers(ing, strict=True))
        # Controllers the input shows are running: an IngressClass naming them, their own
        # annotations on any Ingress, or objects of the kinds their provider claims.
        self._present = set().union(*self._class_evidence.values()) | {
            c.name for c in self.controllers
            if any(c.owns(ic.controller) for ic in resources.ingress_classes.values() if ic.controller)} | {
            p.name for kind, p in registry.claims().items() if resources.claimed([kind])}
        self._assumed: set[str] = set()  # classes whose INGRESS-CLASS-ASSUMED warning is out

    def _owners(self, key: str) -> list[Controller]:
        prefix = key.partition("/")[0] if "/" in key else ""
        return [c for c in self.controllers if prefix and prefix in c.prefixes]

    def _readers(self, ing: Ingress, strict: bool) -> list[Controller]:
        """Controllers whose annotations the Ingress uses; ``strict``: only by prefixes no other
        controller reads."""
        found: dict[str, Controller] = {}
        for key in ing.annotations:
            owners = self._owners(key)
            if len(owners) == 1 or (owners and not strict):
                found.update((c.name, c) for c in owners)
        return [found[n] for n in sorted(found)]

    def decide(self, ing: Ingress, cls: str | None, source: str) -> Decision:
        unknown = ""  # an IngressClass controller nobody knows: the other evidence decides
        if cls is not None:
            ic = self.resources.ingress_classes.get(cls)
            if ic is not None and ic.controller:
                owner = next((c for c in self.controllers if c.owns(ic.controller)), None)
                if owner is not None:
                    return self._served(ing, owner, f"IngressClass {cls}, controller {ic.controller}")
                unknown = ic.controller
        readers = self._readers(ing, strict=True)
        by_name = [c for c in self.controllers if cls is not None and cls in c.class_names]
        if len(readers) == 1:
            decision = self._served(ing, readers[0], "its annotations")
            if by_name and readers[0] not in by_name and decision.note is None:
                return Decision(decision.controller, decision.why, self._note(
                    ing, "INGRESS-CLASS-CONVENTION", Level.WARNING,
                    f"class {cls!r} ({source}) is conventionally {_titles(by_name)}'s, but the annotations are "
                    f"{readers[0].title}'s", f"converted as {readers[0].name}; --provider NAME chooses"))
            return decision
        if len(by_name) == 1:
            return self._served(ing, by_name[0], f"class {cls!r} ({source})")
        # one class (or the lack of one) is one controller: what its other Ingresses' annotations say
        siblings = [c for c in self.controllers if c.name in self._class_evidence.get(cls or "", set())]
        if by_name:
            narrowed = [c for c in by_name if c in self._readers(ing, strict=False)]
            if len(narrowed) == 1:
                return self._served(ing, narrowed[0], f"class {cls!r} ({source}) and its annotations")
            assert cls is not None
            shared = [c for c in by_name if c in siblings]
            if len(shared) == 1:
                return self._served(ing, shared[0], f"class {cls!r} ({source}) and the annotations of its "
                                                    "other Ingresses")
            installed = [c for c in by_name if c.provider is not None]
            if len(installed) == 1:  # the others have no provider: no choice to make
                return self._served(ing, installed[0], f"class {cls!r} ({source})")
            presumed = [c for c in installed if cls in c.presumed]
            others = sorted(c.title for c in by_name if c.name in self._present and c not in presumed)
            if len(presumed) == 1 and not others:
                return self._assume(ing, cls, source, presumed[0], by_name)
            seen = f"; the input shows {' and '.join(others)} running too" if presumed and others else ""
            return Decision(None, "", self._note(
                ing, "INGRESS-CONTROLLER-AMBIGUOUS", Level.ERROR,
                f"class {cls!r} ({source}) is used by {_titles(by_name)}, and no annotation tells which serves "
                f"this Ingress{seen}", self._choose_hint()))
        if readers:
            return Decision(None, "", self._note(
                ing, "INGRESS-CONTROLLER-AMBIGUOUS", Level.ERROR,
                f"cannot tell which controller serves this Ingress: it has annotations of {_titles(readers)}"
                + (f" and class {cls!r} ({source})" if cls else ""), self._choose_hint()))
        if len(siblings) == 1:
            return self._served(ing, siblings[0], f"the annotations of the other Ingresses of class {cls!r}"
                                if cls else "the annotations of the other Ingresses without a class")
        if cls is None:
            installed = [c for c in self.controllers if c.provider is not None]
            if len(installed) == 1:
                return Decision(installed[0], "the only installed provider", self._note(
                    ing, "INGRESS-PROVIDER-GUESSED", Level.WARNING,
                    "cannot tell which controller serves this Ingress: no ingress class, no default IngressClass "
                    "and no controller annotation", f"converted as {installed[0].name}, the only installed "
                    "provider; pass --provider to choose"))
        if unknown:
            why = f"IngressClass {cls} names controller {unknown}, which ing2gw does not know"
        elif cls is not None:
            why = f"class {cls!r} ({source}) belongs to no known controller and no annotation tells"
        else:
            why = "no ingress class, no default IngressClass and no controller annotation"
        return Decision(None, "", self._note(ing, "INGRESS-NO-PROVIDER", Level.ERROR,
                                             f"cannot tell which controller serves this Ingress: {why}",
                                             self._choose_hint()))

    def _assume(self, ing: Ingress, cls: str, source: str, owner: Controller,
                claimants: list[Controller]) -> Decision:
        """Convert as the class's presumed controller; the first Ingress of the class carries the
        one warning for all of them."""
        why = f"class {cls!r} ({source}), presumed {owner.title}'s"
        if cls in self._assumed:
            return Decision(owner, why)
        self._assumed.add(cls)
        rest = sorted(c.name for c in claimants if c is not owner and c.provider is not None)
        return Decision(owner, why, Note(
            "INGRESS-CLASS-ASSUMED", Level.WARNING,
            f"class {cls!r} is used by {_titles(claimants)}, and nothing in the input tells which serves its "
            f"Ingresses (no IngressClass, no controller annotation, none of {', '.join(rest)}'s objects)",
            subject=f"IngressClass {cls}",
            instead=f"converted as {owner.name}, which serves most Ingresses of class {cls!r}; pass --provider "
                    f"{' or --provider '.join(rest)} if that controller serves them"))

    def _served(self, ing: Ingress, owner: Controller, why: str) -> Decision:
        if owner.provider is not None:
            return Decision(owner, why)
        return Decision(owner, why, self._note(
            ing, "INGRESS-CONTROLLER-UNSUPPORTED", Level.ERROR,
            f"served by {owner.title} (decided by {why}); no installed provider converts its Ingresses",
            "not converted"))

    def _choose_hint(self) -> str:
        return f"not converted; pass --provider NAME ({', '.join(self.installed)})"

    def _note(self, ing: Ingress, code: str, level: Level, message: str, instead: str) -> Note:
        return Note(code, level, message, subject=ing.subject, instead=instead, origin=ing.origin)

    def foreign_notes(self, ing: Ingress, provider: Provider) -> list[Note]:
        """One note per annotation of another controller's prefix on an Ingress ``provider``
        converts: ignored, and counted as unsupported, never as exact."""
        own = set(prefixes_of(provider))
        notes = []
        for key in sorted(ing.annotations):
            owners = [c for c in self._owners(key) if c.name != provider.name]
            if not owners or key.partition("/")[0] in own:
                continue
            notes.append(Note(
                "INGRESS-FOREIGN-ANNOTATION", Level.WARNING,
                f"annotation of {_titles(owners)}, which the {provider.name} provider does not read",
                subject=ing.subject, field=key, fidelity=Fidelity.UNSUPPORTED, instead="ignored",
                origin=ing.origin, scope=ingress_scope(ing)))
        return notes
