"""Built-in echo backends (``--echo-backends``): one small HTTP/1.1 server per Service
backend, answering every request with JSON that reports what it received, following the
Gateway API conformance echo server's contract::

    {"path": "/a?x=1", "host": "shop.example.com", "method": "GET", "proto": "HTTP/1.1",
     "headers": {"X-Forwarded-For": ["127.0.0.1"], ...},
     "namespace": "shop", "ingress": "", "service": "api", "pod": "api-echo", "port": 8080,
     "bodyLength": 0}

Like the conformance server it sets response headers asked for with
``X-Echo-Set-Header: Name:Value,...``; a ``delay`` query parameter (``delay=1s``, GEP-2257
syntax) or an ``X-Echo-Delay`` header (the same syntax; it leaves the path alone) makes it wait
before answering, for exercising timeouts. The last requests each
server received are kept in :attr:`EchoBackend.seen` (mirror checks).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from urllib.parse import parse_qsl

from .http1 import RequestHead, encode_head
from .limits import parse_duration
from .tinyserver import answer_requests

__all__ = ["DELAY_HEADER", "EchoBackend"]

DELAY_HEADER = "X-Echo-Delay"

log = logging.getLogger("ing2gw.proxy")


class EchoBackend:
    """The echo server of one Service backend key (``ns/name:port``)."""

    def __init__(self, key: str, namespace: str, service: str, port: int) -> None:
        self.key = key
        self.namespace = namespace
        self.service = service
        self.service_port = port
        self.seen: collections.deque[tuple[str, str]] = collections.deque(maxlen=1000)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_requests(reader, writer, self._reply)

    async def _reply(self, writer: asyncio.StreamWriter, head: RequestHead, length: int) -> None:
        self.seen.append((head.method, head.target))
        await self._answer(writer, head.method, head.target, head.host, head.version, head.headers, length)

    async def _answer(self, writer: asyncio.StreamWriter, method: str, target: str, host: str,
                      version: str, fields: tuple[tuple[str, str], ...], length: int) -> None:
        query = target.partition("?")[2]
        params = dict(parse_qsl(query, keep_blank_values=True))
        delay = parse_duration(params.get("delay", "")) if "delay" in params else None
        headers: dict[str, list[str]] = {}
        extra: list[tuple[str, str]] = []
        for name, value in fields:
            headers.setdefault(name, []).append(value)
            if name.lower() == DELAY_HEADER.lower():
                delay = parse_duration(value) or delay
            elif name.lower() == "x-echo-set-header":
                for item in value.split(","):
                    hname, sep, hvalue = item.partition(":")
                    if sep and hname.strip():
                        extra.append((hname.strip(), hvalue.strip()))
        if delay:
            await asyncio.sleep(delay)
        body = json.dumps({
            "path": target, "host": host, "method": method, "proto": f"HTTP/{version}",
            "headers": headers, "namespace": self.namespace, "ingress": "",
            "service": self.service, "pod": f"{self.service}-echo", "port": self.service_port,
            "bodyLength": length,
        }, sort_keys=True).encode()
        out = [("content-type", "application/json"), *extra, ("content-length", str(len(body)))]
        if method == "HEAD":
            body = b""
        writer.write(encode_head("HTTP/1.1 200 OK", out) + body)
        await writer.drain()
