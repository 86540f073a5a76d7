"""Forked workers: whether this platform can fork them, and a worker's life tied to the
process that forked it.

``verify`` and ``diff`` fork workers that inherit what the command has built (nothing is
pickled on the way in) and talk to it through pipes. A worker holds its own copy of those
pipes, so when the command is killed (SIGKILL, SIGTERM from a CI timeout) a worker blocked
on one never sees end-of-file: it would wait for ever. :func:`end_with_parent`, called
first thing in every worker, makes it end with the command instead.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

__all__ = ["can_fork", "end_with_parent"]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal this process gets when its parent ends
_WATCH_S = 0.5  # where the kernel cannot be asked: how often a worker looks at its parent


def can_fork() -> bool:
    """Can this platform fork a worker?"""
    return "fork" in multiprocessing.get_all_start_methods()


def end_with_parent(parent: int) -> None:
    """Make this process (a worker just forked by ``parent``) end when ``parent`` ends: on
    Linux the kernel sends it SIGKILL (it has nothing to clean up: its output goes to the
    parent, which is gone); elsewhere a daemon thread looks every half second. A parent
    already gone when this runs ends the worker now."""
    if not (sys.platform.startswith("linux") and _ask_kernel()):
        threading.Thread(target=_watch, args=(parent,), name="end-with-parent", daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _ask_kernel() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no C library to load, or no prctl in it
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_S)
    os._exit(1)
