"""``verify``'s generated requests over two processes from the end of the conversion on.

With two processes (``verify --workers 2``, the default on two cores) the boundary probes'
replay starts before this process has built the router: a worker forked right after the
conversion builds the source controller's model, generates the probes and routes the first
chunks through the model only, sending each back as it goes (the requests' wire forms, the
model's summaries and where each matched: :func:`ing2gw.verify.source_chunk`). This process
meanwhile builds the model, the router and the policy probes, then routes those chunks
through the router, compares and explains (``verify_requests(sourced=...)``).

The worker keeps a few such chunks ahead of this process (it reads how far this process
got from a shared counter); otherwise it builds a router of its own and replays the last
chunks whole, both sides, last first (:func:`schedule`). Both processes thus work until the
end, whichever side is cheaper, and every chunk is replayed exactly once, by the same code:
the report is the one a single process gives.

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
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import verify
from .verify import Item, Replayable, SourcedMessage

__all__ = ["AHEAD", "SourceSide", "available", "schedule"]

AHEAD = 4  # chunks routed through the source side ahead of the process that finishes them
_TASK: list[Callable[[Any], Iterator[SourcedMessage]]] = []  # what the worker runs (inherited through fork)


def available() -> bool:
    """Can this platform fork a worker (the worker inherits everything: nothing is pickled
    on the way in)?"""
    return "fork" in multiprocessing.get_all_start_methods()


def schedule(items: Sequence[tuple[Replayable, str]], route: Any, whole: Callable[[], Any],
             done: Any) -> Iterator[SourcedMessage]:
    """The worker's messages for ``items`` (in chunks of ``verify.CHUNK``): the first chunks
    routed through the source side ``route`` while the other process has fewer than
    ``AHEAD`` of them to finish (``done.value``: how many it took), else the last chunk not
    yet taken replayed whole, with the chunk replayer ``whole()`` returns (called once, when
    first needed: it builds this process's own router)."""
    size = verify.CHUNK
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    lo, hi = 0, len(bounds) - 1
    seen: dict[Any, int] = {}
    replay: Callable[[Sequence[tuple[Item, str]]], Any] | None = None
    while lo <= hi:
        if lo - done.value < AHEAD:
            start, end = bounds[lo]
            lo += 1
            yield verify.source_chunk(route, items[start:end], seen), end - start, None
            continue
        if replay is None:
            replay = whole()
        start, end = bounds[hi]
        hi -= 1
        yield None, end - start, replay(items[start:end])


def _serve(results: Any, done: Any) -> None:
    """The worker: every message of ``_TASK[0](done)``, then the end (or the error)."""
    code = 0
    try:
        for message in _TASK[0](done):
            results.put(("message", message))
        results.put(("end", None))
    except KeyboardInterrupt:  # Ctrl-C reached the whole process group: the other process reports it
        results.cancel_join_thread()  # (nobody may read what is still unsent)
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
    """``make(done)``'s messages, computed in a forked worker started now (``done``: a shared
    counter of the source chunks this process took, for :func:`schedule`)."""

    def __init__(self, make: Callable[[Any], Iterator[SourcedMessage]]) -> None:
        context = multiprocessing.get_context("fork")
        self._results: Any = context.Queue()
        self._done: Any = context.RawValue("q", 0)
        _TASK[:] = [make]
        try:
            self._process = context.Process(target=_serve, args=(self._results, self._done), daemon=True)
            self._process.start()
        finally:
            _TASK.clear()

    def messages(self) -> Iterator[SourcedMessage]:
        """The worker's messages as it sends them; its error is raised here."""
        while True:
            kind, value = self._next()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
            if value[0] is not None:  # that source chunk is finished: one more taken
                self._done.value += 1

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
