"""``ing2gw serve``: a reference Gateway API reverse proxy over real sockets.

Every request goes through :class:`ing2gw.router.Router`; the proxy only carries out the
outcome (see :mod:`.front`). Modules: :mod:`.server` binds sockets and runs workers,
:mod:`.front` holds what connections share and turns outcomes into bytes, :mod:`.client`
serves a client connection from callbacks, :mod:`.exchange` forwards a plain request on a
pooled backend connection, :mod:`.relay` runs the requests that need a coroutine,
:mod:`.channel` is the asyncio protocol under every socket, :mod:`.http1` and :mod:`.stream`
speak HTTP/1.1, :mod:`.upstream` dials backends, :mod:`.echo` holds the built-in echo
backends, :mod:`.auth` asks auth services and holds the built-in auth backends (the
policies themselves are enforced by :class:`ing2gw.enforce.guard.Guard`),
:mod:`.tls` makes certificates and picks them by SNI, :mod:`.topology` reads the
ports and backends out of the router's table, :mod:`.limits` holds the limits and durations.

Why asyncio protocols with llhttp rather than a framework: the safety rules (refuse
conflicting Content-Length/Transfer-Encoding and obs-fold, answer 414 and 431 by their own
limits, 408 for a half-sent head but a quiet close for an idle keep-alive connection, strict
Host and absolute-form handling, stop reading a client that does not read) need control of
the connection that frameworks do not expose. Heads are parsed by llhttp (``httptools``)
with the proxy's own rules on top (:mod:`.http1`). The common request (a small body, a
kept-alive backend connection, a response framed by Content-Length) runs entirely in
protocol callbacks, without a task, future or stream object per request; the rest
(streamed bodies, retries, mirrors, route timeouts, chunked responses) runs as a coroutine
over the same connection. Dependencies: ``httptools`` (parsing) and ``cryptography``
(certificates).

Use from Python (tests, ``verify --via-proxy``)::

    from ing2gw.proxy import ServeOptions, start_serve
    with start_serve(objects, ServeOptions(echo_backends=True, ephemeral=True)) as proxy:
        proxy.ports          # {80: 41234}: Gateway port -> local port
        proxy.url(80, "/")   # "http://127.0.0.1:41234/"
"""

from __future__ import annotations

from .limits import Limits
from .server import ListenSpec, RunningProxy, ServeOptions, prepare, serve_forever, start_serve

__all__ = ["Limits", "ListenSpec", "RunningProxy", "ServeOptions", "prepare", "serve_forever",
           "start_serve"]
