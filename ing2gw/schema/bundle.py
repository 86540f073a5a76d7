"""The vendored Gateway API CRD bundle: channels, kinds and their version schemas.

The schemas come from ``ing2gw/data/crds/<channel>.json`` (regenerate with
``tools/vendor_crds.py``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import UsageError

CHANNELS = ("standard", "experimental")
GATEWAY_API_GROUPS = frozenset({"gateway.networking.k8s.io", "gateway.networking.x-k8s.io"})


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What the CRD of one kind says about it (from the vendored data)."""

    kind: str
    group: str
    plural: str
    scope: str  # "Namespaced" | "Cluster"
    served: tuple[str, ...]
    storage: str
    status_subresource: bool



@functools.cache
def _data(channel: str) -> Mapping[str, Any]:
    if channel not in CHANNELS:
        raise UsageError(f"unknown Gateway API channel {channel!r} (expected one of "
                         f"{', '.join(CHANNELS)})")
    text = resources.files("ing2gw").joinpath("data", "crds", f"{channel}.json").read_text(
        encoding="utf-8"
    )
    data: Mapping[str, Any] = json.loads(text)
    return data


def bundle_version(channel: str = "standard") -> str:
    """The Gateway API release the vendored CRDs come from, e.g. ``v1.6.1``."""
    return str(_data(channel)["bundleVersion"])


def known_kinds(channel: str = "standard") -> tuple[KindInfo, ...]:
    """Every kind the channel's CRDs define, sorted by kind name."""
    return tuple(_kind_info(channel, k) for k in sorted(_data(channel)["kinds"]))


def kind_info(kind: str, channel: str = "standard") -> KindInfo | None:
    """The CRD facts of ``kind`` in ``channel`` (None when the channel has no such kind)."""
    if kind not in _data(channel)["kinds"]:
        return None
    return _kind_info(channel, kind)


@functools.cache
def _kind_info(channel: str, kind: str) -> KindInfo:
    raw = _data(channel)["kinds"][kind]
    return KindInfo(kind, raw["group"], raw["plural"], raw["scope"], tuple(raw["served"]),
                    raw["storage"], "status" in raw["subresources"])


def _schema(channel: str, api_version: str, kind: str) -> Mapping[str, Any] | None:
    by_kind = _data(channel)["schemas"].get(api_version)
    if not isinstance(by_kind, Mapping):
        return None
    schema = by_kind.get(kind)
    return schema if isinstance(schema, Mapping) else None

