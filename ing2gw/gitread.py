"""Read manifests at a git revision without touching the work tree (``ing2gw diff --git``)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

from .errors import InputError, UsageError
from .notes import Note
from .sources import MANIFEST_SUFFIXES, parse_file
from .yamlio import Document

__all__ = ["list_revision", "read_revision"]


def _git(args: Sequence[str], cwd: str | None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--git needs the git command") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return proc.stdout


def list_revision(revision: str, paths: Sequence[str], cwd: str | None = None) -> list[str]:
    """The manifest files under ``paths`` (default: the whole tree) at ``revision``, relative
    to ``cwd``, sorted."""
    _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd)
    listing = _git(["ls-tree", "-r", "-z", "--name-only", revision, "--", *(paths or ["."])], cwd)
    return sorted(n for n in listing.decode().split("\0") if n.endswith(MANIFEST_SUFFIXES))


def read_revision(revision: str, paths: Sequence[str], cwd: str | None = None,
                  skipped: list[Note] | None = None,
                  parse: Callable[[bytes, str, list[Note] | None], list[Document]] = parse_file) -> list[Document]:
    """Every manifest file under ``paths`` (default: the whole tree) at ``revision``; with
    ``skipped``, files that are not Kubernetes objects are noted there and left out.
    ``parse`` parses each file (:func:`ing2gw.sources.parse_file`)."""
    docs: list[Document] = []
    for name in list_revision(revision, paths, cwd):
        data = _git(["show", f"{revision}:./{name}"], cwd)
        docs.extend(parse(data, f"{revision}:{name}", skipped))
    return docs
