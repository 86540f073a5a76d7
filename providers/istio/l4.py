"""Istio ``tls`` and ``tcp`` routes -> TLSRoutes and TCPRoutes.

``tls`` routes become TLSRoutes (SNI hosts on the Passthrough listeners of their port), ``tcp``
routes TCPRoutes (the TCP and terminating TLS listeners of their port; Istio takes the first
that matches, so a later one on the same listener is noted and left out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ing2gw.ir import BackendRef, ListenerParent, Provenance, Route, Rule
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import ProviderContext

from .gateway import Server, Servers
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
                    raw = d.get("weight")
                    weight = raw if isinstance(raw, int) else 1
                    ref = backend_of(d.get("destination"), vs.namespace, self.ctx.resources, weight, prov, problems,
                                     f"{fld}.route[{k}]")
                    if ref is not None:
                        backends.append(ref)
                for code, where, message in problems:
                    self.note(vs, code, Level.WARNING, message, where, (), Fidelity.UNSUPPORTED, aspects=("tls",))
                matches = spec_list(route.get("match")) or [{}]
                sni = sorted({str(h) for m in matches for h in str_list(m.get("sniHosts"))})
                ports = {m.get("port") for m in matches if isinstance(m.get("port"), int)}
                parents = self.l4_parents(vs, kind, sni or hosts, ports)
                if not parents:
                    continue
                if kind == "TCPRoute":
                    mine = []
                    for p in parents:
                        holder = self.tcp_taken.setdefault(p, f"{vs.subject} {fld}")
                        if holder != f"{vs.subject} {fld}":
                            self.note(vs, "TCP-ROUTE-SHADOWED", Level.WARNING, f"listener {p.listener} already "
                                      f"carries {holder}, which Istio tries first", fld, (), None,
                                      "not attached there", ("tls",))
                        else:
                            mine.append(p)
                    parents = mine
                    if not parents:
                        continue
                rule = Rule(matches=(), backends=tuple(backends), provenance=(prov,))
                name = f"{vs.name}-{section}" + (f"-{n + 1}" if n else "")
                route_hosts = tuple(h for h in sni if h != "*") if kind == "TLSRoute" else ()
                if kind == "TLSRoute" and not route_hosts:
                    route_hosts = tuple(h for h in hosts if h != "*")
                gw = parents[0].gateway
                routes.append(Route(kind, vs.namespace, name, gw, route_hosts, frozenset(),  # type: ignore[arg-type]
                                    (rule,), (Provenance("VirtualService", vs.namespace, vs.name, "", vs.origin),),
                                    tuple(parents)))
        return routes

    def l4_parents(self, vs: Any, kind: str, hosts: list[str], ports: set[Any]) -> list[ListenerParent]:
        families = ("TLS-PASSTHROUGH",) if kind == "TLSRoute" else ("TCP", "TLS-TERMINATE")
        out: set[ListenerParent] = set()
        for g in str_list(vs.spec.get("gateways")):
            found: list[Server] = self.servers.of(g, vs.namespace, self.index) or []
            for server in found:
                if server.family not in families or (ports and server.port not in ports):
                    continue
                for host in hosts:
                    out.update(server.admits(vs.namespace, host))
        return sorted(out)
