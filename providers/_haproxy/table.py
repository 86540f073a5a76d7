"""Row builders both HAProxy annotation tables are written with: ``row`` for a key the
controller reads from an Ingress, ``global_row`` for a key it reads only from its ConfigMap
(listed so that the table covers the documentation; ignored on an Ingress by both the
controller and the conversion)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec

from .._common.values import parse_trimmed

__all__ = ["global_row", "row"]


def row(key: str, fidelity: Fidelity, family: str, doc: str, parse: Callable[[str], Any] = parse_trimmed,
        default: Any = None, target: str = "", intent: type[i.Intent] | None = None, *, alias: str | None = None,
        noted: bool = False, answer: bool = False) -> AnnotationSpec:
    return AnnotationSpec(key, fidelity, doc, parse, default, family, target, alias, noted, intent, answer)


def global_row(key: str, what: str = "") -> AnnotationSpec:
    doc = f"ConfigMap only ({what})" if what else "ConfigMap only (a global key)"
    return row(key, Fidelity.UNSUPPORTED, "global", f"{doc}; the controller ignores it on an Ingress",
               target="nothing (ignored on an Ingress by the controller too)")
