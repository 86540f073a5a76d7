"""Preflight of ``dry-run --emitter NAME`` for an implementation emitter: the target's policy
CRDs (Envoy Gateway's SecurityPolicy, NGINX Gateway Fabric's RateLimitPolicy ...) are
installed, serve the version the output uses, and their schema has every field it sets -- an
older release of the implementation lacks fields, which is how an incompatible version shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..emit.impl.crds import target_kinds, target_version
from ..kube import Cluster
from .model import Check, describe, listed
from .preflight import CrdReader, crd_schema, uncovered

__all__ = ["check_target_crds"]


def check_target_crds(manifests: Sequence[Mapping[str, Any]], cluster: Cluster, target: str) -> list[Check]:
    """One check per problem (error), else one ok check; nothing when the output has none of
    the target's kinds."""
    kinds = target_kinds(target)
    version = target_version(target)
    used: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for m in manifests:
        info = kinds.get(str(m.get("kind")))
        if info is not None and str(m.get("apiVersion", "")).rpartition("/")[0] == info.group:
            used.setdefault((str(m["apiVersion"]), str(m["kind"])), []).append(m)
    if not used:
        return []
    problems: list[str] = []
    crds = CrdReader(cluster)
    for (api_version, kind), objs in sorted(used.items()):
        crd_name = kinds[kind].crd_name
        crd = crds.get(crd_name)
        if crds.forbidden:
            if cluster.resource(api_version, kind) is None:
                problems.append(f"{api_version} {kind} is not served (CRD {crd_name} not installed; install "
                                f"{target} {version})")
            continue
        if crd is None:
            problems.append(f"CRD {crd_name} is not installed: install the {target} {version} CRDs")
            continue
        schema = crd_schema(crd, api_version.rpartition("/")[2])
        if schema is None:
            problems.append(f"CRD {crd_name} does not serve {api_version}: install the {target} {version} CRDs")
            continue
        for obj in objs:
            missing: list[str] = []
            uncovered(schema, {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}, "",
                      missing)
            if missing:
                problems.append(f"{describe(obj)} uses {listed(missing)}, which the installed CRD {crd_name} does "
                                f"not have: an older {target} than {version} (upgrade its CRDs)")
    if problems:
        return [Check("crds", "error", p) for p in problems]
    if crds.forbidden:
        return [Check("crds", "warning", f"cannot read CustomResourceDefinitions (forbidden): the {target} kinds "
                      "are served, but versions and fields were not checked")]
    return [Check("crds", "ok", f"{target} CRDs installed cover every kind and field used "
                  f"({', '.join(sorted(k for _, k in used))}; ing2gw writes for {version})")]
