"""ingress-nginx per-location and per-host settings other than redirects, rewrites and canaries:
``upstream-vhost``, ``server-alias``, CORS, ``custom-headers``, ``backend-protocol`` (GRPCRoute,
BackendTLSPolicy). What the Gateway API leaves to implementation-specific policies (body
size, timeouts, rate limits, auth, IP lists ...) becomes typed intents in :mod:`.intents`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ing2gw.ir import (
    CORS,
    BackendRef,
    BackendTLS,
    FilterType,
    GatewayRef,
    HeaderModifier,
    PathMatch,
    Provenance,
    RouteMatch,
)
from ing2gw.notes import Fidelity, Level
from ing2gw.resources import Ingress

from .parsers import BackendProtocol, CorsOrigins, ObjectRef

if TYPE_CHECKING:
    from ing2gw.provider import Annotations

    from .._common.ingress import HostRoutes, PathContext
    from .context import PolicyContext

__all__ = ["HostPolicies", "grpc_matches", "route_kind", "rule_filters"]

_PRECISE_HOST = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII)
_WILDCARD_HOST = re.compile(r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII)
_GRPC_SERVICE = re.compile(r"\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*", re.ASCII)
_GRPC_METHOD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*", re.ASCII)
_GRPC_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"})


# --- filters -------------------------------------------------------------------------------


def rule_filters(tr: PolicyContext, ing: Ingress) -> list[tuple[FilterType, HeaderModifier | CORS]]:
    """CORS and custom response headers for every rule of the Ingress: (filter type, value)
    pairs, the same for each of its paths (worked out, and noted, once per Ingress)."""
    ann = tr.annotations(ing)
    out: list[tuple[FilterType, HeaderModifier | CORS]] = []
    if ann.get("enable-cors"):
        out.append(("CORS", _cors(tr, ing, ann)))
    ref: ObjectRef | None = ann.get("custom-headers")
    if ref is not None:
        ns, name = ref.resolve(ing.namespace)
        data = tr.resources.config_maps.get((ns, name))
        if data is None:
            tr.note_ann(ing, "custom-headers", "CUSTOM-HEADERS-MISSING", Level.WARNING,
                        f"ConfigMap {ns}/{name} with the response headers is not in the input (ingress-nginx "
                        "answers 503 on the Ingress's locations when it is missing)",
                        fidelity=Fidelity.UNSUPPORTED,
                        instead="no ResponseHeaderModifier; add the ConfigMap to the input",
                        aspects=("status", "headers"))
        else:
            headers = tuple(sorted((k, v) for k, v in data.items() if v))
            out.append(("ResponseHeaderModifier", HeaderModifier(set=headers)))
            allowed = {h.lower() for h in tr.settings.global_allowed_response_headers}
            refused = sorted(k for k in data if k.lower() not in allowed)
            if refused:
                tr.note_ann(ing, "custom-headers", "CUSTOM-HEADERS-REFUSED", Level.WARNING,
                            f"ingress-nginx answers every path of this Ingress with 503: {', '.join(refused)} "
                            f"of ConfigMap {ns}/{name} are not in the controller's global-allowed-response-headers; "
                            "the Gateway serves the paths and sets the headers",
                            fidelity=Fidelity.APPROXIMATE, instead="ResponseHeaderModifier set",
                            aspects=("status", "backend", "headers"))
            else:
                tr.note_ann(ing, "custom-headers", "CUSTOM-HEADERS", Level.INFO,
                            f"response headers from ConfigMap {ns}/{name} are set on every response (the "
                            "controller's global-allowed-response-headers lists them all)",
                            fidelity=Fidelity.EXACT, instead="ResponseHeaderModifier set")
    if tr.route_kind(ing) == "GRPCRoute":
        return [f for f in out if f[0] in _GRPC_FILTERS]
    return out


def _cors(tr: PolicyContext, ing: Ingress, ann: Annotations) -> CORS:
    origins: CorsOrigins = ann.get("cors-allow-origin")
    if origins.skipped:
        tr.note_ann(ing, "cors-allow-origin", "CORS-ORIGIN-SKIPPED", Level.WARNING,
                    f"malformed origins are skipped by ingress-nginx too: {', '.join(origins.skipped)}",
                    instead="left out", aspects=("cors",))
    max_age: int = ann.get("cors-max-age")
    if origins.any:
        what = ("ingress-nginx answers every OPTIONS request on the location itself with 204 and sends "
                "Access-Control-Allow-Origin: * even with credentials; the Gateway CORS filter answers only "
                "real preflights (with 200) and handles credentials per the Fetch standard")
    else:
        what = ("ingress-nginx answers a preflight from a listed origin itself with 204, but passes OPTIONS "
                "requests from any other origin on to the backend (without CORS headers), and adds the "
                "Allow-Methods, Allow-Headers and Max-Age headers to every response for a listed origin; the "
                "Gateway CORS filter answers every preflight itself (200, CORS headers for listed origins "
                "only), so the backend no longer sees OPTIONS requests from other origins, and other responses "
                "carry only Allow-Origin, Allow-Credentials and Expose-Headers")
    tr.note_ann(ing, "enable-cors", "CORS", Level.INFO, what,
                fidelity=Fidelity.APPROXIMATE, instead="HTTPRoute CORS filter with ingress-nginx's defaults",
                aspects=("cors",))
    return CORS(
        allow_origins=origins.origins,
        allow_methods=tuple(m.upper() for m in ann.get("cors-allow-methods")),
        allow_headers=tuple(ann.get("cors-allow-headers")),
        expose_headers=tuple(ann.get("cors-expose-headers")),
        allow_credentials=bool(ann.get("cors-allow-credentials")),
        max_age=max_age if 0 < max_age < 2**31 else None,
    )


# --- backend protocol ----------------------------------------------------------------------


def route_kind(ann: Annotations) -> Literal["HTTPRoute", "GRPCRoute"]:
    protocol = ann.get("backend-protocol")
    return "GRPCRoute" if protocol in (BackendProtocol.GRPC, BackendProtocol.GRPCS) else "HTTPRoute"


def grpc_matches(tr: PolicyContext, pc: PathContext, value: str) -> list[RouteMatch]:
    """An Ingress path of a gRPC backend as a GRPCRoute method match (``/`` = every method)."""
    parts = value.strip("/").split("/") if value.strip("/") else []
    if not parts or (len(parts) <= 2 and _GRPC_SERVICE.fullmatch(parts[0])
                     and (len(parts) == 1 or _GRPC_METHOD.fullmatch(parts[1]))):
        tr.note(pc, "GRPC-ONLY", Level.WARNING,
                f"ingress-nginx passes every request for {pc.host or '*'}{value} to the gRPC backend, plain "
                "HTTP/1.1 ones (health checks, gRPC-Web, REST gateways) included; a GRPCRoute matches gRPC "
                "requests only, so the Gateway answers the others 404",
                fidelity=Fidelity.APPROXIMATE,
                instead="GRPCRoute only (add an HTTPRoute to the same backend if it serves non-gRPC requests)",
                fld=tr.fld("backend-protocol"), aspects=("status", "backend"))
        return [RouteMatch(path=PathMatch("Exact", "/".join(parts)))] if parts else [RouteMatch()]
    tr.note(pc, "GRPC-PATH", Level.ERROR,
            f"path {value!r} is not /<service> or /<service>/<method>, which is all a GRPCRoute can match",
            fidelity=Fidelity.UNSUPPORTED, instead="path skipped", fld=pc.path.field + ".path",
            aspects=("status", "backend"))
    return []


# --- per-host state ------------------------------------------------------------------------


@dataclass(slots=True)
class HostPolicies:
    """Host-wide settings where the oldest Ingress of a host decides (server-alias)."""

    aliases: dict[tuple[GatewayRef, str], tuple[Ingress, tuple[str, ...]]] = field(default_factory=dict)

    def add(self, tr: PolicyContext, ing: Ingress) -> None:
        """Called oldest first: the first Ingress with aliases for a host provides them."""
        aliases: tuple[str, ...] = tr.annotations(ing).get("server-alias")
        if not aliases:
            return
        gw = tr.ctx.gateway_for(ing)
        for rule in ing.rules:
            if rule.host and (gw, rule.host) not in self.aliases:
                self.aliases[(gw, rule.host)] = (ing, aliases)

    def hostnames(self, tr: PolicyContext, hr: HostRoutes) -> tuple[str, ...]:
        if not hr.host:
            return ()
        entry = self.aliases.get((hr.gateway, hr.host))
        if entry is None:
            return (hr.host,)
        owner, aliases = entry
        out = [hr.host]
        for alias in aliases:
            name = alias.lower()
            if name == hr.host or name in out:
                continue
            if (hr.gateway, name) in tr.real_hosts:
                tr.note_ann(owner, "server-alias", "SERVER-ALIAS-REAL-HOST", Level.INFO,
                            f"alias {alias} is a host of its own, which ingress-nginx keeps separate",
                            instead="alias dropped", aspects=("status", "backend"))
                continue
            if _PRECISE_HOST.fullmatch(name) or _WILDCARD_HOST.fullmatch(name):
                out.append(name)
                continue
            tr.note_ann(owner, "server-alias", "SERVER-ALIAS-NOT-EXPRESSIBLE", Level.WARNING,
                        f"alias {alias} is an nginx regex or suffix-wildcard server name, which Gateway API "
                        "hostnames cannot express",
                        fidelity=Fidelity.UNSUPPORTED, instead="alias dropped",
                        aspects=("status", "backend", "path", "redirect", "host"))
        return tuple(out)

    def upstream_vhost(self, tr: PolicyContext, ing: Ingress) -> str | None:
        value: str | None = tr.annotations(ing).get("upstream-vhost")
        if value is None:
            return None
        host = value.lower()
        if "$" in host:
            tr.note_ann(ing, "upstream-vhost", "UPSTREAM-VHOST-VARIABLE", Level.WARNING,
                        f"upstream Host {value} uses nginx variables", fidelity=Fidelity.UNSUPPORTED,
                        instead="not converted; the backend receives the client's Host", aspects=("host",))
            return None
        if ":" in host and not host.startswith("["):
            host = host.split(":", 1)[0]
            tr.note_ann(ing, "upstream-vhost", "UPSTREAM-VHOST-PORT", Level.WARNING,
                        f"URLRewrite hostname cannot carry the port of {value}", fidelity=Fidelity.APPROXIMATE,
                        instead=f"hostname {host} without the port", aspects=("host",))
        if not _PRECISE_HOST.fullmatch(host):
            tr.note_ann(ing, "upstream-vhost", "UPSTREAM-VHOST-INVALID", Level.WARNING,
                        f"{value} is not a hostname URLRewrite accepts", fidelity=Fidelity.UNSUPPORTED,
                        instead="not converted", aspects=("host",))
            return None
        return host

    def backend_tls(self, tr: PolicyContext, ing: Ingress, backends: Sequence[BackendRef]) -> None:
        """``backend-protocol`` notes, and a BackendTLSPolicy for HTTPS/GRPCS backends."""
        ann = tr.annotations(ing)
        protocol: BackendProtocol = ann.get("backend-protocol")
        if protocol in (BackendProtocol.AUTO_HTTP, BackendProtocol.FCGI):
            tr.note_ann(ing, "backend-protocol", "BACKEND-PROTOCOL", Level.WARNING,
                        f"backend protocol {protocol.value} has no Gateway API form",
                        fidelity=Fidelity.UNSUPPORTED, instead="plain HTTP to the backend", aspects=("status",))
            return
        if protocol not in (BackendProtocol.HTTPS, BackendProtocol.GRPCS):
            return
        name: str | None = ann.get("proxy-ssl-name")
        secret: ObjectRef | None = ann.get("proxy-ssl-secret")
        missing = []
        if name is None or "$" in name:
            missing.append("proxy-ssl-name (the name to verify, without nginx variables)")
        if secret is None:
            missing.append("proxy-ssl-secret (the CA to verify with)")
        if missing:
            tr.note_ann(ing, "backend-protocol", "BACKEND-TLS-INCOMPLETE", Level.ERROR,
                        f"backend protocol {protocol.value} needs a BackendTLSPolicy, which needs a hostname and "
                        f"a CA; missing: {'; '.join(missing)}",
                        fidelity=Fidelity.UNSUPPORTED,
                        instead="no BackendTLSPolicy: the Gateway will not use TLS to the backend")
            return
        assert name is not None and secret is not None
        if not ann.get("proxy-ssl-verify"):
            tr.note_ann(ing, "proxy-ssl-verify", "BACKEND-TLS-VERIFY", Level.INFO,
                        "ingress-nginx does not verify the backend certificate (or send SNI) unless "
                        "proxy-ssl-verify / proxy-ssl-server-name are on; a BackendTLSPolicy always does",
                        fidelity=Fidelity.APPROXIMATE, instead="BackendTLSPolicy verifies the certificate")
        tr.note_ann(ing, "proxy-ssl-secret", "BACKEND-TLS-CA", Level.WARNING,
                    f"BackendTLSPolicy takes its CA from a ConfigMap: copy ca.crt of Secret {secret} into a "
                    f"ConfigMap {secret.name} in namespace {ing.namespace}; the client certificate in the Secret "
                    "is not used",
                    fidelity=Fidelity.APPROXIMATE, instead=f"caCertificateRefs names ConfigMap {secret.name}")
        prov = Provenance("Ingress", ing.namespace, ing.name, tr.fld("backend-protocol"), ing.origin)
        for b in backends:
            tr.add_backend_tls(BackendTLS(namespace=b.namespace, service=b.name, port=b.port,
                                          hostname=name.lower(), ca_certificate_refs=(secret.name,), source=prov))
