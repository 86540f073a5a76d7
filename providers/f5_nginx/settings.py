"""What the F5 NGINX Ingress Controller makes of a set of Ingresses before it writes NGINX
configuration: who owns each host, mergeable groups, and each Ingress's effective annotations.

* **Hosts**: a host belongs to one Ingress -- or one mergeable master and its minions -- the
  oldest (creation time, then namespace/name); another Ingress naming it loses that host.
* **Mergeable**: ``nginx.org/mergeable-ingress-type: master`` owns the host, its TLS and the
  server settings and has no paths; ``minion`` Ingresses of the same host add paths (their
  TLS is ignored). A master drops :data:`~.annotations.MASTER_DENIED` keys, a minion
  :data:`~.annotations.MINION_DENIED` ones, and a minion inherits the master's
  :data:`~.annotations.MINION_INHERITS` keys it does not set. The master's ``path-regex``
  reaches a minion only when the minion has no annotations at all.

:func:`plan` does all this once for a set of Ingresses; the translator and the model both
start from the :class:`Plan` (the nginx oracle's configuration is written without it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import Annotations, ingress_scope
from ing2gw.resources import Ingress

from .annotations import MASTER_DENIED, MINION_DENIED, MINION_INHERITS, PREFIXES, TABLE

__all__ = ["MERGEABLE", "Plan", "Served", "annotations_of", "minion_annotations", "plan"]

MERGEABLE = "nginx.org/mergeable-ingress-type"
PATH_REGEX = "nginx.org/path-regex"
SHARED_PREFIX = "ingress.kubernetes.io"
_READ_SHARED = "ingress.kubernetes.io/ssl-redirect"


@dataclass(frozen=True, slots=True)
class Served:
    """One Ingress as the controller serves it: the hosts it keeps, its role, its effective
    annotations, and the Ingress whose server settings apply (the master for a minion)."""

    ingress: Ingress
    hosts: tuple[str, ...]
    role: str  # "", "master" or "minion"
    annotations: Annotations
    server: Annotations  # the server-level settings: the master's for a minion, else its own
    master: Ingress | None = None


@dataclass(slots=True)
class Plan:
    served: dict[str, Served] = field(default_factory=dict)  # Ingress ref -> how it is served
    owners: dict[str, str] = field(default_factory=dict)  # host -> ref of the Ingress (master) owning it

    def of(self, ing: Ingress) -> Served | None:
        return self.served.get(ing.ref)


def _raw(ing: Ingress) -> dict[str, str]:
    own = tuple(p + "/" for p in PREFIXES)
    return {k: v for k, v in ing.annotations.items() if k.startswith(own) or k == _READ_SHARED}


def annotations_of(raw: Mapping[str, str], subject: str, origin: str, notes: Notes, scope: tuple[tuple[str, str], ...]
                   ) -> Annotations:
    """Parse the F5 annotations of one Ingress (keys in full)."""
    return TABLE.parse([(k, k, raw[k]) for k in sorted(raw)], notes, subject, origin, scope)


def _order(ingresses: Sequence[Ingress]) -> list[Ingress]:
    return sorted(ingresses, key=lambda i: (i.created or "~", i.namespace, i.name))


def plan(ingresses: Sequence[Ingress], notes: Notes) -> Plan:
    """How the controller serves these Ingresses (every problem noted)."""
    out = Plan()
    ordered = _order(ingresses)
    roles = {i.ref: i.annotations.get(MERGEABLE, "").strip() for i in ordered}
    for ing in ordered:
        for key in sorted(ing.annotations):
            if key.startswith(SHARED_PREFIX + "/") and key != _READ_SHARED:
                notes.add(Note(code="F5-ANNOTATION-NOT-READ", level=Level.WARNING, subject=ing.subject, field=key,
                               message=f"the controller reads only {_READ_SHARED} of the {SHARED_PREFIX}/* "
                                       "annotations", origin=ing.origin, fidelity=Fidelity.UNSUPPORTED,
                               instead="ignored, as the controller ignores it"))
        if roles[ing.ref] not in ("", "master", "minion"):
            notes.add(Note(code="F5-MERGEABLE-INVALID", level=Level.ERROR, subject=ing.subject, field=MERGEABLE,
                           message=f"{MERGEABLE} must be master or minion, not {roles[ing.ref]!r}",
                           origin=ing.origin, instead="Ingress not converted, as the controller rejects it",
                           aspects=frozenset({"status", "backend"}), scope=ingress_scope(ing)))
    masters: dict[str, Ingress] = {}
    for ing in ordered:
        role = roles[ing.ref]
        if role == "master":
            hosts = [r.host for r in ing.rules if r.host]
            if len(hosts) != 1:
                notes.add(Note(code="F5-MASTER-HOSTS", level=Level.ERROR, subject=ing.subject, origin=ing.origin,
                               message="a master Ingress must have exactly one host",
                               instead="not converted, as the controller rejects it",
                               aspects=frozenset({"status", "backend"}), scope=ingress_scope(ing)))
                continue
            if any(r.paths for r in ing.rules):
                notes.add(Note(code="F5-MASTER-PATHS", level=Level.WARNING, subject=ing.subject, origin=ing.origin,
                               message="a master Ingress's paths are ignored (minions carry the paths)",
                               instead="paths not converted", aspects=frozenset({"status", "backend"}),
                               scope=ingress_scope(ing)))
            if hosts[0] in out.owners:
                _lost(ing, hosts[0], out.owners[hosts[0]], notes)
                continue
            masters[hosts[0]] = ing
            out.owners[hosts[0]] = ing.ref
        elif role == "":
            for host in dict.fromkeys(r.host for r in ing.rules):
                if host in out.owners:
                    _lost(ing, host, out.owners[host], notes)
                else:
                    out.owners[host] = ing.ref
    for ing in ordered:
        role = roles[ing.ref]
        raw = _raw(ing)
        scope = ingress_scope(ing)
        if role == "minion":
            named = [r.host for r in ing.rules if r.host]
            master = masters.get(named[0]) if len(named) == 1 else None
            if master is None:
                notes.add(Note(code="F5-MINION-WITHOUT-MASTER", level=Level.ERROR, subject=ing.subject,
                               origin=ing.origin, message="a minion Ingress needs one host with a master Ingress",
                               instead="not converted, as the controller ignores it",
                               aspects=frozenset({"status", "backend"}), scope=scope))
                continue
            if ing.tls:
                notes.add(Note(code="F5-MINION-TLS", level=Level.WARNING, subject=ing.subject, field="spec.tls",
                               origin=ing.origin, message="a minion's tls section is ignored (the master's applies)",
                               instead="not converted", aspects=frozenset({"tls"}), scope=scope))
            effective = minion_annotations(ing, master, notes)
            ann = annotations_of(effective, ing.subject, ing.origin, notes, scope)
            server = annotations_of(_filtered(_raw(master), MASTER_DENIED), master.subject, master.origin, Notes(),
                                    ingress_scope(master))
            out.served[ing.ref] = Served(ing, (named[0],), "minion", ann, server, master)
        elif role in ("master", ""):
            owned = tuple(h for h, owner in out.owners.items() if owner == ing.ref)
            if role == "master" and not owned:
                continue
            if role == "master":
                raw = _denied(raw, MASTER_DENIED, ing, notes, "master")
            ann = annotations_of(raw, ing.subject, ing.origin, notes, scope)
            out.served[ing.ref] = Served(ing, owned, role, ann, ann)
    return out


def _lost(ing: Ingress, host: str, owner: str, notes: Notes) -> None:
    notes.add(Note(code="F5-HOST-TAKEN", level=Level.WARNING, subject=ing.subject, origin=ing.origin,
                   message=f"host {host or '(none)'} is already served by Ingress {owner}, which is older: the "
                           "controller gives a host to one Ingress (or one mergeable group)",
                   instead=f"the rules of {host or 'the host-less rule'} are not converted",
                   aspects=frozenset({"status", "backend"}), scope=((host, ""),)))


def _filtered(raw: Mapping[str, str], denied: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in raw.items() if k not in denied}


def _denied(raw: Mapping[str, str], denied: frozenset[str], ing: Ingress, notes: Notes, role: str) -> dict[str, str]:
    for key in sorted(set(raw) & denied):
        notes.add(Note(code="F5-MERGEABLE-ANNOTATION-DROPPED", level=Level.WARNING, subject=ing.subject, field=key,
                       message=f"a {role} Ingress may not carry {key}", origin=ing.origin,
                       fidelity=Fidelity.UNSUPPORTED, instead="ignored, as the controller drops it"))
    return _filtered(raw, denied)


def minion_annotations(ing: Ingress, master_ing: Ingress, notes: Notes) -> dict[str, str]:
    """A minion's effective F5 annotations: its own (without the denied ones), the master's
    inherited ones, and the master's path-regex when the minion has no annotation at all."""
    raw, master = _raw(ing), _raw(master_ing)
    effective = _denied(raw, MINION_DENIED, ing, notes, "minion")
    for key in sorted(MINION_INHERITS & set(master)):
        effective.setdefault(key, master[key])
    if PATH_REGEX not in raw and PATH_REGEX in master and not ing.annotations:
        effective[PATH_REGEX] = master[PATH_REGEX]  # only for a minion without any annotation
    return effective
