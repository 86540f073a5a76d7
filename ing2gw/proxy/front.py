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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.router import Outcome, Router, Upstream
from ing2gw.router.outcome import RuleInfo

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


class _ClientFailed(Exception):
    """The client broke off or sent a bad body while it was being forwarded."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Watch:
    """The deadline of the step a connection is waiting in (0: none), checked by the
    sweeper; ``fired`` marks a cancellation the sweeper caused."""

    __slots__ = ("task", "deadline", "fired")

    def __init__(self, task: asyncio.Task[Any], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.fired = False


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

    def close(self) -> None:
        self.pool.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in self._mirrors:
            task.cancel()

    # -- the connection loop ---------------------------------------------------------------

    async def serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        gateway_port: int,
        scheme: str,
        sni: SniContext | None = None,
    ) -> None:
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if peer else "-"
        server_name = sni.server_name(writer.get_extra_info("ssl_object")) if sni else None
        limits = self.limits
        wire = Wire(reader, limits.body_timeout)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        watch = _Watch(task, loop.time() + limits.header_timeout)
        self._watch(watch)

        def started() -> None:  # the first byte of a kept-alive connection's next head
            watch.deadline = loop.time() + limits.header_timeout

        first = True
        try:
            while True:
                if not first:
                    watch.deadline = loop.time() + limits.keepalive_timeout
                try:
                    raw = await wire.read_head(limits.max_request_line, limits.max_header_bytes,
                                               None if first else started)
                except asyncio.CancelledError:
                    if not watch.fired:
                        raise
                    task.uncancel()
                    if wire.buf:
                        self._refuse(writer, client, 408, "the request head did not arrive "
                                     f"within {limits.header_timeout:g}s")
                    return
                except HttpError as exc:
                    self._refuse(writer, client, exc.status, exc.message)
                    return
                watch.deadline = 0.0
                if raw is None:
                    return
                try:
                    head = parse_request_head(raw, limits, scheme)
                except HttpError as exc:
                    self._refuse(writer, client, exc.status, exc.message)
                    return
                if not await self._request(head, wire, writer, gateway_port, scheme,
                                           server_name, client, watch):
                    return
                first = False
        except (PeerClosed, ConnectionError, TimeoutError):
            pass
        except Exception as exc:  # a bug: log it in one line, keep serving other clients
            log.error("internal error while serving %s: %s: %s", client, type(exc).__name__, exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            self._watches.discard(watch)
            writer.close()

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
                    w.fired = True
                    w.task.cancel()

    def _refuse(self, writer: asyncio.StreamWriter, client: str, status: int, message: str) -> None:
        log.warning("%s: %d %s", client, status, message)
        self._answer(writer, status, f"{status} {reason_phrase(status)}: {message}\n",
                     keep_alive=False)

    def _answer(
        self,
        writer: asyncio.StreamWriter,
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

    async def _request(
        self,
        head: RequestHead,
        wire: Wire,
        writer: asyncio.StreamWriter,
        gateway_port: int,
        scheme: str,
        sni: str | None,
        client: str,
        watch: _Watch,
    ) -> bool:
        """Serve one request; whether the connection may carry another."""
        start = time.monotonic()
        request = Request.build(host=head.host, path=head.target, method=head.method,
                                scheme=scheme, port=gateway_port, headers=Headers(head.headers),
                                sni=sni)
        outcome = self.router.route(request)
        keep = head.keep_alive and head.body == 0
        head_only = head.method == "HEAD"
        if outcome.status is None:  # fails below HTTP (e.g. no listener for the SNI)
            log.warning("%s: %s %s%s: %s; connection closed", client, head.method, head.host,
                        head.target, "; ".join(outcome.notes) or outcome.reason)
            return False
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
        return await self._proxy(head, wire, writer, request, outcome, key, url, scheme, client,
                                 start, watch)

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
        headers = up.headers
        drop = _REQUEST_DROP | _connection_tokens(headers)
        fields: list[tuple[str, str]] = [("Host", up.host)]
        forwarded = None
        for name in headers:
            low = name.lower()
            if low in drop:
                continue
            if low == "x-forwarded-for":
                forwarded = headers.get(name)
                continue
            for value in headers.get_all(name):
                fields.append((name, value))
        fields.append(("X-Forwarded-For", f"{forwarded}, {client}" if forwarded else client))
        fields.append(("X-Forwarded-Proto", scheme))
        fields.append(("X-Forwarded-Host", head.host))
        if length is None:
            fields.append(("Transfer-Encoding", "chunked"))
        elif length or "content-length" in headers:
            fields.append(("Content-Length", str(length)))
        return encode_head(f"{up.method} {up.path} HTTP/1.1", fields)

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
        writer: asyncio.StreamWriter,
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
        writer: asyncio.StreamWriter,
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

    async def _relay(
        self,
        head: RequestHead,
        writer: asyncio.StreamWriter,
        request: Request,
        outcome: Outcome,
        url: BackendURL,
        conn: Conn,
        resp: ResponseHead,
    ) -> bool:
        """Send the backend's response to the client; whether the client connection stays."""
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


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
