"""Colour only on a terminal, never with NO_COLOR set, always as --color/--no-color say."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from support import TESTDATA

from ing2gw.cli.common import wants_color


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wants_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color(_Tty(), None) and not wants_color(io.StringIO(), None)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(_Tty(), None)
    assert wants_color(io.StringIO(), True) and not wants_color(_Tty(), False)  # the flags win
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    assert wants_color(_Tty(), None)


def test_no_escape_codes_in_pipes_or_with_no_color(ing2gw, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    case = TESTDATA / "diff" / "added-path"
    monkeypatch.setenv("NO_COLOR", "1")
    r = ing2gw(["diff", str(case / "base"), str(case / "head")])
    assert r.exit_code == 0 and "\x1b[" not in r.stdout and "served differently" in r.stdout
    forced = ing2gw(["diff", str(case / "base"), str(case / "head"), "--color"])
    assert "\x1b[" in forced.stdout  # --color still colours, for those who ask
