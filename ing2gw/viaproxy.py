"""``verify --via-proxy``: send replayed requests through ``ing2gw serve`` over real HTTP and
check that the proxy does what the reference router predicts (it must never disagree).

The proxy runs in-process on ephemeral loopback ports with echo backends and no traffic
split (it takes the router's choice), so every answer is comparable: status, redirect
Location, and -- from the echo backend -- the Service, path and Host that arrived.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

from .enforce.timeouts import format_seconds
from .http import Request
from .proxy.echo import DELAY_HEADER

__all__ = ["CLIENT_HEADER", "ProxyCheck"]

CLIENT_HEADER = "X-Ing2gw-Client"  # the replayed request's client address, for the proxy's policies
_MAX_BODY = 16 << 20
_MAX_DELAY = 3.0  # seconds: a slower backend (a timeout probe over a long limit) is not checked


class ProxyCheck:
    name = "proxy"

    def __init__(self, manifests: Sequence[Mapping[str, Any]], router: Any) -> None:
        from .proxy import ServeOptions, start_serve

        self.router = router
        guard = getattr(router, "guard", None)
        # Per request, like the router it is checked against: rate limits are not counted, and
        # the client address allow-lists see is the replayed request's (sent in CLIENT_HEADER).
        self.proxy = start_serve(list(manifests), ServeOptions(
            ephemeral=True, echo_backends=True, split=False, count_rate_limits=False, client_header=CLIENT_HEADER,
            credentials=guard.credentials if guard is not None else None))
        self._tls = ssl.create_default_context(cafile=str(self.proxy.ca_file)) if self.proxy.ca_file else None

    def _send(self, request: Request, local_port: int) -> tuple[int, dict[str, str], bytes]:
        conn: http.client.HTTPConnection
        if request.scheme == "https":
            if self._tls is None:
                raise OSError("the proxy has no TLS listener")
            ctx = self._tls
            ctx.check_hostname = False  # SNI is the request's host; names are checked by the proxy
            conn = http.client.HTTPSConnection("127.0.0.1", local_port, timeout=10, context=ctx)
            conn._server_hostname = request.sni or request.hostname  # type: ignore[attr-defined]
        else:
            conn = http.client.HTTPConnection("127.0.0.1", local_port, timeout=10)
        try:
            conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", request.host)
            for name in request.headers:
                for value in request.headers.get_all(name):
                    conn.putheader(name, value)
            if request.client:
                conn.putheader(CLIENT_HEADER, request.client)
            if request.backend_delay is not None:
                conn.putheader(DELAY_HEADER, format_seconds(request.backend_delay))
            length = request.headers.get("content-length")
            # a policy probe announcing a body sends it (small: at and over a body limit)
            conn.endheaders(b"x" * int(length) if length and length.isdigit() and int(length) <= _MAX_BODY else None)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def check(self, request: Request) -> list[str] | None:
        """Where the proxy and the router differ for ``request`` (None: not servable here)."""
        local = self.proxy.ports.get(request.port)
        if local is None or self.proxy.schemes.get(request.port) != request.scheme:
            return None
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > _MAX_BODY):
            return None  # a body that large is not sent
        if request.backend_delay is not None and request.backend_delay > _MAX_DELAY:
            return None  # too slow to wait for
        want = self.router.route(request).to_dict()
        try:
            status, headers, body = self._send(request, local)
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            if want.get("status") is None:
                return []  # the router predicts a failure below HTTP too
            return [f"request failed: {type(exc).__name__}: {exc}"]
        problems: list[str] = []
        if status != want.get("status"):
            problems.append(f"status: router {want.get('status')}, proxy {status}")
        redirect = want.get("redirect")
        if redirect and headers.get("location") != redirect["location"]:
            problems.append(f"Location: router {redirect['location']}, proxy {headers.get('location')}")
        if want.get("backend") and status == 200:
            try:
                echo = json.loads(body)
            except ValueError:
                return [*problems, "the backend's answer is not the echo server's"]
            got = f"{echo.get('namespace')}/{echo.get('service')}:{echo.get('port')}"
            if got != want["backend"]:
                problems.append(f"backend: router {want['backend']}, proxy {got}")
            upstream = want.get("upstream") or {}
            if echo.get("path") != upstream.get("path"):
                problems.append(f"upstream path: router {upstream.get('path')}, proxy {echo.get('path')}")
            if echo.get("host") != upstream.get("host"):
                problems.append(f"upstream Host: router {upstream.get('host')}, proxy {echo.get('host')}")
        return problems

    def stop(self) -> None:
        self.proxy.stop()
