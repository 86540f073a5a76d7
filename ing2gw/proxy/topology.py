"""What the compiled router table tells the proxy to set up: the Gateway ports to listen
on (and whether they speak HTTPS, with which listener hostnames), the Service backends the
routes and mirrors send to, and per matched rule the facts the proxy needs after routing
(which backendRefs are invalid, whether response filters run).

Read once at start-up from :class:`~ing2gw.router.Router`'s table; no request is matched
here (matching is the router's alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ing2gw.router import Router
from ing2gw.router.mesh import client_view
from ing2gw.router.model import Rule
from ing2gw.router.outcome import RuleInfo

__all__ = ["GatewayPort", "Topology", "split_backend_key"]


@dataclass(frozen=True, slots=True)
class GatewayPort:
    port: int
    protocol: str  # "HTTP" | "HTTPS"
    hostnames: tuple[str | None, ...]  # listener hostnames on this port (None: any)
    problems: tuple[str, ...] = ()  # port-level conflicts between Gateways
    # route hostnames attached to listeners without a hostname (for their certificate)
    route_hostnames: tuple[str, ...] = ()


def split_backend_key(key: str) -> tuple[str, str, int] | None:
    """``"ns/name:8080"`` -> ``("ns", "name", 8080)``; ``None`` for other kinds of key."""
    ns, sep, rest = key.partition("/")
    name, colon, port = rest.rpartition(":")
    if not sep or not colon or not ns or not name or " " in key or not port.isdigit():
        return None
    return ns, name, int(port)


class Topology:
    """Ports, backends and per-rule facts, gathered from a router's compiled table. With
    ``mesh`` (a client namespace) the ports are the Service ports that client dials and the
    rules those of the GAMMA routes it meets (:func:`ing2gw.router.mesh.client_view`); a
    Service port no route applies to is its own backend."""

    __slots__ = ("ports", "backends", "auth_backends", "_rules", "_infos", "_response_pass")

    def __init__(self, router: Router, mesh: str | None = None) -> None:
        protocols: dict[int, list[str]] = {}
        hostnames: dict[int, list[str | None]] = {}
        catch_all: dict[int, set[str]] = {}
        rules: dict[int, Rule] = {}
        infos: list[RuleInfo] = []
        backends: set[str] = set()
        for plan in client_view(router.table.mesh, mesh) if mesh is not None else ():
            protocols.setdefault(plan.port, ["HTTP"])
            hostnames.setdefault(plan.port, [None])
            if plan.default is not None and plan.default.backend is not None:
                backends.add(plan.default.backend)
            for group in plan.groups:
                for entry in (*group.http, *group.grpc):
                    if id(entry.info) not in rules:
                        rules[id(entry.info)] = entry.rule
                        infos.append(entry.info)
        for gw in router.table.gateways.values() if mesh is None else ():
            for port, index in gw.ports.items():
                protocols.setdefault(port, []).append(gw.protocols[port])
                names = hostnames.setdefault(port, [])
                for listener in index.values():
                    if listener.hostname not in names:
                        names.append(listener.hostname)
                    if listener.hostname is None:
                        found = catch_all.setdefault(port, set())
                        found.update(listener.routes.exact)
                        found.update("*" + suffix for suffix in listener.routes.wild)
                    for group in listener.routes.values():
                        for entry in (*group.http, *group.grpc):
                            if id(entry.info) not in rules:
                                rules[id(entry.info)] = entry.rule
                                infos.append(entry.info)
        for rule in rules.values():
            for backend in rule.backends:
                if backend.problem is None and split_backend_key(backend.key):
                    backends.add(backend.key)
            for f in (*rule.filters, *(x for b in rule.backends for x in b.filters)):
                if f.mirror is not None and f.mirror.problem is None:
                    backends.add(f.mirror.backend)
        ports: list[GatewayPort] = []
        for port in sorted(protocols):
            kinds = sorted(set(protocols[port]))
            problems: tuple[str, ...] = ()
            if len(kinds) > 1:
                problems = (f"Gateways disagree on the protocol of port {port} "
                            f"({', '.join(kinds)}); serving {protocols[port][0]}",)
            ports.append(GatewayPort(port, protocols[port][0],
                                     tuple(sorted(hostnames[port], key=lambda h: h or "")),
                                     problems, tuple(sorted(catch_all.get(port, ())))))
        self.ports: tuple[GatewayPort, ...] = tuple(ports)
        self.backends: tuple[str, ...] = tuple(sorted(backends))
        # the auth Services of ExternalAuth filters (asked before a request goes on)
        self.auth_backends: tuple[str, ...] = tuple(sorted({f.backend for info in infos for f in info.auth_filters}))
        self._rules = rules
        self._infos = infos  # keeps the ids in ``_rules`` valid
        self._response_pass: dict[int, bool] = {
            key: any(f.response_headers is not None or f.cors is not None
                     for f in (*rule.filters, *(x for b in rule.backends for x in b.filters)))
            for key, rule in rules.items()
        }

    def port(self, number: int) -> GatewayPort | None:
        for p in self.ports:
            if p.port == number:
                return p
        return None

    def needs_response_pass(self, info: RuleInfo | None) -> bool:
        """Whether the rule's filters change the response (ResponseHeaderModifier, CORS):
        then the router is asked again with the backend's response headers."""
        return info is not None and self._response_pass.get(id(info), False)

    def backend_problem(self, info: RuleInfo | None, key: str) -> str | None:
        """Why the backendRef ``key`` of the matched rule cannot be used (``None``: it can)."""
        rule = None if info is None else self._rules.get(id(info))
        if rule is None:
            return None
        for backend in rule.backends:
            if backend.key == key and backend.problem is not None:
                return f"{backend.problem}: {backend.detail}" if backend.detail \
                    else backend.problem
        return None

    def weights(self, info: RuleInfo | None) -> Mapping[str, float]:
        return {} if info is None else info.weights
