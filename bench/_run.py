"""Shared by the benchmarks: run an ``ing2gw`` command in a subprocess and time it."""

from __future__ import annotations

import subprocess
import sys
import time


def timed(args: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of ``ing2gw ARGS``; exits on an error (exit codes 0 and 1 are results)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ing2gw", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{args[0]} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return wall, proc.stdout
