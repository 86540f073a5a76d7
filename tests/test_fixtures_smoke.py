"""Every input file of the ingress2gateway fixtures converts without a crash.

"Without a crash" means: exit 0 or 1 (findings), or 3 with a one-line ``file:line`` error
for input that is not a Kubernetes manifest -- never an internal error or a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import SHARED

FIXTURES = SHARED / "i2gw-fixtures"
INPUTS = sorted(
    p for p in FIXTURES.rglob("*")
    if p.is_file() and p.suffix in (".yaml", ".yml", ".json") and "output" not in p.parts
    and not p.name.startswith("expected")
) if FIXTURES.is_dir() else []


@pytest.mark.skipif(not INPUTS, reason="../shared/i2gw-fixtures not present")
@pytest.mark.parametrize("path", INPUTS, ids=[str(p.relative_to(FIXTURES)) for p in INPUTS])
def test_fixture_converts_without_crash(path: Path, ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(path), "-q"])
    assert r.exit_code in (0, 1, 3), r.stderr
    assert "Traceback" not in r.stderr and "Internal error" not in r.stderr
    if r.exit_code == 3:
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}:")
