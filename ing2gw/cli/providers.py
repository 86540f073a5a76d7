"""``ing2gw providers [NAME]``: list providers, or print one provider's annotation table."""

from __future__ import annotations

from typing import Any

import click

from ..plugins import discover
from ..provider import AnnotationTable, kinds_of
from ..report import render
from ..yamlio import dump_json


@click.command(epilog="Exit codes: 0 ok; 2 usage error; 5 plugin error (no such provider, or it failed to load); "
                      "70 internal error.")
@click.argument("name", required=False)
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--disable-provider", "disabled", multiple=True, metavar="NAME", help="Do not load this plugin.")
def providers(name: str | None, fmt: str, disabled: tuple[str, ...]) -> int:
    """List the installed providers (with the API kinds each reads besides Ingresses), or show
    NAME's annotation table (every annotation of its controller, how faithfully ing2gw
    converts it, and into what)."""
    registry = discover(disabled)
    if name is None:
        rows: list[dict[str, Any]] = []
        for entry_name in registry.names():
            e = registry.entries[entry_name]
            p = e.provider
            rows.append({
                "name": e.name,
                "distribution": e.distribution,
                "version": e.version,
                "builtin": e.builtin,
                "status": "ok" if p is not None else f"failed: {e.error}",
                "controllers": list(p.controllers) if p else [],
                "annotations": len(p.annotations) if p else 0,
                "kinds": [str(k) for k in kinds_of(p)] if p else [],
                "description": getattr(p, "description", "") if p else "",
            })
        if fmt == "json":
            click.echo(dump_json({"providers": rows}), nl=False)
        else:
            click.echo(render(f"providers.{'md' if fmt == 'markdown' else 'txt'}.j2", providers=rows), nl=False)
        return 0
    provider = registry.get(name)
    table = provider.annotations
    model = {
        "name": provider.name,
        "description": getattr(provider, "description", ""),
        "controllers": list(provider.controllers),
        "prefix": table.prefix,
        "kinds": [str(k) for k in kinds_of(provider)],
        "annotations": table.rows(),
        "counts": {f: sum(1 for r in table.rows() if r["fidelity"] == f)
                   for f in ("exact", "approximate", "extension", "unsupported")},
    }
    settings = getattr(provider, "settings", None)  # optional: the controller's global settings table
    if isinstance(settings, AnnotationTable):
        model["settings"] = settings.rows()
    if fmt == "json":
        click.echo(dump_json(model), nl=False)
    else:
        click.echo(render(f"provider.{'md' if fmt == 'markdown' else 'txt'}.j2", p=model), nl=False)
    return 0
