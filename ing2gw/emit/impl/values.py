"""Value formats the implementation emitters share: durations, byte sizes, auth URLs -- written
and read back."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...intents import Intent, IPAccess
from ..standard import cluster_service
from .base import Piece

__all__ = ["AuthURL", "access_lists", "auth_url", "duration", "duration_ms", "quantity", "quantity_bytes"]

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


def access_lists(intent: IPAccess, rule_intents: Sequence[Intent],
                 holder: str) -> tuple[list[str], list[str]] | Piece | str:
    """The deny and allow lists of every route-scoped, deny-first address list of a rule
    combined into one pair that refuses what any of them refuses: denies united, allow lists
    intersected (CIDR by CIDR). The first list of the rule carries them all; the others get an
    empty Piece saying they are in the same ``holder``. A string: why they cannot be carried."""
    if intent.scope != "route":
        return "a Gateway-wide address list is not attached per route"
    lists = [o for o in rule_intents if isinstance(o, IPAccess) and o.scope == "route"]
    if len(lists) < 2:
        return list(intent.deny), list(intent.allow)
    if intent is not lists[0]:
        return Piece({}, difference=f"carried in the same {holder} as the rule's other address list")
    if any(o.order != "deny-first" for o in lists):
        return "several address lists with allow-first order cannot be combined"
    deny: list[str] = []
    for o in lists:
        deny.extend(c for c in o.deny if c not in deny)
    allowing = [o.allow for o in lists if o.allow]
    allow = list(allowing[0]) if allowing else []
    for more in allowing[1:]:
        allow = _intersect(allow, more)
        if not allow:
            deny = ["0.0.0.0/0", "::/0"]  # the allow lists have nothing in common: everyone is refused
    return deny, allow


def _intersect(a: Sequence[str], b: Sequence[str]) -> list[str]:
    out: list[str] = []
    for x in a:
        nx = ipaddress.ip_network(x, strict=False)
        for y in b:
            ny = ipaddress.ip_network(y, strict=False)
            if nx.version != ny.version or not nx.overlaps(ny):
                continue
            smaller = str(nx if nx.prefixlen >= ny.prefixlen else ny)
            if smaller not in out:
                out.append(smaller)
    return out
