"""The source side of ``verify``'s generated requests, replayed in a forked process.

With two processes (``verify --workers 2``, the default on two cores), the boundary probes'
replay is split by side rather than by chunk, so that both cores work from the end of the
conversion on. A forked process builds the source controller's model, generates the probes
and routes each through the model, sending every chunk back as it goes: the requests (their
wire form) and the model's answers (their summaries and where they matched,
:func:`ing2gw.verify.source_chunks`). Meanwhile this process builds what the rest of the run
needs (the router, the policy probes), then routes the same requests through the router,
compares and explains (``verify_requests(sourced=...)``). With one chunk of work per side and
no second worker to feed, nothing waits on the slower side's setup.

The worker sends through a queue with a feeder thread, so it never waits for this process to
read; it writes nothing else (it leaves with ``os._exit``, not flushing inherited buffers). An
error in it comes back as the exception (re-raised here: a bad input is still a one-line
error); :meth:`SourceSide.stop` ends and reaps it whatever happened (an error here, Ctrl-C).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Iterator
from typing import Any

from .verify import Sourced

__all__ = ["SourceSide", "available"]

_TASK: list[Callable[[], Iterator[Sourced]]] = []  # what the worker runs (inherited through fork)


def available() -> bool:
    """Can this platform fork a worker (the worker inherits everything: nothing is pickled
    on the way in)?"""
    return "fork" in multiprocessing.get_all_start_methods()


def _serve(results: Any) -> None:
    """The worker: every chunk of ``_TASK[0]()``, then the end (or the error)."""
    code = 0
    try:
        for chunk in _TASK[0]():
            results.put(("chunk", chunk))
        results.put(("end", None))
    except KeyboardInterrupt:  # Ctrl-C reached the whole process group: this process reports it
        code = 1
    except BaseException as exc:  # noqa: BLE001 -- sent to the process that reports errors
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 -- an exception that cannot travel: its text does
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        results.put(("error", exc))
    results.close()
    results.join_thread()  # everything written before leaving
    os._exit(code)


class SourceSide:
    """``make()``'s chunks, computed in a forked worker started now."""

    def __init__(self, make: Callable[[], Iterator[Sourced]]) -> None:
        context = multiprocessing.get_context("fork")
        self._results: Any = context.Queue()
        _TASK[:] = [make]
        try:
            self._process = context.Process(target=_serve, args=(self._results,), daemon=True)
            self._process.start()
        finally:
            _TASK.clear()

    def chunks(self) -> Iterator[Sourced]:
        """The chunks in order, as the worker sends them; its error is raised here."""
        while True:
            kind, value = self._next()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def _next(self) -> tuple[str, Any]:
        while True:
            try:
                got: tuple[str, Any] = self._results.get(timeout=1.0)
                return got
            except queue.Empty:
                if self._process.exitcode is None:
                    continue
            try:  # it left: whatever it sent before is still readable
                got = self._results.get(timeout=1.0)
                return got
            except queue.Empty:
                raise RuntimeError(f"the source-side worker ended (exit code {self._process.exitcode}) "
                                   "before sending its results") from None

    def stop(self) -> None:
        """End the worker if it still runs and reap it."""
        if self._process.exitcode is None:
            self._process.terminate()
        self._process.join()
        self._results.close()
