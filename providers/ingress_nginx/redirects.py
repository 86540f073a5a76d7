"""ingress-nginx redirects as Gateway API RequestRedirect values: the HTTP->HTTPS redirect
(``ssl-redirect``/``force-ssl-redirect``), ``permanent-redirect``/``temporal-redirect``,
``app-root`` and ``from-to-www-redirect``.

Pure functions: annotation values and controller settings in, IR filter values out. The
translator decides where the redirects go (which rules, which listeners) and writes the
notes; this module only knows how ingress-nginx builds each redirect and what of it the
Gateway API can say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ing2gw.ir import Filter, PathModifier, RequestRedirect, Rule

from .annotations import DEFAULT_HTTP_REDIRECT_CODE, DEFAULT_NO_TLS_REDIRECT_LOCATIONS
from .parsers import RedirectURL

__all__ = [
    "GATEWAY_REDIRECT_CODES",
    "StatusCode",
    "app_root_redirect",
    "gateway_status",
    "https_redirect",
    "https_redirect_code",
    "is_redirect_rule",
    "no_tls_redirect_locations",
    "redirect_filter",
    "twin_host",
    "url_redirect",
]

GATEWAY_REDIRECT_CODES = (301, 302, 303, 307, 308)
# Codes ingress-nginx accepts that RequestRedirect cannot carry -> the nearest one it can.
_NEAREST = {300: 301, 304: 303, 305: 307, 306: 307}
# ConfigMap http-redirect-code: the controller accepts these, anything else means 308.
_HTTP_REDIRECT_CODES = frozenset({301, 302, 307, 308})


@dataclass(frozen=True, slots=True)
class StatusCode:
    """A redirect status as ingress-nginx sends it and as the Gateway API can express it."""

    wanted: int
    emitted: int

    @property
    def exact(self) -> bool:
        return self.wanted == self.emitted


def gateway_status(code: int) -> StatusCode:
    """The RequestRedirect status for an nginx redirect code (nearest expressible one)."""
    if code in GATEWAY_REDIRECT_CODES:
        return StatusCode(code, code)
    return StatusCode(code, _NEAREST.get(code, 302))


def https_redirect_code(config: Mapping[str, str]) -> int:
    """The controller's ``http-redirect-code`` (ssl-redirect, from-to-www); 308 by default."""
    text = config.get("http-redirect-code", "").strip()
    if text.isdigit() and int(text) in _HTTP_REDIRECT_CODES:
        return int(text)
    return DEFAULT_HTTP_REDIRECT_CODE


def no_tls_redirect_locations(config: Mapping[str, str]) -> tuple[str, ...]:
    """Location prefixes the HTTPS redirect skips (ConfigMap ``no-tls-redirect-locations``)."""
    text = config.get("no-tls-redirect-locations")
    if text is None:
        return DEFAULT_NO_TLS_REDIRECT_LOCATIONS
    return tuple(item.strip() for item in text.split(",") if item.strip())


def https_redirect(code: int) -> RequestRedirect:
    """The HTTP->HTTPS redirect: same host and path, scheme https (port derived from it)."""
    return RequestRedirect(scheme="https", status_code=gateway_status(code).emitted)


def url_redirect(url: RedirectURL, code: int) -> RequestRedirect:
    """``permanent-redirect``/``temporal-redirect``: every request goes to exactly ``url``.

    nginx appends neither the request path nor (for a URL without one) a path, so the path
    is replaced in full; a URL without a path means ``/``. A relative URL keeps the request's
    scheme and host, as nginx does. The URL's query cannot be expressed (the caller notes it).
    """
    return RequestRedirect(
        scheme=url.scheme,
        hostname=url.host,
        port=url.port,
        path=PathModifier("ReplaceFullPath", url.path or "/"),
        status_code=gateway_status(code).emitted,
    )


def app_root_redirect(app_root: str) -> RequestRedirect:
    """``app-root``: 302 from ``/`` to the app root on the same scheme and host (query dropped)."""
    path = app_root.split("?", 1)[0] or "/"
    return RequestRedirect(path=PathModifier("ReplaceFullPath", path), status_code=302)


def twin_host(host: str) -> str | None:
    """The www/non-www twin ``from-to-www-redirect`` serves (None for wildcard or empty hosts)."""
    if not host or host.startswith("*."):
        return None
    if host.startswith("www."):
        return host[4:] or None
    return "www." + host


def is_redirect_rule(rule: Rule) -> bool:
    """A rule that answers with a redirect itself (never has backends)."""
    return any(f.type == "RequestRedirect" for f in rule.filters)


def redirect_filter(value: RequestRedirect, rule: Rule | None = None) -> Filter:
    prov = rule.provenance[0] if rule is not None and rule.provenance else None
    return Filter("RequestRedirect", value, prov)
