"""Text and markdown verify reports are rendered without the row of each difference
(``VerifyReport.to_dict(rows=False)``): the same output as when every row is built, and the
data left out is the rows only."""

from __future__ import annotations

from typing import Any

import pytest
from support import TESTDATA

from ing2gw.verify import VerifyReport

INPUTS = sorted(TESTDATA.glob("verify*/*/input.yaml"))


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown_equal_with_every_row_built(ing2gw, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    assert INPUTS
    plain = VerifyReport.to_dict
    asked: list[bool] = []
    rows_seen = 0

    def every_row(self: VerifyReport, rows: bool = True, written: bool = False) -> dict[str, Any]:
        nonlocal rows_seen
        asked.append(rows or written)
        whole, short = plain(self), plain(self, rows=False)
        assert {k: v for k, v in whole.items() if k not in ("differences", "accessLog")} == short
        rows_seen += len(whole["differences"])
        return whole

    for path in INPUTS:
        args = ["verify", "-f", str(path), "-o", fmt, "-q", "--fail-on", "never", "--workers", "1"]
        without = ing2gw(args)
        with monkeypatch.context() as m:
            m.setattr(VerifyReport, "to_dict", every_row)
            built = ing2gw(args)
        assert (without.exit_code, without.stdout) == (built.exit_code, built.stdout), path
    assert asked and not any(asked)  # the command asks for no rows (nor rows written)
    assert rows_seen > 0  # (reports with differences among them)
