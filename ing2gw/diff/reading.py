"""Reading the two sides of a diff: a document HEAD holds word for word as BASE does is parsed once.

BASE's files are parsed as usual, and each of their documents is remembered by its text: a
YAML stream splits into its documents at the lines starting with ``---`` (a document marker
at the start of a line ends whatever came before it, block scalars included). HEAD's files
are split the same way; a document whose text BASE had is the object BASE parsed, placed at
HEAD's line (its origin and field positions point into HEAD's file), and only the others are
parsed: joined in their order, in one call (a call per document costs about three times as
much), each placed back at its line. The documents are those of parsing HEAD's files whole:
``tests/diff/test_reading.py`` checks objects, origins and field lines on generated streams.

A large BASE stream (2000 documents or more), and HEAD's documents to parse when they are
that many, are parsed in two halves the same way, the second in a forked worker
(:mod:`.parallel`) while this process parses the first; its documents come back without
their field positions, which are placed here.

Streams this splitting is not sure for are parsed whole: JSON, directives (``%YAML``,
``%TAG``), document end markers (``...``), line breaks other than ``\\n`` and ``\\r\\n``, a
BASE stream whose documents do not fall one per piece, a piece that is not one document,
and pieces that fail to parse (the whole stream then gives the error, with its line).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from ..notes import Note
from ..sources import parse_file
from ..yamlio import Document, SourceText, parse_documents, read_text
from .parallel import both_sides

__all__ = ["Parse", "SharedParse"]

Parse = Callable[[bytes, str, list[Note] | None], list[Document]]  # as ing2gw.sources.parse_file

# Searched after a line break, not with ``^`` and re.M: a pattern with a literal start is
# found by a fast scan (a tenth of the time on a 7 MB stream).
_MARKER = re.compile(r"\n---(?=[ \t\r\n]|\Z)")  # and at the start of the text
_DIRECTIVE_OR_END = re.compile(r"\n(?:%|\.\.\.(?:[ \t\r\n]|\Z))")
_LONE_CR = re.compile(r"\r(?!\n)")
_OTHER_BREAK = re.compile(r"[\x85\u2028\u2029]")
_CONTENT = re.compile(r"^[ \t]*[^ \t\r\n#]", re.M)  # a line with something but a comment


def _unsure(text: str) -> bool:
    """Does the stream hold a directive, a document end marker or a line break other than
    ``\\n`` and ``\\r\\n`` (then it is not split by lines)?"""
    return bool(_DIRECTIVE_OR_END.match("\n" + text[:4]) or _DIRECTIVE_OR_END.search(text)
                or ("\r" in text and _LONE_CR.search(text))
                or (not text.isascii() and _OTHER_BREAK.search(text)))


def _pieces(text: str) -> list[tuple[int, str]] | None:
    """``(first line, text)`` of each document of a YAML stream, or None when the stream is
    not one to split by lines."""
    if text.lstrip().startswith(("{", "[")) or _unsure(text):
        return None
    starts = [m.start() + 1 for m in _MARKER.finditer(text)]
    if _MARKER.match("\n" + text[:4]):
        starts.insert(0, 0)
    out: list[tuple[int, str]] = []
    if not starts or _CONTENT.search(text, 0, starts[0]):  # a document before the first marker
        out.append((1, text[: starts[0]] if starts else text))
    line = 1 + text.count("\n", 0, starts[0]) if starts else 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        out.append((line, text[start:end]))
        line += text.count("\n", start, end)
    return out


def _line(origin: str) -> int:
    return int(origin.rsplit(":", 1)[1])


class SharedParse:
    """Parses BASE's files (:meth:`base`) and then HEAD's (:meth:`head`), reusing BASE's
    objects for documents HEAD has unchanged. Each method has :func:`ing2gw.sources.parse_file`'s
    signature."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[dict[str, Any], int]] = {}  # piece text -> (object, line in the piece)

    def base(self, data: bytes, label: str, skipped: list[Note] | None = None) -> list[Document]:
        if skipped is not None:
            return parse_file(data, label, skipped)
        text = read_text(data, label)
        pieces = _pieces(text)
        docs = _parse_halves(pieces, label, SourceText(text)) if pieces is not None and len(
            pieces) >= _WORTH_A_WORKER else None
        if docs is None:
            docs = parse_file(data, label, skipped)
        if not docs or pieces is None:
            return docs
        per_piece: dict[int, list[Document]] = {}
        for d in docs:
            if d.source is None:
                return docs  # an item of a List inside a List
            per_piece.setdefault(d.source[1], []).append(d)
        if max(per_piece) >= len(pieces):
            return docs
        for index, found in per_piece.items():
            first, text = pieces[index]
            last = first + text.count("\n")
            if any(not first <= _line(d.origin) <= last for d in found):
                return docs  # the pieces are not the stream's documents: remember nothing
        for index, found in per_piece.items():
            if len(found) == 1 and found[0].source is not None and found[0].source[2] == -1:
                first, text = pieces[index]
                self._known.setdefault(text, (found[0].obj, _line(found[0].origin) - first))
        return docs

    def head(self, data: bytes, label: str, skipped: list[Note] | None = None) -> list[Document]:
        if skipped is not None or not self._known:
            return parse_file(data, label, skipped)
        text = read_text(data, label)
        pieces = _pieces(text)
        if pieces is None:
            return parse_file(data, label, skipped)
        source = SourceText(text)
        found: dict[int, list[Document]] = {}
        unknown: list[int] = []
        for index, (first, piece) in enumerate(pieces):
            known = self._known.get(piece)
            if known is None:
                unknown.append(index)
            else:
                obj, offset = known
                found[index] = [Document(obj, f"{label}:{first + offset}", (source, index, -1))]
        if unknown:
            parsed = _parse_split(pieces, unknown, label)
            if parsed is None:
                return parse_file(data, label, skipped)  # the error (with its line) or the whole stream's documents
            for index, d in _placed(parsed, source):
                found.setdefault(index, []).append(d)
        return [d for index in sorted(found) for d in found[index]]


# A stream of this many documents is parsed in two halves, one in a forked worker.
_WORTH_A_WORKER = 2000


def _parse_halves(pieces: list[tuple[int, str]], label: str, source: SourceText) -> list[Document] | None:
    """The documents of the whole stream (:func:`_parse_split`); None when a piece does not
    parse as pieces should."""
    parsed = _parse_split(pieces, list(range(len(pieces))), label)
    return None if parsed is None else [d for _, d in _placed(parsed, source)]


def _parse_split(pieces: list[tuple[int, str]], wanted: list[int], label: str) -> list[_Parsed] | None:
    """:func:`_parse_together`, the second half of many pieces in a forked worker while this
    process parses the first."""
    if len(wanted) < _WORTH_A_WORKER:
        return _parse_together(pieces, wanted, label)
    half = len(wanted) // 2
    theirs, ours = both_sides(lambda: _parse_together(pieces, wanted[half:], label),
                              lambda: _parse_together(pieces, wanted[:half], label), True)
    if theirs is None or ours is None:
        return None
    return ours + theirs


# A document parsed from a piece, light enough to come back from a worker:
# (piece index, object, origin, List item index or -1; None when it has no field positions)
_Parsed = tuple[int, dict[str, Any], str, int | None]


def _placed(parsed: list[_Parsed], source: SourceText) -> list[tuple[int, Document]]:
    return [(index, Document(obj, origin, (source, index, item) if item is not None else None))
            for index, obj, origin, item in parsed]


def _parse_together(pieces: list[tuple[int, str]], wanted: list[int], label: str) -> list[_Parsed] | None:
    """The documents of the pieces ``wanted`` (indexes into ``pieces``, ascending), parsed in
    one call, each placed at its piece's line in the stream. None when a piece fails to parse
    or is not one document (parse the stream whole then). Joined in order the pieces are a
    YAML stream of one document each: every piece but the first of a stream starts with a
    marker, and every piece but the stream's last ends with a line break."""
    starts: list[int] = []  # line of each wanted piece in the joined text
    line = 1
    for index in wanted:
        starts.append(line)
        line += pieces[index][1].count("\n")
    try:
        parsed = parse_documents("".join(pieces[index][1] for index in wanted), label)
    except InputError:
        return None
    out: list[_Parsed] = []
    for d in parsed:
        at = _line(d.origin)
        k = bisect.bisect_right(starts, at) - 1
        if k < 0 or (d.source is not None and d.source[1] != k):
            return None  # not one document per piece
        index = wanted[k]
        out.append((index, d.obj, f"{label}:{pieces[index][0] + at - starts[k]}",
                    d.source[2] if d.source is not None else None))
    return out
