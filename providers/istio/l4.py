"""Istio ``tls`` and ``tcp`` routes -> TLSRoutes and TCPRoutes.

``tls`` routes become TLSRoutes (SNI hosts on the Passthrough listeners of their port), ``tcp``
routes TCPRoutes on the TCP listeners of their port and TLSRoutes on its terminating TLS
listeners (Istio terminates there and hands the stream to the tcp routes; a TCPRoute cannot
attach to a TLS listener), for the hosts the server and the VirtualService share. Istio takes
the first tcp route that matches, so a later one on the same listener is noted and left out.
A destination without ``weight`` has the whole share alone and none beside others (Istio
sends nothing to a zero-weight TCP cluster), as for ``http`` routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ing2gw.ir import BackendRef, ListenerParent, Provenance, Route, Rule
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import ProviderContext

from .gateway import Server, Servers, host_covers
from .http import backend_of
from .objects import Index, spec_list, str_list

__all__ = ["L4Converter"]

Noter = Callable[..., None]  # _Converter.note


class L4Converter:
    def __init__(self, index: Index, servers: Servers, ctx: ProviderContext, note: Noter) -> None:
        self.index, self.servers, self.ctx, self.note = index, servers, ctx, note
        self.tcp_taken: dict[ListenerParent, str] = {}

    def l4_routes(self, vs: Any, hosts: list[str]) -> list[Route]:
        routes: list[Route] = []
        for section, kind in (("tls", "TLSRoute"), ("tcp", "TCPRoute")):
            for n, route in enumerate(spec_list(vs.spec.get(section))):
                fld = f"spec.{section}[{n}]"
                prov = Provenance("VirtualService", vs.namespace, vs.name, fld, vs.origin)
                problems: list[tuple[str, str, str]] = []
                dests = spec_list(route.get("route"))
                backends: list[BackendRef] = []
                for k, d in enumerate(dests):
                    raw = d.get("weight")  # absent: the whole share alone, none beside others (as for http)
                    weight = raw if isinstance(raw, int) else 1 if len(dests) == 1 else 0
                    ref = backend_of(d.get("destination"), vs.namespace, self.ctx.resources, weight, prov, problems,
                                     f"{fld}.route[{k}]")
                    if ref is not None:
                        backends.append(ref)
                for code, where, message in problems:
                    self.note(vs, code, Level.WARNING, message, where, (), Fidelity.UNSUPPORTED, aspects=("tls",))
                matches = spec_list(route.get("match")) or [{}]
                sni = sorted({str(h) for m in matches for h in str_list(m.get("sniHosts"))})
                ports = {m.get("port") for m in matches if isinstance(m.get("port"), int)}
                rule = Rule(matches=(), backends=tuple(backends), provenance=(prov,))
                name = f"{vs.name}-{section}" + (f"-{n + 1}" if n else "")
                if kind == "TLSRoute":
                    parents = self.l4_parents(vs, ("TLS-PASSTHROUGH",), sni or hosts, ports)
                    route_hosts = tuple(h for h in sni if h != "*") or tuple(h for h in hosts if h != "*")
                    routes += self._route(vs, kind, name, route_hosts, rule, parents)
                    continue
                tcp = self._unshadowed(vs, fld, self.l4_parents(vs, ("TCP",), hosts, ports))
                routes += self._route(vs, "TCPRoute", name, (), rule, tcp)
                # a terminating TLS server hands the decrypted stream to its tcp routes: a TLSRoute
                # on the Terminate listener, for the hosts the server and the VirtualService share
                terminate = self._unshadowed(vs, fld, self.l4_parents(vs, ("TLS-TERMINATE",), hosts, ports))
                shared = sorted({x for p in terminate for h in hosts for x in [self._shared(p, h)] if x})
                if terminate and not shared:
                    self.note(vs, "TCP-TERMINATE-NO-HOST", Level.WARNING, "a terminating TLS server hands its "
                              "stream to this tcp route, but they share no hostname but * and a TLSRoute needs one",
                              fld, (), Fidelity.UNSUPPORTED, "not attached there (name the hosts)", ("status", "tls"))
                routes += self._route(vs, "TLSRoute", f"{name}-tls", tuple(shared), rule, terminate)
        return routes

    def _shared(self, parent: ListenerParent, host: str) -> str | None:
        """The hostname a VirtualService host and a terminating listener share (None: only ``*``)."""
        listener = next((x for x in self.servers.listeners if x.gateway == parent.gateway
                         and x.name == parent.listener), None)
        pattern = listener.hostname if listener is not None and listener.hostname else "*"
        name = host.lower() if host_covers(pattern, host) else pattern if host_covers(host, pattern) else None
        return None if name in (None, "*") else name

    def _unshadowed(self, vs: Any, fld: str, parents: list[ListenerParent]) -> list[ListenerParent]:
        """The listeners whose first tcp route (the one Istio tries first) this one is."""
        mine = []
        for p in parents:
            holder = self.tcp_taken.setdefault(p, f"{vs.subject} {fld}")
            if holder != f"{vs.subject} {fld}":
                self.note(vs, "TCP-ROUTE-SHADOWED", Level.WARNING, f"listener {p.listener} already "
                          f"carries {holder}, which Istio tries first", fld, (), None,
                          "not attached there", ("tls",))
            else:
                mine.append(p)
        return mine

    @staticmethod
    def _route(vs: Any, kind: str, name: str, hosts: tuple[str, ...], rule: Rule,
               parents: list[ListenerParent]) -> list[Route]:
        if not parents:
            return []
        return [Route(kind, vs.namespace, name, parents[0].gateway, hosts, frozenset(),  # type: ignore[arg-type]
                      (rule,), (Provenance("VirtualService", vs.namespace, vs.name, "", vs.origin),), tuple(parents))]

    def l4_parents(self, vs: Any, families: tuple[str, ...], hosts: list[str],
                   ports: set[Any]) -> list[ListenerParent]:
        out: set[ListenerParent] = set()
        for g in str_list(vs.spec.get("gateways")):
            found: list[Server] = self.servers.of(g, vs.namespace, self.index) or []
            for server in found:
                if server.family not in families or (ports and server.port not in ports):
                    continue
                for host in hosts:
                    out.update(server.admits(vs.namespace, host))
        return sorted(out)
