"""The HTTP/1.1 wire format, strictly: parse request and response heads, decide body
framing, and serialise heads. Pure functions over bytes (no sockets), so every smuggling
and size rule is testable on its own.

Strictness is deliberate, because the proxy sits in front of backends that may parse
differently (RFC 9112 §6.3, §11.2): a request with both ``Content-Length`` and
``Transfer-Encoding``, differing ``Content-Length`` values, a transfer coding other than a
lone ``chunked``, obs-fold continuation lines, whitespace before a field's colon, bare CR
or LF, or control characters is refused with 400 (501 for an unknown transfer coding)
instead of being "repaired". Over-long request lines get 414 and over-large heads 431.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]{0,5})?")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.([0-9])")
_REQUEST_SPECIAL = frozenset({"host", "content-length", "transfer-encoding", "connection",
                              "expect"})
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([\x09\x20-\x7e\x80-\xff]*))?")

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


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str  # origin-form: path and "?query" as sent
    version: str  # "1.0" | "1.1"
    headers: tuple[tuple[str, str], ...]  # as sent, minus nothing
    host: str  # the authority: the Host field, or the absolute-form target's
    body: int  # bytes of body, or BODY_CHUNKED
    keep_alive: bool
    expect_continue: bool


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    reason: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: int  # bytes, BODY_CHUNKED or BODY_UNTIL_CLOSE
    keep_alive: bool


_FIELD = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*"
_FIELD_BLOCK = re.compile(rb"(?:" + _FIELD + rb"\r\n)*" + _FIELD)


def _fields_fast(block: bytes) -> list[tuple[str, str]] | None:
    """All fields at once when the block is well-formed (the common case): one regex
    check of the whole block, then plain splits. ``None`` sends the caller to the
    line-by-line parse, which names the problem."""
    if not block:
        return []
    if _FIELD_BLOCK.fullmatch(block) is None:
        return None
    text = block.decode("latin-1")  # names are tokens (ASCII), values any octets
    return [(n, v.strip(" \t")) for n, _, v in (line.partition(":")
                                                for line in text.split("\r\n"))]


def _fields(lines: list[bytes], limits: Limits | None) -> list[tuple[str, str]]:
    if limits is not None and len(lines) > limits.max_header_count:
        raise HttpError(431, f"more than {limits.max_header_count} header fields")
    out: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        if line[0] in b" \t":
            raise HttpError(400, "obsolete line folding (obs-fold) in the header section")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name):
            raise HttpError(400, f"malformed header field {line[:40]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise HttpError(400, f"control character in header field {name.decode()!r}")
        out.append((name.decode("ascii"), value.decode("latin-1")))
    return out


def _split_lines(head: bytes) -> list[bytes]:
    lines = head.split(b"\r\n")
    for line in lines:
        if b"\r" in line or b"\n" in line:
            raise HttpError(400, "bare CR or LF in the message head")
    return lines


def _content_length(values: list[str]) -> int:
    seen: set[str] = set()
    for value in values:
        for part in value.split(","):
            seen.add(part.strip())
    if len(seen) != 1:
        raise HttpError(400, "conflicting Content-Length values")
    (text,) = seen
    if not text.isdigit() or not text.isascii() or len(text) > 18:
        raise HttpError(400, f"invalid Content-Length {text!r}")
    return int(text)


def _codings(values: list[str]) -> list[str]:
    return [c.strip().lower() for v in values for c in v.split(",") if c.strip()]


def parse_request_head(head: bytes, limits: Limits, scheme: str = "http") -> RequestHead:
    """Parse a request head (without the blank line that ends it). ``scheme`` is the
    listener's, which an absolute-form target must agree with."""
    line, _, block = head.partition(b"\r\n")
    fast = _fields_fast(block)
    if fast is None or b"\n" in line or b"\r" in line:
        lines = _split_lines(head)
        fast = _fields(lines[1:], limits)
    if len(line) > limits.max_request_line:
        raise HttpError(414, f"request line longer than {limits.max_request_line} bytes")
    if len(head) > limits.max_header_bytes:
        raise HttpError(431, f"request head larger than {limits.max_header_bytes} bytes")
    quick = _REQUEST_LINE.fullmatch(line)  # the common case in one match
    if quick is not None:
        method = quick.group(1).decode("ascii")
        target = quick.group(2).decode("ascii")
        version = "1.1" if quick.group(3) != b"0" else "1.0"
    else:
        parts = line.split(b" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not _TARGET.fullmatch(parts[1]):
            raise HttpError(400, f"malformed request line {line[:60]!r}")
        raw_method, raw_target, raw_version = parts
        ver = _VERSION.fullmatch(raw_version)
        if ver is None:
            raise HttpError(400, f"malformed HTTP version {raw_version[:20]!r}")
        if ver.group(1) != b"1":
            raise HttpError(505, f"HTTP version {raw_version.decode()} is not supported")
        version = "1.1" if ver.group(2) != b"0" else "1.0"
        method = raw_method.decode("ascii")
        target = raw_target.decode("ascii")
    fields = fast
    if len(fields) > limits.max_header_count:
        raise HttpError(431, f"more than {limits.max_header_count} header fields")

    special: dict[str, list[str]] = {}
    for name, value in fields:
        low = name.lower()
        if low in _REQUEST_SPECIAL:
            special.setdefault(low, []).append(value)
    hosts = special.get("host", [])
    lengths = special.get("content-length", [])
    codings = special.get("transfer-encoding", [])
    connection = special.get("connection", [])
    expect = special.get("expect", [])

    if method == "CONNECT" or (not target.startswith("/") and "://" not in target
                               and target != "*"):
        raise HttpError(405, "CONNECT and authority-form targets are refused: this is not a "
                             "forward proxy")
    if target == "*":
        raise HttpError(400, "asterisk-form targets are not served")
    if len(hosts) > 1:
        raise HttpError(400, "more than one Host header field")
    host = hosts[0] if hosts else ""
    if not target.startswith("/"):
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
        target = slash + path if slash else "/" + path
    if not host:
        raise HttpError(400, "missing Host header")
    if not _HOST.fullmatch(host) or host.startswith(":"):
        raise HttpError(400, f"invalid Host {host[:60]!r}")

    body = 0
    if codings:
        if version == "1.0":
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if lengths:
            raise HttpError(400, "both Content-Length and Transfer-Encoding (request smuggling "
                                 "attempt?)")
        names = _codings(codings)
        if names != ["chunked"]:
            if names and names[-1] == "chunked":
                raise HttpError(501, f"transfer coding {', '.join(names[:-1])} is not supported")
            raise HttpError(400, "Transfer-Encoding without a final chunked coding")
        body = BODY_CHUNKED
    elif lengths:
        body = _content_length(lengths)

    if connection:
        tokens = {t.strip().lower() for v in connection for t in v.split(",")}
        keep_alive = "close" not in tokens if version == "1.1" else "keep-alive" in tokens
    else:
        keep_alive = version == "1.1"
    expect_continue = any(v.strip().lower() == "100-continue" for v in expect)
    if expect and not expect_continue:
        raise HttpError(417, "unsupported Expect value")
    return RequestHead(method, target, version, tuple(fields), host, body, keep_alive,
                       expect_continue)


def parse_response_head(head: bytes, request_method: str) -> ResponseHead:
    """Parse a backend's response head; raises :class:`HttpError` (502) when malformed."""
    try:
        line, _, block = head.partition(b"\r\n")
        m = _STATUS_LINE.fullmatch(line)
        if m is None:
            raise HttpError(502, f"malformed status line {line[:60]!r} from the backend")
        fast = _fields_fast(block)
        fields = fast if fast is not None else _fields(_split_lines(head)[1:], None)
    except HttpError as exc:
        raise HttpError(502, exc.message) from None
    version = "1.1" if m.group(1) == b"1" else "1.0"
    status = int(m.group(2))
    reason = (m.group(3) or b"").decode("latin-1")
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
        try:
            body = _content_length(lengths)
        except HttpError as exc:
            raise HttpError(502, f"backend sent {exc.message}") from None
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
