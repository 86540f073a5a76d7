"""The F5 NGINX Ingress Controller's ConfigMap (``-nginx-configmaps``): where it is found and
the settings of it that ing2gw reads.

``--controller-config FILE`` wins; else a ConfigMap of the input named as the controller's
installations name it -- ``nginx-config`` (the static manifests) or ``<release>-nginx-ingress``
(the Helm chart's full name) -- the first in namespace/name order. Read keys:

* ``client-max-body-size``: the ``client_max_body_size`` of every location the controller
  writes for an Ingress path, or for a VirtualServer route proxying to an upstream without its
  own ``client-max-body-size`` (default ``1m``; ``0`` turns the check off). It is not written
  server- or http-wide, so a request no location takes is held to NGINX's own default, 1m.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ing2gw.ir import Provenance
from ing2gw.resources import ResourceSet

from .._common.values import parse_size

__all__ = ["DEFAULT_BODY", "F5Config", "find_config"]

DEFAULT_BODY = 1024 * 1024  # NGINX's and the controller's client_max_body_size: 1m


def _named_like_the_controllers(name: str) -> bool:
    return name == "nginx-config" or name == "nginx-ingress" or name.endswith("-nginx-ingress")


@dataclass(frozen=True, slots=True)
class F5Config:
    """The controller settings read from its ConfigMap (the controller's defaults without one)."""

    namespace: str = ""
    name: str = ""  # the ConfigMap's name, "--controller-config", or "" (the controller's defaults)
    client_max_body_size: int | None = DEFAULT_BODY  # None: not checked (0)
    client_max_body_size_set: bool = False  # the ConfigMap sets it (else the default applies)
    invalid: tuple[tuple[str, str], ...] = ()  # (key, why) of values the controller cannot use
    data: Mapping[str, str] = field(default_factory=dict)  # the ConfigMap as given (for the nginx oracle)

    @classmethod
    def of(cls, data: Mapping[str, str], namespace: str, name: str) -> F5Config:
        body: int | None = DEFAULT_BODY
        given = False
        invalid: list[tuple[str, str]] = []
        raw = data.get("client-max-body-size")
        if raw is not None:
            try:
                size = parse_size(raw).bytes
            except ValueError as exc:
                invalid.append(("client-max-body-size", f"{raw!r}: {exc}"))
            else:
                body, given = (size or None), True
        return cls(namespace, name, body, given, tuple(invalid), dict(data))

    def provenance(self, key: str) -> Provenance:
        return Provenance("ConfigMap", self.namespace, self.name, key)


def find_config(resources: ResourceSet, given: Mapping[str, str] | None = None) -> F5Config:
    """The controller settings: ``given`` (``--controller-config``) when set, else the
    controller's ConfigMap among ``resources``, else the defaults."""
    if given:
        return F5Config.of(given, "", "--controller-config")
    found = sorted(key for key in resources.config_maps if _named_like_the_controllers(key[1]))
    if not found:
        return F5Config()
    ns, name = found[0]
    return F5Config.of(resources.config_maps[found[0]], ns, name)
