"""Reading the two sides of a diff: a document HEAD holds word for word as BASE does is parsed once.

BASE's files are parsed as usual, and each of their documents is remembered by its text: a
YAML stream splits into its documents at the lines starting with ``---`` (a document marker
at the start of a line ends whatever came before it, block scalars included). HEAD's files
are split the same way; a document whose text BASE had is the object BASE parsed, placed at
HEAD's line (its origin and field positions point into HEAD's file), and only the others are
parsed, one document each. The documents are those of parsing HEAD's files whole:
``tests/diff/test_reading.py`` checks objects, origins and field lines on generated streams.

Streams this splitting is not sure for are parsed whole: JSON, directives (``%YAML``,
``%TAG``), document end markers (``...``), line breaks other than ``\\n`` and ``\\r\\n``, a
BASE stream whose documents do not fall one per piece, a piece that is not one document,
and any piece that fails to parse (the whole stream then gives the error, with its line).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from ..notes import Note
from ..sources import parse_file
from ..yamlio import Document, _Text, parse_documents, read_text

__all__ = ["Parse", "SharedParse"]

Parse = Callable[[bytes, str, list[Note] | None], list[Document]]  # as ing2gw.sources.parse_file

_MARKER = re.compile(r"^---(?=[ \t\r\n]|\Z)", re.M)
_UNSURE = re.compile(r"^(?:%|\.\.\.(?:[ \t\r\n]|\Z))|\r(?!\n)|[\x85\u2028\u2029]", re.M)
_CONTENT = re.compile(r"^[ \t]*[^ \t\r\n#]", re.M)  # a line with something but a comment


def _pieces(text: str) -> list[tuple[int, str]] | None:
    """``(first line, text)`` of each document of a YAML stream, or None when the stream is
    not one to split by lines."""
    if text.lstrip().startswith(("{", "[")) or _UNSURE.search(text):
        return None
    starts = [m.start() for m in _MARKER.finditer(text)]
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
        docs = parse_file(data, label, skipped)
        if skipped is not None or not docs:
            return docs
        pieces = _pieces(read_text(data, label))
        if pieces is None:
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
        source = _Text(text)
        docs: list[Document] = []
        for index, (first, piece) in enumerate(pieces):
            known = self._known.get(piece)
            if known is not None:
                obj, offset = known
                docs.append(Document(obj, f"{label}:{first + offset}", (source, index, -1)))
                continue
            try:
                parsed = parse_documents(piece, label)
            except InputError:
                return parse_file(data, label, skipped)  # the error, as the whole stream gives it
            for d in parsed:
                if d.source is not None and d.source[1] != 0:
                    return parse_file(data, label, skipped)  # not one document
                where = (source, index, d.source[2]) if d.source is not None else None
                docs.append(Document(d.obj, f"{label}:{first - 1 + _line(d.origin)}", where))
        return docs
