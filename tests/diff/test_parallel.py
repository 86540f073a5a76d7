"""``diff``'s fed worker (:func:`ing2gw.diff.parallel.both_sides_fed`): the same results with and
without a worker, and a failure on either side ends the step with that error instead of
leaving the other side waiting on the pipe."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ing2gw.diff.parallel import both_sides_fed

BIG = [("http", f"h{i}.example.com", f"/p{i}", ()) for i in range(50_000)]  # more than a pipe holds


def _base(get: Callable[[], list[tuple[str, str, str, tuple[()]]]]) -> int:
    return sum(len(t[1]) for t in get())


def _head(fed: list[tuple[str, str, str, tuple[()]]]) -> int:
    return len(fed)


@pytest.mark.parametrize("worker", [False, True])
def test_same_results_with_and_without_a_worker(worker: bool) -> None:
    assert both_sides_fed(_base, lambda: BIG, _head, worker) == (sum(len(t[1]) for t in BIG), len(BIG))


def test_base_failing_before_it_reads_the_feed() -> None:
    def base(get: Callable[[], object]) -> int:
        raise ValueError("base broke")

    with pytest.raises(ValueError, match="base broke"):
        both_sides_fed(base, lambda: BIG, _head, True)


def test_the_feed_failing_ends_the_worker() -> None:
    def feed() -> list[tuple[str, str, str, tuple[()]]]:
        raise KeyError("no probes")

    with pytest.raises(KeyError, match="no probes"):
        both_sides_fed(_base, feed, _head, True)


def test_head_failing_after_the_feed() -> None:
    def head(fed: object) -> int:
        raise RuntimeError("head broke")

    with pytest.raises(RuntimeError, match="head broke"):
        both_sides_fed(_base, lambda: BIG, head, True)
