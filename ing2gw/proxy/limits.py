"""Limits and timeouts: the knobs that bound what a client or a backend can make the proxy
do (the GEP-2257 durations of HTTPRoute ``timeouts`` are read by
:func:`ing2gw.enforce.timeouts.parse_duration`).

Every limit has a safe default; :class:`Limits` is frozen so one value can be shared by
every connection of a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..enforce.timeouts import parse_duration

__all__ = ["Limits", "parse_duration"]


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

