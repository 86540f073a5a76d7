"""The NGINX location F5 NGINX Ingress Controller writes for an Ingress path.

``Exact`` becomes ``location = /p``; ``Prefix`` and ``ImplementationSpecific`` both become a
plain ``location /p`` -- a **character** prefix (``/tea`` also takes ``/teapot``); with
``nginx.org/path-regex`` the path is a regex: ``case_sensitive`` ``location ~ "^/p"``,
``case_insensitive`` ``location ~* "^/p"``, ``exact`` ``location = "/p"``. The pattern of
``nginx.org/rewrite-target``'s ``rewrite`` follows the same modifier (``^/p``, ``(?i)^/p``, or
the bare path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Location", "location_of", "rewrite_pattern"]

Modifier = Literal["", "=", "~", "~*"]


@dataclass(frozen=True, slots=True)
class Location:
    modifier: Modifier
    path: str  # the prefix, exact path or regex (anchored with ^ for regexes)
    quoted: bool = False  # path-regex writes its paths in quotes

    @property
    def directive(self) -> str:
        if self.modifier in ("~", "~*") or self.quoted:
            return f'{self.modifier} "{self.path}"'
        if self.modifier == "=":
            return f"= {self.path}"
        return self.path


def location_of(path: str, path_type: str, path_regex: str | None) -> Location:
    """The location for one Ingress path, given the Ingress's effective ``path-regex``."""
    value = path or "/"
    if path_type == "Exact":
        return Location("=", value)
    if path_regex == "case_sensitive":
        return Location("~", "^" + value)
    if path_regex == "case_insensitive":
        return Location("~*", "^" + value)
    if path_regex == "exact":
        return Location("=", value, quoted=True)
    return Location("", value)


def rewrite_pattern(path: str, path_regex: str | None) -> str:
    """The regex of the ``rewrite`` that ``nginx.org/rewrite-target`` writes for a path."""
    value = path or "/"
    if path_regex == "case_sensitive":
        return "^" + value
    if path_regex == "case_insensitive":
        return "(?i)^" + value
    return value
