"""haproxy-ingress: one Ingress's annotations (and the controller ConfigMap's global keys)
read into the neutral :class:`HaproxyPolicy`, with the controller's defaults: HTTPS redirect
on for TLS hosts (302, ``/.well-known/acme-challenge`` exempt), HSTS on HTTPS answers
(``max-age=15768000``), CORS without credentials and a one-day max-age (the docs say credentials
are on by default; the controller's code and its own tests say off)."""

from __future__ import annotations

from collections.abc import Mapping

from ing2gw import intents as it
from ing2gw.ir import Provenance
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress

from .._haproxy.policy import BackendTLSWish, Cors, HaproxyPolicy, Redirect
from .annotations import PREFIXES

__all__ = ["CORS_HEADERS", "CORS_METHODS", "policy_of"]

CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
CORS_HEADERS = ("DNT", "X-CustomHeader", "Keep-Alive", "User-Agent", "X-Requested-With", "If-Modified-Since",
                "Cache-Control", "Content-Type", "Authorization")


def _list(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        return default
    return tuple(v.strip() for v in value.split(",") if v.strip()) or default


def _cors(ann: Annotations) -> Cors:
    """The controller's CORS: every OPTIONS answered 204 by haproxy (Max-Age there only), the
    Origin echoed when allowed, ``*`` methods/headers echoing the preflight's requested ones,
    origins comma-separated, origin regexes space-separated and unanchored."""
    origins = _list(ann.get("cors-allow-origin"), ("*",))
    patterns = tuple(p for p in (ann.get("cors-allow-origin-regex") or "").split(" ") if p)
    methods = ann.get("cors-allow-methods") or ", ".join(CORS_METHODS)
    headers = ann.get("cors-allow-headers") or ",".join(CORS_HEADERS)
    expose = ann.get("cors-expose-headers") or ""
    return Cors(origins=origins, methods=_list(methods, ("*",)), headers=_list(headers, ("*",)),
                credentials=bool(ann.get("cors-allow-credentials")), max_age=ann.get("cors-max-age"),
                expose=_list(expose, ()), patterns=patterns, methods_text=methods.strip(), headers_text=headers.strip(),
                expose_text=expose.strip(), echo_origin=True, echo_requested=True, max_age_preflight_only=True,
                vary_origin=True, preflight=True, options_skip_auth=True)


def _hsts(ann: Annotations) -> str | None:
    if not ann.get("hsts"):
        return None
    value = f"max-age={ann.get('hsts-max-age')}"
    if ann.get("hsts-include-subdomains"):
        value += "; includeSubDomains"
    if ann.get("hsts-preload"):
        value += "; preload"
    return value


def _intents(ing: Ingress, ann: Annotations) -> list[it.Intent]:
    def prov(key: str) -> Provenance:
        return Provenance("Ingress", ing.namespace, ing.name, f"{PREFIXES[0]}/{key}", ing.origin)

    out: list[it.Intent] = []
    if "auth-url" in ann:
        out.append(it.ExternalAuth(url=ann.get("auth-url"), method=ann.get("auth-method"),
                                   signin_url=ann.get("auth-signin"), provenance=prov("auth-url")))
    if "oauth" in ann:
        # oauth2_proxy answers on the Ingress's own host, under its URI prefix
        out.append(it.ExternalAuth(url=f"{ann.get('oauth-uri-prefix') or '/oauth2'}/auth", provenance=prov("oauth")))
    if "auth-tls-secret" in ann:
        ns, name = ann.get("auth-tls-secret").resolve(ing.namespace)
        out.append(it.ClientCertAuth(ca_secret=f"{ns}/{name}", mode=ann.get("auth-tls-verify-client") or "on",
                                     pass_to_upstream=bool(ann.get("auth-tls-cert-header")),
                                     error_page=ann.get("auth-tls-error-page"), provenance=prov("auth-tls-secret")))
    if "secure-crt-secret" in ann:
        ns, name = ann.get("secure-crt-secret").resolve(ing.namespace)
        out.append(it.BackendTLSOptions(client_cert=f"{ns}/{name}", provenance=prov("secure-crt-secret")))
    if "waf" in ann and ann.get("waf-mode") == "deny":
        out.append(it.Waf(engine=ann.get("waf"), provenance=prov("waf")))
    exempt = tuple(str(n) for n in ann.get("limit-whitelist") or ())
    if "limit-rps" in ann:
        out.append(it.RateLimit(rate=ann.get("limit-rps"), unit="second", exempt=exempt, provenance=prov("limit-rps")))
    if "limit-connections" in ann:
        out.append(it.RateLimit(rate=ann.get("limit-connections"), unit="connections", exempt=exempt,
                                provenance=prov("limit-connections")))
    if "balance-algorithm" in ann or ann.get("service-upstream"):
        out.append(it.LoadBalancing(algorithm=ann.get("balance-algorithm") if "balance-algorithm" in ann else None,
                                    service_address=bool(ann.get("service-upstream")),
                                    provenance=prov("balance-algorithm" if "balance-algorithm" in ann
                                                    else "service-upstream")))
    if ann.get("affinity") == "cookie":
        out.append(it.SessionAffinity(cookie=ann.get("session-cookie-name"), domain=ann.get("session-cookie-domain"),
                                      same_site="None" if ann.get("session-cookie-same-site") else None,
                                      provenance=prov("affinity")))
    times = {k: ann.get(k).millis for k in ("timeout-connect", "timeout-server", "timeout-keep-alive",
                                             "timeout-http-request") if k in ann}
    if times:
        out.append(it.Timeouts(connect_ms=times.get("timeout-connect"), read_ms=times.get("timeout-server"),
                               idle_ms=times.get("timeout-keep-alive"), request_ms=times.get("timeout-http-request"),
                               provenance=prov(sorted(times)[0])))
    return out


def policy_of(ing: Ingress, ann: Annotations, config: Mapping[str, str]) -> HaproxyPolicy:
    """What the Ingress asks of the controller's haproxy (``config``: the controller ConfigMap)."""
    allow, allow_except = ann.get("allowlist-source-range") or ((), ())
    deny, _ = ann.get("denylist-source-range") or ((), ())
    basic = None
    if ann.get("auth-secret") is not None:
        ns, name = ann.get("auth-secret").resolve(ing.namespace)
        basic = (f"{ns}/{name}", ann.get("auth-realm") or "localhost")
    cors = _cors(ann) if ann.get("cors-enable") else None
    redirect = None
    if "redirect-to" in ann:
        redirect = Redirect(code=ann.get("redirect-to-code"), location=ann.get("redirect-to"))
    body = ann.get("proxy-body-size")
    backend_tls = None
    protocol = ann.get("backend-protocol") or "h1"
    if ann.get("secure-backends") or protocol in ("h1-ssl", "h2-ssl", "grpcs"):
        ca = ann.get("secure-verify-ca-secret")
        backend_tls = BackendTLSWish("secure-backends" if ann.get("secure-backends") else "backend-protocol",
                                     "/".join(ca.resolve(ing.namespace)) if ca is not None else None,
                                     ann.get("secure-verify-hostname") or ann.get("secure-sni"))
    exempt = tuple(p.strip() for p in config.get("no-tls-redirect-locations", "/.well-known/acme-challenge").split(",")
                   if p.strip())
    return HaproxyPolicy(
        redirects_first=True,
        ssl_redirect=None if ann.get("ssl-redirect") else False,
        ssl_redirect_code=int(config.get("ssl-redirect-code", "302") or 302),
        ssl_redirect_exempt=exempt,
        redirect=redirect,
        app_root=ann.get("app-root"),
        client_header=ann.get("allowlist-source-header"),
        allow=allow,
        deny=tuple(deny) + tuple(allow_except),
        basic_auth=basic,
        request_set=(ann.get("headers") or ()) + (ann.get("request-set-headers") or ()),
        request_add=ann.get("request-add-headers") or (),
        request_remove=ann.get("request-del-headers") or (),
        rewrite_target=ann.get("rewrite-target"),
        response_set=ann.get("response-set-headers") or (),
        response_add=ann.get("response-add-headers") or (),
        response_remove=ann.get("response-del-headers") or (),
        hsts=_hsts(ann),
        cors=cors,
        body_limit=body.bytes if body is not None and body.bytes > 0 else None,
        intents=tuple(_intents(ing, ann)),
        match_headers=tuple((n, v, False) for n, v in ann.get("http-header-match") or ())
        + tuple((n, v, True) for n, v in ann.get("http-header-match-regex") or ()),
        passthrough=bool(ann.get("ssl-passthrough")),
        backend_tls=backend_tls,
        server_aliases=(ann.get("server-alias"),) if ann.get("server-alias") else (),
        redirect_from=(ann.get("redirect-from"), ann.get("redirect-from-code")) if ann.get("redirect-from") else None,
    )
