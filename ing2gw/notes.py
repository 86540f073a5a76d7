"""The "lost in translation" channel: every loss of fidelity becomes a :class:`Note`.

A note has a stable ``code`` (tests and CI filters match codes, never prose), a ``level``,
the ``fidelity`` of what it describes, the object it is about, the annotation or field,
a message and what ing2gw did instead. For ``verify`` it also declares what it can
explain: the ``aspects`` of a request's outcome it changes (:data:`ASPECTS`; none: it
explains no difference) and the ``scope`` -- the (host, path) rules it is about.
:class:`Notes` collects them and sorts them deterministically. Rendering lives in
:mod:`ing2gw.report`; exit codes in the CLI.

A note about a protection (``security``: access control, authentication, TLS client auth,
WAF, rate limiting) whose fidelity is extension or unsupported says the protection is *not*
in the output: :func:`lost_protection` finds those, and the CLI fails the run on them unless
``--allow-unprotected`` is given.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "ASPECTS", "FAIL_ON_CHOICES", "Fidelity", "Level", "Note", "Notes", "Scope", "Security", "fails", "lost_protection",
    "stream_scope",
]

# What of a request's outcome a note can explain (``verify`` compares these).
ASPECTS = ("status", "backend", "weights", "redirect", "path", "host", "headers", "cors", "auth", "tls")

# (host, path) rules a note is about. host: a rule's host ("" the host-less rule, which
# serves hosts no rule names), or "*" every host. path: a path as the Ingress writes it,
# "" every path of the host (unmatched ones included), or "~REGEX" the requests whose path
# the regular expression finds (a property of the request, not of a rule). A stream note's
# path is "tcp:PORT", "tls:PORT" or "udp:PORT" (its host the SNI, or "*"): connections of that
# protocol to that port (:mod:`ing2gw.streamverify`), never an HTTP request.
Scope = tuple[tuple[str, str], ...]


def stream_scope(protocol: str, port: int, host: str = "*") -> tuple[str, str]:
    """The scope entry of a note about connections of ``protocol`` (TCP, TLS -- with SNI
    ``host`` -- or UDP) to ``port``."""
    return (host, f"{protocol.lower()}:{port}")


class Level(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Fidelity(enum.StrEnum):
    """How faithfully a source feature is carried into the Gateway API output."""

    EXACT = "exact"  # same behaviour
    APPROXIMATE = "approximate"  # converted; some requests behave differently (the note says which)
    EXTENSION = "extension"  # needs an implementation-specific policy; kept in the IR, not emitted
    UNSUPPORTED = "unsupported"  # cannot be expressed; dropped with this note


class Security(enum.StrEnum):
    """The kind of protection a note (or a policy intent) is about."""

    ACCESS_CONTROL = "access-control"  # IP allow/deny lists, blocked clients
    AUTHENTICATION = "authentication"  # basic, digest, external auth
    TLS_CLIENT_AUTH = "tls-client-auth"  # client certificates
    WAF = "waf"  # web application firewall
    RATE_LIMIT = "rate-limit"  # request and connection limits


_LEVEL_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Note:
    code: str  # stable identifier, e.g. "NGINX-REWRITE-CAPTURE"
    level: Level
    message: str
    subject: str = ""  # "Ingress ns/name", "Service ns/name", "file:line"
    field: str = ""  # annotation key or field path
    fidelity: Fidelity | None = None
    instead: str = ""  # what ing2gw did instead
    origin: str = ""  # file:line of the subject, when known
    # What verify may explain with it; not part of the note's identity (equal notes merge).
    aspects: frozenset[str] = dataclasses.field(default=frozenset(), compare=False)
    scope: Scope = dataclasses.field(default=(), compare=False)
    security: Security | None = None  # the protection this note is about, if any

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.subject, self.field, self.code, self.message, self.instead)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": str(self.level),
            "fidelity": str(self.fidelity) if self.fidelity else None,
            "subject": self.subject,
            "field": self.field,
            "message": self.message,
            "instead": self.instead,
            "origin": self.origin,
            **({"security": str(self.security)} if self.security else {}),
        }

    def line(self) -> str:
        """One human-readable line, as printed on stderr."""
        where = self.subject + (f" [{self.field}]" if self.field else "")
        text = f"{self.level}: {self.code}: {where}: {self.message}"
        if self.instead:
            text += f" ({self.instead})"
        return text


@dataclass(slots=True)
class Notes:
    """An append-only collection of notes; iteration is always in sorted order."""

    _items: list[Note] = field(default_factory=list)
    _seen: dict[Note, int] = field(default_factory=dict)
    _sorted: list[Note] | None = None

    def add(self, note: Note) -> None:
        """Add ``note``; the same note again widens what it explains (aspects and scope)."""
        at = self._seen.get(note)
        if at is None:
            self._seen[note] = len(self._items)
            self._items.append(note)
            self._sorted = None
            return
        old = self._items[at]
        if note.aspects <= old.aspects and set(note.scope) <= set(old.scope):
            return
        merged = replace(old, aspects=old.aspects | note.aspects,
                         scope=tuple(sorted(set(old.scope) | set(note.scope))))
        del self._seen[old]
        self._seen[merged] = at
        self._items[at] = merged
        self._sorted = None

    def extend(self, notes: Iterable[Note]) -> None:
        for n in notes:
            self.add(n)

    def __iter__(self) -> Iterator[Note]:
        if self._sorted is None:
            self._sorted = sorted(self._items, key=Note.sort_key)
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._items)

    def by_subject(self) -> dict[str, list[Note]]:
        """Notes grouped by subject (each group in sorted order)."""
        groups: dict[str, list[Note]] = {}
        for n in self:
            groups.setdefault(n.subject, []).append(n)
        return groups


# --fail-on thresholds, mildest first.
FAIL_ON_CHOICES = ("never", "error", "unsupported", "approximate")


def fails(note: Note, fail_on: str) -> bool:
    """Does ``note`` reach the ``--fail-on`` threshold?

    ``error``: error-level notes. ``unsupported``: also anything the output does not carry
    (unsupported or extension). ``approximate``: also approximate conversions.
    """
    if fail_on == "never":
        return False
    if note.level is Level.ERROR:
        return True
    if fail_on == "error":
        return False
    if note.fidelity in (Fidelity.UNSUPPORTED, Fidelity.EXTENSION):
        return True
    return fail_on == "approximate" and note.fidelity is Fidelity.APPROXIMATE


def lost_protection(note: Note) -> bool:
    """Is ``note`` about a protection that the output does not carry?"""
    return note.security is not None and note.fidelity in (Fidelity.EXTENSION, Fidelity.UNSUPPORTED)
