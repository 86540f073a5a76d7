"""Value formats read back from emitted policies (durations, byte quantities), and the
words every target's rate-limit note shares.

The inverse of :mod:`.values`: readers (``read_policies``) turn the text an emitter wrote
back into numbers, and reject what they did not write.
"""

from __future__ import annotations

import re

from ...intents import RateLimit

__all__ = ["limit_differences", "parse_duration", "parse_quantity"]

_DURATION = re.compile(r"(\d+)(ms|h|m|s)")
_UNITS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_SIZES = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6,
          "G": 10**9, "T": 10**12}


def parse_duration(text: str) -> int:
    """Milliseconds of a Go-style duration without fractions (``1m30s``, ``500ms``)."""
    text = str(text).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"duration {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def parse_quantity(value: object) -> int:
    """Bytes of a Kubernetes quantity written as an integer or ``<n><unit>``."""
    if isinstance(value, int):
        return value
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise ValueError(f"quantity {value!r}")
    return int(m.group(1)) * _SIZES[m.group(2)]


def limit_differences(intent: RateLimit, status: int) -> str:
    """What a rate limit's values change on a target answering ``status`` when over it."""
    words = []
    if intent.status not in (503, status):  # 503 is nginx's default, which every row already names
        words.append(f"the source answered {intent.status} (limit-req-status-code), {status} now")
    if intent.exempt:
        words.append(f"clients in {', '.join(intent.exempt)} are limited too (the source exempted them)")
    return "; ".join(words)
