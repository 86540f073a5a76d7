"""The reference Gateway API decision for stream (L4) connections: TCPRoute, TLSRoute, UDPRoute.

A :class:`Connection` is what a client opens: ``TCP`` (bytes, no TLS ClientHello the data
plane reads), ``TLS`` (a ClientHello, with an SNI or none) or ``UDP`` (a datagram), to a
destination port. :class:`StreamRouter` compiles Gateways and stream routes once and answers
each connection with a :class:`StreamOutcome`: the backend, or why the connection is refused.
The decision follows the spec (``docs/gateway-api-semantics.md`` §2-§3, the v1.6 CRDs):

* listeners: TCP and HTTP/HTTPS/TLS listeners share the TCP port space, UDP listeners have
  their own; two protocols on one port (but HTTPS beside TLS: the SNI tells them apart) and two
  listeners with one port, protocol and hostname are Conflicted and left out (no winner is
  picked). A TLS listener needs ``tls.mode``; in Terminate mode a
  usable certificateRef (ReferenceGrant for another namespace), which it presents;
* listener selection: a UDP datagram goes to the UDP listener of its port; a TCP listener takes
  every connection to its port (a ClientHello is forwarded as it comes); otherwise the SNI picks
  among the TLS and HTTPS listeners of the port -- an exact hostname, then the wildcard with the
  most labels, then the listener without one. An HTTPS listener chosen so belongs to the HTTP
  router (:mod:`.matcher`); a plain connection to a port of TLS listeners fails its handshake.
  Listeners of several Gateways on one port are taken as one set (the first Gateway by
  namespace and name wins a tie);
* ListenerSets (``gateway.networking.k8s.io`` ``ListenerSet``) that their parent Gateway's
  ``allowedListeners`` admits add their listeners to it, as for the HTTP table: a listener
  whose port, protocol family and hostname the Gateway (or an earlier set, by namespace and
  name) has already, or that puts another protocol on one of its ports, is left out (noted);
* attachment: parentRefs to a Gateway or a ListenerSet (``sectionName``, ``port``), ``allowedRoutes`` (namespaces
  and kinds: TCP takes TCPRoute, UDP UDPRoute, TLS TLSRoute and, when named in ``kinds``, a
  TCPRoute), and for a TLSRoute its hostnames intersected with the listener's;
* route selection on a listener: a TLSRoute whose effective hostname matches the SNI, the
  most specific first; a TCPRoute or UDPRoute takes every connection. Routes that tie are taken
  oldest first, then by namespace and name (the API's conflict rule);
* backends: the rule's backendRefs; the largest weight share is reported (a deterministic
  router), and refused when that backend is invalid (the spec rejects connections to an
  invalid backend in proportion to its weight) or when no backend has weight.

Malformed objects raise :class:`~ing2gw.errors.InputError` naming file, line and object, as
the HTTP table does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.errors import UsageError
from ing2gw.yamlio import Document

from .hostnames import host_matches
from .inventory import GATEWAY_GROUP, Inventory, Obj, map_of, maps_of, parent_target, seq_of, str_of, to_objects
from .listeners import ListenerSpec, attach, distinct, listener_certificate, listener_set_parent, parse_listeners
from .model import Backend
from .rules import resolve_backend
from .table import protocols_differ

__all__ = ["STREAM_KINDS", "STREAM_SCHEMES", "Connection", "StreamOutcome", "StreamRouter", "compare_streams"]

STREAM_KINDS = ("TCPRoute", "TLSRoute", "UDPRoute")
STREAM_SCHEMES = ("tcp", "tls", "udp")  # URL schemes of connections (``ing2gw route tls://SNI:PORT``)


@dataclass(frozen=True, slots=True, order=True)
class Connection:
    """A connection to the Gateway: ``protocol`` ``TCP``, ``TLS`` or ``UDP``, the destination
    ``port``, and the ClientHello's SNI (``TLS`` only; None: a ClientHello without one). A
    data plane's ``endpoints`` may name a wildcard SNI (``*.example.com``): probes stand for it
    with names under it."""

    protocol: str
    port: int
    sni: str | None = None

    @property
    def url(self) -> str:
        """``tcp://:9000``, ``tls://db.example.com:9443``, ``udp://:53``."""
        return f"{self.protocol.lower()}://{self.sni or ''}:{self.port}"

    @classmethod
    def from_url(cls, url: str, port: int | None = None) -> Connection:
        """``tls://SNI:PORT`` (``tls://:PORT``: a ClientHello without SNI), ``tcp://[HOST]:PORT``
        or ``udp://[HOST]:PORT`` (the host of TCP and UDP is not seen by the data plane);
        ``port`` overrides the URL's. A malformed URL is a :class:`~ing2gw.errors.UsageError`."""
        scheme, sep, rest = url.partition("://")
        protocol = scheme.upper()
        host, colon, digits = rest.rstrip("/").rpartition(":")
        if not colon:
            host, digits = rest.rstrip("/"), ""
        if not sep or protocol not in ("TCP", "TLS", "UDP") or "/" in host:
            raise UsageError(f"{url!r}: expected tcp://[HOST]:PORT, tls://SNI:PORT or udp://[HOST]:PORT")
        if port is None:
            if not digits.isdigit() or not 1 <= int(digits) <= 65535:
                raise UsageError(f"{url!r}: a stream URL needs a port (1-65535), e.g. {scheme}://example.com:9443")
            port = int(digits)
        return cls(protocol, port, host.lower() or None if protocol == "TLS" else None)


@dataclass(frozen=True, slots=True)
class StreamOutcome:
    """What a data plane does with a connection. ``backend`` ``ns/name:port`` (None: refused,
    ``reason`` says why); ``tls``: ``terminate`` (the data plane completes the handshake,
    presenting ``certificate``, a Secret ``ns/name``, or a controller's own ``default``),
    ``passthrough`` (the ClientHello read, the stream forwarded encrypted) or ``""`` (bytes
    forwarded as they come); ``weights``: each backend's share in whole percent when the rule
    splits traffic; ``listener`` and ``route`` name what took it (a Gateway listener and a
    ``Kind ns/name`` route, or a controller's own port and source object)."""

    backend: str | None
    reason: str = ""
    tls: str = ""
    certificate: str | None = None
    weights: tuple[tuple[str, int], ...] = ()
    listener: str | None = None
    route: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def served(self) -> bool:
        return self.backend is not None

    def summary(self) -> dict[str, Any]:
        """The parts two data planes must agree on: accepted or refused; when accepted the
        backend, the TLS handling (with the certificate when terminated) and the weights."""
        if not self.served:
            return {"status": "refused"}
        tls = f"terminate ({self.certificate})" if self.tls == "terminate" else self.tls or "none"
        out: dict[str, Any] = {"status": "accepted", "backend": self.backend, "tls": tls}
        if len(self.weights) > 1:
            out["weights"] = dict(self.weights)
        return out

    def text(self) -> str:
        """A short human-readable rendering (``ing2gw route``)."""
        if not self.served:
            lines = [f"refused: {self.reason}"]
        else:
            lines = [f"accepted: {self.backend}", f"tls: {self.summary()['tls']}"]
            if len(self.weights) > 1:
                lines.append("weights: " + ", ".join(f"{k} {v}%" for k, v in self.weights))
        lines += [f"{k}: {v}" for k, v in (("listener", self.listener), ("route", self.route)) if v]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), **({"reason": self.reason} if self.reason else {}),
                **({"listener": self.listener} if self.listener else {}),
                **({"route": self.route} if self.route else {}),
                **({"notes": list(self.notes)} if self.notes else {})}


def compare_streams(a: StreamOutcome, b: StreamOutcome) -> tuple[str, ...]:
    """The aspects (:data:`ing2gw.notes.ASPECTS` names) in which two outcomes differ."""
    x, y = a.summary(), b.summary()
    if x["status"] != y["status"]:
        return ("status",)
    return tuple(k for k in ("backend", "weights", "tls") if x.get(k) != y.get(k))


@dataclass(slots=True)
class _Route:
    kind: str
    ref: str
    order: tuple[str, str, str]  # creation time ("~" unknown), namespace, name
    hostnames: list[str | None]  # effective hostnames on the listener (TLSRoute; [None]: any)
    backends: tuple[Backend, ...]
    notes: tuple[str, ...]


@dataclass(slots=True)
class _Listener:
    spec: ListenerSpec
    mode: str  # TLS listeners: Terminate or Passthrough
    certificate: str | None
    problem: str | None
    routes: list[_Route] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.spec.gateway.ref}/{self.spec.name}"


def _specificity(hostname: str | None) -> tuple[int, int]:
    """Exact names first, then wildcards by their number of labels, then no hostname."""
    if hostname is None:
        return (0, 0)
    if hostname.startswith("*."):
        return (1, hostname.count("."))
    return (2, 0)


class StreamRouter:
    """Gateway listeners of protocol TCP, TLS and UDP with their routes, compiled once."""

    def __init__(self, listeners: Sequence[_Listener], http_listeners: Sequence[ListenerSpec],
                 notes: Iterable[str]) -> None:
        self.by_port: dict[tuple[str, int], list[_Listener]] = {}  # ("TCP"|"UDP", port) -> listeners
        for ls in listeners:
            family = "UDP" if ls.spec.protocol == "UDP" else "TCP"
            self.by_port.setdefault((family, ls.spec.port), []).append(ls)
        self.https: dict[int, list[ListenerSpec]] = {}
        for spec in http_listeners:
            if spec.protocol == "HTTPS":
                self.https.setdefault(spec.port, []).append(spec)
        self.notes = tuple(sorted(set(notes)))

    @classmethod
    def from_manifests(cls, manifests: Iterable[Mapping[str, Any] | Document],
                       strict_refs: bool = False) -> StreamRouter:
        pairs: list[tuple[Mapping[str, Any], str]] = []
        for i, item in enumerate(manifests):
            pairs.append((item.obj, item.origin) if isinstance(item, Document) else (item, f"<input>:{i + 1}"))
        return _compile(Inventory(to_objects(pairs), strict_refs))

    def endpoints(self) -> list[Connection]:
        """A connection per stream listener and per hostname its listeners and TLSRoutes
        name (a wildcard as it is written, ``*.example.com``): what probes start from."""
        out: set[Connection] = set()
        for (family, port), listeners in self.by_port.items():
            for ls in listeners:
                if ls.spec.protocol in ("TCP", "UDP"):
                    out.add(Connection(family, port))
                    continue
                names = [ls.spec.hostname, *(h for r in ls.routes for h in r.hostnames)]
                for name in names:
                    if name is not None:
                        out.add(Connection("TLS", port, name))
        return sorted(out)

    def route(self, conn: Connection) -> StreamOutcome:
        if conn.protocol == "UDP":
            listeners = self.by_port.get(("UDP", conn.port), [])
            return self._serve(listeners[0], conn) if listeners else StreamOutcome(
                None, f"no UDP listener on port {conn.port}")
        listeners = self.by_port.get(("TCP", conn.port), [])
        tcp = [ls for ls in listeners if ls.spec.protocol == "TCP"]
        if tcp:
            return self._serve(tcp[0], conn)
        if conn.protocol != "TLS":
            if listeners:
                return StreamOutcome(None, f"port {conn.port} has TLS listeners only: a connection without a TLS "
                                           "ClientHello fails the handshake")
            return StreamOutcome(None, f"no TCP or TLS listener on port {conn.port}")
        sni = (conn.sni or "").lower()
        best: tuple[tuple[int, int], str, ListenerSpec, _Listener | None] | None = None
        for ls in listeners:
            if (ls.spec.hostname is None or (sni and host_matches(ls.spec.hostname, sni))):
                cand = (_specificity(ls.spec.hostname), ls.key, ls.spec, ls)
                if best is None or cand[0] > best[0]:
                    best = cand
        for spec in self.https.get(conn.port, ()):
            if spec.hostname is None or (sni and host_matches(spec.hostname, sni)):
                if best is None or _specificity(spec.hostname) > best[0]:
                    best = (_specificity(spec.hostname), f"{spec.gateway.ref}/{spec.name}", spec, None)
        if best is None:
            return StreamOutcome(None, f"no TLS listener on port {conn.port} matches SNI {sni or '(none)'}")
        if best[3] is None:
            return StreamOutcome(None, f"HTTPS listener {best[1]} takes SNI {sni or '(none)'}: HTTP routing",
                                 listener=best[1])
        return self._serve(best[3], conn)

    def _serve(self, ls: _Listener, conn: Connection) -> StreamOutcome:
        tls = {"Terminate": "terminate", "Passthrough": "passthrough"}.get(ls.mode, "")
        if ls.problem:
            return StreamOutcome(None, f"listener {ls.key}: {ls.problem}", listener=ls.key)
        sni = (conn.sni or "").lower()
        chosen: _Route | None = None
        rank: tuple[tuple[int, int], tuple[str, str, str]] | None = None
        for r in ls.routes:
            for h in r.hostnames:
                if r.kind == "TLSRoute" and h is not None and not (sni and host_matches(h, sni)):
                    continue
                # most specific hostname first, then the oldest route (negated for max())
                key = (_specificity(h) if r.kind == "TLSRoute" else (-1, 0), r.order)
                if rank is None or key[0] > rank[0] or (key[0] == rank[0] and key[1] < rank[1]):
                    chosen, rank = r, key
        if chosen is None:
            return StreamOutcome(None, f"no route on listener {ls.key} takes "
                                       f"{'SNI ' + (sni or '(none)') if ls.spec.protocol == 'TLS' else 'it'}",
                                 listener=ls.key)
        route = f"{chosen.kind} {chosen.ref}"
        total = sum(b.weight for b in chosen.backends)
        if total == 0:
            return StreamOutcome(None, f"{route}: no backend has weight", listener=ls.key, route=route)
        pick = max(chosen.backends, key=lambda b: b.weight)  # the first of the largest share
        weights = tuple((b.key, round(100 * b.weight / total)) for b in chosen.backends if b.weight)
        if pick.problem:
            return StreamOutcome(None, f"{route}: backend {pick.key}: {pick.problem}: {pick.detail}",
                                 listener=ls.key, route=route)
        return StreamOutcome(pick.key, "", tls, ls.certificate if tls == "terminate" else None, weights, ls.key,
                             route, chosen.notes + pick.notes)


_STREAM_SIDE = ("TCP", "TLS", "UDP", "HTTPS")  # the listeners the stream router keeps (HTTPS: beside TLS)


def _distinct(gw: Obj, specs: list[ListenerSpec], notes: set[str], every: bool = False) -> list[ListenerSpec]:
    """The listeners of a Gateway or ListenerSet that are distinct (UDP ports apart): the
    stream and HTTPS ones, or with ``every`` those of every protocol."""
    by_port: dict[tuple[str, int], list[ListenerSpec]] = {}
    for ls in specs:
        by_port.setdefault((_family(ls), ls.port), []).append(ls)
    return [ls for (_, port), group in sorted(by_port.items()) for ls in distinct(gw, port, group, notes)
            if every or ls.protocol in _STREAM_SIDE]


def _stream_listener(gw: Obj, ls: ListenerSpec, index: int, inv: Inventory, notes: list[str]) -> _Listener:
    where = f"spec.listeners[{index}]"
    tls = map_of(gw, (ls.raw or {}).get("tls"), f"{where}.tls")
    if ls.protocol in ("TCP", "UDP"):
        return _Listener(ls, "", None, "tls is not allowed on a TCP or UDP listener" if tls else None)
    mode = str_of(gw, tls.get("mode"), f"{where}.tls.mode") or ""
    if mode == "Passthrough":
        return _Listener(ls, mode, None, None)
    if mode != "Terminate":
        return _Listener(ls, mode, None, f"TLS listener needs tls.mode Terminate or Passthrough, not {mode!r}")
    cert, problem = listener_certificate(gw, "TLS", tls, where, inv, notes)
    return _Listener(ls, mode, cert, problem)


def _family(ls: ListenerSpec) -> str:
    return "UDP" if ls.protocol == "UDP" else "TCP"


def _compile(inv: Inventory) -> StreamRouter:
    notes: set[str] = set()
    listeners: dict[tuple[str, str], list[_Listener]] = {}  # (parent kind, ns/name) -> its stream listeners
    https: list[ListenerSpec] = []

    def add(parent: Obj, specs: list[ListenerSpec], kept: list[ListenerSpec]) -> None:
        index = {id(ls): i for i, ls in enumerate(specs)}
        for ls in kept:
            if ls.protocol == "HTTPS":
                https.append(ls)
                continue
            lnotes: list[str] = []
            listeners.setdefault((parent.kind, parent.ref), []).append(
                _stream_listener(parent, ls, index[id(ls)], inv, lnotes))
            notes.update(lnotes)

    own: dict[str, list[ListenerSpec]] = {}  # each Gateway's distinct listeners, every protocol
    for gw in inv.of_kind(GATEWAY_GROUP, "Gateway"):
        specs = parse_listeners(gw, inv, notes)
        own[gw.ref] = _distinct(gw, specs, notes, every=True)
        add(gw, specs, [ls for ls in own[gw.ref] if ls.protocol in _STREAM_SIDE])
    # ListenerSets the parent Gateway admits: their listeners join it, as for the HTTP table (the
    # Gateway's own listener -- then the earlier set's -- wins a port, protocol family and hostname)
    for lset in sorted(inv.of_kind(GATEWAY_GROUP, "ListenerSet"), key=lambda o: o.ref):
        parent = listener_set_parent(lset, inv, notes)
        if parent is None:
            continue
        specs = parse_listeners(lset, inv, notes)
        claimed = own.setdefault(parent, [])
        kept = []
        for ls in _distinct(lset, specs, notes, every=True):
            if any(_family(o) == _family(ls) and o.port == ls.port and (
                    o.hostname == ls.hostname or protocols_differ([o], ls)) for o in claimed):
                notes.add(f"ListenerSet {lset.ref} listener {ls.name}: conflicts with Gateway {parent}; left out")
                continue
            claimed.append(ls)
            kept.append(ls)
        add(lset, specs, [ls for ls in kept if ls.protocol in _STREAM_SIDE])
    for kind in STREAM_KINDS:
        for o in inv.of_kind(GATEWAY_GROUP, kind):
            _attach(o, listeners, inv, notes)
    return StreamRouter([ls for _, group in sorted(listeners.items()) for ls in group], https, notes | inv.notes)


def _attach(o: Obj, listeners: Mapping[tuple[str, str], list[_Listener]], inv: Inventory, notes: set[str]) -> None:
    spec = map_of(o, o.body.get("spec"), "spec")
    hostnames = [str(h).lower().rstrip(".") for h in seq_of(o, spec.get("hostnames"), "spec.hostnames")]
    rules = maps_of(o, spec.get("rules"), "spec.rules")
    if len(rules) != 1:
        notes.add(f"{o.kind} {o.ref}: needs exactly one rule, has {len(rules)}; not attached")
        return
    refs = maps_of(o, rules[0].get("backendRefs"), "spec.rules[0].backendRefs")
    backends = tuple(resolve_backend(o, ref, f"spec.rules[0].backendRefs[{i}]", inv) for i, ref in enumerate(refs))
    order = (o.created or "~", o.namespace, o.name)
    for k, pref in enumerate(maps_of(o, spec.get("parentRefs"), "spec.parentRefs")):
        where = f"spec.parentRefs[{k}]"
        parent_kind = str(pref.get("kind") or "Gateway")
        if (pref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP or parent_kind not in ("Gateway", "ListenerSet"):
            notes.add(f"{o.kind} {o.ref}: parentRef {k} is not a Gateway or ListenerSet; ignored")
            continue
        gw_ref, section, port = parent_target(o, pref, where)
        found = False
        for ls in listeners.get((parent_kind, gw_ref), ()):
            if (section is not None and ls.spec.name != section) or (port is not None and ls.spec.port != port):
                continue
            if o.kind == "TCPRoute" and ls.spec.protocol == "TLS" and ls.mode != "Terminate":
                continue
            result = attach(o, ls.spec, hostnames if o.kind == "TLSRoute" else [], inv)
            if result is None:
                continue
            found = True
            if all(r.ref != o.ref or r.kind != o.kind for r in ls.routes):
                ls.routes.append(_Route(o.kind, o.ref, order, result[0], backends,
                                        tuple(n for n in result[1] if n)))
        if not found:
            notes.add(f"{o.kind} {o.ref}: parentRef {k} ({gw_ref}) attaches to no listener")
