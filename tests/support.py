"""Paths and switches shared by tests (``tests/`` is on sys.path via pytest's ``pythonpath``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "testdata"
SHARED = Path(os.environ.get("ING2GW_SHARED") or ROOT / ".." / "shared").resolve()
UPDATE_GOLDEN = bool(os.environ.get("ING2GW_UPDATE_GOLDEN"))
