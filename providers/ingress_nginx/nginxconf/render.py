"""nginx.conf text for a :class:`.build.Build`, with the Lua-driven parts spelled in plain nginx.

The template (``templates/nginx.conf.j2`` in this provider) keeps everything that decides a
request's answer -- server names, location blocks from :func:`.helpers.build_location`,
``rewrite``/``X-Forwarded-Prefix`` from :func:`.helpers.build_proxy_pass`, ``return``
redirects, allow/deny, basic auth, the forwarded headers -- and writes the parts the
controller does in Lua as ordinary directives: the HTTPS redirect, HSTS, the www twin's
redirect, ``use-forwarded-headers`` (maps and the real-ip module), canary choice by header
and cookie (maps), CORS (``if`` + ``add_header``). Every location proxies to one echo server
and names itself (``X-Ing2gw-Location``, an id into :attr:`Rendered.locations`) and the Service
that would answer (``X-Ing2gw-Backend``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any

import jinja2

from ..model.settings import ControllerConfig, Policy
from .build import DEFAULT_SERVER, Build, CLocation, CServer
from .helpers import (
    DEFAULT_UPSTREAM,
    build_location,
    build_proxy_pass,
    build_server_name,
    enforce_regex_modifier,
    escape_literal_dollar,
    go_quote,
    is_location_in_location_list,
    needs_rewrite,
    origin_regex,
    sanitize_quoted_regex,
)

__all__ = ["DEFAULT_BACKEND_LABEL", "Rendered", "render"]

DEFAULT_BACKEND_LABEL = "default-backend"


@dataclass(frozen=True)
class Rendered:
    text: str
    locations: Mapping[str, Mapping[str, Any]]  # id -> {"ingress", "path", "location"}
    rendered_servers: tuple[str, ...]


def _q(value: str) -> str:
    """A value in double quotes for nginx, ``$`` kept as a literal."""
    return '"' + escape_literal_dollar(value.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _label(build: Build, backend: str) -> str:
    up = build.upstreams.get(backend)
    return up.label if up is not None and backend != DEFAULT_UPSTREAM else DEFAULT_BACKEND_LABEL


def _canary(build: Build, loc: CLocation, index: int) -> dict[str, Any] | None:
    """The maps choosing between the primary and its first alternative (balancer.lua order)."""
    primary = build.upstreams.get(loc.backend)
    if primary is None or not primary.alternatives:
        return None
    alt = build.upstreams.get(primary.alternatives[0])
    if alt is None or alt.canary is None or alt.canary.canary is None:
        return None
    c = alt.canary.canary
    header: list[str] = []
    if c.header:
        if c.header_value:
            header = [f"{_q(c.header_value)} canary;"]
        elif c.header_pattern:
            header = [f'"~{c.header_pattern}" canary;']
        else:
            header = ['always canary;', 'never primary;']
    total = c.weight_total
    fallback = "canary" if c.weight >= total and c.weight > 0 else "primary"
    return {
        "var": f"ing2gw_canary_{index}",
        "header_var": "$http_" + c.header.lower().replace("-", "_") if c.header else None,
        "header_lines": header,
        "cookie_var": "$cookie_" + c.cookie if c.cookie else None,
        "fallback": fallback,
        "primary": primary.label,
        "canary": alt.label,
    }


def _address(net: IPv4Network | IPv6Network) -> str:
    """A single address without its prefix length, as the controller keeps it."""
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def _cors(pol: Policy) -> dict[str, Any] | None:
    cors = pol.cors
    if cors is None:
        return None
    headers = [("Access-Control-Allow-Origin", "$cors_origin")]
    if cors.credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    headers.append(("Access-Control-Allow-Methods", ", ".join(cors.methods)))
    headers.append(("Access-Control-Allow-Headers", ",".join(cors.headers)))
    if cors.expose:
        headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose)))
    headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    origins = list(cors.origins)
    return {
        "any": origins == ["*"],
        "none": not origins,
        "regex": "(" + "|".join(origin_regex(o) for o in origins if o.strip()) + ")$" if origins != ["*"] else "",
        "headers": [(name, _q(value) if value != "$cors_origin" else value) for name, value in headers],
    }


def _location_view(build: Build, server: CServer, loc: CLocation, enforce: bool, loc_id: str,
                   config: ControllerConfig, custom: Mapping[str, Mapping[str, str]], index: int) -> dict[str, Any]:
    pol = loc.policy
    ing = loc.ingress
    up = build.upstreams.get(loc.backend)
    service, port = "", ""
    if up is not None and loc.backend != DEFAULT_UPSTREAM:
        svc_ref, _, port = up.label.rpartition(":")
        service = svc_ref.partition("/")[2]
    view: dict[str, Any] = {
        "directive": build_location(loc.path, loc.path_type, enforce),
        "id": loc_id,
        "namespace": ing.namespace if ing else "",
        "ingress_name": ing.name if ing else "",
        "service": service,
        "port": port,
        "ingress_path": loc.ingress_path,
        "upstream": loc.backend,
        "backend": _label(build, loc.backend),
        "denied": None,
        "relative": config.relative_redirects or bool(pol and pol.relative_redirects),
        "deny": [], "allow": [],
        "cors": None, "custom_headers": [], "return_line": None, "ssl_redirect": None,
        "proxy_pass": build_proxy_pass(loc.path, None, backend=loc.backend),
        "auth": None, "satisfy": None, "vhost": None, "canary": _canary(build, loc, index),
    }
    # an upstream a canary merge deleted: balancer.lua (after the HTTPS redirect) finds no balancer
    view["upstream_gone"] = loc.backend not in build.upstreams
    if pol is None:
        return view
    if pol.denied:
        view["denied"] = pol.denied
    if pol.custom_headers is not None:
        ns, name = pol.custom_headers.resolve(pol.namespace)
        data = custom.get(f"{ns}/{name}")
        if data is not None:
            allowed = set(config.global_allowed_response_headers)
            if any(h.lower() not in allowed for h in data):
                view["denied"] = "custom-headers not allowed"
            view["custom_headers"] = [(k, _q(v)) for k, v in sorted(data.items())]
    view["deny"] = [_address(n) for n in pol.deny]
    view["allow"] = [_address(n) for n in pol.allow]
    view["cors"] = _cors(pol)
    if pol.redirect is not None and pol.redirect.url:
        view["return_line"] = f"return {pol.redirect.code} {pol.redirect.url};"
    exempt = is_location_in_location_list(loc.path, ",".join(config.no_tls_redirect_locations))
    if not exempt and (pol.force_ssl_redirect or pol.ssl_redirect):
        # the Lua check looks at the request's Host: does it have a certificate ($ing2gw_tls_host)?
        view["ssl_redirect"] = {"strip": not pol.preserve_trailing_slash,
                                "port": ":443" if pol.use_port_in_redirects else "",
                                "when": "http" if pol.force_ssl_redirect else "http:1"}
    view["proxy_pass"] = build_proxy_pass(loc.path, pol.rewrite_target, backend=loc.backend,
                                          forwarded_prefix=pol.x_forwarded_prefix)
    if view["proxy_pass"].startswith("\nrewrite") and pol.rewrite_target and re.match("https?://", pol.rewrite_target):
        view["ssl_redirect"] = None  # nginx's own rewrite redirect answers first
    if pol.auth_type is not None and pol.basic_auth:
        view["auth"] = go_quote(pol.auth_realm or "")
    if pol.satisfy_any:
        view["satisfy"] = "any"
    if pol.upstream_vhost:
        view["vhost"] = '"' + pol.upstream_vhost.replace('"', '\\"') + '"'
    return view


def render(build: Build, config: ControllerConfig, *, listen: str, upstream: str, prefix: str,
           config_maps: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
           https_listen: str | None = None, certificate: tuple[str, str] | None = None) -> Rendered:
    """nginx.conf for ``build``: servers listen on ``listen`` (and ``https_listen`` with the
    ``certificate`` (cert, key) files), every location proxies to ``upstream``."""
    custom = {f"{ns}/{name}": data for (ns, name), data in (config_maps or {}).items()}
    locations: dict[str, dict[str, Any]] = {}
    servers = []
    canary_index = 0
    for i, server in enumerate(build.servers):
        enforce = enforce_regex_modifier(
            (loc.path, loc.policy.rewrite_target if loc.policy else None, bool(loc.policy and loc.policy.use_regex))
            for loc in server.locations)
        views = []
        for j, loc in enumerate(server.locations):
            loc_id = f"s{i}l{j}"
            locations[loc_id] = {"ingress": loc.ingress.ref if loc.ingress else None, "path": loc.ingress_path,
                                 "location": build_location(loc.path, loc.path_type, enforce)}
            canary_index += 1
            views.append(_location_view(build, server, loc, enforce, loc_id, config, custom, canary_index))
        app_root = next((loc.policy.app_root for loc in server.locations
                         if loc.policy is not None and loc.policy.app_root), None)
        # as nginx.tmpl writes it: the quoted name, then each alias quoted and followed by a space
        names = go_quote(build_server_name(server.hostname)) + " "
        names += "".join(f'"{sanitize_quoted_regex(a)}" ' for a in server.aliases)
        servers.append({"hostname": server.hostname, "default": server.hostname == DEFAULT_SERVER,
                        "names": names, "app_root": app_root, "locations": views})
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ing2gw.providers.ingress_nginx", "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
    )
    # hosts with a certificate: TLS servers by name, "*.x" servers for one more label
    tls_hosts = [server.hostname for server in build.servers if server.tls and server.hostname != DEFAULT_SERVER]
    tls_names = sorted(go_quote(h) for h in tls_hosts if not h.startswith("*."))
    tls_names += sorted(go_quote("~^[^.]+\\." + re.escape(h[2:]) + "$") for h in tls_hosts if h.startswith("*."))
    text = env.get_template("nginx.conf.j2").render(tls_names=tls_names,
        servers=servers, redirects=build.redirects, listen=listen, https_listen=https_listen,
        certificate=certificate, upstream=upstream, prefix=prefix, config=config,
        redirect_code=config.http_redirect_code, hsts=config.hsts_value if config.hsts else "",
        needs_rewrite=needs_rewrite,
    )
    return Rendered(text, locations, tuple(s.hostname for s in build.servers))
