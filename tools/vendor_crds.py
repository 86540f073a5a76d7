#!/usr/bin/env python3
"""Regenerate ``ing2gw/data/crds/<channel>.json`` from the Gateway API CRD files.

The installed tool validates manifests offline (:mod:`ing2gw.schema`) and must not read the
reference checkout at run time, so the ``openAPIV3Schema`` of every *served* version of every
CRD is copied into the package, one compact JSON file per release channel::

    {
      "bundleVersion": "v1.6.1",
      "channel": "standard",
      "kinds": {"HTTPRoute": {"group": ..., "plural": ..., "scope": ...,
                              "served": [...], "storage": "v1",
                              "subresources": ["status"]}, ...},
      "schemas": {"gateway.networking.k8s.io/v1": {"HTTPRoute": {...schema...}}, ...}
    }

``description`` texts are dropped (they are most of the bytes and validation never reads
them); everything else, ``x-kubernetes-validations`` included, is kept as it is. Keys are
sorted and the separators fixed, so running the script twice gives identical bytes, and
``tests/schema/test_schema.py`` compares the committed files with a fresh extraction.

Usage: ``python tools/vendor_crds.py [CRD_ROOT] [OUT_DIR]`` (defaults:
``../shared/gateway-api/crds`` beside the repository, ``ing2gw/data/crds``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CRDS = REPO / ".." / "shared" / "gateway-api" / "crds"
DEFAULT_OUT = REPO / "ing2gw" / "data" / "crds"
CHANNELS = ("standard", "experimental")
BUNDLE_ANNOTATION = "gateway.networking.k8s.io/bundle-version"


def crd_files(channel_dir: Path) -> list[Path]:
    """The per-CRD files of one channel: no install bundles, kustomization or VAP."""
    files = []
    for path in sorted(channel_dir.glob("*.yaml")):
        name = path.name
        if name.endswith("-install.yaml") or name == "kustomization.yaml" or "_vap_" in name:
            continue
        files.append(path)
    return files


def _strip(schema: Any) -> Any:
    """A schema node without its ``description`` texts.

    Walks the schema structure only, so a *property* called ``description`` (GatewayClass
    has one) and ``default``/``enum`` values are kept as they are.
    """
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _strip(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_strip(sub) for sub in value]
        else:
            out[key] = value
    return out


def _load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    yaml = YAML(typ="safe", pure=False)
    docs: list[dict[str, Any]] = []
    for path in paths:
        doc = yaml.load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            raise SystemExit(f"{path}: not a CustomResourceDefinition")
        docs.append(doc)
    return docs


def extract(channel_dir: Path, channel: str) -> str:
    """The JSON text for one channel directory (deterministic)."""
    bundle: set[str] = set()
    kinds: dict[str, Any] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for crd in _load(crd_files(channel_dir)):
        annotations = crd.get("metadata", {}).get("annotations", {})
        bundle.add(str(annotations.get(BUNDLE_ANNOTATION, "")))
        spec = crd["spec"]
        group = spec["group"]
        kind = spec["names"]["kind"]
        served = [v["name"] for v in spec["versions"] if v.get("served")]
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        subresources = sorted({name for v in spec["versions"] if v.get("served")
                               for name in (v.get("subresources") or {})})
        kinds[kind] = {
            "group": group,
            "plural": spec["names"]["plural"],
            "scope": spec["scope"],
            "served": served,
            "storage": storage[0] if storage else "",
            "subresources": subresources,
        }
        for version in spec["versions"]:
            if not version.get("served"):
                continue
            schema = version["schema"]["openAPIV3Schema"]
            schemas.setdefault(f"{group}/{version['name']}", {})[kind] = _strip(schema)
    if len(bundle) != 1:
        raise SystemExit(f"{channel_dir}: CRDs disagree on {BUNDLE_ANNOTATION}: {sorted(bundle)}")
    data = {
        "bundleVersion": bundle.pop(),
        "channel": channel,
        "kinds": kinds,
        "schemas": schemas,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    crd_root = Path(argv[1]) if len(argv) > 1 else DEFAULT_CRDS
    out_dir = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    for channel in CHANNELS:
        text = extract(crd_root / channel, channel)
        target = out_dir / f"{channel}.json"
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
