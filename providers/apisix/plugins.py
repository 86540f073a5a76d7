"""APISIX plugins -> Gateway API filters and policy intents.

The input is what APISIX runs on a route: plugin name -> configuration, the same whether it
came from Ingress annotations (:func:`~.annotations.ingress_plugins`), an ApisixPluginConfig
or an ApisixRoute's ``plugins``. Standard filters where Gateway API has the behaviour
(``proxy-rewrite`` -> URLRewrite and RequestHeaderModifier, ``redirect`` -> RequestRedirect,
``cors`` -> CORS, ``response-rewrite`` headers -> ResponseHeaderModifier); typed intents for
protections and proxy settings (``ip-restriction``, ``basic-auth``, ``forward-auth``,
``limit-count``/``limit-req``/``limit-conn``, ``client-control``); the other auth and access
plugins as opaque *protections*, so their loss fails the run; everything else as an opaque
intent with a note. ``http_to_https`` redirects and method allow lists (``fault-injection``
aborting on ``request_method``) are returned for the route builder, which splits listeners
and matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import CORS, Filter, HeaderModifier, PathModifier, Provenance, RequestRedirect, URLRewrite
from ing2gw.notes import Fidelity, Level, Note, Scope, Security

__all__ = ["STANDARD_METHODS", "Converted", "Site", "convert"]

VENDOR = "apisix"
STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")
AUTH_PLUGINS = frozenset({"key-auth", "jwt-auth", "hmac-auth", "ldap-auth", "wolf-rbac", "openid-connect",
                          "authz-keycloak", "authz-casdoor", "authz-casbin", "cas-auth", "multi-auth", "opa",
                          "saml-auth", "jwe-decrypt"})
ACCESS_PLUGINS = frozenset({"consumer-restriction", "ua-restriction", "referer-restriction", "csrf"})
WAF_PLUGINS = frozenset({"uri-blocker", "chaitin-waf"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_URL_FORM = re.compile(r"(?:(https?)://(\$host|\$http_host|[A-Za-z0-9.-]+)(?::(\d+))?)?(\$request_uri|\$uri|/[^$?]*)?")


@dataclass(frozen=True, slots=True)
class Site:
    """Where a route's plugins come from, for notes and provenance."""

    subject: str
    origin: str
    field: str
    scope: Scope
    provenance: Provenance
    fields: Mapping[str, str] = dc_field(default_factory=dict)  # plugin -> the field that set it (annotations)


@dataclass(slots=True)
class Converted:
    """What one route's plugins become."""

    rewrite: URLRewrite | None = None
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    cors: CORS | None = None
    redirect: RequestRedirect | None = None
    https_redirect: bool = False  # redirect http_to_https: the route's plain-HTTP answer
    allowed_methods: tuple[str, ...] = ()  # fault-injection abort on other methods (405)
    regex_rewrite: tuple[str, str] | None = None  # proxy-rewrite regex_uri, for the route builder
    intents: list[i.Intent] = dc_field(default_factory=list)
    notes: list[Note] = dc_field(default_factory=list)

    def filters(self, provenance: Provenance) -> list[Filter]:
        out: list[Filter] = []
        if self.redirect is not None:
            return [Filter("RequestRedirect", self.redirect, provenance)]
        if self.request_headers is not None:
            out.append(Filter("RequestHeaderModifier", self.request_headers, provenance))
        if self.rewrite is not None:
            out.append(Filter("URLRewrite", self.rewrite, provenance))
        if self.response_headers is not None:
            out.append(Filter("ResponseHeaderModifier", self.response_headers, provenance))
        if self.cors is not None:
            out.append(Filter("CORS", self.cors, provenance))
        return out


def _note(site: Site, name: str, code: str, level: Level, message: str, fidelity: Fidelity | None, instead: str,
          aspects: set[str], security: Security | None = None) -> Note:
    return Note(code=f"APISIX-PLUGIN-{code}", level=level, subject=site.subject, origin=site.origin,
                field=site.fields.get(name) or f"{site.field} {name}".strip(), message=message, fidelity=fidelity,
                instead=instead, aspects=frozenset(aspects), scope=site.scope, security=security)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value] if isinstance(value, list) else []


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _prov(site: Site, name: str) -> Provenance:
    p = site.provenance
    return Provenance(p.kind, p.namespace, p.name, site.fields.get(name) or f"{site.field} {name}".strip(), p.origin)


def _header_modifier(headers: Any) -> tuple[HeaderModifier | None, list[str]]:
    """proxy-rewrite / response-rewrite ``headers``: ``{set, add, remove}`` or the older plain
    map (name -> value; an empty value removes). Values with APISIX variables are reported."""
    if not isinstance(headers, Mapping):
        return None, []
    sets: list[tuple[str, str]] = []
    adds: list[tuple[str, str]] = []
    removes: list[str] = []
    lost: list[str] = []
    if any(k in headers for k in ("set", "add", "remove")):
        for k, v in sorted((headers.get("set") or {}).items()) if isinstance(headers.get("set"), Mapping) else []:
            sets.append((str(k), str(v)))
        add = headers.get("add")
        if isinstance(add, Mapping):
            adds += [(str(k), str(v)) for k, v in sorted(add.items())]
        elif isinstance(add, list):  # response-rewrite: "name:value" items
            adds += [(k.strip(), v.strip()) for k, _, v in (str(x).partition(":") for x in add) if k.strip()]
        removes += _strings(headers.get("remove"))
    else:
        for k, v in sorted(headers.items()):
            if v in ("", None):
                removes.append(str(k))
            else:
                sets.append((str(k), str(v)))
    for name, value in sets + adds:
        if "$" in value:
            lost.append(f"{name}: {value}")
    sets = [(k, v) for k, v in sets if "$" not in v]
    adds = [(k, v) for k, v in adds if "$" not in v]
    mod = HeaderModifier(set=tuple(sets), add=tuple(adds), remove=tuple(removes))
    return (mod if mod != HeaderModifier() else None), lost


def _proxy_rewrite(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    name = "proxy-rewrite"
    uri = cfg.get("uri")
    path: PathModifier | None = None
    if isinstance(uri, str) and uri:
        if "$" in uri:
            out.notes.append(_note(site, name, "REWRITE-VARIABLES", Level.WARNING,
                                   f"proxy-rewrite uri {uri} uses APISIX variables", Fidelity.UNSUPPORTED,
                                   "not converted: the path reaches the backend unchanged", {"path"}))
        else:
            path = PathModifier("ReplaceFullPath", uri)
        if isinstance(cfg.get("regex_uri"), list):
            out.notes.append(_note(site, name, "REWRITE-URI-WINS", Level.INFO,
                                   "proxy-rewrite has uri and regex_uri: APISIX uses uri", None,
                                   "regex_uri ignored", set()))
    elif isinstance(cfg.get("regex_uri"), list) and len(cfg["regex_uri"]) >= 2:
        out.regex_rewrite = (str(cfg["regex_uri"][0]), str(cfg["regex_uri"][1]))
    host = cfg.get("host")
    hostname = host if isinstance(host, str) and host and "$" not in host else None
    if path is not None or hostname is not None:
        out.rewrite = URLRewrite(hostname=hostname, path=path)
    mod, lost = _header_modifier(cfg.get("headers"))
    out.request_headers = mod
    for key in ("method", "scheme", "use_real_request_uri_unsafe"):
        if cfg.get(key):
            lost.append(f"{key} {cfg[key]}")
    if lost:
        out.notes.append(_note(site, name, "REWRITE-LOST", Level.WARNING,
                               f"proxy-rewrite also changes {', '.join(lost)}, which no Gateway API filter can",
                               Fidelity.UNSUPPORTED, "not converted", {"path", "host"}))


def _redirect(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    name = "redirect"
    if cfg.get("http_to_https"):
        out.https_redirect = True
        return
    code = _int(cfg.get("ret_code"), 302)
    uri = cfg.get("uri")
    if not isinstance(uri, str) or not uri:
        out.notes.append(_note(site, name, "REDIRECT-LOST", Level.WARNING,
                               "redirect by regex_uri (or without uri) has no RequestRedirect form",
                               Fidelity.UNSUPPORTED, "not converted: the request is proxied", {"status", "redirect"}))
        return
    form = _URL_FORM.fullmatch(uri)
    if form is None or code not in _REDIRECT_CODES:
        why = f"status {code}" if form is not None else "APISIX variables in it"
        out.notes.append(_note(site, name, "REDIRECT-LOST", Level.WARNING,
                               f"redirect to {uri} ({code}): {why} has no RequestRedirect form",
                               Fidelity.UNSUPPORTED, "not converted: the request is proxied", {"status", "redirect"}))
        return
    scheme, host, port, tail = form.groups()
    hostname = host if host and not host.startswith("$") else None
    modifier = PathModifier("ReplaceFullPath", tail) if tail and not tail.startswith("$") else None
    out.redirect = RequestRedirect(scheme=scheme, hostname=hostname, port=int(port) if port else None,
                                   path=modifier, status_code=code)
    if scheme is None and host is None:
        out.notes.append(_note(site, name, "REDIRECT-RELATIVE", Level.INFO,
                               f"APISIX sends the Location {uri} as written (relative: a client resolves it "
                               "against the request's URL)", Fidelity.APPROXIMATE,
                               "RequestRedirect sends an absolute URL (the request's scheme and host)", {"redirect"}))
    if not cfg.get("append_query_string") and tail != "$request_uri":
        out.notes.append(_note(site, name, "REDIRECT-QUERY", Level.INFO,
                               f"APISIX redirects to {uri} without the request's query string",
                               Fidelity.APPROXIMATE, "RequestRedirect keeps the query string", {"redirect"}))


def _cors(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    origins = tuple(_strings(cfg.get("allow_origins") or "*"))
    methods = str(cfg.get("allow_methods") or "*")
    headers = str(cfg.get("allow_headers") or "*")
    credential = bool(cfg.get("allow_credential"))
    out.cors = CORS(
        allow_origins=tuple("*" if o == "**" else o for o in origins),
        allow_methods=STANDARD_METHODS if methods == "**" else tuple(_strings(methods)),
        allow_headers=("*",) if headers == "**" else tuple(_strings(headers)),
        expose_headers=tuple(_strings(cfg.get("expose_headers"))),
        allow_credentials=credential or None,
        max_age=_int(cfg.get("max_age"), 5) if _int(cfg.get("max_age"), 5) >= 0 else None)
    if cfg.get("allow_origins_by_regex") or cfg.get("allow_origins_by_metadata"):
        out.notes.append(_note(site, "cors", "CORS-ORIGIN-REGEX", Level.WARNING,
                               "cors allows origins by regex or plugin metadata", Fidelity.UNSUPPORTED,
                               "only the listed allow_origins are kept", {"cors"}))


def _ip_restriction(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    allow, deny = tuple(_strings(cfg.get("whitelist"))), tuple(_strings(cfg.get("blacklist")))
    if allow and deny:
        out.notes.append(_note(site, "ip-restriction", "IP-BOTH-LISTS", Level.WARNING,
                               "ip-restriction has a whitelist and a blacklist: APISIX's schema accepts one of "
                               "them only and refuses the route", None, "both lists carried (deny first)",
                               {"status"}, Security.ACCESS_CONTROL))
    out.intents.append(i.IPAccess(allow=allow, deny=deny, order="deny-first",
                                  status=_int(cfg.get("response_code"), 403), provenance=_prov(site, "ip-restriction")))


def _rate_limits(site: Site, name: str, cfg: Mapping[str, Any], out: Converted) -> None:
    code = _int(cfg.get("rejected_code"), 503)
    key_name = str(cfg.get("key") or "remote_addr")
    key = "client-ip" if key_name in ("remote_addr", "$remote_addr") else f"var:{key_name}"
    scope = "global" if str(cfg.get("policy") or "local") != "local" else "per-replica"
    prov = _prov(site, name)
    if name == "limit-count":
        count, window = _int(cfg.get("count"), 0), _int(cfg.get("time_window"), 0)
        if count > 0 and window in (1, 60):
            out.intents.append(i.RateLimit(rate=count, unit="second" if window == 1 else "minute", key=key,
                                           status=code, scope=scope, provenance=prov))  # type: ignore[arg-type]
            return
        out.intents.append(i.Opaque(vendor=VENDOR, key=name, raw=f"{count} requests per {window}s per {key_name}",
                                    protection=Security.RATE_LIMIT, affects=("status", "backend"), provenance=prov))
        return
    if name == "limit-req":
        rate, burst = _number(cfg.get("rate")), _number(cfg.get("burst")) or 0.0
        if rate and rate >= 1:
            out.intents.append(i.RateLimit(rate=int(rate), unit="second", burst=int(burst), key=key, status=code,
                                           provenance=prov))
            if rate != int(rate):
                out.notes.append(_note(site, name, "RATE-ROUNDED", Level.INFO, f"limit-req rate {rate}/s",
                                       Fidelity.APPROXIMATE, f"{int(rate)}/s", {"status"}))
            return
    if name == "limit-conn":
        conn = _int(cfg.get("conn"), 0)
        if conn > 0:
            out.intents.append(i.RateLimit(rate=conn, unit="connections", burst=_int(cfg.get("burst"), 0), key=key,
                                           status=code, provenance=prov))
            return
    out.intents.append(i.Opaque(vendor=VENDOR, key=name, raw=json.dumps(cfg, sort_keys=True),
                                protection=Security.RATE_LIMIT, affects=("status", "backend"), provenance=prov))


def _fault_injection(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    """The method lists of http-allow-methods / http-block-methods; other faults are opaque."""
    abort = cfg.get("abort")
    rules = cfg.get("vars")
    if isinstance(abort, Mapping) and abort.get("http_status") == 405 and isinstance(rules, list) and len(rules) == 1 \
            and isinstance(rules[0], list) and len(rules[0]) == 1 and isinstance(rules[0][0], list):
        expr = [x for x in rules[0][0]]
        if expr[:3] == ["request_method", "!", "in"] and isinstance(expr[3], list):
            out.allowed_methods = tuple(str(m).upper() for m in expr[3])
            return
        if expr[:2] == ["request_method", "in"] and isinstance(expr[2], list):
            blocked = {str(m).upper() for m in expr[2]}
            out.allowed_methods = tuple(m for m in STANDARD_METHODS if m not in blocked)
            return
    out.intents.append(i.Opaque(vendor=VENDOR, key="fault-injection", raw=json.dumps(cfg, sort_keys=True),
                                affects=("status",), provenance=_prov(site, "fault-injection")))


def _response_rewrite(site: Site, cfg: Mapping[str, Any], out: Converted) -> None:
    mod, lost = _header_modifier(cfg.get("headers"))
    out.response_headers = mod
    for key in ("status_code", "body", "filters"):
        if cfg.get(key) not in (None, "", []):
            lost.append(key)
    if lost:
        out.notes.append(_note(site, "response-rewrite", "RESPONSE-REWRITE-LOST", Level.WARNING,
                               f"response-rewrite also changes {', '.join(lost)}, which no Gateway API filter can",
                               Fidelity.UNSUPPORTED, "not converted: the backend's answer is returned",
                               {"status", "headers"}))


def convert(plugins: Mapping[str, Mapping[str, Any]], site: Site) -> Converted:
    """Filters, intents and notes for the plugins of one route."""
    out = Converted()
    for name in sorted(plugins):
        cfg = plugins[name]
        before = len(out.intents)
        if name == "proxy-rewrite":
            _proxy_rewrite(site, cfg, out)
        elif name == "redirect":
            _redirect(site, cfg, out)
        elif name == "cors":
            _cors(site, cfg, out)
        elif name == "ip-restriction":
            _ip_restriction(site, cfg, out)
        elif name in ("limit-count", "limit-req", "limit-conn"):
            _rate_limits(site, name, cfg, out)
        elif name == "fault-injection":
            _fault_injection(site, cfg, out)
        elif name == "response-rewrite":
            _response_rewrite(site, cfg, out)
        elif name == "basic-auth":
            out.intents.append(i.BasicAuth(scheme="basic", secret=None, secret_layout="map", realm="basic",
                                           provenance=_prov(site, name)))
            out.notes.append(_note(site, name, "CREDENTIALS", Level.WARNING,
                                   "basic-auth credentials live on ApisixConsumers", Fidelity.EXTENSION,
                                   "the target needs its own credentials Secret (htpasswd), created by hand",
                                   {"auth"}, Security.AUTHENTICATION))
        elif name == "forward-auth" and isinstance(cfg.get("uri"), str):
            out.intents.append(i.ExternalAuth(url=cfg["uri"], method=str(cfg.get("request_method") or "GET"),
                                              response_headers=tuple(_strings(cfg.get("upstream_headers"))),
                                              provenance=_prov(site, name)))
        elif name == "client-control" and _int(cfg.get("max_body_size"), -1) >= 0:
            out.intents.append(i.BodyLimit(max_bytes=_int(cfg.get("max_body_size"), 0), provenance=_prov(site, name)))
        elif name in AUTH_PLUGINS or name in ACCESS_PLUGINS or name in WAF_PLUGINS or name == "forward-auth":
            security = Security.ACCESS_CONTROL if name in ACCESS_PLUGINS else \
                Security.WAF if name in WAF_PLUGINS else Security.AUTHENTICATION
            out.intents.append(i.Opaque(vendor=VENDOR, key=name, raw=json.dumps(cfg, sort_keys=True),
                                        protection=security, affects=("status", "auth"), provenance=_prov(site, name)))
        else:
            out.intents.append(i.Opaque(vendor=VENDOR, key=name, raw=json.dumps(cfg, sort_keys=True),
                                        affects=("status", "headers"), provenance=_prov(site, name)))
        for intent in out.intents[before:]:
            aspects = set(intent.aspects) | ({"auth"} if intent.security in (
                Security.ACCESS_CONTROL, Security.AUTHENTICATION) else set())
            out.notes.append(_note(site, name, "EXTENSION", Level.WARNING, f"{name}: {intent.summary()}",
                                   Fidelity.EXTENSION, f"carried as the {intent.kind} policy intent", aspects,
                                   intent.security))
    return out
