"""Paths and switches shared by tests (``tests/`` is on sys.path via pytest's ``pythonpath``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "testdata"
# The reference data the tests read: $ING2GW_SHARED, else ../shared beside the checkout, else
# the copy tools/vendor_shared.py keeps in testdata/shared (so a plain checkout runs everything).
_BESIDE = (ROOT / ".." / "shared").resolve()
SHARED = Path(os.environ.get("ING2GW_SHARED") or (_BESIDE if _BESIDE.is_dir() else TESTDATA / "shared")).resolve()
UPDATE_GOLDEN = bool(os.environ.get("ING2GW_UPDATE_GOLDEN"))
