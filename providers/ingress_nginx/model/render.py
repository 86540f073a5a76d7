"""The nginx.conf equivalent of a model's servers and locations (``templates/nginx.conf.j2``).

Used to check the model against a real nginx: the configuration keeps exactly what
location choice, ``rewrite``, ``return`` and the trailing-slash redirect depend on, and
replaces every upstream by one echo server. Each location sends ``X-Ing2gw-Location``
(its id, see :func:`location_ids`) and ``X-Ing2gw-Backend`` (``ns/svc:port`` or
``default-backend``) upstream. Lua-only behaviour (canary, HTTPS redirect, www twins) is
not rendered.
"""

from __future__ import annotations

from typing import Any

import jinja2

from .locations import Location, quote
from .servers import Server

__all__ = ["DEFAULT_BACKEND_LABEL", "location_ids", "render_nginx_conf"]

DEFAULT_BACKEND_LABEL = "default-backend"


def location_ids(servers: tuple[Server, ...]) -> dict[str, tuple[Server, Location]]:
    """``"s<i>l<j>"`` -> (server, location), for every rendered location."""
    ids: dict[str, tuple[Server, Location]] = {}
    for i, server in enumerate(s for s in servers if s.redirect_to is None):
        for j, loc in enumerate(server.locations):
            ids[f"s{i}l{j}"] = (server, loc)
    return ids


def _location_view(loc: Location, loc_id: str) -> dict[str, Any]:
    pol = loc.entry.policy
    return_line = rewrite_line = forwarded_prefix = None
    if pol is not None and pol.redirect is not None:
        return_line = f"return {pol.redirect.code} {quote(pol.redirect.url)};"
    if pol is not None and loc.rewrites:
        assert pol.rewrite_target is not None
        rewrite_line = f"rewrite {quote('(?i)' + loc.entry.path)} {pol.rewrite_target} break;"
        if pol.x_forwarded_prefix:
            forwarded_prefix = quote(pol.x_forwarded_prefix)
    access_lines: list[str] = []
    if pol is not None and (pol.allow or pol.deny):
        access_lines += [f"deny {net};" for net in pol.deny]
        if pol.allow:
            access_lines += [f"allow {net};" for net in pol.allow] + ["deny all;"]
    return {
        "directive": loc.directive,
        "access_lines": access_lines,
        "builtin": loc.builtin,
        "relative_redirects": bool(pol and pol.relative_redirects),
        "return_line": return_line,
        "rewrite_line": rewrite_line,
        "forwarded_prefix": forwarded_prefix,
        "backend": quote(loc.entry.backend or (loc.builtin or DEFAULT_BACKEND_LABEL)),
        "id": loc_id,
    }


def render_nginx_conf(
    servers: tuple[Server, ...], *, listen: str, upstream: str, prefix: str, ingress_count: int = 0
) -> str:
    """nginx.conf for ``servers``: every server listens on ``listen`` (``127.0.0.1:8080``),
    every location proxies to ``upstream`` (``127.0.0.1:9000``); runtime files go to ``prefix``."""
    views = []
    ids = {id(loc): loc_id for loc_id, (_, loc) in location_ids(servers).items()}
    for server in servers:
        if server.redirect_to is not None:
            continue
        views.append({
            "name": server.name,
            "default": server.is_default,
            "names": server.server_names,
            "app_root": server.app_root,
            "locations": [_location_view(loc, ids[id(loc)]) for loc in server.locations],
        })
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ing2gw.templates", "."),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    template = env.get_template("nginx.conf.j2")
    return template.render(servers=views, listen=listen, upstream=upstream, prefix=prefix,
                           ingress_count=ingress_count)
