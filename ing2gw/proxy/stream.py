"""Reading HTTP/1.1 messages off a socket: a :class:`Wire` owns the bytes read ahead of
the message being parsed, finds the end of a head within the size limits, and yields
bodies framed by ``Content-Length``, chunked coding or the end of the connection.

The proxy keeps its own buffer (instead of ``StreamReader.readuntil``) so that it can tell
a half-sent head (408) from an idle keep-alive connection (closed quietly), and so that
pipelined requests stay in the buffer for the next turn. Chunked bodies are decoded by
llhttp: a response's (:meth:`Wire.response_body`) as it arrives, a request's
(:meth:`Wire.body`) fed up to one line end at a time, so that llhttp stops exactly at the
body's end and a request pipelined behind it stays in the buffer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import httptools

from .http1 import BODY_CHUNKED, BODY_UNTIL_CLOSE, HttpError

__all__ = ["PeerClosed", "Source", "Wire", "encode_chunk"]

_READ = 65536
_CHUNKED_RESPONSE = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
_CHUNKED_REQUEST = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
_MAX_TRAILERS = 16 * 1024
_MAX_FRAMING = 4096 + _MAX_TRAILERS  # a chunk's size line and extensions, or the trailers


class Source(Protocol):
    """Where a :class:`Wire` reads from: an :class:`asyncio.StreamReader` or a
    :class:`~.channel.Channel` without a handler."""

    async def read(self, n: int = -1) -> bytes: ...
    def at_eof(self) -> bool: ...


class _ChunkedSink:
    """llhttp's callbacks while it decodes a chunked body. ``fed`` and ``body_bytes`` count
    what went in and what came out; their difference since the last chunk header is the
    framing (size line, extensions, trailers) of the current chunk."""

    __slots__ = ("pieces", "complete", "trailer_bytes", "in_body", "fed", "body_bytes", "framing_base")

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.complete = False
        self.trailer_bytes = 0
        self.in_body = False
        self.fed = 0
        self.body_bytes = 0
        self.framing_base = 0

    def on_headers_complete(self) -> None:
        self.in_body = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_body:  # a trailer field
            self.trailer_bytes += len(name) + len(value)

    def on_chunk_header(self) -> None:
        self.framing_base = self.fed - self.body_bytes

    def on_body(self, data: bytes) -> None:
        self.body_bytes += len(data)
        self.pieces.append(bytes(data))

    def on_message_complete(self) -> None:
        self.complete = True


def _feed_lines(parser: httptools.HttpRequestParser | httptools.HttpResponseParser, sink: _ChunkedSink,
                buf: bytearray, status: int) -> int:
    """Feed ``buf`` to ``parser`` up to one line end at a time until the message completes;
    the number of bytes used (all of them unless the message completed). Malformed framing
    is an :class:`HttpError` with ``status``."""
    view = memoryview(buf)
    pos, size = 0, len(buf)
    try:
        while pos < size:
            end = buf.find(b"\n", pos)
            end = size if end < 0 else end + 1
            parser.feed_data(view[pos:end])
            sink.fed += end - pos
            pos = end
            if sink.complete:
                break
            if sink.fed - sink.body_bytes - sink.framing_base > _MAX_FRAMING:
                raise HttpError(status, f"chunk size line, extensions or trailers longer than {_MAX_FRAMING} bytes")
    except httptools.HttpParserError as exc:
        raise HttpError(status, f"malformed chunked body ({exc or type(exc).__name__}, llhttp)") from None
    finally:
        view.release()
    return pos


class PeerClosed(Exception):
    """The other side closed the connection in the middle of a message."""


def encode_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class Wire:
    """A stream reader plus the bytes read ahead. ``read_timeout`` bounds each wait for
    more body bytes (``None``: the caller's deadline governs)."""

    __slots__ = ("reader", "buf", "read_timeout")

    def __init__(self, reader: Source, read_timeout: float | None = None) -> None:
        self.reader = reader
        self.buf = bytearray()
        self.read_timeout = read_timeout

    async def _fill(self) -> bytes:
        if self.read_timeout is None:
            data = await self.reader.read(_READ)
        else:
            async with asyncio.timeout(self.read_timeout):
                data = await self.reader.read(_READ)
        return data

    async def read_head(
        self, max_line: int, max_bytes: int, on_first_byte: Callable[[], None] | None = None
    ) -> bytes | None:
        """The next head, without its blank line, removed from the buffer. ``None`` when the
        connection ends cleanly before a new message. Raises :class:`HttpError` 414/431 when
        the line or the head outgrows its limit, :class:`PeerClosed` when cut short."""
        buf = self.buf
        pos = 0
        while True:
            while buf[:2] == b"\r\n":  # RFC 9112 §2.2: ignore empty lines before a request
                del buf[:2]
            end = buf.find(b"\r\n\r\n", max(0, pos - 3))
            if end >= 0:
                head = bytes(buf[:end])
                del buf[: end + 4]
                return head
            if buf.find(b"\n\n", max(0, pos - 1)) >= 0:
                raise HttpError(400, "a message head ended by bare LF line endings")
            if len(buf) > max_line and buf.find(b"\r\n", 0, max_line + 2) < 0:
                raise HttpError(414, f"request line longer than {max_line} bytes")
            if len(buf) > max_bytes:
                raise HttpError(431, f"message head larger than {max_bytes} bytes")
            pos = len(buf)
            was_empty = not buf
            data = await self.reader.read(_READ)
            if not data:
                if not buf:
                    return None
                raise PeerClosed("connection closed in the middle of a message head")
            buf += data
            if was_empty and on_first_byte is not None:
                on_first_byte()

    def take_buffered(self, limit: int) -> bytes:
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data

    async def body(self, framing: int) -> AsyncIterator[bytes]:
        """The body's pieces (chunked coding removed; trailers read and dropped)."""
        if framing > 0:
            remaining = framing
            while remaining:
                if not self.buf:
                    data = await self._fill()
                    if not data:
                        raise PeerClosed("connection closed before the end of the body")
                    self.buf += data
                piece = self.take_buffered(remaining)
                remaining -= len(piece)
                yield piece
        elif framing == BODY_CHUNKED:
            async for piece in self._chunked(httptools.HttpRequestParser, _CHUNKED_REQUEST, 400, 431):
                yield piece
        elif framing == BODY_UNTIL_CLOSE:
            if self.buf:
                yield self.take_buffered(len(self.buf))
            while True:
                data = await self._fill()
                if not data:
                    return
                yield data

    async def response_body(self, framing: int) -> AsyncIterator[bytes]:
        """A backend's response body: a chunked one is decoded by llhttp (:meth:`_chunked`);
        bytes the backend sent after the end of its response stay in :attr:`buf`, so the
        connection is not reused."""
        if framing != BODY_CHUNKED:
            async for piece in self.body(framing):
                yield piece
            return
        async for piece in self._chunked(httptools.HttpResponseParser, _CHUNKED_RESPONSE, 502, 502):
            yield piece

    async def _chunked(self, kind: type[httptools.HttpRequestParser] | type[httptools.HttpResponseParser],
                       head: bytes, status: int, trailers_status: int) -> AsyncIterator[bytes]:
        """A chunked body, decoded by llhttp (a parser of ``kind`` primed with a ``head``
        announcing it). A client may pipeline its next request right behind the body, and
        llhttp reads on into whatever it is given, so it is given the bytes up to one line end
        at a time: a chunked body ends with a line end, so the feed in which llhttp completes
        the message ends exactly where the body ends, and the bytes after it stay in
        :attr:`buf` (the next request's; after a response they keep the connection from being
        reused). Malformed framing gets ``status``, too large trailers ``trailers_status``."""
        sink = _ChunkedSink()
        parser = kind(sink)
        parser.feed_data(head)
        buf = self.buf
        while True:
            if buf:
                used = _feed_lines(parser, sink, buf, status)
                del buf[:used]
                if sink.trailer_bytes > _MAX_TRAILERS:
                    raise HttpError(trailers_status, "chunked trailers too large")
                pieces, sink.pieces = sink.pieces, []
                for piece in pieces:
                    yield piece
                if sink.complete:
                    return
            data = await self._fill()
            if not data:
                raise PeerClosed("connection closed in chunked body")
            buf += data
