"""A fast reader for the plain block YAML that manifests are written in, with libyaml behind it.

``kubectl``, Helm and most people write manifests in a small part of YAML: block mappings and
sequences (sequences under a key may sit at the key's column), plain scalars, quotes on one
line, ``{}`` and ``[]``, literal blocks (``|``, ``|-``), comments, ``---`` between documents.
:func:`read_stream` reads that part line by line, about three times faster than composing
nodes with libyaml, and gives the same objects and lines as :mod:`ing2gw.yamlio`'s composer.

It only reads what it is sure of. A document that uses anything else -- anchors, aliases,
tags, merge keys, flow collections with content, folded or indented blocks, scalars over
several lines, escapes, a duplicate key, indentation it does not expect -- is handed, alone,
to the full reader (``slow``) at its own lines. Directives, ``...``, tabs, carriage returns
and characters YAML does not allow send the whole stream there, and so does any error: the
message of a bad input is always the full reader's. Plain scalars are resolved by the same
function as the full reader's (``yamlio._plain_scalar``), so the two never differ on
``yes``/``on``/octal/timestamps. ``tests/test_yamlfast.py`` holds both readers equal on the
golden inputs, on generated manifests and on many mutations of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["Parsed", "Span", "read_stream"]

# (object, 1-based line where the document's node starts, lines of its ``items`` entries)
Parsed = tuple[Any, int, list[int] | None]
# A document's text in the stream: (start offset, end offset, 1-based line of the start)
Span = tuple[int, int, int]

_MARKER = re.compile(r"^---(?=[ \n]|\Z)", re.M)
# Whole-stream features this reader leaves to the full one: directives, document ends, content
# after a document marker (tabs and carriage returns are looked for apart, faster).
_UNSURE = re.compile(r"\n(?:%|\.\.\.(?:[ \n]|\Z)|--- +[^ #\n])")
_ASCII_SAFE = bytes(range(0x20, 0x7F)) + b"\n"  # the ASCII characters that are plain text
# Characters libyaml accepts and treats as plain text (no BOM, no NEL/LS/PS line breaks).
_NOT_SAFE = re.compile("[^\n -~\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_CONTENT = re.compile(r"^ *[^ \n#]", re.M)  # a line with something but a comment
# Characters that cannot start a plain scalar here (a "-" followed by a non-space can).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_MAX_KEY = 1000  # libyaml refuses implicit keys over 1024 characters
# Scalars remembered per stream (their resolution, and one string object for equal values)
_MEMO_MAX = 50_000


class _Unsure(Exception):
    """The document uses YAML this reader does not read: the full reader takes it."""


def read_stream(text: str, plain: Callable[[str], Any],
                slow: Callable[[str], list[Parsed]]) -> tuple[list[Parsed], list[Span]] | None:
    """The documents of ``text`` as the full reader gives them, with the span of each, or
    None when the full reader must read the whole stream (it then also gives any error).
    ``plain`` resolves a plain scalar; ``slow`` reads one document's text (preceded by
    newlines to keep its lines) with the full reader."""
    if "\t" in text or "\r" in text or _UNSURE.search("\n" + text.partition("\n")[0]) or _UNSURE.search(text):
        return None
    if text.isascii():
        if text.encode().translate(None, _ASCII_SAFE):
            return None  # control characters
    elif _NOT_SAFE.search(text):
        return None
    starts = [m.start() for m in _MARKER.finditer(text)]
    pieces: list[Span] = []
    if not starts or _CONTENT.search(text, 0, starts[0]):
        pieces.append((0, starts[0] if starts else len(text), 1))
    line = 1 + text.count("\n", 0, starts[0]) if starts else 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        pieces.append((start, end, line))
        line += text.count("\n", start, end)
    out: list[Parsed] = []
    memo: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # resolved keys, values, by their text
    lines_seen: dict[str, Any] = {}
    for index, (start, end, first) in enumerate(pieces):
        chunk = text[start:end]
        skip = 1 if index or starts and start == starts[0] else 0  # the marker line
        try:
            out.append(_document(chunk.split("\n"), skip, first, plain, memo, lines_seen))
        except _Unsure:
            try:
                got = slow("\n" * (first - 1) + chunk)
            except Exception:  # noqa: BLE001 -- the whole stream tells the error
                return None
            if len(got) != 1:
                return None
            out.append(got[0])
    return out, pieces


class _Mark:
    """A value a line announces instead of holding it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_PENDING = _Mark("pending")  # "key:" with nothing after it: the value is on the next lines
_MAP = _Mark("{}")  # a new empty mapping
_SEQ = _Mark("[]")  # a new empty sequence
_CLIP = _Mark("|")  # a literal block on the next lines
_STRIP = _Mark("|-")
_NOKEY = _Mark("no key")  # a sequence item holding a scalar
_MISS = _Mark("miss")

# A content line: (column, is a "- " item, column of what follows "- ", key or _NOKEY, value or
# mark, the key is "items"); None for a blank or comment line.
_Token = tuple[int, bool, int, Any, Any, bool] | None


def _document(lines: list[str], skip: int, first: int, plain: Callable[[str], Any],
              memo: tuple[dict[str, Any], dict[str, Any]], seen: dict[str, Any]) -> Parsed:
    """One document's lines (``skip`` leading marker lines) -> (object, start line, item
    lines); ``seen`` remembers the tokens of lines met before (most lines repeat)."""
    stack: list[tuple[int, Any, bool]] = []  # open collections: (column, node, is a sequence)
    root: Any = None
    root_line = 0
    items_seq: list[Any] | None = None  # the root mapping's "items" sequence and its lines
    item_lines: list[int] | None = None
    pending: tuple[dict[Any, Any], Any, int, bool] | None = None  # (mapping, key, key column, "items")
    n = len(lines)
    i = skip
    while i < n:
        raw = lines[i]
        i += 1
        tok = seen.get(raw, _MISS)
        if tok is _MISS:
            tok = _token(raw, plain, memo)
            if len(seen) < _MEMO_MAX:
                seen[raw] = tok
        if tok is None:
            continue
        col, item, kcol, key, value, is_items = tok
        lineno = first + i - 1
        if pending is not None:
            mapping, pkey, pcol, p_items = pending
            pending = None
            if item and col >= pcol:
                node: Any = []
                if p_items:
                    items_seq, item_lines = node, []
                mapping[pkey] = node
                stack.append((col, node, True))
            elif col > pcol:
                node = {}
                mapping[pkey] = node
                stack.append((col, node, False))
        if not stack:
            if root_line or col:
                raise _Unsure  # content after the root node, or an indented root
            root_line = lineno
            root = [] if item else {}
            stack.append((col, root, item))
        top = stack[-1]
        while top[0] > col or (top[0] == col and top[2] and not item):
            stack.pop()
            if not stack:
                raise _Unsure
            top = stack[-1]
        if top[0] != col:
            raise _Unsure
        if item:
            if not top[2]:
                raise _Unsure
            seq = top[1]
            if seq is items_seq and item_lines is not None:
                item_lines.append(lineno)
            if key is _NOKEY:
                if type(value) is _Mark:
                    value, i = _fresh(value, lines, i, kcol)
                seq.append(value)
                continue
            mapping = {}
            seq.append(mapping)
            stack.append((kcol, mapping, False))
        elif top[2] or key is _NOKEY:
            raise _Unsure
        else:
            mapping = top[1]
        if key in mapping:
            raise _Unsure  # the full reader names the duplicate
        if value is _PENDING:
            mapping[key] = None
            pending = (mapping, key, kcol, is_items and len(stack) == 1)
            continue
        if type(value) is _Mark:
            if value is _SEQ and is_items and len(stack) == 1:
                item_lines = []
            value, i = _fresh(value, lines, i, kcol)
        mapping[key] = value
    if not root_line:
        raise _Unsure  # an empty document or a bare scalar: the full reader's answer
    return root, root_line, item_lines


def _fresh(mark: _Mark, lines: list[str], i: int, col: int) -> tuple[Any, int]:
    """The value a mark announces (a new empty collection, or a literal block read from
    ``lines[i:]``), and the index of the next line."""
    if mark is _MAP:
        return {}, i
    if mark is _SEQ:
        return [], i
    if mark is _CLIP or mark is _STRIP:
        return _literal(mark is _STRIP, lines, i, col)
    raise _Unsure  # an item with nothing after "- "


def _token(raw: str, plain: Callable[[str], Any], memo: tuple[dict[str, Any], dict[str, Any]]) -> _Token:
    text = raw.lstrip(" ")
    if not text or text[0] == "#":
        return None
    col = len(raw) - len(text)
    item = text[0] == "-" and (len(text) == 1 or text[1] == " ")
    kcol = col
    if item:
        rest = text[2:]
        text = rest.lstrip(" ")
        if not text or text[0] == "#" or (text[0] == "-" and (len(text) == 1 or text[1] == " ")):
            raise _Unsure  # an item on the next lines, or a sequence in a sequence
        kcol = col + 2 + len(rest) - len(text)
    end = _key_end(text)
    if end < 0:
        if not item:
            raise _Unsure  # a scalar where a key should be
        return col, True, kcol, _NOKEY, _value(text, plain, memo[1]), False
    keytext = text[:end]
    return (col, item, kcol, _key(keytext, plain, memo[0]), _value(text[end + 1:].lstrip(" "), plain, memo[1]),
            keytext == "items")


def _key_end(text: str) -> int:
    """Index of the ``:`` ending a one-line implicit key at the start of ``text``, or -1 when
    the line holds no key (a scalar)."""
    c = text[0]
    if c == "'" or c == '"':
        close = _quote_end(text)
        if close < 0:
            raise _Unsure  # a quoted scalar over several lines
        if text[close + 1:close + 2] == ":" and text[close + 2:close + 3] in ("", " "):
            return close + 1
        return -1  # _value checks what follows the quote
    end = text.find(": ")
    if end < 0:
        return len(text) - 1 if text[-1] == ":" else -1
    return end


def _quote_end(text: str) -> int:
    """Index of the quote closing the quoted scalar at the start of ``text``, or -1 when it
    does not close on this line."""
    q = text[0]
    if q == '"':
        end = text.find('"', 1)
        if "\\" in text[:end if end > 0 else len(text)]:
            raise _Unsure  # escapes
        return end
    pos = 1
    while True:
        end = text.find("'", pos)
        if end < 0 or text[end + 1:end + 2] != "'":
            return end
        pos = end + 2


def _key(text: str, plain: Callable[[str], Any], memo: dict[str, Any]) -> Any:
    hit = memo.get(text)
    if hit is not None:
        return hit
    if not text:
        raise _Unsure
    c = text[0]
    if c == "'" or c == '"':
        value: Any = _quoted(text)
    else:
        if c in _INDICATORS or text[-1] == " " or " #" in text or len(text) > _MAX_KEY or text == "<<":
            raise _Unsure
        value = plain(text)
    if type(value) is str and len(memo) < _MEMO_MAX:
        memo[text] = value
    return value


def _quoted(text: str) -> str:
    """The value of a one-line quoted scalar ``text`` (quotes included)."""
    if text[0] == '"':
        return text[1:-1]
    return text[1:-1].replace("''", "'")


def _value(text: str, plain: Callable[[str], Any], memo: dict[str, Any]) -> Any:
    """The value written at the end of a line (``text``, from its first character), or the
    mark of one written on the next lines."""
    if not text or text[0] == "#":
        return _PENDING
    hit = memo.get(text)
    if hit is not None:
        return hit
    c = text[0]
    if c == "'" or c == '"':
        close = _quote_end(text)
        if close < 0:
            raise _Unsure  # over several lines
        rest = text[close + 1:]
        if rest and (rest[0] != " " or rest.lstrip(" ")[:1] not in ("", "#")):
            raise _Unsure
        value: Any = _quoted(text[:close + 1])
    elif c in _INDICATORS:
        head = text.rstrip(" ")
        if head in ("{}", "[]", "|", "|-"):
            return {"{}": _MAP, "[]": _SEQ, "|": _CLIP, "|-": _STRIP}[head]
        if head.startswith(("{} #", "[] #")):
            return _MAP if c == "{" else _SEQ
        if c != "-" or len(text) < 2 or text[1] == " ":
            raise _Unsure
        value = _plain(text, plain)
    else:
        value = _plain(text, plain)
    if type(value) is str and len(memo) < _MEMO_MAX:
        memo[text] = value
    return value


def _plain(text: str, plain: Callable[[str], Any]) -> Any:
    cut = text.find(" #")
    body = (text if cut < 0 else text[:cut]).rstrip(" ")
    if ": " in body or body[-1] == ":":
        raise _Unsure  # a mapping where a scalar should be
    return plain(body)


def _literal(strip: bool, lines: list[str], i: int, col: int) -> tuple[str, int]:
    """A literal block scalar (``|``, or ``|-`` with ``strip``) after a key at ``col``: its
    text and the index of the first line after it."""
    n = len(lines)
    if i >= n or not lines[i].strip(" "):
        raise _Unsure  # leading blank lines: left to the full reader
    first = lines[i]
    indent = len(first) - len(first.lstrip(" "))
    if indent <= col:
        raise _Unsure  # an empty block
    body: list[str] = []
    last = i
    j = i
    while j < n:
        line = lines[j]
        if not line:
            body.append("")
            j += 1
            continue
        stripped = line.lstrip(" ")
        if not stripped:
            raise _Unsure  # a line of spaces only
        if len(line) - len(stripped) < indent:
            break
        body.append(line[indent:])
        j += 1
        last = j
    if last == n:
        raise _Unsure  # no line break after the last line (the end of the stream)
    del body[last - i:]
    text = "\n".join(body)
    return (text if strip else text + "\n"), last
