"""Dialling backends: :class:`BackendURL` (where a Service's traffic goes) and
:class:`Pool`, which opens connections (:class:`~.channel.Channel` protocols, usable from
callbacks and from coroutines) and keeps idle keep-alive ones per backend for reuse.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import NamedTuple
from urllib.parse import urlsplit

from ing2gw.errors import UsageError

from .channel import Channel
from .stream import Wire

__all__ = ["BackendURL", "Conn", "Pool"]


class BackendURL(NamedTuple):
    """Where a Service port's traffic goes (a NamedTuple: the pool looks its idle connections
    up by it twice per request, and a tuple hashes and compares in C)."""

    scheme: str  # "http" | "https"
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> BackendURL:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"backend URL {text!r}: expected http://HOST:PORT or https://HOST:PORT")
        if parts.path not in ("", "/") or parts.query:
            raise UsageError(f"backend URL {text!r}: a path is not supported (the route decides "
                             "the path)")
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"backend URL {text!r}: invalid port") from None
        return cls(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class Conn:
    """One connection to a backend: ``writer`` is its channel, ``wire`` reads messages off
    it from coroutines."""

    __slots__ = ("wire", "writer", "reused")

    def __init__(self, channel: Channel) -> None:
        self.wire = Wire(channel)
        self.writer = channel
        self.reused = False

    def close(self) -> None:
        self.writer.handler = None
        self.writer.close()


class Pool:
    """Idle connections per backend, at most ``max_idle`` each."""

    def __init__(self, connect_timeout: float, max_idle: int = 256) -> None:
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._idle: dict[BackendURL, list[Conn]] = {}
        self._tls: ssl.SSLContext | None = None

    async def acquire(self, url: BackendURL) -> Conn:
        """A reusable idle connection, else a new one (``OSError``/``TimeoutError`` when the
        backend cannot be reached)."""
        return self.idle(url) or await self.connect(url)

    def idle(self, url: BackendURL) -> Conn | None:
        """A reusable idle connection, if there is one."""
        idle = self._idle.get(url)
        while idle:
            conn = idle.pop()
            ch = conn.writer
            if not ch.is_closing() and not ch.eof and not ch.buf:
                conn.reused = True
                return conn
            conn.close()
        return None

    async def connect(self, url: BackendURL) -> Conn:
        context: ssl.SSLContext | None = None
        if url.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            context = self._tls
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            _, channel = await loop.create_connection(Channel, url.host, url.port, ssl=context)
        return Conn(channel)

    def release(self, url: BackendURL, conn: Conn) -> None:
        """Give back a connection whose last response was read completely."""
        idle = self._idle.setdefault(url, [])
        ch = conn.writer
        ch.handler = None
        if conn.wire.buf or ch.buf or ch.eof or len(idle) >= self.max_idle or ch.is_closing():
            conn.close()
        else:
            idle.append(conn)

    def finish(self, url: BackendURL, conn: Conn, keep_alive: bool) -> None:
        """A response was read completely: keep the connection if its response allows."""
        if keep_alive:
            self.release(url, conn)
        else:
            conn.close()

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
