"""The request loop of the built-in servers (echo and auth backends).

:func:`answer_requests` reads requests from one connection under the default
:class:`~ing2gw.proxy.limits.Limits` (keep-alive and body timeouts, head sizes), reads each
body to its end and hands the head and the body's length to the server's ``answer``, until
the client closes or asks to. A malformed request is answered with its error status and the
connection closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .http1 import HttpError, RequestHead, encode_head, parse_request_head, reason_phrase
from .limits import Limits
from .stream import PeerClosed, Wire

__all__ = ["Answer", "answer_requests"]

_LIMITS = Limits()

Answer = Callable[[asyncio.StreamWriter, RequestHead, int], Awaitable[None]]


async def answer_requests(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: Answer) -> None:
    """Serve one connection: ``await answer(writer, head, body_length)`` per request."""
    wire = Wire(reader, read_timeout=_LIMITS.body_timeout)
    try:
        while True:
            async with asyncio.timeout(_LIMITS.keepalive_timeout):
                raw = await wire.read_head(_LIMITS.max_request_line, _LIMITS.max_header_bytes)
            if raw is None:
                return
            head = parse_request_head(raw, _LIMITS)
            length = 0
            async for piece in wire.body(head.body):
                length += len(piece)
            await answer(writer, head, length)
            if not head.keep_alive:
                return
    except HttpError as exc:
        body = f"{exc.message}\n".encode()
        writer.write(encode_head(f"HTTP/1.1 {exc.status} {reason_phrase(exc.status)}",
                                 [("content-length", str(len(body))), ("connection", "close")]) + body)
    except (PeerClosed, ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
