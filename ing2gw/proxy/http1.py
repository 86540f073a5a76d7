"""The HTTP/1.1 wire format, strictly: parse request and response heads, decide body
framing, and serialise heads. Pure functions over bytes (no sockets), so every smuggling
and size rule is testable on its own.

Heads are parsed by llhttp (through httptools), the parser Node.js and uvicorn use and
the world fuzzes: request and status lines, header tokens and values, line endings,
obs-fold, ``Content-Length`` syntax and duplicates, ``Content-Length`` together with
``Transfer-Encoding``. The proxy's own rules stay here, on top, because the proxy sits in
front of backends that may parse differently (RFC 9112 §6.3, §11.2): exactly one space
between the parts of a request line, HTTP/1.x only (505), Host (missing, repeated,
malformed), absolute-form (same host and scheme), CONNECT and authority-form (405),
asterisk-form, ``Expect`` (417), a transfer coding other than a lone ``chunked`` (400, 501
for an unknown coding before ``chunked``), ``Transfer-Encoding`` in HTTP/1.0, and the size
limits: over-long request lines get 414, over-large heads or too many fields 431.
``tests/proxy/test_proxy_parser_diff.py`` compares this parser with llhttp alone on a hostile
corpus and explains every disagreement.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import httptools

from .limits import Limits

__all__ = [
    "BODY_CHUNKED",
    "BODY_UNTIL_CLOSE",
    "HOP_BY_HOP",
    "HttpError",
    "RequestHead",
    "ResponseHead",
    "encode_head",
    "parse_request_head",
    "parse_response_head",
    "reason_phrase",
]

BODY_CHUNKED = -1  # body framing: chunked transfer coding
BODY_UNTIL_CLOSE = -2  # body framing (responses only): read until the connection closes

# Connection-level fields a proxy never forwards (RFC 9110 §7.6.1), besides those named
# in Connection.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "proxy-authenticate", "proxy-authorization",
})

_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]{0,5})?")
_REQUEST_SPECIAL = frozenset({"host", "content-length", "transfer-encoding", "connection",
                              "expect"})
_STATUS_LINE = re.compile(rb"HTTP/([0-9])\.([0-9]) [0-9]{3}(?: .*)?", re.S)

_REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
    421: "Misdirected Request", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Status")


class HttpError(Exception):
    """A request the proxy refuses: the status to answer and a one-line reason (logged and
    sent as the body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestHead(NamedTuple):
    """A parsed request head (a NamedTuple: one is built per distinct head, and tuples are
    several times cheaper to build than frozen dataclasses)."""

    method: str
    target: str  # origin-form: path and "?query" as sent
    version: str  # "1.0" | "1.1"
    headers: tuple[tuple[str, str], ...]  # as sent, minus nothing
    host: str  # the authority: the Host field, or the absolute-form target's
    body: int  # bytes of body, or BODY_CHUNKED
    keep_alive: bool
    expect_continue: bool
    hop_by_hop: frozenset[str] = HOP_BY_HOP  # lower-case names: HOP_BY_HOP and Connection's


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    reason: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: int  # bytes, BODY_CHUNKED or BODY_UNTIL_CLOSE
    keep_alive: bool


class _Collector:
    """What llhttp reports about one message head (its callbacks): the status line's
    reason (responses), the fields (unless the kind is ``"check"``: the head is only
    validated) and whether the message is complete."""

    __slots__ = ("status", "fields", "complete")

    def __init__(self) -> None:
        self.status = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.complete = False

    def reset(self) -> None:  # a "check" collector gathers nothing else
        self.complete = False

    def on_message_complete(self) -> None:
        self.complete = True


class _Fields(_Collector):
    __slots__ = ()

    def reset(self) -> None:
        self.status = b""
        self.fields = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))


class _Status(_Fields):
    __slots__ = ()

    def on_status(self, status: bytes) -> None:
        self.status += status


_Parser = httptools.HttpRequestParser | httptools.HttpResponseParser
_Kind = str  # "request" | "check" (a request head, validated only) | "response"


class _Parsers(threading.local):
    """One reusable llhttp parser per kind and thread (a parser can take the next head
    once the previous message is complete and kept alive; otherwise it is replaced).
    Fewer callbacks make a cheaper parser, so a head whose fields are already known is
    only checked (kind ``"check"``)."""

    def __init__(self) -> None:
        self.found: dict[_Kind, tuple[_Parser, _Collector]] = {}


_PARSERS = _Parsers()

# llhttp's messages for the classes of input it refuses; anything else is "malformed"
_LLHTTP_STATUS = {"HttpParserInvalidMethodError": "unknown or malformed method",
                  "HttpParserInvalidURLError": "invalid character in the request target",
                  "HttpParserInvalidStatusError": "malformed status line"}


def _llhttp(head: bytes, kind: _Kind, reusable: bool | None = None) -> tuple[_Parser, _Collector]:
    """Feed a head (and its blank line) to llhttp: framing, tokens, header syntax,
    Content-Length and Transfer-Encoding consistency, line endings. Raises
    :class:`HttpError` 400 with llhttp's reason. ``reusable``: whether the head is HTTP/1.1
    without a Connection field, when the caller knows (else it is looked for here)."""
    parsers = _PARSERS.found
    found = parsers.pop(kind, None)
    response = kind == "response"
    if found is None:
        collector: _Collector = _Status() if response else \
            _Fields() if kind == "request" else _Collector()
        parser: _Parser = (httptools.HttpResponseParser(collector) if response
                           else httptools.HttpRequestParser(collector))
    else:
        parser, collector = found
        collector.reset()
    try:
        parser.feed_data(head + b"\r\n\r\n")
    except httptools.HttpParserUpgrade:  # CONNECT or Upgrade: the head itself is complete
        collector.complete = False
    except httptools.HttpParserError as exc:
        detail = _LLHTTP_STATUS.get(type(exc).__name__) or str(exc) or "malformed message head"
        raise HttpError(400, f"{detail} (llhttp)") from None
    # llhttp refuses data after a message that ends the connection: reuse the parser only
    # after a complete HTTP/1.1 message without a Connection field
    if reusable is None:
        reusable = b"connection" not in head.lower() and (
            head.startswith(b"HTTP/1.1 ") if response
            else head.find(b" HTTP/1.1\r\n") > 0 or head.endswith(b" HTTP/1.1"))
    if collector.complete and reusable:
        parsers[kind] = (parser, collector) if found is None else found
    return parser, collector


def _decoded(collector: _Collector) -> list[tuple[str, str]]:
    # names are tokens (ASCII, llhttp checked); values any octets, without trailing OWS
    # (llhttp drops the leading one)
    return [(n.decode("ascii"), v.decode("latin-1").rstrip(" \t")) for n, v in collector.fields]


def _content_length(values: list[str]) -> int:
    # llhttp has refused empty, signed, non-decimal, listed and repeated lengths
    return int(values[0])


def _codings(values: list[str]) -> list[str]:
    return [c.strip().lower() for v in values for c in v.split(",") if c.strip()]


class _Block(NamedTuple):
    """What the header fields of a request head say, whatever its request line: decoded
    once per distinct block of fields (the request lines of kept-alive clients differ far
    more often than their fields) and checked against each request line."""

    fields: tuple[tuple[str, str], ...]
    hosts: tuple[str, ...]
    host_ok: bool  # the first Host value is a valid authority
    body: int  # from Content-Length / Transfer-Encoding (valid in HTTP/1.1)
    codings_error: str | None  # the 501 message for codings other than a lone chunked
    chunked: bool  # Transfer-Encoding is present
    connection: frozenset[str] | None  # Connection's tokens, lower-case
    hop_by_hop: frozenset[str]
    expect_continue: bool
    expect_bad: bool


_BLOCKS: dict[bytes, _Block] = {}
_BLOCK_ENTRIES = 512  # a full cache starts over
_BLOCK_BYTES = 4096  # larger blocks are not remembered


def _block(raw_fields: list[tuple[bytes, bytes]]) -> _Block:
    fields: list[tuple[str, str]] = []
    special: dict[str, list[str]] = {}
    for raw_name, raw_value in raw_fields:
        # names are tokens (ASCII, llhttp checked); values any octets, without trailing OWS
        name, value = raw_name.decode("ascii"), raw_value.decode("latin-1").rstrip(" \t")
        fields.append((name, value))
        low = name.lower()
        if low in _REQUEST_SPECIAL:
            special.setdefault(low, []).append(value)
    hosts = special.get("host", [])
    codings = special.get("transfer-encoding", [])
    lengths = special.get("content-length", [])
    connection = special.get("connection", [])
    expect = special.get("expect", [])
    body, codings_error = 0, None
    if codings:
        # llhttp has refused Content-Length with it, and a last coding other than chunked
        names = _codings(codings)
        if names != ["chunked"]:
            codings_error = f"transfer coding {', '.join(names[:-1])} is not supported"
        body = BODY_CHUNKED
    elif lengths:
        body = _content_length(lengths)
    tokens = frozenset(t.strip().lower() for v in connection for t in v.split(",")) \
        if connection else None
    expect_continue = any(v.strip().lower() == "100-continue" for v in expect)
    host_ok = bool(hosts) and _HOST.fullmatch(hosts[0]) is not None \
        and not hosts[0].startswith(":")
    return _Block(tuple(fields), tuple(hosts), host_ok, body, codings_error, bool(codings),
                  tokens, HOP_BY_HOP | tokens if tokens else HOP_BY_HOP, expect_continue,
                  bool(expect) and not expect_continue)


def parse_request_head(head: bytes, limits: Limits, scheme: str = "http") -> RequestHead:
    """Parse a request head (without the blank line that ends it). ``scheme`` is the
    listener's, which an absolute-form target must agree with.

    llhttp (httptools) parses the framing; the rules added here are the proxy's own: size
    limits (414, 431), exactly one space between the parts of the request line and HTTP/1.x
    only (505), Host, absolute-form, CONNECT and asterisk-form, Expect, transfer codings
    other than a lone ``chunked``. llhttp checks every head whole; what its fields say is
    decoded once per distinct block of fields (:class:`_Block`)."""
    cut = head.find(b"\r\n")
    line = head if cut < 0 else head[:cut]
    if len(line) > limits.max_request_line:
        raise HttpError(414, f"request line longer than {limits.max_request_line} bytes")
    if len(head) > limits.max_header_bytes:
        raise HttpError(431, f"request head larger than {limits.max_header_bytes} bytes")
    if head.count(b"\n") > limits.max_header_count:
        raise HttpError(431, f"more than {limits.max_header_count} header fields")
    shape = _REQUEST_LINE.fullmatch(line)
    if shape is None:
        raise HttpError(400, f"malformed request line {line[:60]!r}")
    raw_method, raw_target, major, minor = shape.groups()
    if major != b"1" or minor not in (b"0", b"1"):
        raise HttpError(505, f"HTTP version {major.decode()}.{minor.decode()}"
                             " is not supported")
    raw_block = b"" if cut < 0 else head[cut:]
    block = _BLOCKS.get(raw_block)
    _, collector = _llhttp(head, "request") if block is None else \
        _llhttp(head, "check", minor == b"1" and block.connection is None)
    if block is None:
        block = _block(collector.fields)
        if len(raw_block) <= _BLOCK_BYTES:
            if len(_BLOCKS) >= _BLOCK_ENTRIES:
                _BLOCKS.clear()
            _BLOCKS[raw_block] = block
    if len(block.fields) > limits.max_header_count:
        raise HttpError(431, f"more than {limits.max_header_count} header fields")
    if raw_target[:1] == b"/":  # origin-form: the verdict depends on method, version, fields
        key = (raw_method, minor, raw_block)
        known = _ORIGIN.get(key)
        if known is None:
            method = raw_method.decode("ascii")
            version = "1.1" if minor == b"1" else "1.0"
            host, _, keep_alive = _verdict(method, "/", version, block, scheme)
            known = method, version, host, keep_alive
            if len(raw_block) <= _BLOCK_BYTES:
                if len(_ORIGIN) >= _BLOCK_ENTRIES:
                    _ORIGIN.clear()
                _ORIGIN[key] = known
        method, version, host, keep_alive = known
        target = raw_target.decode("ascii")
    else:
        method = raw_method.decode("ascii")
        version = "1.1" if minor == b"1" else "1.0"
        host, target, keep_alive = _verdict(method, raw_target.decode("ascii"), version, block,
                                            scheme)
    return RequestHead(method, target, version, block.fields, host, block.body, keep_alive,
                       block.expect_continue, block.hop_by_hop)


# (method, minor version, fields) -> (method, version, host, keep-alive) of origin-form heads
_ORIGIN: dict[tuple[bytes, bytes, bytes], tuple[str, str, str, bool]] = {}


def _verdict(method: str, target: str, version: str, block: _Block,
             scheme: str) -> tuple[str, str, bool]:
    """The proxy's own rules on a head llhttp accepted: (host, origin-form target,
    keep-alive), or :class:`HttpError`."""
    hosts = block.hosts
    if method == "CONNECT" or (target[0] != "/" and "://" not in target and target != "*"):
        raise HttpError(405, "CONNECT and authority-form targets are refused: this is not a "
                             "forward proxy")
    if target == "*":
        raise HttpError(400, "asterisk-form targets are not served")
    if len(hosts) > 1:
        raise HttpError(400, "more than one Host header field")
    host = hosts[0] if hosts else ""
    host_ok = block.host_ok
    if target[0] != "/":
        if not hosts and version == "1.1":
            raise HttpError(400, "missing Host header (HTTP/1.1 requires it with an "
                                 "absolute-form target too)")
        t_scheme, _, rest = target.partition("://")
        authority, slash, path = rest.partition("/")
        if t_scheme.lower() != scheme:
            raise HttpError(400, f"absolute-form target with scheme {t_scheme!r} on an "
                                 f"{scheme} listener")
        if not authority or "@" in authority:
            raise HttpError(400, "absolute-form target without a plain authority")
        if host and authority.lower() != host.lower():
            raise HttpError(400, f"absolute-form target for host {authority!r} differs from "
                                 f"Host {host!r}: this is not a forward proxy")
        host = authority
        host_ok = _HOST.fullmatch(host) is not None and not host.startswith(":")
        target = slash + path if slash else "/" + path
    if not host:
        raise HttpError(400, "missing Host header")
    if not host_ok:
        raise HttpError(400, f"invalid Host {host[:60]!r}")

    if block.chunked:
        if version == "1.0":
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if block.codings_error is not None:
            raise HttpError(501, block.codings_error)
    tokens = block.connection
    if tokens is not None:
        keep_alive = "close" not in tokens if version == "1.1" else "keep-alive" in tokens
    else:
        keep_alive = version == "1.1"
    if block.expect_bad:
        raise HttpError(417, "unsupported Expect value")
    return host, target, keep_alive


def parse_response_head(head: bytes, request_method: str) -> ResponseHead:
    """Parse a backend's response head (llhttp); raises :class:`HttpError` (502) when
    malformed or not HTTP/1.x."""
    line, _, _ = head.partition(b"\r\n")
    m = _STATUS_LINE.fullmatch(line)
    if m is None or m.group(1) != b"1" or m.group(2) not in (b"0", b"1"):
        raise HttpError(502, f"malformed status line {line[:60]!r} from the backend")
    try:
        parser, collector = _llhttp(head, "response")
    except HttpError as exc:
        raise HttpError(502, f"backend sent {exc.message}") from None
    assert isinstance(parser, httptools.HttpResponseParser)
    fields = _decoded(collector)
    version = "1.1" if m.group(2) == b"1" else "1.0"
    status = parser.get_status_code()
    reason = collector.status.decode("latin-1")
    lengths: list[str] = []
    codings: list[str] = []
    connection: list[str] = []
    special = {"content-length": lengths, "transfer-encoding": codings,
               "connection": connection}
    for name, value in fields:
        found = special.get(name.lower())
        if found is not None:
            found.append(value)
    if connection:
        tokens = {t.strip().lower() for v in connection for t in v.split(",")}
        keep_alive = "close" not in tokens if version == "1.1" else "keep-alive" in tokens
    else:
        keep_alive = version == "1.1"
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        body = 0
    elif codings:
        if _codings(codings)[-1:] != ["chunked"]:
            body, keep_alive = BODY_UNTIL_CLOSE, False
        else:
            body = BODY_CHUNKED
    elif lengths:
        body = _content_length(lengths)
    else:
        body, keep_alive = BODY_UNTIL_CLOSE, False
    return ResponseHead(status, reason, version, tuple(fields), body, keep_alive)


def encode_head(first_line: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """A message head with its terminating blank line. Values were validated on the way in
    (or come from the router's configuration); CR and LF are dropped defensively."""
    parts = [first_line]
    for name, value in headers:
        if "\r" in value or "\n" in value:
            value = value.replace("\r", " ").replace("\n", " ")
        parts.append(f"{name}: {value}")
    parts.append("\r\n")
    return "\r\n".join(parts).encode("latin-1", "replace")
