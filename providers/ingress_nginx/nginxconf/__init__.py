"""The nginx.conf ingress-nginx would generate, from a second implementation of the controller.

The real-nginx oracle must not print the data-plane model's own location list back at it
(that only checks nginx's location matching, never how the controller *builds* locations).
This package builds servers and locations again, independently, the controller's way
(:mod:`.build`), through re-implementations of its template helpers (:mod:`.helpers`, checked
against the controller's ``template_test.go`` table), and renders them (:mod:`.render`) with
the Lua-driven parts written as plain nginx::

    conf = generate(resource_set, {"use-forwarded-headers": "true"})
    text = conf.render(listen="127.0.0.1:8080", upstream="127.0.0.1:9000", prefix="/tmp/x").text

Ingresses the controller refuses (invalid annotations, snippets under the default risk level,
and -- like the admission webhook -- the younger of two Ingresses whose locations would
collide in ``nginx -t``) are left out and listed in :attr:`NginxConf.rejected`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ing2gw.notes import Notes
from ing2gw.resources import Ingress, ResourceSet

from ..model import nginx_order, numbered_ports
from ..model.settings import ControllerConfig, Policy, read_policy
from .build import Build, build
from .helpers import build_location, enforce_regex_modifier
from .render import DEFAULT_BACKEND_LABEL, Rendered, render

__all__ = ["DEFAULT_BACKEND_LABEL", "NginxConf", "Rendered", "generate"]


@dataclass(frozen=True)
class NginxConf:
    build: Build
    config: ControllerConfig
    config_maps: Mapping[tuple[str, str], Mapping[str, str]]
    rejected: Mapping[str, str]  # Ingress ref -> why the controller leaves it out

    def render(self, *, listen: str, upstream: str, prefix: str, https_listen: str | None = None,
               certificate: tuple[str, str] | None = None) -> Rendered:
        return render(self.build, self.config, listen=listen, upstream=upstream, prefix=prefix,
                      config_maps=self.config_maps, https_listen=https_listen, certificate=certificate)


def _duplicate_owner(b: Build, order: Mapping[str, int]) -> tuple[str, str] | None:
    """The youngest Ingress owning a location directive that appears twice in one server."""
    for server in b.servers:
        enforce = enforce_regex_modifier(
            (loc.path, loc.policy.rewrite_target if loc.policy else None, bool(loc.policy and loc.policy.use_regex))
            for loc in server.locations)
        seen: dict[str, str | None] = {}
        for loc in server.locations:
            directive = build_location(loc.path, loc.path_type, enforce)
            owner = loc.ingress.ref if loc.ingress else None
            if directive in seen and not directive.startswith("~*"):
                first = seen[directive]
                owners = [r for r in (first, owner) if r is not None]
                if owners:
                    youngest = max(owners, key=lambda r: order.get(r, -1))
                    return youngest, f"duplicate location {directive} on server {server.hostname}"
            seen.setdefault(directive, owner)
    return None


def generate(resources: ResourceSet, controller_config: Mapping[str, str] | ControllerConfig | None = None,
             *, webhook: bool = True) -> NginxConf:
    """The controller's configuration for ``resources``. ``webhook=False`` keeps Ingresses
    whose locations collide (the configuration ``nginx -t`` refuses)."""
    config = (controller_config if isinstance(controller_config, ControllerConfig)
              else ControllerConfig.from_mapping(controller_config))
    items: list[tuple[Ingress, Policy]] = []
    rejected: dict[str, str] = {}
    for ing in nginx_order([numbered_ports(i, resources) for i in resources.ingresses]):
        policy = read_policy(ing, config, Notes())
        if isinstance(policy, str):
            rejected[ing.ref] = policy
        else:
            items.append((ing, policy))
    order = {ing.ref: i for i, (ing, _) in enumerate(items)}
    while True:
        b = build([(i, p) for i, p in items if i.ref not in rejected])
        clash = _duplicate_owner(b, order) if webhook else None
        if clash is None:
            return NginxConf(b, config, dict(resources.config_maps), rejected)
        rejected[clash[0]] = clash[1]
