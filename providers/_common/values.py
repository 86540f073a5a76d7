"""Generic value parsers every provider shares: raw annotation text in, typed value out.

The readings here are the ones Kubernetes controllers written in Go have in common:
booleans and integers as ``strconv`` reads them, sizes such as ``10k`` or ``1m``, whole
seconds, comma-separated lists and CIDR lists, ``namespace/name`` object references and
Kubernetes object names. Each parser raises ``ValueError`` with a short reason for a value
the controller would reject. Controller-specific syntax (nginx time values, character-set
validators, enumerations) stays in the provider's own parser module, which builds on these.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "Duration",
    "IPNetwork",
    "ObjectRef",
    "Size",
    "parse_bool",
    "parse_cidrs",
    "parse_comma_list",
    "parse_int",
    "parse_nginx_time",
    "parse_non_negative_int",
    "parse_object_ref",
    "parse_positive_int",
    "parse_qualified_object_ref",
    "parse_seconds",
    "parse_service_name",
    "parse_size",
    "parse_trimmed",
    "parser_for_enum",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- scalars ---------------------------------------------------------------------------

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_GO_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_INT64 = 2**63


def parse_bool(text: str) -> bool:
    """A boolean as Go's ``strconv.ParseBool`` reads it (no surrounding spaces)."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise ValueError("not a boolean (use true or false)")


def parse_int(text: str) -> int:
    """An integer as Go's ``strconv.Atoi`` reads it: optional sign, ASCII digits only."""
    if not _GO_INT.fullmatch(text):
        raise ValueError("not an integer")
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise ValueError("integer out of range")
    return value


def parse_non_negative_int(text: str) -> int:
    value = parse_int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def parse_positive_int(text: str) -> int:
    value = parse_int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def parse_trimmed(text: str) -> str:
    """A string as controllers read it: every line trimmed; empty is an error."""
    value = "\n".join(line.strip() for line in text.split("\n")).strip()
    if not value:
        raise ValueError("empty value")
    return value


E = TypeVar("E", bound=enum.Enum)


def parser_for_enum(
    cls: type[E], *, case_sensitive: bool = True, what: str = ""
) -> Callable[[str], E]:
    """A parser accepting exactly the values of a string enum (after trimming)."""
    by_value = {
        (str(m.value) if case_sensitive else str(m.value).lower()): m for m in cls
    }
    choices = ", ".join(str(m.value) for m in cls)

    def parse(text: str) -> E:
        value = text.strip()
        member = by_value.get(value if case_sensitive else value.lower())
        if member is None:
            raise ValueError(f"must be one of {choices}")
        return member

    parse.__name__ = f"parse_{what or cls.__name__.lower()}"
    parse.__doc__ = f"One of: {choices}."
    return parse


# --- sizes and durations ---------------------------------------------------------------

_SIZE = re.compile(r"([0-9]+)([kKmMgG]?)", re.ASCII)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True, slots=True)
class Size:
    """A size such as ``8k`` or ``1m``: the text as written and its value in bytes."""

    text: str
    bytes: int


def parse_size(text: str) -> Size:
    """A size: digits with an optional k/m/g suffix (either case), in bytes."""
    value = text.strip()
    m = _SIZE.fullmatch(value)
    if not m:
        raise ValueError("not an nginx size (digits with optional k, m or g)")
    return Size(value, int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


_GW_UNITS = (("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1))


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A time span, kept in milliseconds."""

    millis: int

    @classmethod
    def of_seconds(cls, seconds: int) -> Duration:
        return cls(seconds * 1000)

    @property
    def seconds(self) -> float:
        return self.millis / 1000

    def gateway(self) -> str:
        """The Gateway API duration string (``1h30m``, ``60s``, ``500ms``, ``0s``)."""
        if self.millis < 0:
            raise ValueError("negative duration")
        if self.millis == 0:
            return "0s"
        rest = self.millis
        parts: list[str] = []
        for unit, size in _GW_UNITS:
            count, rest = divmod(rest, size)
            if count:
                if count > 99_999:
                    raise ValueError("duration too long for Gateway API")
                parts.append(f"{count}{unit}")
        return "".join(parts)


# nginx's ngx_parse_time: components from largest to smallest unit, a bare number is seconds.
_NGINX_TIME_UNITS = {
    "y": 365 * 86_400_000,
    "M": 30 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
_NGINX_TIME_ORDER = list(_NGINX_TIME_UNITS)
_NGINX_TIME_PART = re.compile(r"\s*([0-9]+)(ms|[yMwdhms]?)\s*", re.ASCII)


def parse_nginx_time(text: str) -> Duration:
    """An nginx time value: ``30``, ``5m``, ``1h 30m``, ``500ms`` (units y M w d h m s ms)."""
    value = text.strip()
    if not value:
        raise ValueError("empty time")
    pos = 0
    total = 0
    last = -1
    while pos < len(value):
        m = _NGINX_TIME_PART.match(value, pos)
        if not m:
            raise ValueError("not an nginx time (e.g. 30s, 5m, 1h30m)")
        unit = m.group(2) or "s"
        rank = _NGINX_TIME_ORDER.index(unit)
        if rank <= last:
            raise ValueError("nginx time units must go from largest to smallest")
        last = rank
        total += int(m.group(1)) * _NGINX_TIME_UNITS[unit]
        pos = m.end()
        if not m.group(2) and pos < len(value):
            raise ValueError("a number without unit must come last")
    return Duration(total)


def parse_seconds(text: str) -> Duration:
    """A whole number of seconds (controllers read timeouts as plain integers)."""
    return Duration.of_seconds(parse_non_negative_int(text))


# --- lists -----------------------------------------------------------------------------


def parse_comma_list(text: str) -> tuple[str, ...]:
    """A comma-separated list: items trimmed, empty items dropped, at least one item."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise ValueError("empty list")
    return items


def parse_cidrs(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs or single addresses (host bits are masked, as Go's ParseCIDR does)."""
    value = parse_trimmed(text)
    networks: list[IPNetwork] = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            raise ValueError("empty entry in address list")
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR") from None
    return tuple(networks)


# --- names and references --------------------------------------------------------------

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_DNS1123_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?", re.ASCII)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A reference to a Secret or ConfigMap; ``namespace`` None means the Ingress's own."""

    namespace: str | None
    name: str

    def resolve(self, default_namespace: str) -> tuple[str, str]:
        return (self.namespace or default_namespace, self.name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def _object_ref(text: str, *, require_namespace: bool) -> ObjectRef:
    value = text.strip()
    parts = value.split("/")
    if len(parts) > 2 or (require_namespace and len(parts) != 2):
        raise ValueError("must be namespace/name" if require_namespace else "too many /")
    name = parts[-1]
    namespace = parts[0] if len(parts) == 2 else None
    if namespace is not None and (len(namespace) > 63 or not _DNS1123_LABEL.fullmatch(namespace)):
        raise ValueError(f"{namespace!r} is not a valid namespace")
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid object name")
    return ObjectRef(namespace, name)


def parse_object_ref(text: str) -> ObjectRef:
    """``name`` or ``namespace/name`` of a Secret or ConfigMap."""
    return _object_ref(text, require_namespace=False)


def parse_qualified_object_ref(text: str) -> ObjectRef:
    """``namespace/name`` of a Secret (the controller insists on both parts)."""
    return _object_ref(text, require_namespace=True)


def parse_service_name(text: str) -> str:
    """A Service name (DNS-1035 label), e.g. for a default backend."""
    value = text.strip()
    if len(value) > 63 or not _DNS1035_LABEL.fullmatch(value):
        raise ValueError("not a valid Service name")
    return value
