"""Value parsers for ingress-nginx annotations: raw string in, typed value out.

Each parser reads a value the way the controller itself does (nginx's time syntax, the
controller's character-set validators and enumerations) and raises ``ValueError`` with a short
reason for anything the controller would reject. Where the controller silently replaces
an out-of-range value by a default (redirect codes) the parser does the same instead of
failing. Structured values are frozen dataclasses or enums; nothing here knows about
Gateway API or about notes -- :mod:`.annotations` ties parsers to keys. The generic
readings (Go booleans and integers, sizes, CIDR lists, object references) live in
:mod:`providers._common.values` and are re-exported here so the annotation table has one
vocabulary.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .._common.values import (
    Duration,
    IPNetwork,
    ObjectRef,
    Size,
    parse_bool,
    parse_cidrs,
    parse_comma_list,
    parse_int,
    parse_nginx_time,
    parse_non_negative_int,
    parse_object_ref,
    parse_positive_int,
    parse_qualified_object_ref,
    parse_seconds,
    parse_service_name,
    parse_size,
    parse_trimmed,
    parser_for_enum,
)

__all__ = [
    "DEFAULT_PERMANENT_REDIRECT_CODE",
    "DEFAULT_TEMPORAL_REDIRECT_CODE",
    "Affinity",
    "AffinityCanaryBehavior",
    "AffinityMode",
    "AuthSecretType",
    "AuthType",
    "BackendProtocol",
    "BodySizeLimit",
    "CacheDuration",
    "CorsOrigins",
    "Duration",
    "IPNetwork",
    "LoadBalance",
    "ObjectRef",
    "ProxyHTTPVersion",
    "RedirectURL",
    "SameSite",
    "Satisfy",
    "Size",
    "TLSVerifyClient",
    "effective_canary_weight_total",
    "parse_app_root",
    "parse_auth_cache_duration",
    "parse_backend_protocol",
    "parse_bool",
    "parse_body_size",
    "parse_canary_weight",
    "parse_canary_weight_total",
    "parse_cidrs",
    "parse_ciphers",
    "parse_comma_list",
    "parse_cookie_domain",
    "parse_cookie_name",
    "parse_cookie_path",
    "parse_cors_headers",
    "parse_cors_expose_headers",
    "parse_cors_methods",
    "parse_cors_origins",
    "parse_custom_http_errors",
    "parse_header_list",
    "parse_header_name",
    "parse_hostname_or_variable",
    "parse_http_method",
    "parse_int",
    "parse_location",
    "parse_nginx_time",
    "parse_nginx_variable",
    "parse_non_negative_int",
    "parse_object_ref",
    "parse_on_off",
    "parse_permanent_redirect",
    "parse_permanent_redirect_code",
    "parse_positive_int",
    "parse_proxy_cookie_rewrite",
    "parse_proxy_next_upstream",
    "parse_qualified_object_ref",
    "parse_rewrite_target",
    "parse_seconds",
    "parse_server_aliases",
    "parse_service_name",
    "parse_simple_path",
    "parse_size",
    "parse_snippet",
    "parse_ssl_protocols",
    "parse_temporal_redirect",
    "parse_temporal_redirect_code",
    "parse_text",
    "parse_url",
    "parse_url_with_variables",
    "parser_for_enum",
]

DEFAULT_PERMANENT_REDIRECT_CODE = 301
DEFAULT_TEMPORAL_REDIRECT_CODE = 302

# --- scalars ---------------------------------------------------------------------------


def parse_on_off(text: str) -> bool:
    """An nginx flag, ``on`` or ``off`` (case-insensitive, spaces ignored); True means on."""
    value = text.strip().lower()
    if value == "on":
        return True
    if value == "off":
        return False
    raise ValueError("must be on or off")


def parse_text(text: str) -> str:
    """Free text (a realm, a span name...): trimmed, must not be empty."""
    return parse_trimmed(text)


def parse_snippet(text: str) -> str:
    """Raw nginx configuration: kept as written, with each line trimmed."""
    return parse_trimmed(text)


# --- enumerations ----------------------------------------------------------------------


class BackendProtocol(enum.StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    AUTO_HTTP = "AUTO_HTTP"  # the client's scheme
    GRPC = "GRPC"
    GRPCS = "GRPCS"
    FCGI = "FCGI"


def parse_backend_protocol(text: str) -> BackendProtocol:
    """``backend-protocol``: trimmed and upper-cased before the check, as the controller does."""
    value = text.strip().upper()
    try:
        return BackendProtocol(value)
    except ValueError:
        choices = ", ".join(p.value for p in BackendProtocol)
        raise ValueError(f"must be one of {choices}") from None


class Affinity(enum.StrEnum):
    COOKIE = "cookie"


class AffinityMode(enum.StrEnum):
    BALANCED = "balanced"
    PERSISTENT = "persistent"


class AffinityCanaryBehavior(enum.StrEnum):
    STICKY = "sticky"
    LEGACY = "legacy"


class AuthType(enum.StrEnum):
    BASIC = "basic"
    DIGEST = "digest"


class AuthSecretType(enum.StrEnum):
    AUTH_FILE = "auth-file"  # htpasswd file in the key "auth"
    AUTH_MAP = "auth-map"  # one key per user, value = password hash


class Satisfy(enum.StrEnum):
    ALL = "all"
    ANY = "any"


class TLSVerifyClient(enum.StrEnum):
    ON = "on"
    OFF = "off"
    OPTIONAL = "optional"
    OPTIONAL_NO_CA = "optional_no_ca"


class SameSite(enum.StrEnum):
    NONE = "None"
    LAX = "Lax"
    STRICT = "Strict"


class LoadBalance(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    EWMA = "ewma"
    CHASH = "chash"
    CHASHSUBSET = "chashsubset"
    STICKY_BALANCED = "sticky_balanced"
    STICKY_PERSISTENT = "sticky_persistent"


class ProxyHTTPVersion(enum.StrEnum):
    V1_0 = "1.0"
    V1_1 = "1.1"


# --- sizes and durations ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BodySizeLimit:
    """``proxy-body-size``: a request-body limit, or no limit at all (written as ``0``)."""

    text: str
    max_bytes: int | None  # None = unlimited, never 0

    @property
    def unlimited(self) -> bool:
        return self.max_bytes is None


def parse_body_size(text: str) -> BodySizeLimit:
    """``proxy-body-size``: an nginx size where zero means "do not check the body size"."""
    size = parse_size(text)
    return BodySizeLimit(size.text, size.bytes or None)


@dataclass(frozen=True, slots=True)
class CacheDuration:
    """One ``auth-cache-duration`` entry: response codes (empty = nginx's default set) and time."""

    codes: tuple[str, ...]  # "200", "401", or "any"
    duration: Duration


_CACHE_CODE = re.compile(r"[1-5][0-9]{2}|any", re.ASCII)


def parse_auth_cache_duration(text: str) -> tuple[CacheDuration, ...]:
    """``auth-cache-duration``: comma-separated ``[code ...] time`` entries (``200 202 10m``)."""
    entries: list[CacheDuration] = []
    for part in parse_trimmed(text).split(","):
        words = part.split()
        if not words:
            raise ValueError("empty entry")
        *codes, time = words
        for code in codes:
            if not _CACHE_CODE.fullmatch(code):
                raise ValueError(f"{code!r} is not a status code")
        entries.append(CacheDuration(tuple(codes), parse_nginx_time(time)))
    return tuple(entries)


# --- header names ----------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", re.ASCII)


def parse_header_name(text: str) -> str:
    """An HTTP header name (an RFC 9110 token)."""
    value = text.strip()
    if not _TOKEN.fullmatch(value):
        raise ValueError("not a valid header name")
    return value


_HEADER_LIST = re.compile(r"[A-Za-z0-9_, -]*", re.ASCII)


def parse_header_list(text: str) -> tuple[str, ...]:
    """Comma-separated header names (letters, digits, ``-`` and ``_``)."""
    value = parse_trimmed(text)
    if not _HEADER_LIST.fullmatch(value):
        raise ValueError("header names may only contain letters, digits, - and _")
    return parse_comma_list(value)


# --- CORS ------------------------------------------------------------------------------

_CORS_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]*(:[0-9]+)?", re.ASCII)
_CORS_METHODS = re.compile(r"([A-Za-z]+,?\s?)+", re.ASCII)
_CORS_HEADERS = re.compile(r"([A-Za-z0-9_-]+,?\s?)+", re.ASCII)
_CORS_EXPOSE = re.compile(r"(([A-Za-z0-9_-]+|\*),?\s?)+", re.ASCII)


@dataclass(frozen=True, slots=True)
class CorsOrigins:
    """``cors-allow-origin``: the origins the controller keeps, and those it skips as malformed."""

    origins: tuple[str, ...]  # ("*",) means any origin
    skipped: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.origins == ("*",)


def parse_cors_origins(text: str) -> CorsOrigins:
    """Comma list of ``http(s)://host[:port]`` (host may start with ``*.``) or ``*``.

    Like the controller, a ``*`` entry allows everything and ends the list, and a malformed
    entry is skipped rather than failing the whole value; only a list without any usable
    origin is an error.
    """
    kept: list[str] = []
    skipped: list[str] = []
    for item in parse_trimmed(text).split(","):
        origin = item.strip()
        if origin == "*":
            return CorsOrigins(("*",), tuple(skipped))
        if origin and _CORS_ORIGIN.fullmatch(origin):
            kept.append(origin)
        elif origin:
            skipped.append(origin)
    if not kept:
        raise ValueError("no valid origin (use http(s)://host[:port] or *)")
    return CorsOrigins(tuple(kept), tuple(skipped))


def _cors_list(text: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    value = parse_trimmed(text)
    if not pattern.fullmatch(value):
        raise ValueError(f"not a valid {what} list")
    return parse_comma_list(value)


def parse_cors_methods(text: str) -> tuple[str, ...]:
    """``cors-allow-methods``: comma-separated method names (letters only)."""
    return _cors_list(text, _CORS_METHODS, "method")


def parse_cors_headers(text: str) -> tuple[str, ...]:
    """``cors-allow-headers``: comma-separated header names."""
    return _cors_list(text, _CORS_HEADERS, "header")


def parse_cors_expose_headers(text: str) -> tuple[str, ...]:
    """``cors-expose-headers``: comma-separated header names or ``*``."""
    return _cors_list(text, _CORS_EXPOSE, "header")


# --- canary ----------------------------------------------------------------------------


def parse_canary_weight(text: str) -> int:
    """``canary-weight``: a non-negative integer (a share of ``canary-weight-total``)."""
    return parse_non_negative_int(text)


def parse_canary_weight_total(text: str) -> int:
    """``canary-weight-total`` as written; see :func:`effective_canary_weight_total`."""
    return parse_non_negative_int(text)


def effective_canary_weight_total(total: int) -> int:
    """The denominator the balancer really uses: totals up to 100 count as 100."""
    return max(total, 100)


# --- paths, URLs and redirects ---------------------------------------------------------

_REWRITE_TARGET = re.compile(r"[A-Za-z0-9\-._~/:$]+", re.ASCII)
_BASIC_CHARS = re.compile(r"[A-Za-z0-9\-._~/:]+", re.ASCII)
_REDIRECT_CHARS = re.compile(r"[A-Za-z0-9\-._~/:,?&=]+", re.ASCII)
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~/:?&=]+", re.ASCII)
_URL_VAR_CHARS = re.compile(r"[A-Za-z0-9\-._~/:?&=$]+", re.ASCII)


def parse_rewrite_target(text: str) -> str:
    """``rewrite-target``: only ``A-Za-z0-9 - . _ ~ / : $`` (``/$1`` yes, ``${1}`` or ``?q`` no)."""
    value = parse_trimmed(text)
    if not _REWRITE_TARGET.fullmatch(value):
        raise ValueError("may only contain letters, digits and - . _ ~ / : $")
    return value


def parse_simple_path(text: str) -> str:
    """A plain path or prefix (``x-forwarded-prefix``): letters, digits and ``- . _ ~ / :``."""
    value = parse_trimmed(text)
    if not _BASIC_CHARS.fullmatch(value):
        raise ValueError("may only contain letters, digits and - . _ ~ / :")
    return value


def parse_app_root(text: str) -> str:
    """``app-root``: a path on the same host, starting with ``/`` (a query is allowed)."""
    value = parse_trimmed(text)
    if not value.startswith("/"):
        raise ValueError("must be a path starting with /")
    if not _URL_CHARS.fullmatch(value):
        raise ValueError("may only contain letters, digits and - . _ ~ / : ? & =")
    return value


@dataclass(frozen=True, slots=True)
class RedirectURL:
    """A redirect target, split up; ``scheme``/``host`` are None for a relative URL."""

    text: str
    scheme: str | None
    host: str | None
    port: int | None
    path: str  # "" when the URL has none
    query: str  # without the "?", "" when absent

    @property
    def absolute(self) -> bool:
        return self.scheme is not None


def _redirect_url(text: str, *, require_absolute: bool) -> RedirectURL:
    value = parse_trimmed(text)
    if not _REDIRECT_CHARS.fullmatch(value):
        raise ValueError("may only contain letters, digits and - . _ ~ / : , ? & =")
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("invalid port") from None
    if parts.scheme:
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("only http and https URLs are allowed")
        if not parts.hostname:
            raise ValueError("URL has no host")
        scheme = parts.scheme.lower()
        return RedirectURL(value, scheme, parts.hostname, port, parts.path, parts.query)
    if require_absolute:
        raise ValueError("must be an absolute http(s) URL")
    if parts.netloc:
        raise ValueError("URL has a host but no scheme")
    return RedirectURL(value, None, None, None, parts.path, parts.query)


def parse_permanent_redirect(text: str) -> RedirectURL:
    """``permanent-redirect``: absolute http(s) URL or a relative one (made absolute by nginx)."""
    return _redirect_url(text, require_absolute=False)


def parse_temporal_redirect(text: str) -> RedirectURL:
    """``temporal-redirect``: must be an absolute http(s) URL."""
    return _redirect_url(text, require_absolute=True)


def parse_permanent_redirect_code(text: str) -> int:
    """``permanent-redirect-code``: an integer; outside 300-308 it quietly becomes 301."""
    code = parse_int(text)
    return code if 300 <= code <= 308 else DEFAULT_PERMANENT_REDIRECT_CODE


def parse_temporal_redirect_code(text: str) -> int:
    """``temporal-redirect-code``: an integer; outside 300-307 it quietly becomes 302."""
    code = parse_int(text)
    return code if 300 <= code <= 307 else DEFAULT_TEMPORAL_REDIRECT_CODE


def parse_url(text: str) -> str:
    """An absolute http(s) URL without nginx variables."""
    return _absolute_url(text, _URL_CHARS, "- . _ ~ / : ? & =")


def parse_url_with_variables(text: str) -> str:
    """An absolute http(s) URL that may contain nginx variables (``$host``, ``$request_uri``)."""
    return _absolute_url(text, _URL_VAR_CHARS, "- . _ ~ / : ? & = $")


def parse_location(text: str) -> str:
    """A redirect or sign-in target, absolute or relative, that may contain nginx variables."""
    value = parse_trimmed(text)
    if not _URL_VAR_CHARS.fullmatch(value):
        raise ValueError("may only contain letters, digits and - . _ ~ / : ? & = $")
    return value


_HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"}
)


def parse_http_method(text: str) -> str:
    """An HTTP method name in capitals (``GET``, ``POST``...)."""
    value = text.strip()
    if value not in _HTTP_METHODS:
        raise ValueError("must be one of " + ", ".join(sorted(_HTTP_METHODS)))
    return value


def _absolute_url(text: str, chars: re.Pattern[str], allowed: str) -> str:
    value = parse_trimmed(text)
    if not chars.fullmatch(value):
        raise ValueError(f"may only contain letters, digits and {allowed}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an absolute http(s) URL")
    if not parts.netloc:
        raise ValueError("URL has no host")
    return value


# --- names and references --------------------------------------------------------------

_SERVER_NAME = re.compile(r"[/A-Za-z0-9\-._~:^$\[\](){}*+?|&=\\]+", re.ASCII)


def parse_server_aliases(text: str) -> tuple[str, ...]:
    """``server-alias``: comma-separated server names (nginx wildcard and ``~regex`` forms kept).

    The controller de-duplicates and sorts them; so does this parser.
    """
    aliases = parse_comma_list(text)
    for alias in aliases:
        if not _SERVER_NAME.fullmatch(alias.lstrip("~")):
            raise ValueError(f"{alias!r} is not a valid server name")
    return tuple(sorted(set(aliases)))


_HOST_OR_VAR = re.compile(r"[A-Za-z0-9\-._:$\[\]{}]+", re.ASCII)


def parse_hostname_or_variable(text: str) -> str:
    """A host name (optionally with port) or an nginx variable, e.g. for ``upstream-vhost``."""
    value = text.strip()
    if not _HOST_OR_VAR.fullmatch(value):
        raise ValueError("not a host name")
    return value


_NGINX_VARIABLE = re.compile(r"[A-Za-z0-9\-_${}]+", re.ASCII)


def parse_nginx_variable(text: str) -> str:
    """A value built from nginx variables and word characters (``modsecurity-transaction-id``)."""
    value = text.strip()
    if not _NGINX_VARIABLE.fullmatch(value):
        raise ValueError("may only contain letters, digits, - _ $ { }")
    return value


def parse_cookie_name(text: str) -> str:
    """A cookie name (an RFC 6265 token)."""
    value = text.strip()
    if not _TOKEN.fullmatch(value):
        raise ValueError("not a valid cookie name")
    return value


_COOKIE_PATH = re.compile(r"/[^\s;,]*")


def parse_cookie_path(text: str) -> str:
    """A cookie ``Path``: starts with ``/``, no spaces or ``;``."""
    value = text.strip()
    if not _COOKIE_PATH.fullmatch(value):
        raise ValueError("must be a path starting with / without spaces or ;")
    return value


_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_COOKIE_DOMAIN = re.compile(rf"\.?{_LABEL}(\.{_LABEL})*", re.ASCII)


def parse_cookie_domain(text: str) -> str:
    """A cookie ``Domain``: a host name, optionally with a leading dot."""
    value = text.strip()
    if not _COOKIE_DOMAIN.fullmatch(value):
        raise ValueError("not a valid cookie domain")
    return value


# --- proxy details ---------------------------------------------------------------------

_NEXT_UPSTREAM = frozenset({
    "error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504",
    "http_403", "http_404", "http_429", "non_idempotent", "off",
})


def parse_proxy_next_upstream(text: str) -> tuple[str, ...]:
    """``proxy-next-upstream``: space-separated nginx retry conditions."""
    words = tuple(parse_trimmed(text).split())
    for word in words:
        if word not in _NEXT_UPSTREAM:
            raise ValueError(f"{word!r} is not a proxy_next_upstream condition")
    return words


_SSL_PROTOCOLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"})


def parse_ssl_protocols(text: str) -> tuple[str, ...]:
    """Space-separated TLS protocol names (``TLSv1.2 TLSv1.3``)."""
    words = tuple(parse_trimmed(text).split())
    for word in words:
        if word not in _SSL_PROTOCOLS:
            raise ValueError(f"{word!r} is not a TLS protocol name")
    return words


_CIPHERS = re.compile(r"[A-Za-z0-9\-_:!+@=. ]+", re.ASCII)


def parse_ciphers(text: str) -> str:
    """An OpenSSL cipher list (``ECDHE-RSA-AES128-GCM-SHA256:!aNULL``)."""
    value = parse_trimmed(text)
    if not _CIPHERS.fullmatch(value):
        raise ValueError("not an OpenSSL cipher list")
    return value


def parse_custom_http_errors(text: str) -> tuple[int, ...]:
    """``custom-http-errors``: comma-separated status codes between 300 and 599."""
    codes: list[int] = []
    for item in parse_comma_list(text.replace(" ", "")):
        if not re.fullmatch(r"[0-9]{3}", item, re.ASCII):
            raise ValueError(f"{item!r} is not a status code")
        code = int(item)
        if not 300 <= code <= 599:
            raise ValueError(f"{code} is not between 300 and 599")
        codes.append(code)
    return tuple(codes)


_COOKIE_REWRITE_WORD = re.compile(r"[A-Za-z0-9\-._~/:$]+", re.ASCII)


def parse_proxy_cookie_rewrite(text: str) -> str:
    """``proxy-cookie-domain``/``-path``: ``off`` or ``<from> <to>``."""
    value = " ".join(parse_trimmed(text).split())
    if value == "off":
        return value
    words = value.split(" ")
    if len(words) != 2 or not all(_COOKIE_REWRITE_WORD.fullmatch(w) for w in words):
        raise ValueError("must be off or '<from> <to>'")
    return value
