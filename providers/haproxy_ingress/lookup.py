"""How haproxy-ingress finds the Ingress path for a request (its frontend's map files):

* the key is ``host#path``, host lower-cased; match kinds: ``exact`` (literal), ``prefix``
  (whole path segments, case-sensitive), ``begin`` (character prefix on the lower-cased path:
  case-insensitive) and ``regex`` (POSIX ERE, anchored at the start only);
* exact host names are tried first, then wildcard hosts (``*.d`` covers one label), then the
  host-less rules (the default host ``<default>``); with ``strict-host`` (ConfigMap, default
  false) a named host with no matching path answers 404 instead of falling back;
* within one host the controller orders its map files so that a longer path is tried before a
  shorter one it overlaps, whatever their kinds (``TestOverlap``); equal paths go exact,
  prefix, begin; regex paths come last, in declaration order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ing2gw.http import Headers

from .._haproxy.model import Entry, by_host, one_label

__all__ = ["IngressLookup", "path_matches"]

_KIND_ORDER = {"exact": 0, "prefix": 1, "begin": 2, "default": 3}


def path_matches(entry: Entry, path: str) -> bool:
    kind, value = entry.match, entry.path or "/"
    if kind == "exact":
        return path == value
    if kind == "prefix":
        base = value.rstrip("/")
        return path == base or path.startswith(base + "/") or base == ""
    if kind == "regex":
        try:
            return re.match(value, path) is not None
        except re.error:
            return False
    return path.lower().startswith(value.lower())  # begin, and a default backend's "/"


def _best(entries: Sequence[Entry], path: str, headers: Headers) -> Entry | None:
    entries = [e for e in entries if e.takes(headers)]
    plain = [e for e in entries if e.match != "regex" and path_matches(e, path)]
    if plain:
        return min(plain, key=lambda e: (-len((e.path or "/").rstrip("/") or "/"), _KIND_ORDER.get(e.match, 9),
                                         e.order))
    return next((e for e in entries if e.match == "regex" and path_matches(e, path)), None)


class IngressLookup:
    """The entries of one controller, by host; ``config`` is the controller ConfigMap."""

    def __init__(self, entries: Sequence[Entry], config: Mapping[str, str] | None = None) -> None:
        self.hosts = by_host(entries)
        self.wildcards = sorted((h for h in self.hosts if h.startswith("*.")), key=lambda h: (-len(h), h))
        self.strict = (config or {}).get("strict-host", "false").strip().lower() == "true"

    def find(self, host: str, path: str, headers: Headers | None = None) -> Entry | None:
        headers = headers if headers is not None else Headers()
        if host and host in self.hosts:
            found = _best(self.hosts[host], path, headers)
            if found is not None or self.strict:
                return found
        for wildcard in self.wildcards:
            if one_label(wildcard, host):
                found = _best(self.hosts[wildcard], path, headers)
                if found is not None or self.strict:
                    return found
        return _best(self.hosts.get("", []), path, headers)
