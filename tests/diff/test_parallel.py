"""``diff``'s worker (:func:`ing2gw.diff.parallel.both_sides_talking`): the same results with and
without a worker, values larger than a pipe holds traded both ways at once, work shared out
by tickets to both halves exactly once, and a failure on either side ends the step with that
error instead of leaving the other side waiting."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from ing2gw.diff.parallel import POLL, TAKE, Give, Half, Tickets, _Sender, both_sides, both_sides_talking, forks

BIG = [("http", f"h{i}.example.com", f"/p{i}", ()) for i in range(50_000)]  # more than a pipe holds


def _base() -> Half[tuple[int, int]]:
    yield Give(BIG)
    theirs = yield TAKE
    again = yield TAKE
    return len(theirs), again


def _head() -> Half[int]:
    yield Give(list(reversed(BIG)))  # both give more than a pipe holds before either takes
    theirs = yield TAKE
    yield Give(7)
    return sum(len(t[1]) for t in theirs)


@pytest.mark.parametrize("worker", [False, True])
def test_same_results_with_and_without_a_worker(worker: bool) -> None:
    assert both_sides_talking(_base, _head, worker) == ((len(BIG), 7), sum(len(t[1]) for t in BIG))
    assert both_sides(lambda: len(BIG), lambda: os.getpid(), worker) == (len(BIG), os.getpid())


def test_the_worker_runs_in_another_process() -> None:
    theirs, ours = both_sides(os.getpid, os.getpid, True)
    assert ours == os.getpid() and (theirs != ours or (os.cpu_count() or 1) < 2)


@pytest.mark.parametrize("worker", [False, True])
def test_base_failing_before_it_takes(worker: bool) -> None:
    def base() -> Half[int]:
        yield Give(BIG)
        raise ValueError("base broke")

    with pytest.raises(ValueError, match="base broke"):
        both_sides_talking(base, _head, worker)


@pytest.mark.parametrize("worker", [False, True])
def test_head_failing_before_it_gives(worker: bool) -> None:
    def head() -> Half[int]:
        raise KeyError("no probes")
        yield Give(1)

    with pytest.raises(KeyError, match="no probes"):
        both_sides_talking(_base, head, worker)


@pytest.mark.parametrize("worker", [False, True])
def test_head_failing_after_it_takes(worker: bool) -> None:
    def head() -> Half[int]:
        yield Give(BIG)
        yield TAKE
        raise RuntimeError("head broke")

    with pytest.raises(RuntimeError, match="head broke"):
        both_sides_talking(_base, head, worker)


def test_a_failure_here_ends_a_busy_worker() -> None:
    """HEAD fails while BASE's worker is still busy (it would wait forever): the step ends
    without waiting for it, and the worker is gone."""
    pids: list[int] = []
    never, kept_open = os.pipe()  # nobody writes: reading it waits forever

    def base() -> Half[int]:
        yield Give(os.getpid())
        os.read(never, 1)
        return 0

    def head() -> Half[int]:
        pids.append((yield TAKE))
        raise RuntimeError("head broke")

    try:
        with pytest.raises(RuntimeError, match="head broke"):
            both_sides_talking(base, head, True)
    finally:
        os.close(never)
        os.close(kept_open)
    if pids and pids[0] != os.getpid():
        with pytest.raises(ProcessLookupError):
            os.kill(pids[0], 0)  # gone, not a zombie: joined


def test_a_value_that_cannot_travel_comes_back_as_an_error() -> None:
    def base() -> Half[int]:
        raise type("Local", (Exception,), {})("made here")  # a class pickle cannot find
        yield TAKE

    with pytest.raises(Exception, match="made here"):
        both_sides_talking(base, lambda: _head_alone(), True)


def _head_alone() -> Half[int]:
    return 1
    yield TAKE


def test_halves_that_wait_for_each_other_are_a_bug() -> None:
    def waits() -> Half[int]:
        yield TAKE
        return 0

    with pytest.raises(RuntimeError, match="wait for each other"):
        both_sides_talking(waits, waits, False)


@pytest.mark.parametrize("worker", [False, True])
def test_tickets_are_shared_out_once_while_polling(worker: bool) -> None:
    """Both halves take numbered pieces until none is left, the head half between polls for
    what the base half gives: every number goes to exactly one half, and POLL says False
    until a value waits (then TAKE does not wait)."""
    tickets = Tickets(forks(worker))
    pieces = 400

    def work(out: list[int]) -> bool:
        number = tickets.take()
        if number >= pieces:
            return False
        sum(range(2000))  # a little work
        out.append(number)
        return True

    def base() -> Half[list[int]]:
        mine: list[int] = []
        for _ in range(20):
            work(mine)
        yield Give("ready")
        while work(mine):
            pass
        return mine

    def head() -> Half[tuple[list[int], list[bool]]]:
        mine: list[int] = []
        polls: list[bool] = []
        while True:
            ready = yield POLL
            polls.append(ready)
            if ready or not work(mine):
                break
        assert (yield TAKE) == "ready"
        while work(mine):
            pass
        return mine, polls

    theirs, (ours, polls) = both_sides_talking(base, head, worker)
    assert sorted(theirs + ours) == list(range(pieces))
    assert polls[-1] or len(theirs) + len(ours) == pieces
    assert all(not p for p in polls[:-1])
    if not worker:
        assert polls == [True] and ours == []  # in turns: BASE's half runs first, to its end


def test_tickets_without_shared_memory_alternate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no shared count can be made, each process takes its own numbers: this one the
    even, the worker the odd, so that each number still goes to one half."""
    import multiprocessing

    class NoSharedMemory:
        def Value(self, *args: object) -> None:  # noqa: N802 - multiprocessing's name
            raise OSError("no /dev/shm")

    monkeypatch.setattr(multiprocessing, "get_context", lambda method: NoSharedMemory())
    tickets = Tickets(True)
    assert [tickets.take() for _ in range(3)] == [0, 2, 4]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker's side
        os.write(write, bytes([tickets.take(), tickets.take()]))
        os._exit(0)
    os.waitpid(pid, 0)
    assert list(os.read(read, 2)) == [1, 3]
    os.close(read)
    os.close(write)
    assert Tickets(False).take() == 0


def test_stopping_a_sender_ends_a_write_nobody_reads() -> None:
    """A step that fails here stops its sender before closing the connection: a write the
    worker never reads fails at once and the thread is gone (a write left running would find
    the connection closed under it), and the other end reads the end."""
    ours, theirs = multiprocessing.Pipe(duplex=True)
    try:
        sender = _Sender(ours)
        sender.send(("value", BIG))  # more than the pipe holds: the write waits for a reader
        thread = sender._thread
        assert thread is not None
        thread.join(timeout=0.2)
        assert thread.is_alive()  # (waiting in the write)
        sender.stop()
        assert not thread.is_alive()
        sender.send(("value", 1))  # (a stopped sender writes nothing more)
        sender.stop()
        while True:  # what was written before the shutdown, if anything, then the end
            try:
                theirs.recv_bytes()
            except (EOFError, OSError):
                break
    finally:
        ours.close()
        theirs.close()
