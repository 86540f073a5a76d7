"""Traefik's CRDs as ing2gw reads them: the kinds the provider claims, and lookups by the names
routers use.

``traefik.io/v1alpha1`` (v3) and ``traefik.containo.us/v1alpha1`` (v2) are both claimed. A router
names a Middleware as ``<namespace>-<name>@kubernetescrd`` (annotations; with the provider
suffix optional inside the CRD provider) or as ``{name, namespace}`` (IngressRoute); a
TraefikService, ServersTransport or TLSOption the same way. :class:`Crds` indexes the claimed
objects under those names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ing2gw.kinds import APIKind, KubeObject

__all__ = ["GROUPS", "KINDS", "MIDDLEWARE_TYPES", "Crds", "Middleware"]

GROUPS = ("traefik.io", "traefik.containo.us")
_KIND_NAMES = ("IngressRoute", "Middleware", "TraefikService", "ServersTransport", "TLSOption")
KINDS: tuple[APIKind, ...] = tuple(
    APIKind(group, "v1alpha1", kind, selectable=kind == "IngressRoute")
    for group in GROUPS for kind in _KIND_NAMES
)

# Middleware types Traefik v3 defines (the one key of a Middleware's spec).
MIDDLEWARE_TYPES = frozenset({
    "addPrefix", "basicAuth", "buffering", "chain", "circuitBreaker", "compress", "contentType", "digestAuth",
    "errors", "forwardAuth", "grpcWeb", "headers", "ipAllowList", "ipWhiteList", "inFlightReq", "passTLSClientCert",
    "plugin", "rateLimit", "redirectRegex", "redirectScheme", "replacePath", "replacePathRegex", "retry",
    "stripPrefix", "stripPrefixRegex",
})


@dataclass(frozen=True, slots=True)
class Middleware:
    """One Middleware: its type (the spec's key) and that key's settings."""

    obj: KubeObject
    type: str
    config: Mapping[str, Any]

    @property
    def subject(self) -> str:
        return self.obj.subject


class Crds:
    """The claimed Traefik objects, by kind and by the names routers use."""

    def __init__(self, objects: Iterable[KubeObject]) -> None:
        self.by_kind: dict[str, dict[tuple[str, str], KubeObject]] = {k: {} for k in _KIND_NAMES}
        for o in objects:
            if o.kind.group in GROUPS and o.kind.kind in self.by_kind:
                self.by_kind[o.kind.kind].setdefault((o.namespace, o.name), o)

    def get(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self.by_kind[kind].get((namespace, name))

    def by_reference(self, kind: str, reference: str, namespace: str) -> KubeObject | None:
        """An object named as in an annotation: ``<ns>-<name>[@kubernetescrd]``; a bare name
        inside an IngressRoute's own namespace is also tried."""
        name, _, provider = reference.partition("@")
        if provider and provider != "kubernetescrd":
            return None
        for (ns, n), obj in sorted(self.by_kind[kind].items()):
            if f"{ns}-{n}" == name:
                return obj
        return self.by_kind[kind].get((namespace, name))

    def middleware(self, obj: KubeObject) -> Middleware | str:
        """The Middleware's type and settings, or why it is unusable."""
        spec = obj.spec if isinstance(obj.spec, Mapping) else {}
        keys = [k for k in spec if k in MIDDLEWARE_TYPES]
        if len(keys) != 1:
            return f"spec names {len(keys)} middleware types (Traefik needs exactly one)"
        config = spec[keys[0]]
        return Middleware(obj, keys[0], config if isinstance(config, Mapping) else {})

    def ingress_routes(self) -> list[KubeObject]:
        return [o for _, o in sorted(self.by_kind["IngressRoute"].items())]
