"""Which ALB each Ingress is on: IngressClassParams, IngressGroups and member order.

An Ingress belongs to an explicit group when ``group.name`` (or its IngressClassParams'
``spec.group.name``, which wins) names one; otherwise it is alone on its own ALB (the implicit
group ``namespace/name``). Members are ordered by ``group.order`` (default 0, -1000..1000),
then by ``namespace/name``; that order is the ALB's rule order. The IngressClassParams of an
Ingress is the one its IngressClass's ``spec.parameters`` names; its fields override the
Ingress annotations (scheme, certificateArn, sslRedirectPort, inboundCIDRs, sslPolicy ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.kinds import APIKind, KubeObject
from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import Annotations, ingress_scope
from ing2gw.resources import Ingress, ResourceSet

from .annotations import PREFIX, TABLE, parse_group_name, row_key

__all__ = ["CLASS_PARAMS", "EKS_CLASS_PARAMS", "Group", "Member", "class_params", "load_groups", "read_annotations"]

CLASS_PARAMS = APIKind("elbv2.k8s.aws", "v1beta1", "IngressClassParams", namespaced=False, selectable=False)
EKS_CLASS_PARAMS = APIKind("eks.amazonaws.com", "v1", "IngressClassParams", namespaced=False, selectable=False)


@dataclass(frozen=True, slots=True)
class Member:
    """One Ingress of a group, with its parsed annotations and IngressClassParams spec."""

    ingress: Ingress
    annotations: Annotations
    params: Mapping[str, Any]
    order: int


@dataclass(slots=True)
class Group:
    """One ALB: ``key`` is the group name, or ``namespace/name`` of a lone Ingress."""

    key: str
    explicit: bool
    members: list[Member] = field(default_factory=list)


def read_annotations(ing: Ingress, notes: Notes) -> Annotations:
    """The Ingress's ``alb.ingress.kubernetes.io/*`` annotations through the table; keys with a
    variable part (``actions.NAME`` ...) are noted and validated under their family row."""
    pfx = PREFIX + "/"
    items = [(k, row_key(k[len(pfx):]), ing.annotations[k]) for k in sorted(ing.annotations) if k.startswith(pfx)]
    return TABLE.parse(items, notes, ing.subject, ing.origin, ingress_scope(ing))


def class_params(ing: Ingress, resources: ResourceSet, objects: Sequence[KubeObject], notes: Notes
                 ) -> Mapping[str, Any]:
    """The ``spec`` of the IngressClassParams the Ingress's class names ({} when none)."""
    cls_name = ing.legacy_class or ing.class_name
    cls = resources.ingress_classes.get(cls_name or "")
    if cls is None or cls.parameters is None:
        return {}
    group, kind, name = cls.parameters
    if kind != "IngressClassParams":
        return {}
    for obj in objects:
        if obj.kind.kind == "IngressClassParams" and obj.name == name and (not group or obj.kind.group == group):
            spec = obj.body.get("spec")
            return spec if isinstance(spec, Mapping) else {}
    notes.add(Note(code="ALB-CLASS-PARAMS-MISSING", level=Level.WARNING, subject=f"IngressClass {cls.name}",
                   field="spec.parameters", message=f"IngressClassParams {name} is not in the input",
                   instead="its settings (group, certificates, scheme, inbound CIDRs ...) are not applied",
                   origin=cls.origin, fidelity=Fidelity.APPROXIMATE))
    return {}


def load_groups(ingresses: Sequence[Ingress], resources: ResourceSet, objects: Sequence[KubeObject],
                notes: Notes) -> list[Group]:
    """The ALBs of ``ingresses``, each with its members in rule order, sorted by key."""
    groups: dict[str, Group] = {}
    for ing in ingresses:
        ann = read_annotations(ing, notes)
        params = class_params(ing, resources, objects, notes)
        name: str | None = None
        raw_group = params.get("group")
        if isinstance(raw_group, Mapping) and raw_group.get("name"):
            try:
                name = parse_group_name(str(raw_group["name"]))
            except ValueError as exc:
                notes.add(Note(code="ALB-GROUP-INVALID", level=Level.ERROR, subject=ing.subject,
                               field="IngressClassParams spec.group.name", origin=ing.origin,
                               message=f"invalid ingress group: {exc}",
                               instead="the controller does not reconcile this Ingress; not converted",
                               aspects=frozenset({"status", "backend"}), scope=ingress_scope(ing)))
                continue
        elif "group.name" in ann:
            name = str(ann.get("group.name"))
        elif f"{PREFIX}/group.name" in ing.annotations:  # present but invalid: the table noted it
            notes.add(Note(code="ALB-GROUP-INVALID", level=Level.ERROR, subject=ing.subject,
                           field=f"{PREFIX}/group.name", origin=ing.origin,
                           message="invalid ingress group name", aspects=frozenset({"status", "backend"}),
                           instead="the controller does not reconcile this Ingress; not converted",
                           scope=ingress_scope(ing)))
            continue
        key = name if name is not None else ing.ref
        group = groups.setdefault(key, Group(key, name is not None))
        order = int(ann.get("group.order") or 0) if name is not None else 0
        group.members.append(Member(ing, ann, params, order))
    for group in groups.values():
        group.members.sort(key=lambda m: (m.order, m.ingress.ref))
    return [groups[k] for k in sorted(groups)]
