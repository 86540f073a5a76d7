"""Annotation value syntax both HAProxy controllers share: HAProxy time values, ``Name value``
header lines, address lists and status codes. Each parser raises ``ValueError`` with a short
reason for a value the controller would refuse; the generic readings (booleans, integers,
CIDRs) come from :mod:`.._common.values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._common.values import Duration, IPNetwork, parse_cidrs, parse_int

__all__ = [
    "FAMILY_ASPECTS",
    "parse_choice",
    "parse_colon_header_lines",
    "parse_header_lines",
    "parse_header_names",
    "parse_ip_list",
    "parse_status_in",
    "parse_time",
]

_TIME = re.compile(r"([0-9]+)(us|ms|s|m|h|d)?", re.ASCII)
_TIME_UNITS = {"us": 0.001, "ms": 1, "": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_time(text: str) -> Duration:
    """An HAProxy time: digits with an optional unit (us, ms, s, m, h, d; none = milliseconds)."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("not an HAProxy time (digits with us, ms, s, m, h or d)")
    return Duration(int(int(m.group(1)) * _TIME_UNITS[m.group(2) or ""]))


def parse_header_lines(text: str, colon: bool = False) -> tuple[tuple[str, str], ...]:
    """One header per line: ``Name value`` (haproxytech), or ``Name: value`` when ``colon``
    (haproxy-ingress, which also takes the space form); one pair of surrounding quotes is
    removed from the value."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition(":") if colon else ("", "", "")
        if not sep:
            name, _, value = line.partition(" ")
        name, value = name.strip(), value.strip()
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise ValueError(f"{name!r} is not a header name")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out.append((name, value))
    if not out:
        raise ValueError("no header")
    return tuple(out)


def parse_colon_header_lines(text: str) -> tuple[tuple[str, str], ...]:
    """``Name: value`` (or ``Name value``) per line."""
    return parse_header_lines(text, colon=True)


def parse_choice(*values: str) -> Callable[[str], str]:
    """One of ``values``, compared case-insensitively (the controllers lower-case these)."""
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return value
    return parse


# What an annotation of each family changes in a request's outcome (notes.ASPECTS), for both
# controllers' tables; a family not listed changes nothing verify can see.
FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"path"}),
    "redirect": frozenset({"status", "redirect"}),
    "tls": frozenset({"status", "redirect"}),
    "headers": frozenset({"headers"}),
    "proxy": frozenset({"host"}),
    "access": frozenset({"status", "auth"}),
    "auth": frozenset({"status", "auth"}),
    "mtls": frozenset({"status", "auth"}),
    "waf": frozenset({"status", "auth"}),
    "ratelimit": frozenset({"status"}),
    "body": frozenset({"status"}),
    "cors": frozenset({"cors"}),
    "affinity": frozenset({"headers"}),
    "errors": frozenset({"status"}),
    "snippet": frozenset({"status", "backend", "redirect", "path", "host", "headers", "cors", "auth"}),
}


def parse_header_names(text: str) -> tuple[str, ...]:
    """Header names, separated by commas, spaces or lines."""
    names = tuple(n for n in re.split(r"[\s,]+", text.strip()) if n)
    if not names:
        raise ValueError("no header")
    return names


def parse_ip_list(text: str) -> tuple[IPNetwork, ...]:
    """Addresses and CIDRs separated by commas (spaces allowed); a pattern file the controller
    reads from its own disk cannot be read here."""
    value = text.strip()
    if value.startswith(("pattern", "patterns/")) or "/" in value and not any(c.isdigit() for c in value.split("/")[0]):
        raise ValueError("a pattern file on the controller's disk; list the addresses inline")
    return parse_cidrs(",".join(p.strip() for p in value.split(",") if p.strip()))


def parse_status_in(codes: tuple[int, ...]) -> Callable[[str], int]:
    """A status code restricted to ``codes``."""
    def parse(text: str) -> int:
        value = parse_int(text.strip())
        if value not in codes:
            raise ValueError(f"must be one of {', '.join(map(str, codes))}")
        return value
    return parse
