"""The console entry point ends a verify, convert or diff run without tearing down what it
built (``ing2gw.cli.keep_until_exit``): the same output, notes, files and exit code as a caller
of ``main(args)`` gets, everything written before the process leaves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import TESTDATA

CANARY = str(TESTDATA / "verify" / "canary" / "input.yaml")
DIFF = TESTDATA / "diff" / "canary-weight"


def _console(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ing2gw", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _report(text: str) -> object:
    report = json.loads(text)
    report["summary"].pop("elapsed_s")
    return report


def test_verify_ends_with_its_output_and_exit_code(ing2gw) -> None:
    for args in (["-o", "text"], ["-o", "markdown", "-q"], ["-o", "json", "--fail-on", "never"]):
        here = ing2gw(["verify", "-f", CANARY, "--workers", "1", *args])
        there = _console("verify", "-f", CANARY, "--workers", "1", *args)
        assert there.returncode == here.exit_code, there.stderr
        assert there.stderr == here.stderr
        if "json" in args:  # (the run's duration differs)
            assert _report(there.stdout) == _report(here.stdout)
        else:
            assert there.stdout == here.stdout
    codes = {_console("verify", "-f", CANARY, "-q", "-o", "json", "--fail-on", level).returncode
             for level in ("any", "never")}
    assert codes == {0, 1}  # the canary's differences: findings unless --fail-on never


def test_convert_ends_with_its_output_files_and_exit_code(ing2gw, tmp_path: Path) -> None:
    for args in ([], ["-o", "json"], ["--fail-on", "approximate"]):
        here = ing2gw(["convert", "-f", CANARY, "--report", str(tmp_path / "here.md"), "--report-format",
                       "markdown", *args])
        there = _console("convert", "-f", CANARY, "--report", str(tmp_path / "there.md"), "--report-format",
                         "markdown", *args)
        assert there.returncode == here.exit_code, there.stderr
        assert (there.stdout, there.stderr) == (here.stdout, here.stderr)
        assert (tmp_path / "there.md").read_text() == (tmp_path / "here.md").read_text()
    ing2gw(["convert", "-f", CANARY, "--output-dir", str(tmp_path / "here")])
    _console("convert", "-f", CANARY, "--output-dir", str(tmp_path / "there"))
    files = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(tmp_path / "there") for p in (tmp_path / "there").rglob("*")
                                     if p.is_file())
    for name in files:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def test_diff_ends_with_its_output_and_exit_code(ing2gw, tmp_path: Path) -> None:
    for args in (["-o", "json"], ["-o", "markdown", "--exit-code"]):
        common = ["diff", str(DIFF / "base"), str(DIFF / "head"), *args]
        here = ing2gw([*common, "--report", str(tmp_path / "here")])
        there = _console(*common, "--report", str(tmp_path / "there"))
        assert there.returncode == here.exit_code, there.stderr
        assert (there.stdout, there.stderr) == (here.stdout, here.stderr)
        assert (tmp_path / "there").read_text() == (tmp_path / "here").read_text()
    assert _console("diff", str(DIFF / "base"), str(DIFF / "head"), "--exit-code").returncode == 1
