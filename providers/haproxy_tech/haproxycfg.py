"""The haproxy.cfg and map files the haproxy-tech controller writes for a set of Ingress paths,
rendered for the oracle (real haproxy) without consulting the model's lookup.

As the controller does, the frontend looks the Host (port cut, lower-cased) up in
``host.map``, then with its first label cut (wildcards are stored as ``.suffix``), else uses
the empty host; then the key host + path in ``path-exact.map`` (``map``), in
``path-prefix-exact.map`` (``map``, Prefix and ImplementationSpecific paths without their
trailing ``/``) and in ``path-prefix.map`` (``map_beg``, Prefix paths as ``/p/``, the others
as written; longest keys first in the file).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._haproxy.cfg import document, entry_ids
from .._haproxy.model import Entry

__all__ = ["render"]


def _host(entry: Entry) -> str:
    return entry.host[1:] if entry.host.startswith("*.") else entry.host


def render(entries: Sequence[Entry]) -> tuple[str, dict[str, str]]:
    """(haproxy.cfg with ``@...@`` placeholders, map files by name)."""
    rid = entry_ids(entries)
    hosts = sorted({_host(e) for e in entries if e.host})
    exact: dict[str, str] = {}
    prefix_exact: dict[str, str] = {}
    prefix: dict[str, str] = {}
    for e in entries:
        host, path = _host(e), e.path or "/"
        if e.match == "exact":
            exact.setdefault(host + path, rid[id(e)])
            continue
        if path.rstrip("/"):
            prefix_exact.setdefault(host + path.rstrip("/"), rid[id(e)])
        beg = path if e.match != "prefix" or path.endswith("/") else path + "/"
        prefix.setdefault(host + beg, rid[id(e)])
    files = {
        "host.map": "".join(f"{h} {h}\n" for h in hosts),
        "path-exact.map": "".join(f"{k} {v}\n" for k, v in exact.items()),
        "path-prefix-exact.map": "".join(f"{k} {v}\n" for k, v in prefix_exact.items()),
        "path-prefix.map": "".join(f"{k} {v}\n" for k, v in sorted(prefix.items(), key=lambda kv: -len(kv[0]))),
    }
    lookup = [
        "http-request set-var(txn.path) path",
        "http-request set-var(txn.host) req.hdr(host),field(1,:),lower,map(@DIR@/host.map)",
        "http-request set-var(txn.host) req.hdr(host),field(1,:),lower,regsub(^[^.]*,),map(@DIR@/host.map,'') "
        "if !{ var(txn.host) -m found }",
        "http-request set-var(txn.key) var(txn.host),concat(,txn.path,)",
        "http-request set-var(txn.entry) var(txn.key),map(@DIR@/path-exact.map)",
        "http-request set-var(txn.entry) var(txn.key),map(@DIR@/path-prefix-exact.map) if !{ var(txn.entry) -m found }",
        "http-request set-var(txn.entry) var(txn.key),map_beg(@DIR@/path-prefix.map) if !{ var(txn.entry) -m found }",
    ]
    return document(entries, lookup, https_port_default=8443), files
