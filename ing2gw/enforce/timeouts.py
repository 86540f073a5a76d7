"""Timeouts against a slow backend: what a data plane answers when the backend waits
``Request.backend_delay`` seconds before it sends its response head.

A data plane's timeouts are :class:`Limit` values, each a number of seconds, what sets it and
the object it comes from. The Gateway side's limits for a routed request
(:func:`route_limits`, :func:`policy_limits`) are:

* the matched rule's standard ``timeouts``: ``request`` (the whole request, end to end) and
  ``backendRequest`` (one backend attempt); both include the wait for the response head, and
  ``0s`` turns a limit off;
* the attached :class:`~ing2gw.intents.Timeouts` policies: ``request_ms`` (the whole request)
  and ``read_ms`` (the longest wait for the next read from the backend -- the response head
  is such a read). ``connect_ms`` and ``send_ms`` are not reached by a backend that accepts the
  connection and reads the request at once, and ``idle_ms`` is the client connection's.

A delay over the shortest limit gets 504, as Gateway API implementations answer a request or
backendRequest timeout (Envoy's "upstream request timeout") and as nginx answers its
``proxy_read_timeout`` (the ingress-nginx model applies that one itself). A delay equal to a
limit is within it. Retries do not change the answer: the backend is as slow on every attempt.

The same limits are what ``serve`` enforces for real on its backend connections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..http import Headers
from ..intents import Timeouts
from ..router.outcome import Outcome, RuleInfo

__all__ = ["Limit", "format_seconds", "parse_duration", "policy_limits", "route_limits", "shortest", "timed_out"]

_DURATION = re.compile(r"(?:[0-9]{1,5}(?:h|m|s|ms))+")
_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
Scope = Literal["request", "attempt", "read"]


def parse_duration(value: str) -> float | None:
    """A GEP-2257 duration (``1h30m``, ``500ms``, ``0s``) in seconds; ``None`` when the text
    is not one. ``0`` means "no limit" to callers that enforce timeouts."""
    text = value.strip()
    if not _DURATION.fullmatch(text):
        return None
    parts = _PART.findall(text)
    if len(parts) > 4:
        return None
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts)


def format_seconds(seconds: float) -> str:
    """``2.5`` -> ``2500ms``, ``3`` -> ``3s``: the shortest GEP-2257 spelling of a number of
    seconds (whole milliseconds)."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


@dataclass(frozen=True, slots=True)
class Limit:
    """One timeout: ``seconds``, ``what`` sets it (``timeouts.backendRequest``, ``read timeout``),
    ``source``, the object it comes from (a route rule or a policy), and what it bounds:
    ``scope`` ``request`` (the whole request), ``attempt`` (one backend attempt) or ``read``
    (each wait for the backend's next bytes)."""

    seconds: float
    what: str
    source: str
    scope: Scope = "request"

    def describe(self) -> str:
        return f"{self.what} {format_seconds(self.seconds)} of {self.source}"


def route_limits(info: RuleInfo | None) -> tuple[Limit, ...]:
    """The limits of a rule's standard ``timeouts`` (``0s`` is no limit); remembered per rule
    (every request of a rule with a backend delay asks, and parsing the durations costs)."""
    if info is None or not info.timeouts:
        return ()
    hit = _ROUTE_LIMITS.get(id(info))
    if hit is not None and hit[0] is info:
        return hit[1]
    limits = _standard(info.timeouts, _rule_label(info))
    if len(_ROUTE_LIMITS) >= 100_000:
        _ROUTE_LIMITS.clear()
    _ROUTE_LIMITS[id(info)] = (info, limits)  # (the RuleInfo kept: its id stays its own)
    return limits


_ROUTE_LIMITS: dict[int, tuple[RuleInfo, tuple[Limit, ...]]] = {}


def _standard(raw: Mapping[str, Any], label: str) -> tuple[Limit, ...]:
    out = []
    scopes: tuple[tuple[str, Scope], ...] = (("request", "request"), ("backendRequest", "attempt"))
    for key, scope in scopes:
        value = raw.get(key)
        seconds = parse_duration(str(value)) if value is not None else None
        if seconds:
            out.append(Limit(seconds, f"timeouts.{key}", label, scope))
    return tuple(out)


def _rule_label(info: RuleInfo) -> str:
    m = info.matched
    rule = m.rule_name if m.rule_name is not None else str(m.rule)
    return f"{m.kind or 'HTTPRoute'} {m.route} rule {rule}"


def policy_limits(policies: Iterable[tuple[Timeouts, str]]) -> tuple[Limit, ...]:
    """The limits of attached :class:`~ing2gw.intents.Timeouts` policies ((intent, source) pairs)
    that a slow response reaches: the whole request and the read timeout."""
    out = []
    for intent, source in policies:
        if intent.request_ms:
            out.append(Limit(intent.request_ms / 1000, "request timeout", source))
        if intent.read_ms:
            out.append(Limit(intent.read_ms / 1000, "read timeout", source, "read"))
    return tuple(out)


def shortest(limits: Iterable[Limit]) -> Limit | None:
    """The limit that fires first (the first given of equal ones)."""
    best: Limit | None = None
    for limit in limits:
        if best is None or limit.seconds < best.seconds:
            best = limit
    return best


def timed_out(outcome: Outcome, delay: float, limits: Iterable[Limit]) -> Outcome:
    """``outcome`` as the client sees it when the backend waits ``delay`` seconds: unchanged
    within every limit, else the 504 of the shortest one (naming it in ``policy``)."""
    fired = shortest(limit for limit in limits if delay > limit.seconds)
    if fired is None:
        return outcome
    why = (f"timed out by {fired.describe()}: the backend took {format_seconds(delay)} to answer")
    return Outcome(504, "BackendTimeout", outcome.rule, False, None, None, Headers(), (), outcome.extension_refs,
                   outcome.grpc, (*outcome.notes, why), fired.source)
