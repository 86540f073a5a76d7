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

The policy CRDs of the implementations the implementation emitters write for
(:mod:`ing2gw.emit.impl`) are vendored the same way, one file per target,
``ing2gw/data/impl/<target>.json`` (``"target"`` and ``"version"`` instead of the bundle
fields), from ``$ING2GW_SHARED/implementations/<target>/crds`` (default ``../shared``)::

    python tools/vendor_crds.py --impl envoy-gateway nginx-gateway-fabric
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CRDS = REPO / ".." / "shared" / "gateway-api" / "crds"
DEFAULT_OUT = REPO / "ing2gw" / "data" / "crds"
DEFAULT_IMPL = Path(os.environ.get("ING2GW_SHARED") or REPO / ".." / "shared") / "implementations"
DEFAULT_IMPL_OUT = REPO / "ing2gw" / "data" / "impl"
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


def _kinds_and_schemas(crds: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    kinds: dict[str, Any] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for crd in crds:
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
    return kinds, schemas


def extract(channel_dir: Path, channel: str) -> str:
    """The JSON text for one channel directory (deterministic)."""
    crds = _load(crd_files(channel_dir))
    bundle = {str(crd.get("metadata", {}).get("annotations", {}).get(BUNDLE_ANNOTATION, "")) for crd in crds}
    kinds, schemas = _kinds_and_schemas(crds)
    if len(bundle) != 1:
        raise SystemExit(f"{channel_dir}: CRDs disagree on {BUNDLE_ANNOTATION}: {sorted(bundle)}")
    data = {
        "bundleVersion": bundle.pop(),
        "channel": channel,
        "kinds": kinds,
        "schemas": schemas,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def target_version(readme: Path) -> str:
    """The release a target's CRDs come from: the bold text of the README's tag/version row."""
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(tag|version)\s*\|\s*\*\*([^*]+)\*\*", line)
        if m:
            text = m.group(2).strip()
            found = re.search(r"v?\d+(\.\d+)+(\.x)?", text)
            commit = re.search(r"\b[0-9a-f]{40}\b", text)
            if found is None and commit is not None:  # a branch snapshot ("HEAD of main, commit ..."): branch@commit
                branch = re.search(r"\bof (\S+?),", text)
                return f"{branch.group(1) if branch else 'commit'}@{commit.group(0)[:7]}"
            return found.group(0) if found else text.split(",")[0].split(":")[0].strip()
    raise SystemExit(f"{readme}: no tag/version row")


def extract_impl(target_dir: Path) -> str:
    """The JSON text for one implementation's policy CRDs (deterministic)."""
    kinds, schemas = _kinds_and_schemas(_load(sorted(target_dir.joinpath("crds").glob("*.yaml"))))
    data = {"target": target_dir.name, "version": target_version(target_dir / "README.md"),
            "kinds": kinds, "schemas": schemas}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def main_impl(targets: list[str]) -> int:
    DEFAULT_IMPL_OUT.mkdir(parents=True, exist_ok=True)
    for name in targets or sorted(p.stem for p in DEFAULT_IMPL_OUT.glob("*.json")):
        text = extract_impl(DEFAULT_IMPL / name)
        out = DEFAULT_IMPL_OUT / f"{name}.json"
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} ({len(text)} bytes)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "--impl":
        return main_impl(argv[2:])
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
