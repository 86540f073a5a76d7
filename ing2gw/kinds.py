"""API kinds that providers claim, and the objects of those kinds as read.

A provider declares the kinds it reads besides Ingresses as :class:`APIKind` records (group,
version, kind -- its CRDs included); files and the cluster reader keep those objects for it as
:class:`KubeObject` records. :data:`CORE_KINDS` are read for every conversion and cannot be
claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CORE_KINDS", "APIKind", "KubeObject"]

# (group, kind) of what every conversion reads into typed fields; providers cannot claim these
CORE_KINDS = frozenset({("networking.k8s.io", "Ingress"), ("extensions", "Ingress"),
                        ("networking.k8s.io", "IngressClass"), ("", "Service"), ("", "Namespace"),
                        ("", "ConfigMap")})


@dataclass(frozen=True, slots=True, order=True)
class APIKind:
    """An API kind a provider reads: group, version and kind, as in ``apiVersion``/``kind``.

    ``group`` is "" for the core group. ``selectable``: the objects are sources the user
    picks with ``-l`` like Ingresses (routes: IngressRoute, VirtualService); False for
    objects that sources refer to (Middleware, KongPlugin), which are always read in full.
    """

    group: str
    version: str
    kind: str
    namespaced: bool = True
    selectable: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}"


@dataclass(frozen=True, slots=True, eq=False)
class KubeObject:
    """An object of a claimed kind, as read: its identity, labels and annotations, and the whole
    document in ``body`` (the provider parses ``spec``; treat it as read-only)."""

    kind: APIKind
    namespace: str  # "" for cluster-scoped kinds
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    body: Mapping[str, Any]
    origin: str  # file:line, or cluster/<context>:Kind/ns/name

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def subject(self) -> str:
        return f"{self.kind.kind} {self.ref}"

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, Mapping) else {}
