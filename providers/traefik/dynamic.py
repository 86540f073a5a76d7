"""Traefik's dynamic configuration as its Kubernetes providers build it: routers and services.

The Ingress provider (``kubernetes``) makes one router per (rule host, path): rule
``Host("h") && <matcher>("p")`` -- ``Exact`` -> ``Path``, ``Prefix`` -> ``PathPrefix`` (with the
static option ``strictPrefixMatching``: ``(Path("/p") || PathPrefix("/p/"))``), ImplementationSpecific
or empty -> the ``router.pathmatcher`` annotation (an unknown value skips the path); router name
``<ns>-<ingress>-<host><path>`` normalised, a clash adding 20 hex digits of the rule's sha256 to
every clashing name; service ``<ns>-<service>-<port>``. An Ingress with only a default backend
makes ``default-router`` (``PathPrefix("/")``, lowest priority; the first such Ingress only).
The CRD provider (``kubernetescrd``) makes one router per IngressRoute route.

Which Ingresses Traefik serves (:func:`served`): ``spec.ingressClassName`` naming an IngressClass
of controller ``traefik.io/ingress-controller`` (a class the input does not hold is taken to be
Traefik's: a file input is partial), else the ``kubernetes.io/ingress.class`` annotation equal
to ``traefik`` or absent. This module is the controller's view only: :mod:`.model` routes
requests over it; the Gateway API conversion (:mod:`.translator`) is written separately.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.notes import Notes
from ing2gw.resources import Ingress, IngressBackend, ResourceSet

from .annotations import PREFIX, read_router, read_service
from .crds import Crds
from .rules import Node, RuleError, parse, priority_of

__all__ = ["CONTROLLER", "MIN_PRIORITY", "LoadBalancer", "Router", "build", "normalize", "served",
           "strict_prefix_rule"]

CONTROLLER = "traefik.io/ingress-controller"
MIN_PRIORITY = -(2**31)
PATHMATCHER = PREFIX + "/router.pathmatcher"


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """A service: weighted backends (``ns/svc:port``) and how requests reach them."""

    name: str
    backends: tuple[tuple[str, int], ...]
    mirrors: tuple[tuple[str, int], ...] = ()  # (backend, percent)
    pass_host_header: bool = True
    scheme: str = "http"
    sticky_cookie: str | None = None
    middlewares: tuple[str, ...] = ()  # service.middlewares annotation


@dataclass(frozen=True, slots=True)
class Router:
    name: str
    rule: str
    node: Node
    service: LoadBalancer | None
    source_kind: str  # "Ingress" | "IngressRoute"
    source: str  # "ns/name"
    path: str  # the Ingress path (or the route's match), for the outcome's rule name
    namespace: str
    priority: int = 0  # 0: the rule's length
    entry_points: tuple[str, ...] = ()  # (): every default entry point
    tls: bool = False
    middlewares: tuple[str, ...] = ()  # references, resolved by the model
    provider: str = "kubernetes"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_priority(self) -> int:
        return priority_of(self.rule, self.priority)


def normalize(name: str) -> str:
    """Traefik's name normalisation: runs of other characters become ``-``, trimmed."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def strict_prefix_rule(path: str) -> str:
    """The rule of a Prefix path with ``strictPrefixMatching``: element-wise, like the Ingress spec."""
    trimmed = path.rstrip("/")
    if not trimmed:
        return 'PathPrefix("/")'
    return f'(Path("{trimmed}") || PathPrefix("{trimmed}/"))'


def served(ing: Ingress, resources: ResourceSet, ingress_class: str | None = None) -> bool:
    """Does Traefik (with the provider option ``ingressClass``) serve this Ingress?"""
    if ing.class_name:
        if ingress_class is not None and ing.class_name != ingress_class:
            return False
        ic = resources.ingress_classes.get(ing.class_name)
        return ic is None or ic.controller == CONTROLLER
    legacy = ing.annotations.get("kubernetes.io/ingress.class", "")
    if ingress_class:
        return legacy == ingress_class
    return legacy in ("", "traefik")


def _port(resources: ResourceSet, namespace: str, backend: IngressBackend) -> tuple[str, int | None]:
    """The port as Traefik names its service (number or name) and its number when known."""
    if backend.port_number is not None:
        return str(backend.port_number), backend.port_number
    svc = resources.services.get((namespace, backend.service or ""))
    number = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
    return str(backend.port_name), number


def _backend_exists(resources: ResourceSet, namespace: str, backend: IngressBackend) -> bool:
    """Traefik skips a path whose Service or port does not exist (judged only when the input
    holds Services at all: a file input may leave them out)."""
    if not resources.has_services:
        return True
    svc = resources.services.get((namespace, backend.service or ""))
    if svc is None:
        return False
    if backend.port_number is not None:
        return any(p.port == backend.port_number for p in svc.ports)
    return any(p.name == backend.port_name for p in svc.ports)


def _load_balancer(resources: ResourceSet, namespace: str, backend: IngressBackend, name: str) -> LoadBalancer:
    label, number = _port(resources, namespace, backend)
    svc = resources.services.get((namespace, backend.service or ""))
    ann = read_service(svc, Notes(), ()) if svc is not None else None
    sticky = None
    if ann is not None and ann.get("service.sticky.cookie"):
        sticky = ann.get("service.sticky.cookie.name") or "_" + hashlib.sha1(name.encode()).hexdigest()[:6]
    return LoadBalancer(
        name=name,
        backends=((f"{namespace}/{backend.service}:{number if number is not None else label}", 1),),
        pass_host_header=ann.get("service.passhostheader") if ann is not None else True,
        scheme=ann.get("service.serversscheme") if ann is not None else "http",
        sticky_cookie=sticky,
        middlewares=tuple(ann.get("service.middlewares") or ()) if ann is not None else (),
    )


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ingress_rule(host: str, path: str, path_type: str, matcher: str | None, strict: bool = False,
                 syntax: str = "v3") -> str | None:
    """The rule Traefik writes for one Ingress path (``None``: the path is skipped)."""
    parts = []
    if host:
        if syntax == "v2" and host.startswith("*."):
            parts.append(f'HostRegexp("{{subdomain:[a-zA-Z0-9-]+}}.{host[2:]}")')
        else:
            parts.append(f"Host({_quote(host)})")
    if path:
        if path_type == "Exact":
            parts.append(f"Path({_quote(path)})")
        elif path_type == "Prefix":
            parts.append(strict_prefix_rule(path) if strict else f"PathPrefix({_quote(path)})")
        elif matcher in ("Path", "PathPrefix", "PathRegexp"):
            parts.append(f"{matcher}({_quote(path)})")
        else:
            return None
    return " && ".join(parts) if parts else None


def _valid_matcher(ing: Ingress) -> bool:
    """False when ``router.pathmatcher`` is set to a value Traefik refuses (its paths are skipped)."""
    value = next((v for k, v in ing.annotations.items() if k.lower() == PATHMATCHER), None)
    return value is None or value in ("Path", "PathPrefix", "PathRegexp")


def _ingress_routers(ingresses: Sequence[Ingress], resources: ResourceSet, strict: bool,
                     syntax: str) -> list[Router]:
    by_key: dict[str, list[Router]] = {}
    default: Router | None = None
    for ing in ingresses:
        ann = read_router(ing, Notes(), ())
        common: dict[str, Any] = {
            "priority": ann.get("router.priority") or 0,
            "entry_points": tuple(ann.get("router.entrypoints") or ()),
            "tls": bool(ann.get("router.tls")),
            "middlewares": tuple(ann.get("router.middlewares") or ()),
            "extra": {"tls.options": ann.get("router.tls.options")} if ann.get("router.tls.options") else {},
        }
        if not ing.rules and ing.default_backend is not None and ing.default_backend.service:
            if default is None:
                lb = _load_balancer(resources, ing.namespace, ing.default_backend, "default-backend")
                default = Router("default-router", 'PathPrefix("/")', parse('PathPrefix("/")'), lb, "Ingress",
                                 ing.ref, "", ing.namespace, MIN_PRIORITY, **{k: v for k, v in common.items()
                                                                              if k != "priority"})
            continue
        rule_syntax = str(ann.get("router.rulesyntax")) if "router.rulesyntax" in ann else syntax
        matcher = ann.get("router.pathmatcher") if _valid_matcher(ing) else None
        for rule in ing.rules:
            for p in rule.paths:
                if p.backend.service is None or not _backend_exists(resources, ing.namespace, p.backend):
                    continue
                text = ingress_rule(rule.host, p.path, p.path_type, matcher, strict, rule_syntax)
                if text is None:
                    continue
                try:
                    node = parse(text)
                except RuleError:
                    continue
                label, _ = _port(resources, ing.namespace, p.backend)
                lb = _load_balancer(resources, ing.namespace, p.backend,
                                    normalize(f"{ing.namespace}-{p.backend.service}-{label}"))
                key = normalize(f"{ing.namespace}-{ing.name}-{rule.host}{p.path}")
                by_key.setdefault(key, []).append(
                    Router(key, text, node, lb, "Ingress", ing.ref, p.path or "/", ing.namespace, **common))
    routers = [default] if default is not None else []
    for key, group in by_key.items():
        if len({r.rule for r in group}) == 1:
            routers.append(group[-1])
            continue
        for r in group:
            suffix = hashlib.sha256(r.rule.encode()).hexdigest()[:20]
            routers.append(Router(f"{key}-{suffix}", r.rule, r.node, r.service, r.source_kind, r.source, r.path,
                                  r.namespace, r.priority, r.entry_points, r.tls, r.middlewares, r.provider,
                                  r.extra))
    return routers


def _ref(item: Mapping[str, Any], namespace: str) -> tuple[str, str]:
    return str(item.get("namespace") or namespace), str(item.get("name") or "")


def _route_services(crds: Crds, resources: ResourceSet, namespace: str, services: Sequence[Any],
                    name: str) -> LoadBalancer | None:
    backends: list[tuple[str, int]] = []
    mirrors: list[tuple[str, int]] = []
    for s in services:
        if not isinstance(s, Mapping):
            continue
        ns, svc = _ref(s, namespace)
        weight = int(s.get("weight", 1)) if str(s.get("weight", 1)).lstrip("-").isdigit() else 1
        if s.get("kind") == "TraefikService":
            ts = crds.get("TraefikService", ns, svc)
            spec = ts.spec if ts is not None else {}
            weighted = spec.get("weighted") if isinstance(spec.get("weighted"), Mapping) else None
            mirroring = spec.get("mirroring") if isinstance(spec.get("mirroring"), Mapping) else None
            if weighted is not None:
                inner = _route_services(crds, resources, ns, weighted.get("services") or [], name)
                backends += list(inner.backends) if inner else []
            elif mirroring is not None:
                main = _route_services(crds, resources, ns, [mirroring], name)
                backends += list(main.backends) if main else []
                for m in mirroring.get("mirrors") or []:
                    if isinstance(m, Mapping):
                        mns, msvc = _ref(m, ns)
                        mirrors.append((f"{mns}/{msvc}:{_service_port(resources, mns, msvc, m.get('port'))}",
                                        int(m.get("percent", 0))))
            continue
        backends.append((f"{ns}/{svc}:{_service_port(resources, ns, svc, s.get('port'))}", weight))
    if not backends:
        return None
    first = next((s for s in services if isinstance(s, Mapping)), {})
    return LoadBalancer(name, tuple(backends), tuple(mirrors),
                        pass_host_header=first.get("passHostHeader", True) is not False,
                        scheme=str(first.get("scheme") or "http"))


def _service_port(resources: ResourceSet, namespace: str, service: str, port: Any) -> str:
    if isinstance(port, int):
        return str(port)
    svc = resources.services.get((namespace, service))
    found = next((p.port for p in svc.ports if p.name == port), None) if svc else None
    if found is not None:
        return str(found)
    if svc is not None and len(svc.ports) == 1 and port is None:
        return str(svc.ports[0].port)
    return str(port)


def _route_routers(crds: Crds, resources: ResourceSet) -> list[Router]:
    out = []
    for obj in crds.ingress_routes():
        spec = obj.spec
        tls = isinstance(spec.get("tls"), Mapping)
        entry_points = tuple(str(e) for e in spec.get("entryPoints") or ())
        for i, route in enumerate(spec.get("routes") or []):
            if not isinstance(route, Mapping) or not isinstance(route.get("match"), str):
                continue
            try:
                node = parse(route["match"])
            except RuleError:
                continue
            name = normalize(f"{obj.namespace}-{obj.name}-{hashlib.sha256(route['match'].encode()).hexdigest()[:20]}")
            lb = _route_services(crds, resources, obj.namespace, route.get("services") or [], name)
            mws = tuple(f"{ns}-{n}@kubernetescrd" for ns, n in
                        (_ref(m, obj.namespace) for m in route.get("middlewares") or [] if isinstance(m, Mapping)))
            priority = route["priority"] if isinstance(route.get("priority"), int) else 0
            out.append(Router(name, route["match"], node, lb, "IngressRoute", obj.ref, f"routes[{i}]",
                              obj.namespace, priority, entry_points, tls, mws, "kubernetescrd"))
    return out


def build(resources: ResourceSet, objects: Iterable[Any] = (), *, strict_prefix: bool = False,
          ingress_class: str | None = None, syntax: str = "v3") -> list[Router]:
    """Every router Traefik builds from the Ingresses it serves and the IngressRoutes."""
    ingresses = [i for i in resources.ingresses if served(i, resources, ingress_class)]
    crds = Crds(objects)
    return _ingress_routers(ingresses, resources, strict_prefix, syntax) + _route_routers(crds, resources)


def services_of(routers: Iterable[Router]) -> dict[str, LoadBalancer]:
    return {r.service.name: r.service for r in routers if r.service is not None}
