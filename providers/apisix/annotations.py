"""The APISIX Ingress controller's annotation table: every ``k8s.apisix.apache.org/*`` key its
documentation lists (controller 2.x).

One :class:`~ing2gw.provider.AnnotationSpec` per key, with the reading the controller applies:
a boolean is on only for the exact text ``true`` (anything else is off), lists are
comma-separated with blanks dropped, timeouts are whole seconds with an optional ``s``. Most
keys become an APISIX plugin on the Ingress's routes (:func:`ingress_plugins` builds the plugin
configuration the controller would write); :mod:`.plugins` converts those. ``ing2gw providers
apisix`` prints the table; ``docs/providers/apisix.md`` is generated from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_comma_list

__all__ = ["PLUGIN_KEYS", "PREFIX", "TABLE", "UpstreamSettings", "ingress_plugins", "parse_flag", "upstream_settings"]

PREFIX = "k8s.apisix.apache.org"
SCHEMES = ("http", "https", "grpc", "grpcs")
_METHOD = re.compile(r"[A-Za-z]+", re.ASCII)


def parse_flag(text: str) -> bool:
    """The controller compares with ``true`` exactly; ``false`` is the other valid spelling."""
    if text not in ("true", "false"):
        raise ValueError("only the exact text true turns it on")
    return text == "true"


def parse_scheme(text: str) -> str:
    scheme = text.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"must be one of {', '.join(SCHEMES)}; the controller then ignores every upstream-* "
                         "annotation of the Ingress")
    return scheme


def parse_seconds(text: str) -> int:
    """Whole seconds, an ``s`` suffix allowed (``5s``, ``5``)."""
    body = text[:-1] if text.endswith("s") else text
    if not re.fullmatch(r"[+-]?[0-9]+", body):
        raise ValueError("not a whole number of seconds; the controller then ignores every upstream-* annotation")
    return int(body)


def parse_retries(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError("not an integer; the controller then ignores every upstream-* annotation")
    return int(text)


def parse_methods(text: str) -> tuple[str, ...]:
    methods = parse_comma_list(text)
    for m in methods:
        if not _METHOD.fullmatch(m):
            raise ValueError(f"{m!r} is not an HTTP method")
    return methods


def parse_redirect_code(text: str) -> int:
    """Codes outside 301..308 (or not a number) become 301, as the controller does."""
    try:
        code = int(text)
    except ValueError:
        return 301
    return code if 301 <= code <= 308 else 301


def parse_header_pairs(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in parse_comma_list(text):
        name, sep, value = item.partition(":")
        if not sep:
            raise ValueError(f"{item!r} is not name:value")
        out.append((name, value))
    return tuple(out)


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: Any) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED

_SPECS = [
    # --- routing ------------------------------------------------------------------------------
    _S("use-regex", A, "routing", "ImplementationSpecific paths are PCRE searched anywhere in the path "
       "(route /* with vars uri ~~ PATH)", parse=parse_flag, default=False,
       target="RegularExpression path match (unanchored: .*(?:PATH).*)", noted_by_feature=True,
       changes_answer=True),
    _S("enable-websocket", E, "routing", "proxy WebSocket upgrades", parse=parse_flag, default=False,
       target="nothing to carry: Gateway implementations forward Upgrade requests"),
    _S("svc-namespace", E, "routing", "the namespace of the backend Services (default the Ingress's)",
       target="backendRef namespace (and a ReferenceGrant)"),
    _S("http-allow-methods", A, "methods", "methods allowed; others get 405 (fault-injection abort)",
       parse=parse_methods, target="one match per allowed method (others get 404, not 405)",
       noted_by_feature=True, changes_answer=True),
    _S("http-block-methods", A, "methods", "methods refused with 405 (ignored when http-allow-methods is set)",
       parse=parse_methods, target="one match per standard method not blocked (blocked ones get 404, not 405)",
       noted_by_feature=True, changes_answer=True),
    _S("plugin-config-name", E, "plugins", "an ApisixPluginConfig (same namespace) whose plugins the routes run; "
       "annotation plugins of the same name override them", target="filters and policy intents per plugin",
       noted_by_feature=True, changes_answer=True),
    # --- upstream -----------------------------------------------------------------------------
    _S("upstream-scheme", A, "backend-tls", "protocol to the upstream: http (default), https, grpc, grpcs",
       parse=parse_scheme, target="BackendTLSPolicy for https/grpcs (needs a CA); appProtocol for grpc",
       noted_by_feature=True),
    _S("upstream-retries", X, "retries", "retries to other endpoints on failure", parse=parse_retries,
       intent=i.Retries, target="extension: retries"),
    _S("upstream-connect-timeout", X, "timeouts", "upstream connect timeout (seconds, default 60)",
       parse=parse_seconds, intent=i.Timeouts, target="extension: timeouts"),
    _S("upstream-read-timeout", A, "timeouts", "upstream read timeout (seconds, default 60)", parse=parse_seconds,
       intent=i.Timeouts, target="HTTPRoute rule timeouts.backendRequest (a total, not an idle timeout)"),
    _S("upstream-send-timeout", X, "timeouts", "upstream send timeout (seconds, default 60)", parse=parse_seconds,
       intent=i.Timeouts, target="extension: timeouts"),
    # --- cors ---------------------------------------------------------------------------------
    _S("enable-cors", E, "cors", "run the cors plugin", parse=parse_flag, default=False,
       target="HTTPRoute CORS filter", noted_by_feature=True),
    _S("cors-allow-origin", E, "cors", "allowed origins, comma-separated (default *)",
       target="CORS filter allowOrigins", noted_by_feature=True),
    _S("cors-allow-headers", E, "cors", "allowed request headers (default *)", target="CORS filter allowHeaders",
       noted_by_feature=True),
    _S("cors-allow-methods", E, "cors", "allowed methods (default *)", target="CORS filter allowMethods",
       noted_by_feature=True),
    # --- csrf ---------------------------------------------------------------------------------
    _S("enable-csrf", X, "csrf", "run the csrf plugin (double-submit token; unsafe methods without it get 401)",
       parse=parse_flag, default=False, target="protection intent (opaque): no Gateway API form",
       noted_by_feature=True, changes_answer=True),
    _S("csrf-key", X, "csrf", "the csrf plugin's signing key (required with enable-csrf)",
       target="protection intent (opaque)", noted_by_feature=True),
    # --- redirects ----------------------------------------------------------------------------
    _S("http-to-https", E, "redirect", "redirect plain HTTP to https (301 for GET/HEAD, 308 otherwise)",
       parse=parse_flag, default=False, target="RequestRedirect scheme https on the HTTP listener",
       noted_by_feature=True, changes_answer=True),
    _S("http-redirect", E, "redirect", "redirect every request to this URI (APISIX variables allowed)",
       target="RequestRedirect", noted_by_feature=True, changes_answer=True),
    _S("http-redirect-code", E, "redirect", "status of http-redirect (301..308; others become 301)",
       parse=parse_redirect_code, default=301, target="RequestRedirect statusCode", noted_by_feature=True),
    # --- rewrites -----------------------------------------------------------------------------
    _S("rewrite-target", E, "rewrite", "replace the upstream path (proxy-rewrite uri)",
       target="URLRewrite ReplaceFullPath", noted_by_feature=True, changes_answer=True),
    _S("rewrite-target-regex", A, "rewrite", "regex over the path, replaced by rewrite-target-regex-template "
       "(proxy-rewrite regex_uri)", target="URLRewrite ReplacePrefixMatch when the regex is ^PREFIX/(.*) and the "
       "template TARGET/$1", noted_by_feature=True, changes_answer=True),
    _S("rewrite-target-regex-template", A, "rewrite", "the replacement for rewrite-target-regex ($N captures)",
       target="see rewrite-target-regex", noted_by_feature=True),
    _S("enable-response-rewrite", E, "response", "run the response-rewrite plugin", parse=parse_flag,
       default=False, target="ResponseHeaderModifier (headers); status and body have no form",
       noted_by_feature=True),
    _S("response-rewrite-status-code", U, "response", "replace the response status", target="not converted",
       noted_by_feature=True, changes_answer=True),
    _S("response-rewrite-body", U, "response", "replace the response body", target="not converted",
       noted_by_feature=True),
    _S("response-rewrite-body-base64", U, "response", "response-rewrite-body is base64", parse=parse_flag,
       default=False, target="not converted", noted_by_feature=True),
    _S("response-rewrite-add-header", E, "response", "response headers to add (name:value, comma-separated)",
       parse=parse_header_pairs, target="ResponseHeaderModifier add", noted_by_feature=True),
    _S("response-rewrite-set-header", E, "response", "response headers to set (name:value, comma-separated)",
       parse=parse_header_pairs, target="ResponseHeaderModifier set", noted_by_feature=True),
    _S("response-rewrite-remove-header", E, "response", "response headers to remove (comma-separated)",
       parse=parse_comma_list, target="ResponseHeaderModifier remove", noted_by_feature=True),
    # --- protections --------------------------------------------------------------------------
    _S("auth-uri", X, "auth", "forward-auth: ask this URI before each request", intent=i.ExternalAuth,
       target="extension: external-auth", noted_by_feature=True, changes_answer=True),
    _S("auth-ssl-verify", X, "auth", "forward-auth: verify the auth server's certificate (default true)",
       parse=parse_flag, target="extension: external-auth", noted_by_feature=True),
    _S("auth-request-headers", X, "auth", "forward-auth: request headers sent to the auth server",
       parse=parse_comma_list, target="extension: external-auth", noted_by_feature=True),
    _S("auth-upstream-headers", X, "auth", "forward-auth: auth response headers passed upstream",
       parse=parse_comma_list, target="extension: external-auth", noted_by_feature=True),
    _S("auth-client-headers", X, "auth", "forward-auth: auth response headers returned to the client on refusal",
       parse=parse_comma_list, target="extension: external-auth", noted_by_feature=True),
    _S("auth-type", X, "auth", "basicAuth or keyAuth against ApisixConsumer credentials", intent=i.BasicAuth,
       target="extension: basic-auth; key-auth as an opaque protection", noted_by_feature=True,
       changes_answer=True),
    _S("allowlist-source-range", X, "access", "client CIDRs allowed (ip-restriction whitelist; 403 otherwise)",
       parse=parse_comma_list, intent=i.IPAccess, target="extension: ip-access", noted_by_feature=True,
       changes_answer=True),
    _S("blocklist-source-range", X, "access", "client CIDRs refused with 403 (ip-restriction blacklist)",
       parse=parse_comma_list, intent=i.IPAccess, target="extension: ip-access", noted_by_feature=True,
       changes_answer=True),
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path"}),
    "methods": frozenset({"status", "backend"}),
    "plugins": frozenset({"status", "headers", "auth", "cors", "path", "host", "redirect"}),
    "backend-tls": frozenset({"status"}),
    "retries": frozenset({"status", "backend"}),
    "timeouts": frozenset({"status"}),
    "cors": frozenset({"cors", "status"}),
    "csrf": frozenset({"status", "auth"}),
    "redirect": frozenset({"status", "redirect"}),
    "rewrite": frozenset({"path"}),
    "response": frozenset({"status", "headers"}),
    "auth": frozenset({"status", "auth"}),
    "access": frozenset({"status"}),
}

TABLE = AnnotationTable(PREFIX, "APISIX", _SPECS, FAMILY_ASPECTS)

# the plugin each annotation family writes -> the key that turns it on (note fields)
PLUGIN_KEYS = {"redirect": "http-to-https", "proxy-rewrite": "rewrite-target", "cors": "enable-cors",
               "csrf": "enable-csrf", "fault-injection": "http-allow-methods", "basic-auth": "auth-type",
               "key-auth": "auth-type", "response-rewrite": "enable-response-rewrite",
               "ip-restriction": "allowlist-source-range", "forward-auth": "auth-uri"}


class UpstreamSettings:
    """The upstream-* annotations as the controller applies them (all or nothing)."""

    __slots__ = ("connect", "read", "retries", "scheme", "send")

    def __init__(self, scheme: str = "", retries: int = 0, connect: int = 0, read: int = 0, send: int = 0) -> None:
        self.scheme, self.retries, self.connect, self.read, self.send = scheme, retries, connect, read, send

    @property
    def timeouts(self) -> tuple[int, int, int] | None:
        """(connect, send, read) seconds, 60 for those unset, when any is set."""
        if self.connect > 0 or self.read > 0 or self.send > 0:
            return (self.connect or 60, self.send or 60, self.read or 60)
        return None


def upstream_settings(raw: Mapping[str, str]) -> UpstreamSettings:
    """The upstream-* annotations of ``raw`` (full keys); one unreadable value voids them all."""
    def get(key: str) -> str:
        return raw.get(f"{PREFIX}/upstream-{key}", "")

    try:
        return UpstreamSettings(
            scheme=parse_scheme(get("scheme")) if get("scheme") else "",
            retries=parse_retries(get("retries")) if get("retries") else 0,
            connect=parse_seconds(get("connect-timeout")) if get("connect-timeout") else 0,
            read=parse_seconds(get("read-timeout")) if get("read-timeout") else 0,
            send=parse_seconds(get("send-timeout")) if get("send-timeout") else 0)
    except ValueError:
        return UpstreamSettings()


def ingress_plugins(raw: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The plugins the controller puts on every route of an Ingress with annotations ``raw``
    (full keys), with the configuration it writes -- the shared input of the conversion and
    the model. Values it cannot read leave a plugin out, as the controller does."""
    def get(key: str) -> str:
        return raw.get(f"{PREFIX}/{key}", "")

    def flag(key: str) -> bool:
        return get(key) == "true"

    def items(key: str) -> list[str]:
        return [x.strip() for x in get(key).split(",") if x.strip()]

    out: dict[str, dict[str, Any]] = {}
    if flag("http-to-https"):
        out["redirect"] = {"http_to_https": True}
    elif get("http-redirect"):
        out["redirect"] = {"uri": get("http-redirect"), "ret_code": parse_redirect_code(get("http-redirect-code"))}
    target, regex, template = get("rewrite-target"), get("rewrite-target-regex"), get("rewrite-target-regex-template")
    if target or regex or template:
        rewrite: dict[str, Any] = {}
        if target:
            rewrite["uri"] = target
        if regex and template:
            try:
                re.compile(regex)
            except re.error:
                rewrite = {}
            else:
                rewrite["regex_uri"] = [regex, template]
        if rewrite or target:
            out["proxy-rewrite"] = rewrite
    if flag("enable-cors"):
        out["cors"] = {k: v for k, v in (("allow_origins", get("cors-allow-origin")),
                                         ("allow_methods", get("cors-allow-methods")),
                                         ("allow_headers", get("cors-allow-headers"))) if v}
    if flag("enable-csrf") and get("csrf-key"):
        out["csrf"] = {"key": get("csrf-key")}
    allow, block = items("http-allow-methods"), items("http-block-methods")
    if allow or block:
        out["fault-injection"] = {"abort": {"http_status": 405},
                                  "vars": [[["request_method", "!", "in", allow]]] if allow
                                  else [[["request_method", "in", block]]]}
    if get("auth-type") == "basicAuth":
        out["basic-auth"] = {}
    if get("auth-type") == "keyAuth":
        out["key-auth"] = {}
    if flag("enable-response-rewrite"):
        rr: dict[str, Any] = {}
        if get("response-rewrite-body"):
            rr["body"] = get("response-rewrite-body")
        if flag("response-rewrite-body-base64"):
            rr["body_base64"] = True
        code = get("response-rewrite-status-code")
        if code.lstrip("-").isdigit():
            rr["status_code"] = int(code)
        add, set_, remove = items("response-rewrite-add-header"), items("response-rewrite-set-header"), \
            items("response-rewrite-remove-header")
        if add or set_ or remove:
            headers: dict[str, Any] = {}
            if add:
                headers["add"] = add
            if remove:
                headers["remove"] = remove
            if set_:
                headers["set"] = {k: v for k, _, v in (s.partition(":") for s in set_ if ":" in s)}
            rr["headers"] = headers
        out["response-rewrite"] = rr
    allowlist, blocklist = items("allowlist-source-range"), items("blocklist-source-range")
    if allowlist or blocklist:
        ipr: dict[str, Any] = {}
        if allowlist:
            ipr["whitelist"] = allowlist
        if blocklist:
            ipr["blacklist"] = blocklist
        out["ip-restriction"] = ipr
    if get("auth-uri"):
        fa: dict[str, Any] = {"uri": get("auth-uri"), "ssl_verify": get("auth-ssl-verify") != "false"}
        for key, name in (("auth-request-headers", "request_headers"), ("auth-upstream-headers", "upstream_headers"),
                          ("auth-client-headers", "client_headers")):
            if items(key):
                fa[name] = items(key)
        out["forward-auth"] = fa
    return out
