"""The console entry point ends a verify run without tearing down what it built
(``ing2gw.cli.keep_until_exit``): the same output, notes and exit code as a caller of
``main(args)`` gets, everything written before the process leaves."""

from __future__ import annotations

import json
import subprocess
import sys

from support import TESTDATA

CANARY = str(TESTDATA / "verify" / "canary" / "input.yaml")


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
