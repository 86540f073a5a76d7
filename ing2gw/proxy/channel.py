"""One socket as an asyncio :class:`~asyncio.Protocol`: a :class:`Channel` keeps the bytes
received and either hands them straight to a :class:`Handler`'s callbacks (the proxy's
fast path: no task, future or stream object per request) or, with no handler, serves them
through an awaitable ``read`` plus ``write``/``drain`` (the same surface as asyncio's
StreamReader/StreamWriter, which the slow-path coroutines and :class:`~.stream.Wire` use).

A connection can switch between the two at any message boundary: the client side of the
proxy runs most requests from callbacks and lends the connection to a coroutine for the
rare ones that need streaming, retries, mirrors or route timeouts.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

__all__ = ["Channel", "Handler"]

_HIGH_WATER = 256 * 1024  # buffered and unread beyond this: stop reading from the socket


class Handler(Protocol):
    """What a channel calls in fast mode (every callback gets the channel)."""

    def on_open(self, ch: Channel) -> None: ...
    def on_data(self, ch: Channel) -> None: ...
    def on_eof(self, ch: Channel) -> None: ...
    def on_lost(self, ch: Channel) -> None: ...
    def on_writable(self, ch: Channel, writable: bool) -> None: ...


class Channel(asyncio.Protocol):
    """The buffer and state of one connection. ``buf`` holds what arrived and was not yet
    taken; ``eof`` is set when the peer finished sending, ``lost`` when the connection is
    gone."""

    __slots__ = ("transport", "buf", "handler", "eof", "lost", "tls", "_waiter", "_drain",
                 "_write_paused", "_read_paused")

    def __init__(self, handler: Handler | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handler = handler
        self.eof = False
        self.lost = False
        self.tls = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False

    # -- protocol callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.tls = transport.get_extra_info("sslcontext") is not None
        if self.handler is not None:
            self.handler.on_open(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        handler = self.handler
        if handler is not None:
            handler.on_data(self)
            return
        self._wake()
        if len(self.buf) > _HIGH_WATER:
            self.pause_reading()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        if self.handler is not None:
            self.handler.on_eof(self)
        return not self.tls  # keep a TCP connection half-open until the answer is sent

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = self.lost = True
        self._wake()
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_exception(ConnectionResetError("connection lost"))
            drain.exception()  # retrieved: nobody may be waiting any more
        if self.handler is not None:
            self.handler.on_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.handler is not None:
            self.handler.on_writable(self, False)

    def resume_writing(self) -> None:
        self._write_paused = False
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)
        if self.handler is not None:
            self.handler.on_writable(self, True)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading ---------------------------------------------------------------------------

    def pause_reading(self) -> None:
        if not self._read_paused and not self.lost and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._read_paused and not self.lost and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all buffered when ``n`` < 0); ``b""`` at the end."""
        while not self.buf:
            if self.eof:
                return b""
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        if n < 0 or n >= len(self.buf):
            data = bytes(self.buf)
            self.buf.clear()
        else:
            data = bytes(self.buf[:n])
            del self.buf[:n]
        if self._read_paused and len(self.buf) <= _HIGH_WATER // 2:
            self.resume_reading()
        return data

    def at_eof(self) -> bool:
        return self.eof and not self.buf

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.lost and self.transport is not None:
            self.transport.write(data)

    @property
    def write_paused(self) -> bool:
        return self._write_paused

    async def drain(self) -> None:
        if self.lost:
            raise ConnectionResetError("connection lost")
        if not self._write_paused:
            return
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drain)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping unsent data."""
        if self.transport is not None:
            self.transport.abort()

    def is_closing(self) -> bool:
        return self.lost or self.transport is None or self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default if self.transport is None else self.transport.get_extra_info(name, default)
