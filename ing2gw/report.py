"""Rendering of notes and conversion reports: all of jinja2 lives here.

Templates come from the installed ``ing2gw.templates`` package; they only lay out the
model built by :func:`conversion_report`, which is also the JSON report as is.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import click
import jinja2

if TYPE_CHECKING:
    from .convert import ConvertResult

__all__ = ["conversion_report", "render", "render_report", "render_within"]

_ENV: jinja2.Environment | None = None
# Lists longer than this are folded in text and Markdown reports (names listed on one line, or a
# collapsed <details> section).
FOLD = 20


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(
            loader=jinja2.PackageLoader("ing2gw.templates", "."),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _ENV.filters["md"] = _md_escape
        _ENV.filters["value"] = _value
        _ENV.filters["outcome"] = _outcome
        for name, fg in (("red", "red"), ("green", "green"), ("yellow", "yellow")):
            _ENV.filters[name] = _colour(fg)
        _ENV.filters["bold"] = lambda text, on: click.style(str(text), bold=True) if on else str(text)
    return _ENV


def _colour(fg: str) -> Any:
    def apply(text: Any, on: bool) -> str:
        return click.style(str(text), fg=fg) if on else str(text)

    return apply


def _value(value: Any) -> str:
    """A compact one-line rendering of a field value."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _outcome(o: dict[str, Any]) -> str:
    """One line for a request outcome summary (diff and verify reports)."""
    if o.get("redirect"):
        return f"redirect {o['redirect']}"
    text = str(o.get("status"))
    if o.get("backend"):
        text += f" {o['backend']}"
        weights = o.get("weights") or {}
        if len(weights) > 1:
            text += " (" + ", ".join(f"{k} {v:g}%" for k, v in weights.items()) + ")"
        if o.get("path"):
            text += f" path {o['path']}"
        if o.get("host"):
            text += f" host {o['host']}"
    if o.get("certificate"):
        text += f"; TLS with {o['certificate']}"
    if o.get("status") == "accepted":  # a stream connection (ing2gw.streamverify): how its TLS is handled
        text += f"; TLS {o.get('tls')}"
    elif o.get("status") == "refused" and o.get("reason"):
        text += f": {o['reason']}"
    return text


def _md_escape(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = str(value)
    for ch in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def _render_upto(template: str, max_chars: int, **context: Any) -> str | None:
    """``render``, or None as soon as the text grows beyond ``max_chars`` (the rest is not
    rendered)."""
    parts: list[str] = []
    size = 0
    for chunk in _env().get_template(template).generate(**context):
        size += len(chunk)
        if size > max_chars:
            return None
        parts.append(chunk)
    return "".join(parts)


def render_within(template: str, max_chars: int, longest: int, **context: Any) -> str:
    """``template`` rendered with every list shown whole (``limit=None``) when that fits in
    ``max_chars``, else with the largest ``limit`` (items shown per list, the template
    folding the rest into "N more") that fits; ``longest`` is the longest list's length.
    A rendering that does not fit stops where it outgrows ``max_chars``."""
    text = _render_upto(template, max_chars, limit=None, **context)
    if text is not None:
        return text
    lo, hi = 0, max(longest - 1, 0)  # the largest fitting limit lies in [lo, hi]
    best = render(template, limit=0, **context)
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = _render_upto(template, max_chars, limit=mid, **context)
        if candidate is not None:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def conversion_report(result: ConvertResult) -> dict[str, Any]:
    """The whole conversion report as plain data (the JSON report format)."""
    notes = [n.as_dict() for n in result.notes]
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for n in notes:
        by_subject.setdefault(n["subject"], []).append(n)
    kinds = Counter(m["kind"] for m in result.manifests)
    status_counts = Counter(result.status.values())
    annotations = []
    fidelity_of: dict[str, str] = {}
    for n in notes:
        if n["field"] and n["fidelity"]:
            fidelity_of.setdefault(n["field"], n["fidelity"])
    for key, count in result.annotation_counts.items():
        annotations.append({"annotation": key, "ingresses": count, "fidelity": fidelity_of.get(key, "exact")})
    lost_by_route: dict[str, dict[str, Any]] = {}
    for item in result.lost:
        if item.intent.security is None:
            continue
        group = lost_by_route.setdefault(item.route, {"route": item.route, "hostnames": list(item.hostnames),
                                                      "protections": []})
        group["protections"].append(item.as_dict())
    model: dict[str, Any] = {
        "summary": {
            "ingresses": len(result.status),
            "converted": status_counts.get("converted", 0),
            "partial": status_counts.get("partial", 0),
            "not_converted": status_counts.get("not converted", 0),
            "objects": dict(sorted(kinds.items())),
            "notes": dict(sorted(Counter(n["level"] for n in notes).items())),
            "skipped_kinds": dict(result.skipped_kinds),
        },
        "ingresses": [
            {
                "ingress": ref,
                "provider": result.providers.get(ref),
                "status": status,
                "notes": by_subject.get(f"Ingress {ref}", []),
            }
            for ref, status in result.status.items()
        ],
        "annotations": annotations,
        "lost_protections": [p for g in lost_by_route.values() for p in g["protections"]],
        "lost_by_route": list(lost_by_route.values()),
        "lost_accepted": any(n["code"] == "UNPROTECTED-ACCEPTED" for n in notes),
        "notes": notes,
    }
    if result.objects:  # sources of claimed kinds (a provider's CRDs), when there are any
        model["summary"]["claimed"] = dict(sorted(Counter(s.partition(" ")[0] for s in result.objects).items()))
        model["objects"] = [
            {"object": subject, "provider": result.object_providers.get(subject), "status": status,
             "notes": by_subject.get(subject, [])}
            for subject, status in result.objects.items()
        ]
    return model


def render_report(result: ConvertResult, fmt: str) -> str:
    from .yamlio import dump_json

    model = conversion_report(result)
    if fmt == "json":
        return dump_json(model)
    # Notes about no single source object (Gateway splits, GatewayClass expectations, assumptions).
    sources = {f"Ingress {i['ingress']}" for i in model["ingresses"]} | {o["object"] for o in model.get("objects", [])}
    global_notes = [n for n in model["notes"] if n["subject"] not in sources]
    return render("report.md.j2" if fmt == "markdown" else "report.txt.j2", report=model,
                  global_notes=global_notes, fold=FOLD)
