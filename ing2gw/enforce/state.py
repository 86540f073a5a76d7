"""What a source controller's model checks protections with: one :class:`Enforcement` per
model, generic in the rate-limit counter its data plane uses (nginx's ``limit_req`` or token
buckets, :mod:`.buckets`).

The default checks presence only and counts nothing: no credentials files (any credentials
pass), no counter (every request is the first), a clock standing at zero, and the stand-in
auth service (:mod:`.standin`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ing2gw.http import Headers

from .credentials import Credentials
from .standin import AuthAnswer, stand_in

__all__ = ["Enforcement"]

L = TypeVar("L")


# no slots: calling Enforcement[X]() sets __orig_class__, which a slotted frozen class refuses
@dataclass(frozen=True)
class Enforcement(Generic[L]):
    """Credentials, the rate-limit counter (None: not counted), its clock and the auth service."""

    credentials: Credentials = field(default_factory=Credentials)
    limiter: L | None = None
    clock: Callable[[], float] = lambda: 0.0
    auth: Callable[[Headers], AuthAnswer] = stand_in
