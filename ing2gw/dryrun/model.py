"""The dry-run report's data: preflight checks, per-object outcomes, the summary.

:meth:`DryRunReport.as_dict` is the JSON report as is; :mod:`.render` lays it out as text
or Markdown. The helpers at the end read identities out of raw manifests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..diff.fields import FieldChange
from ..emit.gateway import SOURCE_ANNOTATION
from ..schema import GATEWAY_API_GROUPS

__all__ = ["OUTCOME_TEXT", "Check", "DryRunReport", "ObjectResult", "Outcome", "describe", "ident", "is_gateway_api",
           "listed", "metadata", "source"]

Outcome = Literal["create", "change", "unchanged", "rejected"]
OUTCOME_TEXT = {"create": "would create", "change": "would change", "unchanged": "unchanged",
                "rejected": "rejected"}
_MAX_LISTED = 5


@dataclass(frozen=True, slots=True)
class ObjectResult:
    api_version: str
    kind: str
    namespace: str
    name: str
    source: str  # the ing2gw.io/source annotation ("Ingress shop/web"), "" when absent
    outcome: Outcome
    changes: tuple[FieldChange, ...] = ()
    message: str = ""  # the API server's Status message when rejected
    causes: tuple[tuple[str, str], ...] = ()  # (field, message)

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "source": self.source, "outcome": self.outcome,
            "changes": [c.to_dict() for c in self.changes],
            "message": self.message,
            "causes": [{"field": f, "message": m} for f, m in self.causes],
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One preflight check. ``level`` "error" fails the dry run; "warning" does not."""

    name: str  # "crds", "gatewayclass", "hostnames", "namespaces"
    level: Literal["ok", "warning", "error"]
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class DryRunReport:
    cluster: str  # "cluster/<context>"
    checks: tuple[Check, ...]
    objects: tuple[ObjectResult, ...]

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.level == "error")

    @property
    def ok(self) -> bool:
        return not self.failed_checks and all(o.outcome != "rejected" for o in self.objects)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOME_TEXT, 0)
        for o in self.objects:
            counts[o.outcome] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "ok": self.ok,
            "summary": {**self.counts(), "preflight_failed": len(self.failed_checks)},
            "preflight": [c.as_dict() for c in self.checks],
            "objects": [o.as_dict() for o in self.objects],
        }


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def ident(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = metadata(obj)
    return str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def describe(obj: Mapping[str, Any]) -> str:
    kind, ns, name = ident(obj)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def source(obj: Mapping[str, Any]) -> str:
    annotations = metadata(obj).get("annotations")
    return str(annotations.get(SOURCE_ANNOTATION, "")) if isinstance(annotations, Mapping) else ""


def is_gateway_api(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] in GATEWAY_API_GROUPS


def listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")
