"""Traefik's HTTP rule language (v3 syntax): parse, evaluate, and rewrite as Gateway API matches.

A rule is matchers -- ``Host``, ``HostRegexp``, ``Path``, ``PathPrefix``, ``PathRegexp``,
``Header``, ``HeaderRegexp``, ``Method``, ``Query``, ``QueryRegexp``, ``ClientIP`` -- joined by
``&&``, ``||``, ``!`` and parentheses; arguments in backticks or double quotes; matcher names
are case-insensitive. :func:`parse` raises :class:`RuleError` where Traefik refuses the rule.

Evaluation (:func:`matches`) follows Traefik's muxer: the host is lower-cased with port and
trailing dot removed, ``*.example.com`` covers exactly one label, ``PathPrefix`` is a character
prefix, the ``*Regexp`` matchers search (unanchored) with Go's syntax, header names are looked
up in their canonical form, ``Method`` compares with the upper-cased argument, ``Query(k)``
means ``k`` with an empty value. Paths are matched in routing form (:func:`routing_path`).

:func:`to_gateway` turns a rule into disjunctive normal form and each conjunction into host
names plus one :class:`~ing2gw.ir.RouteMatch`, or says why it cannot (negation, ``ClientIP``,
``HostRegexp``, two path matchers in one conjunction).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from ing2gw.ir import HeaderMatch, PathMatch, QueryMatch, RouteMatch

__all__ = ["And", "Matcher", "Not", "Or", "RuleError", "RuleRequest", "Node", "canonical_header", "hosts_of",
           "matches", "parse", "priority_of", "routing_path", "to_gateway"]


class RuleError(ValueError):
    """Traefik refuses the rule (the router is not created)."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str  # canonical spelling, e.g. "PathPrefix"
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Matcher | Not | And | Or

# name -> number of arguments (a set: Query takes one or two)
_ARITY: dict[str, frozenset[int]] = {
    "Host": frozenset({1}), "HostRegexp": frozenset({1}), "Path": frozenset({1}), "PathPrefix": frozenset({1}),
    "PathRegexp": frozenset({1}), "Header": frozenset({2}), "HeaderRegexp": frozenset({2}),
    "Method": frozenset({1}), "Query": frozenset({1, 2}), "QueryRegexp": frozenset({2}),
    "ClientIP": frozenset({1}),
}
_NAMES = {n.lower(): n for n in _ARITY}
_TOKEN = re.compile(r"\s*(?:(?P<op>&&|\|\||!|\(|\)|,)|(?P<name>[A-Za-z]+)|`(?P<raw>[^`]*)`"
                    r"|\"(?P<quoted>(?:[^\"\\]|\\.)*)\")")


def _tokens(rule: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        m = _TOKEN.match(rule, pos)
        if m is None:
            raise RuleError(f"unexpected {rule[pos:].strip()[:20]!r}")
        if m.group("op"):
            out.append(("op", m.group("op")))
        elif m.group("name"):
            out.append(("name", m.group("name")))
        elif m.group("raw") is not None:
            out.append(("str", m.group("raw")))
        else:
            out.append(("str", re.sub(r"\\(.)", r"\1", m.group("quoted"))))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, rule: str, strict: bool) -> None:
        self.toks = _tokens(rule)
        self.i = 0
        self.strict = strict

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise RuleError(f"expected {value or kind}, found {tok[1] if tok else 'the end'}")
        self.i += 1
        return tok[1]

    def expr(self) -> Node:
        node = self.conj()
        while self.peek() == ("op", "||"):
            self.i += 1
            node = Or(node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.unary()
        while self.peek() == ("op", "&&"):
            self.i += 1
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok == ("op", "!"):
            self.i += 1
            return Not(self.unary())
        if tok == ("op", "("):
            self.i += 1
            node = self.expr()
            self.take("op", ")")
            return node
        name = self.take("name")
        canonical = _NAMES.get(name.lower())
        if canonical is None:
            raise RuleError(f"unknown matcher {name}")
        self.take("op", "(")
        args: list[str] = []
        while self.peek() != ("op", ")"):
            if args:
                self.take("op", ",")
            args.append(self.take("str"))
        self.take("op", ")")
        if self.strict:
            _check(canonical, tuple(args))
        return Matcher(canonical, tuple(args))


def _check(name: str, args: tuple[str, ...]) -> None:
    if len(args) not in _ARITY[name]:
        raise RuleError(f"{name} takes {' or '.join(str(n) for n in sorted(_ARITY[name]))} argument(s)")
    if any(a == "" for a in args):
        raise RuleError(f"{name} has an empty argument")
    if name in ("Host", "HostRegexp") and not args[0].isascii():
        raise RuleError(f"{name} argument is not ASCII (use the punycode form)")
    if name in ("Path", "PathPrefix") and not args[0].startswith("/"):
        raise RuleError(f"{name} argument must start with /")
    if name.endswith("Regexp"):
        try:
            re.compile(args[-1])
        except re.error as exc:
            raise RuleError(f"{name}: invalid regular expression: {exc}") from None
    if name == "ClientIP":
        try:
            ipaddress.ip_network(args[0], strict=False)
        except ValueError:
            raise RuleError(f"ClientIP: {args[0]!r} is neither an IP address nor a CIDR") from None


def parse(rule: str, strict: bool = True) -> Node:
    """The rule's syntax tree; ``strict=False`` skips the argument checks (domain extraction)."""
    if not rule.strip():
        raise RuleError("empty rule")
    p = _Parser(rule, strict)
    node = p.expr()
    if p.peek() is not None:
        raise RuleError(f"unexpected {p.peek()[1]!r}")  # type: ignore[index]
    return node


def priority_of(rule: str, priority: int = 0) -> int:
    """Traefik's default priority: the rule's length in bytes, unless one is set."""
    return priority if priority else len(rule.encode())


# --- evaluation ----------------------------------------------------------------------------

_RESERVED = frozenset(":/?#[]@!$&'()*+,;=")


def routing_path(raw: str) -> str:
    """The path Traefik matches: percent-escapes decoded, except those of reserved characters."""
    def dec(m: re.Match[str]) -> str:
        ch = unquote(m.group(0))
        return m.group(0) if ch in _RESERVED or len(ch) != 1 else ch
    return re.sub(r"%[0-9A-Fa-f]{2}", dec, raw)


def canonical_header(name: str) -> str:
    """Go's canonical header key (``x-forwarded-proto`` -> ``X-Forwarded-Proto``)."""
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@dataclass(frozen=True, slots=True)
class RuleRequest:
    """A request as Traefik's matchers see it."""

    method: str
    host: str  # as sent (Host header or absolute-form URL host), port included
    path: str  # raw path, without query
    headers: Mapping[str, Sequence[str]]  # canonical names
    query: Mapping[str, Sequence[str]]
    client: str | None = None

    @property
    def hostname(self) -> str:
        host = self.host.lower()
        if host.startswith("["):
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        return host.rstrip(".")


def _host_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        head, dot, rest = host.partition(".")
        return bool(head) and bool(dot) and rest == pattern[2:]
    return host == pattern


def _eval(m: Matcher, req: RuleRequest) -> bool:
    a = m.args
    if m.name == "Host":
        return _host_matches(a[0], req.hostname)
    if m.name == "HostRegexp":
        return re.search(a[0], req.hostname) is not None
    path = routing_path(req.path)
    if m.name == "Path":
        return path == a[0]
    if m.name == "PathPrefix":
        return path.startswith(a[0])
    if m.name == "PathRegexp":
        return re.search(a[0], path) is not None
    if m.name == "Header":
        return a[1] in req.headers.get(canonical_header(a[0]), ())
    if m.name == "HeaderRegexp":
        return any(re.search(a[1], v) for v in req.headers.get(canonical_header(a[0]), ()))
    if m.name == "Method":
        return req.method == a[0].upper()
    if m.name == "Query":
        return (a[1] if len(a) == 2 else "") in req.query.get(a[0], ())
    if m.name == "QueryRegexp":
        return any(re.search(a[1], v) for v in req.query.get(a[0], ()))
    try:
        client = ipaddress.ip_address(req.client or "")
    except ValueError:
        return False
    return client in ipaddress.ip_network(a[0], strict=False)


def matches(node: Node, req: RuleRequest) -> bool:
    if isinstance(node, Matcher):
        return _eval(node, req)
    if isinstance(node, Not):
        return not matches(node.node, req)
    if isinstance(node, And):
        return matches(node.left, req) and matches(node.right, req)
    return matches(node.left, req) or matches(node.right, req)


def hosts_of(rule: str) -> list[str]:
    """The ``Host`` arguments of a rule, lower-cased (Traefik's ``ParseDomains``)."""
    def walk(node: Node) -> list[str]:
        if isinstance(node, Matcher):
            return [a.lower() for a in node.args] if node.name == "Host" else []
        if isinstance(node, Not):
            return walk(node.node)
        return walk(node.left) + walk(node.right)
    return walk(parse(rule, strict=False))


# --- to Gateway API ------------------------------------------------------------------------

def _dnf(node: Node) -> list[list[Matcher | Not]]:
    """Disjunctive normal form: a list of conjunctions of (possibly negated) matchers."""
    if isinstance(node, Matcher):
        return [[node]]
    if isinstance(node, Or):
        return _dnf(node.left) + _dnf(node.right)
    if isinstance(node, And):
        return [left + right for left in _dnf(node.left) for right in _dnf(node.right)]
    inner = node.node
    if isinstance(inner, Not):
        return _dnf(inner.node)
    if isinstance(inner, Matcher):
        return [[node]]
    if isinstance(inner, And):  # !(a && b) = !a || !b
        return _dnf(Or(Not(inner.left), Not(inner.right)))
    return _dnf(And(Not(inner.left), Not(inner.right)))  # !(a || b) = !a && !b


@dataclass(frozen=True, slots=True)
class Conjunction:
    """One alternative of a rule: the hosts it needs (empty: any) and its match, or why it has
    no Gateway API form."""

    hosts: tuple[str, ...]
    match: RouteMatch | None
    problem: str = ""
    regex_host: bool = False


def _conjunction(items: list[Matcher | Not]) -> Conjunction:
    hosts: list[str] | None = None
    path: PathMatch | None = None
    headers: list[HeaderMatch] = []
    query: list[QueryMatch] = []
    method: str | None = None
    for item in items:
        if isinstance(item, Not):
            return Conjunction((), None, f"negation !{item.node.name}(...) has no Gateway API form")  # type: ignore[union-attr]
        a = item.args
        if item.name == "Host":
            mine = [a[0].lower().rstrip(".")]
            if hosts is not None and set(hosts) != set(mine):
                return Conjunction((), None, "two different Host matchers in one conjunction")
            hosts = mine
        elif item.name in ("Path", "PathPrefix", "PathRegexp"):
            if path is not None:
                return Conjunction((), None, "two path matchers in one conjunction")
            kind = {"Path": "Exact", "PathPrefix": "PathPrefix", "PathRegexp": "RegularExpression"}[item.name]
            path = PathMatch(kind, a[0])  # type: ignore[arg-type]
        elif item.name == "Header":
            headers.append(HeaderMatch(canonical_header(a[0]), a[1]))
        elif item.name == "HeaderRegexp":
            headers.append(HeaderMatch(canonical_header(a[0]), a[1], "RegularExpression"))
        elif item.name == "Method":
            if method is not None and method != a[0].upper():
                return Conjunction((), None, "two different Method matchers in one conjunction")
            method = a[0].upper()
        elif item.name == "Query":
            query.append(QueryMatch(a[0], a[1] if len(a) == 2 else ""))
        elif item.name == "QueryRegexp":
            query.append(QueryMatch(a[0], a[1], "RegularExpression"))
        else:
            return Conjunction((), None, f"{item.name} has no Gateway API form")
    return Conjunction(tuple(hosts or ()), RouteMatch(path=path, headers=tuple(headers), query=tuple(query),
                                                      method=method))


def to_gateway(node: Node) -> list[Conjunction]:
    return [_conjunction(c) for c in _dnf(node)]
