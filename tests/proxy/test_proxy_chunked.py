"""Chunked request bodies (issues #13 and #18): llhttp decodes them and stops exactly at the
body's end, so requests pipelined behind a chunked body -- in the same packet, or split at
any byte -- are answered in order; and a body limit policy holds for a chunked body (413
before the backend sees any of it), not only ``--max-body-bytes``. Over real sockets on
loopback, and on :class:`~ing2gw.proxy.stream.Wire` with every way of splitting the bytes."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import support
from hypothesis import given, settings
from hypothesis import strategies as st
from sockets import TIMEOUT, send_raw, status_of
from support import TESTDATA

from ing2gw.proxy import RunningProxy, ServeOptions, start_serve
from ing2gw.proxy.http1 import BODY_CHUNKED, HttpError
from ing2gw.proxy.stream import Wire, encode_chunk
from ing2gw.yamlio import parse_documents

PLUGIN = support.ROOT / "tests" / "plugins" / "policy_emitter"
CASE = TESTDATA / "router" / "policies"  # route shop/web has a 1024-byte body limit (TestPolicy web-body)
HOST = b"Host: web.example.com\r\n"


@pytest.fixture(scope="module")
def proxy() -> Iterator[RunningProxy]:
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(PLUGIN))  # the emitter that reads the TestPolicy objects
        docs = parse_documents((CASE / "gateway.yaml").read_text(), str(CASE / "gateway.yaml"))
        with start_serve(docs, ServeOptions(ephemeral=True, echo_backends=True, count_rate_limits=False)) as running:
            yield running


def _post(path: bytes, body: bytes, *, extra: bytes = b"") -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n" + extra + b"\r\n" + body


def _answers(data: bytes) -> list[tuple[int, dict[str, Any] | None]]:
    """(status, echo JSON or None) of each response in ``data``."""
    out = []
    for m in re.finditer(rb"HTTP/1\.1 (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n", data, re.S):
        length = int(re.search(rb"(?i)content-length: (\d+)", m.group(2)).group(1))  # type: ignore[union-attr]
        body = data[m.end():m.end() + length]
        out.append((int(m.group(1)), json.loads(body) if body.startswith(b"{") else None))
    return out


def test_requests_pipelined_behind_chunked_bodies(proxy: RunningProxy) -> None:
    data = (_post(b"/one", b"2;ext=a\r\nab\r\n1\r\nc\r\n0\r\nX-Trailer: t\r\n\r\n")
            + b"GET /two HTTP/1.1\r\n" + HOST + b"\r\n"
            + _post(b"/three", encode_chunk(b"x" * 700) + b"0\r\n\r\n")
            + b"POST /four HTTP/1.1\r\n" + HOST + b"Content-Length: 2\r\n\r\nhi"
            + b"GET /five HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
    answers = _answers(send_raw(proxy.ports[80], data))
    assert [(s, e["path"] if e else None, e["bodyLength"] if e else None) for s, e in answers] == [
        (200, "/one", 3), (200, "/two", 0), (200, "/three", 700), (200, "/four", 2), (200, "/five", 0)]


def test_pipelined_request_split_at_every_awkward_place(proxy: RunningProxy) -> None:
    """The body and the request behind it arrive in pieces: inside a size line, between the
    final CR and LF, with the next request's first bytes glued to the body's last ones."""
    pieces = [_post(b"/one", b"1"), b"0\r\n0123456789abcdef\r", b"\n0\r", b"\n\r", b"\nGE",
              b"T /two HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"]
    with socket.create_connection(("127.0.0.1", proxy.ports[80]), timeout=TIMEOUT) as s:
        for piece in pieces:
            s.sendall(piece)
            time.sleep(0.02)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    answers = _answers(out)
    assert [(s, e["path"], e["bodyLength"]) for s, e in answers if e] == [(200, "/one", 16), (200, "/two", 0)]


def test_malformed_chunked_body_is_400_and_nothing_behind_it_runs(proxy: RunningProxy) -> None:
    answer = send_raw(proxy.ports[80], _post(b"/one", b"5\r\nhelloXX0\r\n\r\n")
                      + b"GET /two HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status_of(answer) == 400 and b"llhttp" in answer and answer.count(b"HTTP/1.1 ") == 1


def test_body_limit_policy_holds_for_chunked_bodies(proxy: RunningProxy) -> None:
    at_limit = send_raw(proxy.ports[80], _post(b"/", encode_chunk(b"a" * 1000) + encode_chunk(b"b" * 24) + b"0\r\n\r\n",
                                               extra=b"Connection: close\r\n"))
    [(status, echo)] = _answers(at_limit)
    assert status == 200 and echo is not None and echo["bodyLength"] == 1024
    assert echo["headers"].get("Content-Length") == ["1024"]  # read whole, then sent with its length
    start = time.monotonic()
    over = send_raw(proxy.ports[80], _post(b"/", encode_chunk(b"a" * 1000) + encode_chunk(b"b" * 25) + b"0\r\n\r\n",
                                           extra=b"Connection: close\r\n"))
    assert status_of(over) == 413 and b"limit of 1024 bytes of TestPolicy shop/web-body" in over
    assert time.monotonic() - start < 2
    # a route without a body limit takes a larger chunked body
    other = send_raw(proxy.ports[80], b"POST / HTTP/1.1\r\nHost: ext.example.com\r\nAuthorization: Bearer x\r\n"
                                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                      + encode_chunk(b"z" * 5000) + b"0\r\n\r\n")
    assert [(s, e["bodyLength"] if e else None) for s, e in _answers(other)] == [(200, 5000)]


def test_large_chunked_upload_over_the_limit_gets_its_413(proxy: RunningProxy) -> None:
    """The refusal comes after 1 KiB; the client goes on sending 2 MiB and only then reads:
    the proxy drops the rest of the upload (lingering close) instead of resetting the
    connection, so the client sees the 413."""
    body = b"".join(encode_chunk(b"u" * 65536) for _ in range(32)) + b"0\r\n\r\n"
    answer = send_raw(proxy.ports[80], _post(b"/", body))
    assert status_of(answer) == 413


# -- the decoder on its own ------------------------------------------------------------------

def _decode_split(data: bytes, cuts: list[int]) -> tuple[bytes, bytes]:
    """Decode a chunked body that arrives in the pieces ``cuts`` makes; (body, bytes left)."""
    async def run() -> tuple[bytes, bytes]:
        reader = asyncio.StreamReader()
        points = sorted({0, *cuts, len(data)})
        for a, b in zip(points, points[1:], strict=False):
            reader.feed_data(data[a:b])
        reader.feed_eof()
        wire = Wire(reader)
        body = b"".join([p async for p in wire.body(BODY_CHUNKED)])
        return body, bytes(wire.buf) + await reader.read()
    return asyncio.run(run())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=6), st.binary(max_size=40),
       st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_decoder_stops_exactly_at_the_end(pieces: list[bytes], after: bytes, cuts: list[int]) -> None:
    encoded = b"".join(encode_chunk(p) for p in pieces) + b"0\r\nTrailer: x\r\n\r\n"
    body, left = _decode_split(encoded + after, cuts)
    assert body == b"".join(pieces)
    assert left == after


def test_decoder_refuses_what_llhttp_refuses() -> None:
    for bad in (b" 5\r\nhello\r\n0\r\n\r\n", b"5;a=\nb\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX"):
        with pytest.raises(HttpError) as err:
            _decode_split(bad, [3])
        assert err.value.status == 400
    with pytest.raises(HttpError) as err:
        _decode_split(b"0\r\n" + b"X-T: " + b"y" * 20000 + b"\r\n\r\n", [100])
    assert err.value.status == 431
    with pytest.raises(HttpError) as err:  # an endless chunk extension, never a line end
        _decode_split(b"5;" + b"e" * 30000, [5000, 10000, 15000, 20000, 25000])
    assert err.value.status == 400 and "longer than" in err.value.message
    # long chunk data without a line end is data, not framing
    assert _decode_split(encode_chunk(b"d" * 100_000) + b"0\r\n\r\n", [7, 70_000]) == (b"d" * 100_000, b"")
