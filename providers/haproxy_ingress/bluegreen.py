"""haproxy-ingress blue/green: what a backend's pod groups get, and what to build instead.

``blue-green-balance`` (older spelling ``blue-green-deploy``) lists ``label=value=weight``
groups, comma-separated: haproxy weights the *pods* of one Service by their label. A weight is
an integer clamped to 0..256 (0: the group keeps its persistent connections but gets no new
requests); a malformed item makes the controller ignore the whole balance. In ``deploy`` mode
(the default) a group's share is its weight over the sum of the weights, whatever its number of
pods; in ``pod`` mode every pod carries its group's weight, so a group's share also grows with its
replicas. ``blue-green-header`` / ``blue-green-cookie`` (``Name:label``) send a request whose
header (cookie) names a group's label value to that group's pods first.

Gateway API weights Services, not pods, so none of this converts: the backendRef keeps the
whole Service (every pod alike). :func:`blue_green_notes` says, per backend Service, each
group's share and the Services to create -- one per group, selecting the Service's pods plus the
group label -- with the weights to put on their backendRefs (and, for a selector, the header
match of each group).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Group", "Selector", "blue_green_message", "parse_balance", "parse_selector"]

MAX_WEIGHT = 256
_LABEL = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?)")
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class Group:
    """One pod group of a blue/green balance: pods labelled ``label=value`` get ``weight``."""

    label: str
    value: str
    weight: int


@dataclass(frozen=True, slots=True)
class Selector:
    """``blue-green-header`` / ``blue-green-cookie``: the request's ``name`` picks the group
    whose ``label`` has that value."""

    name: str
    label: str


def parse_balance(text: str) -> tuple[Group, ...]:
    """``label=value=weight,...``; weights outside 0..256 are clamped as the controller does."""
    groups: list[Group] = []
    for item in text.split(","):
        parts = item.strip().split("=")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{item.strip()!r} is not label=value=weight (the controller ignores the whole balance)")
        label, value, weight = parts
        try:
            number = int(weight)
        except ValueError:
            raise ValueError(f"weight {weight!r} of {label}={value} is not an integer "
                             "(the controller ignores the whole balance)") from None
        groups.append(Group(label, value, min(max(number, 0), MAX_WEIGHT)))
    return tuple(groups)


def parse_selector(text: str) -> Selector:
    """``Name:label``."""
    name, sep, label = text.strip().partition(":")
    if not sep or not _NAME.fullmatch(name) or not _LABEL.fullmatch(label):
        raise ValueError("must be Name:label (a header or cookie name and a pod label name)")
    return Selector(name, label)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.4g}%" if whole else "0%"


def _service_name(service: str, value: str) -> str:
    """``service-value`` as a DNS label (RFC 1035, at most 63 characters)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", f"{service}-{value}".lower()).strip("-")
    return slug[:63].rstrip("-") or "blue-green"


def blue_green_message(service: str, groups: tuple[Group, ...], mode: str, header: Selector | None,
                       cookie: Selector | None) -> tuple[str, str]:
    """(message, instead) of the note for one backend Service ``ns/name``."""
    _, _, name = service.partition("/")
    total = sum(g.weight for g in groups)
    if not groups:
        sel = header or cookie
        assert sel is not None
        what = "header" if header is not None else "cookie"
        message = (f"blue-green-{what} {sel.name}:{sel.label} sends a request of Service {service} whose {what} "
                   f"{sel.name} names a value of pod label {sel.label} to those pods first; Gateway API routes to "
                   f"Services, not pods: the converted backendRef spreads requests over every pod of {name} alike")
        instead = (f"backendRef to {name} unchanged; to keep the selection, create one Service per value of "
                   f"{sel.label} ({name}-<value>: the selector of {name} plus {sel.label}: <value>) and a rule per "
                   f"value matching {what} {sel.name}" + (": <value>" if header is not None else
                                                          " (a RegularExpression match on the Cookie header)"))
        return message, instead
    if mode == "pod":
        shares = ", ".join(f"{g.label}={g.value} weight {g.weight} per pod" for g in groups)
        split = (f"blue-green-balance (mode pod) weights each pod of Service {service} by its group: {shares}; a "
                 "group's share is its weight times its ready pods over the same sum for all groups")
    else:
        shares = ", ".join(f"{g.label}={g.value} → {_percent(g.weight, total)}" for g in groups)
        split = f"blue-green-balance (mode deploy) splits Service {service} between its pod groups: {shares}"
    services = "; ".join(
        f"{_service_name(name, g.value)} (the selector of {name} plus {g.label}: {g.value}), backendRef weight "
        f"{g.weight if mode != 'pod' else f'{g.weight} × its replicas'}" for g in groups)
    parts = [split]
    if total == 0 and mode != "pod":
        parts.append("every weight is 0, so haproxy sends new requests to no pod of these groups")
    if any(g.weight == 0 for g in groups) and total:
        parts.append("a group of weight 0 keeps only its persistent (affinity) sessions")
    for sel, what in ((header, "header"), (cookie, "cookie")):
        if sel is not None:
            parts.append(f"blue-green-{what} {sel.name}:{sel.label} sends a request whose {what} {sel.name} names a "
                         f"value of pod label {sel.label} to those pods first")
    parts.append("Gateway API weights Services, not pods: the converted backendRef spreads requests over every pod of "
                 f"{name} alike")
    instead = (f"backendRef to {name} unchanged; to keep the split, create one Service per group — {services} — and "
               "replace the backendRef by them")
    if header is not None:
        instead += (f"; for blue-green-header add a rule per group matching header {header.name}: <value> with that "
                    "group's Service alone")
    if cookie is not None:
        instead += (f"; blue-green-cookie has no Gateway API match (only a RegularExpression match on the Cookie "
                    f"header for {cookie.name}=<value>)")
    return "; ".join(parts), instead
