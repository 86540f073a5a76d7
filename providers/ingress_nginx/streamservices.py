"""ingress-nginx's TCP and UDP services (the controller's ``--tcp-services-configmap`` and
``--udp-services-configmap`` ConfigMaps) -> Gateway listeners and TCPRoutes / UDPRoutes, and
the stream model ``verify`` and ``ing2gw route tcp://...`` replay them through.

Finding the ConfigMaps. As for the controller ConfigMap (:mod:`.configmap`), the input is
searched by the names the project's manifests and Helm chart give them: ``tcp-services`` /
``udp-services`` (static manifests and the docs) and ``ingress-nginx-tcp`` /
``ingress-nginx-udp`` or ``<release>-ingress-nginx-tcp`` / ``-udp`` (the chart's
``tcp:``/``udp:`` values). The first by namespace and name is read (a note says which, and
that others were left); they are converted even when the input has no Ingress
(``IngressNginxProvider.has_input``). The cluster reader gets them at their usual places
(:data:`ing2gw.kube.NGINX_STREAM_CONFIGMAPS`).

What the controller does with each entry (``getStreamServices``), reproduced here:

* the key is the external port (Go ``strconv.Atoi``: digits with an optional sign); a key that
  is not a number, or a port the controller keeps for itself (80, 443, 442 -- the SSL
  passthrough proxy --, 8181 -- the default server --, 10245-10247, 10254), is skipped;
* the value is ``namespace/name:port[:PROXY[:PROXY]]`` split on ``:`` (``name:port::PROXY``:
  encode only); fewer than two fields, or
  a ``namespace/name`` that is not exactly two non-empty parts, is skipped. The third field
  ``PROXY`` (any case) makes the listener expect a PROXY protocol header from clients (decode),
  the fourth sends one to the backend (encode); both for TCP only (UDP ignores them);
* ``port`` is a Service port number, or a port name, of the Service's port with the
  ConfigMap's protocol (TCP or UDP); an entry whose Service (when the input holds Services) or
  port does not exist is skipped (no endpoints: "stream services cannot contain empty upstreams").

nginx then listens on the port (``listen PORT [proxy_protocol]``, ``udp`` for UDP) and proxies
every connection or datagram, bytes as they come (a TLS ClientHello included: nothing is
terminated), to the Service. A Gateway does this with a TCP (UDP) listener on the port and a
TCPRoute (UDPRoute) to the Service port, in the Service's namespace. PROXY protocol has no
Gateway API field: a decoding listener refuses clients that send no PROXY header (the model
says so and a note explains the difference), an encoding one sends the backend a header the
Gateway does not (a note; ``verify`` does not see the bytes a backend receives).
Every entry left out gets a one-line note naming the file, line, ConfigMap and key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ing2gw.dataplane import StreamModel
from ing2gw.ir import IR, BackendRef, GatewayRef, Listener, ListenerParent, Provenance, Route, Rule
from ing2gw.notes import Fidelity, Level, Note, Notes, stream_scope
from ing2gw.provider import ProviderContext
from ing2gw.resources import ResourceSet
from ing2gw.router.streams import Connection, StreamOutcome

__all__ = ["RESERVED_PORTS", "NginxStreams", "StreamEntry", "convert_stream_services", "nginx_streams",
           "read_stream_services", "stream_configmaps"]

# Ports the controller keeps for itself at its default flags: HTTP, HTTPS, the SSL passthrough
# proxy, the default server, the profiler, status and stream (Lua) ports, the health check.
RESERVED_PORTS = frozenset({80, 443, 442, 8181, 10245, 10246, 10247, 10254})
_ATOI = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi accepts
_STREAM_ASPECTS = frozenset({"status", "backend"})


def _conventional(name: str, proto: str) -> bool:
    suffix = proto.lower()
    return name in (f"{suffix}-services", f"ingress-nginx-{suffix}") or name.endswith(f"-ingress-nginx-{suffix}")


def stream_configmaps(resources: ResourceSet, proto: str) -> list[tuple[str, str]]:
    """(namespace, name) of the input's ConfigMaps named like the controller's ``proto``
    (``TCP``/``UDP``) services ConfigMap, sorted; the first is the one read."""
    return sorted(k for k in resources.config_maps if _conventional(k[1], proto))


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One entry the controller serves: ``protocol`` ``TCP`` or ``UDP`` on ``port`` to
    ``namespace/service:service_port``; ``decode``/``encode``: PROXY protocol from the client /
    to the backend; ``source``: the ConfigMap key it comes from."""

    protocol: Literal["TCP", "UDP"]
    port: int
    namespace: str
    service: str
    service_port: int
    decode: bool
    encode: bool
    source: Provenance

    @property
    def backend(self) -> str:
        return f"{self.namespace}/{self.service}:{self.service_port}"


@dataclass(frozen=True, slots=True)
class _Problem:
    key: str
    code: str
    level: Level
    fidelity: Fidelity
    message: str
    instead: str


def read_stream_services(resources: ResourceSet, proto: Literal["TCP", "UDP"],
                         configmap: tuple[str, str]) -> tuple[list[StreamEntry], list[_Problem]]:
    """The entries of one ConfigMap the controller serves (by port), and what it skips or
    ignores, each with the key it is about."""
    ns, name = configmap
    data = resources.config_maps[configmap]
    entries: dict[int, StreamEntry] = {}
    problems: list[_Problem] = []
    for key in sorted(data, key=lambda k: (not _ATOI.fullmatch(k), int(k) if _ATOI.fullmatch(k) else 0, k)):
        value = data[key]
        what = f"{proto} services entry {key}: {value!r}"

        def bad(why: str, code: str, level: Level = Level.ERROR, fidelity: Fidelity = Fidelity.EXACT,
                instead: str = "not converted (ingress-nginx skips it too)", k: str = key) -> None:
            problems.append(_Problem(k, code, level, fidelity, why, instead))

        if not _ATOI.fullmatch(key):
            bad(f"{what}: the key must be a port number", code="NGINX-STREAM-INVALID")
            continue
        port = int(key)
        if not 1 <= port <= 65535:
            bad(f"{what}: port {port} is out of range 1-65535 (nginx refuses to load it)", code="NGINX-STREAM-INVALID")
            continue
        if port in RESERVED_PORTS:
            bad(f"{what}: port {port} is reserved for the controller itself", code="NGINX-STREAM-RESERVED-PORT",
                level=Level.WARNING)
            continue
        fields = value.split(":")
        if len(fields) < 2:
            bad(f"{what}: expected namespace/service:port[:PROXY[:PROXY]]", code="NGINX-STREAM-INVALID")
            continue
        parts = fields[0].split("/")
        if len(parts) != 2 or not all(parts):
            bad(f"{what}: {fields[0]!r} is not namespace/service", code="NGINX-STREAM-INVALID")
            continue
        svc_ns, svc_name = parts
        decode = proto == "TCP" and len(fields) >= 3 and fields[2].upper() == "PROXY"
        encode = proto == "TCP" and len(fields) == 4 and fields[3].upper() == "PROXY"
        extra = fields[2:]
        if any(extra) and (proto == "UDP" or len(fields) > 4 or any(f.upper() not in ("", "PROXY") for f in extra)):
            why = "PROXY protocol is for TCP services only" if proto == "UDP" else \
                "only PROXY (decode) and PROXY (encode) are read after the port"
            bad(f"{what}: {':'.join(extra)!r} is ignored: {why}", code="NGINX-STREAM-FIELDS-IGNORED",
                level=Level.INFO, instead="ignored, as ingress-nginx ignores it")
        resolved = _service_port(resources, proto, svc_ns, svc_name, fields[1])
        if isinstance(resolved, str):
            if not _ATOI.fullmatch(fields[1]) and (svc_ns, svc_name) not in resources.services:
                bad(f"{what}: {resolved}", code="NGINX-STREAM-NAMED-PORT", fidelity=Fidelity.UNSUPPORTED,
                    instead="not converted (give the port number, or add the Service to the input)")
            else:
                bad(f"{what}: {resolved}", code="NGINX-STREAM-NO-SERVICE-PORT", level=Level.WARNING,
                    instead="not converted (ingress-nginx skips it too: no endpoints)")
            continue
        if port in entries:
            bad(f"{what}: port {port} is already taken by entry {entries[port].source.field[5:]} (nginx refuses to "
                "load two listeners on one port)", code="NGINX-STREAM-INVALID")
            continue
        entries[port] = StreamEntry(proto, port, svc_ns, svc_name, resolved, decode, encode,
                                    Provenance("ConfigMap", ns, name, f"data.{key}"))
    return [entries[p] for p in sorted(entries)], problems


def _service_port(resources: ResourceSet, proto: str, ns: str, name: str, port: str) -> int | str:
    """The Service port an entry names (a number or a name, of the ConfigMap's protocol), or
    why the controller finds none."""
    svc = resources.services.get((ns, name))
    numeric = _ATOI.fullmatch(port) is not None
    if svc is None:
        if resources.has_services:
            return f"Service {ns}/{name} is not in the input"
        if not numeric:
            return f"the named port {port!r} needs Service {ns}/{name} in the input to be resolved"
        return int(port) if 1 <= int(port) <= 65535 else f"port {port} is out of range 1-65535"
    for sp in svc.ports:
        if (sp.port == int(port) if numeric else sp.name == port) and sp.protocol == proto:
            return sp.port
    return f"Service {ns}/{name} has no {proto} port {port}"


def _gateway(ctx: ProviderContext, ingresses: Sequence[GatewayRef]) -> GatewayRef:
    """The Gateway of the controller's class: that of its Ingresses (``nginx`` when they
    use several classes or there are none)."""
    keys = sorted({g.key for g in ingresses})
    return ctx.gateway(keys[0] if len(keys) == 1 else "nginx")


def convert_stream_services(ir: IR, ctx: ProviderContext, gateways: Sequence[GatewayRef]) -> IR:
    """``ir`` plus the listeners and routes of the stream services ConfigMaps in the input."""
    listeners: list[Listener] = []
    routes: list[Route] = []
    gw = _gateway(ctx, gateways)
    for proto in ("TCP", "UDP"):
        for e in _read(ctx.resources, proto, ctx.notes):
            name = f"{proto.lower()}-{e.port}"
            prov = e.source
            listeners.append(Listener(gw, name, e.port, proto, source=prov))
            kind: Literal["TCPRoute", "UDPRoute"] = "TCPRoute" if proto == "TCP" else "UDPRoute"
            backend = BackendRef(e.service, e.namespace, e.service_port)
            routes.append(Route(kind, e.namespace, f"{e.service}-{name}", None, (), frozenset(),
                                (Rule(matches=(), backends=(backend,), provenance=(prov,)),), (prov,),
                                parents=(ListenerParent(gw, name),)))
            _note_proxy(ctx.notes, e)
    if not routes:
        return ir
    return replace(ir, routes=(*ir.routes, *routes), listeners=(*ir.listeners, *listeners))


def _where(resources: ResourceSet, configmap: tuple[str, str], key: str) -> str:
    """``file:line`` of a key of a ConfigMap's data (the ConfigMap's own line when unknown)."""
    doc = resources.config_map_docs.get(configmap)
    return doc.where(f"data.{key}") if doc is not None else ""


def _read(resources: ResourceSet, proto: Literal["TCP", "UDP"], notes: Notes) -> list[StreamEntry]:
    """The entries of the ``proto`` services ConfigMap of the input, with a note for the
    ConfigMap read and for each entry skipped or field ignored."""
    found = stream_configmaps(resources, proto)
    if not found:
        return []
    ns, name = found[0]
    subject = f"ConfigMap {ns}/{name}"
    flag = f"--{proto.lower()}-services-configmap"
    notes.add(Note(code="NGINX-STREAM-CONFIGMAP", level=Level.INFO, subject=subject,
                   origin=_where(resources, found[0], ""),
                   message=f"read as the controller's {flag} ({proto} services), found by its conventional name",
                   instead="converted to listeners and routes" if len(found) == 1 else
                   f"{len(found)} candidates ({', '.join(f'{a}/{b}' for a, b in found)}); the first is used"))
    entries, problems = read_stream_services(resources, proto, found[0])
    for p in problems:
        origin = _where(resources, found[0], p.key)
        notes.add(Note(code=p.code, level=p.level, subject=subject, field=f"data.{p.key}",
                       message=f"{origin}: {p.message}" if origin else p.message, fidelity=p.fidelity,
                       instead=p.instead, origin=origin))
    return [replace(e, source=replace(e.source, origin=_where(resources, found[0], e.source.field[5:])))
            for e in entries]


def _note_proxy(notes: Notes, e: StreamEntry) -> None:
    """PROXY protocol has no Gateway API field: say what the Gateway does instead."""
    if e.decode:
        notes.add(Note(
            code="NGINX-STREAM-PROXY-PROTOCOL", level=Level.WARNING, subject=e.source.subject, field=e.source.field,
            origin=e.source.origin, fidelity=Fidelity.UNSUPPORTED, aspects=_STREAM_ASPECTS,
            scope=(stream_scope("TCP", e.port), stream_scope("TLS", e.port)),
            message=f"port {e.port} expects a PROXY protocol header from clients (the load balancer in front "
                    "sends it) and closes connections without one; a Gateway TCP listener has no such setting",
            instead="converted without it: the Gateway forwards the PROXY header, if one comes, to the backend as "
                    "data (configure PROXY protocol on the implementation, or stop sending it)"))
    if e.encode:
        notes.add(Note(
            code="NGINX-STREAM-PROXY-PROTOCOL-UPSTREAM", level=Level.WARNING, subject=e.source.subject,
            field=e.source.field, origin=e.source.origin, fidelity=Fidelity.UNSUPPORTED,
            message=f"port {e.port} sends a PROXY protocol header to {e.backend}; a TCPRoute has no such setting",
            instead="converted without it: the backend no longer learns the client address that way (a backend "
                    "that requires the header refuses the connection)"))


class NginxStreams:
    """What ingress-nginx does with a connection: its TCP and UDP services (a port each,
    bytes proxied as they come) and, on the HTTPS port, its SSL passthrough hosts."""

    def __init__(self, entries: Sequence[StreamEntry], passthrough: StreamModel | None) -> None:
        self.tcp = {e.port: e for e in entries if e.protocol == "TCP"}
        self.udp = {e.port: e for e in entries if e.protocol == "UDP"}
        self.passthrough = passthrough

    def endpoints(self) -> list[Connection]:
        out = [Connection(e.protocol, e.port) for e in (*self.tcp.values(), *self.udp.values())]
        return sorted([*out, *(self.passthrough.endpoints() if self.passthrough else ())])

    def route(self, conn: Connection, /) -> StreamOutcome:
        family = self.udp if conn.protocol == "UDP" else self.tcp
        entry = family.get(conn.port)
        if entry is None:
            if self.passthrough is not None:
                return self.passthrough.route(conn)
            return StreamOutcome(None, f"no {'UDP' if conn.protocol == 'UDP' else 'TCP'} service on port {conn.port}")
        listener = f"ingress-nginx {entry.protocol.lower()} service :{entry.port}" + (
            " proxy_protocol" if entry.decode else "")
        route = entry.source.subject
        if entry.decode:
            return StreamOutcome(None, f"port {entry.port} expects a PROXY protocol header first: a client that "
                                       "sends none is closed", listener=listener, route=route)
        notes = (f"sends a PROXY protocol header to {entry.backend}",) if entry.encode else ()
        return StreamOutcome(entry.backend, "", "", None, ((entry.backend, 100),), listener, route, notes)


def nginx_streams(resources: ResourceSet, passthrough: StreamModel | None) -> StreamModel | None:
    """The model of the controller's stream services (with its SSL passthrough), or
    ``passthrough`` alone when the input has no stream services ConfigMap."""
    entries: list[StreamEntry] = []
    for proto in ("TCP", "UDP"):
        found = stream_configmaps(resources, proto)
        if found:
            entries += read_stream_services(resources, proto, found[0])[0]
    return NginxStreams(entries, passthrough) if entries else passthrough
