"""The dry-run report as text, Markdown (``templates/dryrun.*.j2``) or JSON."""

from __future__ import annotations

import json
from typing import Any

from ..report import render as render_template
from ..yamlio import dump_json
from .model import OUTCOME_TEXT, DryRunReport

__all__ = ["render"]

_MARK = {"ok": "ok", "warning": "WARN", "error": "FAIL"}


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _change_line(change: dict[str, Any]) -> str:
    """``+ path: new``, ``- path: old`` or ``~ path: old -> new``."""
    if change["change"] == "added":
        return f"+ {change['path']}: {_short(change['new'])}"
    if change["change"] == "removed":
        return f"- {change['path']}: {_short(change['old'])}"
    return f"~ {change['path']}: {_short(change['old'])} -> {_short(change['new'])}"


def _summary(report: DryRunReport) -> str:
    text = ", ".join(f"{n} {OUTCOME_TEXT[k]}" for k, n in report.counts().items())
    failed = len(report.failed_checks)
    return f"{text}; {failed} preflight check(s) failed" if failed else text


def render(report: DryRunReport, fmt: str = "text") -> str:
    """The report as ``text``, ``markdown`` or ``json``."""
    model = report.as_dict()
    if fmt == "json":
        return dump_json(model)
    for o in model["objects"]:
        o["outcomeText"] = OUTCOME_TEXT[o["outcome"]]
        o["subject"] = f"{o['kind']} {o['namespace']}/{o['name']}" if o["namespace"] else f"{o['kind']} {o['name']}"
        o["lines"] = [_change_line(c) for c in o["changes"]]
        o["rejection"] = "; ".join([o["message"]] + [f"{c['field']}: {c['message']}" for c in o["causes"]])
    for c in model["preflight"]:
        c["mark"] = _MARK[c["level"]]
    return render_template("dryrun.md.j2" if fmt == "markdown" else "dryrun.txt.j2", r=model,
                           summary=_summary(report))
