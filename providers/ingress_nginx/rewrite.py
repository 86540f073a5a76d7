"""ingress-nginx ``rewrite-target`` and regex locations (``use-regex`` and host regex mode).

ingress-nginx renders every location of a host as ``location ~* "^<path>"`` -- a
case-insensitive PCRE anchored at the start only -- as soon as one location of that host
has ``use-regex`` or a ``rewrite-target`` that differs from its path. The rewrite itself
replaces the *whole* URI by the target, ``$n`` being the path's capture groups.

This module classifies a (path, target) pair into what the Gateway API can say about it
(:class:`Rewrite`), builds the RE2 pattern for a location in regex mode
(:func:`location_regex`) and gives nginx's location order (:func:`nginx_order_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import re2

__all__ = ["Rewrite", "classify_rewrite", "location_regex", "nginx_order_key", "regex_error"]

RewriteKind = Literal["none", "full", "prefix", "regex"]

# P(/|$)(.*) with a literal P: the documented "strip a prefix" form.
_STRIP_FORM = re.compile(r"(/[A-Za-z0-9_~/-]*?)\(/\|\$\)\(\.\*\)", re.ASCII)
# T/$2 (T without captures); T may be empty (target "/$2").
_STRIP_TARGET = re.compile(r"([^$]*)/\$2", re.ASCII)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What a location's rewrite becomes.

    * ``none`` -- no rewrite (no target, or a target equal to the path);
    * ``full`` -- a target without captures: URLRewrite ReplaceFullPath ``target``;
    * ``prefix`` -- ``P(/|$)(.*)`` -> ``T/$2``: PathPrefix ``prefix`` + ReplacePrefixMatch
      ``replacement``; ``exact`` is False when nginx and Gateway differ for the bare ``P``
      (``T/`` vs ``T``);
    * ``regex`` -- any other use of captures: only an implementation's regex rewrite can do it.
    """

    kind: RewriteKind
    target: str = ""
    prefix: str = ""
    replacement: str = ""
    exact: bool = True

    @property
    def active(self) -> bool:
        return self.kind != "none"


_NONE = Rewrite("none")


def classify_rewrite(path: str, target: str | None) -> Rewrite:
    if target is None or target == path:
        return _NONE  # (frozen: one object serves every path without a rewrite)
    if "$" not in target:
        return Rewrite("full", target)
    m = _STRIP_FORM.fullmatch(path)
    t = _STRIP_TARGET.fullmatch(target)
    if m and t and not m.group(1).endswith("/"):
        head = t.group(1)
        return Rewrite("prefix", target, m.group(1), head or "/", exact=not head)
    return Rewrite("regex", target)


def location_regex(path: str) -> str:
    """The RE2 pattern for ``location ~* "^<path>"``: case-insensitive, anchored at the start.

    ``.*`` at the end makes the pattern mean the same whether an implementation searches or
    matches the whole path; a top-level ``|`` is grouped so the anchor covers every branch.
    """
    body = f"(?:{path})" if "|" in path else path
    tail = "" if body.endswith("$") and not body.endswith("\\$") else ".*"
    return f"(?i)^{body}{tail}"


def regex_error(pattern: str) -> str | None:
    """Why RE2 rejects ``pattern`` (PCRE-only syntax such as look-arounds), or None."""
    options = re2.Options()
    options.log_errors = False  # RE2 would log to stderr, where notes go
    try:
        re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else b""
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return text or "not valid RE2 syntax"
    return None


def nginx_order_key(path: str) -> tuple[int, bytes]:
    """Sort key giving ingress-nginx's location order: longest path string first, then
    byte-wise descending (so ``sorted(..., key=nginx_order_key, reverse=True)``)."""
    return (len(path), path.encode())
