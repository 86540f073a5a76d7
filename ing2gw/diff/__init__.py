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
from .objects import changed_objects, object_changes
from .parallel import TAKE, Give, Half, both_sides_talking
from .sides import build_side
from .units import incremental_sides

__all__ = ["BehaviourChange", "DiffReport", "FieldChange", "ObjectChange", "Side", "build_side", "diff_sides",
           "incremental_sides"]


def _note_key(n: Note) -> tuple[str, str, str, str]:
    return (n.code, n.subject, n.field, n.message)


def _theirs(i: int) -> bool:
    """The objects whose changes the worker makes: one in three (this process also compares
    the outcomes)."""
    return i % 3 == 2


def _ours(i: int) -> bool:
    return i % 3 != 2


def diff_sides(base: Side, head: Side, extra_requests: Iterable[Request] = (), parallel: bool = False) -> DiffReport:
    """The report; ``parallel``: when there is much to route, a forked worker makes the probe
    requests, compiles BASE's router, routes the probes through it and compares a third of
    the objects both sides hold, while this process compiles HEAD's router, compares the
    other objects, routes the probes through HEAD and compares the outcomes (:mod:`.parallel`;
    the probes and BASE's outcomes are handed over on the way)."""
    plan = replay(base, head, extra_requests)
    worker = parallel and plan.worth_a_worker

    def base_half() -> Half[list[ObjectChange]]:
        probes = plan.probes(plan.base_probes(), plan.head_probes())
        yield Give(probes)
        router = plan.router("base")
        yield Give(plan.outcomes(router, probes))
        return changed_objects(base, head, _theirs) if worker else []

    def head_half() -> Half[tuple[int, list[BehaviourChange], list[ObjectChange]]]:
        router = plan.router("head")
        ours = changed_objects(base, head, _ours if worker else None)
        probes = yield TAKE
        after = plan.outcomes(router, probes)
        before = yield TAKE
        return len(plan.requests(probes)), plan.changes(probes, before, after), ours

    changed, (requests, behaviour, ours) = both_sides_talking(base_half, head_half, worker)
    objects = object_changes(base, head, sorted(changed + ours, key=lambda c: c.key))
    old_notes = {_note_key(n): n for n in base.notes}
    new_notes = {_note_key(n): n for n in head.notes}
    return DiffReport(
        base=base.label,
        head=head.label,
        objects=tuple(objects),
        behaviour=tuple(behaviour),
        notes_added=tuple(new_notes[k] for k in sorted(set(new_notes) - set(old_notes))),
        notes_removed=tuple(old_notes[k] for k in sorted(set(old_notes) - set(new_notes))),
        requests=requests,
        lost=tuple(n for n in head.notes if lost_protection(n)),
    )
