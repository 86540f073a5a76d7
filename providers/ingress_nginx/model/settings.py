"""What the data-plane model needs from the controller ConfigMap and from each Ingress.

:class:`ControllerConfig` reads the ConfigMap keys that change request handling (HTTPS
redirect, HSTS, forwarded headers, snippet policy ...), with the controller's defaults.
:class:`Policy` is one Ingress's location-level annotations, parsed once through the
provider's annotation table: the settings every location built from that Ingress (and the
host's implicit ``/`` when the Ingress is the host's oldest) carries. :func:`read_policy`
also decides whether the controller would refuse the Ingress outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ing2gw.notes import Level, Note, Notes
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress

from .. import parsers as p
from ..annotations import (
    DEFAULT_CORS_ALLOW_HEADERS,
    DEFAULT_CORS_ALLOW_METHODS,
    DEFAULT_CORS_ALLOW_ORIGIN,
    DEFAULT_CORS_MAX_AGE,
    DEFAULT_HTTP_REDIRECT_CODE,
    DEFAULT_NO_TLS_REDIRECT_LOCATIONS,
    DEFAULT_SESSION_COOKIE_NAME,
    SNIPPET_KEYS,
    TABLE,
)

__all__ = ["CanaryPolicy", "ControllerConfig", "Cors", "Policy", "Redirect", "read_policy"]

_HTTP_REDIRECT_CODES = frozenset({301, 302, 307, 308})


def _flag(config: Mapping[str, str], key: str, default: bool) -> bool:
    text = config.get(key)
    if text is None:
        return default
    try:
        return p.parse_bool(text.strip())
    except ValueError:
        return default


def _int(config: Mapping[str, str], key: str, default: int) -> int:
    text = (config.get(key) or "").strip()
    return int(text) if text.isdigit() else default


def _list(config: Mapping[str, str], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    text = config.get(key)
    if text is None:
        return default
    return tuple(item.strip() for item in text.split(",") if item.strip())


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """The ingress-nginx ConfigMap, reduced to what decides a request's outcome."""

    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    preserve_trailing_slash: bool = False
    http_redirect_code: int = DEFAULT_HTTP_REDIRECT_CODE
    no_tls_redirect_locations: tuple[str, ...] = DEFAULT_NO_TLS_REDIRECT_LOCATIONS
    hsts: bool = True
    hsts_max_age: int = 31_536_000
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    use_forwarded_headers: bool = False
    use_port_in_redirects: bool = False
    relative_redirects: bool = False
    annotations_risk_level: str = "High"
    allow_snippet_annotations: bool = False
    global_allowed_response_headers: tuple[str, ...] = ()
    annotation_prefix: str = TABLE.prefix

    @classmethod
    def from_mapping(cls, config: Mapping[str, str] | None) -> ControllerConfig:
        c = config or {}
        code = _int(c, "http-redirect-code", DEFAULT_HTTP_REDIRECT_CODE)
        return cls(
            ssl_redirect=_flag(c, "ssl-redirect", True),
            force_ssl_redirect=_flag(c, "force-ssl-redirect", False),
            preserve_trailing_slash=_flag(c, "preserve-trailing-slash", False),
            http_redirect_code=code if code in _HTTP_REDIRECT_CODES else DEFAULT_HTTP_REDIRECT_CODE,
            no_tls_redirect_locations=_list(c, "no-tls-redirect-locations", DEFAULT_NO_TLS_REDIRECT_LOCATIONS),
            hsts=_flag(c, "hsts", True),
            hsts_max_age=_int(c, "hsts-max-age", 31_536_000),
            hsts_include_subdomains=_flag(c, "hsts-include-subdomains", True),
            hsts_preload=_flag(c, "hsts-preload", False),
            use_forwarded_headers=_flag(c, "use-forwarded-headers", False),
            use_port_in_redirects=_flag(c, "use-port-in-redirects", False),
            relative_redirects=_flag(c, "relative-redirects", False),
            annotations_risk_level=(c.get("annotations-risk-level") or "High").strip(),
            allow_snippet_annotations=_flag(c, "allow-snippet-annotations", False),
            global_allowed_response_headers=tuple(
                h.lower() for h in _list(c, "global-allowed-response-headers", ())
            ),
            annotation_prefix=(c.get("annotations-prefix") or TABLE.prefix).rstrip("/"),
        )

    @property
    def hsts_value(self) -> str:
        value = f"max-age={self.hsts_max_age}"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return value


@dataclass(frozen=True, slots=True)
class Redirect:
    """``permanent-redirect`` / ``temporal-redirect``: a fixed ``return <code> <url>``."""

    url: str
    code: int
    absolute: bool


@dataclass(frozen=True, slots=True)
class Cors:
    origins: tuple[str, ...]  # ("*",) = any
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    credentials: bool
    max_age: int

    @property
    def any_origin(self) -> bool:
        return self.origins == ("*",)


@dataclass(frozen=True, slots=True)
class CanaryPolicy:
    """The traffic policy a canary Ingress puts on its upstream."""

    header: str | None
    header_value: str | None
    header_pattern: str | None
    cookie: str | None
    weight: int
    weight_total: int  # effective (values up to 100 count as 100)


@dataclass(frozen=True, slots=True)
class Policy:
    """Location-level settings of one Ingress (``None``/empty = not set)."""

    ingress: str  # namespace/name
    namespace: str
    use_regex: bool = False
    rewrite_target: str | None = None
    x_forwarded_prefix: str | None = None
    redirect: Redirect | None = None
    relative_redirects: bool = False
    use_port_in_redirects: bool = False
    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    preserve_trailing_slash: bool = False
    cors: Cors | None = None
    allow: tuple[p.IPNetwork, ...] = ()
    deny: tuple[p.IPNetwork, ...] = ()
    satisfy_any: bool = False
    auth_type: str | None = None  # "basic" | "digest"
    auth_realm: str | None = None
    auth_url: str | None = None
    custom_headers: p.ObjectRef | None = None
    affinity_cookie: str | None = None  # cookie name when affinity=cookie
    affinity_path: str | None = None
    upstream_vhost: str | None = None
    app_root: str | None = None
    server_aliases: tuple[str, ...] = ()
    from_to_www: bool = False
    canary: CanaryPolicy | None = None
    snippets: tuple[str, ...] = ()  # snippet keys kept (allowed by the controller config)

    def rewrites(self, path: str) -> bool:
        """Whether a location for ``path`` rewrites (a target that differs from the path)."""
        return self.rewrite_target is not None and self.rewrite_target != path


def _canary(ann: Annotations) -> CanaryPolicy:
    get = ann.get
    return CanaryPolicy(
        header=get("canary-by-header"),
        header_value=get("canary-by-header-value"),
        header_pattern=get("canary-by-header-pattern"),
        cookie=get("canary-by-cookie"),
        weight=int(get("canary-weight") or 0),
        weight_total=p.effective_canary_weight_total(int(get("canary-weight-total") or 100)),
    )


def read_policy(ingress: Ingress, config: ControllerConfig, notes: Notes) -> Policy | str:
    """The Ingress's :class:`Policy`, or why the controller refuses the whole Ingress."""
    table_notes = Notes()
    ann = TABLE.read(ingress, table_notes, config.annotation_prefix)
    for note in table_notes:  # keep what matters to the controller, not Gateway API fidelity
        if note.code.endswith(("-INVALID", "-UNKNOWN")):
            notes.add(note)
    prefix = config.annotation_prefix + "/"
    present = {k[len(prefix):] for k in ingress.annotations if k.startswith(prefix)}
    snippets = tuple(sorted(present & SNIPPET_KEYS))
    if snippets and config.annotations_risk_level.lower() != "critical":
        return (f"{prefix}{snippets[0]} is a Critical-risk annotation and annotations-risk-level is "
                f"{config.annotations_risk_level}")
    if not config.allow_snippet_annotations:
        snippets = ()
    if "permanent-redirect" in present and "permanent-redirect" not in ann:
        return f"{prefix}permanent-redirect is not a valid URL"

    redirect: Redirect | None = None
    temporal = ann.get("temporal-redirect")
    permanent = ann.get("permanent-redirect")
    redirect_group_ok = not ("temporal-redirect" in present and temporal is None)
    if not redirect_group_ok:
        notes.add(Note(
            code="NGINX-MODEL-REDIRECT-IGNORED", level=Level.WARNING, subject=ingress.subject,
            message="temporal-redirect is invalid, so the controller ignores the Ingress's redirect "
                    "annotations (including from-to-www-redirect)",
        ))
    elif temporal is not None:
        redirect = Redirect(temporal.text, int(ann.get("temporal-redirect-code")), True)
    elif permanent is not None:
        redirect = Redirect(permanent.text, int(ann.get("permanent-redirect-code")), permanent.absolute)

    cors: Cors | None = None
    if ann.get("enable-cors"):
        origins = ann.get("cors-allow-origin") or DEFAULT_CORS_ALLOW_ORIGIN
        cors = Cors(
            origins=tuple(origins.origins),
            methods=tuple(ann.get("cors-allow-methods") or DEFAULT_CORS_ALLOW_METHODS),
            headers=tuple(ann.get("cors-allow-headers") or DEFAULT_CORS_ALLOW_HEADERS),
            expose=tuple(ann.get("cors-expose-headers") or ()),
            credentials=bool(ann.get("cors-allow-credentials")),
            max_age=int(ann.get("cors-max-age") or DEFAULT_CORS_MAX_AGE),
        )

    def flag(key: str, default: bool) -> bool:
        return bool(ann.get(key)) if key in ann else default

    auth_type = ann.get("auth-type")
    affinity = ann.get("affinity")
    return Policy(
        ingress=ingress.ref,
        namespace=ingress.namespace,
        use_regex=bool(ann.get("use-regex")),
        rewrite_target=ann.get("rewrite-target"),
        x_forwarded_prefix=ann.get("x-forwarded-prefix"),
        redirect=redirect,
        relative_redirects=flag("relative-redirects", config.relative_redirects),
        use_port_in_redirects=flag("use-port-in-redirects", config.use_port_in_redirects),
        ssl_redirect=flag("ssl-redirect", config.ssl_redirect),
        force_ssl_redirect=flag("force-ssl-redirect", config.force_ssl_redirect),
        preserve_trailing_slash=flag("preserve-trailing-slash", config.preserve_trailing_slash),
        cors=cors,
        allow=tuple(ann.get("allowlist-source-range") or ()),
        deny=tuple(ann.get("denylist-source-range") or ()),
        satisfy_any=str(ann.get("satisfy") or "") == "any",
        auth_type=str(auth_type) if auth_type is not None and ann.get("auth-secret") is not None else None,
        auth_realm=ann.get("auth-realm"),
        auth_url=ann.get("auth-url"),
        custom_headers=ann.get("custom-headers"),
        affinity_cookie=(ann.get("session-cookie-name") or DEFAULT_SESSION_COOKIE_NAME) if affinity else None,
        affinity_path=ann.get("session-cookie-path"),
        upstream_vhost=ann.get("upstream-vhost"),
        app_root=ann.get("app-root"),
        server_aliases=tuple(ann.get("server-alias") or ()),
        from_to_www=bool(ann.get("from-to-www-redirect")) and redirect_group_ok,
        canary=_canary(ann) if ann.get("canary") else None,
        snippets=snippets,
    )
