"""ingress-nginx annotations (and controller settings) -> typed policy intents.

The annotation table names, per row, the intent class the annotation feeds
(``AnnotationSpec.intent``); :func:`rule_intents` groups an Ingress's annotations by that
class and builds one intent per group from the parsed values, in ingress-nginx's own
semantics: a rate limit's burst is ``rate x limit-burst-multiplier``, ``proxy-body-size: 0``
is no limit, the deny list is checked before the allow list, client addresses are the
forwarded ones when the controller trusts forwarded headers. Settings no other intent
models become :class:`~ing2gw.intents.Opaque`, one per annotation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import Provenance
from ing2gw.provider import Annotations

from .annotations import DEFAULT_LIMIT_REQ_STATUS_CODE, TABLE
from .parsers import BodySizeLimit, Duration, ObjectRef, Size

__all__ = ["VENDOR", "rule_intents"]

VENDOR = "ingress-nginx"

Builder = Callable[[Annotations, "_Ctx"], list[i.Intent]]


class _Ctx:
    """What a builder needs: the Ingress's namespace, the controller settings, provenance."""

    def __init__(self, namespace: str, prov: Provenance, fld: Callable[[str], str],
                 config: Mapping[str, str]) -> None:
        self.namespace = namespace
        self._prov = prov
        self._fld = fld
        self.config = config

    def prov(self, key: str) -> Provenance:
        return replace(self._prov, field=self._fld(key))

    def ref(self, value: ObjectRef | None) -> str | None:
        if value is None:
            return None
        ns, name = value.resolve(self.namespace)
        return f"{ns}/{name}"


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Duration):
        return value.gateway()
    if isinstance(value, Size | BodySizeLimit):
        return value.text
    if isinstance(value, tuple):
        return ",".join(_text(v) for v in value)
    return str(value)


def _ms(value: Duration | None) -> int | None:
    return value.millis if value is not None else None


def _external_auth(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    url = ann.get("auth-url")
    if url is None:
        return []
    method = ann.get("auth-method")
    return [i.ExternalAuth(
        url=str(url),
        method=str(method).upper() if method else None,
        response_headers=tuple(ann.get("auth-response-headers")),
        signin_url=ann.get("auth-signin"),
        signin_redirect_param=ann.get("auth-signin-redirect-param") if ann.get("auth-signin") else None,
        request_headers_from=c.ref(ann.get("auth-proxy-set-headers")),
        request_redirect=ann.get("auth-request-redirect"),
        cache_key=ann.get("auth-cache-key"),
        cache_duration=ann.raw.get("auth-cache-duration"),
        always_set_cookie=bool(ann.get("auth-always-set-cookie")),
        provenance=c.prov("auth-url"),
    )]


def _basic_auth(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    kind = ann.get("auth-type")
    if kind is None:
        return []
    return [i.BasicAuth(
        scheme="digest" if _text(kind) == "digest" else "basic",
        secret=c.ref(ann.get("auth-secret")),
        secret_layout="map" if _text(ann.get("auth-secret-type")) == "auth-map" else "htpasswd",
        realm=ann.get("auth-realm"),
        provenance=c.prov("auth-type"),
    )]


def _client_cert(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    secret = ann.get("auth-tls-secret")
    if secret is None:
        return []
    return [i.ClientCertAuth(
        ca_secret=str(secret),
        mode=_text(ann.get("auth-tls-verify-client")),
        depth=int(ann.get("auth-tls-verify-depth")),
        pass_to_upstream=bool(ann.get("auth-tls-pass-certificate-to-upstream")),
        match_cn=ann.get("auth-tls-match-cn"),
        error_page=ann.get("auth-tls-error-page"),
        provenance=c.prov("auth-tls-secret"),
    )]


def forwarded(config: Mapping[str, str]) -> bool:
    """Does the controller take client addresses from forwarded headers / PROXY protocol?"""
    return any((config.get(k) or "").strip().lower() == "true"
               for k in ("use-forwarded-headers", "use-proxy-protocol", "enable-real-ip"))


def _ip_access(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    allow = tuple(str(n) for n in ann.get("allowlist-source-range"))
    deny = tuple(str(n) for n in ann.get("denylist-source-range"))
    if not allow and not deny:
        return []
    key = "denylist-source-range" if deny else "allowlist-source-range"
    return [i.IPAccess(allow=allow, deny=deny, client_address="forwarded" if forwarded(c.config) else "peer",
                       provenance=c.prov(key))]


def _rate_limit(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    multiplier = int(ann.get("limit-burst-multiplier"))
    exempt = tuple(str(n) for n in ann.get("limit-allowlist"))
    status = _status(c.config, "limit-req-status-code")
    out: list[i.Intent] = []
    rps, rpm = int(ann.get("limit-rps") or 0), int(ann.get("limit-rpm") or 0)
    if rps > 0:
        out.append(i.RateLimit(rate=rps, unit="second", burst=rps * multiplier, status=status, exempt=exempt,
                               provenance=c.prov("limit-rps")))
    if rpm > 0:
        out.append(i.RateLimit(rate=rpm, unit="minute", burst=rpm * multiplier, status=status, exempt=exempt,
                               provenance=c.prov("limit-rpm")))
    conns = int(ann.get("limit-connections") or 0)
    if conns > 0:
        out.append(i.RateLimit(rate=conns, unit="connections", status=_status(c.config, "limit-conn-status-code"),
                               exempt=exempt, provenance=c.prov("limit-connections")))
    return out


def _status(config: Mapping[str, str], key: str) -> int:
    text = (config.get(key) or "").strip()
    return int(text) if text.isdigit() else DEFAULT_LIMIT_REQ_STATUS_CODE


def _waf(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    on = ann.get("enable-modsecurity") if "enable-modsecurity" in ann else None
    if not on:
        return []
    tx = ann.get("modsecurity-transaction-id")
    return [i.Waf(engine="modsecurity", core_rule_set=bool(ann.get("enable-owasp-core-rules")),
                  transaction_id=str(tx) if tx else None, provenance=c.prov("enable-modsecurity"))]


def _body_limit(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    limit: BodySizeLimit = ann.get("proxy-body-size")
    return [i.BodyLimit(max_bytes=limit.max_bytes or None, provenance=c.prov("proxy-body-size"))]


def _timeouts(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    if "proxy-connect-timeout" not in ann and "proxy-send-timeout" not in ann:
        return []  # proxy-read-timeout alone is carried by the rule's standard timeouts
    key = "proxy-connect-timeout" if "proxy-connect-timeout" in ann else "proxy-send-timeout"
    return [i.Timeouts(
        connect_ms=_ms(ann.get("proxy-connect-timeout")),
        send_ms=_ms(ann.get("proxy-send-timeout")),
        read_ms=_ms(ann.get("proxy-read-timeout")),
        provenance=c.prov(key),
    )]


def _retries(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    budget: Duration = ann.get("proxy-next-upstream-timeout")
    key = next(k for k in ("proxy-next-upstream", "proxy-next-upstream-tries", "proxy-next-upstream-timeout")
               if k in ann)
    return [i.Retries(on=tuple(ann.get("proxy-next-upstream")), attempts=int(ann.get("proxy-next-upstream-tries")),
                      budget_ms=budget.millis or None, provenance=c.prov(key))]


def _load_balancing(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    hash_key = ann.get("upstream-hash-by")
    algorithm = ann.get("load-balance")
    subset = bool(ann.get("upstream-hash-by-subset"))
    key = next(k for k in ("load-balance", "upstream-hash-by", "service-upstream", "upstream-hash-by-subset",
                           "upstream-hash-by-subset-size") if k in ann)
    return [i.LoadBalancing(
        algorithm="consistent-hash" if hash_key else (_text(algorithm) if algorithm else None),
        hash_key=hash_key,
        subset_size=int(ann.get("upstream-hash-by-subset-size")) if hash_key and subset else None,
        service_address=bool(ann.get("service-upstream")),
        provenance=c.prov(key),
    )]


_COOKIE_ATTRIBUTES = ("affinity-mode", "session-cookie-path", "session-cookie-domain", "session-cookie-max-age",
                      "session-cookie-secure", "session-cookie-samesite")


def session_affinity(ann: Annotations, c: _Ctx, persisted: bool) -> list[i.Intent]:
    """Cookie affinity, when ``sessionPersistence`` (``persisted``) does not hold all of it."""
    if not ann.get("affinity") or (persisted and not any(k in ann for k in _COOKIE_ATTRIBUTES)):
        return []
    samesite = ann.get("session-cookie-samesite")
    expires = ann.get("session-cookie-expires")
    max_age = ann.get("session-cookie-max-age")
    return [i.SessionAffinity(
        cookie=str(ann.get("session-cookie-name")),
        path=ann.get("session-cookie-path"),
        domain=ann.get("session-cookie-domain"),
        expires_s=int(expires) if expires is not None else None,
        max_age_s=int(max_age) if max_age is not None else None,
        secure=bool(ann.get("session-cookie-secure")),
        same_site=_text(samesite) if samesite else None,
        mode=_text(ann.get("affinity-mode")) if "affinity-mode" in ann else None,
        provenance=c.prov("affinity"),
    )]


def _error_pages(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    codes = tuple(ann.get("custom-http-errors"))
    if not codes:
        return []
    backend = ann.get("default-backend")
    return [i.ErrorPages(codes=codes, backend=f"{c.namespace}/{backend}" if backend else None,
                         intercept=not ann.get("disable-proxy-intercept-errors"),
                         provenance=c.prov("custom-http-errors"))]


def _backend_tls(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    if "proxy-ssl-ciphers" not in ann and "proxy-ssl-protocols" not in ann:
        return []
    key = "proxy-ssl-ciphers" if "proxy-ssl-ciphers" in ann else "proxy-ssl-protocols"
    return [i.BackendTLSOptions(
        ciphers=ann.get("proxy-ssl-ciphers"),
        protocols=tuple(ann.get("proxy-ssl-protocols")) if "proxy-ssl-protocols" in ann else (),
        verify_depth=int(ann.get("proxy-ssl-verify-depth")) if "proxy-ssl-verify-depth" in ann else None,
        provenance=c.prov(key),
    )]


def _buffering(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    if "proxy-buffer-size" not in ann:
        return []
    size: Size = ann.get("proxy-buffer-size")
    return [i.Buffering(response_header_bytes=size.bytes, provenance=c.prov("proxy-buffer-size"))]


def _opaque(ann: Annotations, c: _Ctx) -> list[i.Intent]:
    return [i.Opaque(vendor=VENDOR, key=key, raw=ann.raw.get(key, _text(ann.get(key))),
                     affects=tuple(sorted(TABLE.aspects(TABLE.specs[key]))), provenance=c.prov(key))
            for key in ann.keys() if TABLE.specs[key].intent is i.Opaque]


_BUILDERS: dict[type[i.Intent], Builder] = {
    i.ExternalAuth: _external_auth,
    i.BasicAuth: _basic_auth,
    i.ClientCertAuth: _client_cert,
    i.IPAccess: _ip_access,
    i.RateLimit: _rate_limit,
    i.Waf: _waf,
    i.BodyLimit: _body_limit,
    i.Timeouts: _timeouts,
    i.Retries: _retries,
    i.LoadBalancing: _load_balancing,
    i.ErrorPages: _error_pages,
    i.BackendTLSOptions: _backend_tls,
    i.Buffering: _buffering,
    i.Opaque: _opaque,
}


def rule_intents(ann: Annotations, namespace: str, prov: Provenance, fld: Callable[[str], str],
                 config: Mapping[str, str], *, persisted: bool) -> list[i.Intent]:
    """The intents of one Ingress's rules, from the annotations the table maps to intents.

    ``persisted``: cookie affinity is already carried by ``sessionPersistence``.
    """
    c = _Ctx(namespace, prov, fld, config)
    kinds: list[type[i.Intent]] = []
    for key in ann.keys():
        kind = TABLE.specs[key].intent
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    out: list[i.Intent] = []
    for kind in sorted(kinds, key=lambda k: k.kind):
        if kind is i.SessionAffinity:
            out.extend(session_affinity(ann, c, persisted))
        else:
            out.extend(_BUILDERS[kind](ann, c))
    return out


def kinds_built() -> Sequence[type[i.Intent]]:
    """Every intent class this provider can build (for tests and docs)."""
    return (*_BUILDERS, i.SessionAffinity)
