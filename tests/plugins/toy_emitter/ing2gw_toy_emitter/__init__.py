"""A third-party emitter, as a separate distribution would ship it (test fixture).

It layers on the ``standard`` emitter and carries one intent: each rate limit becomes a
``ToyRateLimit`` object of an imaginary implementation. It knows ing2gw only through the
public emitter API (``ing2gw.emit.registry``) and is found through its entry point.
"""

from __future__ import annotations

from typing import Any

from ing2gw.emit.registry import EMITTER_API_VERSION, EmitContext
from ing2gw.intents import Intent, RateLimit
from ing2gw.ir import IR


class ToyEmitter:
    name = "toy"
    api_version = EMITTER_API_VERSION
    description = "standard Gateway API plus ToyRateLimit objects"
    consumes: tuple[type[Intent], ...] = (RateLimit,)

    def emit(self, ir: IR, ctx: EmitContext) -> list[dict[str, Any]]:
        from ing2gw.emit.standard import EMITTER as STANDARD

        out = STANDARD.emit(ir, ctx)
        limits: dict[str, dict[str, Any]] = {}
        for route in ir.routes:
            for rule in route.rules:
                for intent in rule.intents:
                    if not isinstance(intent, RateLimit):
                        continue
                    ctx.consume(rule, intent)
                    name = f"{route.name}-{intent.unit}"
                    limits[f"{route.namespace}/{name}"] = {
                        "apiVersion": "toy.example.com/v1",
                        "kind": "ToyRateLimit",
                        "metadata": {"name": name, "namespace": route.namespace},
                        "spec": {"requests": intent.rate, "per": intent.unit, "burst": intent.burst,
                                 "key": intent.key, "status": intent.status},
                    }
        return out + [limits[k] for k in sorted(limits)]


EMITTER = ToyEmitter()
