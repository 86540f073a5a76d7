"""The shared value parsers in providers._common.values: good values, bad values and the
exact reasons they give (the annotation table shows these reasons to users)."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable

import pytest

from ing2gw.providers._common import values as v


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("t", True), ("1", True),
     ("false", False), ("F", False), ("0", False)],
)
def test_bool_reads_like_go(text: str, expected: bool) -> None:
    assert v.parse_bool(text) is expected


@pytest.mark.parametrize("text", ["yes", "on", " true", "tRuE", ""])
def test_bool_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a boolean \(use true or false\)$"):
        v.parse_bool(text)


def test_int_reads_like_go_atoi() -> None:
    assert v.parse_int("+42") == 42
    assert v.parse_int("-7") == -7
    assert v.parse_int("007") == 7
    assert v.parse_int(str(2**63 - 1)) == 2**63 - 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [("4.5", "not an integer"), (" 4", "not an integer"), ("", "not an integer"),
     ("٣", "not an integer"), (str(2**63), "integer out of range")],
)
def test_int_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}$"):
        v.parse_int(text)


def test_int_bounds() -> None:
    assert v.parse_non_negative_int("0") == 0
    assert v.parse_positive_int("1") == 1
    with pytest.raises(ValueError, match="^must not be negative$"):
        v.parse_non_negative_int("-1")
    with pytest.raises(ValueError, match="^must be at least 1$"):
        v.parse_positive_int("0")


def test_trimmed() -> None:
    assert v.parse_trimmed("  a \n  b  \n") == "a\nb"
    with pytest.raises(ValueError, match="^empty value$"):
        v.parse_trimmed(" \n ")


class _Colour(enum.StrEnum):
    RED = "red"
    BLUE = "Blue"


def test_enum_parser() -> None:
    strict = v.parser_for_enum(_Colour)
    loose = v.parser_for_enum(_Colour, case_sensitive=False, what="colour")
    assert strict(" red ") is _Colour.RED
    assert loose("BLUE") is _Colour.BLUE
    assert loose.__name__ == "parse_colour"
    with pytest.raises(ValueError, match="^must be one of red, Blue$"):
        strict("blue")


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("512", 512), ("10k", 10 * 1024), ("1m", 1024**2), ("1M", 1024**2),
     (" 2g ", 2 * 1024**3)],
)
def test_size(text: str, size: int) -> None:
    parsed = v.parse_size(text)
    assert parsed.bytes == size
    assert parsed.text == text.strip()


@pytest.mark.parametrize("text", ["", "1.5m", "1mb", "m", "-1k", "1 k"])
def test_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an nginx size \(digits with optional k, m or g\)$"):
        v.parse_size(text)


def test_seconds_and_gateway_durations() -> None:
    assert v.parse_seconds("90") == v.Duration(90_000)
    assert v.parse_seconds("90").gateway() == "1m30s"
    assert v.Duration(0).gateway() == "0s"
    assert v.Duration(3_600_000 + 500).gateway() == "1h500ms"
    assert v.Duration(1500).seconds == 1.5
    with pytest.raises(ValueError, match="^must not be negative$"):
        v.parse_seconds("-5")
    with pytest.raises(ValueError, match="^negative duration$"):
        v.Duration(-1).gateway()
    with pytest.raises(ValueError, match="^duration too long for Gateway API$"):
        v.Duration(100_000 * 3_600_000).gateway()


def test_comma_list() -> None:
    assert v.parse_comma_list(" a, ,b ,") == ("a", "b")
    with pytest.raises(ValueError, match="^empty list$"):
        v.parse_comma_list(" , ")


def test_cidrs() -> None:
    assert v.parse_cidrs("10.0.0.1/8, 192.168.1.1,::1/128") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("::1/128"),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty value"), ("10.0.0.0/8,,1.2.3.4", "empty entry in address list"),
     ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or CIDR"),
     ("example.com", "'example.com' is not an IP address or CIDR")],
)
def test_cidrs_reject(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}$"):
        v.parse_cidrs(text)


def test_object_refs() -> None:
    own = v.parse_object_ref(" secret ")
    other = v.parse_object_ref("auth/basic.users")
    assert own == v.ObjectRef(None, "secret")
    assert own.resolve("team") == ("team", "secret")
    assert other.resolve("team") == ("auth", "basic.users")
    assert str(own) == "secret" and str(other) == "auth/basic.users"
    assert v.parse_qualified_object_ref("ns/ca") == v.ObjectRef("ns", "ca")


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [(v.parse_object_ref, "a/b/c", "too many /"),
     (v.parse_object_ref, "Bad/name", "'Bad' is not a valid namespace"),
     (v.parse_object_ref, "ns/under_score", "'under_score' is not a valid object name"),
     (v.parse_object_ref, "a" * 64 + "/x", f"'{'a' * 64}' is not a valid namespace"),
     (v.parse_qualified_object_ref, "justname", "must be namespace/name"),
     (v.parse_qualified_object_ref, "a/b/c", "must be namespace/name")],
)
def test_object_refs_reject(parse: Callable[[str], object], text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{reason}$"):
        parse(text)


def test_service_name() -> None:
    assert v.parse_service_name(" backend-1 ") == "backend-1"
    for bad in ("1backend", "back.end", "a" * 64, ""):
        with pytest.raises(ValueError, match="^not a valid Service name$"):
            v.parse_service_name(bad)
