"""Value formats the implementation emitters share: durations, byte sizes, auth URLs -- written
and read back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..standard import cluster_service

__all__ = ["AuthURL", "auth_url", "duration", "duration_ms", "quantity", "quantity_bytes"]

_DURATION_PART = re.compile(r"(\d+)(ms|h|m|s)")
_UNITS_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_UNITS_BYTES = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6,
                "G": 10**9, "T": 10**12}


def duration(ms: int) -> str:
    """A Gateway API / Envoy Gateway duration (``5s``, ``1500ms``, ``2m``, ``1h``)."""
    if ms % 3_600_000 == 0 and ms:
        return f"{ms // 3_600_000}h"
    if ms % 60_000 == 0 and ms:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


def duration_ms(text: str) -> int:
    """Milliseconds of a duration like ``1h30m`` or ``1500ms``; ValueError when malformed."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * _UNITS_MS[u] for n, u in parts)


def quantity_bytes(text: str) -> int:
    """Bytes of a Kubernetes quantity like ``8Mi`` or ``1000``; ValueError when malformed."""
    m = _QUANTITY.match(str(text))
    if not m:
        raise ValueError(f"not a byte quantity: {text!r}")
    return int(m.group(1)) * _UNITS_BYTES[m.group(2)]


def quantity(n: int) -> str:
    """A Kubernetes quantity for ``n`` bytes (``8Mi``, ``512Ki``, ``1000``)."""
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


@dataclass(frozen=True, slots=True)
class AuthURL:
    """An auth URL taken apart: an in-cluster Service (``namespace`` set) or an external host."""

    scheme: str
    host: str
    port: int
    path: str
    service: str | None = None
    namespace: str | None = None


def auth_url(url: str, route_namespace: str) -> AuthURL | str:
    """The parts of ``url``, or why a policy cannot call it (source variables, a query ...)."""
    if "$" in url:
        return f"auth URL {url} uses source variables"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"auth URL {url} is not an http:// or https:// URL"
    if parts.query:
        return f"auth URL {url} has a query string"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    svc = cluster_service(parts.hostname)
    path = parts.path or "/"
    if svc is not None and "." in parts.hostname:
        return AuthURL(parts.scheme, parts.hostname, port, path, svc[0], svc[1] or route_namespace)
    return AuthURL(parts.scheme, parts.hostname, port, path)
