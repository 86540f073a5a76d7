"""The Kubernetes CEL environment over cel-python: a CRD's ``x-kubernetes-validations`` rules
compiled once and evaluated as the API server would.

cel-python supplies the CEL core (macros ``all``/``exists``/``exists_one``/``filter``/``map``
over lists and map keys, ``has()``, ``size``, ``contains``, ``startsWith``, ``endsWith``,
``type()``, ``int()``, ``double()``, ``string()``). This module adds what the Kubernetes API
server registers on top and the CRDs use: ``matches`` (Go RE2 semantics), ``isIP``,
``split``, ``substring``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``, ``upperAscii``,
``duration`` (Go ``time.ParseDuration`` syntax), ``url``/``isURL``/``getScheme``,
``quantity`` with ``isLessThan``/``isGreaterThan``/``compareTo``, and
``format.dns1123Label().validate()``. Optional field selection (``self.?a.b``,
``.orValue(x)``), which cel-python cannot parse, is rewritten into ``has()`` tests first.

Values reach CEL the way the API server presents them: property names that are CEL reserved
words or contain ``_``, ``.``, ``-``, ``/`` are escaped (``namespace`` -> ``__namespace__``).

Transition rules (those reading ``oldSelf``) compare an update with the stored object; there
is no stored object offline, so they are never evaluated (as on *create*).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, Evaluator

from .celfast import parse_duration
from .common import _re2

# cel-python logs evaluation errors itself; they are reported as validation errors here.
logging.getLogger("celpy").addHandler(logging.NullHandler())
logging.getLogger("celpy").propagate = False

_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})


def escape(name: str) -> str:
    """A property name as CEL expressions name it (Kubernetes' escaping rules)."""
    if name in _RESERVED:
        return f"__{name}__"
    return (name.replace("__", "__underscores__").replace(".", "__dot__")
            .replace("-", "__dash__").replace("/", "__slash__"))


def to_cel(value: Any, schema: Mapping[str, Any] | None) -> Any:
    """``value`` as a CEL value, typed and escaped by its structural ``schema`` node."""
    schema = schema or {}
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, list):
        items = schema.get("items")
        return celtypes.ListType([to_cel(v, items if isinstance(items, Mapping) else None)
                                  for v in value])
    if isinstance(value, Mapping):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            if key in props:
                out[celtypes.StringType(escape(key))] = to_cel(item, props[key])
            else:
                sub = extra if isinstance(extra, Mapping) else None
                out[celtypes.StringType(key)] = to_cel(item, sub)
        return celtypes.MapType(out)
    return json_to_cel(value)


# --------------------------------------------------------------------------- extension library


def _matches(text: Any, pattern: Any) -> Any:
    return celtypes.BoolType(_re2(str(pattern)).search(str(text)) is not None)


def _is_ip(text: Any) -> Any:
    try:
        ipaddress.ip_address(str(text))
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType("%" not in str(text))


def _split(text: Any, sep: Any, limit: Any = None) -> Any:
    parts = str(text).split(str(sep)) if limit is None or int(limit) < 0 else (
        [] if int(limit) == 0 else str(text).split(str(sep), int(limit) - 1))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _substring(text: Any, start: Any, end: Any = None) -> Any:
    s = str(text)
    stop = len(s) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(s):
        raise ValueError(f"substring({start}, {end}) out of range for {s!r}")
    return celtypes.StringType(s[int(start):stop])


def _index_of(text: Any, sub: Any, start: Any = 0) -> Any:
    return celtypes.IntType(str(text).find(str(sub), int(start)))


def _last_index_of(text: Any, sub: Any) -> Any:
    return celtypes.IntType(str(text).rfind(str(sub)))


def _lower_ascii(text: Any) -> Any:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in str(text)))


def _upper_ascii(text: Any) -> Any:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in str(text)))


def _duration(text: Any) -> Any:
    if isinstance(text, timedelta):
        return celtypes.DurationType(text)
    seconds = parse_duration(str(text))
    if seconds is None:
        raise ValueError(f"invalid duration {str(text)!r}")
    return celtypes.DurationType(timedelta(seconds=seconds))


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class _URL(str):
    """A value made by ``url()``: Go's ``url.ParseRequestURI`` accepted it."""


def _url_ok(text: str) -> bool:
    if any(c.isspace() or ord(c) < 0x20 for c in text) or "#" in text:
        return False
    if text.startswith("/"):
        return True
    if not _SCHEME.match(text):
        return False
    try:
        urlsplit(text)
    except ValueError:
        return False
    return True


def _is_url(text: Any) -> Any:
    return celtypes.BoolType(_url_ok(str(text)))


def _make_url(text: Any) -> Any:
    if not _url_ok(str(text)):
        raise ValueError(f"URL parse error: {str(text)!r}")
    return _URL(str(text))


def _get_scheme(url: Any) -> Any:
    return celtypes.StringType(urlsplit(str(url)).scheme)


_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@dataclass(frozen=True)
class _Quantity:
    """A Kubernetes resource quantity (``500m``, ``4Gi``, ``1e3``) as an exact number."""

    value: Fraction


def _quantity(text: Any) -> Any:
    found = _QUANTITY.fullmatch(str(text))
    if not found:
        raise ValueError(f"quantities must match the regular expression: {str(text)!r}")
    number, suffix = Fraction(found.group(1)), found.group(2) or ""
    if suffix in _BINARY:
        return _Quantity(number * 1024 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return _Quantity(number * Fraction(10) ** _DECIMAL[suffix])
    return _Quantity(number * Fraction(10) ** int(suffix[1:]))


def _is_less(a: Any, b: Any) -> Any:
    return celtypes.BoolType(a.value < b.value)


def _is_greater(a: Any, b: Any) -> Any:
    return celtypes.BoolType(a.value > b.value)


def _compare_to(a: Any, b: Any) -> Any:
    return celtypes.IntType((a.value > b.value) - (a.value < b.value))


class _Format:
    """The ``format`` library's namespace object."""


_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _dns1123_label(_namespace: Any) -> Any:
    return "dns1123Label"


def _format_validate(fmt: Any, text: Any) -> Any:
    if fmt != "dns1123Label":
        raise ValueError(f"unknown format {fmt!r}")
    value = str(text)
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(value):
        problems.append("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric "
                        "character")
    return celtypes.ListType([celtypes.StringType(p) for p in problems]) if problems else None


FUNCTIONS: dict[str, Any] = {
    "matches": _matches, "isIP": _is_ip, "split": _split, "substring": _substring,
    "indexOf": _index_of, "lastIndexOf": _last_index_of, "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii, "duration": _duration, "url": _make_url, "isURL": _is_url,
    "getScheme": _get_scheme, "quantity": _quantity, "isLessThan": _is_less,
    "isGreaterThan": _is_greater, "compareTo": _compare_to, "dns1123Label": _dns1123_label,
    "validate": _format_validate,
}


# --------------------------------------------------------------------------- optional syntax

_CHAIN = re.compile(r"([A-Za-z_]\w*)((?:\s*\.\??\s*[A-Za-z_]\w*(?!\w|\s*\())+)")
_SEGMENT = re.compile(r"\.(\??)\s*([A-Za-z_]\w*)")
_OR_VALUE = re.compile(r"\.orValue\(\s*([^()]*?)\s*\)")


def desugar_optionals(rule: str) -> str:
    """``has(a.?b.c)`` and ``a.?b.?c.orValue(d)`` rewritten without optional selection.

    Raises ValueError for other uses of optional syntax (none in the vendored CRDs)."""
    if ".?" not in rule:
        return rule
    out = []
    pos = 0
    for found in _CHAIN.finditer(rule):
        segments = _SEGMENT.findall(found.group(2))
        if not any(opt for opt, _ in segments):
            continue
        base = found.group(1)
        names = [name for _, name in segments]
        first = next(i for i, (opt, _) in enumerate(segments) if opt)
        full = ".".join([base, *names])
        guards = [f"has({'.'.join([base, *names[:i + 1]])})" for i in range(first, len(names))]
        before = rule[pos:found.start()]
        after = rule[found.end():]
        or_value = _OR_VALUE.match(after)
        if before.rstrip().endswith("has("):
            stripped = before.rstrip()[:-4]
            out.append(f"{stripped}({' && '.join(guards)}")
        elif or_value:
            out.append(f"{before}({' && '.join(guards)} ? {full} : {or_value.group(1)})")
            pos = found.end() + or_value.end()
            continue
        else:
            raise ValueError(f"unsupported optional selection in CEL rule: {rule!r}")
        pos = found.end()
    out.append(rule[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- programs

class _Evaluator(Evaluator):
    """cel-python's interpreter with CEL's error semantics for ``exists_one``: an element
    whose predicate fails to evaluate makes the macro an error *value*, which ``true || e``
    absorbs (cel-python raises it instead, past the short circuit)."""

    def sub_evaluator(self, ast: Any) -> Any:
        return _Evaluator(ast, activation=self.activation)

    def member_dot_arg(self, tree: Any) -> Any:
        if tree.children[1].value != "exists_one":
            return super().member_dot_arg(tree)
        items = self.visit(tree.children[0])
        if isinstance(items, CELEvalError):
            return items
        predicate = self.build_ss_macro_eval(tree)
        count = 0
        for item in items:
            result = predicate(item)
            if isinstance(result, CELEvalError):
                return result
            count += bool(result)
        return celtypes.BoolType(count == 1)


class _Runner(celpy.InterpretedRunner):
    def evaluate(self, context: Any) -> Any:
        return _Evaluator(ast=self.ast, activation=self.new_activation()).evaluate(context)


_ENV = celpy.Environment(runner_class=_Runner)
_FORMAT = _Format()


@dataclass(frozen=True)
class Rule:
    """One compiled rule; ``error`` says why it cannot run (then ``program`` is None)."""

    text: str
    program: Any
    error: str | None
    transition: bool


@functools.cache
def compile_rule(text: str) -> Rule:
    """The rule compiled once per process."""
    transition = re.search(r"\boldSelf\b", text) is not None
    try:
        program = _ENV.program(_ENV.compile(desugar_optionals(text)), functions=FUNCTIONS)
    except (ValueError, CELParseError) as exc:
        return Rule(text, None, f"cannot compile CEL rule: {str(exc).splitlines()[0]}",
                    transition)
    return Rule(text, program, None, transition)


def evaluate(rule: Rule, self_value: Any) -> str | None:
    """None when ``rule`` holds for ``self_value`` (a :func:`to_cel` value); else why not."""
    if rule.program is None:
        return rule.error
    try:
        result = rule.program.evaluate({"self": self_value, "format": _FORMAT})
    except Exception as exc:  # cel-python raises its own and Python errors alike
        return f"evaluation error: {str(exc)[:200]}"
    if isinstance(result, CELEvalError):
        return f"evaluation error: {str(result)[:200]}"
    if isinstance(result, (bool, celtypes.BoolType)) and bool(result):
        return None
    return "false"
