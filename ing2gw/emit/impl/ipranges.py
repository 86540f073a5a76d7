"""Client-address lists as sets: what an :class:`~ing2gw.intents.IPAccess` admits, in the
forms implementations take.

ingress-nginx checks its deny list before its allow list; targets evaluate otherwise
(kgateway's ACL by longest prefix, Traefik's ipAllowList has no deny list at all). Because
CIDR blocks either nest or are disjoint, every such list has an exact equivalent: the set of
admitted addresses, written as CIDR blocks (:func:`admitted`), or the source's lists with the
entries that can never decide removed (:func:`decisive`). Readers go the other way
(:func:`longest_prefix`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Literal

from ...intents import IPAccess

__all__ = ["Network", "admitted", "decisive", "longest_prefix", "networks", "texts"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
EVERYWHERE: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def networks(cidrs: Iterable[str]) -> list[Network]:
    """The blocks of ``cidrs`` (a bare address is its own /32 or /128; host bits are ignored)."""
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def texts(nets: Iterable[Network]) -> list[str]:
    """CIDR text, IPv4 before IPv6, each family in address order."""
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))]


def _collapse(nets: Iterable[Network]) -> list[Network]:
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def _subtract(nets: Sequence[Network], minus: Sequence[Network]) -> list[Network]:
    out = list(nets)
    for m in minus:
        nxt: list[Network] = []
        for n in out:
            if n.version != m.version or not n.overlaps(m):
                nxt.append(n)
            elif m.supernet_of(n):  # type: ignore[arg-type]
                continue
            else:  # m lies inside n
                nxt.extend(n.address_exclude(m))  # type: ignore[arg-type]
        out = nxt
    return _collapse(out)


def admitted(access: IPAccess) -> list[Network]:
    """Every address ``access`` lets through, as few CIDR blocks as possible."""
    allow, deny = networks(access.allow), networks(access.deny)
    if access.order == "allow-first":
        return _collapse(allow) if allow else _subtract(EVERYWHERE, deny)
    return _subtract(allow or EVERYWHERE, deny)


def _inside(n: Network, of: Sequence[Network]) -> bool:
    return any(n.version == o.version and o.supernet_of(n) for o in of)  # type: ignore[arg-type]


def decisive(access: IPAccess) -> tuple[list[Network], list[Network]]:
    """``(allow, deny)`` with the entries removed that never decide anything, so that any
    evaluation order -- first match, deny first, longest prefix -- gives the source's answer:
    under deny-first, an allowed block inside a denied one never admits; under allow-first,
    a denied block inside an allowed one never refuses, and with an allow list the deny list
    refuses nothing the allow list does not already."""
    allow, deny = networks(access.allow), networks(access.deny)
    if access.order == "allow-first":
        return (allow, []) if allow else ([], deny)
    kept = [a for a in allow if not _inside(a, deny)]
    if allow and not kept:  # everything allowed is denied: nobody passes
        return [], list(EVERYWHERE)
    if kept:
        deny = [d for d in deny if any(d.version == a.version and d.overlaps(a) for a in kept)]
    return kept, deny


def longest_prefix(default: Literal["allow", "deny"], rules: Sequence[tuple[bool, Network]]) -> list[Network]:
    """What a longest-prefix-match list admits: ``rules`` are ``(allows, block)``; an address
    takes the action of the longest block holding it, else ``default`` (a deny wins a tie)."""
    admitted_set: list[Network] = list(EVERYWHERE) if default == "allow" else []
    for allows, net in sorted(rules, key=lambda r: (r[1].prefixlen, not r[0])):
        admitted_set = _collapse([*admitted_set, net]) if allows else _subtract(admitted_set, [net])
    return admitted_set


def cover_everything(nets: Sequence[Network]) -> bool:
    return _collapse(nets) == list(EVERYWHERE)
