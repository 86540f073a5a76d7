"""Kubernetes-valid, collision-free names for generated objects and listeners.

Names must be DNS-1123 labels/subdomains; hostnames map to readable slugs
(``*.example.com`` -> ``wildcard-example-com``). When a slug would collide with another
one in the same scope, or is too long, a short hash of the full original is appended, so
names stay stable and unique whatever the input order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

__all__ = ["MAX_NAME", "host_slug", "short_hash", "slug", "unique_names"]

MAX_NAME = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # what slug() gives back unchanged


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def slug(text: str) -> str:
    """Lowercase, ``[a-z0-9-]`` only, no leading/trailing or doubled dashes."""
    if _SLUG.fullmatch(text):
        return text  # already one (most host names and object names)
    s = _INVALID.sub("-", text.lower())
    return _DASHES.sub("-", s).strip("-")


def host_slug(host: str) -> str:
    if not host:
        return ""
    if host.startswith("*."):
        return "wildcard-" + slug(host[2:])
    return slug(host)


def _fit(name: str, original: str, limit: int, force_hash: bool) -> str:
    if not force_hash and len(name) <= limit and name:
        return name
    suffix = short_hash(original)
    head = name[: limit - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}" if head else suffix


def unique_names(wanted: Iterable[tuple[str, str]], limit: int = MAX_NAME) -> dict[str, str]:
    """Map each ``original`` to a unique valid name, given ``(original, base name)`` pairs.

    Every base name that is shared by several originals (or is too long) gets a hash of its
    original appended; the result depends only on the set of pairs.
    """
    slugged = [(original, slug(base)) for original, base in sorted(set(wanted))]
    counts: dict[str, int] = {}
    for _, b in slugged:
        counts[b] = counts.get(b, 0) + 1
    return {original: _fit(b, original, limit, counts[b] > 1) for original, b in slugged}
