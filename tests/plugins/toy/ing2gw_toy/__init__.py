"""A third-party ing2gw provider, installed in tests through its entry point only.

It reads one CRD kind, ``example.com/v1 ToyRoute``, that opens its own port::

    apiVersion: example.com/v1
    kind: ToyRoute
    metadata: {name: db, namespace: apps}
    spec:
      gateway: edge                     # optional, default "toy"
      port: 9000                        # the Gateway listener's port
      protocol: TCP                     # HTTP, HTTPS, TLS, TCP or UDP
      hostname: db.example.com          # HTTP/HTTPS/TLS only
      tls: {mode: Passthrough}          # TLS; or {mode: Terminate, secretName: NAME}
      path: /api                        # HTTP/HTTPS only (PathPrefix)
      backend: {name: postgres, port: 5432}

or, instead of ``port``/``protocol``, ``mesh: {service: NAME, port: N}`` for a route attached
to a Service (GAMMA). ToyRoutes sharing port, protocol and hostname share one listener.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ing2gw.ir import (
    IR,
    BackendRef,
    CertificateRef,
    Listener,
    ListenerParent,
    Parent,
    PathMatch,
    Provenance,
    Route,
    RouteMatch,
    Rule,
    ServiceParent,
)
from ing2gw.notes import Level, Note
from ing2gw.provider import API_VERSION, AnnotationTable, Claimed, ProviderContext
from ing2gw.resources import APIKind, KubeObject

__all__ = ["PROVIDER", "ToyProvider"]

TOYROUTE = APIKind("example.com", "v1", "ToyRoute")
KINDS = {"HTTP": "HTTPRoute", "HTTPS": "HTTPRoute", "TLS": "TLSRoute", "TCP": "TCPRoute", "UDP": "UDPRoute"}


class _Bad(ValueError):
    pass


def _field(spec: Mapping[str, Any], key: str, kind: type, required: bool = True) -> Any:
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _Bad(f"spec.{key} must be a {kind.__name__}")
    return value


def _convert(obj: KubeObject, ctx: ProviderContext) -> tuple[Route, Listener | None]:
    spec = obj.spec
    prov = Provenance(obj.kind.kind, obj.namespace, obj.name, "", obj.origin)
    raw_backend = _field(spec, "backend", dict)
    backend = BackendRef(_field(raw_backend, "name", str), obj.namespace, _field(raw_backend, "port", int))
    path = _field(spec, "path", str, required=False)
    listener: Listener | None = None
    parent: Parent
    mesh = _field(spec, "mesh", dict, required=False)
    if mesh is not None:
        kind, hostname = "HTTPRoute", ""
        parent = ServiceParent(obj.namespace, _field(mesh, "service", str), _field(mesh, "port", int, False))
    else:
        protocol = _field(spec, "protocol", str)
        if protocol not in KINDS:
            raise _Bad(f"spec.protocol must be one of {', '.join(KINDS)}")
        kind = KINDS[protocol]
        port = _field(spec, "port", int)
        hostname = _field(spec, "hostname", str, required=False) or ""
        tls = _field(spec, "tls", dict, required=False) or {}
        mode = tls.get("mode") if protocol in ("TLS", "HTTPS") else None
        if protocol == "HTTPS":
            mode = "Terminate"
        if mode not in (None, "Terminate", "Passthrough"):
            raise _Bad("spec.tls.mode must be Terminate or Passthrough")
        certs = (CertificateRef(obj.namespace, _field(tls, "secretName", str)),) if mode == "Terminate" else ()
        gateway = ctx.gateway(_field(spec, "gateway", str, required=False) or "toy")
        name = "-".join(x for x in (protocol.lower(), str(port), hostname.replace("*", "wildcard")) if x)
        listener = Listener(gateway, name, port, protocol, hostname, mode, certs, prov)  # type: ignore[arg-type]
        parent = ListenerParent(gateway, name)
    matches = (RouteMatch(path=PathMatch("PathPrefix", path)),) if path and kind == "HTTPRoute" else ()
    rule = Rule(matches=matches, backends=(backend,), provenance=(prov,))
    route = Route(kind, obj.namespace, obj.name, None, (hostname,) if hostname else (),  # type: ignore[arg-type]
                  frozenset(), (rule,), (prov,), parents=(parent,))
    return route, listener


class ToyProvider:
    name = "toy"
    api_version = API_VERSION
    controllers: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    annotations = AnnotationTable("toy.example.com", "TOY", [])
    kinds = (TOYROUTE,)
    description = "test provider: example.com/v1 ToyRoute objects with their own ports"

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        routes: list[Route] = []
        listeners: dict[tuple[str, str], Listener] = {}
        for obj in claimed.of("ToyRoute", "example.com"):
            try:
                route, listener = _convert(obj, ctx)
            except _Bad as exc:
                ctx.notes.add(Note("TOY-INVALID", Level.ERROR, f"{obj.origin}: {exc}", subject=obj.subject,
                                   origin=obj.origin, instead="ToyRoute not converted"))
                continue
            routes.append(route)
            if listener is not None:
                listeners.setdefault((listener.gateway.key, listener.name), listener)
        return IR(routes=tuple(routes), listeners=tuple(listeners[k] for k in sorted(listeners)))


PROVIDER = ToyProvider()
