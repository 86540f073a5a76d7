"""BASE's half of a diff step in a forked worker while this process does HEAD's.

The two sides of a diff are mostly independent: converting each, compiling each side's
router and routing the probe requests through it. With two cores and fork, BASE's half runs
in a worker that inherits everything it needs from this process (nothing is pickled on the
way in; only what it says comes back), so the step takes about half the wall time. Small
steps run here, one half after the other: a worker costs more than it saves.

A half is a generator, so that the halves can trade values in the middle of a step (each
side makes a share of the probe requests and needs the other's): ``yield Give(value)`` hands
``value`` to the other half and goes on at once; ``value = yield TAKE`` waits for what the
other half gave (in the order given); ``ready = yield POLL`` tells, without waiting, whether
the other half has given a value not taken yet (a half does other work meanwhile). Whatever
is given goes through a pipe, written by a thread, so that neither process stops while the
other is busy; without a worker the halves run in turns in this process (:func:`_in_turns`).
A failure on either side ends the step with that error, and nothing is left waiting: an
error in the worker comes back as the error, one here ends the worker.

Work both halves can do (pieces of one list) is shared out by :class:`Tickets`: each piece
goes to the half that asks first, so both processes stay busy to the end whatever each
half's own part costs.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import socket
import threading
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from ..forking import can_fork, end_with_parent

__all__ = ["POLL", "TAKE", "Give", "Half", "Tickets", "both_sides", "both_sides_talking", "forks"]

B = TypeVar("B")
H = TypeVar("H")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Give:
    """What a half yields to hand a value to the other half."""

    value: Any


TAKE = "take"  # what a half yields to wait for the other half's next given value
POLL = "poll"  # what a half yields to learn (True/False) whether a given value waits, without waiting
Half = Generator[Any, Any, R]  # yields Give(...) or TAKE, returns the half's result


def forks(worth_a_worker: bool) -> bool:
    """Will :func:`both_sides_talking` run BASE's half in a worker?"""
    return worth_a_worker and (os.cpu_count() or 1) >= 2 and can_fork()


class Tickets:
    """The numbers 0, 1, 2, ... each handed out once, to whichever half asks first (pieces of
    work both halves can do). ``shared``: the halves run in two processes (made before the
    worker forks: the count lives in shared memory), else in this one. Where shared memory
    cannot be had, the process that made the tickets takes the even numbers and the worker
    the odd ones (each half then takes numbers until they run out)."""

    def __init__(self, shared: bool) -> None:
        self._count: Any = None
        self._next = 0
        self._owner = os.getpid() if shared else None
        self._taker = os.getpid()
        if shared:
            try:
                self._count = multiprocessing.get_context("fork").Value("q", 0)
            except (OSError, ImportError):  # no POSIX semaphores or shared memory here
                pass

    def take(self) -> int:
        if self._count is not None:
            with self._count.get_lock():
                number: int = self._count.value
                self._count.value = number + 1
            return number
        if self._owner is None:
            self._next += 1
            return self._next - 1
        if os.getpid() != self._taker:  # the worker's first ticket: its own count from the start
            self._taker, self._next = os.getpid(), 0
        self._next += 1
        return 2 * (self._next - 1) + (os.getpid() != self._owner)


def _alone(work: Callable[[], R]) -> Half[R]:
    """A half that trades nothing."""
    return work()
    yield  # a generator


def both_sides(base: Callable[[], B], head: Callable[[], H], worth_a_worker: bool) -> tuple[B, H]:
    """``(base(), head())``, base in a forked worker when it is worth one and the machine
    has two cores."""
    return both_sides_talking(lambda: _alone(base), lambda: _alone(head), worth_a_worker)


def both_sides_talking(base: Callable[[], Half[B]], head: Callable[[], Half[H]],
                       worth_a_worker: bool) -> tuple[B, H]:
    """The results of both halves, BASE's in a forked worker when it is worth one and the
    machine has two cores, else both here in turns."""
    if not forks(worth_a_worker):
        return _in_turns(base(), head())
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe(duplex=True)
    worker = context.Process(target=_worker, args=(base, theirs, ours, os.getpid()), daemon=True)
    worker.start()
    theirs.close()
    sender = _Sender(ours)
    try:
        head_result = _drive(head(), sender, lambda: _take(ours, worker), ours.poll)
        kind, value = _read(ours, worker)
        if kind != "result":
            raise RuntimeError("the diff worker gave more than its half takes")
        sender.close()
        return value, head_result
    finally:
        sender.stop()  # the worker's reads end (EOF) if it is still running; no write of ours is left
        ours.close()  # (closed only now: a write under way would find its handle gone, or another file's)
        worker.join(timeout=1)
        if worker.is_alive():
            worker.terminate()
            worker.join()


def _in_turns(base: Half[B], head: Half[H]) -> tuple[B, H]:
    """Both halves here: each runs until it waits for a value not given yet, then the other."""
    halves: tuple[Half[Any], Half[Any]] = (base, head)
    inbox: tuple[deque[Any], deque[Any]] = (deque(), deque())
    results: list[Any] = [None, None]
    asked: list[Any] = [None, None]  # TAKE: the half waits for a value; None: it goes on
    done = [False, False]
    while not all(done):
        moved = False
        for me in (0, 1):
            while not done[me]:
                op = asked[me]
                if op is TAKE and not inbox[me]:
                    break
                value = inbox[me].popleft() if op is TAKE else bool(inbox[me]) if op is POLL else None
                moved = True
                try:
                    op = halves[me].send(value)
                except StopIteration as stop:
                    results[me], done[me] = stop.value, True
                    break
                if isinstance(op, Give):
                    inbox[1 - me].append(op.value)
                    op = None  # goes on at once
                asked[me] = op
        if not moved:
            raise RuntimeError("both halves of a diff step wait for each other")
    return results[0], results[1]


def _drive(half: Half[R], sender: _Sender, take: Callable[[], Any], poll: Callable[[], bool]) -> R:
    """Run ``half`` in this process: what it gives goes to ``sender``, what it takes comes
    from ``take``; ``poll`` tells whether something waits to be taken."""
    value: Any = None
    while True:
        try:
            op = half.send(value)
        except StopIteration as stop:
            result: R = stop.value
            return result
        value = None
        if isinstance(op, Give):
            sender.send(("value", op.value))
        elif op is TAKE:
            value = take()
        elif op is POLL:
            value = poll()
        else:
            raise TypeError(f"a half yields Give(...), TAKE or POLL, not {op!r}")


def _read(conn: Connection, worker: Any) -> tuple[str, Any]:
    """The worker's next message; its error is raised here."""
    try:
        kind, value = conn.recv()
    except EOFError:
        worker.join(timeout=1)
        raise RuntimeError(f"the diff worker stopped without a result (exit code {worker.exitcode})") from None
    if kind == "error":
        raise value
    return kind, value


def _take(conn: Connection, worker: Any) -> Any:
    kind, value = _read(conn, worker)
    if kind != "value":
        raise RuntimeError("the diff worker ended without giving what its half gives")
    return value


def _worker(base: Callable[[], Half[Any]], conn: Connection, parents: Connection, parent: int) -> None:
    """BASE's half in the worker: its result or its error goes back through ``conn``; it
    ends with ``parent`` if that is killed."""
    end_with_parent(parent)
    parents.close()  # this process's copy of the parent's end: EOF when the parent closes it
    sender = _Sender(conn)
    try:
        def take() -> Any:
            kind, value = conn.recv()  # EOFError: the parent has stopped; so does this worker
            return value

        sender.send(("result", _drive(base(), sender, take, conn.poll)))
    except EOFError:
        sender.abandon()
        return
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        sender.send(("error", _portable(exc)))
    sender.close()


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError saying what it was."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure means it cannot travel
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _Sender:
    """Writes messages to a connection from a thread, in order, so that the writer never
    waits for the reader (two processes writing more than a pipe holds to each other would
    both wait)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._failed = False

    def send(self, message: Any) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        self._queue.put(message)

    def _run(self) -> None:
        while (message := self._queue.get()) is not _STOP:
            if self._failed:
                continue
            try:
                self._conn.send(message)
            except (OSError, ValueError):  # the reader has gone: its side reports what happened
                self._failed = True

    def close(self) -> None:
        """Wait until everything sent is written."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def abandon(self) -> None:
        """Stop without waiting for the reader (it may be gone)."""
        self._failed = True
        if self._thread is not None:
            self._queue.put(_STOP)

    def stop(self) -> None:
        """Stop now, read or not: the connection is shut down both ways (a write under way
        fails, the reader sees its end) and the thread is joined, so that the connection can
        then be closed with no write of the thread's on it."""
        self.abandon()
        if self._thread is not None:
            _shut_down(self._conn)
            self._thread.join()
            self._thread = None


def _shut_down(conn: Connection) -> None:
    """Shut ``conn``'s socket down both ways, keeping its descriptor open."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))  # (a duplicate: closing it leaves conn's open)
    except OSError:  # closed already, or not a socket
        return
    with sock:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # (the other end is gone already)
            pass


_STOP = object()
