"""Traefik Middlewares as Gateway API filters where they are exact, policy intents otherwise.

One table (:data:`HANDLING`) says for every Middleware type what it becomes and how faithfully;
:func:`convert` applies it to the middlewares one router names, in order, and notes each loss on
the object that names them (the Ingress annotation or the IngressRoute route). A reference that
resolves to nothing (another Traefik provider's ``@file`` middleware, a missing object) is
noted: Traefik refuses such a router, answering 404.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import CORS, Filter, HeaderModifier, PathMatch, PathModifier, Provenance, RequestRedirect, URLRewrite
from ing2gw.notes import Fidelity, Level, Note, Notes, Scope

from .crds import Crds, Middleware

__all__ = ["HANDLING", "Converted", "Site", "convert"]

# type -> (fidelity, what it becomes)
HANDLING: dict[str, tuple[Fidelity, str]] = {
    "headers": (Fidelity.EXACT, "RequestHeaderModifier / ResponseHeaderModifier filters; CORS filter"),
    "redirectScheme": (Fidelity.APPROXIMATE, "RequestRedirect filter on the HTTP listener's route"),
    "redirectRegex": (Fidelity.UNSUPPORTED, "none: regular-expression redirects have no Gateway API form"),
    "replacePath": (Fidelity.APPROXIMATE, "URLRewrite ReplaceFullPath"),
    "replacePathRegex": (Fidelity.UNSUPPORTED, "none: regular-expression rewrites have no Gateway API form"),
    "stripPrefix": (Fidelity.APPROXIMATE, "URLRewrite ReplacePrefixMatch (the prefix must be the rule's path)"),
    "stripPrefixRegex": (Fidelity.UNSUPPORTED, "none: regular-expression rewrites have no Gateway API form"),
    "addPrefix": (Fidelity.APPROXIMATE, "URLRewrite ReplacePrefixMatch on a PathPrefix / rule"),
    "basicAuth": (Fidelity.EXTENSION, "basic-auth intent"),
    "digestAuth": (Fidelity.EXTENSION, "basic-auth intent (digest)"),
    "forwardAuth": (Fidelity.EXTENSION, "external-auth intent"),
    "ipAllowList": (Fidelity.EXTENSION, "ip-access intent"),
    "ipWhiteList": (Fidelity.EXTENSION, "ip-access intent"),
    "rateLimit": (Fidelity.EXTENSION, "rate-limit intent (429)"),
    "inFlightReq": (Fidelity.EXTENSION, "rate-limit intent (concurrent requests)"),
    "buffering": (Fidelity.EXTENSION, "body-limit and buffering intents"),
    "retry": (Fidelity.EXTENSION, "retries intent"),
    "errors": (Fidelity.EXTENSION, "error-pages intent"),
    "compress": (Fidelity.EXTENSION, "opaque intent (response compression)"),
    "chain": (Fidelity.EXACT, "the middlewares it chains, each converted"),
}
_OTHER = (Fidelity.UNSUPPORTED, "opaque intent")
# Security headers the headers middleware writes: option -> (header, value of True or the option's text)
_SECURITY_HEADERS = {
    "frameDeny": ("X-Frame-Options", "DENY"),
    "customFrameOptionsValue": ("X-Frame-Options", None),
    "contentTypeNosniff": ("X-Content-Type-Options", "nosniff"),
    "browserXssFilter": ("X-XSS-Protection", "1; mode=block"),
    "referrerPolicy": ("Referrer-Policy", None),
    "contentSecurityPolicy": ("Content-Security-Policy", None),
    "permissionsPolicy": ("Permissions-Policy", None),
}
_ASPECTS = {
    "headers": ("headers", "cors"), "redirectScheme": ("status", "redirect"), "redirectRegex": ("status", "redirect"),
    "replacePath": ("path", "headers"), "replacePathRegex": ("path",), "stripPrefix": ("path", "headers"),
    "stripPrefixRegex": ("path",), "addPrefix": ("path",), "basicAuth": ("status", "auth"),
    "digestAuth": ("status", "auth"), "forwardAuth": ("status", "auth", "headers"), "ipAllowList": ("status",),
    "ipWhiteList": ("status",), "rateLimit": ("status",), "inFlightReq": ("status",), "buffering": ("status",),
    "retry": ("status",), "errors": ("status", "backend"),
}


@dataclass(frozen=True, slots=True)
class Site:
    """Where a router names its middlewares: the object, the field, the rules concerned."""

    subject: str
    origin: str
    field: str
    scope: Scope
    provenance: Provenance


@dataclass(slots=True)
class Converted:
    filters: list[Filter] = field(default_factory=list)
    intents: list[i.Intent] = field(default_factory=list)
    scheme_redirect: RequestRedirect | None = None  # redirectScheme: only for the plain-HTTP side


def _note(notes: Notes, site: Site, code: str, level: Level, message: str, fidelity: Fidelity | None,
          instead: str, aspects: Sequence[str] = ()) -> None:
    notes.add(Note(f"TRAEFIK-{code}", level, message, subject=site.subject, field=site.field, fidelity=fidelity,
                   instead=instead, origin=site.origin, aspects=frozenset(aspects), scope=site.scope))


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value or () if str(v))


def _headers(cfg: Mapping[str, Any], out: Converted, prov: Provenance) -> list[str]:
    """Header filters; returns the options it could not carry."""
    left: list[str] = []
    def split(raw: Any) -> tuple[list[tuple[str, str]], list[str]]:
        if not isinstance(raw, Mapping):
            return [], []
        return ([(str(k), str(v)) for k, v in raw.items() if str(v)], [str(k) for k, v in raw.items() if not str(v)])

    req_set, req_remove = split(cfg.get("customRequestHeaders"))
    if req_set or req_remove:
        out.filters.append(Filter("RequestHeaderModifier", HeaderModifier(set=tuple(sorted(req_set)),
                                                                          remove=tuple(sorted(req_remove))), prov))
    response, resp_remove = split(cfg.get("customResponseHeaders"))
    for option, (header, fixed) in _SECURITY_HEADERS.items():
        value = cfg.get(option)
        if value:
            response.append((header, fixed if fixed is not None and value is True else str(value)))
    if cfg.get("stsSeconds"):
        sts = f"max-age={int(cfg['stsSeconds'])}"
        sts += "; includeSubDomains" if cfg.get("stsIncludeSubdomains") else ""
        sts += "; preload" if cfg.get("stsPreload") else ""
        out.intents.append(i.ResponseHeaders(set=(("Strict-Transport-Security", sts),), tls_only=True,
                                             provenance=prov))
    if response or resp_remove:
        out.filters.append(Filter("ResponseHeaderModifier", HeaderModifier(set=tuple(sorted(response)),
                                                                           remove=tuple(sorted(resp_remove))), prov))
    origins = _str_list(cfg.get("accessControlAllowOriginList"))
    if origins:
        out.filters.append(Filter("CORS", CORS(
            allow_origins=origins, allow_methods=_str_list(cfg.get("accessControlAllowMethods")),
            allow_headers=_str_list(cfg.get("accessControlAllowHeaders")),
            expose_headers=_str_list(cfg.get("accessControlExposeHeaders")),
            allow_credentials=bool(cfg.get("accessControlAllowCredentials")) or None,
            max_age=int(cfg["accessControlMaxAge"]) if str(cfg.get("accessControlMaxAge", "")).isdigit() else None,
        ), prov))
    known = {"customRequestHeaders", "customResponseHeaders", "stsSeconds", "stsIncludeSubdomains", "stsPreload",
             "accessControlAllowOriginList", "accessControlAllowMethods", "accessControlAllowHeaders",
             "accessControlExposeHeaders", "accessControlAllowCredentials", "accessControlMaxAge",
             *_SECURITY_HEADERS}
    left.extend(sorted(k for k in cfg if k not in known))
    return left


def rate_of(cfg: Mapping[str, Any]) -> tuple[int, str]:
    period = str(cfg.get("period") or "1s")
    average = int(cfg.get("average") or 0)
    if period in ("1m", "60s"):
        return average, "minute"
    seconds = float(period[:-1]) if period.endswith("s") and period[:-1].replace(".", "").isdigit() else 1.0
    return (round(average / seconds) if seconds else average), "second"


def _one(mw: Middleware, crds: Crds, match: PathMatch | None, site: Site, notes: Notes, out: Converted,
         depth: int) -> None:
    cfg, prov, kind = mw.config, site.provenance, mw.type
    fidelity, target = HANDLING.get(kind, _OTHER)
    aspects = _ASPECTS.get(kind, ())
    name = f"Middleware {mw.obj.ref} ({kind})"
    if kind == "chain":
        for ref in cfg.get("middlewares") or []:
            if isinstance(ref, str):
                _resolve_and_convert(ref, mw.obj.namespace, crds, match, site, notes, out, depth + 1)
        return
    if kind == "headers":
        left = _headers(cfg, out, prov)
        if cfg.get("accessControlAllowOriginList"):
            _note(notes, site, "MIDDLEWARE-CORS", Level.INFO, f"{name}: CORS becomes the standard CORS filter; "
                  "Traefik answers preflights itself the same way, but vary and origin-list details may differ",
                  Fidelity.APPROXIMATE, "CORS filter", ("cors",))
        if left:
            _note(notes, site, "MIDDLEWARE-HEADERS-OPTION", Level.WARNING,
                  f"{name}: options {', '.join(left)} have no Gateway API form", Fidelity.UNSUPPORTED,
                  "not converted", ("headers", "status", "redirect"))
        return
    if kind == "redirectScheme":
        scheme = str(cfg.get("scheme") or "https")
        port = int(cfg["port"]) if str(cfg.get("port", "")).isdigit() else None
        status = 301 if cfg.get("permanent") else 302
        out.scheme_redirect = RequestRedirect(scheme=scheme, port=port, status_code=status)
        _note(notes, site, "MIDDLEWARE-REDIRECT-SCHEME", Level.INFO,
              f"{name}: becomes a {status} redirect on the plain-HTTP listener; Traefik answers methods other "
              f"than GET with {308 if status == 301 else 307}", Fidelity.APPROXIMATE,
              "RequestRedirect filter; the HTTPS route serves the backend", ("status", "redirect"))
        return
    if kind == "replacePath" and isinstance(cfg.get("path"), str):
        out.filters.append(Filter("URLRewrite", URLRewrite(path=PathModifier("ReplaceFullPath", cfg["path"])), prov))
        _note(notes, site, "MIDDLEWARE-REPLACE-PATH", Level.INFO, f"{name}: the backend also gets the original "
              "path in X-Replaced-Path from Traefik, not from the Gateway", Fidelity.APPROXIMATE,
              "URLRewrite ReplaceFullPath", ("headers",))
        return
    if kind == "stripPrefix":
        prefixes = _str_list(cfg.get("prefixes"))
        if match is not None and match.type == "PathPrefix" and prefixes and match.value.rstrip("/") in \
                {p.rstrip("/") for p in prefixes}:
            out.filters.append(Filter("URLRewrite", URLRewrite(path=PathModifier("ReplacePrefixMatch", "/")), prov))
            _note(notes, site, "MIDDLEWARE-STRIP-PREFIX", Level.INFO, f"{name}: the backend also gets "
                  "X-Forwarded-Prefix from Traefik, not from the Gateway", Fidelity.APPROXIMATE,
                  "URLRewrite ReplacePrefixMatch /", ("headers",))
            return
        fidelity, target = Fidelity.UNSUPPORTED, f"none: prefixes {', '.join(prefixes)} are not the rule's path"
    if kind == "addPrefix" and isinstance(cfg.get("prefix"), str):
        if match is not None and match.type == "PathPrefix" and match.value == "/":
            out.filters.append(Filter("URLRewrite", URLRewrite(
                path=PathModifier("ReplacePrefixMatch", cfg["prefix"])), prov))
            return
        fidelity, target = Fidelity.UNSUPPORTED, "none: only a PathPrefix / rule can add a prefix"
    intent = _intent(kind, cfg, mw, prov)
    if intent is not None:
        out.intents.append(intent)
        _note(notes, site, f"MIDDLEWARE-{kind.upper()}", Level.WARNING, f"{name}: {target}", Fidelity.EXTENSION,
              f"carried as the {intent.kind} policy intent", aspects)
        return
    out.intents.append(i.Opaque(vendor="traefik", key=f"middleware.{kind}", raw=str(dict(cfg)), provenance=prov,
                                affects=tuple(aspects)))
    _note(notes, site, f"MIDDLEWARE-{kind.upper()}", Level.WARNING, f"{name} has no Gateway API form ({target})",
          fidelity, "kept as an opaque intent; re-create it with the target's own configuration", aspects)


def _intent(kind: str, cfg: Mapping[str, Any], mw: Middleware, prov: Provenance) -> i.Intent | None:
    ns = mw.obj.namespace
    if kind in ("basicAuth", "digestAuth"):
        secret = cfg.get("secret")
        return i.BasicAuth(scheme="basic" if kind == "basicAuth" else "digest",
                           secret=f"{ns}/{secret}" if secret else None, realm=cfg.get("realm") or "traefik",
                           provenance=prov)
    if kind == "forwardAuth" and isinstance(cfg.get("address"), str):
        return i.ExternalAuth(url=cfg["address"], response_headers=_str_list(cfg.get("authResponseHeaders")),
                              provenance=prov)
    if kind in ("ipAllowList", "ipWhiteList"):
        strategy = cfg.get("ipStrategy") if isinstance(cfg.get("ipStrategy"), Mapping) else {}
        return i.IPAccess(allow=_str_list(cfg.get("sourceRange")), order="allow-first",
                          client_address="forwarded" if strategy else "peer",
                          status=int(cfg.get("rejectStatusCode") or 403), provenance=prov)
    if kind == "rateLimit" and cfg.get("average"):
        rate, unit = rate_of(cfg)
        # Traefik's burst is the bucket size: that many at one instant, i.e. burst - 1 above the first
        return i.RateLimit(rate=rate, unit=unit, burst=max(int(cfg.get("burst") or 1) - 1, 0),  # type: ignore[arg-type]
                           status=429, provenance=prov)
    if kind == "inFlightReq" and cfg.get("amount"):
        return i.RateLimit(rate=int(cfg["amount"]), unit="connections", status=429, provenance=prov)
    if kind == "buffering" and cfg.get("maxRequestBodyBytes"):
        return i.BodyLimit(max_bytes=int(cfg["maxRequestBodyBytes"]), provenance=prov)
    if kind == "retry":
        return i.Retries(on=("error",), attempts=int(cfg.get("attempts") or 1), provenance=prov)
    if kind == "errors" and cfg.get("status"):
        codes: list[int] = []
        for item in _str_list(cfg.get("status")):
            lo, _, hi = item.partition("-")
            if lo.isdigit():
                codes.extend(range(int(lo), int(hi or lo) + 1))
        svc: Mapping[str, Any] = cfg["service"] if isinstance(cfg.get("service"), Mapping) else {}
        return i.ErrorPages(codes=tuple(codes), backend=f"{ns}/{svc.get('name')}" if svc.get("name") else None,
                            provenance=prov)
    return None


def _resolve_and_convert(ref: str, namespace: str, crds: Crds, match: PathMatch | None, site: Site, notes: Notes,
                         out: Converted, depth: int) -> None:
    if depth > 8:
        _note(notes, site, "MIDDLEWARE-CHAIN-DEPTH", Level.ERROR, f"middleware chain through {ref} is too deep",
              None, "not converted", ("status",))
        return
    _, _, provider = ref.partition("@")
    obj = crds.by_reference("Middleware", ref, namespace)
    if obj is None:
        where = (f"Traefik's {provider} provider, which the input does not hold" if provider and
                 provider != "kubernetescrd" else "no Middleware of the input")
        _note(notes, site, "MIDDLEWARE-MISSING", Level.WARNING,
              f"middleware {ref} is defined in {where}; Traefik refuses a router whose middleware does not exist "
              "(404)", Fidelity.UNSUPPORTED, "not converted", ("status", "backend", "headers", "path", "redirect"))
        return
    mw = crds.middleware(obj)
    if isinstance(mw, str):
        _note(notes, site, "MIDDLEWARE-INVALID", Level.WARNING, f"{obj.subject}: {mw}", Fidelity.UNSUPPORTED,
              "not converted", ("status",))
        return
    _one(mw, crds, match, site, notes, out, depth)


def convert(refs: Sequence[str], namespace: str, crds: Crds, match: PathMatch | None, site: Site,
            notes: Notes) -> Converted:
    """The filters and intents of the middlewares ``refs`` (annotation spelling), in order."""
    out = Converted()
    for ref in refs:
        _resolve_and_convert(ref, namespace, crds, match, site, notes, out, 0)
    return out
