"""BASE's half of a diff step in a forked worker while this process does HEAD's.

The two sides of a diff are independent until they are compared: converting each, and
routing the probe requests through each side's router. With two cores and fork, BASE's half
runs in a worker that inherits everything it needs from this process (nothing is pickled on
the way in; only its result comes back), so the step takes about half the wall time. Small
steps run here, one after the other: a worker costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["both_sides"]

B = TypeVar("B")
H = TypeVar("H")
_TASK: list[Callable[[], Any]] = []  # what the worker runs, inherited through fork


def _run() -> Any:
    return _TASK[0]()


def both_sides(base: Callable[[], B], head: Callable[[], H], worth_a_worker: bool) -> tuple[B, H]:
    """``(base(), head())``, base in a forked worker when it is worth one and the machine
    has two cores."""
    if not worth_a_worker or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return base(), head()
    _TASK[:] = [base]
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            future = pool.submit(_run)  # the worker forks here, with _TASK set
            head_result = head()
            return future.result(), head_result
    finally:
        _TASK.clear()
