"""Shared by the benchmarks: run an ``ing2gw`` command in a subprocess, time it and take its
peak memory."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    rss: int  # peak resident set of the process (or of its largest worker), bytes
    stdout: str
    cpu: float = 0.0  # user + system seconds of the process and the workers it waited for


# Runs the console entry point of the checkout named first (argv[1]): its ing2gw, providers and
# templates (an editable install maps the latter two to the installed tree, whatever
# PYTHONPATH says; bench/sides.py's _use_checkout imports them from the checkout).
_CHECKOUT = ("import sys; from pathlib import Path; sys.path.insert(0, {bench!r}); from sides import _use_checkout; "
             "_use_checkout(Path(sys.argv.pop(1)).resolve()); from ing2gw.cli import main; main()")


_COMPILED: set[str] = set()  # the checkouts whose bytecode is compiled (this run's)


def _compiled(checkout: str | None) -> None:
    """Compile the bytecode of ``checkout`` (None: the installed ing2gw's tree) once, before it
    is first timed, as an installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set (or a
    tree it cannot write to) every run would compile each module whose bytecode is missing or
    stale from source again -- the modules changed last, of one checkout more than of the
    other, and of ``verify`` (which imports more of them) more than of ``convert``."""
    root = checkout or os.path.dirname(os.path.dirname(importlib.util.find_spec("ing2gw").origin or ""))
    if root in _COMPILED:
        return
    _COMPILED.add(root)
    folders = [os.path.join(root, name) for name in ("ing2gw", "providers", "templates")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *[f for f in folders if os.path.isdir(f)]],
                   stdout=subprocess.DEVNULL, check=False)


def run(args: list[str], checkout: str | None = None) -> Run:
    """``ing2gw ARGS`` with its own resource usage (``wait4``: this child and the workers it
    waited for, not earlier runs); exits on an error (exit codes 0 and 1 are results).
    ``checkout``: another checkout's ing2gw (another revision, compared in the same run).
    The checkout's bytecode is compiled first (:func:`_compiled`)."""
    _compiled(checkout)
    command = [sys.executable, "-m", "ing2gw", *args] if checkout is None else [
        sys.executable, "-c", _CHECKOUT.format(bench=os.path.dirname(os.path.abspath(__file__))), checkout, *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            sys.exit(f"{args[0]} failed ({proc.returncode}): {err.read()[-800:]}")
        return Run(wall, usage.ru_maxrss * 1024, out.read(), usage.ru_utime + usage.ru_stime)


def load() -> str:
    """The load average (1, 5, 15 minutes): how busy the shared machine was during a run."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(args: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of ``ing2gw ARGS``."""
    r = run(args)
    return r.wall, r.stdout
