"""Value formats the implementation emitters share: durations, byte sizes, auth URLs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..standard import cluster_service

__all__ = ["AuthURL", "auth_url", "duration", "quantity"]


def duration(ms: int) -> str:
    """A Gateway API / Envoy Gateway duration (``5s``, ``1500ms``, ``2m``, ``1h``)."""
    if ms % 3_600_000 == 0 and ms:
        return f"{ms // 3_600_000}h"
    if ms % 60_000 == 0 and ms:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


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
