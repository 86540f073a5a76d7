"""A third-party emitter that only reads policies back (test fixture).

It emits what the ``standard`` emitter emits and reads back ``TestPolicy`` objects, which a
test writes by hand: each names a target (``spec.targetRef``: kind, name, optional
sectionName), one intent (``spec.intent``: an ing2gw intent kind, ``spec.params``: its
fields; a cors intent's ``settings`` are CORS filter fields) and optionally the htpasswd hash
schemes the target accepts (``spec.hashSchemes``).
It knows ing2gw only through the public API (``ing2gw.policy``, ``ing2gw.intents``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ing2gw.emit.registry import EMITTER_API_VERSION, EmitContext
from ing2gw.intents import INTENT_TYPES, Intent
from ing2gw.ir import CORS, IR
from ing2gw.policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of

KIND = "TestPolicy"
_BY_KIND = {cls.kind: cls for cls in INTENT_TYPES}


class PolicyEmitter:
    name = "test-policies"
    api_version = EMITTER_API_VERSION
    description = "standard Gateway API; reads TestPolicy objects back"
    consumes: tuple[type[Intent], ...] = ()

    def emit(self, ir: IR, ctx: EmitContext) -> list[dict[str, Any]]:
        from ing2gw.emit.standard import EMITTER as STANDARD

        return STANDARD.emit(ir, ctx)

    def read_policies(self, manifests: Sequence[dict[str, Any]]) -> list[AttachedPolicy]:
        out = []
        for obj in manifests:
            if obj.get("kind") != KIND:
                continue
            meta, spec = obj["metadata"], obj.get("spec") or {}
            label = f"{KIND} {meta['namespace']}/{meta['name']}"
            ref = spec.get("targetRef") or {}
            cls = _BY_KIND.get(str(spec.get("intent")))
            if cls is None:
                raise PolicyReadError(f"{label}: unknown intent {spec.get('intent')!r}")
            params = {k: _frozen(v) for k, v in (spec.get("params") or {}).items()}
            if isinstance(params.get("settings"), dict):  # a CORS policy's own settings
                params["settings"] = CORS(**{k: _frozen(v) for k, v in params["settings"].items()})
            intent = cls(**params, provenance=provenance_of(obj, "spec"))
            target = PolicyTarget(ref["kind"], meta["namespace"], ref["name"], ref.get("sectionName"))
            out.append(AttachedPolicy(target, intent, label, frozenset(spec.get("hashSchemes") or ())))
        return out


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


EMITTER = PolicyEmitter()
