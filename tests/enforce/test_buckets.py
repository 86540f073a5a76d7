"""Rate-limit counting (ing2gw.enforce.buckets): token buckets and nginx's limit_req."""

from __future__ import annotations

from ing2gw.enforce.buckets import NginxLimitReq, TokenBuckets


def _passes(take, n: int, now: float = 0.0) -> list[bool]:
    return [take(now) for _ in range(n)]


def test_token_bucket_budget_is_rate_plus_burst_and_refills_at_rate() -> None:
    b = TokenBuckets()
    take = lambda now: b.take("k", 10, "second", 5, now)  # noqa: E731
    assert _passes(take, 16) == [True] * 15 + [False]
    assert take(0.05) is False  # half a token back
    assert take(0.1) is True  # one token after 1/10 s
    assert b.take("other", 10, "second", 5, 0.1) is True  # keys count apart
    minute = TokenBuckets()
    assert [minute.take("k", 60, "minute", 0, 0.0) for _ in range(61)].count(True) == 60
    assert minute.take("k", 60, "minute", 0, 1.0) is True


def test_nginx_limit_req_lets_burst_plus_one_through_then_leaks_at_rate() -> None:
    n = NginxLimitReq()
    take = lambda now: n.take("k", 5, "second", 10, now)  # noqa: E731
    assert _passes(take, 12) == [True] * 11 + [False]  # a new key starts with no excess
    assert take(0.1) is False  # 0.5 requests drained: still over
    assert take(0.2) is True  # one request drained every 200 ms
    rpm = NginxLimitReq()
    assert [rpm.take("k", 30, "minute", 0, 0.0) for _ in range(2)] == [True, False]
    assert rpm.take("k", 30, "minute", 0, 2.0) is True  # 30r/m: one every 2 s


def test_two_zones_count_only_when_both_accept() -> None:
    n = NginxLimitReq()
    zones = [("rps", 10, "second", 0), ("rpm", 60, "minute", 5)]
    # one request every 100 ms: the per-second zone drains fully, the per-minute one fills up
    assert [n.take_all(zones, t / 10) for t in range(6)] == [None] * 6
    assert n.take_all(zones, 0.6) == 1  # the per-minute zone refuses ...
    assert n.take_all([zones[0]], 0.65) is None  # ... and the per-second one did not count it
