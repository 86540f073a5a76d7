"""The front of the proxy: the request loop of one client connection.

Each request is parsed strictly (:mod:`.http1`), handed to the reference router, and then
carried out exactly as the :class:`~ing2gw.router.Outcome` says: answers the router gives
itself (redirects, CORS preflights, 404/500...) are sent directly; a routed request goes to
the backend that the rule's weights pick, with the upstream method, Host, path and headers
the filters produced, hop-by-hop fields removed and ``X-Forwarded-For/-Proto/-Host`` set.
Mirrors get a copy, HTTPRoute ``timeouts`` and ``retry`` govern the upstream call, and the
response streams back (bodies are never buffered whole, except small request bodies that
mirrors or retries need). When the rule's filters touch responses the router is asked a
second time with the backend's response headers, so response filters are the router's too.

The proxy never matches anything itself: the only decision it adds is the weighted pick
among the rule's backendRefs (a deterministic router always names the largest share).

Two paths, one behaviour. :class:`_Client` handles a connection from the socket's
callbacks: it cuts heads out of the buffer, parses and routes them (remembering the
result per distinct head, since both are pure functions of its bytes), answers what the
router answers itself, and forwards plain requests (the whole body already received, an
http backend, no mirrors, retries or route timeouts) as an :class:`_Exchange` on a pooled
backend connection, relaying a Content-Length response as its bytes arrive. Any other
request is lent to a coroutine (:meth:`Front._proxy`, or :meth:`Front._relay` for a
chunked or until-close response) and the connection returns to callbacks afterwards.
Deadlines of both paths are kept by one coarse sweeper rather than a timer per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.router import Outcome, Router, Upstream
from ing2gw.router.outcome import RuleInfo

from .channel import Channel
from .http1 import (
    BODY_CHUNKED,
    HOP_BY_HOP,
    HttpError,
    RequestHead,
    ResponseHead,
    encode_head,
    parse_request_head,
    parse_response_head,
    reason_phrase,
)
from .limits import Limits, parse_duration
from .stream import PeerClosed, Wire, encode_chunk
from .tls import SniContext
from .topology import Topology
from .upstream import BackendURL, Conn, Pool

__all__ = ["Front"]

log = logging.getLogger("ing2gw.proxy")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SMALL_BODY = 64 * 1024
_MAX_RESPONSE_HEAD = 64 * 1024
_NO_BODY_STATUS = (204, 304)
_REQUEST_DROP = HOP_BY_HOP | {"host", "content-length", "expect", "x-forwarded-proto",
                              "x-forwarded-host"}
_RESPONSE_DROP = HOP_BY_HOP | {"content-length"}
_MAX_MIRRORS_IN_FLIGHT = 64


_CACHE_ENTRIES = 512  # per cache; full caches start over
_CACHE_HEAD_BYTES = 4096  # larger heads are not remembered
_RouteKey = tuple[bytes, int, str, "str | None"]


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_ENTRIES:
        cache.clear()
    cache[key] = value


class _ClientFailed(Exception):
    """The client broke off or sent a bad body while it was being forwarded."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Watch:
    """The deadline of the step a connection is waiting in (0: none), checked by the
    sweeper. When a coroutine serves the connection (``task``) the sweeper cancels it and
    ``fired`` marks that cancellation; otherwise it calls ``expire``."""

    __slots__ = ("task", "deadline", "fired", "expire")

    def __init__(self, deadline: float, expire: Callable[[], None]) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.deadline = deadline
        self.fired = False
        self.expire = expire


class _Progress:
    """Whether the response has begun to reach the client (then errors can only close)."""

    __slots__ = ("started", "status")

    def __init__(self) -> None:
        self.started = False
        self.status = 0


_NO_TIMEOUT: contextlib.nullcontext[None] = contextlib.nullcontext()


class _Retry(Exception):
    """An upstream attempt failed in a way the route's retry policy retries."""


def _connection_tokens(headers: Headers) -> set[str]:
    return {t.strip().lower() for v in headers.get_all("connection") for t in v.split(",")}


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
    ) -> None:
        self.router = router
        self.topology = topology
        self.backends = dict(backends)
        self.limits = limits
        self.split = split
        self.rng = random.Random(seed)
        self.access_log = access_log
        self.pool = Pool(limits.connect_timeout)
        self._deadlines: dict[int, tuple[float | None, float | None]] = {}
        self._mirrors: set[asyncio.Task[None]] = set()
        self._warned: set[str] = set()
        self._watches: set[_Watch] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Parsing and routing are pure functions of the head's bytes (and the listener), and
        # so is the response head sent on for a backend's head: remember recent results so
        # that the repeated heads of kept-alive clients cost one lookup.
        self._routes: dict[_RouteKey, tuple[RequestHead, Request, Outcome]] = {}
        self._parts: dict[tuple[_RouteKey, str], tuple[bytes, str | None, bytes]] = {}
        self._answers: dict[tuple[bytes, str, bool, str], tuple[ResponseHead, bytes, bool]] = {}
        self._clients: set[_Client] = set()

    def close(self) -> None:
        for client in list(self._clients):
            client.shut()
        self.pool.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in self._mirrors:
            task.cancel()

    # -- the connection loop ---------------------------------------------------------------

    def channel(self, gateway_port: int, scheme: str, sni: SniContext | None) -> Channel:
        """A protocol for one accepted client connection (the server's factory)."""
        return Channel(_Client(self, gateway_port, scheme, sni))

    def _watch(self, watch: _Watch) -> None:
        self._watches.add(watch)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        """Cancel connections whose deadline passed. One coarse periodic check instead of a
        timer per request keeps the hot path cheap; precise limits (route timeouts) use
        ``asyncio.timeout`` instead."""
        loop = asyncio.get_running_loop()
        tick = max(0.02, min(0.5, self.limits.header_timeout / 8))
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for w in list(self._watches):
                if w.deadline and now >= w.deadline and not w.fired:
                    if w.task is not None:
                        w.fired = True
                        w.task.cancel()
                    else:
                        w.deadline = 0.0
                        w.expire()

    def _refuse(self, writer: Channel, client: str, status: int, message: str) -> None:
        log.warning("%s: %d %s", client, status, message)
        self._answer(writer, status, f"{status} {reason_phrase(status)}: {message}\n",
                     keep_alive=False)

    def _answer(
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

    def _decide(self, head: RequestHead, outcome: Outcome, writer: Channel, client: str,
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
            self._answer(writer, outcome.status, "", keep_alive=keep, head_only=head_only,
                         headers=[("location", outcome.redirect.location)])
            self._log(client, head, outcome.status, outcome.reason, None, start)
            return keep
        if not outcome.served or outcome.upstream is None:
            text = "" if outcome.reason == "CORSPreflight" else \
                f"{outcome.status} {outcome.reason}" + "".join(f"\n{n}" for n in outcome.notes) + "\n"
            self._answer(writer, outcome.status, text, keep_alive=keep, head_only=head_only,
                         headers=_fields(outcome.response_headers, frozenset()))
            self._log(client, head, outcome.status, outcome.reason, None, start)
            return keep
        key = self._pick(outcome)
        problem = None if key == outcome.backend else self.topology.backend_problem(outcome.rule,
                                                                                    key)
        if problem is not None:
            self._answer(writer, 500, f"500 {problem}\n", keep_alive=keep, head_only=head_only)
            self._log(client, head, 500, "InvalidBackend", key, start)
            return keep
        url = self.backends.get(key)
        if url is None:
            self._answer(writer, 503, f"503 no address for backend {key}: map the Service with "
                         f"--backend {key}=http://HOST:PORT, or use --echo-backends\n",
                         keep_alive=keep, head_only=head_only)
            self._log(client, head, 503, "BackendUnmapped", key, start)
            return keep
        return key, url

    def _pick(self, outcome: Outcome) -> str:
        chosen = outcome.backend
        assert chosen is not None
        weights = outcome.weights
        if not self.split or len(weights) < 2:
            return chosen
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def _timeouts(self, info: RuleInfo | None) -> tuple[float | None, float | None]:
        """(whole request, one backend attempt) in seconds; ``None`` = no limit."""
        if info is None:
            return self.limits.upstream_timeout, None
        found = self._deadlines.get(id(info))
        if found is not None:
            return found
        raw = info.timeouts or {}
        request = parse_duration(str(raw["request"])) if "request" in raw else None
        backend = parse_duration(str(raw["backendRequest"])) if "backendRequest" in raw else None
        whole: float | None = self.limits.upstream_timeout
        if request is not None:
            whole = request or None  # 0s disables the limit
        attempt = backend or None
        self._deadlines[id(info)] = (whole, attempt)
        return whole, attempt

    def _log(self, client: str, head: RequestHead, status: int, reason: str, backend: str | None,
             start: float) -> None:
        if self.access_log:
            log.info('%s "%s %s%s" %d %s%s %.1fms', client, head.method, head.host, head.target,
                     status, reason, f" -> {backend}" if backend else "",
                     (time.monotonic() - start) * 1000)

    # -- forwarding ------------------------------------------------------------------------

    def _upstream_head(self, up: Upstream, head: RequestHead, scheme: str, client: str,
                       length: int | None) -> bytes:
        return _join(self._upstream_parts(up, head, scheme, length), client)

    def _upstream_parts(self, up: Upstream, head: RequestHead, scheme: str,
                        length: int | None) -> tuple[bytes, str | None, bytes]:
        """The upstream request head around its ``X-Forwarded-For`` line (which names the
        client, so it is filled in per request): the bytes before it, the value the
        client sent (if any) and the bytes after it."""
        headers = up.headers
        named = headers.get_all("connection")
        drop = _REQUEST_DROP | _connection_tokens(headers) if named else _REQUEST_DROP
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
        return (encode_head(f"{up.method} {up.path} HTTP/1.1", fields)[:-2], forwarded,
                encode_head("", after)[2:])

    async def _client_body(self, wire: Wire, framing: int) -> AsyncIterator[bytes]:
        total, limit = 0, self.limits.max_body_bytes
        try:
            async for piece in wire.body(framing):
                total += len(piece)
                if limit and total > limit:
                    raise _ClientFailed(413, f"request body larger than {limit} bytes")
                yield piece
        except HttpError as exc:
            raise _ClientFailed(exc.status, exc.message) from None
        except (PeerClosed, ConnectionError) as exc:
            raise _ClientFailed(0, f"client went away during the request body: {exc}") from None
        except TimeoutError:
            raise _ClientFailed(408, "the request body stalled for longer than "
                                f"{self.limits.body_timeout:g}s") from None

    async def _proxy(
        self,
        head: RequestHead,
        wire: Wire,
        writer: Channel,
        request: Request,
        outcome: Outcome,
        key: str,
        url: BackendURL,
        scheme: str,
        client: str,
        start: float,
        watch: _Watch,
    ) -> bool:
        up = outcome.upstream
        assert up is not None
        limit = self.limits.max_body_bytes
        if limit and head.body > limit:
            self._refuse(writer, client, 413, f"request body of {head.body} bytes is larger "
                         f"than {limit}")
            return False
        if head.expect_continue and head.body != 0:
            writer.write(_CONTINUE)
        mirrors = [m for m in outcome.mirrors if m.problem is None
                   and (m.percent >= 100 or self.rng.random() * 100 < m.percent)]
        retry = outcome.retry
        body: bytes | None = None
        stream: AsyncIterator[bytes] | None = None
        if head.body > 0 and (head.body <= _SMALL_BODY or len(wire.buf) >= head.body or (
                (mirrors or retry) and head.body <= self.limits.mirror_body_bytes)):
            try:
                body = b"".join([p async for p in self._client_body(wire, head.body)])
            except _ClientFailed as exc:
                if exc.status:
                    self._refuse(writer, client, exc.status, exc.message)
                return False
        elif head.body != 0:
            stream = self._client_body(wire, head.body)
        length = None if head.body == BODY_CHUNKED and stream is not None else \
            (len(body) if body is not None else max(head.body, 0))
        upstream_head = self._upstream_head(up, head, scheme, client, length)
        for target in mirrors:
            self._mirror(target.backend, upstream_head if stream is None else None, body)

        whole, per_attempt = self._timeouts(outcome.rule)
        tries = 1
        codes: frozenset[int] = frozenset()
        backoff = 0.0
        if retry and stream is None:
            tries = 1 + _int(retry.get("attempts"), 1)
            codes = frozenset(c for c in (_int(x, 0) for x in retry.get("codes") or ()) if c)
            backoff = parse_duration(str(retry.get("backoff", "0s"))) or 0.0
        sent = _Progress()
        default = whole == self.limits.upstream_timeout
        if default and whole is not None:  # coarse: the sweeper enforces it
            watch.deadline = asyncio.get_running_loop().time() + whole
        try:
            try:
                async with _NO_TIMEOUT if default else asyncio.timeout(whole):
                    keep = await self._attempts(head, writer, request, outcome, key, url, client,
                                                upstream_head, body, stream, tries, codes,
                                                backoff, per_attempt, sent)
                self._log(client, head, sent.status, "Routed", key, start)
                return keep and head.keep_alive
            except asyncio.CancelledError:
                if not watch.fired:
                    raise
                watch.fired = False
                assert watch.task is not None
                watch.task.uncancel()
                raise TimeoutError from None
            finally:
                watch.deadline = 0.0
        except _ClientFailed as exc:
            if exc.status and not sent.started:
                self._refuse(writer, client, exc.status, exc.message)
            else:
                log.warning("%s: %s", client, exc.message)
            return False
        except TimeoutError:
            if sent.started:
                log.warning("%s: %s%s: backend %s timed out mid-response; connection closed",
                            client, head.host, head.target, key)
                return False
            status, reason, text = 504, "BackendTimeout", \
                f"504 backend {key} ({url}) did not answer in time"
        except HttpError as exc:
            if sent.started:
                log.warning("%s: backend %s: %s; connection closed", client, key, exc.message)
                return False
            status, reason, text = 502, "BadBackendResponse", f"502 backend {key} ({url}): " \
                f"{exc.message}"
        except (OSError, PeerClosed) as exc:
            if sent.started:
                log.warning("%s: backend %s broke off: %s; connection closed", client, key, exc)
                return False
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or \
                type(exc).__name__
            status, reason, text = 502, "BackendUnreachable", f"502 backend {key} ({url}): {detail}"
        log.warning("%s: %s %s%s: %s", client, head.method, head.host, head.target, text)
        keep = head.keep_alive and stream is None
        self._answer(writer, status, text + "\n", keep_alive=keep, head_only=head.method == "HEAD")
        self._log(client, head, status, reason, key, start)
        return keep

    async def _attempts(
        self,
        head: RequestHead,
        writer: Channel,
        request: Request,
        outcome: Outcome,
        key: str,
        url: BackendURL,
        client: str,
        upstream_head: bytes,
        body: bytes | None,
        stream: AsyncIterator[bytes] | None,
        tries: int,
        codes: frozenset[int],
        backoff: float,
        per_attempt: float | None,
        sent: _Progress,
    ) -> bool:
        """Send to the backend (again, as the retry policy allows) and relay the answer."""
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                async with _NO_TIMEOUT if per_attempt is None else asyncio.timeout(per_attempt):
                    conn, resp = await self._exchange(url, upstream_head, body, stream,
                                                      head.method)
                    if not last and resp.status in codes:
                        await self._discard(url, conn, resp)
                        raise _Retry(f"backend answered {resp.status}")
                    sent.started, sent.status = True, resp.status
                    return await self._relay(head, writer, request, outcome, url, conn, resp)
            except _Retry as exc:
                log.info("%s: %s%s attempt %d to %s: %s; retrying", client, head.host,
                         head.target, attempt + 1, key, exc)
            except (OSError, PeerClosed, HttpError, TimeoutError) as exc:
                if sent.started or last:
                    raise
                log.info("%s: attempt %d to %s failed: %s; retrying", client, attempt + 1, key,
                         exc or type(exc).__name__)
            if backoff:
                await asyncio.sleep(backoff * (2 ** attempt))
        raise AssertionError("unreachable")

    async def _exchange(
        self, url: BackendURL, upstream_head: bytes, body: bytes | None,
        stream: AsyncIterator[bytes] | None, method: str,
    ) -> tuple[Conn, ResponseHead]:
        """Send the request and read the response head (a reused connection that turns out
        closed is replaced once, when the body can be sent again)."""
        for attempt in (0, 1):
            conn = await self.pool.acquire(url)
            try:
                w = conn.writer
                w.write(upstream_head + body if body else upstream_head)
                if stream is not None:
                    chunked = b"Transfer-Encoding: chunked\r\n" in upstream_head
                    async for piece in stream:
                        w.write(encode_chunk(piece) if chunked else piece)
                        await w.drain()
                    if chunked:
                        w.write(b"0\r\n\r\n")
                raw = await conn.wire.read_head(_MAX_RESPONSE_HEAD, _MAX_RESPONSE_HEAD)
                if raw is None:
                    raise PeerClosed("the backend closed the connection without answering")
                resp = parse_response_head(raw, method)
                while resp.status < 200:  # interim responses (100 Continue): not relayed
                    raw = await conn.wire.read_head(_MAX_RESPONSE_HEAD, _MAX_RESPONSE_HEAD)
                    if raw is None:
                        raise PeerClosed("the backend closed the connection without answering")
                    resp = parse_response_head(raw, method)
                return conn, resp
            except (OSError, PeerClosed):
                conn.close()
                if conn.reused and stream is None and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    async def _discard(self, url: BackendURL, conn: Conn, resp: ResponseHead) -> None:
        try:
            async for _ in conn.wire.body(resp.body):
                pass
        except BaseException:
            conn.close()
            raise
        if resp.keep_alive:
            self.pool.release(url, conn)
        else:
            conn.close()

    def _response_head(self, head: RequestHead, request: Request, outcome: Outcome,
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

    async def _relay(
        self,
        head: RequestHead,
        writer: Channel,
        request: Request,
        outcome: Outcome,
        url: BackendURL,
        conn: Conn,
        resp: ResponseHead,
    ) -> bool:
        """Send the backend's response to the client; whether the client connection stays."""
        out, keep, rechunk = self._response_head(head, request, outcome, resp)
        wire = conn.wire
        try:
            if resp.body > 0 and len(wire.buf) >= resp.body:
                writer.write(out + wire.take_buffered(resp.body))
            else:
                writer.write(out)
                if resp.body != 0:
                    async for piece in wire.body(resp.body):
                        writer.write(encode_chunk(piece) if rechunk else piece)
                        await writer.drain()
                    if rechunk:
                        writer.write(b"0\r\n\r\n")
            await writer.drain()
        except BaseException:
            conn.close()
            raise
        if resp.keep_alive:
            self.pool.release(url, conn)
        else:
            conn.close()
        return keep

    # -- mirrors ---------------------------------------------------------------------------

    def _mirror(self, key: str, upstream_head: bytes | None, body: bytes | None) -> None:
        url = self.backends.get(key)
        if url is None or upstream_head is None:
            why = "it has no address" if url is None else "the request body is streamed"
            if f"{key}:{why}" not in self._warned:
                self._warned.add(f"{key}:{why}")
                log.warning("mirror to %s skipped: %s", key, why)
            return
        if len(self._mirrors) >= _MAX_MIRRORS_IN_FLIGHT:
            log.warning("mirror to %s skipped: too many mirrored requests in flight", key)
            return
        task = asyncio.get_running_loop().create_task(self._send_mirror(url, upstream_head, body))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)

    async def _send_mirror(self, url: BackendURL, upstream_head: bytes, body: bytes | None) -> None:
        method = upstream_head.split(b" ", 1)[0].decode()
        try:
            async with asyncio.timeout(self.limits.upstream_timeout):
                conn, resp = await self._exchange(url, upstream_head, body, None, method)
                await self._discard(url, conn, resp)
        except (OSError, PeerClosed, HttpError, TimeoutError) as exc:
            log.info("mirror to %s failed: %s", url, exc)


def _join(parts: tuple[bytes, str | None, bytes], client: str) -> bytes:
    before, forwarded, after = parts
    value = f"{forwarded}, {client}" if forwarded else client
    if "\r" in value or "\n" in value:
        value = value.replace("\r", " ").replace("\n", " ")
    return b"%bX-Forwarded-For: %b\r\n%b" % (before, value.encode("latin-1", "replace"), after)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# -- the fast path -------------------------------------------------------------------------

_PIPELINE_BYTES = 64 * 1024  # read ahead while a request is in flight, then pause reading


class _Client:
    """One client connection, served from the channel's callbacks: heads are parsed and
    routed as they arrive; direct answers are written at once; a plain forward (buffered
    body, http backend, no mirrors, retries or route timeouts) runs as an
    :class:`_Exchange` on a pooled backend connection. Anything else is lent to a
    coroutine (:meth:`Front._proxy`) and comes back when that request is done."""

    __slots__ = ("front", "port", "scheme", "sni", "ch", "client", "server_name", "watch",
                 "first", "started", "scan", "busy", "exchange", "closed")

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
        self.exchange: _Exchange | None = None
        self.closed = False

    # -- channel callbacks

    def on_open(self, ch: Channel) -> None:
        self.ch = ch
        peer = ch.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "-"
        if self.sni is not None:
            self.server_name = self.sni.server_name(ch.get_extra_info("ssl_object"))
        loop = asyncio.get_running_loop()
        self.watch = _Watch(loop.time() + self.front.limits.header_timeout, self._expired)
        self.front._watch(self.watch)
        self.front._clients.add(self)

    def on_data(self, ch: Channel) -> None:
        if self.busy:
            if len(ch.buf) > _PIPELINE_BYTES:
                ch.pause_reading()
            return
        self._next()

    def on_eof(self, ch: Channel) -> None:
        if not self.busy:
            self._next()

    def on_lost(self, ch: Channel) -> None:
        self._close()
        if self.exchange is not None:
            self.exchange.abandon()

    def on_writable(self, ch: Channel, writable: bool) -> None:
        if self.exchange is not None:
            self.exchange.client_writable(writable)

    # -- the request loop

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.front._watches.discard(self.watch)
            self.front._clients.discard(self)
            self.ch.close()

    def shut(self) -> None:
        """The server stops: drop the connection and its backend exchange."""
        if self.exchange is not None:
            self.exchange.abandon()
        self._close()

    def _refuse(self, status: int, message: str) -> None:
        self.front._refuse(self.ch, self.client, status, message)
        self._close()

    def _expired(self) -> None:
        if self.exchange is not None:
            self.exchange.timed_out()
        elif not self.closed and not self.busy:
            if self.ch.buf:
                self._refuse(408, "the request head did not arrive within "
                                  f"{self.front.limits.header_timeout:g}s")
            else:
                self._close()

    def _next(self) -> None:
        """Serve the complete heads in the buffer; stop when one needs to wait."""
        ch = self.ch
        buf = ch.buf
        limits = self.front.limits
        while not self.closed:
            while buf.startswith(b"\r\n"):  # RFC 9112 §2.2: ignore empty lines before a request
                del buf[:2]
                self.scan = 0
            end = buf.find(b"\r\n\r\n", self.scan)
            if end < 0:
                if len(buf) > limits.max_request_line and \
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
                            self.watch.deadline = asyncio.get_running_loop().time() + \
                                limits.header_timeout
                    ch.resume_reading()
                return
            raw = bytes(buf[:end])
            del buf[: end + 4]
            self.scan = 0
            self.started = False
            self.watch.deadline = 0.0
            front = self.front
            key = (raw, self.port, self.scheme, self.server_name)
            known = front._routes.get(key)
            if known is None:
                try:
                    head = parse_request_head(raw, limits, self.scheme)
                except HttpError as exc:
                    self._refuse(exc.status, exc.message)
                    return
                request = Request.build(host=head.host, path=head.target, method=head.method,
                                        scheme=self.scheme, port=self.port,
                                        headers=Headers(head.headers), sni=self.server_name)
                known = head, request, front.router.route(request)
                if len(raw) <= _CACHE_HEAD_BYTES:
                    _remember(front._routes, key, known)
            self.first = False
            if not self._serve(key, *known):
                return
            self.watch.deadline = asyncio.get_running_loop().time() + limits.keepalive_timeout

    def _serve(self, rkey: _RouteKey, head: RequestHead, request: Request,
               outcome: Outcome) -> bool:
        """Carry out one routed request; whether the loop may go on at once (``False``:
        closed, or an exchange or coroutine now owns the request)."""
        front = self.front
        start = time.monotonic()
        decided = front._decide(head, outcome, self.ch, self.client, start)
        if decided is None or decided is False:
            self._close()
            return False
        if decided is True:
            return True
        key, url = decided
        if key != outcome.backend:
            # The weights picked another backendRef: its own filters apply (router's answer).
            outcome = front.router.route(request, backend=key)
        up = outcome.upstream
        assert up is not None
        limits = front.limits
        whole, per_attempt = front._timeouts(outcome.rule)
        n = head.body
        buf = self.ch.buf
        if (url.scheme == "http" and not outcome.mirrors and not outcome.retry
                and per_attempt is None and whole == limits.upstream_timeout
                and not head.expect_continue
                and (n == 0 or (0 < n <= _SMALL_BODY and len(buf) >= n
                                and not (limits.max_body_bytes and n > limits.max_body_bytes)))):
            # The upstream head depends on the backend too (a weighted pick has its own filters).
            parts_key = (rkey, key)
            parts = front._parts.get(parts_key)
            if parts is None:
                parts = front._upstream_parts(up, head, self.scheme, n)
                if rkey in front._routes:
                    _remember(front._parts, parts_key, parts)
            data = _join(parts, self.client)
            if n:
                data += buf[:n]
                del buf[:n]
            self.busy = True
            if whole is not None:
                self.watch.deadline = asyncio.get_running_loop().time() + whole
            self.exchange = _Exchange(self, head, request, outcome, key, url, data, start)
            self.exchange.begin()
            return False
        wire = self._wire()
        self._lend(front._proxy(head, wire, self.ch, request, outcome, key, url, self.scheme,
                                self.client, start, self.watch), head, wire)
        return False

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
        self.watch.deadline = asyncio.get_running_loop().time() + \
            self.front.limits.keepalive_timeout
        self._next()


class _Exchange:
    """One forwarded request on the fast path: the handler of its backend connection from
    sending the request to the end of a response framed by Content-Length (other framings
    go on in :meth:`Front._relay`)."""

    __slots__ = ("client", "head", "request", "outcome", "key", "url", "data", "start", "conn",
                 "resp", "out", "remaining", "keep", "retried", "got", "finished", "dial",
                 "plain")

    def __init__(self, client: _Client, head: RequestHead, request: Request, outcome: Outcome,
                 key: str, url: BackendURL, data: bytes, start: float) -> None:
        self.client = client
        self.head = head
        self.request = request
        self.outcome = outcome
        self.key = key
        self.url = url
        self.data = data
        self.start = start
        self.conn: Conn | None = None
        self.resp: ResponseHead | None = None
        self.out: bytes | None = None
        self.remaining = 0
        self.keep = False
        self.retried = False
        self.got = False
        self.finished = False
        self.dial: asyncio.Task[Conn] | None = None
        # no response filters: the head sent on depends on the backend's head alone
        self.plain = not client.front.topology.needs_response_pass(outcome.rule)

    def begin(self) -> None:
        pool = self.client.front.pool
        conn = pool.idle(self.url)
        if conn is not None:
            self._send(conn)
            return
        task = asyncio.get_running_loop().create_task(pool.connect(self.url))
        self.dial = task
        task.add_done_callback(self._dialled)

    def _dialled(self, task: asyncio.Task[Conn]) -> None:
        self.dial = None
        if task.cancelled():
            if not self.finished:
                self.abandon()
                self.client._close()
            return
        exc = task.exception()
        if self.finished:
            if exc is None:
                task.result().close()
            return
        if exc is not None:
            self._failed(exc)
        else:
            self._send(task.result())

    def _send(self, conn: Conn) -> None:
        self.conn = conn
        ch = conn.writer
        ch.handler = self
        ch.write(self.data)
        if self.client.ch.write_paused:
            ch.pause_reading()

    # -- backend channel callbacks

    def on_open(self, ch: Channel) -> None:
        pass

    def on_data(self, ch: Channel) -> None:
        self.got = True
        if self.resp is None and not self._read_head(ch):
            return
        buf = ch.buf
        out = self.out
        self.out = None
        n = self.remaining
        if n and buf:
            if n >= len(buf):
                piece = bytes(buf)
                buf.clear()
            else:
                piece = bytes(buf[:n])
                del buf[:n]
            self.remaining = n - len(piece)
            out = out + piece if out else piece
        if out:
            self.client.ch.write(out)
        if not self.remaining:
            self._complete()

    def on_eof(self, ch: Channel) -> None:
        if not self.finished:
            self._broken(PeerClosed("the backend closed the connection without answering"
                                    if self.resp is None else "connection closed mid-body"))

    def on_lost(self, ch: Channel) -> None:
        self.on_eof(ch)

    def on_writable(self, ch: Channel, writable: bool) -> None:
        pass

    def client_writable(self, writable: bool) -> None:
        if self.conn is not None and not self.finished:
            if writable:
                self.conn.writer.resume_reading()
            else:
                self.conn.writer.pause_reading()

    # -- steps

    def _read_head(self, ch: Channel) -> bool:
        buf = ch.buf
        while True:
            while buf.startswith(b"\r\n"):
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_RESPONSE_HEAD:
                    self._failed(HttpError(502, f"message head larger than {_MAX_RESPONSE_HEAD} "
                                                "bytes"))
                return False
            raw = bytes(buf[:end])
            del buf[: end + 4]
            head = self.head
            key = (raw, head.method, head.keep_alive, head.version)
            known = self.client.front._answers.get(key) if self.plain else None
            if known is not None:
                resp = known[0]
            else:
                try:
                    resp = parse_response_head(raw, head.method)
                except HttpError as exc:
                    self._failed(exc)
                    return False
            if resp.status >= 200:  # interim responses (100 Continue) are not relayed
                break
        self.resp = resp
        client = self.client
        if resp.body < 0:  # chunked or until-close: the coroutine relay re-frames it
            assert self.conn is not None
            conn = self.conn
            self.finished = True
            client.exchange = None
            ch.handler = None
            conn.wire.buf += buf
            buf.clear()
            ch.resume_reading()
            front = client.front
            client._lend(self._relayed(front._relay(self.head, client.ch, self.request,
                                                    self.outcome, self.url, conn, resp)),
                         self.head)
            return False
        front = client.front
        if known is not None:
            _, self.out, self.keep = known
        else:
            self.out, self.keep, _ = front._response_head(self.head, self.request,
                                                          self.outcome, resp)
            if self.plain and len(raw) <= _CACHE_HEAD_BYTES:
                _remember(front._answers, key, (resp, self.out, self.keep))
        self.remaining = resp.body
        return True

    async def _relayed(self, relay: Coroutine[Any, Any, bool]) -> bool:
        keep = await relay
        assert self.resp is not None
        self.client.front._log(self.client.client, self.head, self.resp.status, "Routed",
                               self.key, self.start)
        return keep

    def _complete(self) -> None:
        self.finished = True
        conn = self.conn
        resp = self.resp
        assert conn is not None and resp is not None
        client = self.client
        front = client.front
        conn.writer.resume_reading()
        if resp.keep_alive:
            front.pool.release(self.url, conn)
        else:
            conn.close()
        front._log(client.client, self.head, resp.status, "Routed", self.key, self.start)
        client._done(self.keep)

    def _broken(self, exc: Exception) -> None:
        """The backend connection ended or failed before the response was complete."""
        conn = self.conn
        if self.resp is None and conn is not None and conn.reused and not self.got \
                and not self.retried:  # a kept-alive connection the backend had closed
            self.retried = True
            conn.close()
            self.conn = None
            self.begin()
            return
        if self.resp is None:
            self._failed(exc)
            return
        self.finished = True
        if conn is not None:
            conn.close()
        log.warning("%s: backend %s broke off: %s; connection closed", self.client.client,
                    self.key, exc)
        self.client._done(False)

    def _failed(self, exc: BaseException) -> None:
        """No response has reached the client: answer 502/504 instead."""
        self.finished = True
        if self.conn is not None:
            self.conn.close()
        key, url, head = self.key, self.url, self.head
        if isinstance(exc, TimeoutError):
            status, reason, text = 504, "BackendTimeout", \
                f"504 backend {key} ({url}) did not answer in time"
        elif isinstance(exc, HttpError):
            status, reason, text = 502, "BadBackendResponse", \
                f"502 backend {key} ({url}): {exc.message}"
        else:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) \
                or type(exc).__name__
            status, reason, text = 502, "BackendUnreachable", f"502 backend {key} ({url}): {detail}"
        client = self.client
        front = client.front
        log.warning("%s: %s %s%s: %s", client.client, head.method, head.host, head.target, text)
        front._answer(client.ch, status, text + "\n", keep_alive=head.keep_alive,
                      head_only=head.method == "HEAD")
        front._log(client.client, head, status, reason, key, self.start)
        client._done(head.keep_alive)

    def timed_out(self) -> None:
        if self.finished:
            return
        if self.resp is None:
            self._failed(TimeoutError())
            return
        self.finished = True
        if self.conn is not None:
            self.conn.close()
        log.warning("%s: %s%s: backend %s timed out mid-response; connection closed",
                    self.client.client, self.head.host, self.head.target, self.key)
        self.client._done(False)

    def abandon(self) -> None:
        """The client went away."""
        if not self.finished:
            self.finished = True
            if self.conn is not None:
                self.conn.close()
