"""Limits and timeouts: the knobs that bound what a client or a backend can make the proxy
do, and the GEP-2257 duration syntax that HTTPRoute ``timeouts`` use.

Every limit has a safe default; :class:`Limits` is frozen so one value can be shared by
every connection of a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Limits", "parse_duration"]

_DURATION = re.compile(r"(?:[0-9]{1,5}(?:h|m|s|ms))+")
_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client connection may send and how long each step may take (seconds)."""

    max_request_line: int = 8 * 1024  # longer request lines get 414
    max_header_bytes: int = 32 * 1024  # the whole head (request line + fields): 431 beyond
    max_header_count: int = 100  # more header fields get 431
    max_body_bytes: int = 0  # 0 = unlimited; larger bodies get 413
    header_timeout: float = 10.0  # the head must arrive within this: 408 (or a quiet close)
    keepalive_timeout: float = 60.0  # an idle kept-alive connection is closed after this
    body_timeout: float = 60.0  # the longest wait for the next piece of a request body
    connect_timeout: float = 5.0  # dialling a backend: 502 beyond
    upstream_timeout: float = 300.0  # a backend exchange when the route sets no timeout: 504
    mirror_body_bytes: int = 1024 * 1024  # request bodies up to this are copied to mirrors
    max_connections: int = 4096  # client connections per worker; more are closed at once


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
