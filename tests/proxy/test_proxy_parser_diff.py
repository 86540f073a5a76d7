"""The proxy's HTTP/1.1 parser against llhttp alone (issue #18): a hostile corpus (the audit's
shapes: smuggling, framing, tokens, line endings, versions, targets) and hypothesis-mutated
heads go to both. llhttp refusing what the proxy accepts would be a bug (the proxy parses
on llhttp); the proxy refusing what llhttp accepts must be one of the proxy's own rules,
each explained below. Chunked bodies decode the same fed to the proxy (llhttp, a line at a time,
so that it stops at the body's end) and fed to llhttp at once.
"""

from __future__ import annotations

import asyncio
import re

import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ing2gw.proxy.http1 import BODY_CHUNKED, HttpError, parse_request_head, parse_response_head
from ing2gw.proxy.limits import Limits
from ing2gw.proxy.stream import Wire

LIMITS = Limits(max_request_line=1024, max_header_bytes=4096, max_header_count=20)

# Where the proxy is stricter than llhttp, and why. Every disagreement must match one.
OWN_RULES: dict[str, str] = {
    r"malformed request line": "one space between method, target and version; llhttp "
                               "accepts several (a front proxy must not be laxer than what "
                               "is behind it)",
    r"HTTP version .* is not supported": "HTTP/1.0 and 1.1 only (505); llhttp also parses "
                                         "0.9 and 2.0 heads",
    r"missing Host header|more than one Host|invalid Host": "Host is required, once, and "
                                                             "well-formed (RFC 9112 §3.2)",
    r"absolute-form target": "absolute-form must name this listener's scheme and the Host",
    r"CONNECT and authority-form": "not a forward proxy (405)",
    r"asterisk-form": "OPTIONS * is not routed",
    r"Transfer-Encoding in an HTTP/1.0": "HTTP/1.0 has no chunked coding (RFC 9112 §6.1)",
    r"transfer coding .* is not supported": "only a lone chunked coding is forwarded (501)",
    r"unsupported Expect": "Expect other than 100-continue is 417",
    r"request line longer|request head larger|more than \d+ header fields": "size limits "
                                                                            "(414, 431)",
}


def llhttp_accepts(head: bytes, response: bool = False) -> bool:
    parser = httptools.HttpResponseParser(object()) if response else \
        httptools.HttpRequestParser(object())
    try:
        parser.feed_data(head + b"\r\n\r\n")
    except httptools.HttpParserUpgrade:
        return True
    except httptools.HttpParserError:
        return False
    return True


def ours(head: bytes) -> HttpError | None:
    try:
        parse_request_head(head, LIMITS)
    except HttpError as exc:
        return exc
    return None


def explain(head: bytes) -> str | None:
    """None when both agree; the reason when the proxy alone refuses; raises otherwise."""
    mine = ours(head)
    theirs = llhttp_accepts(head)
    if mine is None:
        assert theirs, f"the proxy accepted what llhttp refuses: {head!r}"
        return None
    if not theirs:
        return None  # both refuse
    for pattern, why in OWN_RULES.items():
        if re.search(pattern, mine.message):
            return why
    raise AssertionError(f"unexplained: the proxy refuses {head!r} ({mine.status} "
                         f"{mine.message}) and llhttp accepts it")


H = b"GET /a HTTP/1.1\r\nHost: a.example"
CORPUS: list[tuple[bytes, bool]] = [  # (head, the proxy accepts it)
    (H, True),
    (H + b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", False),
    (H + b"\r\nTransfer-Encoding: chunked\r\nContent-Length: 5", False),
    (H + b"\r\nContent-Length: 5\r\nContent-Length: 6", False),
    (H + b"\r\nContent-Length: 5\r\nContent-Length: 5", False),
    (H + b"\r\nContent-Length: 5, 5", False),
    (H + b"\r\nContent-Length: +5", False),
    (H + b"\r\nContent-Length: 0x5", False),
    (H + b"\r\nContent-Length: 99999999999999999999999", False),
    (H + b"\r\nContent-Length : 5", False),
    (H + b"\r\nTransfer-Encoding: chunked", True),
    (H + b"\r\nTransfer-Encoding: Chunked", True),
    (H + b"\r\nTransfer-Encoding: gzip, chunked", False),
    (H + b"\r\nTransfer-Encoding: chunked, identity", False),
    (H + b"\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked", False),
    (H + b"\r\nTransfer-Encoding: xchunked", False),
    (H + b"\r\nTransfer-Encoding:\x0bchunked", False),
    (H + b"\r\n Transfer-Encoding: chunked", False),
    (H + b"\r\nX: a\r\n folded", False),
    (H + b"\r\nX: a\nY: b", False),
    (H + b"\r\nX: a\rY: b", False),
    (H + b"\r\nX: \x00", False),
    (H + b"\r\nX: a\x7f", False),
    (H + b"\r\nX: caf\xc3\xa9", True),
    (H + b"\r\nX Y: a", False),
    (H + b"\r\n: a", False),
    (H + b"\r\nX\x80: a", False),
    (H + b"\r\nExpect: 100-continue", True),
    (H + b"\r\nExpect: magic", False),
    (H + b"\r\nConnection: close, X-Route", True),
    (H + b"\r\nHost: b.example", False),
    (b"GET /a HTTP/1.1\r\nHost: bad host", False),
    (b"GET /a HTTP/1.1\r\nX: 1", False),
    (b"GET http://a.example/x HTTP/1.1\r\nHost: a.example", True),
    (b"GET http://a.example/x HTTP/1.1", False),
    (b"GET http://a.example/x HTTP/1.0", True),
    (b"GET http://b.example/x HTTP/1.1\r\nHost: a.example", False),
    (b"GET https://a.example/x HTTP/1.1\r\nHost: a.example", False),
    (b"GET http://u@a.example/x HTTP/1.1\r\nHost: a.example", False),
    (b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443", False),
    (b"GET a.example:443 HTTP/1.1\r\nHost: a.example", False),
    (b"OPTIONS * HTTP/1.1\r\nHost: a.example", False),
    (b"GET  /a HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a  HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a HTTP/1.1 \r\nHost: a.example", False),
    (b"GET\t/a HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a b HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a\x00 HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a\xff HTTP/1.1\r\nHost: a.example", False),
    (b"GET /a HTTP/2.0\r\nHost: a.example", False),
    (b"GET /a HTTP/0.9\r\nHost: a.example", False),
    (b"GET /a HTTP/1.2\r\nHost: a.example", False),
    (b"GET /a http/1.1\r\nHost: a.example", False),
    (b"GET /a RTSP/1.0\r\nHost: a.example", False),
    (b"get /a HTTP/1.1\r\nHost: a.example", False),
    (b"G\x00T /a HTTP/1.1\r\nHost: a.example", False),
    (b"PURGE /a HTTP/1.1\r\nHost: a.example", True),
    (b"POST /a HTTP/1.0\r\nHost: a.example\r\nTransfer-Encoding: chunked", False),
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: a.example", False),
    (H + b"\r\n" + b"X: y\r\n" * 30 + b"Z: z", False),
    (H + b"\r\nX: " + b"v" * 5000, False),
    (b"GET /a\\..\\b HTTP/1.1\r\nHost: a.example", True),
    (b"GET /a%zz HTTP/1.1\r\nHost: a.example", True),  # refused later, by the router (400)
]


@pytest.mark.parametrize(("head", "accepted"), CORPUS, ids=[repr(h[:48]) for h, _ in CORPUS])
def test_hostile_corpus(head: bytes, accepted: bool) -> None:
    explain(head)  # every disagreement with llhttp has a reason
    assert (ours(head) is None) == accepted


def test_own_rules_are_all_exercised_by_the_corpus() -> None:
    used = {explain(head) for head, _ in CORPUS} - {None}
    assert used == set(OWN_RULES.values())


_NOISE = [b" ", b"\t", b"\r", b"\n", b"\r\n", b"\x00", b"\x7f", b"\xff", b":", b",", b";",
          b"a", b"/", b"%", b"\"", b"0", b"chunked", b"Host: a.example", b"Content-Length: 3",
          b"Transfer-Encoding: chunked", b"Expect: 100-continue", b"HTTP/1.0", b" HTTP/1.1"]
_BASES = [H, H + b"\r\nContent-Length: 3", H + b"\r\nTransfer-Encoding: chunked",
          b"POST http://a.example/p?q=1 HTTP/1.1\r\nHost: a.example\r\nX-A: 1"]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    head = bytearray(draw(st.sampled_from(_BASES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(head)))
        noise = draw(st.sampled_from(_NOISE))
        action = draw(st.sampled_from(("insert", "replace", "delete")))
        if action == "insert":
            head[at:at] = noise
        elif action == "replace":
            head[at:at + len(noise)] = noise
        else:
            del head[at:at + draw(st.integers(1, 3))]
    return bytes(head)


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_heads_agree_or_are_explained(head: bytes) -> None:
    if b"\r\n\r\n" in head or head.endswith((b"\r", b"\r\n")):
        return  # the head ends earlier: the connection loop cuts it there
    explain(head)


RESPONSES: list[tuple[bytes, bool]] = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2", True),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked", False),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n folded", False),
    (b"HTTP/1.1 200 OK\r\nX: a\nY: b", False),
    (b"HTTP/1.1 2000 OK", False),
    (b"HTTP/2.0 200 OK", False),  # not HTTP/1.x: the proxy's own rule
    (b"HTTP/1.1 200", True),
    (b"HTCPCP/1.0 418 I'm a teapot", False),
]


@pytest.mark.parametrize(("head", "accepted"), RESPONSES)
def test_response_heads(head: bytes, accepted: bool) -> None:
    try:
        parse_response_head(head, "GET")
        mine = True
    except HttpError as exc:
        assert exc.status == 502
        mine = False
    assert mine == accepted
    if mine:
        assert llhttp_accepts(head, response=True)
    elif llhttp_accepts(head, response=True):
        assert head.startswith(b"HTTP/2.0")  # the only rule of the proxy's own


CHUNKED: list[tuple[bytes, bytes | None]] = [  # body on the wire, decoded (None: refused)
    (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n", b"hello"),
    (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b" 5\r\nhello\r\n0\r\n\r\n", None),
    (b"5 \r\nhello\r\n0\r\n\r\n", None),
    (b"5;a=\nb\r\nhello\r\n0\r\n\r\n", None),
    (b"5\r\nhelloXX0\r\n\r\n", None),
    (b"0x5\r\nhello\r\n0\r\n\r\n", None),
    (b"-5\r\nhello\r\n0\r\n\r\n", None),
    (b"5\nhello\r\n0\r\n\r\n", None),
    (b"fffffffffffffffff\r\n", None),
]


def _decode(body: bytes) -> bytes | None:
    async def run() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(body)
        reader.feed_eof()
        return b"".join([p async for p in Wire(reader).body(BODY_CHUNKED)])
    try:
        return asyncio.run(run())
    except HttpError:
        return None
    except Exception:  # cut short
        return None


def _llhttp_decode(body: bytes) -> bytes | None:
    pieces: list[bytes] = []
    done: list[bool] = []

    class Sink:
        def on_body(self, data: bytes) -> None:
            pieces.append(bytes(data))

        def on_message_complete(self) -> None:
            done.append(True)

    parser = httptools.HttpRequestParser(Sink())
    try:
        parser.feed_data(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    except httptools.HttpParserError:
        return None
    return b"".join(pieces) if done else None


@pytest.mark.parametrize(("body", "decoded"), CHUNKED)
def test_chunked_bodies_agree_with_llhttp(body: bytes, decoded: bytes | None) -> None:
    assert _decode(body) == decoded
    assert _llhttp_decode(body) == decoded
