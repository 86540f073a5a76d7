"""Paths and switches shared by tests (``tests/`` is on sys.path via pytest's ``pythonpath``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "testdata"
# The reference data the tests read: $ING2GW_SHARED, else ../shared beside the checkout, else
# the copy tools/vendor_shared.py keeps in testdata/shared (so a plain checkout runs everything).
_BESIDE = (ROOT / ".." / "shared").resolve()
SHARED = Path(os.environ.get("ING2GW_SHARED") or (_BESIDE if _BESIDE.is_dir() else TESTDATA / "shared")).resolve()
UPDATE_GOLDEN = bool(os.environ.get("ING2GW_UPDATE_GOLDEN"))


def verify_report(ing2gw: Any, *args: str) -> dict[str, Any]:
    """``ing2gw verify ARGS -o json -q --fail-on never`` run and its report loaded, without
    the run's own duration (so reports compare across runs)."""
    r = ing2gw(["verify", *args, "-o", "json", "-q", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    report: dict[str, Any] = json.loads(r.stdout)
    report["summary"].pop("elapsed_s")
    return report


def assert_golden_report(report: dict[str, Any], expected: Path) -> None:
    """``report`` equals the golden ``expected`` (rewritten first with ING2GW_UPDATE_GOLDEN)
    and leaves no difference unexplained."""
    if UPDATE_GOLDEN:
        expected.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    assert report == json.loads(expected.read_text())
    assert report["summary"]["unexplained"] == 0
