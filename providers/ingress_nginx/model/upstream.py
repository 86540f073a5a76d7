"""The request ingress-nginx sends upstream: forwarded headers, Host, and nginx variables.

:class:`Forwarded` is what the controller's Lua rewrite handler derives from the connection
and, with ``use-forwarded-headers``, from the client's ``X-Forwarded-*`` headers: the
scheme (``$pass_access_scheme``, the raw ``X-Forwarded-Proto`` value), the host
(``$best_http_host``, the first ``X-Forwarded-Host`` entry), the port (``$pass_port``) and
the client address (the real-ip module's ``$remote_addr``). :func:`upstream_headers` writes
the template's ``proxy_set_header`` lines over the client's headers: ``X-Forwarded-For``
replaced (the client's value moves to ``X-Original-Forwarded-For``), ``X-Real-IP``,
``X-Request-ID`` kept or generated, ``Proxy`` and (under basic/digest auth)
``Authorization`` removed. :func:`expand` evaluates nginx variables in ``upstream-vhost``
and ``rewrite-target`` values; :func:`template` reads such a value once (the location's own
variables filled in) so that :func:`render` only looks up what depends on the request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

from ing2gw.http import Headers, Request

__all__ = ["Forwarded", "Template", "cookie", "expand", "forwarded", "location_variables", "render", "request_id",
           "template", "upstream_headers"]

_VARIABLE = re.compile(r"\$(?:(\d)|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


class Forwarded(NamedTuple):  # one per request: a tuple is the cheapest value to build
    scheme: str  # $pass_access_scheme
    host: str  # $best_http_host (may carry a port)
    port: str  # $pass_port
    client: str | None  # $remote_addr, when known


def _first_forwarded_for(value: str | None) -> str | None:
    if not value:
        return None
    first = value.split(",")[0].strip()
    return first or None


def forwarded(request: Request, use_forwarded_headers: bool, client_ip: str | None) -> Forwarded:
    """The Lua rewrite handler's view (lua_ingress.rewrite) plus the real-ip module's."""
    scheme = request.scheme
    host = request.host
    port = str(request.port)
    client = client_ip
    if use_forwarded_headers:
        proto = request.headers.get("x-forwarded-proto")
        if proto is not None:
            scheme = proto  # taken verbatim: "HTTP" or "https, http" are not "http"
        xf_port = request.headers.get("x-forwarded-port")
        if xf_port is not None:
            port = xf_port
        xf_host = request.headers.get("x-forwarded-host")
        if xf_host is not None:
            host = xf_host.split(",")[0]
        # real_ip_header X-Forwarded-For, recursive, every address trusted (proxy-real-ip-cidr 0.0.0.0/0)
        client = _first_forwarded_for(request.headers.get("x-forwarded-for")) or client
    return Forwarded(scheme, host, port, client)


def request_id(request: Request) -> str:
    """``$req_id``: the client's X-Request-ID, else a 32-hex id (nginx's ``$request_id`` is random;
    the model derives a stable one from the request so that its answers are reproducible)."""
    given = request.headers.get("x-request-id")
    if given:
        return given
    return hashlib.sha256(f"{request.method} {request.host} {request.target}".encode()).hexdigest()[:32]


def location_variables(*, namespace: str, ingress: str, service: str, port: str, path: str,
                       upstream: str) -> dict[str, str]:
    """The ``set`` lines at the top of every location block."""
    return {"namespace": namespace, "ingress_name": ingress, "service_name": service, "service_port": port,
            "location_path": path, "proxy_upstream_name": upstream, "proxy_host": upstream}


def expand(text: str, request: Request, fwd: Forwarded, uri: str, local: Mapping[str, str],
           captures: tuple[str, ...] = (), notes: list[str] | None = None) -> str:
    """``text`` with nginx variables replaced (``$1``..``$9`` from ``captures``). A variable the
    model does not know is left as written and reported in ``notes``."""
    query = request.query or ""
    core = {
        "host": request.hostname, "http_host": request.host, "best_http_host": fwd.host, "scheme": request.scheme,
        "pass_access_scheme": fwd.scheme, "pass_port": fwd.port, "server_port": str(request.port),
        "request_uri": request.target, "uri": uri, "document_uri": uri, "args": query, "query_string": query,
        "is_args": "?" if query else "", "request_method": request.method, "remote_addr": fwd.client or "",
        "literal_dollar": "$", "req_id": request_id(request),
    }

    def value(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            n = int(m.group(1))
            return captures[n - 1] if 0 < n <= len(captures) else ""
        name = m.group(2) or m.group(3)
        if name in local:
            return local[name]
        if name in core:
            return core[name]
        if name.startswith("http_"):
            return request.headers.get(name[5:].replace("_", "-")) or ""
        if name.startswith("cookie_"):
            return cookie(request, name[7:]) or ""
        if name.startswith("arg_"):
            return _arg(query, name[4:]) or ""
        if notes is not None:
            notes.append(f"nginx variable ${name} is not modelled; left as written")
        return m.group(0)

    return _VARIABLE.sub(value, text)


# A value read by template(): its parts in order, each (kind, value, note). Kinds: "" text,
# "$" a capture (value: its digit), "core" a request variable (value: a _CORE key), "http",
# "cookie", "arg" (value: the header, cookie or argument name), "?" a variable the model does
# not know (value: as written, note: what expand notes).
Template = tuple[tuple[str, str, str], ...]

_CORE: dict[str, Callable[[Request, Forwarded, str], str]] = {
    "host": lambda r, f, u: r.hostname, "http_host": lambda r, f, u: r.host,
    "best_http_host": lambda r, f, u: f.host, "scheme": lambda r, f, u: r.scheme,
    "pass_access_scheme": lambda r, f, u: f.scheme, "pass_port": lambda r, f, u: f.port,
    "server_port": lambda r, f, u: str(r.port), "request_uri": lambda r, f, u: r.target,
    "uri": lambda r, f, u: u, "document_uri": lambda r, f, u: u, "args": lambda r, f, u: r.query or "",
    "query_string": lambda r, f, u: r.query or "", "is_args": lambda r, f, u: "?" if r.query else "",
    "request_method": lambda r, f, u: r.method, "remote_addr": lambda r, f, u: f.client or "",
    "literal_dollar": lambda r, f, u: "$", "req_id": lambda r, f, u: request_id(r),
}  # what expand's ``core`` holds, each worked out only when a value names it


def template(text: str, local: Mapping[str, str]) -> Template:
    """``text`` read as :func:`expand` reads it, with ``local`` (the location's ``set``
    variables, the same for every request) already filled in."""
    parts: list[tuple[str, str, str]] = []
    at = 0

    def text_part(value: str) -> None:
        if parts and parts[-1][0] == "":
            parts[-1] = ("", parts[-1][1] + value, "")
        elif value:
            parts.append(("", value, ""))

    for m in _VARIABLE.finditer(text):
        text_part(text[at:m.start()])
        at = m.end()
        if m.group(1) is not None:
            parts.append(("$", m.group(1), ""))
            continue
        name = m.group(2) or m.group(3)
        if name in local:
            text_part(local[name])
        elif name in _CORE:
            parts.append(("core", name, ""))
        elif name.startswith("http_"):
            parts.append(("http", name[5:].replace("_", "-"), ""))
        elif name.startswith("cookie_"):
            parts.append(("cookie", name[7:], ""))
        elif name.startswith("arg_"):
            parts.append(("arg", name[4:], ""))
        else:
            parts.append(("?", m.group(0), f"nginx variable ${name} is not modelled; left as written"))
    text_part(text[at:])
    return tuple(parts)


def render(parts: Template, request: Request, fwd: Forwarded, uri: str, captures: tuple[str, ...],
           notes: list[str]) -> str:
    """:func:`expand` of the text :func:`template` read into ``parts``."""
    if len(parts) == 1 and parts[0][0] == "":
        return parts[0][1]
    out: list[str] = []
    for kind, value, note in parts:
        if kind == "":
            out.append(value)
        elif kind == "core":
            out.append(_CORE[value](request, fwd, uri))
        elif kind == "$":
            n = int(value)
            out.append(captures[n - 1] if 0 < n <= len(captures) else "")
        elif kind == "http":
            out.append(request.headers.get(value) or "")
        elif kind == "cookie":
            out.append(cookie(request, value) or "")
        elif kind == "arg":
            out.append(_arg(request.query or "", value) or "")
        else:
            notes.append(note)
            out.append(value)
    return "".join(out)


def cookie(request: Request, name: str) -> str | None:
    """``$cookie_<name>``: the first cookie of that name, compared case-insensitively as nginx does."""
    wanted = name.lower()
    for header in request.headers.get_all("cookie"):
        for part in header.split(";"):
            key, sep, val = part.strip().partition("=")
            if sep and key.lower() == wanted:
                return val
    return None


def _arg(query: str, name: str) -> str | None:
    wanted = name.lower()
    for part in query.split("&"):
        key, _, val = part.partition("=")
        if key.lower() == wanted:
            return val
    return None


_DROPPED = frozenset({"proxy", "connection", "x-original-forwarded-for", "x-original-forwarded-host"})
_DROPPED_AUTH = _DROPPED | {"authorization"}
_DROPPED_NO_CLIENT = _DROPPED | {"x-real-ip", "x-forwarded-for"}
_DROPPED_AUTH_NO_CLIENT = _DROPPED_AUTH | _DROPPED_NO_CLIENT


def upstream_headers(request: Request, fwd: Forwarded, basic_auth: bool, forwarded_prefix: str | None) -> Headers:
    """The headers of the proxied request (nginx.tmpl's ``proxy_set_header`` block): the
    client's, without those the template clears, then the ones it sets (in its order)."""
    headers = request.headers
    original_for = headers.get("x-forwarded-for")
    original_host = headers.get("x-forwarded-host")
    upgrade = headers.get("upgrade")
    pairs: list[tuple[str, str]] = []
    if forwarded_prefix is not None:
        pairs.append(("X-Forwarded-Prefix", forwarded_prefix))
    if upgrade:
        pairs.append(("Connection", "upgrade"))
    pairs.append(("X-Request-ID", request_id(request)))
    if fwd.client is not None:
        pairs += [("X-Real-IP", fwd.client), ("X-Forwarded-For", fwd.client)]
        drop = _DROPPED_AUTH if basic_auth else _DROPPED
    else:
        drop = _DROPPED_AUTH_NO_CLIENT if basic_auth else _DROPPED_NO_CLIENT
    pairs += [("X-Forwarded-Host", fwd.host), ("X-Forwarded-Port", fwd.port), ("X-Forwarded-Proto", fwd.scheme),
              ("X-Forwarded-Scheme", fwd.scheme), ("X-Scheme", fwd.scheme)]
    if original_for:
        pairs.append(("X-Original-Forwarded-For", original_for))
    if original_host:
        pairs.append(("X-Original-Forwarded-Host", original_host))
    return headers.replaced(drop, pairs)
