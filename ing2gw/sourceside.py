"""``verify``'s generated requests over two processes.

With two processes (``verify --workers 2``, the default on two cores), on a large input, a
first worker forked right after the input is read -- before the conversion: the source side
needs the Ingresses only -- builds the source controller's model, generates the Ingresses'
boundary probes and routes them through the model, sending each chunk as it goes (the
requests' wire forms, the model's summaries and where each matched:
:func:`ing2gw.verify.source_chunk`), while this process converts. Its first message is its
guess of the provider verified and its Ingresses; when the conversion agrees (and adds no
probes of its own: aliases, route objects), this process builds the router and forks a second
worker, which makes and replays the policy probes and the widened host set (their source side
asked of the first worker, its chunks sent: :mod:`ing2gw.sourcelink`), then takes chunks
of the first worker's as this process does (:meth:`SourceSide.take`): each process finishes
the chunks it takes (the router side, the comparison, the explanations), and this process
counts every chunk's result in order (:func:`shared`).

Otherwise a worker forked right after the conversion builds the model, generates the probes
and routes the first chunks through the model only, sending each back as it goes, while this
process builds the router, then routes those chunks through the router, compares and explains
(``verify_requests(sourced=...)``); it never builds the model. That worker keeps a few such
chunks ahead of this process (it reads how far this process got from a shared counter);
otherwise it builds a router of its own and does the rest of the run's source-side work in
small steps (``ing2gw.verification``: the policy probes and their replay, the widened host
set), then replays the last chunks whole, both sides, last first (:func:`schedule`).

Either way both processes work until the end, and every chunk is replayed exactly once, by
the same code: the report is the one a single process gives.

A worker sends through a queue with a feeder thread, so it never waits for a reader; it writes
nothing else (it leaves with ``os._exit``, not flushing inherited buffers). An error in it
comes back as the exception (re-raised here: a bad input is still a one-line error);
:meth:`SourceSide.stop` ends and reaps it whatever happened (an error here, Ctrl-C).
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from . import verify
from .forking import end_with_parent
from .verify import Item, Replayable, SourcedMessage

__all__ = ["AHEAD", "FIRST_AHEAD", "Extra", "SourceSide", "schedule", "shared"]

AHEAD = 4  # chunks routed through the source side ahead of the process that finishes them
FIRST_AHEAD = 20  # the same until this process first does other work (its first step builds a router)
_TASK: list[Callable[[Any], Iterator[SourcedMessage | Extra]]] = []  # what the worker runs (inherited through fork)


@dataclass(frozen=True, slots=True)
class Extra:
    """A message of the worker that is not a chunk: what ``finishing`` gave (:func:`schedule`),
    kept by :meth:`SourceSide.messages` for :attr:`SourceSide.extra`."""

    value: Any


def schedule(items: Sequence[tuple[Replayable, str]], answer: verify.SourceAnswer, whole: Callable[[], Any],
             done: Any, finishing: Iterator[Any] | None = None,
             first_ahead: int | None = None) -> Iterator[SourcedMessage | Extra]:
    """The worker's messages for ``items`` (in chunks of ``verify.CHUNK``): the first chunks
    routed through the source side (``answer``: :func:`ing2gw.verify.summarising`'s) while
    the other process has fewer than ``AHEAD`` of them to finish (``done.value``: how many
    it took), else a step of
    ``finishing`` (other work: each step yields None, the last its result, sent as an
    :class:`Extra`), else the last chunk not yet taken replayed whole, with the chunk
    replayer ``whole()`` returns (called once, when first needed: it builds this process's
    own router). Until this process first does something else, ``first_ahead`` chunks are
    kept ahead (default: ``FIRST_AHEAD``): its first step builds a router, and the other
    process should not wait for it meanwhile."""
    size = verify.CHUNK
    bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    lo, hi = 0, len(bounds) - 1
    replay: Callable[[Sequence[tuple[Item, str]]], Any] | None = None
    ahead = FIRST_AHEAD if first_ahead is None else first_ahead
    while lo <= hi:
        if lo - done.value < ahead:
            start, end = bounds[lo]
            lo += 1
            yield lo - 1, verify.pack_chunk(verify.source_chunk(answer, items[start:end])), end - start, None
            continue
        ahead = AHEAD
        if finishing is not None:
            step = next(finishing, _END)
            if step is not None:  # its result (or its end)
                finishing = None
                if step is not _END:
                    yield Extra(step)
            continue
        if replay is None:
            replay = whole()
        start, end = bounds[hi]
        hi -= 1
        yield hi + 1, None, end - start, replay(items[start:end])
    for step in finishing or ():
        if step is not None:
            yield Extra(step)


_END: Any = object()


def _serve(results: Any, done: Any, readers: int, parent: int) -> None:
    """The worker: every message of ``_TASK[0](done)``, then the end (or the error), once
    per process reading them; it ends with ``parent`` if that is killed."""
    end_with_parent(parent)
    code = 0
    try:
        for message in _TASK[0](done):
            results.put(("extra", message.value) if isinstance(message, Extra) else ("message", message))
        for _ in range(readers):
            results.put(("end", None))
    except KeyboardInterrupt:  # Ctrl-C reached the whole process group: the other process reports it
        results.cancel_join_thread()  # (nobody may read what is still unsent)
        code = 1
    except BaseException as exc:  # noqa: BLE001 -- sent to the process that reports errors
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 -- an exception that cannot travel: its text does
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        for _ in range(readers):
            results.put(("error", exc))
    results.close()
    results.join_thread()  # everything written before leaving
    os._exit(code)


class SourceSide:
    """``make(done)``'s messages, computed in a forked worker started now (``done``: a shared
    counter of the source chunks this process took, for :func:`schedule`). ``readers``:
    how many processes read them (this one, and workers forked after this one that take
    some of them: :meth:`take`); each is sent the end."""

    def __init__(self, make: Callable[[Any], Iterator[SourcedMessage | Extra]], readers: int = 1) -> None:
        context = multiprocessing.get_context("fork")
        self.extra: Any = None  # what the worker sent as an Extra (read once messages() is done)
        self._results: Any = context.Queue()
        self._done: Any = context.RawValue("q", 0)
        self._ended = False
        _TASK[:] = [make]
        try:
            self._process = context.Process(target=_serve, args=(self._results, self._done, readers, os.getpid()),
                                             daemon=True)
            self._process.start()
        finally:
            _TASK.clear()

    def messages(self) -> Iterator[SourcedMessage]:
        """The worker's messages as it sends them; its error is raised here."""
        while not self._ended:
            got = self._taken(*self._next())
            if got is not None:
                yield got

    def guess(self) -> Any:
        """The worker's first message, an :class:`Extra`'s value (it is an error raised here)."""
        got = self._taken(*self._next())
        assert got is None, "the worker's first message is an Extra"
        return self.extra

    def ready(self) -> Iterator[SourcedMessage]:
        """The messages the worker has sent so far (without waiting for more)."""
        while not self._ended:
            try:
                kind, value = self._results.get_nowait()
            except queue.Empty:
                return
            got = self._taken(kind, value)
            if got is not None:
                yield got

    def take(self) -> Iterator[SourcedMessage]:
        """The messages another worker (forked after this one by the same process) takes,
        until it reads the end; the worker's error is raised there too."""
        while not self._ended:
            got = self._taken(*self._results.get())
            if got is not None:
                yield got

    def _taken(self, kind: str, value: Any) -> SourcedMessage | None:
        if kind == "end":
            self._ended = True
            return None
        if kind == "error":
            self._ended = True
            raise value
        if kind == "extra":
            self.extra = value
            return None
        if value[1] is not None:  # that source chunk is finished here: one more taken
            self._done.value += 1
        return cast(SourcedMessage, value)

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


def shared(first: SourceSide, second: SourceSide) -> Iterator[SourcedMessage]:
    """The chunks of ``first`` that this process takes while ``second`` (forked after it)
    takes the others (:meth:`SourceSide.take`), and what ``second`` sends as it comes: its
    last messages once ``first``'s chunks are all taken."""
    for message in first.messages():
        yield message
        yield from second.ready()
    yield from second.messages()
