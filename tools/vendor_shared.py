#!/usr/bin/env python3
"""Copy the reference data the tests read from ``../shared`` into ``testdata/shared/``.

The full test suite then runs from a plain checkout: ``tests/support.py`` takes
``$ING2GW_SHARED``, else ``../shared`` beside the repository, else this copy. Only what the
tests read is copied (:data:`WANTED`; about 5 MB of text): the Gateway API CRDs (one file per
kind; the install bundles repeat them), the conformance manifests and request tables, the
ingress2gateway fixtures, and the ingress-nginx facts the model tests check against. A test
that starts reading another part of ``../shared`` adds it here and reruns the script;
``tests/test_vendored_shared.py`` fails while the copy differs from what this list makes.

Usage: ``python tools/vendor_shared.py [SHARED] [OUT]`` (defaults: ``../shared`` beside the
repository, ``testdata/shared``). The output is replaced as a whole.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (path under shared/, glob of files to take under it; "" = the path is one file)
WANTED: tuple[tuple[str, str], ...] = (
    ("README.md", ""),
    ("gateway-api/README.md", ""),
    ("gateway-api/crds/standard", "gateway.networking.k8s.io_*.yaml"),
    ("gateway-api/crds/experimental", "gateway.networking.*k8s.io_*.yaml"),
    ("gateway-api/conformance", "**/*"),
    ("i2gw-fixtures", "**/*"),
    ("docs/ingress-nginx-semantics.md", ""),
    ("docs/ingress-nginx-e2e-cases.json", ""),
    ("docs/upstream/agic", "*.json"),
    ("docs/upstream/aws-alb", "*"),
    ("docs/upstream/f5-nginx", "*.json"),
    ("docs/upstream/gke", "*.json"),
    ("docs/upstream/haproxy-ingress", "*.json"),
    ("docs/upstream/haproxy-tech", "*.json"),
    ("docs/upstream/ingress-nginx", "*.json"),
    ("docs/upstream/istio", "*"),
    ("docs/upstream/kong", "*.json"),
    ("docs/upstream/traefik", "*"),
)


def files(shared: Path) -> dict[str, Path]:
    """Relative path -> source file, for everything :data:`WANTED` names."""
    found: dict[str, Path] = {}
    for rel, pattern in WANTED:
        base = shared / rel
        candidates = [base] if not pattern else sorted(p for p in base.glob(pattern) if p.is_file())
        for path in candidates:
            if "vap_" in path.name or path.name.endswith("-install.yaml"):
                continue
            found[path.relative_to(shared).as_posix()] = path
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    shared = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared"
    out = Path(argv[2]) if len(argv) > 2 else ROOT / "testdata" / "shared"
    if not shared.is_dir():
        print(f"{shared}: no such folder", file=sys.stderr)
        return 2
    wanted = files(shared)
    if out.exists():
        shutil.rmtree(out)
    for rel, src in wanted.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    size = sum(p.stat().st_size for p in wanted.values())
    print(f"{len(wanted)} files, {size / 1e6:.1f} MB -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
