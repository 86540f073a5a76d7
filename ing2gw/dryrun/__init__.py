"""``dry-run``: would the cluster accept the converted manifests, and what would change?

:func:`dry_run` takes the manifests a conversion produced and a :class:`~ing2gw.kube.Cluster`:
preflight checks first (:mod:`.preflight`: CRDs and their channel, GatewayClass and its
supported features from :mod:`.features`, hostnames already claimed, namespaces; with an
implementation emitter, its policy CRDs from :mod:`.targetcrds`), then a
server-side apply with ``dryRun=All`` per object (:mod:`.apply`). :mod:`.model` holds the
report, :mod:`.render` lays it out. Nothing here writes to the cluster: the only write
:mod:`ing2gw.kube` can send is a dry run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..diff.fields import FieldChange
from ..kube import Cluster
from .apply import apply_one, field_changes
from .features import features_used
from .model import Check, DryRunReport, ObjectResult, Outcome
from .preflight import preflight
from .render import render
from .targetcrds import check_target_crds

__all__ = [
    "Check",
    "DryRunReport",
    "FieldChange",
    "ObjectResult",
    "Outcome",
    "dry_run",
    "features_used",
    "field_changes",
    "render",
]


def dry_run(manifests: Sequence[Mapping[str, Any]], cluster: Cluster, target: str | None = None) -> DryRunReport:
    """Preflight checks, then a dry-run server-side apply of every manifest, in order.
    ``target``: the implementation an emitter wrote policies for (``dry-run --emitter``),
    whose CRDs are checked too (:mod:`.targetcrds`)."""
    checks = preflight(manifests, cluster)
    if target is not None:
        checks = [*checks, *check_target_crds(manifests, cluster, target)]
    objects = tuple(apply_one(m, cluster) for m in manifests)
    return DryRunReport(cluster.label, tuple(checks), objects)
