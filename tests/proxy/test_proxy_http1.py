"""The proxy's HTTP/1.1 parsing and framing without sockets, GEP-2257 durations, and the
``serve`` command's option handling (without serving)."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ing2gw.cli.serve import serve
from ing2gw.proxy.http1 import (
    BODY_CHUNKED,
    BODY_UNTIL_CLOSE,
    HttpError,
    encode_head,
    parse_request_head,
    parse_response_head,
)
from ing2gw.proxy.limits import Limits, parse_duration
from ing2gw.proxy.stream import Wire, encode_chunk

LIMITS = Limits()


def test_durations() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1h30m") == 5400
    assert parse_duration("0s") == 0
    assert parse_duration("1.5s") is None
    assert parse_duration("1s1s1s1s1s") is None
    assert parse_duration("") is None


def test_request_head_fields() -> None:
    head = parse_request_head(b"POST /a?b=1 HTTP/1.1\r\nHost: Shop.Example:8080\r\n"
                              b"Content-Length: 12\r\nX-Multi: 1\r\nX-Multi: 2", LIMITS)
    assert (head.method, head.target, head.version) == ("POST", "/a?b=1", "1.1")
    assert head.host == "Shop.Example:8080" and head.body == 12 and head.keep_alive
    assert [v for n, v in head.headers if n == "X-Multi"] == ["1", "2"]


def test_keep_alive_rules() -> None:
    assert not parse_request_head(b"GET / HTTP/1.0\r\nHost: a", LIMITS).keep_alive
    assert parse_request_head(b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive",
                              LIMITS).keep_alive
    assert not parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close",
                                  LIMITS).keep_alive


def test_chunked_and_repeated_equal_lengths() -> None:
    assert parse_request_head(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked",
                              LIMITS).body == BODY_CHUNKED
    with pytest.raises(HttpError):  # a list of equal lengths: llhttp refuses it
        parse_request_head(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3", LIMITS)


@pytest.mark.parametrize(("head", "status"), [
    (b"GET / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: \x00", 400),
    (b"GET  / HTTP/1.1\r\nHost: a", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic", 417),
    (b"GET https://a/ HTTP/1.1\r\nHost: a", 400),  # scheme of another listener
    (b"OPTIONS * HTTP/1.1\r\nHost: a", 400),
])
def test_refused_heads(head: bytes, status: int) -> None:
    with pytest.raises(HttpError) as err:
        parse_request_head(head, LIMITS)
    assert err.value.status == status


def test_response_framing() -> None:
    assert parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5", "GET").body == 5
    assert parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5", "HEAD").body == 0
    assert parse_response_head(b"HTTP/1.1 204 No Content", "GET").body == 0
    chunked = parse_response_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "GET")
    assert chunked.body == BODY_CHUNKED and chunked.keep_alive
    close = parse_response_head(b"HTTP/1.0 200 OK", "GET")
    assert close.body == BODY_UNTIL_CLOSE and not close.keep_alive
    with pytest.raises(HttpError) as err:
        parse_response_head(b"HTCPCP/1.0 418", "GET")
    assert err.value.status == 502


def _read_body(data: bytes, framing: int) -> bytes:
    async def run() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        wire = Wire(reader)
        return b"".join([p async for p in wire.body(framing)])
    return asyncio.run(run())


@given(st.lists(st.binary(min_size=1, max_size=50), max_size=8))
def test_chunked_round_trip(pieces: list[bytes]) -> None:
    encoded = b"".join(encode_chunk(p) for p in pieces) + b"0\r\nTrailer: x\r\n\r\n"
    assert _read_body(encoded, BODY_CHUNKED) == b"".join(pieces)


def test_head_reading_limits() -> None:
    async def run(data: bytes) -> bytes | None:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await Wire(reader).read_head(100, 300)
    assert asyncio.run(run(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")) == b"GET / HTTP/1.1\r\nHost: a"
    assert asyncio.run(run(b"")) is None
    for data, status in ((b"G" * 200, 414), (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 60, 431)):
        with pytest.raises(HttpError) as err:
            asyncio.run(run(data))
        assert err.value.status == status


def test_encode_head_neutralises_line_breaks() -> None:
    out = encode_head("HTTP/1.1 200 OK", [("X", "a\r\nInjected: 1")])
    assert out.count(b"\r\n") == 3 and b"\r\nInjected" not in out


def test_serve_command_rejects_bad_options(tmp_path: object) -> None:
    runner = CliRunner()
    result = runner.invoke(serve, ["-f", "-", "--tls-cert", "nocomma"], input="")
    assert result.exit_code != 0 and "HOST=CERT,KEY" in str(result.exception)
    result = runner.invoke(serve, ["-f", "-", "--listen", "abc"], input="")
    assert "[ADDR:]PORT[=GATEWAY_PORT]" in str(result.exception)
    result = runner.invoke(serve, ["-f", "-"], input="")
    assert "no Gateway listener" in str(result.exception)


def _verdict(head: bytes) -> object:
    try:
        return parse_request_head(head, LIMITS)
    except HttpError as exc:
        return exc.status, exc.message


@pytest.mark.parametrize("fields", [
    b"\r\nHost: a.example",
    b"\r\nHost: a.example\r\nTransfer-Encoding: chunked",
    b"\r\nHost: a.example\r\nConnection: keep-alive, X-Route",
    b"\r\nHost: a.example\r\nExpect: magic",
    b"\r\nHost: bad host",
    b"\r\nHost: a.example\r\nHost: b.example",
])
def test_fields_remembered_per_block_are_checked_against_every_request_line(fields: bytes) -> None:
    """Fields are decoded once per distinct block; the verdict still depends on the request
    line (method, version, target form) and never on which line came first."""
    lines = [b"GET /a HTTP/1.1", b"GET /b?x=1 HTTP/1.0", b"CONNECT /a HTTP/1.1",
             b"GET http://a.example/c HTTP/1.1", b"GET * HTTP/1.1", b"POST /d HTTP/1.1"]
    first = [_verdict(line + fields) for line in lines]
    again = [_verdict(line + fields) for line in reversed(lines)][::-1]
    assert first == again
    te = b"Transfer-Encoding" in fields
    assert (first[1] == (400, "Transfer-Encoding in an HTTP/1.0 request")) == te
    assert first[2] == (405, "CONNECT and authority-form targets are refused: this is not a "
                             "forward proxy")
    if fields == b"\r\nHost: a.example":
        assert first[0] == parse_request_head(b"GET /a HTTP/1.1" + fields, LIMITS)
        head = first[1]
        assert isinstance(head, tuple) and head[1] == "/b?x=1" and head[2] == "1.0"
