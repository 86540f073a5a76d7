"""ingress-nginx: what feature modules may use of the translator, as narrow typing Protocols.

Feature modules take one of these instead of :class:`~.translator.NginxTranslator`, so they see
only the annotations, the notes and the few pieces of state they need (never the translator's
private bookkeeping) and import nothing of the translator at run time. The translator satisfies
every Protocol here; mypy checks it where it passes itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Literal, Protocol

from ing2gw.ir import BackendRef, BackendTLS, GatewayRef
from ing2gw.notes import Fidelity, Level, Scope
from ing2gw.provider import Annotations, AnnotationTable, ProviderContext
from ing2gw.resources import Ingress, IngressBackend, ResourceSet

from .._common.ingress import HostRoutes, PathContext
from .model.settings import ControllerConfig

__all__ = ["CanaryContext", "ExtrasContext", "HostRoutesContext", "NoteContext", "PolicyContext"]


class NoteContext(Protocol):
    """What :mod:`.affinity` uses, and every other context too: an Ingress's annotations, its
    Gateway, the input objects, and notes on either."""

    @property
    def ctx(self) -> ProviderContext: ...

    @property
    def resources(self) -> ResourceSet: ...

    def annotations(self, ingress: Ingress) -> Annotations: ...

    def fld(self, key: str) -> str: ...

    def note(self, pc: PathContext | Ingress, code: str, level: Level, message: str, *,
             fidelity: Fidelity | None = None, instead: str = "", fld: str = "", aspects: Iterable[str] = (),
             scope: Scope | None = None) -> None: ...

    def note_ann(self, ing: Ingress | PathContext, key: str, code: str, level: Level, message: str, *,
                 fidelity: Fidelity | None = None, instead: str = "", aspects: Iterable[str] = (),
                 scope: Scope | None = None) -> None: ...


class CanaryContext(NoteContext, Protocol):
    """What :mod:`.canary` uses: the annotation table (to tell canary keys from the rest) and
    backend resolution."""

    @property
    def table(self) -> AnnotationTable: ...

    def resolve_backend(self, ingress: Ingress, backend: IngressBackend, fld: str) -> BackendRef | None: ...


class PolicyContext(NoteContext, Protocol):
    """What :mod:`.policies` uses: the controller settings, the hosts Ingresses name themselves,
    the route kind and where BackendTLSPolicies are collected."""

    @property
    def config(self) -> Mapping[str, str]: ...

    @property
    def settings(self) -> ControllerConfig: ...

    @property
    def real_hosts(self) -> Set[tuple[GatewayRef, str]]: ...

    def route_kind(self, ingress: Ingress) -> Literal["HTTPRoute", "GRPCRoute"]: ...

    def add_backend_tls(self, item: BackendTLS) -> None: ...


class ExtrasContext(NoteContext, Protocol):
    """What :mod:`.extras` uses: the annotation prefix in force, the controller settings and
    backend resolution."""

    @property
    def prefix(self) -> str: ...

    @property
    def config(self) -> Mapping[str, str]: ...

    @property
    def settings(self) -> ControllerConfig: ...

    def resolve_backend(self, ingress: Ingress, backend: IngressBackend, fld: str) -> BackendRef | None: ...


class HostRoutesContext(NoteContext, Protocol):
    """What :mod:`.hostroutes` uses: what the translator learnt of every host before converting
    paths (regex mode, passthrough, a missing ``/``, each location's nginx path), the HSTS value,
    the controller settings, the route kind and a host's names."""

    @property
    def config(self) -> Mapping[str, str]: ...

    @property
    def hsts(self) -> str | None: ...

    @property
    def passthrough_hosts(self) -> Set[tuple[GatewayRef, str]]: ...

    @property
    def regex_hosts(self) -> Mapping[tuple[GatewayRef, str], int]: ...

    @property
    def rootless(self) -> Mapping[tuple[GatewayRef, str], Ingress]: ...

    @property
    def nginx_paths(self) -> Mapping[tuple[str, str], str]: ...

    def route_kind(self, ingress: Ingress) -> Literal["HTTPRoute", "GRPCRoute"]: ...

    def hostnames(self, hr: HostRoutes) -> tuple[str, ...]: ...
