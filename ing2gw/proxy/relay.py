"""The coroutine path of the proxy: requests that need more than the callbacks of
:mod:`.client` and :mod:`.exchange` offer -- streamed or chunked request bodies,
``Expect: 100-continue``, mirrors, retries, route timeouts, https backends -- and the relay
of chunked or until-close responses.

:class:`Relay` sends the request to the backend (again, as the route's retry policy
allows), relays the answer to the client as it arrives (bodies are never buffered whole,
except small request bodies that mirrors or retries need) and copies requests to mirrors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ing2gw.http import Request
from ing2gw.router import Outcome

from .channel import Channel
from .http1 import BODY_CHUNKED, HttpError, RequestHead, ResponseHead, parse_response_head
from .limits import parse_duration
from .stream import PeerClosed, Wire, encode_chunk
from .upstream import BackendURL, Conn

if TYPE_CHECKING:
    from .front import Front, Watch

__all__ = ["MAX_RESPONSE_HEAD", "Relay"]

log = logging.getLogger("ing2gw.proxy")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
SMALL_BODY = 64 * 1024  # request bodies up to this are read whole before forwarding
MAX_RESPONSE_HEAD = 64 * 1024
_MAX_MIRRORS_IN_FLIGHT = 64
_NO_TIMEOUT: contextlib.nullcontext[None] = contextlib.nullcontext()


class _ClientFailed(Exception):
    """The client broke off or sent a bad body while it was being forwarded."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Progress:
    """Whether the response has begun to reach the client (then errors can only close)."""

    __slots__ = ("started", "status")

    def __init__(self) -> None:
        self.started = False
        self.status = 0


_HELD_BODY = 16 << 20  # a chunked body under a policy limit up to this is read whole first


class _Retry(Exception):
    """An upstream attempt failed in a way the route's retry policy retries."""


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class Relay:
    """The coroutines of one serving process (they read its :class:`~.front.Front`)."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.limits = front.limits
        self.pool = front.pool

    async def _client_body(self, wire: Wire, framing: int,
                           policy: tuple[int, str] | None = None) -> AsyncIterator[bytes]:
        """The client's body; over ``--max-body-bytes`` or the ``policy`` limit (bytes, source)
        it ends in a 413 (a chunked body is counted as it arrives)."""
        total, limit = 0, self.limits.max_body_bytes
        try:
            async for piece in wire.body(framing):
                total += len(piece)
                if limit and total > limit:
                    raise _ClientFailed(413, f"request body larger than {limit} bytes")
                if policy is not None and total > policy[0]:
                    raise _ClientFailed(413, f"request body over the limit of {policy[0]} bytes of {policy[1]}")
                yield piece
        except HttpError as exc:
            raise _ClientFailed(exc.status, exc.message) from None
        except (PeerClosed, ConnectionError) as exc:
            raise _ClientFailed(0, f"client went away during the request body: {exc}") from None
        except TimeoutError:
            raise _ClientFailed(408, "the request body stalled for longer than "
                                f"{self.limits.body_timeout:g}s") from None

    async def proxy(
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
        watch: Watch,
    ) -> bool:
        up = outcome.upstream
        assert up is not None
        limit = self.limits.max_body_bytes
        if limit and head.body > limit:
            self.front.refuse(writer, client, 413, f"request body of {head.body} bytes is larger "
                         f"than {limit}")
            return False
        if head.expect_continue and head.body != 0:
            writer.write(_CONTINUE)
        mirrors = [m for m in outcome.mirrors if m.problem is None
                   and (m.percent >= 100 or self.front.rng.random() * 100 < m.percent)]
        retry = outcome.retry
        body: bytes | None = None
        stream: AsyncIterator[bytes] | None = None
        # a chunked body under a body limit policy: read whole before it goes on (413 before
        # the backend sees any of it, as Envoy's buffer and nginx's client_max_body_size do)
        # when the limit is small enough to hold; counted while it streams otherwise
        guard = self.front.guard
        policy = guard.body_limit(outcome.rule) if guard is not None and head.body == BODY_CHUNKED else None
        if (head.body > 0 and (head.body <= SMALL_BODY or len(wire.buf) >= head.body or (
                (mirrors or retry) and head.body <= self.limits.mirror_body_bytes))) or (
                policy is not None and policy[0] <= _HELD_BODY):
            try:
                body = b"".join([p async for p in self._client_body(wire, head.body, policy)])
            except _ClientFailed as exc:
                if exc.status:
                    self.front.refuse(writer, client, exc.status, exc.message)
                return False
        elif head.body != 0:
            stream = self._client_body(wire, head.body, policy)
        length = None if head.body == BODY_CHUNKED and stream is not None else \
            (len(body) if body is not None else max(head.body, 0))
        upstream_head = self.front.upstream_head(up, head, scheme, client, length)
        for target in mirrors:
            self._mirror(target.backend, upstream_head if stream is None else None, body)

        whole, per_attempt, read = self.front.timeouts(outcome.rule)
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
            watch.deadline = time.monotonic() + whole
        try:
            try:
                async with _NO_TIMEOUT if default else asyncio.timeout(whole):
                    keep = await self._attempts(head, writer, request, outcome, key, url, client,
                                                upstream_head, body, stream, tries, codes,
                                                backoff, per_attempt, sent, read)
                self.front.log_request(client, head, sent.status, "Routed", key, start)
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
                self.front.refuse(writer, client, exc.status, exc.message)
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
        self.front.answer(writer, status, text + "\n", keep_alive=keep, head_only=head.method == "HEAD")
        self.front.log_request(client, head, status, reason, key, start)
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
        read: float | None = None,
    ) -> bool:
        """Send to the backend (again, as the retry policy allows) and relay the answer."""
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                async with _NO_TIMEOUT if per_attempt is None else asyncio.timeout(per_attempt):
                    conn, resp = await self._exchange(url, upstream_head, body, stream,
                                                      head.method, read)
                    if not last and resp.status in codes:
                        await self._discard(url, conn, resp)
                        raise _Retry(f"backend answered {resp.status}")
                    sent.started, sent.status = True, resp.status
                    return await self.relay(head, writer, request, outcome, url, conn, resp)
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
        stream: AsyncIterator[bytes] | None, method: str, read: float | None = None,
    ) -> tuple[Conn, ResponseHead]:
        """Send the request and read the response head (a reused connection that turns out
        closed is replaced once, when the body can be sent again). ``read`` bounds each wait
        for the backend's next bytes, the head's and the body's (a read timeout policy)."""
        for attempt in (0, 1):
            conn = await self.pool.acquire(url)
            conn.wire.read_timeout = read
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
                resp = await _response_head(conn, method, read)
                while resp.status < 200:  # interim responses (100 Continue): not relayed
                    resp = await _response_head(conn, method, read)
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
            async for _ in conn.wire.response_body(resp.body):
                pass
        except BaseException:
            conn.close()
            raise
        self.pool.finish(url, conn, resp.keep_alive)

    async def relay(
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
        out, keep, rechunk = self.front.response_head(head, request, outcome, resp)
        wire = conn.wire
        try:
            if resp.body > 0 and len(wire.buf) >= resp.body:
                writer.write(out + wire.take_buffered(resp.body))
            else:
                writer.write(out)
                if resp.body != 0:
                    async for piece in wire.response_body(resp.body):
                        writer.write(encode_chunk(piece) if rechunk else piece)
                        await writer.drain()
                    if rechunk:
                        writer.write(b"0\r\n\r\n")
            await writer.drain()
        except BaseException:
            conn.close()
            raise
        self.pool.finish(url, conn, resp.keep_alive)
        return keep

    # -- mirrors ---------------------------------------------------------------------------

    def _mirror(self, key: str, upstream_head: bytes | None, body: bytes | None) -> None:
        url = self.front.backends.get(key)
        if url is None or upstream_head is None:
            why = "it has no address" if url is None else "the request body is streamed"
            if f"{key}:{why}" not in self.front.warned:
                self.front.warned.add(f"{key}:{why}")
                log.warning("mirror to %s skipped: %s", key, why)
            return
        if len(self.front.mirrors) >= _MAX_MIRRORS_IN_FLIGHT:
            log.warning("mirror to %s skipped: too many mirrored requests in flight", key)
            return
        task = asyncio.get_running_loop().create_task(self._send_mirror(url, upstream_head, body))
        self.front.mirrors.add(task)
        task.add_done_callback(self.front.mirrors.discard)

    async def _send_mirror(self, url: BackendURL, upstream_head: bytes, body: bytes | None) -> None:
        method = upstream_head.split(b" ", 1)[0].decode()
        try:
            async with asyncio.timeout(self.limits.upstream_timeout):
                conn, resp = await self._exchange(url, upstream_head, body, None, method)
                await self._discard(url, conn, resp)
        except (OSError, PeerClosed, HttpError, TimeoutError) as exc:
            log.info("mirror to %s failed: %s", url, exc)


async def _response_head(conn: Conn, method: str, read: float | None) -> ResponseHead:
    """The backend's next response head, within ``read`` seconds when a read timeout applies."""
    async with _NO_TIMEOUT if read is None else asyncio.timeout(read):
        raw = await conn.wire.read_head(MAX_RESPONSE_HEAD, MAX_RESPONSE_HEAD)
    if raw is None:
        raise PeerClosed("the backend closed the connection without answering")
    return parse_response_head(raw, method)
