"""The haproxy.cfg and map files haproxy-ingress writes for a set of Ingress paths, rendered
for the oracle (real haproxy) without consulting the model's lookup.

As the controller does, the frontend builds ``host#path`` (host lower-cased) and looks it up
in a chain of map files, each with its own match method: ``str`` for exact paths, ``dir`` for
prefix paths, ``beg`` on the lower-cased key for begin paths, ``reg`` for regex paths and for
every wildcard host (``^[^.]+\\.domain#...``). Files are chained longest path first (the
controller splits overlapping paths into extra files so that a longer path is tried before a
shorter one it overlaps, whatever its kind), kinds in the default ``path-type-order`` (exact,
prefix, begin, regex) for equal lengths, exact host names before wildcards, and regex paths
last. When nothing matched, ``<default>#path`` is looked up in the host-less rules' files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._haproxy.cfg import document, entry_ids, quote
from .._haproxy.model import Entry

__all__ = ["render"]

_METHOD = {"exact": "str", "prefix": "dir", "begin": "beg", "default": "beg", "regex": "reg"}
_ORDER = {"exact": 0, "prefix": 1, "begin": 2, "default": 2, "regex": 3}


def _host_regex(host: str) -> str:
    if host.startswith("*."):
        return r"^[^.]+" + re.escape(host[1:])
    return "^" + re.escape(host)


def _key(e: Entry, host: str, wildcard: bool) -> tuple[str, str]:
    """(method, map key) of one entry."""
    path = e.path or "/"
    kind = e.match
    if not wildcard:
        if kind == "regex":
            return "reg", f"{_host_regex(host)}#{path.removeprefix('^')}"
        key = f"{host}#{path.rstrip('/') if kind == 'prefix' and path != '/' else path}"
        return _METHOD[kind], key.lower() if _METHOD[kind] == "beg" else key
    body = {
        "exact": re.escape(path) + "$",
        "prefix": re.escape(path.rstrip("/")) + "(/|$)",
        "begin": re.escape(path.lower()),
        "default": re.escape(path),
        "regex": path.removeprefix("^"),
    }[kind]
    return "reg", f"{_host_regex(host)}#{body}"


def _length(e: Entry) -> int:
    return len((e.path or "/").rstrip("/") or "/")


def render(entries: Sequence[Entry]) -> tuple[str, dict[str, str]]:
    """(haproxy.cfg with ``@...@`` placeholders, map files by name)."""
    rid = entry_ids(entries)
    files: dict[str, str] = {}
    lookup = [
        "http-request set-var(txn.path) path",
        "http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
        "http-request set-var(txn.base) var(txn.host),concat(\\#,txn.path,)",
        "http-request set-var(txn.dbase) str(<default>\\#),concat(,txn.path,)",
    ]

    def chain(group: Sequence[Entry], var: str, host_of: str | None, wildcard: bool, tag: str) -> None:
        # paths with header conditions get files of their own, tried before the others of their rank
        buckets: dict[tuple[int, int, int, tuple[tuple[str, str, bool], ...], str], list[str]] = {}
        for e in group:
            host = host_of if host_of is not None else e.host
            method, key = _key(e, host, wildcard)
            rank = (1, 0) if e.match == "regex" else (0, -_length(e))
            headers = e.policy.match_headers
            bucket = (rank[0], rank[1] * 10 + _ORDER[e.match], 0 if headers else 1, headers, method)
            buckets.setdefault(bucket, []).append(f"{key} {rid[id(e)]}")
        for n, ((_, _, _, headers, method), lines) in enumerate(sorted(buckets.items())):
            name = f"{tag}_{n:03d}_{method}.map"
            files[name] = "".join(f"{line}\n" for line in lines)
            lower = ",lower" if method == "beg" else ""
            cond = " if !{ var(txn.entry) -m found }" + "".join(
                f" {{ req.hdr({h}) {'-m reg' if regex else '-m str'} {quote(v)} }}" for h, v, regex in headers)
            lookup.append(f"http-request set-var(txn.entry) var({var}){lower},map_{method}(@DIR@/{name}){cond}")

    named = [e for e in entries if e.host and not e.host.startswith("*.")]
    wild = [e for e in entries if e.host.startswith("*.")]
    chain(named, "txn.base", None, False, "host")
    chain(wild, "txn.base", None, True, "wildcard")
    chain([e for e in entries if not e.host], "txn.dbase", "<default>", False, "default")
    return document(entries, lookup), files
