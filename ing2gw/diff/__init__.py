"""What a change to the manifests means after migration: objects and behaviour, dyff-style.

Each side (BASE, HEAD) is a set of documents made into objects (:mod:`.sides`); the report
(:mod:`.model`) lists

* objects added, removed, renamed or changed field by field (:mod:`.objects`, with field
  paths from :mod:`.fields`);
* requests whose outcome through the reference router changes (:mod:`.behaviour`);
* conversion notes that appear or disappear.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..http import Request
from ..notes import Note, lost_protection
from .behaviour import replay
from .fields import FieldChange
from .model import BehaviourChange, DiffReport, ObjectChange, Side
from .objects import object_changes
from .parallel import both_sides
from .sides import build_side
from .units import incremental_sides

__all__ = ["BehaviourChange", "DiffReport", "FieldChange", "ObjectChange", "Side", "build_side", "diff_sides",
           "incremental_sides"]


def _note_key(n: Note) -> tuple[str, str, str, str]:
    return (n.code, n.subject, n.field, n.message)


def diff_sides(base: Side, head: Side, extra_requests: Iterable[Request] = (), parallel: bool = False) -> DiffReport:
    """The report; ``parallel``: route BASE's requests in a forked worker when there are many,
    while this process routes HEAD's and compares the objects."""
    plan = replay(base, head, extra_requests)
    before, (after, objects) = both_sides(plan.base_outcomes,
                                          lambda: (plan.head_outcomes(), object_changes(base, head)),
                                          parallel and plan.worth_a_worker)
    behaviour = plan.changes(before, after)
    old_notes = {_note_key(n): n for n in base.notes}
    new_notes = {_note_key(n): n for n in head.notes}
    return DiffReport(
        base=base.label,
        head=head.label,
        objects=tuple(objects),
        behaviour=tuple(behaviour),
        notes_added=tuple(new_notes[k] for k in sorted(set(new_notes) - set(old_notes))),
        notes_removed=tuple(old_notes[k] for k in sorted(set(old_notes) - set(new_notes))),
        requests=len(plan.requests),
        lost=tuple(n for n in head.notes if lost_protection(n)),
    )
