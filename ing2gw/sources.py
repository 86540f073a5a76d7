"""Read manifests from files, directories and stdin into documents.

``read_paths`` follows kubectl's ``-f`` conventions: a file, a directory (its ``.yaml``,
``.yml`` and ``.json`` files; with ``recursive`` its subfolders too) or ``-`` for stdin.
Files are read in sorted order, but nothing downstream may depend on that order: the
conversion sorts objects by identity.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .yamlio import Document, parse_documents, read_text

__all__ = ["MANIFEST_SUFFIXES", "read_paths"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _files_under(directory: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    if recursive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found.extend(Path(root) / f for f in files if f.endswith(MANIFEST_SUFFIXES))
    else:
        found = [p for p in directory.iterdir() if p.is_file() and p.name.endswith(MANIFEST_SUFFIXES)]
    return sorted(found)


def read_paths(
    paths: Sequence[str], recursive: bool = False, stdin: BinaryIO | None = None
) -> list[Document]:
    """Every document of every named input. ``-`` reads ``stdin`` (default: sys.stdin)."""
    docs: list[Document] = []
    for name in paths:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            docs.extend(parse_documents(read_text(stream.read(), "<stdin>"), "<stdin>"))
            continue
        path = Path(name)
        if path.is_dir():
            files = _files_under(path, recursive)
        elif path.exists():
            files = [path]
        else:
            raise InputError(f"{name}: no such file or directory")
        for file in files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise InputError(f"{file}: cannot read: {exc.strerror}") from None
            docs.extend(parse_documents(read_text(data, str(file)), str(file)))
    return docs
