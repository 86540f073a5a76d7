"""The reference Gateway API router: what a conformant data plane does with a request.

A pure library (no sockets). Compile once, route many::

    from ing2gw.http import Request
    from ing2gw.router import Router

    router = Router.from_manifests(objects)          # Gateways, HTTPRoutes, Services, ...
    outcome = router.route(Request.build(host="shop.example.com", path="/api?x=1"))
    outcome.status, outcome.backend                  # 200, "shop/api:8080"
    outcome.to_dict()                                # the documented JSON shape

Modules: :mod:`.table` compiles manifests into per-listener tables (with
:mod:`.inventory`, :mod:`.listeners` and :mod:`.rules`), :mod:`.precedence`
holds the match ordering, :mod:`.matcher` routes, :mod:`.filters` applies filter effects,
:mod:`.outcome` holds the result types, :mod:`.hostnames` the hostname rules,
:mod:`.paths` the request path normalisation policies. :mod:`.streams` decides stream
connections (TCP, TLS by SNI, UDP) on TCP, TLS and UDP listeners: TCPRoute, TLSRoute, UDPRoute.
"""

from __future__ import annotations

from .facade import Router
from .outcome import Matched, MirrorTarget, Outcome, RedirectTo, Upstream
from .paths import STANDARD, PathPolicy

__all__ = ["STANDARD", "Matched", "MirrorTarget", "Outcome", "PathPolicy", "RedirectTo", "Router",
           "Upstream"]
