"""Address lists as sets (ing2gw.emit.impl.ipranges): every form a target takes admits exactly
the addresses ingress-nginx admits, checked against a direct reading of the source's rules on
the edges of every block and on random addresses."""

from __future__ import annotations

import ipaddress
import random

import pytest

from ing2gw.emit.impl import ipranges
from ing2gw.intents import IPAccess
from ing2gw.ir import Provenance

PROV = Provenance("Ingress", "shop", "web")


def _source_admits(access: IPAccess, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The source's own reading: deny-first (nginx) or allow-first."""
    inside = lambda cidrs: any(address in n for n in ipranges.networks(cidrs))  # noqa: E731
    if access.order == "allow-first":
        return inside(access.allow) or (not inside(access.deny) and not access.allow)
    return not inside(access.deny) and (not access.allow or inside(access.allow))


def _probes(access: IPAccess, rng: random.Random) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for n in ipranges.networks((*access.allow, *access.deny)):
        first, last = int(n.network_address), int(n.broadcast_address)
        top = (1 << n.max_prefixlen) - 1
        out += [ipaddress.ip_address(a) if n.version == 6 else ipaddress.IPv4Address(a)
                for a in (first, last, max(first - 1, 0), min(last + 1, top))]
    out += [ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(64)]
    out += [ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(8)]
    return out


def _random_access(rng: random.Random) -> IPAccess:
    def block() -> str:
        prefix = rng.choice((8, 12, 16, 20, 24, 28, 32))
        base = rng.choice((10 << 24, 172 << 24 | 16 << 16, 192 << 24 | 168 << 16))
        addr = base | rng.getrandbits(32 - 8) & ~((1 << (32 - prefix)) - 1) & ((1 << 24) - 1)
        return f"{ipaddress.IPv4Address(addr)}/{prefix}"

    allow = tuple(block() for _ in range(rng.randint(0, 3)))
    deny = tuple(block() for _ in range(rng.randint(0 if allow else 1, 3)))
    return IPAccess(allow=allow, deny=deny, order=rng.choice(("deny-first", "allow-first")), provenance=PROV)


CASES = [
    IPAccess(allow=("10.0.0.0/8", "172.16.5.0/24"), deny=("10.1.0.0/16", "172.16.0.0/12"), provenance=PROV),
    IPAccess(deny=("203.0.113.0/24",), provenance=PROV),
    IPAccess(allow=("10.0.0.0/8",), deny=("10.0.0.0/8",), provenance=PROV),
    IPAccess(allow=("10.0.0.0/8", "2001:db8::/32"), deny=("10.1.2.3",), order="allow-first", provenance=PROV),
    IPAccess(allow=("192.168.1.1",), deny=("192.168.0.0/16",), order="allow-first", provenance=PROV),
]


@pytest.mark.parametrize("seed", range(24))
def test_every_form_admits_what_the_source_admits(seed: int) -> None:
    rng = random.Random(seed)
    access = CASES[seed] if seed < len(CASES) else _random_access(rng)
    ok = ipranges.admitted(access)
    allow, deny = ipranges.decisive(access)
    longest = ipranges.longest_prefix("deny" if allow else "allow",
                                      [(True, n) for n in allow] + [(False, n) for n in deny])
    for address in _probes(access, rng):
        want = _source_admits(access, address)
        assert any(address in n for n in ok) == want, (access, address, "admitted")
        assert any(address in n for n in longest) == want, (access, address, "longest prefix")
        # deny-first over the decisive lists (agentgateway's expression) gives the same answer
        in_allow, in_deny = any(address in n for n in allow), any(address in n for n in deny)
        assert ((not allow or in_allow) and not in_deny) == want, (access, address, "decisive")


def test_the_deny_list_alone_is_folded_into_its_complement() -> None:
    ok = ipranges.texts(ipranges.admitted(CASES[1]))
    assert "203.0.112.0/24" in ok and "203.0.114.0/23" in ok and "::/0" in ok
    assert not any(ipaddress.ip_address("203.0.113.7") in ipaddress.ip_network(n) for n in ok)


def test_blocks_that_never_decide_are_left_out() -> None:
    allow, deny = ipranges.decisive(CASES[0])
    assert ipranges.texts(allow) == ["10.0.0.0/8"] and ipranges.texts(deny) == ["10.1.0.0/16"]
    allow, deny = ipranges.decisive(CASES[2])  # everything allowed is denied: nobody passes
    assert allow == [] and ipranges.cover_everything(deny)
