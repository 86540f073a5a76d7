"""The APISIX CRDs ing2gw reads (``apisix.apache.org/v2``) and lookups by the names routes use.

ApisixRoute is the source the user selects; ApisixUpstream (named after the Service it tunes,
in the Service's namespace), ApisixPluginConfig (``plugin_config_name``, or the Ingress
annotation) and ApisixTls (certificates per host) are read in full. :func:`plugin_list` reads
a ``plugins`` list as the controller does: disabled entries skipped, later ones overriding
earlier ones of the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ing2gw.kinds import APIKind, KubeObject
from ing2gw.resources import ResourceSet

__all__ = ["GROUP", "KINDS", "Crds", "as_list", "as_map", "plugin_list", "service_port"]

GROUP = "apisix.apache.org"
APISIX_ROUTE = APIKind(GROUP, "v2", "ApisixRoute")
APISIX_UPSTREAM = APIKind(GROUP, "v2", "ApisixUpstream", selectable=False)
APISIX_PLUGIN_CONFIG = APIKind(GROUP, "v2", "ApisixPluginConfig", selectable=False)
APISIX_TLS = APIKind(GROUP, "v2", "ApisixTls", selectable=False)
KINDS: tuple[APIKind, ...] = (APISIX_PLUGIN_CONFIG, APISIX_ROUTE, APISIX_TLS, APISIX_UPSTREAM)


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (malformed fields read as absent)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def service_port(rs: ResourceSet, namespace: str, name: str, port: Any) -> int | None:
    """A backend's ``servicePort`` as a number: a number as it is, a port name through the
    Service's ports (a digit string when the Service is not in the input); None: unresolved."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    svc = rs.services.get((namespace, name))
    if svc is None:
        return int(port) if isinstance(port, str) and port.isdigit() else None
    return next((p.port for p in svc.ports if p.name == port), None)


def plugin_list(raw: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``plugins: [{name, enable, config, secretRef}]`` -> name -> config (enabled ones), and
    the names whose configuration is partly in a Secret (``secretRef``, never read)."""
    out: dict[str, dict[str, Any]] = {}
    secret: list[str] = []
    for p in raw if isinstance(raw, list) else []:
        if not isinstance(p, Mapping) or not isinstance(p.get("name"), str) or p.get("enable") is not True:
            continue
        cfg = p.get("config")
        out[p["name"]] = dict(cfg) if isinstance(cfg, Mapping) else {}
        if p.get("secretRef"):
            secret.append(p["name"])
    return out, secret


class Crds:
    """The claimed APISIX objects by kind and (namespace, name)."""

    def __init__(self, objects: Iterable[KubeObject]) -> None:
        self.by_kind: dict[str, dict[tuple[str, str], KubeObject]] = {k.kind: {} for k in KINDS}
        for o in objects:
            if o.kind.group == GROUP and o.kind.kind in self.by_kind:
                self.by_kind[o.kind.kind].setdefault((o.namespace, o.name), o)

    def get(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self.by_kind[kind].get((namespace, name))

    def all(self, kind: str) -> list[KubeObject]:
        return [o for _, o in sorted(self.by_kind[kind].items())]

    def plugin_config(self, namespace: str, name: str) -> tuple[dict[str, dict[str, Any]], list[str]] | None:
        obj = self.get("ApisixPluginConfig", namespace, name)
        return plugin_list(obj.spec.get("plugins")) if obj is not None else None
