"""The provider object both HAProxy providers are (:class:`HaproxyProvider`): a subclass names
its controller, class name, annotation prefixes and table, its data plane and its translator
class; ``to_ir`` reads every claimed Ingress's annotations (noting them once) and translates."""

from __future__ import annotations

from typing import ClassVar

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, AnnotationTable, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .dataplane import HaproxyDataPlane
from .translate import HaproxyTranslator

__all__ = ["HaproxyProvider"]


class HaproxyProvider:
    name: ClassVar[str]
    controllers: ClassVar[tuple[str, ...]]
    annotation_prefixes: ClassVar[tuple[str, ...]]
    annotations: ClassVar[AnnotationTable]
    description: ClassVar[str]
    data_plane: ClassVar[HaproxyDataPlane]
    translator: ClassVar[type[HaproxyTranslator]]
    api_version = API_VERSION
    class_names: tuple[str, ...] = ("haproxy",)  # both controllers' conventional class
    kinds: tuple[APIKind, ...] = ()  # Ingresses only

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = self.translator(ctx, self.annotations)
        for ing in claimed.ingresses:
            translator.policy(ing)
        return translator.translate(claimed.ingresses)
