"""testdata/shared is exactly what tools/vendor_shared.py copies from the reference folder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from support import ROOT, TESTDATA

REFERENCE = Path(os.environ.get("ING2GW_SHARED") or ROOT / ".." / "shared").resolve()


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("vendor_shared", ROOT / "tools" / "vendor_shared.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (REFERENCE / "gateway-api").is_dir() or REFERENCE == (TESTDATA / "shared").resolve(),
                    reason="the reference folder (../shared or $ING2GW_SHARED) is not present")
def test_the_copy_is_up_to_date() -> None:
    wanted = _tool().files(REFERENCE)
    copy = TESTDATA / "shared"
    have = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert have == list(wanted), "rerun: python tools/vendor_shared.py"
    stale = [rel for rel, src in wanted.items() if (copy / rel).read_bytes() != src.read_bytes()]
    assert not stale, f"rerun: python tools/vendor_shared.py ({stale[:3]} differ)"
