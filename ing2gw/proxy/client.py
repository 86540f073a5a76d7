"""One client connection, served from the socket's callbacks (the proxy's fast path).

:class:`Client` cuts heads out of the buffer, parses and routes them (remembering the
result per distinct head, since both are pure functions of its bytes), answers what the
router answers itself, and forwards plain requests (the whole body already received, an
http backend, no mirrors, retries or route timeouts) as an :class:`~.exchange.Exchange` on
a pooled backend connection. Any other request is lent to a coroutine of
:class:`~.relay.Relay`, and the connection returns to callbacks afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from ing2gw.enforce.guard import AuthCall
from ing2gw.http import Request
from ing2gw.router import Outcome

from .auth import ask
from .channel import Channel
from .exchange import Exchange
from .front import (
    CACHE_HEAD_BYTES,
    Forward,
    Front,
    Routed,
    RouteKey,
    Watch,
    client_request,
    forwarded_tail,
    remember,
)
from .http1 import HttpError, RequestHead, parse_request_head
from .relay import SMALL_BODY
from .stream import PeerClosed, Wire
from .tls import SniContext

__all__ = ["Client", "client_channel"]

log = logging.getLogger("ing2gw.proxy")


def client_channel(front: Front, gateway_port: int, scheme: str, sni: SniContext | None) -> Channel:
    """A protocol for one accepted client connection (the server's factory)."""
    return Channel(Client(front, gateway_port, scheme, sni))


_PIPELINE_BYTES = 64 * 1024  # read ahead while a request is in flight, then pause reading
_AUTH_TIME = 10.0  # seconds an auth service has to answer (after connecting)
_BATCH = 32  # pipelined requests served per callback before other connections get a turn
_LINGER_BYTES = 8 << 20  # after an answer that ends the connection, drop at most this much
_LINGER_TIME = 5.0  # of what the client still sends, for at most this long (seconds)
_now = time.monotonic  # the loop's clock (see Watch)


class Client:
    """One client connection, served from the channel's callbacks: heads are parsed and
    routed as they arrive; direct answers are written at once; a plain forward (buffered
    body, http backend, no mirrors, retries or route timeouts) runs as an
    :class:`Exchange` on a pooled backend connection. Anything else is lent to a
    coroutine (:meth:`Front._proxy`) and comes back when that request is done."""

    __slots__ = ("front", "port", "scheme", "sni", "ch", "client", "server_name", "watch",
                 "first", "started", "scan", "busy", "exchange", "closed", "later", "linger",
                 "spare", "sent_for", "sent", "tail_for", "tail")

    def __init__(self, front: Front, port: int, scheme: str, sni: SniContext | None) -> None:
        self.front = front
        self.port = port
        self.scheme = scheme
        self.sni = sni
        self.client = "-"
        self.server_name: str | None = None
        self.first = True  # no request served yet: the header deadline runs from the start
        self.started = False  # part of the next head has arrived
        self.scan = 0
        self.busy = False
        self.exchange: Exchange | None = None
        self.closed = False
        self.later = False  # a turn of _next is scheduled
        self.linger = -1  # >= 0: closing; this many more bytes from the client are dropped
        self.spare: Exchange | None = None  # the last exchange, complete: used again
        self.sent_for: Forward | None = None  # the forward whose upstream head is ``sent``
        self.sent = b""  # (it names this client in X-Forwarded-For)
        self.tail_for: tuple[str | None, bytes] = (None, b"")  # the upstream fields whose
        self.tail = b""  # X-Forwarded-For line and the rest of the head are ``tail``

    # -- channel callbacks

    def on_open(self, ch: Channel) -> None:
        self.ch = ch
        front = self.front
        if len(front.clients) >= front.limits.max_connections:
            front.over_capacity()
            self.closed = True
            ch.abort()
            return
        peer = ch.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "-"
        if self.sni is not None:
            self.server_name = self.sni.server_name(ch.get_extra_info("ssl_object"))
        self.watch = Watch(_now() + self.front.limits.header_timeout, self._expired)
        self.front.watch(self.watch)
        self.front.clients.add(self)

    def on_data(self, ch: Channel) -> None:
        if self.linger >= 0:
            self._drop(ch)
            return
        if self.busy:
            if len(ch.buf) > _PIPELINE_BYTES:
                ch.pause_reading()
            return
        self._next()

    def on_eof(self, ch: Channel) -> None:
        if self.linger >= 0:
            self._end()
        elif not self.busy:
            self._next()

    def on_lost(self, ch: Channel) -> None:
        if self.linger >= 0:
            self._end()
        else:
            self._close(linger=False)
        if self.exchange is not None:
            self.exchange.abandon()

    def on_writable(self, ch: Channel, writable: bool) -> None:
        if self.exchange is not None:
            self.exchange.client_writable(writable)
        elif writable and not self.busy:
            self._next()  # the client reads again: serve what it sent meanwhile

    # -- the request loop

    def _close(self, linger: bool = True) -> None:
        """End the connection. After an answer (``linger``) the answer is sent with a FIN
        and what the client still sends -- typically the body of a refused upload -- is
        read and dropped, within bounds, before closing: closing with unread data makes
        the kernel reset the connection, which can destroy the answer (nginx's lingering
        close)."""
        if self.closed:
            return
        self.closed = True
        front = self.front
        ch = self.ch
        transport = ch.transport
        if ch.write_paused:  # a client that does not read: drop what it did not take
            front.clients.discard(self)
            front.watches.discard(self.watch)
            ch.abort()
        elif linger and not ch.eof and not ch.lost and transport is not None \
                and transport.can_write_eof():
            ch.handler = self
            self.linger = _LINGER_BYTES
            self.watch.task = None
            self.watch.deadline = _now() + _LINGER_TIME
            transport.write_eof()
            self._drop(ch)
            ch.resume_reading()
        else:
            front.clients.discard(self)
            front.watches.discard(self.watch)
            ch.close()

    def _drop(self, ch: Channel) -> None:
        self.linger -= len(ch.buf)
        ch.buf.clear()
        if self.linger < 0:
            self._end()

    def _end(self) -> None:
        """The end of a lingering close."""
        self.linger = -1
        self.front.clients.discard(self)
        self.front.watches.discard(self.watch)
        self.ch.close()

    def shut(self) -> None:
        """The server stops: drop the connection and its backend exchange."""
        if self.exchange is not None:
            self.exchange.abandon()
        self._close(linger=False)
        if self.linger >= 0:
            self._end()

    def _refuse(self, status: int, message: str) -> None:
        self.front.refuse(self.ch, self.client, status, message)
        self._close()

    def _expired(self) -> None:
        if self.linger >= 0:
            self._end()
        elif self.exchange is not None:
            self.exchange.timed_out()
        elif not self.closed and not self.busy:
            if self.ch.buf:
                self._refuse(408, "the request head did not arrive within "
                                  f"{self.front.limits.header_timeout:g}s")
            else:
                self._close(linger=False)

    def _turn(self) -> None:
        self.later = False
        if not self.busy:
            self._next()

    def _next(self) -> None:
        """Serve the complete heads in the buffer; stop when one needs to wait. A client
        that does not read its answers is not read either (its output is paused: the kernel
        holds what it sends), and one callback serves at most ``_BATCH`` pipelined
        requests, so one connection can neither fill memory with answers nor hold the
        event loop."""
        ch = self.ch
        buf = ch.buf
        limits = self.front.limits
        served = 0
        while not self.closed:
            if ch.write_paused:
                ch.pause_reading()
                return
            if served == _BATCH:
                if len(buf) > _PIPELINE_BYTES:  # read no further ahead than that
                    ch.pause_reading()
                if not self.later:
                    self.later = True
                    asyncio.get_running_loop().call_soon(self._turn)
                return
            served += 1
            while buf.startswith(b"\r\n"):  # RFC 9112 §2.2: ignore empty lines before a request
                del buf[:2]
                self.scan = 0
            end = buf.find(b"\r\n\r\n", self.scan)
            if end < 0:
                if b"\n\n" in buf:
                    self._refuse(400, "a message head ended by bare LF line endings")
                elif len(buf) > limits.max_request_line and \
                        buf.find(b"\r\n", 0, limits.max_request_line + 2) < 0:
                    self._refuse(414, f"request line longer than {limits.max_request_line} bytes")
                elif len(buf) > limits.max_header_bytes:
                    self._refuse(431, f"message head larger than {limits.max_header_bytes} bytes")
                elif ch.eof:
                    self._close()
                else:
                    self.scan = max(0, len(buf) - 3)
                    if buf and not self.started:
                        self.started = True
                        if not self.first:
                            self.watch.deadline = _now() + limits.header_timeout
                    ch.resume_reading()
                return
            raw = bytes(buf[:end])
            del buf[: end + 4]
            self.scan = 0
            self.started = False
            self.watch.deadline = 0.0
            front = self.front
            key = (raw, self.port, self.scheme, self.server_name)
            routed = front.routes.get(key)
            if routed is None:
                try:
                    head = parse_request_head(raw, limits, self.scheme)
                except HttpError as exc:
                    self._refuse(exc.status, exc.message)
                    return
                request = client_request(head, self.scheme, self.port, self.server_name, front.mesh)
                routed = Routed(head, request, front.router.route(request))
                if len(raw) <= CACHE_HEAD_BYTES:
                    remember(front.routes, key, routed)
            self.first = False
            forward = routed.forward
            if forward is not None:  # a repeated head: forwarded as decided the first time
                self._forward(routed.head, routed.request, forward)
                return
            if not self._serve(key, routed):
                return
            self.watch.deadline = _now() + limits.keepalive_timeout

    def _serve(self, rkey: RouteKey, routed: Routed) -> bool:
        """Carry out one routed request; whether the loop may go on at once (``False``:
        closed, or an exchange or coroutine now owns the request). A plain forward whose
        every step depends on the head alone is remembered with it (:class:`Forward`)."""
        front = self.front
        head, request, outcome = routed.head, routed.request, routed.outcome
        if head.body == 0 and not head.expect_continue:
            by_rule = front.rule_forward(outcome)
            if by_rule is not None:  # the rule decides it all: only the upstream head is new
                key, url, whole, plain = by_rule
                up = outcome.upstream
                assert up is not None
                forward = Forward(key, url, outcome, front.upstream_parts(up, head, self.scheme, 0),
                                  whole, plain)
                if front.routes.get(rkey) is routed:
                    routed.forward = forward
                self._forward(head, request, forward)
                return False
        guard = front.guard
        policed = False
        if guard is not None:
            outcome = guard.cors(request, outcome)
            policed = guard.applies(outcome)
        if policed:
            assert guard is not None
            client = self._address(request)
            refused = guard.admit(request, outcome, client)
            if refused is not None:
                outcome = refused
            else:
                calls = guard.auth_calls(request, outcome)
                if calls:  # asking auth services needs a coroutine
                    wire = self._wire()
                    self._lend(self._authorized(head, wire, request, outcome, calls, client), head, wire)
                    return False
                outcome = guard.finish(request, outcome, client)
        start = _now()
        decided = front.decide(head, outcome, self.ch, self.client, start)
        if decided is None or decided is False:
            self._close()
            return False
        if decided is True:
            return True
        key, url = decided
        picked = key != outcome.backend
        if picked:
            # The weights picked another backendRef: its own filters apply (router's answer).
            outcome = front.router.route(request, backend=key)
        up = outcome.upstream
        assert up is not None
        limits = front.limits
        whole, per_attempt, read = front.timeouts(outcome.rule)
        n = head.body
        buf = self.ch.buf
        if (url.scheme == "http" and not outcome.mirrors and not outcome.retry
                and per_attempt is None and read is None and whole == limits.upstream_timeout
                and not head.expect_continue
                and (n == 0 or (0 < n <= SMALL_BODY and len(buf) >= n
                                and not (limits.max_body_bytes and n > limits.max_body_bytes)))):
            forward = Forward(key, url, outcome, front.upstream_parts(up, head, self.scheme, n),
                              whole, not front.topology.needs_response_pass(outcome.rule) and not (
                                  guard is not None and guard.changes_response(outcome.rule)))
            if n == 0 and not policed and not picked and len(outcome.weights) < 2 \
                    and front.routes.get(rkey) is routed:
                routed.forward = forward  # decided by the head alone: the same next time
            self._forward(head, request, forward, n, start)
            return False
        wire = self._wire()
        self._lend(front.relay.proxy(head, wire, self.ch, request, outcome, key, url, self.scheme,
                                self.client, start, self.watch), head, wire)
        return False

    def _forward(self, head: RequestHead, request: Request, forward: Forward, n: int = 0,
                 start: float = 0.0) -> None:
        """Send a plain request (its body, ``n`` bytes, in the buffer) as an
        :class:`Exchange` on a pooled backend connection."""
        if forward is self.sent_for:
            data = self.sent
        else:
            before, forwarded, after = forward.parts
            last = self.tail_for
            if after is not last[1] or forwarded is not last[0]:
                self.tail = forwarded_tail(forwarded, after, self.client)
                self.tail_for = forwarded, after
            data = before + self.tail
            self.sent_for, self.sent = forward, data
        if n:
            buf = self.ch.buf
            data += buf[:n]
            del buf[:n]
        now = start or _now()
        self.busy = True
        if forward.whole is not None:
            self.watch.deadline = now + forward.whole
        exchange = self.spare
        if exchange is None:
            exchange = Exchange(self)
        else:
            self.spare = None
        self.exchange = exchange
        exchange.begin(head, request, forward, data, now)

    def _address(self, request: Request) -> str:
        """The client address policies see: the peer's, or with ``--client-header`` (tests)
        that header's value."""
        header = self.front.client_header
        given = request.headers.get(header) if header else None
        return given.strip() if given else self.client

    async def _authorized(self, head: RequestHead, wire: Wire, request: Request, outcome: Outcome,
                          calls: list[AuthCall], client: str) -> bool:
        """Ask the auth services, then answer or forward as the guard decides."""
        front = self.front
        guard = front.guard
        assert guard is not None
        for call in calls:
            answer = await ask(call, front.backends, front.pool, front.limits.connect_timeout + _AUTH_TIME)
            outcome = guard.after_auth(outcome, call, answer)
            if outcome.policy is not None:  # refused
                break
        else:
            outcome = guard.finish(request, outcome, client)
        start = _now()
        decided = front.decide(head, outcome, self.ch, self.client, start)
        if decided is None:
            return False
        if isinstance(decided, bool):
            return decided
        key, url = decided
        return await front.relay.proxy(head, wire, self.ch, request, outcome, key, url, self.scheme, self.client,
                                       start, self.watch)

    def _wire(self) -> Wire:
        """Hand the connection to a coroutine: the channel reads through a :class:`Wire`
        that starts with the bytes already buffered."""
        ch = self.ch
        ch.handler = None
        wire = Wire(ch, self.front.limits.body_timeout)
        wire.buf += ch.buf
        ch.buf.clear()
        ch.resume_reading()
        return wire

    def _lend(self, work: Coroutine[Any, Any, bool], head: RequestHead,
              wire: Wire | None = None) -> None:
        self.busy = True
        task = asyncio.get_running_loop().create_task(self._run(work, head, wire))
        self.watch.task = task

    async def _run(self, work: Coroutine[Any, Any, bool], head: RequestHead,
                   wire: Wire | None) -> None:
        keep = False
        try:
            keep = await work
        except asyncio.CancelledError:
            if self.watch.fired:  # the backend ran out of time mid-response
                log.warning("%s: %s%s: the backend timed out mid-response; connection closed",
                            self.client, head.host, head.target)
        except (PeerClosed, ConnectionError, TimeoutError, HttpError) as exc:
            log.warning("%s: %s%s: %s; connection closed", self.client, head.host, head.target,
                        exc or type(exc).__name__)
        except Exception as exc:  # a bug: log it in one line, keep serving other clients
            log.error("internal error while serving %s: %s: %s", self.client,
                      type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            self.watch.task = None
            self.watch.fired = False
            self.watch.deadline = 0.0
        ch = self.ch
        if not keep or self.closed or ch.lost:
            self._close()
            return
        ch.handler = self
        if wire is not None:  # the coroutine read the client: take its read-ahead back
            ch.buf[:0] = wire.buf
        self._done(True)

    def _done(self, keep: bool) -> None:
        self.busy = False
        self.exchange = None
        if not keep or self.closed:
            self._close()
            return
        self.watch.deadline = _now() + self.front.limits.keepalive_timeout
        ch = self.ch
        if not ch.buf and not ch.eof and not ch.write_paused:  # nothing more sent yet
            self.scan = 0
            ch.resume_reading()
            return
        self._next()

