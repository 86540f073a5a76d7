"""One API kind, several objects per route (ing2gw.emit.impl.base ``ObjectKind.key``, which
rows name the object by): a target whose objects do one thing each (a Traefik Middleware) gets one
object per intent family on the same rule, named by suffix, each listed as its own
ExtensionRef filter; the CRD preflight lists the kind once."""

from __future__ import annotations

from typing import Any

from ing2gw.emit.gateway import EmitOptions
from ing2gw.emit.impl.base import ImplEmitter, ObjectKind, Piece, Row, Site
from ing2gw.emit.registry import EmitContext, note_unconsumed
from ing2gw.intents import BodyLimit, RateLimit
from ing2gw.ir import IR, BackendRef, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
from ing2gw.notes import Notes

P = Provenance("Ingress", "shop", "web", "nginx.ingress.kubernetes.io/limit-rps")


def _limit(intent: RateLimit, site: Site) -> Piece | str:
    return Piece({"rateLimit": {"average": intent.rate}})


def _body(intent: BodyLimit, site: Site) -> Piece | str:
    return Piece({"buffering": {"maxRequestBodyBytes": intent.max_bytes}})


class TwoMiddlewares(ImplEmitter):
    name = "traefik"
    target = "traefik"
    kinds = (ObjectKind("Middleware", "rate-limit", "extensionRef", key="Middleware rl"),
             ObjectKind("Middleware", "body-limit", "extensionRef", key="Middleware body"))
    rows = (Row(RateLimit, "Middleware rl", "rateLimit", "A", "429", build=_limit),
            Row(BodyLimit, "Middleware body", "buffering", "A", "buffers", build=_body))


def test_one_kind_makes_one_object_per_family_on_the_same_rule() -> None:
    rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),), backends=(BackendRef("web", "shop", 80),),
                intents=(RateLimit(rate=10, unit="second", provenance=P), BodyLimit(max_bytes=1024, provenance=P)),
                provenance=(P,))
    route = Route("HTTPRoute", "shop", "web", GatewayRef("nginx", "nginx"), ("shop.example.com",),
                  frozenset({"http"}), (rule,), (P,))
    ir = IR(routes=(route,))
    ctx = EmitContext(EmitOptions(), Notes())
    emitter = TwoMiddlewares()
    out: list[dict[str, Any]] = emitter.emit(ir, ctx)
    assert note_unconsumed(ir, ctx, emitter) == []
    middlewares = {m["metadata"]["name"]: m["spec"] for m in out if m["kind"] == "Middleware"}
    assert middlewares == {"web-rate-limit": {"rateLimit": {"average": 10}},
                           "web-body-limit": {"buffering": {"maxRequestBodyBytes": 1024}}}
    (http,) = [m for m in out if m["kind"] == "HTTPRoute"]
    refs = sorted(f["extensionRef"]["name"] for f in http["spec"]["rules"][0]["filters"])
    assert refs == ["web-body-limit", "web-rate-limit"]
    assert emitter.crd_names() == [("middlewares.traefik.io", "traefik.io/v1alpha1")]
