"""nginx's view of a request URI: normalisation for matching, escaping for the upstream.

nginx matches locations (and runs ``rewrite``) on ``$uri``: the request path percent-decoded,
with ``//`` runs merged and ``.``/``..`` segments resolved, without the query. A path that
climbs above the root, or carries a broken or NUL escape, is a 400. When a rewrite changes
the URI, the proxy re-escapes it the way ``ngx_escape_uri(NGX_ESCAPE_URI)`` does -- only
space, ``#``, ``%``, ``?``, control and non-ASCII bytes -- and only if the client's URI
had escapes at all.
"""

from __future__ import annotations

__all__ = ["BadURI", "escape_uri", "normalise"]

_HEX = "0123456789abcdefABCDEF"
# bytes ngx_escape_uri(NGX_ESCAPE_URI) leaves alone: printable ASCII except space # % ?
_KEEP = frozenset(range(0x21, 0x7F)) - {ord("#"), ord("%"), ord("?")}


class BadURI(ValueError):
    """The request target nginx refuses with 400 Bad Request."""


def _decode(path: str) -> bytes:
    raw = path.encode("utf-8", "surrogateescape")
    if b"%" not in raw:
        return raw
    out = bytearray()
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x25:  # %
            pair = raw[i + 1 : i + 3].decode("latin-1")
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise BadURI(f"invalid percent escape in {path!r}")
            value = int(pair, 16)
            if value == 0:
                raise BadURI(f"escaped NUL byte in {path!r}")
            out.append(value)
            i += 3
        else:
            out.append(b)
            i += 1
    return bytes(out)


def normalise(path: str, merge_slashes: bool = True) -> str:
    """``$uri`` for a raw request path (no query): decoded, slashes merged, dots resolved.

    The result is a ``str`` holding the decoded bytes as latin-1 characters, so that
    byte-wise comparisons and regexes behave as nginx's do.
    """
    if not path.startswith("/"):
        raise BadURI(f"request path {path!r} does not start with /")
    if path.isascii() and "%" not in path and "//" not in path and "/." not in path:
        return path  # nothing to decode, merge or resolve (the common case)
    decoded = _decode(path).decode("latin-1")
    segments: list[str] = []
    parts = decoded.split("/")[1:]
    for index, seg in enumerate(parts):
        last = index == len(parts) - 1
        if seg == "" and merge_slashes and not last:
            continue
        if seg == ".":
            if last:
                segments.append("")
            continue
        if seg == "..":
            if not segments:
                raise BadURI(f"path {path!r} climbs above the root")
            segments.pop()
            if last:
                segments.append("")
            continue
        segments.append(seg)
    return "/" + "/".join(segments)


def escape_uri(uri: str) -> str:
    """Re-escape a (rewritten) ``$uri`` for the upstream request line."""
    out: list[str] = []
    for ch in uri:
        code = ord(ch)
        if code < 0x100 and code in _KEEP:
            out.append(ch)
        else:
            out.append(f"%{code & 0xFF:02X}")
    return "".join(out)
