"""ApisixRoute ``match.exprs``: what APISIX evaluates, and the Gateway API matches they become.

The controller turns each expression into an APISIX ``vars`` entry: the subject becomes a
variable (``Header`` -> ``http_<name>`` lower-cased with ``-`` as ``_``, ``Query`` ->
``arg_<name>``, ``Cookie`` -> ``cookie_<name>``, ``Path`` -> ``uri``, ``Variable`` -> the name,
``Body`` -> ``post_arg.<name>``), the operator ``==``, ``~=``, ``>``, ``>=``, ``<``, ``<=``,
``in``, ``~~`` (PCRE search, unanchored) or ``~*`` (the same, ignoring case), negated with
``!`` for ``NotIn``, ``RegexNotMatch`` and ``RegexNotMatchCaseInsensitive``. All expressions
must hold. A missing variable makes ``==``, ``in``, the regex and number comparisons false and
``~=`` true (lua-resty-expr).

Gateway API can say ``Equal``, ``In`` (one match per value) and the regex operators on headers
and query parameters; a cookie ``Equal`` becomes a regex on the Cookie header. The rest
(negations, number comparisons, variables, bodies) has no match form: the condition is
dropped and noted -- the Gateway then routes requests APISIX would not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ing2gw.http import Request
from ing2gw.ir import HeaderMatch, QueryMatch

__all__ = [
    "OPS", "Expr", "ExprError", "GatewayCondition", "evaluate", "gateway_conditions", "gateway_regex", "parse_exprs",
]

OPS: dict[str, tuple[str, bool]] = {
    "Equal": ("==", False), "NotEqual": ("~=", False), "GreaterThan": (">", False),
    "GreaterThanEqual": (">=", False), "LessThan": ("<", False), "LessThanEqual": ("<=", False),
    "In": ("in", False), "NotIn": ("in", True), "RegexMatch": ("~~", False), "RegexNotMatch": ("~~", True),
    "RegexMatchCaseInsensitive": ("~*", False), "RegexNotMatchCaseInsensitive": ("~*", True),
}
SCOPES = ("Header", "Query", "Cookie", "Path", "Variable", "Body")


class ExprError(ValueError):
    """An expression the controller refuses (the whole ApisixRoute fails to translate)."""


@dataclass(frozen=True, slots=True)
class Expr:
    scope: str
    name: str
    op: str  # the ApisixRoute operator name
    values: tuple[str, ...]  # one value, or the set of In/NotIn

    @property
    def variable(self) -> str:
        if self.scope == "Header":
            return "http_" + self.name.lower().replace("-", "_")
        if self.scope == "Query":
            return "arg_" + self.name
        if self.scope == "Cookie":
            return "cookie_" + self.name
        if self.scope == "Path":
            return "uri"
        if self.scope == "Body":
            return "post_arg." + self.name
        return self.name

    def text(self) -> str:
        op, negate = OPS[self.op]
        value = "[" + ", ".join(self.values) + "]" if op == "in" else self.values[0]
        return f"{self.variable} {'! ' if negate else ''}{op} {value}"


def parse_exprs(raw: Any) -> list[Expr]:
    """``match.exprs`` as the controller reads them; raises :class:`ExprError` like it does."""
    out: list[Expr] = []
    for n, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping):
            raise ExprError(f"exprs[{n}] is not an object")
        subject = item.get("subject")
        if not isinstance(subject, Mapping):
            subject = {}
        scope, name = str(subject.get("scope") or ""), str(subject.get("name") or "")
        if not name and scope != "Path":
            raise ExprError(f"exprs[{n}]: empty subject.name")
        if scope not in SCOPES:
            raise ExprError(f"exprs[{n}]: subject.scope should be one of {', '.join(SCOPES)}")
        op = str(item.get("op") or "")
        if op not in OPS:
            raise ExprError(f"exprs[{n}]: unknown operator {op!r}")
        if op in ("In", "NotIn"):
            if not isinstance(item.get("set"), list):
                raise ExprError(f"exprs[{n}]: empty set value")
            values = tuple(str(v) for v in item["set"])
        else:
            if item.get("value") is None:
                raise ExprError(f"exprs[{n}]: empty value")
            values = (str(item["value"]),)
        out.append(Expr(scope, name, op, values))
    return out


# --- evaluation (the model) --------------------------------------------------------------


def _cookie(request: Request, name: str) -> str | None:
    for header in request.headers.get_all("cookie"):
        for part in header.split(";"):
            k, sep, v = part.strip().partition("=")
            if sep and k == name:
                return v
    return None


def variable(request: Request, name: str, uri: str) -> str | None:
    """An nginx/APISIX variable of ``request`` (``uri``: the normalised path)."""
    if name.startswith("http_"):
        wanted = name[5:]
        for h in request.headers:
            if h.lower().replace("-", "_") == wanted:
                return request.headers.get(h)
        if wanted == "host":
            return request.host
        return None
    if name.startswith("arg_"):
        for k, v in parse_qsl(request.query, keep_blank_values=True):
            if k == name[4:]:
                return v
        return None
    if name.startswith("cookie_"):
        return _cookie(request, name[7:])
    fixed: dict[str, Callable[[], str | None]] = {
        "uri": lambda: uri, "request_uri": lambda: request.target, "request_method": lambda: request.method,
        "host": lambda: request.hostname, "scheme": lambda: request.scheme, "args": lambda: request.query or None,
        "remote_addr": lambda: request.client, "server_port": lambda: str(request.port),
        "query_string": lambda: request.query or None,
    }
    getter = fixed.get(name)
    return getter() if getter else None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def holds(expr: Expr, value: str | None) -> bool:
    op, negate = OPS[expr.op]
    result: bool
    if op == "==":
        result = value == expr.values[0]
    elif op == "~=":
        result = value != expr.values[0]
    elif op == "in":
        result = value is not None and value in expr.values
    elif op in ("~~", "~*"):
        try:
            result = value is not None and re.search(expr.values[0], value,
                                                     re.IGNORECASE if op == "~*" else 0) is not None
        except re.error:
            result = False
    else:
        left, right = _number(value), _number(expr.values[0])
        if left is None or right is None:
            result = False
        else:
            result = {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
    return not result if negate else result


def evaluate(exprs: Sequence[Expr], request: Request, uri: str) -> bool:
    return all(holds(e, variable(request, e.variable, uri)) for e in exprs)


# --- Gateway API form --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatewayCondition:
    """One expression as Gateway match alternatives (any of them), or why it has none."""

    expr: Expr
    headers: tuple[tuple[HeaderMatch, ...], ...] = ()  # alternatives: each a set of header matches
    query: tuple[QueryMatch, ...] = ()  # alternatives
    path_regex: str | None = None
    problem: str = ""
    approximate: str = ""


def gateway_regex(op: str, value: str) -> str:
    """A PCRE searched anywhere (``~~``, ``~*``) as a full-match regular expression."""
    body = value[1:] if value.startswith("^") else ".*" + value
    if not (body.endswith("$") and not body.endswith("\\$")):
        body += ".*"
    else:
        body = body[:-1]
    return ("(?i)" if op == "~*" else "") + body


def gateway_conditions(exprs: Sequence[Expr]) -> list[GatewayCondition]:
    out: list[GatewayCondition] = []
    for e in exprs:
        op, negate = OPS[e.op]
        if negate or op not in ("==", "in", "~~", "~*"):
            out.append(GatewayCondition(e, problem=f"{e.op} has no Gateway API match form"))
            continue
        regex = op in ("~~", "~*")
        if e.scope == "Header":
            alts = tuple((HeaderMatch(e.name, gateway_regex(op, v), "RegularExpression"),) if regex
                         else (HeaderMatch(e.name, v),) for v in e.values)
            out.append(GatewayCondition(e, headers=alts, approximate="PCRE search as a full-match regular expression"
                                        if regex else ""))
        elif e.scope == "Query":
            q = tuple(QueryMatch(e.name, gateway_regex(op, v), "RegularExpression") if regex else QueryMatch(e.name, v)
                      for v in e.values)
            out.append(GatewayCondition(e, query=q, approximate="PCRE search as a full-match regular expression"
                                        if regex else ""))
        elif e.scope == "Cookie" and not regex:
            alts = tuple((HeaderMatch("Cookie", f"(.*; ?)?{re.escape(e.name)}={re.escape(v)}(;.*)?",
                                      "RegularExpression"),) for v in e.values)
            out.append(GatewayCondition(e, headers=alts, approximate="a regular expression on the Cookie header"))
        elif e.scope == "Path" and regex and len(e.values) == 1:
            out.append(GatewayCondition(e, path_regex=gateway_regex(op, e.values[0]),
                                        approximate="PCRE search as a full-match regular expression"))
        elif e.scope == "Path" and op in ("==", "in") and len(e.values) == 1:
            out.append(GatewayCondition(e, path_regex=re.escape(e.values[0])))
        else:
            out.append(GatewayCondition(e, problem=f"a {e.scope} {e.op} condition has no Gateway API match form"))
    return out
