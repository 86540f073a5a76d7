"""How the haproxy-tech controller finds the Ingress path for a request (its frontend's map
lookups, ``pkg/route`` of the controller):

1. host: the Host header without port, lower-cased, looked up exactly; if unknown, its first
   label is cut (``a.b.c`` -> ``.b.c``, how ``*.b.c`` is stored) and looked up again; still
   unknown -> the host-less rules. So a wildcard covers one label, and a known host never
   falls back to the host-less rules.
2. path, in that host: the Exact paths (literal); then Prefix and ImplementationSpecific
   paths compared literally with their trailing ``/`` removed; then the longest ``map_beg``
   prefix: Prefix paths as ``/p/``, ImplementationSpecific ones as written (a character
   prefix), ``/`` for both. Case-sensitive.
"""

from __future__ import annotations

from collections.abc import Sequence

from ing2gw.http import Headers

from .._haproxy.model import Entry, by_host

__all__ = ["TechLookup", "beg_key"]


def beg_key(entry: Entry) -> str:
    """The ``map_beg`` key of a Prefix or ImplementationSpecific path."""
    path = entry.path or "/"
    if entry.match == "prefix" and not path.endswith("/"):
        return path + "/"
    return path


class TechLookup:
    """The entries of one controller, by host."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.hosts = by_host(entries)

    def host_key(self, host: str) -> str:
        if host in self.hosts:
            return host
        cut = host[host.index("."):] if "." in host else ""
        wildcard = "*" + cut
        return wildcard if cut and wildcard in self.hosts else ""

    def find(self, host: str, path: str, headers: Headers | None = None) -> Entry | None:
        entries = self.hosts.get(self.host_key(host), [])
        for e in entries:
            if e.match == "exact" and e.path == path:
                return e
        for e in entries:
            if e.match != "exact" and (e.path or "/").rstrip("/") == path:
                return e
        begins = [e for e in entries if e.match != "exact" and path.startswith(beg_key(e))]
        return max(begins, key=lambda e: len(beg_key(e)), default=None)
