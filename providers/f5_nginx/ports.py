"""``nginx.org/listen-ports`` and ``nginx.org/listen-ports-ssl``: the ports a host's server
listens on instead of 80 and 443, as Gateway listeners.

The controller writes ``listen P;`` for each port of ``listen-ports`` and ``listen P ssl;`` for
each of ``listen-ports-ssl`` (a TLS host) in place of its default ports (server-wide: a
mergeable master's; the controller's Service must expose them). The host's routes leave the
Gateway's port 80 and 443 listeners for listeners on those ports -- ``http-P`` (HTTP, any
hostname) and ``https-P-HOST`` (HTTPS, the host's certificate) -- and the HTTPS redirect of
plain HTTP goes to the first SSL port, as the template's ``https://$host:PORT$request_uri``.
The controller's default server listens on 80 and 443 only: on another port NGINX's default is
the first server listening there, which answers the hosts no server names (noted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ing2gw.ir import (
    IR,
    CertificateRef,
    GatewayRef,
    Listener,
    ListenerParent,
    Provenance,
    RequestRedirect,
    Route,
    Rule,
)
from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import Annotations

__all__ = ["ServerPorts", "move_to_ports", "ports_of"]

ORG = "nginx.org/"


@dataclass(frozen=True, slots=True)
class ServerPorts:
    """The ports a server listens on (``None``: the controller's default, 80 / 443)."""

    http: tuple[int, ...] | None = None
    https: tuple[int, ...] | None = None

    @property
    def custom(self) -> bool:
        return self.http is not None or self.https is not None


def ports_of(server: Annotations) -> ServerPorts:
    """The ports of a server, from its (the master's) ``listen-ports`` and ``listen-ports-ssl``."""
    http, https = server.get(ORG + "listen-ports"), server.get(ORG + "listen-ports-ssl")
    return ServerPorts(tuple(http) if http else None, tuple(https) if https else None)


def _redirect_to(rule: Rule, port: int) -> Rule:
    filters = tuple(replace(f, value=replace(f.value, port=port))
                    if isinstance(f.value, RequestRedirect) and f.value.scheme == "https" else f
                    for f in rule.filters)
    return replace(rule, filters=filters)


def _first_server_note(source: Provenance, port: int, notes: Notes) -> None:
    notes.add(Note(code="F5-LISTEN-PORT-FIRST-SERVER", level=Level.INFO, subject=source.subject,
                   field=source.field, origin=source.origin, fidelity=Fidelity.APPROXIMATE,
                   message=f"no default server of the controller's listens on port {port}: NGINX gives requests "
                           "for hosts no server there names to the first server listening on it (by configuration "
                           "file name, namespace-name)",
                   instead=f"the Gateway's listener on port {port} answers them 404",
                   aspects=frozenset({"status", "backend", "path", "redirect"}), scope=(("*", ""),)))


def move_to_ports(ir: IR, ports: Callable[[str], ServerPorts], notes: Notes) -> IR:
    """``ir`` with the routes of servers on other ports (``ports(ingress ref)``) attached to
    listeners on those ports, and their hosts' certificates on those listeners only."""
    listeners: dict[str, Listener] = {}
    moved_tls: set[tuple[GatewayRef, str]] = set()
    secrets = {(c.gateway, c.hostname): c for c in ir.certificates}
    routes: list[Route] = []
    for route in ir.routes:
        ref = route.sources[0].ref if route.sources else ""
        sp = ports(ref)
        if not sp.custom or route.gateway is None:
            routes.append(route)
            continue
        gw, host = route.gateway, route.hostnames[0] if route.hostnames else ""
        source = replace(route.sources[0], field=ORG + "listen-ports")
        parents: list[ListenerParent] = []
        sections = set(route.sections)
        if "http" in sections and sp.http is not None:
            sections.discard("http")
            for port in sp.http:
                name = f"http-{port}"
                if name not in listeners and port not in (80, 443):
                    _first_server_note(source, port, notes)
                listeners.setdefault(name, Listener(gw, name, port, "HTTP", source=source))
                parents.append(ListenerParent(gw, name))
        cert = secrets.get((gw, host))
        if "https" in sections and sp.https is not None and cert is not None:
            sections.discard("https")
            moved_tls.add((gw, host))
            for port in sp.https:
                name = f"https-{port}-{host}"
                if port not in (80, 443) and not any(ls.port == port for ls in listeners.values()):
                    _first_server_note(replace(source, field=ORG + "listen-ports-ssl"), port, notes)
                listeners.setdefault(name, Listener(
                    gw, name, port, "HTTPS", hostname=host, tls_mode="Terminate",
                    certificates=(CertificateRef(cert.secret_namespace, cert.secret_name),),
                    source=replace(source, field=ORG + "listen-ports-ssl")))
                parents.append(ListenerParent(gw, name))
        rules: Sequence[Rule] = route.rules
        if sp.https is not None:  # the HTTPS redirects go to the first SSL port
            rules = [_redirect_to(rule, sp.https[0]) for rule in rules]
        routes.append(replace(route, sections=frozenset(sections), parents=(*route.parents, *parents),
                              rules=tuple(rules)))
    certificates = tuple(c for c in ir.certificates if (c.gateway, c.hostname) not in moved_tls)
    return replace(ir, routes=tuple(routes), certificates=certificates,
                   listeners=(*ir.listeners, *(listeners[k] for k in sorted(listeners))))
