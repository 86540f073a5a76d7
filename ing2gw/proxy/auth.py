"""External auth in ``serve``: asking auth services over HTTP, and the built-in auth backends.

:func:`ask` sends one :class:`~ing2gw.enforce.guard.AuthCall` to the auth service it names
(an ExternalAuth filter's ``ns/name:port``, or an ExternalAuth policy's URL, whose in-cluster
host ``svc.ns[.svc.cluster.local]`` names the Service) at the address ``--backend`` or
``--echo-backends`` gave it, and returns the answer's status and headers (the body is read
and dropped). An auth service that cannot be reached, or answers garbage, refuses the request
with 503 (Envoy's default: fail closed).

:class:`AuthBackend` is a built-in auth service, chosen with ``--backend KEY=allow-all``,
``deny-all`` (403) or ``stand-in`` (:mod:`ing2gw.enforce.standin`: an ``Authorization``
header allows); ``--echo-backends`` gives every auth Service without ``--backend`` the
stand-in, so ``serve`` answers as ``route`` and ``verify`` predict.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from ing2gw.emit.standard import cluster_service
from ing2gw.enforce.guard import AuthCall
from ing2gw.enforce.standin import AuthAnswer, stand_in
from ing2gw.http import Headers

from .http1 import HOP_BY_HOP, HttpError, RequestHead, encode_head, parse_response_head, reason_phrase
from .limits import Limits
from .stream import PeerClosed
from .tinyserver import answer_requests
from .upstream import BackendURL, Pool

__all__ = ["AUTH_MODES", "AuthBackend", "ask", "auth_service_key"]

log = logging.getLogger("ing2gw.proxy")
AUTH_MODES = ("allow-all", "deny-all", "stand-in")
_LIMITS = Limits()
_UNREACHABLE = 503


def auth_service_key(service: str) -> tuple[str, str | None] | None:
    """(``ns/name:port`` of the auth Service, the path to call or None) for an AuthCall's
    ``service``: a Service key as is, an URL by its in-cluster host; None when neither."""
    if "://" not in service:
        return service, None
    url = urlsplit(service)
    found = cluster_service(url.hostname or "")
    if found is None or found[1] is None:
        return None
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return None
    return f"{found[1]}/{found[0]}:{port}", url.path or "/"


async def ask(call: AuthCall, backends: dict[str, BackendURL], pool: Pool, timeout: float) -> AuthAnswer:
    """The auth service's answer to ``call`` (503 when it cannot be asked)."""
    found = auth_service_key(call.service)
    url = backends.get(found[0]) if found is not None else None
    if found is None or url is None:
        log.warning("no address for the auth service %s: map it with --backend (or --echo-backends); refused",
                    call.service)
        return AuthAnswer(_UNREACHABLE, Headers())
    path = found[1] or call.path
    fields = [("Host", found[0].split("/", 1)[1].rsplit(":", 1)[0])]
    fields += [(name, value) for name in call.headers if name.lower() not in HOP_BY_HOP | {"host", "content-length"}
               for value in call.headers.get_all(name)]
    fields += [("Content-Length", "0"), ("Connection", "close")]
    try:
        async with asyncio.timeout(timeout):
            conn = await pool.connect(url)
            try:
                conn.writer.write(encode_head(f"{call.method} {path} HTTP/1.1", fields))
                raw = await conn.wire.read_head(_LIMITS.max_request_line, _LIMITS.max_header_bytes)
                if raw is None:
                    raise PeerClosed("the auth service closed the connection")
                head = parse_response_head(raw, call.method)
                async for _ in conn.wire.body(head.body):
                    pass
            finally:
                conn.close()
    except (OSError, TimeoutError, PeerClosed, HttpError) as exc:
        log.warning("auth service %s (%s): %s; refused", call.service, url, exc or type(exc).__name__)
        return AuthAnswer(_UNREACHABLE, Headers())
    kept = [(n, v) for n, v in head.headers if n.lower() not in HOP_BY_HOP | {"content-length", "content-type"}]
    return AuthAnswer(head.status, Headers(kept))


class AuthBackend:
    """A built-in auth service: ``allow-all`` (200), ``deny-all`` (403) or ``stand-in``."""

    def __init__(self, key: str, mode: str) -> None:
        if mode not in AUTH_MODES:
            raise ValueError(f"unknown auth backend {mode!r}")
        self.key = key
        self.mode = mode

    def answer(self, headers: Headers) -> AuthAnswer:
        if self.mode == "allow-all":
            return AuthAnswer(200, Headers())
        if self.mode == "deny-all":
            return AuthAnswer(403, Headers())
        return stand_in(headers)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answer_requests(reader, writer, self._reply)

    async def _reply(self, writer: asyncio.StreamWriter, head: RequestHead, length: int) -> None:
        got = self.answer(Headers(list(head.headers)))
        body = f"{got.status} {reason_phrase(got.status)} ({self.mode} auth backend)\n".encode()
        fields = [*((n, got.headers.get(n) or "") for n in got.headers),
                  ("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))]
        if not head.keep_alive:
            fields.append(("connection", "close"))
        writer.write(encode_head(f"HTTP/1.1 {got.status} {reason_phrase(got.status)}", fields) + body)
        await writer.drain()
