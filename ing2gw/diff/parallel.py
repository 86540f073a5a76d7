"""BASE's half of a diff step in a forked worker while this process does HEAD's.

The two sides of a diff are independent until they are compared: converting each, and
routing the probe requests through each side's router. With two cores and fork, BASE's half
runs in a worker that inherits everything it needs from this process (nothing is pickled on
the way in; only its result comes back), so the step takes about half the wall time. Small
steps run here, one after the other: a worker costs more than it saves.

:func:`both_sides_fed` starts the worker before this process has made all of the worker's
input: the worker does what it can without it (compile BASE's router, compare the objects)
while this process makes the rest (the probe requests) and sends it through a pipe.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["both_sides", "both_sides_fed"]

B = TypeVar("B")
H = TypeVar("H")
F = TypeVar("F")
_TASK: list[Callable[[], Any]] = []  # what the worker runs, inherited through fork


def _run() -> Any:
    return _TASK[0]()


def _forks() -> bool:
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


def both_sides(base: Callable[[], B], head: Callable[[], H], worth_a_worker: bool) -> tuple[B, H]:
    """``(base(), head())``, base in a forked worker when it is worth one and the machine
    has two cores."""
    if not worth_a_worker or not _forks():
        return base(), head()
    _TASK[:] = [base]
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            future = pool.submit(_run)  # the worker forks here, with _TASK set
            head_result = head()
            return future.result(), head_result
    finally:
        _TASK.clear()


def both_sides_fed(base: Callable[[Callable[[], F]], B], feed: Callable[[], F], head: Callable[[F], H],
                   worth_a_worker: bool) -> tuple[B, H]:
    """``(base(get), head(fed))`` where ``fed = feed()`` and ``get()`` gives it: BASE's half
    starts in a forked worker before ``feed`` runs here (it does what needs no feed first, then
    calls ``get``, which waits for the value this process sends through a pipe). Without a
    worker, in order, in this process."""
    if not worth_a_worker or not _forks():
        fed = feed()
        return base(lambda: fed), head(fed)
    receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)
    _TASK[:] = [functools.partial(_fed_half, base, receiving, sending)]
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            future = pool.submit(_run)  # the worker forks here, with _TASK set and the pipe open
            receiving.close()  # the worker's end: if it dies, sending fails instead of waiting
            try:
                fed = feed()
                sending.send(fed)
            finally:
                sending.close()  # on an error here the worker's get() ends instead of waiting
            head_result = head(fed)
            return future.result(), head_result
    finally:
        _TASK.clear()
        receiving.close()
        sending.close()


def _fed_half(base: Callable[[Callable[[], F]], B], receiving: Connection, sending: Connection) -> B:
    """BASE's half in the worker: ``get`` reads the fed value from the pipe; if the half fails
    before reading it, it is read anyway so that the sender is not left waiting."""
    sending.close()  # this process's copy: the pipe ends when the parent closes its end
    read: list[bool] = []

    def get() -> F:
        read.append(True)
        value: F = receiving.recv()
        return value

    try:
        return base(get)
    except BaseException:
        if not read:
            with contextlib.suppress(EOFError, OSError):
                receiving.recv()
        raise
