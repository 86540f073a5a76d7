"""Counting requests against rate limits, deterministically for a given clock.

Two algorithms, because the data planes differ:

* :class:`TokenBuckets` -- what Gateway implementations (Envoy local rate limits, Traefik,
  kgateway ...) do: a bucket of ``rate + burst`` tokens (or a given capacity), full at the
  first request, refilled continuously at ``rate`` per unit; a request takes one token or is
  refused. nginx's ``limit_req burst=B nodelay`` is the same bucket with capacity ``B + 1``.
* :class:`NginxLimitReq` -- nginx's ``limit_req`` with ``burst=B nodelay`` (what ingress-nginx
  writes for ``limit-rps``/``limit-rpm``): per key, an *excess* that each accepted request
  raises by one and that drains at ``rate``; a request that would push it above ``B`` is
  refused (and changes nothing). A new key starts at zero excess, so ``B + 1`` requests pass
  at once. Time is counted in whole milliseconds, as nginx counts it.

``now`` is seconds on any clock (the case file's in ``route --cases``, the monotonic clock
in ``serve``). Buckets are kept per key; :meth:`reset` forgets them all.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["NginxLimitReq", "TokenBuckets", "per_second"]

MAX_KEYS = 100_000  # keys remembered; beyond, all are forgotten (every bucket starts full again)


def per_second(rate: int, unit: str) -> float:
    """``rate`` per ``unit`` (``second``/``minute``/``hour``) as requests per second."""
    return rate / {"second": 1.0, "minute": 60.0, "hour": 3600.0}.get(unit, 1.0)


class TokenBuckets:
    """Token buckets by key: capacity ``rate + burst``, refill ``rate`` per unit."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)

    def reset(self) -> None:
        self._buckets.clear()

    def take(self, key: object, rate: int, unit: str, burst: int, now: float, capacity: int | None = None) -> bool:
        """Whether a request under ``key`` at ``now`` gets a token (and takes it); the bucket
        holds ``capacity`` tokens, by default ``rate + burst``."""
        size = float(rate + burst if capacity is None else capacity)
        found = self._buckets.get(key)
        if found is None:
            if len(self._buckets) >= MAX_KEYS:
                self._buckets.clear()
            tokens = size
        else:
            tokens, at = found
            tokens = min(size, tokens + max(0.0, now - at) * per_second(rate, unit))
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True


class NginxLimitReq:
    """nginx ``limit_req zone=... burst=B nodelay`` by key (milli-request arithmetic)."""

    __slots__ = ("_nodes",)

    def __init__(self) -> None:
        self._nodes: dict[object, tuple[int, int]] = {}  # key -> (excess in 1/1000 requests, last ms)

    def reset(self) -> None:
        self._nodes.clear()

    def take(self, key: object, rate: int, unit: str, burst: int, now: float) -> bool:
        """Whether nginx accepts a request under ``key`` at ``now`` (and counts it)."""
        return self.take_all(((key, rate, unit, burst),), now) is None

    def take_all(self, zones: Sequence[tuple[object, int, str, int]], now: float) -> int | None:
        """Several ``limit_req`` directives on one location, as nginx runs them: the index of
        the first zone that refuses the request (then no zone counts it, but keys seen for
        the first time are remembered), or None when every zone accepts it (then each counts it)."""
        ms = int(now * 1000)
        updates: list[tuple[object, int]] = []
        for index, (key, rate, unit, burst) in enumerate(zones):
            # nginx keeps the rate in requests per 1000 seconds: "10r/s" is 10000, "30r/m" 500
            milli_rate = rate * 1000 if unit == "second" else rate * 1000 // 60
            node = self._nodes.get(key)
            if node is None:
                if len(self._nodes) >= MAX_KEYS:
                    self._nodes.clear()
                self._nodes[key] = (0, ms)  # a new node starts with no excess, whatever follows
                updates.append((key, 0))
                continue
            excess, last = node
            elapsed = max(0, ms - last)
            excess = max(0, excess - milli_rate * elapsed // 1000 + 1000)
            if excess > burst * 1000:
                return index
            updates.append((key, excess))
        for key, excess in updates:
            self._nodes[key] = (excess, ms)
        return None
