"""Read manifests from files, directories and stdin into documents.

``read_paths`` follows kubectl's ``-f`` conventions: a file, a directory (its ``.yaml``,
``.yml`` and ``.json`` files; with ``recursive`` its subfolders too) or ``-`` for stdin.
Files are read in sorted order, but nothing downstream may depend on that order: the
conversion sorts objects by identity.

Given a ``skipped`` list (the pre-commit hooks' ``--skip-non-kubernetes``), YAML that is not
Kubernetes objects -- a GitHub workflow, Helm values (no ``apiVersion`` and no ``kind``), a
Helm template that does not parse -- is left out with one note per file instead of failing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .notes import Level, Note
from .yamlio import Document, parse_documents, read_text

__all__ = ["MANIFEST_SUFFIXES", "parse_file", "read_paths"]

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


def _skip(label: str, why: str) -> Note:
    return Note(code="INPUT-NOT-KUBERNETES", level=Level.INFO, message=f"{label}: {why}", subject=label,
                instead="file skipped", origin=f"{label}:1")


def parse_file(data: bytes, label: str, skipped: list[Note] | None = None) -> list[Document]:
    """The documents of one file's bytes; with ``skipped``, a file that is not Kubernetes
    objects gives no documents and a note in ``skipped`` instead."""
    if skipped is None:
        return parse_documents(read_text(data, label), label)
    try:
        docs = parse_documents(read_text(data, label), label)
    except InputError:
        if b"{{" in data:  # a Helm (or other Go) template: only valid YAML once rendered
            skipped.append(_skip(label, "a template ({{ ... }}), not YAML until rendered"))
            return []
        raise
    kept = [d for d in docs if "apiVersion" in d.obj or "kind" in d.obj]
    if len(kept) < len(docs):
        what = "no document" if not kept else f"{len(docs) - len(kept)} of {len(docs)} documents"
        skipped.append(_skip(label, f"{what} is a Kubernetes object (no apiVersion and no kind): "
                                    "not a manifest (a workflow, Helm values...)"))
    return kept


def read_paths(
    paths: Sequence[str], recursive: bool = False, stdin: BinaryIO | None = None,
    skipped: list[Note] | None = None, parse: Callable[[bytes, str, list[Note] | None], list[Document]] = parse_file,
) -> list[Document]:
    """Every document of every named input. ``-`` reads ``stdin`` (default: sys.stdin);
    ``parse`` parses each file (``diff`` shares its sides' parses, :mod:`ing2gw.diff.reading`)."""
    docs: list[Document] = []
    for name in paths:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            docs.extend(parse(stream.read(), "<stdin>", skipped))
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
            docs.extend(parse(data, str(file), skipped))
    return docs
