"""What ingress-nginx itself does with an Ingress's annotation values: keep, ignore, deny, drop.

The controller checks every annotation value it reads against a per-key validator (character
classes, option lists, integers, booleans, CIDR lists) before parsing it; an empty value is
never checked. What a failed check costs depends on the parser that read the key (v1.15):

* **drop** -- the parser returns the validation error, ``annotations.Extract`` fails, and the
  whole Ingress is left out (the admission webhook refuses it): ``server-alias``, the redirect
  group, ``upstream-vhost``, ``x-forwarded-prefix``, ``ssl-passthrough``, ``auth-type``,
  ``auth-url``, rate-limit counts, ``load-balance``, ``upstream-hash-by`` ...;
* **deny** -- the parser returns a location-denied error: every location of the Ingress
  answers ``return 503`` (``allowlist-source-range``, ``denylist-source-range``,
  ``auth-method``, ``auth-response-headers``, ``auth-secret``);
* **ignore** -- the parser logs the problem and uses its default (``rewrite-target``,
  ``backend-protocol``, CORS, canary fields, proxy tuning ...), or returns a plain error that
  ``Extract`` skips, which discards that parser's whole result (``temporal-redirect`` that is
  not an http(s) URL discards the redirect group; an ``auth-cache-duration`` that does not
  parse discards external auth).

:func:`verdict` applies this to one Ingress's annotations. The facts (validators, which parser
reads which key in which order) come from the controller's annotation parsers; the tests in
``tests/providers/ingress_nginx/test_upstream_parsers.py`` replay the controller's own parser
tests through it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["ALIASES", "CORS_ORIGIN", "VALIDATORS", "Verdict", "cache_durations", "go_bool", "go_int", "parse_cidrs",
           "raw", "redirect_url_ok", "text", "valid", "verdict"]

# --- the controller's character classes (parser/validators.go) ---------------------------

_ALNUM = r"\-\._~a-zA-Z0-9/:"
_REGEX_CHARS = re.escape("^$[](){}*+?|&=\\")
_URL_CHARS = re.escape(",:?&=")


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


IS_VALID_REGEX = _rx("^[/" + _ALNUM + _REGEX_CHARS + "]*$")
SIZE = _rx(r"^(?i:\d+[bkmg]?)$")
URL_IS_VALID = _rx("^[" + _ALNUM + _URL_CHARS + "]*$")
BASIC_CHARS = _rx("^[/" + _ALNUM + "]*$")
EXTENDED_CHARS = _rx("^[/" + _ALNUM + ", " + "]*$")
CHARS_WITH_SPACE = _rx("^[/" + _ALNUM + " ]*$")
NGINX_VARIABLE = _rx(r"^[A-Za-z0-9\-_\$\{\}]*$")
REGEX_PATH_WITH_CAPTURE = _rx(r"^/?[" + _ALNUM + r"/\$]*$")
HEADERS_VARIABLE = _rx(r"^[A-Za-z0-9-_, ]*$")
URL_WITH_NGINX_VARIABLE = _rx("^[" + _ALNUM + ", " + _URL_CHARS + "$]*$")

# per-parser patterns
_AUTH_TYPE = _rx("basic|digest")  # unanchored, as the controller writes it
_AUTH_SECRET_TYPE = _rx("auth-file|auth-map")
_METHODS = _rx("^(GET|HEAD|POST|PUT|PATCH|DELETE|CONNECT|OPTIONS|TRACE)$")
_VERIFY_CLIENT = _rx("^(on|off|optional|optional_no_ca)$")
_TLS_ERROR_PAGE = _rx(r"^(@[A-Za-z0-9_-]+|((https?://)?[A-Za-z0-9\-.]+(:\d+)?)?(/[A-Za-z0-9\-_.]+)*/?)$")
_CONNECTION = _rx("^(close|keep-alive)$")
_CORS_ORIGIN_VALUE = _rx(r"^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$")
CORS_ORIGIN = _rx(r"^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$")  # one origin the parser keeps
_CORS_METHODS = _rx(r"^([A-Za-z]+,?\s?)+$")
_CORS_EXPOSE = _rx(r"^(([A-Za-z0-9\-\_]+|\*),?\s?)+$")
_HTTP_ERRORS = _rx(r"^(?:[4,5]\d{2},?)*$")
_FASTCGI_INDEX = _rx(r"^[A-Za-z0-9.\-\_]+$")
_ON_OFF = _rx("^(on|off)$")
_OPERATION_NAME = _rx(r"^[A-Za-z0-9_\-]*$")
_COOKIE_DOMAIN = _rx(r"^(off|[" + _ALNUM + r"]+\s+[" + _ALNUM + r"]+)$")
_NEXT_UPSTREAM = _rx(r"^((error|timeout|invalid_header|http_500|http_502|http_503|http_504|http_403|http_404|"
                     r"http_429|non_idempotent|off)\s?)+$")
_SSL_PROTOCOLS = _rx(r"^(TLSv1\.2|TLSv1\.3| )*$")
_SSL_CIPHERS_PROXY = _rx(r"^[A-Za-z0-9\+:\_\-!]*$")
_COOKIE_EXPIRES = _rx(r"(^0|-?[1-9]\d*$)")
_SSL_CIPHER = _rx(r"^(?:(?:[A-Za-z0-9!:+\-_])*(?:@STRENGTH)*(?:@SECLEVEL=[0-5])*(?:@STRENGTH)*)*$")
_HASH_BY = _rx(r"^[A-Za-z0-9\-" + re.escape("_${}") + r"]*$")
_DNS1035 = _rx(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_GO_INT = _rx(r"^[+-]?[0-9]+$")
_GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
             "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def go_bool(text: str) -> bool | None:
    """Go's ``strconv.ParseBool``: the value, or None when it does not parse."""
    return _GO_BOOLS.get(text)


def go_int(text: str | None) -> int | None:
    """Go's ``strconv.Atoi``: the value, or None when absent or not an integer."""
    return int(text) if text is not None and _GO_INT.fullmatch(text) else None


def _regex(pattern: re.Pattern[str], remove_space: bool) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        if remove_space:
            value = value.replace(" ", "")
        return bool(pattern.search(value)) and "\r" not in value and "\n" not in value
    return check


def _options(options: tuple[str, ...], case_sensitive: bool) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        value = value.strip()
        return (value if case_sensitive else value.lower()) in options
    return check


def _server_names(value: str) -> bool:
    return all(IS_VALID_REGEX.search(name.strip()) for name in value.split(","))


def _server_name(value: str) -> bool:
    return bool(IS_VALID_REGEX.search(value.strip()))


def _int(value: str) -> bool:
    return bool(_GO_INT.fullmatch(value))


def _bool(value: str) -> bool:
    return value in _GO_BOOLS


def parse_cidrs(value: str) -> list[str] | None:
    """The controller's CIDR list parser: addresses and networks, or None when one is invalid."""
    out: list[str] = []
    for spec in value.split(","):
        spec = spec.strip()
        try:
            net = ipaddress.ip_network(spec, strict=False) if "/" in spec else ipaddress.ip_address(spec)
            out.append(str(net))
        except ValueError:
            return None
    return sorted(set(out))


def _cidrs(value: str) -> bool:
    return parse_cidrs(value) is not None


def _common_name(value: str) -> bool:
    if not value.startswith("CN="):
        return False
    try:
        re.compile(value[3:])
    except re.error:
        return False
    return True


def _service_name(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1035.fullmatch(value))


# key -> the controller's validator (True = valid)
VALIDATORS: dict[str, Callable[[str], bool]] = {
    "server-alias": _server_names,
    "auth-type": _regex(_AUTH_TYPE, True),
    "auth-secret": _regex(BASIC_CHARS, True),
    "auth-secret-type": _regex(_AUTH_SECRET_TYPE, True),
    "auth-realm": _regex(CHARS_WITH_SPACE, False),
    "auth-url": _regex(URL_WITH_NGINX_VARIABLE, True),
    "auth-method": _regex(_METHODS, True),
    "auth-signin": _regex(URL_WITH_NGINX_VARIABLE, True),
    "auth-signin-redirect-param": _regex(URL_IS_VALID, True),
    "auth-cache-key": _regex(NGINX_VARIABLE, True),
    "auth-keepalive": _int,
    "auth-keepalive-share-vars": _bool,
    "auth-keepalive-requests": _int,
    "auth-keepalive-timeout": _int,
    "auth-cache-duration": _regex(EXTENDED_CHARS, False),
    "auth-response-headers": _regex(HEADERS_VARIABLE, True),
    "auth-proxy-set-headers": _regex(BASIC_CHARS, True),
    "auth-request-redirect": _regex(URL_IS_VALID, True),
    "auth-always-set-cookie": _bool,
    "enable-global-auth": _bool,
    "auth-tls-secret": _regex(BASIC_CHARS, True),
    "auth-tls-verify-client": _regex(_VERIFY_CLIENT, True),
    "auth-tls-verify-depth": _int,
    "auth-tls-error-page": _regex(_TLS_ERROR_PAGE, True),
    "auth-tls-pass-certificate-to-upstream": _bool,
    "auth-tls-match-cn": _common_name,
    "backend-protocol": _options(("auto_http", "http", "https", "grpc", "grpcs", "fcgi"), False),
    "canary": _bool,
    "canary-weight": _int,
    "canary-weight-total": _int,
    "canary-by-header": _regex(BASIC_CHARS, True),
    "canary-by-header-value": _regex(BASIC_CHARS, True),
    "canary-by-header-pattern": _regex(IS_VALID_REGEX, False),
    "canary-by-cookie": _regex(BASIC_CHARS, True),
    "client-body-buffer-size": _regex(SIZE, True),
    "connection-proxy-header": _regex(_CONNECTION, True),
    "enable-cors": _bool,
    "cors-allow-origin": _regex(_CORS_ORIGIN_VALUE, True),
    "cors-allow-headers": _regex(HEADERS_VARIABLE, True),
    "cors-allow-methods": _regex(_CORS_METHODS, True),
    "cors-allow-credentials": _bool,
    "cors-expose-headers": _regex(_CORS_EXPOSE, True),
    "cors-max-age": _int,
    "custom-headers": _regex(BASIC_CHARS, True),
    "custom-http-errors": _regex(_HTTP_ERRORS, True),
    "default-backend": _service_name,
    "fastcgi-index": _regex(_FASTCGI_INDEX, True),
    "fastcgi-params-configmap": _regex(BASIC_CHARS, True),
    "http2-push-preload": _bool,
    "allowlist-source-range": _cidrs,
    "denylist-source-range": _cidrs,
    "load-balance": _options(("round_robin", "chash", "chashsubset", "sticky_balanced", "sticky_persistent", "ewma"),
                             True),
    "mirror-request-body": _regex(_ON_OFF, True),
    "mirror-target": _server_name,
    "mirror-host": _server_name,
    "enable-opentelemetry": _bool,
    "opentelemetry-trust-incoming-span": _bool,
    "opentelemetry-operation-name": _regex(_OPERATION_NAME, True),
    "use-port-in-redirects": _bool,
    "proxy-connect-timeout": _int,
    "proxy-send-timeout": _int,
    "proxy-read-timeout": _int,
    "proxy-buffers-number": _int,
    "proxy-buffer-size": _regex(SIZE, True),
    "proxy-busy-buffers-size": _regex(SIZE, True),
    "proxy-cookie-path": _regex(URL_IS_VALID, True),
    "proxy-cookie-domain": _regex(_COOKIE_DOMAIN, False),
    "proxy-body-size": _regex(SIZE, True),
    "proxy-next-upstream": _regex(_NEXT_UPSTREAM, False),
    "proxy-next-upstream-timeout": _int,
    "proxy-next-upstream-tries": _int,
    "proxy-request-buffering": _options(("on", "off"), True),
    "proxy-redirect-from": _regex(URL_IS_VALID, True),
    "proxy-redirect-to": _regex(URL_IS_VALID, True),
    "proxy-buffering": _options(("on", "off"), True),
    "proxy-http-version": _options(("1.0", "1.1"), True),
    "proxy-max-temp-file-size": _regex(SIZE, True),
    "proxy-ssl-secret": _regex(BASIC_CHARS, True),
    "proxy-ssl-ciphers": _regex(_SSL_CIPHERS_PROXY, True),
    "proxy-ssl-protocols": _regex(_SSL_PROTOCOLS, True),
    "proxy-ssl-name": _server_name,
    "proxy-ssl-verify": _regex(_ON_OFF, True),
    "proxy-ssl-verify-depth": _int,
    "proxy-ssl-server-name": _regex(_ON_OFF, True),
    "limit-rate": _int,
    "limit-rate-after": _int,
    "limit-rpm": _int,
    "limit-rps": _int,
    "limit-connections": _int,
    "limit-burst-multiplier": _int,
    "limit-allowlist": _cidrs,
    "from-to-www-redirect": _bool,
    "temporal-redirect": _regex(URL_IS_VALID, False),
    "temporal-redirect-code": _int,
    "permanent-redirect": _regex(URL_IS_VALID, False),
    "permanent-redirect-code": _int,
    "relative-redirects": _bool,
    "rewrite-target": _regex(REGEX_PATH_WITH_CAPTURE, False),
    "ssl-redirect": _bool,
    "preserve-trailing-slash": _bool,
    "force-ssl-redirect": _bool,
    "use-regex": _bool,
    "app-root": _regex(REGEX_PATH_WITH_CAPTURE, False),
    "satisfy": _options(("any", "all"), True),
    "affinity": _options(("cookie",), True),
    "affinity-mode": _options(("balanced", "persistent"), True),
    "affinity-canary-behavior": _options(("sticky", "legacy"), True),
    "session-cookie-name": _regex(BASIC_CHARS, True),
    "session-cookie-secure": _bool,
    "session-cookie-expires": _regex(_COOKIE_EXPIRES, True),
    "session-cookie-max-age": _regex(_COOKIE_EXPIRES, False),
    "session-cookie-path": _regex(URL_IS_VALID, True),
    "session-cookie-domain": _regex(BASIC_CHARS, True),
    "session-cookie-samesite": _options(("none", "lax", "strict"), False),
    "session-cookie-conditional-samesite-none": _bool,
    "session-cookie-change-on-failure": _bool,
    "service-upstream": _bool,
    "ssl-ciphers": _regex(_SSL_CIPHER, True),
    "ssl-prefer-server-ciphers": _bool,
    "ssl-passthrough": _bool,
    "upstream-hash-by": _regex(_HASH_BY, True),
    "upstream-hash-by-subset": _bool,
    "upstream-hash-by-subset-size": _int,
    "upstream-vhost": _server_name,
    "x-forwarded-prefix": _regex(REGEX_PATH_WITH_CAPTURE, True),
    "enable-access-log": _bool,
    "enable-rewrite-log": _bool,
    "disable-proxy-intercept-errors": _bool,
}

# deprecated spellings the controller reads when the main key is empty
ALIASES = {"allowlist-source-range": "whitelist-source-range", "limit-allowlist": "limit-whitelist"}

# keys whose invalid value drops the Ingress whenever the parser reads them
# (the redirect group and the auth keys are read conditionally: see verdict)
_DROP_ALWAYS = (
    "server-alias", "upstream-vhost", "x-forwarded-prefix", "ssl-passthrough", "client-body-buffer-size",
    "connection-proxy-header", "custom-http-errors", "default-backend", "fastcgi-index", "fastcgi-params-configmap",
    "http2-push-preload", "load-balance", "limit-rpm", "limit-rps", "limit-connections", "limit-allowlist",
    "ssl-ciphers", "upstream-hash-by", "upstream-hash-by-subset", "upstream-hash-by-subset-size",
)


def raw(annotations: Mapping[str, str], key: str) -> str | None:
    """The value the controller reads for ``key`` (short name): the alias when the key is empty."""
    value = annotations.get(key)
    alias = ALIASES.get(key)
    if not value and alias and annotations.get(alias):
        return annotations[alias]
    return value


def valid(annotations: Mapping[str, str], key: str) -> bool:
    """Does the value pass the controller's validator? Absent and empty values are not checked."""
    value = raw(annotations, key)
    check = VALIDATORS.get(key)
    return not value or check is None or check(value)


def text(annotations: Mapping[str, str], key: str) -> str | None:
    """``parser.GetStringAnnotation``'s value: trimmed (line by line), None when absent or empty."""
    value = raw(annotations, key)
    if value is None:
        return None
    text = "\n".join(line.strip() for line in value.split("\n"))
    return text or None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the controller makes of one Ingress's annotations."""

    dropped: str | None = None  # the invalid key that makes the controller leave the Ingress out
    denied: str | None = None  # why every location of the Ingress answers 503
    ignored: frozenset[str] = frozenset()  # keys whose values the controller discards (defaults apply)


def _redirect_group(ann: Mapping[str, str]) -> tuple[str | None, bool]:
    """(key that drops the Ingress, whether the whole redirect group is discarded)."""
    for key in ("from-to-www-redirect", "relative-redirects", "temporal-redirect"):
        if not valid(ann, key):
            return key, False
    for key in ("from-to-www-redirect", "relative-redirects"):
        value = ann.get(key)
        if value is not None and go_bool(value) is None:
            return None, True  # empty or unparsable boolean: a plain error, the group is skipped
    temporal = text(ann, "temporal-redirect")
    if temporal:
        if not valid(ann, "temporal-redirect-code"):
            return "temporal-redirect-code", False
        return None, not redirect_url_ok(temporal)
    for key in ("permanent-redirect", "permanent-redirect-code"):
        if not valid(ann, key):
            return key, False
    return None, False


_HEADER_NAME = _rx(r"^[a-zA-Z\d\-_]+$")
_STATUS_CODE = _rx(r"^\d{3}$")
_CACHE_TIME = _rx(r"^\d+(ms|s|m|h|d|w|M|y)$")


def cache_durations(value: str) -> list[str] | None:
    """``auth-cache-duration`` entries (``[code ...] time``, comma-separated), the default when
    empty, or None when one entry has no time or a code after its time (the location is denied)."""
    out: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        seen_time = False
        for element in entry.split(" "):
            if not element:
                continue
            if _STATUS_CODE.fullmatch(element):
                if seen_time:
                    return None
            elif _CACHE_TIME.fullmatch(element):
                seen_time = True
        if not seen_time:
            return None
        out.append(entry)
    return out or ["200 202 401 5m"]


def redirect_url_ok(url: str) -> bool:
    """The redirect parser's URL check for ``temporal-redirect``: a scheme starting with ``http``."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    return m is not None and m.group(1).startswith("http")


# verdicts by (annotations, namespace, allow_cross_namespace): Ingresses repeat the same
# annotations, and both the conversion and the model ask for each Ingress's verdict
_VERDICTS: dict[tuple[frozenset[tuple[str, str]], str | None, bool], Verdict] = {}
_VERDICTS_MAX = 20_000


def verdict(annotations: Mapping[str, str], namespace: str | None = None,
            allow_cross_namespace: bool = False) -> Verdict:
    """The controller's decision for annotations given by short key (prefix removed);
    ``namespace``: the Ingress's, for the cross-namespace Secret check. Remembered (a pure
    function of its arguments)."""
    key = (frozenset(annotations.items()), namespace, allow_cross_namespace)
    found = _VERDICTS.get(key)
    if found is None:
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.clear()
        found = _VERDICTS[key] = _verdict(annotations, namespace, allow_cross_namespace)
    return found


def _verdict(ann: Mapping[str, str], namespace: str | None, allow_cross_namespace: bool) -> Verdict:
    """:func:`verdict`, worked out."""
    drop = next((key for key in _DROP_ALWAYS if not valid(ann, key)), None)
    ignored: set[str] = set()
    redirect_drop, redirect_ignored = _redirect_group(ann)
    drop = drop or redirect_drop
    if redirect_ignored:
        ignored |= {"permanent-redirect", "temporal-redirect", "from-to-www-redirect", "relative-redirects"}
    denied: str | None = None
    # basic/digest auth: auth-type first; the rest only once the type is known
    if text(ann, "auth-type") is not None:
        if not valid(ann, "auth-type"):
            drop = drop or "auth-type"
        elif not _AUTH_TYPE.search(text(ann, "auth-type") or ""):
            denied = "invalid authentication type"
        elif not valid(ann, "auth-secret-type"):
            drop = drop or "auth-secret-type"
        elif text(ann, "auth-secret") is None or not valid(ann, "auth-secret"):
            denied = "error reading secret name from annotation"
        elif (namespace is not None and not allow_cross_namespace
              and (text(ann, "auth-secret") or "").partition("/")[1]
              and (text(ann, "auth-secret") or "").partition("/")[0] != namespace):
            denied = "cross namespace usage of secrets is not allowed"
        elif not valid(ann, "auth-realm"):
            drop = drop or "auth-realm"
    # external auth
    if text(ann, "auth-url") is not None:
        url = text(ann, "auth-url") or ""
        if not valid(ann, "auth-url"):
            drop = drop or "auth-url"
        elif not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]", url) or ".." in url.split("/")[2]:
            denied = denied or "could not parse auth-url annotation"
        elif not valid(ann, "auth-method"):
            denied = denied or "invalid HTTP method"
        elif not valid(ann, "auth-cache-duration"):
            ignored |= {"auth-url"}  # a plain error: external auth is discarded
        elif cache_durations(text(ann, "auth-cache-duration") or "") is None:
            denied = denied or "invalid auth-cache-duration"
        elif not valid(ann, "auth-response-headers") or not all(
                _HEADER_NAME.fullmatch(h.strip()) for h in (text(ann, "auth-response-headers") or "").split(",")
                if h.strip()):
            denied = denied or "invalid auth-response-headers"
    # client certificates: the secret, then error page / pass-through / CN only after it resolves
    if text(ann, "auth-tls-secret") is not None:
        if not valid(ann, "auth-tls-secret"):
            drop = drop or "auth-tls-secret"
        elif "/" not in (text(ann, "auth-tls-secret") or ""):
            denied = denied or "auth-tls-secret is not namespace/name"
        else:
            drop = drop or next((k for k in ("auth-tls-error-page", "auth-tls-pass-certificate-to-upstream",
                                             "auth-tls-match-cn") if not valid(ann, k)), None)
    # backend client certificate: the secret must be namespace/name (a validation error drops)
    if text(ann, "proxy-ssl-secret") is not None:
        if not valid(ann, "proxy-ssl-secret"):
            drop = drop or "proxy-ssl-secret"
        elif "/" not in (text(ann, "proxy-ssl-secret") or ""):
            denied = denied or "proxy-ssl-secret is not namespace/name"
    # source ranges: an invalid or empty list denies the location
    for key in ("allowlist-source-range", "denylist-source-range"):
        value = raw(ann, key)
        if value is not None and (not value.strip() or not valid(ann, key)):
            denied = denied or f"the annotation {key} does not contain a valid value"
    # opentelemetry: the operation name only counts once enable-opentelemetry parses
    if go_bool(ann.get("enable-opentelemetry", "")) is not None and not valid(ann, "opentelemetry-operation-name"):
        drop = drop or "opentelemetry-operation-name"
    # every other key: an invalid value falls back to the parser's default
    # (only keys with a value can fail: those given, and those read through a given alias)
    for key in {*ann, *(k for k, alias in ALIASES.items() if alias in ann)}:
        if key in VALIDATORS and not valid(ann, key):
            ignored.add(key)
    canary = go_bool(ann.get("canary", "")) or False
    if not canary and (any(text(ann, k) for k in ("canary-by-header", "canary-by-header-value",
                                                   "canary-by-header-pattern", "canary-by-cookie"))
                       or _positive(ann.get("canary-weight"))):
        ignored.add("canary")
    return Verdict(drop, None if drop else denied, frozenset(ignored))


def _positive(value: str | None) -> bool:
    return value is not None and _int(value) and int(value) > 0
