"""APISIX route URIs: how ``lua-resty-radixtree`` (APISIX's HTTP router) matches them, and
their closest Gateway API path matches.

APISIX builds its router with ``no_param_match``, so in a URI only ``*`` is special:

* no ``*``: the URI matches exactly that path (``:name`` is literal text);
* ``*`` anywhere: the text before the first ``*`` is a character prefix the path must start
  with (``/foo*`` matches ``/foo``, ``/foobar``, ``/foo/x``); the router then checks the whole
  URI as a pattern, segment by segment (split on ``/``): a segment starting with ``*`` matches
  any text, slashes included, one starting with ``:`` one segment, every other segment is a
  PCRE fragment taken as written, and the pattern must cover the whole path. So ``/foo/*``
  matches ``/foo/`` and ``/foo/a/b`` but not ``/foo``; ``/*/bar`` any path ending in ``/bar``;
  ``/foo*/bar`` (a ``*`` inside a segment) is only the prefix ``/foo``.

Exact URIs are tried before prefixes, longer prefixes before shorter ones; routes sharing one
prefix are ordered by ``priority`` (higher first), then by the longer URI as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ing2gw.ir import PathMatch

__all__ = ["GatewayPath", "Uri", "gateway_paths", "parse_uri"]


@dataclass(frozen=True, slots=True)
class Uri:
    """One route URI as the radix tree stores it."""

    text: str  # as written
    literal: str  # the exact path, or the prefix before the first "*"
    prefix: bool  # "<=" (prefix) rather than "=" (exact)
    pattern: re.Pattern[str] | None  # the whole-URI check of a prefix URI with "*"/":" segments

    def matches(self, path: str) -> bool:
        if not self.prefix:
            return path == self.literal
        if not path.startswith(self.literal):
            return False
        if self.pattern is None:
            return True
        m = self.pattern.match(path)
        return m is not None and m.group(0) == path


@lru_cache(maxsize=4096)
def parse_uri(text: str) -> Uri:
    star = text.find("*")
    if star < 0:
        return Uri(text, text, False, None)
    segments = text.split("/")
    names = 0
    out: list[str] = []
    for seg in segments:
        if seg.startswith(":"):
            names += 1
            out.append(r"([^/]+)")
        elif seg.startswith("*"):
            names += 1
            out.append(r"((?:.|\n)*)")
        else:
            out.append(seg)
    pattern: re.Pattern[str] | None = None
    if names:
        try:
            pattern = re.compile("/".join(out))
        except re.error:
            pattern = re.compile(re.escape(text))  # APISIX would fail the match: nothing but itself
    return Uri(text, text[:star], True, pattern)


def _regex_of(uri: Uri) -> str:
    """The Gateway API regular expression (full match) for a URI with ``*`` segments."""
    parts: list[str] = []
    for seg in uri.text.split("/"):
        if seg.startswith(":"):
            parts.append("[^/]+")
        elif seg.startswith("*"):
            parts.append(".*")
        else:
            parts.append(seg)
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class GatewayPath:
    """A Gateway API path match for a set of URIs, and how it differs (``problem``: what APISIX
    matches that the Gateway does not, or the other way round; ``scope``: the paths concerned)."""

    match: PathMatch
    uris: tuple[str, ...]
    problem: str = ""
    scope: str = ""
    code: str = ""


def gateway_paths(uris: tuple[str, ...]) -> list[GatewayPath]:
    """The Gateway path matches for one route's URIs. ``/x`` together with ``/x/*`` is exactly
    PathPrefix ``/x``; a ``/x/*`` alone also matches ``/x`` on the Gateway; a character prefix
    ``/x*`` is narrower as PathPrefix ``/x``; ``*`` segments elsewhere become a regular
    expression."""
    out: list[GatewayPath] = []
    exact = {u for u in uris if "*" not in u}
    used: set[str] = set()
    for text in uris:
        if text in used:
            continue
        uri = parse_uri(text)
        if not uri.prefix:
            if text.rstrip("/") + "/*" in uris:
                continue  # carried by the prefix
            out.append(GatewayPath(PathMatch("Exact", text), (text,)))
            used.add(text)
            continue
        if text == "/*" or text == "*":
            out.append(GatewayPath(PathMatch("PathPrefix", "/"), (text,)))
            used.add(text)
            continue
        if text.endswith("/*") and "*" not in text[:-1] and ":" not in text:
            base = text[:-2] or "/"
            if base in exact:
                out.append(GatewayPath(PathMatch("PathPrefix", base), (base, text)))
                used.update((base, text))
            else:
                out.append(GatewayPath(PathMatch("PathPrefix", base), (text,), code="PATH-PREFIX-BARE",
                                       problem=f"APISIX URI {text} does not match {base} itself; PathPrefix {base} "
                                               "does", scope="~^" + re.escape(base) + "$"))
                used.add(text)
            continue
        star = text.find("*")
        if star == len(text) - 1:
            base = text[:star].rstrip("/") or "/"
            problem = "" if text[:star].endswith("/") else \
                f"APISIX URI {text} is a character prefix ({text[:star]}x matches too); PathPrefix {base} " \
                "matches whole segments only"
            out.append(GatewayPath(PathMatch("PathPrefix", base), (text,), code="PATH-CHARACTER-PREFIX" if problem
                                   else "", problem=problem, scope="~^" + re.escape(text[:star])))
            used.add(text)
            continue
        if uri.pattern is None:
            # a "*" inside a segment with more after it: the router checks only the prefix
            base = text[:star].rstrip("/") or "/"
            out.append(GatewayPath(PathMatch("PathPrefix", base), (text,), code="PATH-STAR-INSIDE-SEGMENT",
                                   problem=f"APISIX matches URI {text} as the character prefix {text[:star]} only "
                                           f"(the text after the * is ignored); PathPrefix {base} matches whole "
                                           "segments", scope="~^" + re.escape(text[:star])))
            used.add(text)
            continue
        regex = _regex_of(uri)
        out.append(GatewayPath(PathMatch("RegularExpression", regex), (text,), code="PATH-WILDCARD-REGEX",
                               problem=f"APISIX URI {text} (* and : segments) becomes the regular expression {regex}; "
                                       "its dialect is the implementation's", scope="~^" + re.escape(text[:star])))
        used.add(text)
    return out
