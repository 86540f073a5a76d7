"""``verify`` for stream (L4) routes: connections replayed through the source controller's
stream model and the reference stream router, differences explained by notes.

A provider's data plane that models its controller's stream routes offers
``streams(resources)`` (:class:`ing2gw.dataplane.StreamModel`); without it nothing here runs.
The probes (:func:`stream_probes`) start from the connections both sides name -- each stream
port of the source objects and of the Gateway's TCP, TLS and UDP listeners, each SNI (a
wildcard as a name one label under it and one two labels under it: certificates and routes
may cover those differently) -- and add, per TCP port, a connection without a ClientHello and
one whose SNI no rule names, and a TCP connection and a datagram to a port no rule uses. Each
goes through both sides (:class:`~ing2gw.router.streams.StreamOutcome`); outcomes differ in
``status`` (accepted or refused), ``backend``, ``weights`` or ``tls`` (terminated with which
certificate, passed through, or forwarded as it comes).

A note explains a stream difference when it declares the differing aspects and its scope
names the connection: ``(SNI or "*", "tls:PORT")`` for a ClientHello, ``("*", "tcp:PORT")``
for a plain connection, ``("*", "udp:PORT")`` for a datagram (:func:`ing2gw.notes.stream_scope`); as for
HTTP, only approximate, extension and unsupported notes (or warnings and errors) explain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .dataplane import StreamModel
from .notes import Fidelity, Level, Note
from .router.hostnames import host_matches
from .router.streams import STREAM_KINDS, Connection, StreamOutcome, StreamRouter, compare_streams
from .verify import Difference, VerifyReport

__all__ = ["DEEPER_LABEL", "UNKNOWN_SNI", "WILDCARD_LABEL", "replay_streams", "stream_probes"]

UNKNOWN_SNI = "unknown.ing2gw.invalid"  # an SNI no rule names
WILDCARD_LABEL, DEEPER_LABEL = "ing2gw-any", "ing2gw-deeper"  # names under a wildcard SNI
_EXPLAINING = (Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED)


def stream_probes(named: Iterable[Connection]) -> list[Connection]:
    """The connections to replay, from those the two sides name (sorted, no repeats); a
    wildcard SNI ``*.d`` stands for a name one label under ``d`` and one two labels under it."""
    out: set[Connection] = set()
    for c in named:
        if c.sni and c.sni.startswith("*."):
            out |= {Connection(c.protocol, c.port, f"{WILDCARD_LABEL}.{c.sni[2:]}"),
                    Connection(c.protocol, c.port, f"{DEEPER_LABEL}.{WILDCARD_LABEL}.{c.sni[2:]}")}
        else:
            out.add(c)
    tcp = {c.port for c in out if c.protocol != "UDP"}
    udp = {c.port for c in out if c.protocol == "UDP"}
    for port in tcp:
        out |= {Connection("TCP", port), Connection("TLS", port, UNKNOWN_SNI)}
    if out:
        used = tcp | udp
        free = max(used) + 1 if max(used) < 65535 else min(set(range(1, 65536)) - used)
        out.add(Connection("TCP", free))
        if udp:
            out.add(Connection("UDP", free))
    return sorted(out)


def _route_sources(manifests: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """``Kind ns/name`` of each stream route -> the objects it was made from."""
    out: dict[str, tuple[str, ...]] = {}
    for m in manifests:
        if m.get("kind") not in STREAM_KINDS:
            continue
        meta = m.get("metadata") or {}
        src = str((meta.get("annotations") or {}).get("ing2gw.io/source", ""))
        out[f"{m['kind']} {meta.get('namespace') or 'default'}/{meta.get('name', '')}"] = \
            tuple(s for s in src.split(", ") if " " in s)
    return out


def _explaining(notes: Sequence[Note], conn: Connection, aspects: Sequence[str]) -> tuple[Note, ...]:
    """The most precise notes that together explain ``aspects`` of ``conn`` (none when they
    cannot): those about its very SNI first, then about a wildcard covering it, then about
    every connection of its protocol to its port, each level added only while an aspect is open."""
    path = f"{conn.protocol.lower()}:{conn.port}"
    sni = (conn.sni or "").lower()
    wanted = set(aspects)
    levels: dict[int, list[Note]] = {}
    for n in notes:
        if not n.aspects & wanted:
            continue
        if n.fidelity not in _EXPLAINING and n.level is not Level.WARNING and n.level is not Level.ERROR:
            continue
        level = max((2 if h == sni else 1 if sni and h.startswith("*.") and host_matches(h, sni) else
                     0 if h == "*" else -1 for h, p in n.scope if p == path), default=-1)
        if level >= 0:
            levels.setdefault(level, []).append(n)
    found: list[Note] = []
    covered: set[str] = set()
    for level in sorted(levels, reverse=True):
        found += levels[level]
        covered.update(*(n.aspects for n in levels[level]))
        if wanted <= covered:
            return tuple(found)
    return ()


def replay_streams(report: VerifyReport, manifests: Sequence[Mapping[str, Any]], model: StreamModel,
                   notes: Iterable[Note]) -> None:
    """Replay the stream probes through ``model`` and the router over ``manifests``; count
    them in ``report`` and add the differences."""
    router = StreamRouter.from_manifests(manifests)
    probes = stream_probes([*model.endpoints(), *router.endpoints()])
    sources = _route_sources(manifests)
    explaining = list(dict.fromkeys(notes))
    for conn in probes:
        a, b = model.route(conn), router.route(conn)
        report.requests += 1
        aspects = compare_streams(a, b)
        if not aspects:
            report.agree += 1
            continue
        involved = {*([a.route] if a.route else []), *(sources.get(b.route, ()) if b.route else ())}
        report.add(Difference(
            request={"method": conn.protocol, "url": conn.url, "headers": {}},
            source=_shown(a), gateway=_shown(b), aspects=aspects, ingresses=tuple(sorted(involved)),
            explained_by=_explaining(explaining, conn, aspects), origin="generated (stream)"))


def _shown(outcome: StreamOutcome) -> dict[str, Any]:
    """An outcome as a difference shows it (without the router's assumption notes)."""
    shown = outcome.to_dict()
    shown.pop("notes", None)
    return shown
