"""Contour's match conditions: what a route's path, header and query conditions are, how the
conditions of an include chain merge, how Envoy matches them, and the order Contour gives
the routes of one virtual host.

Facts (``testdata/upstream/contour/README.md`` names their sources):

* path conditions of an include chain concatenate (``/blog`` + ``/feed`` = ``/blog/feed``),
  runs of ``/`` collapse to one; the merged path is a regex when any condition is one,
  else exact when the *last* one is exact, else a prefix; no path condition is prefix ``/``;
* an HTTPProxy prefix is a character prefix (``/api`` matches ``/apix``); an Ingress
  ``Prefix`` path is a segment prefix (``/api`` matches ``/api`` and ``/api/...``; trailing
  slashes are dropped, ``/`` stays a character prefix); a regex must match the whole path;
* header conditions: ``present``/``notpresent``, ``exact``/``notexact``, ``contains``/
  ``notcontains`` (with ``ignoreCase``), ``regex``; a missing header fails every condition
  but ``notpresent`` (and, with ``treatMissingAsEmpty``, a negative one is tested on "");
* query conditions: ``exact``, ``prefix``, ``suffix``, ``contains`` (``ignoreCase``),
  ``regex``, ``present`` on the parameter's first value; a missing parameter fails;
* order on a virtual host: exact paths first, then regexes (longer first), then prefixes
  (longer first; at one prefix a segment prefix before a character one); at one path a
  ``:method`` condition first, then more header conditions, then more query conditions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["OTHER_RULE", "HeaderCondition", "PathCondition", "PathKind", "QueryCondition", "condition_errors",
           "contour_order", "header_conditions", "merge_path", "query_conditions"]

PathKind = Literal["prefix", "segment", "exact", "regex"]
# What differs when another rule answers a request: everything a replay compares but CORS and auth.
OTHER_RULE = ("status", "backend", "weights", "redirect", "path", "host", "headers")
_SLASHES = re.compile(r"//+")


@dataclass(frozen=True, slots=True)
class PathCondition:
    """``prefix`` (character-wise), ``segment`` (whole segments), ``exact`` or ``regex``."""

    kind: PathKind
    value: str

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.value
        if self.kind == "prefix":
            return path.startswith(self.value)
        if self.kind == "segment":
            base = self.value.rstrip("/")
            return path == base or path.startswith(base + "/")
        try:
            return re.fullmatch(self.value, path) is not None
        except re.error:
            return False

    def text(self) -> str:
        return f"{self.kind} {self.value}"


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """One header condition: ``op`` is ``present``, ``exact``, ``contains`` or ``regex``;
    ``invert`` makes it the negative form (``notpresent``, ``notexact``, ``notcontains``)."""

    name: str
    op: Literal["present", "exact", "contains", "regex"]
    value: str = ""
    invert: bool = False
    ignore_case: bool = False
    missing_as_empty: bool = False

    def matches(self, values: Sequence[str] | None) -> bool:
        if not values:
            if self.op == "present":
                return self.invert
            if not self.missing_as_empty:
                return False
            values = [""]
        if self.op == "present":
            return not self.invert
        joined = ",".join(values)  # Envoy tests the values of a repeated header joined by commas
        got = self._test(joined)
        return got != self.invert

    def _test(self, value: str) -> bool:
        want = self.value
        if self.ignore_case:
            value, want = value.lower(), want.lower()
        if self.op == "exact":
            return value == want
        if self.op == "contains":
            return want in value
        try:
            return re.fullmatch(self.value, value) is not None
        except re.error:
            return False

    def text(self) -> str:
        op = ("not" if self.invert else "") + self.op
        return f"header {self.name} {op} {self.value}".rstrip()


@dataclass(frozen=True, slots=True)
class QueryCondition:
    name: str
    op: Literal["exact", "prefix", "suffix", "contains", "regex", "present"]
    value: str = ""
    ignore_case: bool = False

    def matches(self, value: str | None) -> bool:
        if value is None:
            return False
        if self.op == "present":
            return True
        if self.op == "regex":
            try:
                return re.fullmatch(self.value, value) is not None
            except re.error:
                return False
        want = self.value
        if self.ignore_case:
            value, want = value.lower(), want.lower()
        if self.op == "exact":
            return value == want
        if self.op == "prefix":
            return value.startswith(want)
        if self.op == "suffix":
            return value.endswith(want)
        return want in value

    def text(self) -> str:
        return f"query {self.name} {self.op} {self.value}".rstrip()


def _str(cond: Mapping[str, Any], key: str) -> str:
    value = cond.get(key)
    return value if isinstance(value, str) else ""


def merge_path(conditions: Sequence[Mapping[str, Any]]) -> PathCondition:
    """The path condition a chain of condition blocks (include conditions first) amounts to."""
    merged, regex, last = "", False, ""
    for cond in conditions:
        for key in ("prefix", "exact", "regex"):
            if _str(cond, key):
                merged += _str(cond, key)
                regex = regex or key == "regex"
                break
    if conditions:
        c = conditions[-1]
        last = next((k for k in ("prefix", "exact", "regex") if _str(c, k)), "")
    merged = _SLASHES.sub("/", merged)
    if not merged:
        return PathCondition("prefix", "/")
    if regex:
        return PathCondition("regex", merged)
    return PathCondition("exact" if last == "exact" else "prefix", merged)


def condition_errors(conditions: Sequence[Any], include: bool) -> list[str]:
    """Why Contour rejects a condition block (empty: it accepts it)."""
    errors: list[str] = []
    paths = 0
    for n, cond in enumerate(conditions):
        if not isinstance(cond, Mapping):
            errors.append(f"conditions[{n}] is not an object")
            continue
        for key in ("prefix", "exact", "regex"):
            value = _str(cond, key)
            if not value:
                continue
            paths += 1
            if include and key != "prefix":
                errors.append(f"{key} conditions are not allowed in includes")
            if not value.startswith("/"):
                errors.append(f"{key} condition {value!r} must start with /")
            if key == "regex":
                try:
                    re.compile(value)
                except re.error as exc:
                    errors.append(f"regex {value!r} is invalid: {exc}")
        header = cond.get("header")
        if isinstance(header, Mapping):
            if not _str(header, "name"):
                errors.append("a header condition needs a name")
            elif header.get("treatMissingAsEmpty") and not (_str(header, "notexact") or _str(header, "notcontains")):
                errors.append("treatMissingAsEmpty is only allowed with notexact or notcontains")
        query = cond.get("queryParameter")
        if isinstance(query, Mapping) and not _str(query, "name"):
            errors.append("a queryParameter condition needs a name")
    if paths > 1:
        errors.append("more than one prefix, exact or regex condition in one condition block")
    return errors


def header_conditions(conditions: Sequence[Any]) -> tuple[HeaderCondition, ...]:
    out: list[HeaderCondition] = []
    for cond in conditions:
        h = cond.get("header") if isinstance(cond, Mapping) else None
        if not isinstance(h, Mapping) or not _str(h, "name"):
            continue
        name, ic, empty = _str(h, "name"), bool(h.get("ignoreCase")), bool(h.get("treatMissingAsEmpty"))
        if h.get("present"):
            out.append(HeaderCondition(name, "present"))
        elif h.get("notpresent"):
            out.append(HeaderCondition(name, "present", invert=True))
        elif _str(h, "contains"):
            out.append(HeaderCondition(name, "contains", _str(h, "contains"), ignore_case=ic))
        elif _str(h, "notcontains"):
            out.append(HeaderCondition(name, "contains", _str(h, "notcontains"), True, ic, empty))
        elif _str(h, "exact"):
            out.append(HeaderCondition(name, "exact", _str(h, "exact"), ignore_case=ic))
        elif _str(h, "notexact"):
            out.append(HeaderCondition(name, "exact", _str(h, "notexact"), True, ic, empty))
        elif _str(h, "regex"):
            out.append(HeaderCondition(name, "regex", _str(h, "regex")))
    return tuple(out)


def query_conditions(conditions: Sequence[Any]) -> tuple[QueryCondition, ...]:
    out: list[QueryCondition] = []
    for cond in conditions:
        q = cond.get("queryParameter") if isinstance(cond, Mapping) else None
        if not isinstance(q, Mapping) or not _str(q, "name"):
            continue
        for op in ("exact", "prefix", "suffix", "regex", "contains"):
            if _str(q, op):
                out.append(QueryCondition(_str(q, "name"), op, _str(q, op),
                                          bool(q.get("ignoreCase")) and op != "regex"))
                break
        else:
            if q.get("present"):
                out.append(QueryCondition(_str(q, "name"), "present"))
    return tuple(out)


# --- order -----------------------------------------------------------------------------------


_HEADER_RANK = {"exact": 0, "regex": 1, "contains": 2, "present": 3}
_QUERY_RANK = {"exact": 0, "regex": 1, "prefix": 2, "suffix": 3, "contains": 4, "present": 5}


def _tie(a: Any, b: Any) -> int:
    """Routes with one path: a ``:method`` condition first, then more headers, then more query
    parameters, then header and query conditions compared pair by pair: name, kind (exact
    first, present last), value, then the case-sensitive or non-inverted one first."""
    am = any(h.name == ":method" for h in a.headers)
    bm = any(h.name == ":method" for h in b.headers)
    if am != bm:
        return -1 if am else 1
    ah = [h for h in a.headers if h.name != ":method"]
    bh = [h for h in b.headers if h.name != ":method"]
    if len(ah) != len(bh):
        return -1 if len(ah) > len(bh) else 1
    if len(a.query) != len(b.query):
        return -1 if len(a.query) > len(b.query) else 1
    pairs = [((x.name, _HEADER_RANK[x.op], x.value, x.invert), (y.name, _HEADER_RANK[y.op], y.value, y.invert))
             for x, y in zip(ah, bh, strict=True)]
    pairs += [((x.name, _QUERY_RANK[x.op], x.value, x.ignore_case), (y.name, _QUERY_RANK[y.op], y.value, y.ignore_case))
              for x, y in zip(a.query, b.query, strict=True)]
    for x, y in pairs:
        if x != y:
            return -1 if x < y else 1
    return 0


def _compare(a: Any, b: Any) -> int:
    pa, pb = a.path, b.path
    rank = {"exact": 0, "regex": 1, "prefix": 2, "segment": 2}
    if rank[pa.kind] != rank[pb.kind]:
        return -1 if rank[pa.kind] < rank[pb.kind] else 1
    if pa.kind == "exact":
        if pa.value != pb.value:
            return -1 if pa.value > pb.value else 1
        return _tie(a, b)
    if len(pa.value) != len(pb.value):
        return -1 if len(pa.value) > len(pb.value) else 1
    if pa.value != pb.value:
        return -1 if pa.value > pb.value else 1
    if pa.kind != pb.kind:  # one prefix, both kinds: the segment prefix first
        return -1 if pa.kind == "segment" else 1
    return _tie(a, b)


def contour_order(routes: Sequence[Any]) -> list[Any]:
    """``routes`` (objects with ``path``, ``headers``, ``query``) in the order Contour hands
    them to Envoy; routes the sorter cannot tell apart keep their order."""
    return sorted(routes, key=functools.cmp_to_key(_compare))
