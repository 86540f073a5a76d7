"""ingress-nginx: the provider object and its translator.

Routing follows ``shared/docs/ingress-nginx-semantics.md``: ``ImplementationSpecific`` (and a
missing pathType) is Prefix, an empty path is ``/``; when two Ingresses claim the same host
+ path + type the oldest wins, and on equal timestamps the one whose namespace/name sorts
*higher* (the controller's comparator). Annotations are read through the single table in
:mod:`.annotations`; any annotation whose feature is not converted gets a note.
"""

from __future__ import annotations

from collections.abc import Sequence

from ing2gw.ir import IR, PathMatch, RouteMatch
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.provider import API_VERSION, Annotations, AnnotationTable, ProviderContext
from .._common.ingress import IngressTranslator, PathContext
from ing2gw.resources import Ingress

from .annotations import TABLE

__all__ = ["PROVIDER", "IngressNginxProvider", "NginxTranslator"]

# Annotation keys whose behaviour the translator carries into the output. Every other key
# present on an Ingress that the table does not already note (because it is exact, or noted
# by its feature code) gets an NGINX-ANNOTATION-NOT-CONVERTED note, so nothing is silently lost.
CONVERTED: frozenset[str] = frozenset()


class NginxTranslator(IngressTranslator):
    code = "NGINX"

    def __init__(self, ctx: ProviderContext, table: AnnotationTable) -> None:
        super().__init__(ctx)
        self.table = table
        self._annotations: dict[str, Annotations] = {}

    def annotations(self, ingress: Ingress) -> Annotations:
        ann = self._annotations.get(ingress.ref)
        if ann is None:
            ann = self.table.read(ingress, self.notes, self.ctx.options.annotation_prefix)
            self._annotations[ingress.ref] = ann
            prefix = (self.ctx.options.annotation_prefix or self.table.prefix).rstrip("/")
            for key in ann.keys():
                spec = self.table.specs[key]
                if key in CONVERTED:
                    continue
                if spec.fidelity is Fidelity.EXACT or spec.noted_by_feature:
                    self.notes.add(Note(
                        code="NGINX-ANNOTATION-NOT-CONVERTED",
                        level=Level.WARNING,
                        message=f"{spec.doc} -- this ing2gw version does not convert it yet",
                        subject=ingress.subject,
                        field=f"{prefix}/{key}",
                        fidelity=Fidelity.UNSUPPORTED,
                        instead="not converted",
                        origin=ingress.origin,
                    ))
        return ann

    def ordered(self, ingresses: Sequence[Ingress]) -> list[Ingress]:
        # Oldest first; on equal timestamps namespace/name sorting higher comes first.
        by_name = sorted(ingresses, key=lambda i: (i.namespace, i.name), reverse=True)
        return sorted(by_name, key=lambda i: i.created or "~")

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        self.annotations(pc.ingress)
        value = pc.path.path or "/"
        if pc.path.path_type == "Exact":
            return [RouteMatch(path=PathMatch("Exact", value))]
        # Prefix and ImplementationSpecific: ingress-nginx treats both as Prefix.
        return [RouteMatch(path=PathMatch("PathPrefix", value))]


class IngressNginxProvider:
    name = "ingress-nginx"
    api_version = API_VERSION
    controllers = ("k8s.io/ingress-nginx",)
    class_names = ("nginx",)
    annotations = TABLE
    description = "kubernetes/ingress-nginx (retired 2026): annotations nginx.ingress.kubernetes.io/*"

    def to_ir(self, ingresses: Sequence[Ingress], ctx: ProviderContext) -> IR:
        translator = NginxTranslator(ctx, self.annotations)
        for ing in ingresses:
            translator.annotations(ing)
        return translator.translate(ingresses)


PROVIDER = IngressNginxProvider()
