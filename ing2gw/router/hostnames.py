"""Hostname rules of the Gateway API: wildcard matching, listener/route intersection, and
:class:`HostIndex`, a lookup structure that returns the values registered for a host in
precedence order (exact name, then wildcards from the longest suffix, then catch-all).

Hostnames here are lower-case and carry no port. ``None`` stands for "no hostname", which
matches every host. A wildcard is ``*.`` followed by a suffix and matches one or more labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["HostIndex", "host_matches", "intersect", "is_wildcard"]

T = TypeVar("T")


def is_wildcard(name: str) -> bool:
    return name.startswith("*.")


def host_matches(pattern: str | None, host: str) -> bool:
    """Whether a listener or route hostname (``None`` = any) matches a request host."""
    if pattern is None:
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return len(host) > len(suffix) and host.endswith(suffix)
    return host == pattern


def intersect(listener: str | None, route: str | None) -> tuple[bool, str | None]:
    """``(intersects, effective hostname)`` of a listener and one route hostname.

    Either side ``None`` yields the other side; two wildcards yield the narrower one.
    """
    if listener is None:
        return True, route
    if route is None:
        return True, listener
    lw, rw = is_wildcard(listener), is_wildcard(route)
    if not lw and not rw:
        return (True, route) if listener == route else (False, None)
    if lw and not rw:
        return (True, route) if host_matches(listener, route) else (False, None)
    if rw and not lw:
        return (True, listener) if host_matches(route, listener) else (False, None)
    if route == listener or route.endswith(listener[1:]):
        return True, route
    if listener.endswith(route[1:]):
        return True, listener
    return False, None


class HostIndex(Generic[T]):
    """Values keyed by hostname pattern, looked up by a concrete host in precedence order.

    Lookup cost depends on the number of labels in the host, not on the number of entries.
    """

    __slots__ = ("exact", "wild", "any")

    def __init__(self) -> None:
        self.exact: dict[str, T] = {}
        self.wild: dict[str, T] = {}  # key: the suffix after "*", e.g. ".example.com"
        self.any: T | None = None

    def setdefault(self, pattern: str | None, factory: Callable[[], T]) -> T:
        if pattern is None:
            if self.any is None:
                self.any = factory()
            return self.any
        if pattern.startswith("*."):
            key = pattern[1:]
            if key not in self.wild:
                self.wild[key] = factory()
            return self.wild[key]
        if pattern not in self.exact:
            self.exact[pattern] = factory()
        return self.exact[pattern]

    def put(self, pattern: str | None, value: T) -> None:
        """Register ``value`` under ``pattern`` unless one is there already."""
        self.setdefault(pattern, lambda: value)

    def items(self) -> Iterator[tuple[str | None, T]]:
        """(pattern, value) pairs: exact names, then wildcards (``*.suffix``), then ``None``."""
        yield from self.exact.items()
        for suffix, value in self.wild.items():
            yield "*" + suffix, value
        if self.any is not None:
            yield None, self.any

    def values(self) -> Iterator[T]:
        yield from self.exact.values()
        yield from self.wild.values()
        if self.any is not None:
            yield self.any

    def lookup(self, host: str) -> Iterator[T]:
        """Every value whose pattern matches ``host``, most specific first."""
        return iter(self.lookup_list(host))

    def lookup_list(self, host: str) -> list[T]:
        """:meth:`lookup` as a list (faster on the hot path)."""
        out: list[T] = []
        value = self.exact.get(host)
        if value is not None:
            out.append(value)
        wild = self.wild
        if wild:
            i = host.find(".")
            while i > 0:
                value = wild.get(host[i:])
                if value is not None:
                    out.append(value)
                i = host.find(".", i + 1)
        if self.any is not None:
            out.append(self.any)
        return out

    def best(self, host: str) -> T | None:
        """The most specific value matching ``host``."""
        value = self.exact.get(host)
        if value is not None:
            return value
        wild = self.wild
        if wild:
            i = host.find(".")
            while i > 0:
                value = wild.get(host[i:])
                if value is not None:
                    return value
                i = host.find(".", i + 1)
        return self.any
