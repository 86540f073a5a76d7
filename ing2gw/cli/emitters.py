"""``ing2gw emitters [NAME]``: list emitters, or show which policy intents NAME carries."""

from __future__ import annotations

from typing import Any

import click

from ..emit.registry import EmitterRegistry, discover_emitters
from ..intents import INTENT_TYPES
from ..report import render
from ..yamlio import dump_json


def _mapping(emitter: Any) -> dict[str, Any]:
    """An implementation emitter's mapping table (:mod:`ing2gw.emit.impl`), for the docs."""
    rows = getattr(emitter, "rows", None)
    if not rows:
        return {}
    return {
        "target": {"name": emitter.target, "version": emitter.version()},
        "kinds": [{"kind": k.kind, "api_version": emitter.api(k.kind), "attach": k.attach,
                   "sections": k.sections} for k in emitter.kinds],
        "rows": [{"intent": r.intent.kind, "security": str(r.intent.security_category or ""), "kind": r.kind,
                  "path": r.path, "fidelity": r.fidelity, "difference": r.difference, "doc": r.doc}
                 for r in rows],
    }


def _coverage(registry: EmitterRegistry, name: str) -> dict[str, Any]:
    emitter = registry.get(name)
    entry = registry.entries[name]
    conditions: dict[str, str] = dict(getattr(emitter, "conditions", {}) or {})
    return {
        **_mapping(emitter),
        "name": emitter.name,
        "distribution": entry.distribution,
        "version": entry.version,
        "builtin": entry.builtin,
        "description": emitter.description,
        "intents": [
            {
                "intent": t.kind,
                "security": str(t.security_category) if t.security_category else None,
                "consumed": t in emitter.consumes,
                "when": conditions.get(t.kind, "") if t in emitter.consumes else "",
                "replaced_by": "" if t in emitter.consumes else t.replaced_by,
            }
            for t in INTENT_TYPES
        ],
    }


@click.command(epilog="Exit codes: 0 ok; 2 usage error; 5 plugin error (no such emitter, or it failed to load).")
@click.argument("name", required=False)
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
def emitters(name: str | None, fmt: str) -> int:
    """List the installed emitters, or show NAME's intent coverage: which policy intents
    (auth, IP lists, rate limits ...) it carries into its output, and for the others what
    could replace them. A protection no emitter carries fails `convert` unless
    --allow-unprotected."""
    registry = discover_emitters()
    if name is None:
        rows: list[dict[str, Any]] = []
        for entry_name in registry.names():
            e = registry.entries[entry_name]
            rows.append({
                "name": e.name,
                "distribution": e.distribution,
                "version": e.version,
                "builtin": e.builtin,
                "status": "ok" if e.plugin is not None else f"failed: {e.error}",
                "consumes": [t.kind for t in e.plugin.consumes] if e.plugin is not None else [],
                "description": e.plugin.description if e.plugin is not None else "",
            })
        model: dict[str, Any] = {"emitters": rows}
        template = "emitters"
    else:
        model = _coverage(registry, name)
        template = "emitter"
    if fmt == "json":
        click.echo(dump_json(model), nl=False)
    else:
        click.echo(render(f"{template}.{'md' if fmt == 'markdown' else 'txt'}.j2", m=model), nl=False)
    return 0
