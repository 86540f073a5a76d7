"""What the data-plane model needs from the controller ConfigMap and from each Ingress.

:class:`ControllerConfig` reads the ConfigMap keys that change request handling (HTTPS
redirect, HSTS, forwarded headers, snippet policy ...), with the controller's defaults.
:class:`Policy` is one Ingress's location-level annotations, parsed once through the
provider's annotation table: the settings every location built from that Ingress (and the
host's implicit ``/`` when the Ingress is the host's oldest) carries. :func:`read_policy`
also decides whether the controller would refuse the Ingress outright.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ing2gw.making import maker
from ing2gw.notes import Level, Note, Notes
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress

from .. import parsers as p
from .. import validation as v
from ..annotations import (
    DEFAULT_CORS_ALLOW_HEADERS,
    DEFAULT_CORS_ALLOW_METHODS,
    DEFAULT_CORS_MAX_AGE,
    DEFAULT_HTTP_REDIRECT_CODE,
    DEFAULT_LIMIT_REQ_STATUS_CODE,
    DEFAULT_NO_TLS_REDIRECT_LOCATIONS,
    DEFAULT_SESSION_COOKIE_NAME,
    SNIPPET_KEYS,
    TABLE,
)

__all__ = ["CanaryPolicy", "ControllerConfig", "Cors", "Policy", "Redirect", "blocked_word", "cors_settings",
           "read_policy", "read_policy_memo"]

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


def _body_size(text: str | None) -> int | None:
    """The ConfigMap's ``proxy-body-size`` (default 1m; 0: unlimited; unparsable: the default)."""
    if text is None:
        return 1_048_576
    try:
        return p.parse_body_size(text.strip()).max_bytes
    except ValueError:
        return 1_048_576


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
    allow_cross_namespace_resources: bool = False
    annotation_value_word_blocklist: tuple[str, ...] = ()
    global_allowed_response_headers: tuple[str, ...] = ()
    annotation_prefix: str = TABLE.prefix
    proxy_body_size: int | None = 1_048_576  # client_max_body_size (1m); None: not checked
    limit_req_status_code: int = DEFAULT_LIMIT_REQ_STATUS_CODE
    proxy_read_timeout: float = 60.0  # proxy_read_timeout of every location, in seconds

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
            allow_cross_namespace_resources=_flag(c, "allow-cross-namespace-resources", False),
            annotation_value_word_blocklist=_list(c, "annotation-value-word-blocklist", ()),
            global_allowed_response_headers=tuple(
                h.lower() for h in _list(c, "global-allowed-response-headers", ())
            ),
            annotation_prefix=(c.get("annotations-prefix") or TABLE.prefix).rstrip("/"),
            proxy_body_size=_body_size(c.get("proxy-body-size")),
            limit_req_status_code=_int(c, "limit-req-status-code", DEFAULT_LIMIT_REQ_STATUS_CODE),
            proxy_read_timeout=float(_int(c, "proxy-read-timeout", 60)),
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
    denied: str | None = None  # an annotation the controller could not resolve: every location returns 503
    basic_auth: bool = False  # auth_basic/auth_digest: the template clears Authorization upstream
    auth_secret: tuple[str, str] | None = None  # (namespace, name) of the basic/digest auth Secret
    auth_signin: str | None = None  # auth-url's 401 becomes a 302 here
    body_max: int | None = 1_048_576  # client_max_body_size of the locations; None: not checked
    limit_rps: int = 0  # limit_req zones of the Ingress (0: off), burst = rate x multiplier, nodelay
    limit_rpm: int = 0
    limit_burst_multiplier: int = 5
    limit_exempt: tuple[p.IPNetwork, ...] = ()  # limit-allowlist: the zone key is empty (not limited)
    read_timeout: float = 60.0  # proxy_read_timeout in seconds: a slower upstream answer gets 504

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


def cors_settings(short: Mapping[str, str]) -> Cors:
    """The controller's CORS settings: a value failing its check falls back to the default;
    origins that do not look like ``scheme://host[:port]``, ``*`` or ``null`` are skipped."""
    def text(key: str) -> str | None:
        return v.text(short, key) if v.valid(short, key) else None

    origins: tuple[str, ...] = ("*",)
    raw_origins = text("cors-allow-origin")
    if raw_origins is not None:
        kept: list[str] = []
        for origin in (o.strip() for o in raw_origins.split(",")):
            if origin == "*":
                kept = ["*"]
                break
            if origin and v.CORS_ORIGIN.fullmatch(origin):
                kept.append(origin)
        origins = tuple(kept)
    methods = text("cors-allow-methods")
    headers = text("cors-allow-headers")
    expose = text("cors-expose-headers")
    credentials = v.go_bool(short.get("cors-allow-credentials", ""))
    max_age = text("cors-max-age")
    return Cors(
        origins=origins,
        methods=(methods,) if methods else (", ".join(DEFAULT_CORS_ALLOW_METHODS),),
        headers=(headers,) if headers else (",".join(DEFAULT_CORS_ALLOW_HEADERS),),
        expose=(expose,) if expose else (),
        credentials=True if credentials is None else credentials,
        max_age=int(max_age) if max_age is not None else DEFAULT_CORS_MAX_AGE,
    )


def _redirect(short: Mapping[str, str], ignored: frozenset[str]) -> Redirect | None:
    if "permanent-redirect" in ignored:
        return None
    temporal = v.text(short, "temporal-redirect")
    if temporal:
        code = v.go_int(short.get("temporal-redirect-code"))
        return Redirect(temporal, code if code is not None and 300 <= code <= 307 else 302, True)
    permanent = v.text(short, "permanent-redirect")
    if permanent:
        code = v.go_int(short.get("permanent-redirect-code"))
        return Redirect(permanent, code if code is not None and 300 <= code <= 308 else 301,
                        "://" in permanent)
    return None


def blocked_word(short: Mapping[str, str], config: ControllerConfig) -> str | None:
    """Why the controller refuses an Ingress one of whose annotation values contains a word of
    the ConfigMap's ``annotation-value-word-blocklist``, or None."""
    for key in sorted(short):
        word = next((w for w in config.annotation_value_word_blocklist if w in short[key]), None)
        if word is not None:
            return f"{config.annotation_prefix}/{key} contains {word!r}, a word of annotation-value-word-blocklist"
    return None


def failed_config_test(short: Mapping[str, str], annotation_prefix: str, ignored: frozenset[str]) -> str | None:
    """Why ``nginx -t`` fails on the configuration the Ingress's annotations render -- the
    admission webhook then refuses the Ingress -- or None. A ``rewrite-target`` or
    ``upstream-vhost`` naming ``$0``: nginx's captures are ``$1`` to ``$9``, and it stops at
    ``unknown "0" variable`` (``ignored``: keys the controller ignores, so never renders)."""
    for key in ("rewrite-target", "upstream-vhost"):
        value = short.get(key)
        if key not in ignored and value and "$0" in value:
            return (f"{annotation_prefix}/{key} {value!r} uses $0, which nginx does not know (its captures are $1 "
                    "to $9): nginx -t fails with 'unknown \"0\" variable' and the admission webhook refuses the "
                    "Ingress")
    return None


def _secret_ref(value: str | None, namespace: str) -> tuple[str, str] | None:
    """``auth-secret``: ``name`` (the Ingress's namespace) or ``namespace/name``."""
    if not value:
        return None
    ns, _, name = value.rpartition("/")
    return (ns or namespace, name)


PolicyMemo = dict[tuple[tuple[tuple[str, str], ...], str, str | None], "Policy | str"]


def read_policy_memo(ingress: Ingress, config: ControllerConfig, notes: Notes, memo: PolicyMemo) -> Policy | str:
    """:func:`read_policy`, remembered in ``memo`` (one per ``config``) for Ingresses of the same
    namespace with the same annotations (and wildcard host): what it reads depends on nothing
    else, except the notes (a reading that notes anything is not remembered) and
    ``Policy.ingress`` (set per Ingress)."""
    key = (tuple(ingress.annotations.items()), ingress.namespace, _wildcard(ingress))
    found = memo.get(key)
    if found is None:
        mine = Notes()
        found = read_policy(ingress, config, mine)
        if len(mine):  # (rare) read again, noting into ``notes`` as it goes
            return read_policy(ingress, config, notes)
        memo[key] = found
    if isinstance(found, str):
        return found
    ref = ingress.ref
    return found if found.ingress == ref else _for_ingress(found, ref)


def _for_ingress(policy: Policy, ref: str) -> Policy:
    """``replace(policy, ingress=ref)``, its fields read at once and written plainly (see
    :mod:`ing2gw.making`): the same object (Policy checks nothing when built) at a fraction of the
    cost; a large input copies one per Ingress."""
    values = _POLICY_VALUES(policy)
    return _POLICY(*values[:_INGRESS_AT], ref, *values[_INGRESS_AT + 1:])


_POLICY: Callable[..., Policy] = maker(Policy)  # (called with its fields spliced: typed loosely)
_POLICY_VALUES = operator.attrgetter(*Policy.__dataclass_fields__)  # a Policy's fields as a tuple, in order
_INGRESS_AT = list(Policy.__dataclass_fields__).index("ingress")


def _wildcard(ingress: Ingress) -> str | None:
    for rule in ingress.rules:  # (a loop: read for every Ingress, where a generator costs twice as much)
        host = rule.host
        if host and host.startswith("*."):
            return host
    return None


def read_policy(ingress: Ingress, config: ControllerConfig, notes: Notes) -> Policy | str:
    """The Ingress's :class:`Policy`, or why the controller refuses the whole Ingress.

    Values are read the controller's way (:mod:`..validation`): an invalid value either drops
    the Ingress, denies its locations (503) or falls back to the default."""
    prefix = config.annotation_prefix + "/"
    short = {k[len(prefix):]: val for k, val in ingress.annotations.items() if k.startswith(prefix)}
    snippets = tuple(sorted(set(short) & SNIPPET_KEYS))
    if snippets and config.annotations_risk_level.lower() != "critical":
        return (f"{prefix}{snippets[0]} is a Critical-risk annotation and annotations-risk-level is "
                f"{config.annotations_risk_level}")
    if not config.allow_snippet_annotations:
        snippets = ()
    blocked = blocked_word(short, config)
    if blocked is not None:
        return blocked
    verdict = v.verdict(short, ingress.namespace, config.allow_cross_namespace_resources)
    if verdict.dropped is not None:
        return f"{prefix}{verdict.dropped} has an invalid value {v.raw(short, verdict.dropped)!r}"
    ignored = verdict.ignored
    kept = {k: val for k, val in ingress.annotations.items()
            if not (k.startswith(prefix) and k[len(prefix):] in ignored)}
    table_notes = Notes()
    ann = TABLE.read(replace(ingress, annotations=kept), table_notes, config.annotation_prefix)
    for note in table_notes:  # keep what matters to the controller, not Gateway API fidelity
        if note.code.endswith("-UNKNOWN"):
            notes.add(note)
    for key in sorted(ignored & set(short)):
        notes.add(Note(code="NGINX-MODEL-ANNOTATION-IGNORED", level=Level.WARNING, subject=ingress.subject,
                       field=prefix + key, message=f"the controller does not accept {short[key]!r}",
                       instead="the controller's default applies"))

    def text(key: str) -> str | None:
        return v.text(short, key) if key not in ignored else None

    def flag(key: str, default: bool) -> bool:
        parsed = v.go_bool(short.get(key, "")) if key not in ignored else None
        return default if parsed is None else parsed

    redirect_group_ok = "permanent-redirect" not in ignored
    wildcard = _wildcard(ingress)
    if redirect_group_ok and flag("from-to-www-redirect", False) and wildcard:
        return (f"{prefix}from-to-www-redirect on wildcard host {wildcard}: its www twin www.{wildcard} is not a "
                "valid server name, so nginx -t fails and the admission webhook refuses the Ingress")
    failed = failed_config_test(short, config.annotation_prefix, ignored)
    if failed is not None:
        return failed
    if not redirect_group_ok:
        notes.add(Note(
            code="NGINX-MODEL-REDIRECT-IGNORED", level=Level.WARNING, subject=ingress.subject,
            message="temporal-redirect is not an http(s) URL, so the controller ignores the Ingress's redirect "
                    "annotations (including from-to-www-redirect)",
        ))
    allow = v.parse_cidrs(text("allowlist-source-range") or "") if text("allowlist-source-range") else None
    deny = v.parse_cidrs(text("denylist-source-range") or "") if text("denylist-source-range") else None
    auth_type = text("auth-type")
    if auth_type is not None:
        auth_type = "basic" if auth_type == "basic" else "digest"
    app_root = text("app-root")
    affinity = ann.get("affinity")
    return Policy(
        ingress=ingress.ref,
        namespace=ingress.namespace,
        use_regex=flag("use-regex", False),
        rewrite_target=text("rewrite-target"),
        x_forwarded_prefix=text("x-forwarded-prefix"),
        redirect=_redirect(short, ignored),
        relative_redirects=(redirect_group_ok and flag("relative-redirects", False)) or config.relative_redirects,
        use_port_in_redirects=flag("use-port-in-redirects", config.use_port_in_redirects),
        ssl_redirect=flag("ssl-redirect", config.ssl_redirect),
        force_ssl_redirect=flag("force-ssl-redirect", config.force_ssl_redirect),
        preserve_trailing_slash=flag("preserve-trailing-slash", config.preserve_trailing_slash),
        cors=cors_settings(short) if flag("enable-cors", False) else None,
        allow=p.parse_cidrs(",".join(allow)) if allow else (),
        deny=p.parse_cidrs(",".join(deny)) if deny else (),
        satisfy_any=text("satisfy") == "any",
        auth_type=auth_type,
        auth_realm=text("auth-realm"),
        auth_url=text("auth-url"),
        custom_headers=ann.get("custom-headers"),
        affinity_cookie=(ann.get("session-cookie-name") or DEFAULT_SESSION_COOKIE_NAME) if affinity else None,
        affinity_path=ann.get("session-cookie-path"),
        upstream_vhost=text("upstream-vhost"),
        app_root=app_root if app_root and app_root.startswith("/") else None,
        server_aliases=tuple(sorted({a.strip() for a in (text("server-alias") or "").split(",") if a.strip()})),
        from_to_www=redirect_group_ok and flag("from-to-www-redirect", False),
        canary=_canary(ann) if flag("canary", False) and "canary" not in ignored else None,
        snippets=snippets,
        denied=verdict.denied,
        basic_auth=auth_type is not None and verdict.denied is None,
        auth_secret=_secret_ref(text("auth-secret"), ingress.namespace) if auth_type is not None else None,
        auth_signin=text("auth-signin"),
        body_max=_annotation(ann, ignored, "proxy-body-size", config.proxy_body_size),
        limit_rps=_annotation(ann, ignored, "limit-rps", 0) or 0,
        limit_rpm=_annotation(ann, ignored, "limit-rpm", 0) or 0,
        limit_burst_multiplier=_annotation(ann, ignored, "limit-burst-multiplier", 5) or 5,
        limit_exempt=tuple(ann.get("limit-allowlist") or ()) if "limit-allowlist" not in ignored else (),
        read_timeout=_seconds(ann, ignored, "proxy-read-timeout", config.proxy_read_timeout),
    )


def _seconds(ann: Annotations, ignored: frozenset[str] | set[str], key: str, default: float) -> float:
    """A timeout annotation in seconds (the table parses it to a Duration), or ``default``."""
    if key in ignored or key not in ann:
        return default
    value = ann.get(key)
    return value.seconds if isinstance(value, p.Duration) else default


def _annotation(ann: Annotations, ignored: frozenset[str] | set[str], key: str, default: int | None) -> int | None:
    """A numeric annotation as parsed by the table (a body size as its bytes), or ``default``
    when absent or ignored by the controller."""
    if key in ignored or key not in ann:
        return default
    value = ann.get(key)
    if isinstance(value, p.BodySizeLimit):
        return value.max_bytes
    return int(value) if value is not None else default
