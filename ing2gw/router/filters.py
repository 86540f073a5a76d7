"""The effects of route filters on a request or response: header modifiers, path
modifiers (ReplaceFullPath / ReplacePrefixMatch), redirect ``Location`` construction with
the spec's default-port rules, and CORS (preflight answers and response headers).

Pure functions of their inputs; :mod:`.matcher` decides when each one runs.
"""

from __future__ import annotations

from ing2gw.http import DEFAULT_PORTS, Headers, Request

from .model import Cors, HeaderModifier, PathModifier, Redirect

__all__ = [
    "apply_header_modifier",
    "cors_actual_headers",
    "cors_preflight_headers",
    "is_preflight",
    "modify_path",
    "origin_allowed",
    "redirect_location",
]


def apply_header_modifier(headers: Headers, mod: HeaderModifier) -> Headers:
    """``set`` replaces, ``add`` appends (``old,new``), ``remove`` deletes; names are
    case-insensitive."""
    for name, value in mod.set:
        headers = headers.set(name, value)
    for name, value in mod.add:
        headers = headers.add(name, value)
    for name in mod.remove:
        headers = headers.remove(name)
    return headers


def modify_path(path: str, mod: PathModifier, prefix: str | None) -> str:
    """Apply a path modifier. ``prefix`` is the rule's PathPrefix without trailing ``/``.

    ReplacePrefixMatch works on whole path elements: ``/foo/bar`` with prefix ``/foo`` and
    replacement ``/xyz`` gives ``/xyz/bar``; an empty result becomes ``/``.
    """
    if mod.type == "ReplaceFullPath":
        return mod.value
    p = prefix or ""
    rest = path[len(p):] if path.startswith(p) else path
    return (mod.value.rstrip("/") + rest) or "/"


def redirect_location(
    request: Request, redirect: Redirect, listener_port: int, prefix: str | None
) -> str:
    """The ``Location`` of a RequestRedirect.

    Port: the configured one; else the well-known port of a configured scheme; else the
    listener port. It is left out when it is the scheme's default (80 http, 443 https).
    The query string is kept.
    """
    scheme = redirect.scheme or request.scheme
    host = redirect.hostname or request.hostname
    if redirect.port is not None:
        port = redirect.port
    elif redirect.scheme is not None:
        port = DEFAULT_PORTS.get(redirect.scheme, listener_port)
    else:
        port = listener_port
    path = request.path if redirect.path is None else modify_path(request.path, redirect.path,
                                                                  prefix)
    netloc = host if DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = f"?{request.query}" if request.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def _split_origin(origin: str) -> tuple[str, str, int | None] | None:
    scheme, sep, rest = origin.partition("://")
    if not sep or not rest:
        return None
    scheme = scheme.lower()
    host, port = rest.rstrip("/"), None
    if ":" in host and not host.endswith("]"):
        name, _, digits = host.rpartition(":")
        if not digits.isdigit():
            return None
        host, port = name, int(digits)
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    return scheme, host.lower(), port


def origin_allowed(cors: Cors, origin: str) -> bool:
    """Scheme, host and port must match; ``*`` as a host prefix is a greedy wildcard and a
    lone ``*`` allows every origin."""
    got = _split_origin(origin)
    if got is None:
        return False
    for pattern in cors.allow_origins:
        if pattern == "*":
            return True
        want = _split_origin(pattern)
        if want is None or want[0] != got[0] or want[2] != got[2]:
            continue
        if want[1].startswith("*"):
            suffix = want[1][1:]
            if len(got[1]) > len(suffix) and got[1].endswith(suffix):
                return True
        elif want[1] == got[1]:
            return True
    return False


def is_preflight(request: Request) -> bool:
    headers = request.headers
    return (
        request.method == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


def _allow_origin(cors: Cors, origin: str, star: bool) -> str:
    """``*`` for a wildcard origin list when the data plane says so (``star``: a target that
    sends ``*``, even with credentials), else the request's origin echoed (valid with and
    without credentials)."""
    return "*" if star and "*" in cors.allow_origins else origin


def _expose(cors: Cors) -> str:
    """Access-Control-Expose-Headers: with credentials a ``*`` is not a wildcard (the spec
    forbids sending it), so it is left out."""
    names = [h for h in cors.expose_headers if not (cors.allow_credentials and h == "*")]
    return ", ".join(names)


def cors_preflight_headers(cors: Cors, request: Request, star: bool = False) -> Headers:
    """The gateway's own answer to a preflight: CORS headers only if the origin is allowed.

    Wildcards are answered by echoing the request (which is valid with and without
    credentials), or with ``*`` when ``star``."""
    origin = request.headers.get("origin") or ""
    if not origin_allowed(cors, origin):
        return Headers()
    out: list[tuple[str, str]] = [("access-control-allow-origin", _allow_origin(cors, origin, star))]
    asked_method = request.headers.get("access-control-request-method")
    if "*" in cors.allow_methods:
        if asked_method:
            out.append(("access-control-allow-methods", asked_method))
    elif cors.allow_methods:
        out.append(("access-control-allow-methods", ", ".join(cors.allow_methods)))
    asked_headers = request.headers.get("access-control-request-headers")
    if "*" in cors.allow_headers:
        if asked_headers:
            out.append(("access-control-allow-headers", asked_headers))
    elif cors.allow_headers:
        out.append(("access-control-allow-headers", ", ".join(cors.allow_headers)))
    if _expose(cors):
        out.append(("access-control-expose-headers", _expose(cors)))
    out.append(("access-control-max-age", str(cors.max_age)))
    if cors.allow_credentials:
        out.append(("access-control-allow-credentials", "true"))
    return Headers(out)


def cors_actual_headers(cors: Cors, request: Request, star: bool = False) -> tuple[tuple[str, str], ...]:
    """Headers added to the backend's response to a cross-origin (non-preflight) request."""
    origin = request.headers.get("origin")
    if origin is None or not origin_allowed(cors, origin):
        return ()
    out = [("access-control-allow-origin", _allow_origin(cors, origin, star))]
    if cors.allow_credentials:
        out.append(("access-control-allow-credentials", "true"))
    if _expose(cors):
        out.append(("access-control-expose-headers", _expose(cors)))
    return tuple(out)
