"""The vendored policy CRDs of each implementation target (``ing2gw/data/impl/<target>.json``,
written by ``tools/vendor_crds.py --impl``): their schemas for validation, and the kind facts
(group, plural, served versions) that ``dry-run --emitter`` compares with a cluster."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ...errors import UsageError
from ...schema.crds import CrdVersion

__all__ = ["TargetKind", "api_version", "crd_versions", "target_kinds", "target_version"]


@dataclass(frozen=True, slots=True)
class TargetKind:
    """What the vendored CRD of one kind says about it."""

    kind: str
    group: str
    plural: str
    scope: str
    served: tuple[str, ...]
    storage: str
    status: bool  # has the status subresource

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.storage}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


@functools.cache
def _data(target: str) -> Mapping[str, Any]:
    path = resources.files("ing2gw").joinpath("data", "impl", f"{target}.json")
    if not path.is_file():
        raise UsageError(f"no vendored CRDs for implementation {target!r} (run tools/vendor_crds.py --impl {target})")
    data: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def target_version(target: str) -> str:
    """The release the vendored CRDs come from, e.g. ``v1.9.0``."""
    return str(_data(target)["version"])


@functools.cache
def target_kinds(target: str) -> Mapping[str, TargetKind]:
    """Every kind the target's vendored CRDs define, by kind name."""
    return {kind: TargetKind(kind, raw["group"], raw["plural"], raw["scope"], tuple(raw["served"]), raw["storage"],
                             "status" in raw["subresources"])
            for kind, raw in sorted(_data(target)["kinds"].items())}


def api_version(target: str, kind: str) -> str:
    """``group/version`` the emitter writes ``kind`` with (the CRD's storage version)."""
    return target_kinds(target)[kind].api_version


@functools.cache
def crd_versions(target: str) -> Mapping[tuple[str, str], CrdVersion]:
    """The served versions of the target's kinds, as the validator takes them."""
    out: dict[tuple[str, str], CrdVersion] = {}
    kinds = target_kinds(target)
    for version, by_kind in sorted(_data(target)["schemas"].items()):
        for kind, schema in sorted(by_kind.items()):
            info = kinds[kind]
            out[(version, kind)] = CrdVersion(version, kind, info.scope, info.status, schema,
                                              f"ing2gw/data/impl/{target}.json")
    return out
