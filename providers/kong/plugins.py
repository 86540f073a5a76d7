"""Kong plugins: finding the KongPlugin/KongClusterPlugin objects a route uses, and what each
becomes.

``konghq.com/plugins`` on an Ingress (its routes) or on a Service (every route to it) names
plugins: a ``KongPlugin`` in the same namespace, else a ``KongClusterPlugin``. A plugin
named on both wins from the route (the Ingress). :func:`resolve` finds them;
:func:`convert` turns one into Gateway API filters where standard fields exist
(``request-transformer`` / ``response-transformer`` headers, ``cors``, ``redirect``) and
typed policy intents otherwise (``basic-auth``, ``ip-restriction``, ``rate-limiting``,
``request-size-limiting``, the other auth plugins and ``acl`` as protections), with a note for
every part that does not carry over. Kong's own data plane behaviour of a plugin lives in
:mod:`.model`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import CORS, Filter, HeaderModifier, PathModifier, Provenance, RequestRedirect, URLRewrite
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.notes import Fidelity, Level, Note, Security

__all__ = ["KONG_CLUSTER_PLUGIN", "KONG_PLUGIN", "Converted", "Plugin", "convert", "resolve"]

KONG_PLUGIN = APIKind("configuration.konghq.com", "v1", "KongPlugin", selectable=False)
KONG_CLUSTER_PLUGIN = APIKind("configuration.konghq.com", "v1", "KongClusterPlugin", namespaced=False,
                              selectable=False)

VENDOR = "kong"
AUTH_PLUGINS = frozenset({"key-auth", "jwt", "oauth2", "hmac-auth", "ldap-auth", "ldap-auth-advanced",
                          "openid-connect", "mtls-auth", "key-auth-enc", "basic-auth"})
ACCESS_PLUGINS = frozenset({"acl", "bot-detection"})
CORS_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT")


@dataclass(frozen=True, slots=True)
class Plugin:
    """One plugin instance as Kong runs it: its plugin name, configuration and source object."""

    name: str  # the Kong plugin ("rate-limiting")
    config: Mapping[str, Any]
    source: KubeObject
    known_config: bool = True  # False: configFrom (a Secret ing2gw never reads)


@dataclass(slots=True)
class Converted:
    """What a route's plugins become."""

    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    cors: CORS | None = None
    redirect: RequestRedirect | None = None
    rewrite: URLRewrite | None = None
    intents: list[i.Intent] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def filters(self, provenance: Provenance) -> list[Filter]:
        out: list[Filter] = []
        if self.request_headers is not None:
            out.append(Filter("RequestHeaderModifier", self.request_headers, provenance))
        if self.response_headers is not None:
            out.append(Filter("ResponseHeaderModifier", self.response_headers, provenance))
        if self.cors is not None:
            out.append(Filter("CORS", self.cors, provenance))
        if self.redirect is not None:
            out.append(Filter("RequestRedirect", self.redirect, provenance))
        return out


def _index(objects: Sequence[KubeObject]) -> tuple[dict[tuple[str, str], KubeObject], dict[str, KubeObject]]:
    namespaced = {(o.namespace, o.name): o for o in objects if o.kind.kind == "KongPlugin"}
    cluster = {o.name: o for o in objects if o.kind.kind == "KongClusterPlugin"}
    return namespaced, cluster


def resolve(objects: Sequence[KubeObject], namespace: str, names: Sequence[str], subject: str, origin: str,
            fld: str, notes: list[Note]) -> list[Plugin]:
    """The plugins ``names`` refers to from ``namespace`` (KongPlugin first, then
    KongClusterPlugin); a missing or disabled one is noted and left out."""
    namespaced, cluster = _index(objects)
    out: list[Plugin] = []
    for name in names:
        obj = namespaced.get((namespace, name)) or cluster.get(name)
        if obj is None:
            notes.append(Note(code="KONG-PLUGIN-MISSING", level=Level.WARNING, subject=subject, field=fld,
                              message=f"plugin {name!r} is neither a KongPlugin in {namespace} nor a KongClusterPlugin "
                                      "in the input", origin=origin, instead="not converted (add it to the input)"))
            continue
        body = obj.body
        if body.get("disabled") is True:
            notes.append(Note(code="KONG-PLUGIN-DISABLED", level=Level.INFO, subject=subject, field=fld,
                              message=f"plugin {obj.subject} is disabled", origin=origin, instead="nothing to convert"))
            continue
        plugin_name = body.get("plugin")
        if not isinstance(plugin_name, str) or not plugin_name:
            notes.append(Note(code="KONG-PLUGIN-INVALID", level=Level.ERROR, subject=obj.subject, origin=obj.origin,
                              message="the plugin object names no plugin (field plugin)", instead="not converted"))
            continue
        config = body.get("config")
        known = "configFrom" not in body and "configPatches" not in body
        out.append(Plugin(plugin_name, config if isinstance(config, Mapping) else {}, obj, known))
    return out


# --- conversion ------------------------------------------------------------------------------


def _pairs(values: Any) -> list[tuple[str, str]]:
    """Kong's ``name:value`` header list items."""
    out = []
    for item in values if isinstance(values, list) else []:
        if isinstance(item, str) and ":" in item:
            name, _, value = item.partition(":")
            out.append((name.strip(), value.strip()))
    return out


def _names(values: Any) -> list[str]:
    return [str(v).strip() for v in values] if isinstance(values, list) else []


def _section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key)
    return value if isinstance(value, Mapping) else {}


def _note(p: Plugin, code: str, level: Level, message: str, fidelity: Fidelity, instead: str,
          aspects: set[str], security: Security | None = None) -> Note:
    return Note(code=f"KONG-PLUGIN-{code}", level=level, subject=p.source.subject, origin=p.source.origin,
                field=f"plugin {p.name}", message=message, fidelity=fidelity, instead=instead,
                aspects=frozenset(aspects), security=security)


def _headers(p: Plugin, out: Converted, response: bool) -> None:
    cfg = p.config
    remove = _names(_section(cfg, "remove").get("headers"))
    replace = _pairs(_section(cfg, "replace").get("headers"))
    add = _pairs(_section(cfg, "add").get("headers"))
    append = _pairs(_section(cfg, "append").get("headers"))
    rename = _section(cfg, "rename").get("headers")
    modifier = HeaderModifier(set=tuple(add + replace), add=tuple(append), remove=tuple(remove))
    if modifier != HeaderModifier():
        if response:
            out.response_headers = modifier
        else:
            out.request_headers = modifier
    aspect = "headers" if response else "path"
    if add or replace:
        out.notes.append(_note(p, "HEADERS-CONDITIONAL", Level.INFO,
                               "Kong adds a header only when it is absent and replaces one only when present",
                               Fidelity.APPROXIMATE, "both set the header unconditionally", {aspect}))
    lost = [k for k in ("querystring", "body", "json") for sec in ("remove", "rename", "replace", "add", "append")
            if _section(cfg, sec).get(k)]
    if rename:
        lost.append("rename.headers")
    uri = _section(cfg, "replace").get("uri")
    if isinstance(uri, str) and uri and not response:
        if "$(" in uri:
            lost.append("replace.uri with captures")
        else:
            out.rewrite = URLRewrite(path=PathModifier("ReplaceFullPath", uri))
    if lost:
        out.notes.append(_note(p, "TRANSFORM-LOST", Level.WARNING,
                               f"{p.name} also changes {', '.join(sorted(set(lost)))}, which no Gateway API filter can",
                               Fidelity.UNSUPPORTED, "not converted", {aspect}))


def _cors(p: Plugin, out: Converted) -> None:
    cfg = p.config
    origins = tuple(_names(cfg.get("origins"))) or ("*",)
    methods = tuple(_names(cfg.get("methods"))) or CORS_METHODS
    max_age = cfg.get("max_age")
    out.cors = CORS(allow_origins=origins, allow_methods=methods, allow_headers=tuple(_names(cfg.get("headers"))),
                    expose_headers=tuple(_names(cfg.get("exposed_headers"))),
                    allow_credentials=bool(cfg.get("credentials")) or None,
                    max_age=max_age if isinstance(max_age, int) and not isinstance(max_age, bool) else None)
    if cfg.get("preflight_continue"):
        out.notes.append(_note(p, "CORS-PREFLIGHT-CONTINUE", Level.WARNING,
                               "preflight_continue sends preflights to the upstream; the CORS filter answers them",
                               Fidelity.APPROXIMATE, "preflights answered by the Gateway", {"cors"}))


def _ip_restriction(p: Plugin, out: Converted) -> None:
    cfg = p.config
    allow = tuple(_names(cfg.get("allow") or cfg.get("whitelist")))
    deny = tuple(_names(cfg.get("deny") or cfg.get("blacklist")))
    status = cfg.get("status")
    code = status if isinstance(status, int) and not isinstance(status, bool) else 403
    out.intents.append(i.IPAccess(allow=allow, deny=deny, order="deny-first", status=code,
                                  provenance=_prov(p)))


_WINDOWS = (("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400), ("month", 2_592_000), ("year", 31_536_000))


def _rate_limit(p: Plugin, out: Converted) -> None:
    cfg = p.config
    windows = [(w, cfg[w]) for w, _ in _WINDOWS if isinstance(cfg.get(w), (int, float)) and cfg.get(w)]
    key = {"ip": "client-ip", "consumer": "consumer", "credential": "credential", "service": "service",
           "header": f"header:{cfg.get('header_name')}", "path": f"path:{cfg.get('path')}",
           "consumer-group": "consumer-group"}.get(str(cfg.get("limit_by") or "consumer"), "consumer")
    scope = "per-replica" if (cfg.get("policy") or "local") == "local" else "global"
    raw_code = cfg.get("error_code")
    code = int(raw_code) if isinstance(raw_code, (int, float)) and not isinstance(raw_code, bool) else 429
    usable = [(w, n) for w, n in windows if w in ("second", "minute")]
    if usable:
        unit, rate = usable[0]
        out.intents.append(i.RateLimit(rate=math.floor(rate), unit=unit, burst=0, key=key, status=code,  # type: ignore[arg-type]
                                       scope=scope, provenance=_prov(p)))  # type: ignore[arg-type]
    rest = [f"{n}/{w}" for w, n in windows if (w, n) not in usable[:1]]
    if rest:
        out.intents.append(i.Opaque(vendor=VENDOR, key="rate-limiting", raw=", ".join(rest),
                                    protection=Security.RATE_LIMIT, affects=("status",), provenance=_prov(p)))


def _size_limit(p: Plugin, out: Converted) -> None:
    cfg = p.config
    size = cfg.get("allowed_payload_size", 128)
    unit = cfg.get("size_unit", "megabytes")
    factor = {"megabytes": 1024 * 1024, "kilobytes": 1024, "bytes": 1}.get(str(unit), 1024 * 1024)
    if isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0:
        out.intents.append(i.BodyLimit(max_bytes=int(size * factor), provenance=_prov(p)))


def _redirect(p: Plugin, out: Converted) -> None:
    from urllib.parse import urlsplit

    cfg = p.config
    location = cfg.get("location")
    code = cfg.get("status_code", 301)
    if not isinstance(location, str) or not isinstance(code, int):
        return
    parts = urlsplit(location)
    keep = bool(cfg.get("keep_incoming_path"))
    path = None if keep else PathModifier("ReplaceFullPath", parts.path or "/")
    if parts.query or code not in (301, 302, 303, 307, 308):
        out.notes.append(_note(p, "REDIRECT-LOST", Level.WARNING, f"redirect to {location} ({code}) has no "
                               "RequestRedirect form", Fidelity.UNSUPPORTED, "not converted", {"redirect", "status"}))
        return
    out.redirect = RequestRedirect(scheme=parts.scheme or None, hostname=parts.hostname, port=parts.port, path=path,
                                   status_code=code)


def _prov(p: Plugin) -> Provenance:
    return Provenance(p.source.kind.kind, p.source.namespace, p.source.name, f"plugin {p.name}", p.source.origin)


def convert(plugins: Sequence[Plugin]) -> Converted:
    """Filters, intents and notes for the plugins of one route (in order)."""
    out = Converted()
    for p in plugins:
        before = len(out.intents)
        _convert_one(p, out)
        for intent in out.intents[before:]:
            aspects = set(intent.aspects) | ({"auth"} if intent.security in (
                Security.ACCESS_CONTROL, Security.AUTHENTICATION) else set())
            out.notes.append(_note(p, "EXTENSION", Level.WARNING, f"{p.name}: {intent.summary()}",
                                   Fidelity.EXTENSION, f"carried as the {intent.kind} policy intent", aspects,
                                   intent.security))
    return out


def _convert_one(p: Plugin, out: Converted) -> None:
    """One plugin's filters, intents and notes, added to ``out``."""
    if not p.known_config:
        out.notes.append(_note(p, "CONFIG-FROM-SECRET", Level.WARNING,
                               "the plugin's configuration is in a Secret (configFrom/configPatches), which "
                               "ing2gw never reads", Fidelity.UNSUPPORTED, "kept as an opaque intent",
                               {"status", "headers", "auth"}))
    if p.name == "request-transformer":
        _headers(p, out, response=False)
    elif p.name == "response-transformer":
        _headers(p, out, response=True)
    elif p.name == "cors":
        _cors(p, out)
    elif p.name == "redirect":
        _redirect(p, out)
    elif p.name == "ip-restriction":
        _ip_restriction(p, out)
    elif p.name in ("rate-limiting", "rate-limiting-advanced"):
        _rate_limit(p, out)
    elif p.name == "request-size-limiting":
        _size_limit(p, out)
    elif p.name == "basic-auth":
        realm = p.config.get("realm")
        out.intents.append(i.BasicAuth(scheme="basic", secret=None, secret_layout="map",
                                       realm=realm if isinstance(realm, str) else "service",
                                       provenance=_prov(p)))
        out.notes.append(_note(p, "CREDENTIALS", Level.WARNING,
                               "basic-auth credentials live on KongConsumers (Secrets labelled "
                               "konghq.com/credential=basic-auth)", Fidelity.EXTENSION,
                               "the target needs its own credentials Secret (htpasswd), created by hand",
                               {"auth"}, Security.AUTHENTICATION))
    elif p.name in AUTH_PLUGINS or p.name in ACCESS_PLUGINS:
        security = Security.AUTHENTICATION if p.name in AUTH_PLUGINS else Security.ACCESS_CONTROL
        out.intents.append(i.Opaque(vendor=VENDOR, key=p.name, raw=json.dumps(p.config, sort_keys=True),
                                    protection=security, affects=("status", "auth"), provenance=_prov(p)))
    else:
        out.intents.append(i.Opaque(vendor=VENDOR, key=p.name, raw=json.dumps(p.config, sort_keys=True),
                                    affects=("status", "headers"), provenance=_prov(p)))
