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
from .objects import ChangedObjects, object_changes
from .parallel import POLL, TAKE, Give, Half, Tickets, both_sides_talking, forks
from .sides import build_side
from .units import incremental_sides

__all__ = ["BehaviourChange", "DiffReport", "FieldChange", "ObjectChange", "Side", "build_side", "diff_sides",
           "incremental_sides"]


def _note_key(n: Note) -> tuple[str, str, str, str]:
    return (n.code, n.subject, n.field, n.message)


def diff_sides(base: Side, head: Side, extra_requests: Iterable[Request] = (), parallel: bool = False) -> DiffReport:
    """The report; ``parallel``: when there is much to route, a forked worker makes the probe
    requests, compiles BASE's router and routes the probes through it, while this process
    compiles HEAD's router, routes the probes through HEAD and compares the outcomes, a run
    of BASE's at a time as they come (:mod:`.parallel`; the probes and BASE's outcomes are
    handed over on the way). Whenever either process has nothing else to do, it compares the
    next piece of the objects both sides hold (:class:`.parallel.Tickets`): both stay busy
    to the end."""
    plan = replay(base, head, extra_requests)
    worker = parallel and plan.worth_a_worker
    pairs = ChangedObjects(base, head)
    tickets = Tickets(forks(worker))

    def next_objects(out: list[ObjectChange]) -> bool:
        """Compare the next piece of the objects no process has taken (False: none left)."""
        number = tickets.take()
        if number >= pairs.pieces:
            return False
        out += pairs.piece(number)
        return True

    def base_half() -> Half[list[ObjectChange]]:
        probes = plan.probes(plan.base_probes(), plan.head_probes())
        routed = plan.routed(probes)
        yield Give((routed, len(probes)))
        probes = routed
        router = plan.router("base")
        for part in plan.parts(probes):
            yield Give(plan.outcomes(router, probes, part))
        ours: list[ObjectChange] = []
        while next_objects(ours):
            pass
        return ours

    def head_half() -> Half[tuple[int, list[BehaviourChange], list[ObjectChange]]]:
        router = plan.router("head")
        ours: list[ObjectChange] = []
        while not (yield POLL) and next_objects(ours):
            pass
        probes, probed = yield TAKE
        after = plan.outcomes(router, probes)
        behaviour: list[BehaviourChange] = []
        for part in plan.parts(probes):
            while not (yield POLL) and next_objects(ours):
                pass
            before = yield TAKE
            behaviour += plan.changes(probes, before, after[part.start:part.stop], part)
        while next_objects(ours):
            pass
        return probed + len(plan.extra), plan.in_report_order(behaviour), ours

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
