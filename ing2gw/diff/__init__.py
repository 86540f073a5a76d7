"""What a change to the manifests means after migration: objects and behaviour, dyff-style.

Each side (BASE, HEAD) is a set of documents made into objects (:mod:`.sides`); the report
(:mod:`.model`) lists

* objects added, removed, renamed or changed field by field (:mod:`.objects`, with field
  paths from :mod:`.fields`);
* requests whose outcome through the reference router changes (:mod:`.behaviour`);
* conversion notes that appear or disappear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..http import Request
from ..notes import Note, lost_protection
from .behaviour import ProbeKey, replay
from .fields import FieldChange
from .model import BehaviourChange, DiffReport, ObjectChange, Side
from .objects import object_changes
from .parallel import both_sides_fed
from .sides import build_side
from .units import incremental_sides

__all__ = ["BehaviourChange", "DiffReport", "FieldChange", "ObjectChange", "Side", "build_side", "diff_sides",
           "incremental_sides"]


def _note_key(n: Note) -> tuple[str, str, str, str]:
    return (n.code, n.subject, n.field, n.message)


def diff_sides(base: Side, head: Side, extra_requests: Iterable[Request] = (), parallel: bool = False) -> DiffReport:
    """The report; ``parallel``: when there is much to route, a forked worker compiles BASE's
    router and compares the objects while this process makes the probe requests, then routes
    them through BASE while this process routes them through HEAD."""
    plan = replay(base, head, extra_requests)

    def base_half(get_probes: Callable[[], list[ProbeKey]]) -> tuple[list[dict[str, Any]], list[ObjectChange]]:
        router = plan.router("base")  # what needs no probes first
        objects = object_changes(base, head)
        return plan.outcomes(router, get_probes()), objects

    def head_half(probes: list[ProbeKey]) -> tuple[list[ProbeKey], list[dict[str, Any]]]:
        return probes, plan.outcomes(plan.router("head"), probes)

    (before, objects), (probes, after) = both_sides_fed(base_half, plan.probes, head_half,
                                                        parallel and plan.worth_a_worker)
    behaviour = plan.changes(probes, before, after)
    old_notes = {_note_key(n): n for n in base.notes}
    new_notes = {_note_key(n): n for n in head.notes}
    return DiffReport(
        base=base.label,
        head=head.label,
        objects=tuple(objects),
        behaviour=tuple(behaviour),
        notes_added=tuple(new_notes[k] for k in sorted(set(new_notes) - set(old_notes))),
        notes_removed=tuple(old_notes[k] for k in sorted(set(old_notes) - set(new_notes))),
        requests=len(plan.requests(probes)),
        lost=tuple(n for n in head.notes if lost_protection(n)),
    )
