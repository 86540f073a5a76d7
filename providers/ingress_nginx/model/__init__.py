"""A data-plane model of ingress-nginx: what the controller's nginx does with a request.

Build it once from the Ingresses (and the controller ConfigMap), then route requests::

    model = NginxModel.from_resources(resource_set, {"use-forwarded-headers": "true"})
    model.route(Request.build(host="shop.example.com", path="/api"))   # an Outcome

The outcome is the reference router's typed :class:`~ing2gw.router.Outcome`; its
``matched`` is a :class:`~.pipeline.LocationMatch` (JSON ``{"ingress", "path", "location"}``).
Modules: :mod:`.settings` (ConfigMap and per-Ingress annotations), :mod:`.servers` (servers,
aliases, canaries, Host lookup), :mod:`.locations` (location list and nginx's location
choice), :mod:`.uri` (URI normalisation), :mod:`.pipeline` (the phase order, step by step:
the reference), :mod:`.plan` (the same answers with a compiled plan per location), :mod:`.upstream`
(the request sent upstream), :mod:`.access` (body size, rate limits, allow/deny and auth).
The nginx oracle's configuration is built separately, by
:mod:`..nginxconf`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from ing2gw.enforce.buckets import NginxLimitReq
from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Request
from ing2gw.notes import Level, Note, Notes
from ing2gw.resources import Ingress, IngressBackend, ResourceSet
from ing2gw.router.outcome import Answers, Outcome

from .access import Enforcement
from .pipeline import Context
from .plan import route
from .servers import Server, Topology, build_topology
from .settings import ControllerConfig, Policy, PolicyMemo, read_policy_memo

__all__ = ["ControllerConfig", "NginxModel", "nginx_order", "numbered_ports", "route_as_nginx"]

_T = TypeVar("_T")


def nginx_order(ingresses: list[Ingress]) -> list[Ingress]:
    """The controller's processing order: oldest first; equal timestamps: namespace/name descending."""
    by_name = sorted(ingresses, key=lambda i: (i.namespace, i.name), reverse=True)
    return sorted(by_name, key=lambda i: i.created or "~")


def numbered_ports(ing: Ingress, resources: ResourceSet) -> Ingress:
    """Service port names resolved to numbers where the Service is known, so backends read
    ``ns/svc:8080`` as on the Gateway side (nginx proxies to the same endpoints either way)."""
    default = ing.default_backend
    if (default is None or default.port_name is None) and not _port_names(ing):
        return ing  # (most Ingresses: nothing to number, no copy)

    def number(b: IngressBackend | None) -> IngressBackend | None:
        if b is None or b.port_name is None or b.service is None:
            return b
        svc = resources.services.get((ing.namespace, b.service))
        port = next((p.port for p in svc.ports if p.name == b.port_name), None) if svc else None
        return b if port is None else replace(b, port_number=port, port_name=None)

    rules = ing.rules
    if _port_names(ing):
        rules = tuple(
            replace(r, paths=tuple(replace(p, backend=number(p.backend) or p.backend) for p in r.paths))
            for r in ing.rules
        )  # (else the rules as they are: nothing to number)
    default = number(default)
    if rules is ing.rules and default is ing.default_backend:
        return ing
    return replace(ing, rules=rules, default_backend=default)


def _port_names(ing: Ingress) -> bool:
    """Does a path of ``ing`` name its Service port?"""
    for rule in ing.rules:  # (loops: read for every Ingress, where a generator costs twice as much)
        for path in rule.paths:
            if path.backend is not None and path.backend.port_name is not None:
                return True
    return False


class NginxModel:
    """ingress-nginx's servers and locations for a set of Ingresses, and its request handling."""

    __slots__ = ("context", "notes", "policies", "resources")
    models_timeouts = True  # a request's backend_delay meets the location's proxy_read_timeout (504)

    def __init__(self, context: Context, policies: Mapping[str, Policy], notes: Notes,
                 resources: ResourceSet | None = None) -> None:
        self.context = context
        self.policies = policies
        self.notes = notes
        self.resources = resources  # the input, for an independent second opinion (the nginx oracle)

    @classmethod
    def from_resources(
        cls,
        resource_set: ResourceSet,
        controller_config: Mapping[str, str] | ControllerConfig | None = None,
        *,
        strict_refs: bool = False,
        validate: bool = True,
    ) -> NginxModel:
        """``strict_refs``: a ConfigMap the input does not hold does not exist (as in a cluster).
        ``validate=False`` keeps Ingresses whose locations clash (the admission webhook would
        refuse them): only useful to render the configuration nginx refuses."""
        config = (controller_config if isinstance(controller_config, ControllerConfig)
                  else ControllerConfig.from_mapping(controller_config))
        notes = Notes()
        items: list[tuple[Ingress, Policy]] = []
        policies: dict[str, Policy] = {}
        memo: PolicyMemo = {}  # Ingresses often share their annotations
        for ing in nginx_order([numbered_ports(i, resource_set) for i in resource_set.ingresses]):
            policy = read_policy_memo(ing, config, notes, memo)
            if isinstance(policy, str):
                notes.add(Note(code="NGINX-MODEL-INGRESS-REJECTED", level=Level.ERROR, subject=ing.subject,
                               message=policy, origin=ing.origin,
                               instead="Ingress left out, as the controller refuses it"))
                continue
            items.append((ing, policy))
            policies[ing.ref] = policy
        topology = build_topology(items, notes, validate)
        context = Context(topology, config, dict(resource_set.config_maps),
                          strict_refs or bool(resource_set.config_maps), frozenset(resource_set.secrets),
                          bool(resource_set.secrets))  # Secrets are never read from a cluster: only files name them
        return cls(context, policies, notes, resource_set)

    @property
    def topology(self) -> Topology:
        return self.context.topology

    @property
    def servers(self) -> tuple[Server, ...]:
        return self.context.topology.servers

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        return route(self.context, request, client_ip)

    def answering(self, answers: Answers[_T]) -> Callable[[Request], _T]:
        """:meth:`route`, its answers made by ``answers`` (see :class:`~ing2gw.router.outcome.Answers`)."""
        context = self.context
        return lambda request: route(context, request, None, answers)

    def path_literals(self) -> tuple[frozenset[str], frozenset[str] | None]:
        """What the locations match paths by, for ``verify --access-log``'s line classes
        (:mod:`ing2gw.logshare`): the static location paths of every server (built-in ones
        too), and the names of the servers whose locations are regexes (None when the
        default server's or a wildcard server's are: any host may reach them)."""
        literals: set[str] = set()
        regex: set[str] = set()
        for server in self.servers:
            literals.update(loc.path for loc in server.locations if not loc.modifier.startswith("~"))
            if server.regex_mode or any(loc.modifier.startswith("~") for loc in server.locations):
                names = (server.name, *server.aliases)
                if server.is_default or any(n.startswith(("*", "~")) for n in names):
                    return frozenset(literals), None
                regex.update(n.lower() for n in names)
        return frozenset(literals), frozenset(regex)

    def enforcing(self, credentials: Credentials, clock: Callable[[], float] | None = None,
                  count: bool = True) -> NginxModel:
        """The same model checking basic-auth credentials against ``credentials`` and, with
        ``count``, counting ``limit-rps``/``limit-rpm`` on ``clock`` (:mod:`.access`)."""
        enforcement = Enforcement(credentials, NginxLimitReq() if count else None, clock or (lambda: 0.0))
        return NginxModel(replace(self.context, enforcement=enforcement), self.policies, self.notes, self.resources)


def route_as_nginx(
    resources: ResourceSet,
    request: Request,
    controller_config: Mapping[str, str] | None = None,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """One request through ingress-nginx configured with ``resources`` (for ``route --as``)."""
    return NginxModel.from_resources(resources, controller_config).route(request, client_ip).to_dict()
