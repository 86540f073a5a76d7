"""A worker that verify or diff forks ends with the command: killed (SIGKILL, as a CI timeout
or the OOM killer does), the command leaves no worker behind waiting for ever on a pipe it
holds itself (ing2gw.forking.end_with_parent). Real processes, killed while their workers run."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from support import ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return state, int(ppid)


def _workers(pid: int) -> list[int]:
    """The children of ``pid`` that are ing2gw (forked, so running its command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None and stat[1] == pid:
            try:
                if b"ing2gw" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has ended (nobody reaped it yet)


def _kill_while_working(*args: str) -> list[int]:
    """Start ``ing2gw ARGS``, SIGKILL it once it has a worker, and return the workers still
    running 10 s later."""
    command = subprocess.Popen([sys.executable, "-m", "ing2gw", *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while not workers:
            assert command.poll() is None, "the command ended before it forked a worker"
            assert time.monotonic() < deadline, "no worker forked in 120 s"
            time.sleep(0.02)
            workers = _workers(command.pid)
        time.sleep(0.3)  # the worker at work (its pipes in use)
        workers = _workers(command.pid) or workers
    finally:
        command.send_signal(signal.SIGKILL)
        command.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:  # not to leave them to the next test
        os.kill(w, signal.SIGKILL)
    return left


def test_verify_workers_end_with_a_killed_command(ing2gw, tmp_path: Path) -> None:
    path = tmp_path / "ingresses.yaml"
    path.write_text(_bench("convert").generate(2000, namespaces=10))
    left = _kill_while_working("verify", "-f", str(path), "-q", "-o", "json", "--fail-on", "never",
                               "--allow-unprotected", "--workers", "2")
    assert left == [], f"verify's workers {left} outlived the killed command"


def test_diff_worker_ends_with_a_killed_command(ing2gw, tmp_path: Path) -> None:
    import yaml

    convert = _bench("convert")
    docs = convert.documents(2000, 10)
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False))
    head.write_text(yaml.dump_all(_bench("diff").changed(docs, 1000), Dumper=yaml.CSafeDumper, sort_keys=False))
    left = _kill_while_working("diff", str(base), str(head), "-o", "json")
    assert left == [], f"diff's worker {left} outlived the killed command"


_WATCHED = """
import os, sys, time
import ing2gw.forking as forking
parent = os.getpid()
ready_r, ready_w = os.pipe()
child = os.fork()
if child == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the test reads this process's output to its end: not the child's
    os.dup2(devnull, 2)
    forking._ask_kernel = lambda: False  # as where the kernel cannot be asked
    forking.end_with_parent(parent)
    os.write(ready_w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(ready_r, 1)  # the child watches this process now
print(child, flush=True)
os._exit(0)
"""


def test_a_worker_watching_its_parent_ends_with_it() -> None:
    """Where the kernel cannot be asked to signal a worker when its parent ends (not Linux),
    the thread end_with_parent starts ends it within about half a second."""
    done = subprocess.run([sys.executable, "-c", _WATCHED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    child = int(done.stdout)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the watched worker outlived its parent"
