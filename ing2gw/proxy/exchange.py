"""One forwarded request on the fast path: :class:`Exchange` is the handler of its backend
connection from sending the request to the end of a response framed by Content-Length
(other framings go on in :meth:`.relay.Relay.relay`), answering 502/504 itself when the
backend fails before the response starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ing2gw.http import Request
from ing2gw.router import Outcome

from .channel import Channel
from .front import CACHE_HEAD_BYTES, Forward, remember
from .http1 import HttpError, RequestHead, ResponseHead, parse_response_head
from .relay import MAX_RESPONSE_HEAD
from .stream import PeerClosed
from .upstream import Conn

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Exchange"]

log = logging.getLogger("ing2gw.proxy")


class Exchange:
    """One forwarded request on the fast path: the handler of its backend connection from
    sending the request to the end of a response framed by Content-Length (other framings
    go on in :meth:`.relay.Relay.relay`). A client connection carries one request at a
    time, so it uses its last exchange again once that one completed normally
    (``Client.spare``) instead of building one per request."""

    __slots__ = ("client", "head", "request", "outcome", "key", "url", "data", "start", "conn",
                 "resp", "out", "remaining", "keep", "retried", "got", "finished", "dial",
                 "plain")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.dial: asyncio.Task[Conn] | None = None

    def begin(self, head: RequestHead, request: Request, forward: Forward, data: bytes,
              start: float) -> None:
        """Send ``data`` (the upstream head and body) for ``head`` as ``forward`` says."""
        self.head = head
        self.request = request
        self.outcome: Outcome = forward.outcome
        self.key = forward.key
        self.url = forward.url
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
        # no response filters or policy headers: the head sent on depends on the backend's head alone
        self.plain = forward.plain
        self._dial()

    def _dial(self) -> None:
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
        if n and buf:  # the head (if not yet sent) and the body so far, in one write
            if n >= len(buf):
                self.remaining = n - len(buf)
                out = out + buf if out else bytes(buf)
                buf.clear()
            else:
                self.remaining = 0
                out = out + buf[:n] if out else bytes(buf[:n])
                del buf[:n]
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
                if b"\n\n" in buf:
                    self._failed(HttpError(502, "a response head ended by bare LF line endings"))
                elif len(buf) > MAX_RESPONSE_HEAD:
                    self._failed(HttpError(502, f"message head larger than {MAX_RESPONSE_HEAD} "
                                                "bytes"))
                return False
            raw = bytes(buf[:end])
            del buf[: end + 4]
            head = self.head
            key = (raw, head.method, head.keep_alive, head.version)
            known = self.client.front.answers.get(key) if self.plain else None
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
            client._lend(self._relayed(front.relay.relay(self.head, client.ch, self.request,
                                                    self.outcome, self.url, conn, resp)),
                         self.head)
            return False
        front = client.front
        if known is not None:
            _, self.out, self.keep = known
        else:
            self.out, self.keep, _ = front.response_head(self.head, self.request,
                                                          self.outcome, resp)
            if self.plain and len(raw) <= CACHE_HEAD_BYTES:
                remember(front.answers, key, (resp, self.out, self.keep))
        self.remaining = resp.body
        return True

    async def _relayed(self, relay: Coroutine[Any, Any, bool]) -> bool:
        keep = await relay
        assert self.resp is not None
        self.client.front.log_request(self.client.client, self.head, self.resp.status, "Routed",
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
        front.pool.finish(self.url, conn, resp.keep_alive)
        front.log_request(client.client, self.head, resp.status, "Routed", self.key, self.start)
        client.spare = self  # nothing refers to it any more: the next request may use it
        client._done(self.keep)

    def _broken(self, exc: Exception) -> None:
        """The backend connection ended or failed before the response was complete."""
        conn = self.conn
        if self.resp is None and conn is not None and conn.reused and not self.got \
                and not self.retried:  # a kept-alive connection the backend had closed
            self.retried = True
            conn.close()
            self.conn = None
            self._dial()
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
        front.answer(client.ch, status, text + "\n", keep_alive=head.keep_alive,
                      head_only=head.method == "HEAD")
        front.log_request(client.client, head, status, reason, key, self.start)
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

