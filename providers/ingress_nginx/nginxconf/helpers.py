"""The controller's template helpers, re-written from their behaviour (template.go, v1.15).

Each function produces the string the controller's Go template function produces for the
same input; ``tests/providers/ingress_nginx/test_nginx_upstream_templates.py`` replays the controller's own
``template_test.go`` table through them. Inputs are plain values (a path, a path type, a
rewrite target ...) rather than the controller's structs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

__all__ = [
    "build_cors_origin_regex", "build_forwarded_header", "build_location", "build_proxy_pass", "build_server_name",
    "enforce_regex_modifier", "escape_literal_dollar", "format_ip", "go_quote", "is_location_in_location_list",
    "needs_rewrite", "origin_regex", "proxy_set_header", "quote_meta", "sanitize_quoted_regex",
]

DEFAULT_UPSTREAM = "upstream-default-backend"


def sanitize_quoted_regex(path: str) -> str:
    """``\\`` and ``"`` get a backslash; nothing else is escaped."""
    return path.replace("\\", "\\\\").replace('"', '\\"')


def build_location(path: str, path_type: str | None, enforce_regex: bool) -> str:
    """The argument of ``location``: ``~* "^p"`` in regex mode, ``= "p"`` for Exact, else ``"p"``."""
    quoted = sanitize_quoted_regex(path)
    if enforce_regex:
        return f'~* "^{quoted}"'
    if path_type == "Exact":
        return f'= "{quoted}"'
    return f'"{quoted}"'


def needs_rewrite(path: str, target: str | None) -> bool:
    return bool(target) and target != path


def enforce_regex_modifier(locations: Iterable[tuple[str, str | None, bool]]) -> bool:
    """``(path, rewrite target, use-regex)`` for every location of a server: any rewrite or
    use-regex puts the whole server in regex mode."""
    return any(needs_rewrite(path, target) or use_regex for path, target, use_regex in locations)


def proxy_set_header(backend_protocol: str | None) -> str:
    """``grpc_set_header`` for gRPC backends, ``proxy_set_header`` otherwise."""
    return "grpc_set_header" if (backend_protocol or "").upper() in ("GRPC", "GRPCS") else "proxy_set_header"


def build_proxy_pass(path: str, target: str | None, *, backend: str, backend_protocol: str | None = None,
                     forwarded_prefix: str | None = None, ssl_passthrough: bool = False,
                     upstream: str = "upstream_balancer") -> str:
    """``proxy_pass`` (or ``grpc_pass``/``fastcgi_pass``), preceded by ``rewrite`` and
    ``X-Forwarded-Prefix`` when the location rewrites."""
    protocol = (backend_protocol or "").upper()
    directive, proto = "proxy_pass", "http://"
    if protocol == "AUTO_HTTP":
        proto = "$scheme://"
    elif protocol == "HTTPS":
        proto = "https://"
    elif protocol in ("GRPC", "GRPCS"):
        directive, proto = "grpc_pass", "grpc://" if protocol == "GRPC" else "grpcs://"
    elif protocol == "FCGI":
        directive, proto = "fastcgi_pass", ""
    if ssl_passthrough:
        proto = "grpcs://" if protocol == "GRPCS" else "https://"
    if backend == DEFAULT_UPSTREAM:
        directive, proto = "proxy_pass", "http://"
    plain = f"{directive} {proto}{upstream};"
    if path == target or not target:
        return plain
    prefix = ""
    if forwarded_prefix:
        prefix = f"{proxy_set_header(backend_protocol)} X-Forwarded-Prefix {go_quote(forwarded_prefix)};\n"
    return f'\nrewrite "(?i){sanitize_quoted_regex(path)}" {target} break;\n{prefix}{plain}'


def go_quote(value: object) -> str:
    """Go's ``%q`` / ``strconv.Quote`` for the values the template quotes."""
    text = str(value)
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def build_server_name(hostname: str) -> str:
    """``*.x.y`` becomes the one-label regex the controller writes; other names stay."""
    if not hostname.startswith("*"):
        return hostname
    rest = hostname.replace("*.", "", 1)
    return r"~^(?<subdomain>[\w-]+)\." + "\\.".join(rest.split(".")) + "$"


def escape_literal_dollar(value: object) -> str:
    """``$`` -> ``${literal_dollar}`` (a geo variable holding ``$``); non-strings give ``""``."""
    return value.replace("$", "${literal_dollar}") if isinstance(value, str) else ""


def format_ip(value: str) -> str:
    """IPv6 addresses in brackets; anything else unchanged."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value
    return f"[{value}]" if address.version == 6 else value


def is_location_in_location_list(path: str, raw_list: str) -> bool:
    """Does the location path start with one of the comma-separated prefixes?"""
    return any(item.strip(" ") and path.startswith(item.strip(" ")) for item in raw_list.split(","))


def build_forwarded_header(header: str) -> str:
    """A request header name as its nginx variable: ``X-Forwarded-For`` -> ``$http_x_forwarded_for``."""
    return "$http_" + header.replace("-", "_").lower()


_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: a backslash before ``\\.+*?()|[]{}^$`` only."""
    return _META.sub(r"\\\1", text)


def origin_regex(origin: str) -> str:
    """One allowed origin as a regex group; its first ``*`` stands for one DNS label."""
    return "(" + quote_meta(origin).replace(r"\*", r"[A-Za-z0-9\-]+", 1) + ")"


def build_cors_origin_regex(origins: list[str]) -> str:
    """The lines that set ``$cors`` to ``true`` for an allowed Origin (nginx.tmpl CORS block)."""
    if origins == ["*"]:
        return "set $http_origin *;\nset $cors 'true';"
    out = "if ($http_origin ~* ("
    for i, origin in enumerate(origins):
        trimmed = origin.strip()
        if trimmed:
            out += origin_regex(trimmed)
            if i != len(origins) - 1:
                out += "|"
    return out + ")$ ) { set $cors 'true'; }"
