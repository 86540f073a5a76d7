"""haproxy-tech: one Ingress's annotations read into the neutral :class:`HaproxyPolicy`,
with the controller's defaults (HTTPS redirect 302 to port 8443, rate limits answered 403,
CORS ``*`` with a 5 s max-age)."""

from __future__ import annotations

from ing2gw import intents as it
from ing2gw.ir import Provenance
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress

from .._haproxy.policy import BackendTLSWish, Cors, HaproxyPolicy, RateLimitRule, Redirect, Rewrite
from .annotations import PREFIXES

__all__ = ["policy_of"]


def _list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) or ("*",)


def _cors(ann: Annotations) -> Cors:
    """The controller's CORS: headers on every answer to an allowed Origin (``*``, or the
    origin matching the regular expression -- unanchored -- echoed), methods upper-cased and
    joined with ``, ``, headers with the spaces taken out, Max-Age in whole seconds; OPTIONS
    answered 204 by haproxy only with ``cors-respond-to-options``."""
    origin = str(ann.get("cors-allow-origin")).strip()
    methods = str(ann.get("cors-allow-methods")).strip()
    if methods != "*":
        methods = ", ".join(m.upper() for m in "".join(methods.split()).split(","))
    headers = "".join(str(ann.get("cors-allow-headers")).split())
    age = ann.get("cors-max-age")
    return Cors(origins=("*",) if origin == "*" else (), patterns=() if origin == "*" else (origin,),
                methods=_list(methods), headers=_list(headers), credentials=bool(ann.get("cors-allow-credentials")),
                max_age=age.millis // 1000 if age else 5, methods_text=methods, headers_text=headers,
                preflight=bool(ann.get("cors-respond-to-options")))


def policy_of(ing: Ingress, ann: Annotations) -> HaproxyPolicy:
    """What the Ingress asks of the controller's haproxy."""
    def prov(key: str) -> Provenance:
        return Provenance("Ingress", ing.namespace, ing.name, f"{PREFIXES[0]}/{key}", ing.origin)

    redirect = None
    if "request-redirect" in ann:
        host, port = ann.get("request-redirect")
        redirect = Redirect(code=ann.get("request-redirect-code"), hostname=host, port=port)
    basic = None
    if ann.get("auth-type") == "basic-auth" and ann.get("auth-secret") is not None:
        ns, name = ann.get("auth-secret").resolve(ing.namespace)
        basic = (f"{ns}/{name}", str(ann.get("auth-realm")))
    rate = None
    if ann.get("rate-limit-requests"):
        period = ann.get("rate-limit-period")
        rate = RateLimitRule(ann.get("rate-limit-requests"), period.millis if period else 1000,
                             ann.get("rate-limit-status-code"), ann.get("rate-limit-whitelist") or ())
    cors = _cors(ann) if ann.get("cors-enable") else None
    intents: list[it.Intent] = []
    if "load-balance" in ann:
        intents.append(it.LoadBalancing(algorithm=ann.get("load-balance"), provenance=prov("load-balance")))
    for key in ("cookie-persistence", "cookie-persistence-no-dynamic"):
        if key in ann:
            intents.append(it.SessionAffinity(cookie=ann.get(key), provenance=prov(key)))
    if "timeout-server" in ann:
        intents.append(it.Timeouts(read_ms=ann.get("timeout-server").millis, provenance=prov("timeout-server")))
    if "server-crt" in ann:
        ns, name = ann.get("server-crt").resolve(ing.namespace)
        intents.append(it.BackendTLSOptions(client_cert=f"{ns}/{name}", provenance=prov("server-crt")))
    rewrite = ann.get("path-rewrite")
    backend_tls = None
    if ann.get("server-ssl"):
        ca = ann.get("server-ca")
        backend_tls = BackendTLSWish("server-ssl", "/".join(ca.resolve(ing.namespace)) if ca is not None else None)
    return HaproxyPolicy(
        ssl_redirect=ann.get("ssl-redirect"),
        ssl_redirect_code=ann.get("ssl-redirect-code"),
        ssl_redirect_port=ann.get("ssl-redirect-port"),
        ssl_redirect_port_implicit="ssl-redirect-port" not in ann,
        redirect=redirect,
        client_header=ann.get("src-ip-header"),
        allow=ann.get("allow-list") or (),
        deny=ann.get("deny-list") or (),
        basic_auth=basic,
        rate_limit=rate,
        request_set=ann.get("request-set-header") or (),
        set_host=ann.get("set-host"),
        rewrite=Rewrite(rewrite) if rewrite else None,
        response_set=ann.get("response-set-header") or (),
        cors=cors,
        intents=tuple(intents),
        passthrough=bool(ann.get("ssl-passthrough")),
        backend_tls=backend_tls,
    )
