"""The state one serving process shares between its connections, and how a routed
request becomes bytes.

Each request is parsed strictly (:mod:`.http1`), handed to the reference router, and then
carried out exactly as the :class:`~ing2gw.router.Outcome` says: answers the router gives
itself (redirects, CORS preflights, 404/500...) are sent directly (:meth:`Front.decide`); a
routed request goes to the backend that the rule's weights pick, with the upstream method,
Host, path and headers the filters produced, hop-by-hop fields removed and
``X-Forwarded-For/-Proto/-Host`` set (:meth:`Front.upstream_parts`). When the rule's
filters touch responses the router is asked a second time with the backend's response
headers, so response filters are the router's too (:meth:`Front.response_head`).

The proxy never matches anything itself: the only decision it adds is the weighted pick
among the rule's backendRefs (a deterministic router always names the largest share).

Two paths, one behaviour: :mod:`.client` serves a connection from the socket's callbacks
and forwards plain requests as an :mod:`.exchange`; anything else is lent to a coroutine of
:mod:`.relay`. Deadlines of both paths are kept by one coarse sweeper here rather than a
timer per request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from ing2gw.enforce.guard import Guard
from ing2gw.enforce.timeouts import route_limits
from ing2gw.http import Headers, MeshSource, QueryParams, Request, split_host_port
from ing2gw.router import Outcome, Router, Upstream
from ing2gw.router.outcome import RuleInfo

from .channel import Channel
from .http1 import (
    HOP_BY_HOP,
    RequestHead,
    ResponseHead,
    encode_head,
    reason_phrase,
)
from .limits import Limits, parse_duration
from .relay import Relay
from .topology import Topology
from .upstream import BackendURL, Pool

__all__ = ["Front"]

log = logging.getLogger("ing2gw.proxy")

_NO_BODY_STATUS = (204, 304)
_REQUEST_DROP = HOP_BY_HOP | {"host", "content-length", "expect", "x-forwarded-proto",
                              "x-forwarded-host"}
_RESPONSE_DROP = HOP_BY_HOP | {"content-length"}


CACHE_ENTRIES = 512  # per cache; full caches start over
CACHE_HEAD_BYTES = 4096  # larger heads are not remembered
RouteKey = tuple[bytes, int, str, "str | None"]


def remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[key] = value


class Connection(Protocol):
    """A client connection, as the server's shutdown sees it."""

    def shut(self) -> None: ...


class Watch:
    """The deadline of the step a connection is waiting in (0: none; :func:`time.monotonic`
    seconds, the clock of asyncio's loop, read directly because asking asyncio for the
    running loop costs a system call per call on Python 3.11), checked by the sweeper. When a
    coroutine serves the connection (``task``) the sweeper cancels it and ``fired`` marks
    that cancellation; otherwise it calls ``expire``."""

    __slots__ = ("task", "deadline", "fired", "expire")

    def __init__(self, deadline: float, expire: Callable[[], None]) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.deadline = deadline
        self.fired = False
        self.expire = expire


class Forward(NamedTuple):
    """How a routed head is forwarded on the fast path, when that depends on the head alone
    (no policy applies, no weighted pick, no body): decided by :class:`~.client.Client` the
    first time and remembered with the head, so a repeated head skips the decision."""

    key: str  # the backendRef
    url: BackendURL
    outcome: Outcome  # after the CORS policy's say
    parts: tuple[bytes, str | None, bytes]  # the upstream head around X-Forwarded-For
    whole: float | None  # the limit of the whole exchange (seconds)
    plain: bool  # no response filter or policy header: the response head depends on the backend's alone


class RuleForward(NamedTuple):
    """What :class:`Forward` takes from the matched rule when the rule alone decides it
    (:meth:`Front.rule_forward`)."""

    key: str
    url: BackendURL
    whole: float | None
    plain: bool


class Routed:
    """A parsed and routed head (remembered per distinct head), and its :class:`Forward`
    once decided."""

    __slots__ = ("head", "request", "outcome", "forward")

    def __init__(self, head: RequestHead, request: Request, outcome: Outcome) -> None:
        self.head = head
        self.request = request
        self.outcome = outcome
        self.forward: Forward | None = None


def client_request(head: RequestHead, scheme: str, port: int, sni: str | None, mesh: str | None = None) -> Request:
    """The request the router sees: the method as sent and only the end-to-end header
    fields; with ``mesh`` (the client's namespace) an east-west request to the Service its
    Host names, as a sidecar routes HTTP by the authority. Hop-by-hop fields, and every
    field the client names in ``Connection``, are removed here, before any filter runs, so
    that a client cannot delete a header a filter adds (``Connection: X-Route``). Built
    directly (the head is already validated); the headers and the hostname are built once
    per distinct fields and Host (both immutable)."""
    path, _, query = head.target.partition("?")
    fields = head.headers
    headers = _HEADERS.get(fields)
    if headers is None:
        headers = Headers.of_fields(fields, head.hop_by_hop)
        remember(_HEADERS, fields, headers)
    hostname = _HOSTNAMES.get(head.host)
    if hostname is None:
        hostname = split_host_port(head.host)[0]
        remember(_HOSTNAMES, head.host, hostname)
    if sni is None and scheme == "https":
        sni = hostname
    return Request(head.method, scheme, head.host, port, path.partition("#")[0] or "/", query,
                   headers, sni, None, hostname, QueryParams(query) if query else {},
                   mesh=None if mesh is None else MeshSource(mesh, head.host))


# the hop-by-hop names depend on the fields alone (Connection), so the fields are the key
_HEADERS: dict[tuple[tuple[str, str], ...], Headers] = {}
_HOSTNAMES: dict[str, str] = {}


def _fields(headers: Headers, drop: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    return [(name, value) for name in headers if name.lower() not in drop
            for value in headers.get_all(name)]


class Front:
    """The state shared by every connection of one serving process."""

    def __init__(
        self,
        router: Router,
        topology: Topology,
        backends: Mapping[str, BackendURL],
        limits: Limits,
        *,
        split: bool = True,
        seed: int | None = None,
        access_log: bool = False,
        guard: Guard | None = None,
        client_header: str | None = None,
        mesh: str | None = None,
    ) -> None:
        self.router = router
        self.mesh = mesh  # east-west: the client namespace every request comes from
        self.guard = guard  # policies enforced after routing (per request: never remembered)
        self.client_header = client_header.lower() if client_header else None
        self.topology = topology
        self.backends = dict(backends)
        self.limits = limits
        self.split = split
        self.rng = random.Random(seed)
        self.access_log = access_log
        self.pool = Pool(limits.connect_timeout)
        self._deadlines: dict[int, tuple[float | None, float | None, float | None]] = {}
        self.mirrors: set[asyncio.Task[None]] = set()
        self.warned: set[str] = set()
        self.watches: set[Watch] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Parsing and routing are pure functions of the head's bytes (and the listener), and
        # so is the response head sent on for a backend's head: remember recent results so
        # that the repeated heads of kept-alive clients cost one lookup.
        self.routes: dict[RouteKey, Routed] = {}
        self.answers: dict[tuple[bytes, str, bool, str], tuple[ResponseHead, bytes, bool]] = {}
        self.upstream_fields: dict[tuple[int, str, str, str, int | None],
                                   tuple[Headers, bytes, str | None, bytes]] = {}
        self.rule_forwards: dict[int, tuple[RuleInfo, RuleForward | None]] = {}
        self.clients: set[Connection] = set()
        self.relay = Relay(self)
        self._capacity_logged = 0.0

    def over_capacity(self) -> None:
        """A connection beyond ``max_connections`` was refused (logged once a second)."""
        now = time.monotonic()
        if now - self._capacity_logged >= 1.0:
            self._capacity_logged = now
            log.warning("more than %d client connections: new ones are closed",
                        self.limits.max_connections)

    def close(self) -> None:
        for client in list(self.clients):
            client.shut()
        self.pool.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in self.mirrors:
            task.cancel()

    # -- deadlines -------------------------------------------------------------------------

    def watch(self, watch: Watch) -> None:
        self.watches.add(watch)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        """Cancel connections whose deadline passed. One coarse periodic check instead of a
        timer per request keeps the hot path cheap; precise limits (route timeouts) use
        ``asyncio.timeout`` instead."""
        tick = max(0.02, min(0.5, self.limits.header_timeout / 8))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for w in list(self.watches):
                if w.deadline and now >= w.deadline and not w.fired:
                    if w.task is not None:
                        w.fired = True
                        w.task.cancel()
                    else:
                        w.deadline = 0.0
                        w.expire()

    def refuse(self, writer: Channel, client: str, status: int, message: str) -> None:
        log.warning("%s: %d %s", client, status, message)
        self.answer(writer, status, f"{status} {reason_phrase(status)}: {message}\n",
                     keep_alive=False)

    def answer(
        self,
        writer: Channel,
        status: int,
        text: str,
        *,
        keep_alive: bool,
        headers: list[tuple[str, str]] | None = None,
        head_only: bool = False,
    ) -> None:
        body = text.encode()
        fields = list(headers or ())
        if body:
            fields.append(("content-type", "text/plain; charset=utf-8"))
        fields.append(("content-length", str(len(body))))
        if not keep_alive:
            fields.append(("connection", "close"))
        data = encode_head(f"HTTP/1.1 {status} {reason_phrase(status)}", fields)
        writer.write(data if head_only else data + body)

    # -- one request -----------------------------------------------------------------------

    def decide(self, head: RequestHead, outcome: Outcome, writer: Channel, client: str,
                start: float) -> bool | tuple[str, BackendURL] | None:
        """Answer what the router answers itself (the result: whether the connection may
        carry another request; ``None``: close it without an answer), or name the backend
        to forward to."""
        keep = head.keep_alive and head.body == 0
        head_only = head.method == "HEAD"
        if outcome.status is None:  # fails below HTTP (e.g. no listener for the SNI)
            log.warning("%s: %s %s%s: %s; connection closed", client, head.method, head.host,
                        head.target, "; ".join(outcome.notes) or outcome.reason)
            return None
        if outcome.redirect is not None:
            self.answer(writer, outcome.status, "", keep_alive=keep, head_only=head_only,
                         headers=[("location", outcome.redirect.location)])
            self.log_request(client, head, outcome.status, outcome.reason, None, start)
            return keep
        if not outcome.served or outcome.upstream is None:
            text = "" if outcome.reason == "CORSPreflight" else \
                f"{outcome.status} {outcome.reason}" + "".join(f"\n{n}" for n in outcome.notes) + "\n"
            self.answer(writer, outcome.status, text, keep_alive=keep, head_only=head_only,
                         headers=_fields(outcome.response_headers, frozenset()))
            self.log_request(client, head, outcome.status, outcome.reason, None, start)
            return keep
        key = self._pick(outcome)
        problem = None if key == outcome.backend else self.topology.backend_problem(outcome.rule,
                                                                                    key)
        if problem is not None:
            self.answer(writer, 500, f"500 {problem}\n", keep_alive=keep, head_only=head_only)
            self.log_request(client, head, 500, "InvalidBackend", key, start)
            return keep
        url = self.backends.get(key)
        if url is None:
            self.answer(writer, 503, f"503 no address for backend {key}: map the Service with "
                         f"--backend {key}=http://HOST:PORT, or use --echo-backends\n",
                         keep_alive=keep, head_only=head_only)
            self.log_request(client, head, 503, "BackendUnmapped", key, start)
            return keep
        return key, url

    def rule_forward(self, outcome: Outcome) -> RuleForward | None:
        """How a routed outcome is forwarded when everything :meth:`decide`, the policies and
        the limits say about it depends on its rule alone (``None``: it does not, or the
        request is not a plain forward): a backend without a weighted pick, an http address,
        no policy to enforce or response header to add, no retry, mirror or timeout other
        than the default. Decided once per rule, so a head not seen before skips those steps
        (the caller checks the head: no body, no ``Expect``)."""
        info = outcome.rule
        if info is None or not outcome.served or outcome.upstream is None or outcome.mirrors \
                or outcome.redirect is not None or outcome.status is None \
                or outcome.reason == "CORSPreflight":
            return None
        found = self.rule_forwards.get(id(info))
        if found is not None and found[0] is info:
            return found[1]
        plan: RuleForward | None = None
        key = outcome.backend
        url = None if key is None else self.backends.get(key)
        guard = self.guard
        if url is not None and url.scheme == "http" and len(outcome.weights) < 2 \
                and not info.retry and not (guard is not None and (
                    guard.changes_response(info) or guard.applies(outcome))):
            whole, attempt, read = self.timeouts(info)
            if attempt is None and read is None and whole == self.limits.upstream_timeout:
                assert key is not None
                plan = RuleForward(key, url, whole, not self.topology.needs_response_pass(info))
        remember(self.rule_forwards, id(info), (info, plan))
        return plan

    def _pick(self, outcome: Outcome) -> str:
        chosen = outcome.backend
        assert chosen is not None
        weights = outcome.weights
        if not self.split or len(weights) < 2:
            return chosen
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def timeouts(self, info: RuleInfo | None) -> tuple[float | None, float | None, float | None]:
        """(whole request, one backend attempt, each read from the backend) in seconds;
        ``None`` = no limit. The rule's ``timeouts`` and the attached timeout policies
        (:mod:`ing2gw.enforce.timeouts`): the shortest limit of each kind."""
        if info is None:
            return self.limits.upstream_timeout, None, None
        found = self._deadlines.get(id(info))
        if found is not None:
            return found
        whole: float | None = self.limits.upstream_timeout
        attempt: float | None = None
        read: float | None = None
        raw = info.timeouts or {}
        if "request" in raw:
            whole = parse_duration(str(raw["request"])) or None  # 0s disables the limit
        policies = self.guard.timeout_limits(info) if self.guard is not None else ()
        for limit in (*route_limits(info), *policies):
            if limit.scope == "attempt":
                attempt = limit.seconds if attempt is None else min(attempt, limit.seconds)
            elif limit.scope == "read":
                read = limit.seconds if read is None else min(read, limit.seconds)
            elif limit.what != "timeouts.request":  # the route's own is read above (0s: none)
                whole = limit.seconds if whole is None else min(whole, limit.seconds)
        self._deadlines[id(info)] = (whole, attempt, read)
        return whole, attempt, read

    def log_request(self, client: str, head: RequestHead, status: int, reason: str, backend: str | None,
             start: float) -> None:
        if self.access_log:
            log.info('%s "%s %s%s" %d %s%s %.1fms', client, head.method, head.host, head.target,
                     status, reason, f" -> {backend}" if backend else "",
                     (time.monotonic() - start) * 1000)

    # -- forwarding ------------------------------------------------------------------------

    def upstream_head(self, up: Upstream, head: RequestHead, scheme: str, client: str,
                       length: int | None) -> bytes:
        return join_forwarded(self.upstream_parts(up, head, scheme, length), client)

    def upstream_parts(self, up: Upstream, head: RequestHead, scheme: str,
                        length: int | None) -> tuple[bytes, str | None, bytes]:
        """The upstream request head around its ``X-Forwarded-For`` line (which names the
        client, so it is filled in per request): the bytes before it, the value the
        client sent (if any) and the bytes after it. All but the request line depend on
        the upstream headers object (shared by the requests of one distinct block of
        fields when no filter changes them) and a few strings: remembered by those."""
        fields_key = (id(up.headers), up.host, head.host, scheme, length)
        found = self.upstream_fields.get(fields_key)
        if found is None or found[0] is not up.headers:
            found = (up.headers, *self._upstream_fields(up, head, scheme, length))
            remember(self.upstream_fields, fields_key, found)
        _, before, forwarded, after = found
        line = f"{up.method} {up.path} HTTP/1.1\r\n".encode("latin-1", "replace")
        return line + before, forwarded, after

    @staticmethod
    def _upstream_fields(up: Upstream, head: RequestHead, scheme: str,
                         length: int | None) -> tuple[bytes, str | None, bytes]:
        headers = up.headers
        drop = _REQUEST_DROP
        fields: list[tuple[str, str]] = [("Host", up.host)]
        forwarded = None
        for name in headers:
            low = name.lower()
            if low in drop:
                continue
            values = headers.get_all(low)
            if low == "x-forwarded-for":
                forwarded = ",".join(values)
                continue
            for value in values:
                fields.append((name, value))
        after: list[tuple[str, str]] = [("X-Forwarded-Proto", scheme),
                                        ("X-Forwarded-Host", head.host)]
        if length is None:
            after.append(("Transfer-Encoding", "chunked"))
        elif length or "content-length" in headers:
            after.append(("Content-Length", str(length)))
        return encode_head("", fields)[2:-2], forwarded, encode_head("", after)[2:]

    def response_head(self, head: RequestHead, request: Request, outcome: Outcome,
                       resp: ResponseHead) -> tuple[bytes, bool, bool]:
        """The response head for the client, whether the client connection stays, and
        whether the body must be re-chunked."""
        no_body = head.method == "HEAD" or resp.status in _NO_BODY_STATUS
        drop: frozenset[str] | set[str] = HOP_BY_HOP if no_body else _RESPONSE_DROP
        named = [v for n, v in resp.headers if n.lower() == "connection"]
        if named:
            drop = drop | {t.strip().lower() for v in named for t in v.split(",")}
        fields = [(n, v) for n, v in resp.headers if n.lower() not in drop]
        if self.topology.needs_response_pass(outcome.rule):
            second = self.router.route(dataclasses.replace(request,
                                                           response_headers=Headers(fields)))
            fields = _fields(second.response_headers, frozenset())
        if self.guard is not None and self.guard.applies(outcome):  # headers a policy sets
            fields = _fields(self.guard.response_headers(request, outcome, Headers(fields)), frozenset())
        keep = head.keep_alive
        rechunk = False
        if not no_body:
            if resp.body >= 0:
                fields.append(("content-length", str(resp.body)))
            elif head.version == "1.1":
                fields.append(("transfer-encoding", "chunked"))
                rechunk = True
            else:
                keep = False
        if not keep:
            fields.append(("connection", "close"))
        out = encode_head(f"HTTP/1.1 {resp.status} {resp.reason or reason_phrase(resp.status)}",
                          fields)
        return out, keep, rechunk


def join_forwarded(parts: tuple[bytes, str | None, bytes], client: str) -> bytes:
    before, forwarded, after = parts
    return before + forwarded_tail(forwarded, after, client)


def forwarded_tail(forwarded: str | None, after: bytes, client: str) -> bytes:
    """The end of an upstream head from its ``X-Forwarded-For`` line on: the same for every
    request of one client whose upstream fields are the same (a client connection keeps
    the last one)."""
    value = f"{forwarded}, {client}" if forwarded else client
    if "\r" in value or "\n" in value:
        value = value.replace("\r", " ").replace("\n", " ")
    return b"X-Forwarded-For: %b\r\n%b" % (value.encode("latin-1", "replace"), after)

