"""All YAML and JSON reading and writing: the only module that imports ruamel.yaml.

Reading turns a file (or stdin) into :class:`Document` records, one per YAML document,
each with the ``file:line`` where it starts; :meth:`Document.where` gives the ``file:line``
of any field inside it (the text is composed again for that, so positions cost nothing
until an error needs one). ``kind: List`` (and any ``*List`` kind) is
flattened into its items, each keeping its own line. Anything that is not well-formed
input -- malformed YAML, a binary file, an alias bomb, a document that is not a mapping --
raises :class:`~ing2gw.errors.InputError` whose message starts with ``file:line:``.
The plain block YAML most manifests are written in is read line by line
(:mod:`ing2gw.yamlfast`); any other document goes through libyaml and ruamel, and so does a
stream with an error, so objects, lines and messages are the same either way.

Writing produces deterministic YAML or JSON: keys in the order the mappings were built
(emitters build ``apiVersion, kind, metadata, spec``), documents separated by ``---``. A dict
or list that several containers hold (emitters share equal leaves) is written once per place
and its text reused, so objects must not change while they are being written.
"""

from __future__ import annotations

import functools
import gc
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from .errors import InputError
from .yamlfast import Parsed, Span, read_stream

__all__ = ["Document", "SourceText", "dump_json", "dump_yaml", "iter_yaml", "json_bytes", "json_pieces",
           "parse_documents", "read_text"]

# A document whose aliases would expand beyond this many nodes is refused (billion laughs).
MAX_EXPANDED_NODES = 2_000_000


class SourceText:
    """The text a document was read from, composed again on demand to find field lines;
    ``spans`` (each document's offsets and first line, when known) let one document be
    composed alone."""

    __slots__ = ("spans", "text")

    def __init__(self, text: str, spans: Sequence[Span] | None = None) -> None:
        self.text = text
        self.spans = spans


@functools.lru_cache(maxsize=4)
def _composed(source: SourceText) -> list[Any]:
    """Every composed document of ``source`` (the most recent few texts are kept)."""
    try:
        return list(_nodes_c(source.text))
    except YAMLError:
        return list(_nodes_pure(source.text))


@functools.lru_cache(maxsize=64)
def _composed_one(source: SourceText, index: int) -> Any:
    """The composed node of document ``index`` of ``source``: its span alone when known (at
    its own lines), else from the whole text."""
    if source.spans is None or index >= len(source.spans):
        return _composed(source)[index]
    start, end, first = source.spans[index]
    chunk = "\n" * (first - 1) + source.text[start:end]
    try:
        nodes = list(_nodes_c(chunk))
    except YAMLError:
        try:
            nodes = list(_nodes_pure(chunk))
        except YAMLError:
            nodes = []
    return nodes[0] if len(nodes) == 1 else _composed(source)[index]


def _field_parts(path: str) -> list[str | int]:
    """``spec.rules[0].http`` -> ``["spec", "rules", 0, "http"]``; annotation keys may hold dots
    only as the last part (``metadata.annotations.example.com/x``)."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def _line_in(node: Any, parts: list[str | int]) -> int:
    """1-based line of the deepest node of ``parts`` that exists under ``node``."""
    line = int(node.start_mark.line) + 1
    rest = list(parts)
    while rest:
        part = rest.pop(0)
        if isinstance(node, MappingNode):
            for knode, vnode in node.value:
                key = str(getattr(knode, "value", ""))
                if key == part or (isinstance(part, str) and rest and key == ".".join(
                        [part, *(str(p) for p in rest)])):
                    if key != part:
                        rest = []
                    line, node = int(knode.start_mark.line) + 1, vnode
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = int(node.start_mark.line) + 1
        else:
            return line
    return line


@dataclass(frozen=True, slots=True)
class Document:
    """One object read from input: the plain mapping and where it came from."""

    obj: dict[str, Any]
    origin: str  # "path:line" (1-based line of the document or List item)
    # (text, document index, List item index or -1): where to find field lines; None when the
    # object did not come from text (the cluster)
    source: tuple[SourceText, int, int] | None = field(default=None, compare=False, repr=False)

    @property
    def path(self) -> str:
        return self.origin.rsplit(":", 1)[0]

    def where(self, field_path: str) -> str:
        """``file:line`` of ``field_path`` (``spec.rules[0].host``) in this document, or of its
        deepest part that exists; the document's own origin when positions are unknown."""
        if self.source is None or not field_path:
            return self.origin
        text, index, item = self.source
        try:
            node = _composed_one(text, index)
            if item >= 0:
                node = _line_node_item(node, item)
            return f"{self.path}:{_line_in(node, _field_parts(field_path))}"
        except (YAMLError, IndexError, RecursionError):
            return self.origin


def read_text(data: bytes, path: str) -> str:
    """Decode input bytes, refusing binary files with a one-line error."""
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}:1: not a text file (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None


_T_PLAIN = Tag(suffix="tag:yaml.org,2002:str")  # an implicit plain scalar: resolved in _build
_T_STR = Tag(suffix="tag:yaml.org,2002:str")
_T_SEQ = Tag(suffix="tag:yaml.org,2002:seq")
_T_MAP = Tag(suffix="tag:yaml.org,2002:map")


class _FastResolver(VersionedResolver):
    """Skips ruamel's per-scalar regex resolution (the bulk of load time); ``_build`` resolves
    plain scalars itself. Nodes carrying any other tag were tagged explicitly."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            return _T_PLAIN if implicit[0] else _T_STR
        return _T_SEQ if kind is SequenceNode else _T_MAP


def _loader(fast: bool = True) -> YAML:
    y = YAML(typ="safe", pure=False)
    if fast:
        y.Resolver = _FastResolver
    y.allow_duplicate_keys = False
    return y


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Number of nodes the tree would have with every alias expanded (memoised, linear)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive structures
    value = node.value
    total = 1
    if isinstance(value, list):
        for item in value:
            if isinstance(item, tuple):
                total += _expanded_size(item[0], memo) + _expanded_size(item[1], memo)
            else:
                total += _expanded_size(item, memo)
            if total > MAX_EXPANDED_NODES:
                break
    memo[key] = total
    return total


class _Fallback(Exception):
    """The document uses a YAML feature the fast constructor leaves to ruamel (tags, merges)."""


_INT = re.compile(r"[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_PLAIN = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}


def _plain_scalar(text: str) -> Any:
    """YAML 1.2 core-schema resolution of a plain scalar (timestamps stay strings, as in
    Kubernetes, where every timestamp field is a string)."""
    if text in _SPECIAL_PLAIN:
        return _SPECIAL_PLAIN[text]
    first = text[0]
    if first.isdigit() or first in "+-.":
        if _INT.match(text):
            if "0o" in text or "0x" in text:
                return int(text, 0)
            return int(text)
        if _FLOAT.match(text):
            return float(text)
    return text


def _build(node: Any, path: str) -> Any:
    """Construct plain Python data from a composed node tree, fast.

    Handles what Kubernetes manifests use; explicit tags other than ``!!str`` and merge keys
    raise :class:`_Fallback` so ruamel's own constructor takes the document.
    """
    kind = type(node)
    tag = node.ctag
    if kind is ScalarNode:
        if tag is _T_PLAIN:
            return _plain_scalar(node.value)
        if tag is _T_STR or tag.suffix in ("tag:yaml.org,2002:str", "str"):
            return node.value
        raise _Fallback
    if tag is not _T_MAP and tag is not _T_SEQ:
        raise _Fallback
    if kind is MappingNode:
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = _build(knode, path)
            if key == "<<" and type(knode) is ScalarNode and not knode.style:
                raise _Fallback
            if isinstance(key, (dict, list)):
                raise _Fallback
            if key in out:
                line = int(knode.start_mark.line) + 1
                raise InputError(f"{path}:{line}: malformed YAML: duplicate key {key!r}")
            out[key] = _build(vnode, path)
        return out
    if kind is SequenceNode:
        return [_build(item, path) for item in node.value]
    raise _Fallback


def _slow_load(text: str, node: Any, path: str) -> Any:
    """Load one document with ruamel's own resolver and constructor (explicit tags, merges)."""
    start = int(node.start_mark.index)
    # Keep line numbers right for errors: pad with the newlines that precede the document.
    chunk = "\n" * text.count("\n", 0, start) + text[start:int(node.end_mark.index)]
    yaml = _loader(fast=False)
    return yaml.load(chunk)


def _error_line(exc: YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 1


def _error_text(exc: YAMLError) -> str:
    if isinstance(exc, MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        if parts:
            return "malformed YAML: " + "; ".join(str(p) for p in parts)
    return "malformed YAML: " + str(exc).splitlines()[0]


def _line_node_item(node: Any, item: int) -> Any:
    """The node of entry ``item`` of a List document's ``items`` (or of a bare JSON array)."""
    if isinstance(node, SequenceNode):
        return node.value[item]
    for entry in node.value:
        if isinstance(entry, tuple) and getattr(entry[0], "value", None) == "items":
            return entry[1].value[item]
    raise IndexError(item)


def _item_lines(node: Any) -> list[int] | None:
    """1-based lines of the entries of a List document's ``items`` sequence."""
    if not isinstance(node.value, list):
        return None
    for entry in node.value:
        if isinstance(entry, tuple) and getattr(entry[0], "value", None) == "items":
            if isinstance(entry[1], SequenceNode):
                return [int(n.start_mark.line) + 1 for n in entry[1].value]
    return None


def _nodes_c(text: str) -> Iterator[Any]:
    """Composed documents from libyaml (fast)."""
    _, parser = _loader().get_constructor_parser(io.StringIO(text))
    try:
        while parser.check_node():
            yield parser.get_node()
    finally:
        parser.dispose()


def _nodes_pure(text: str) -> Iterator[Any]:
    """Composed documents from ruamel's pure-Python parser, which accepts some YAML 1.2
    that libyaml refuses (``{a: b:c}``, ``{path: /x?y=1}`` in flow mappings)."""
    y = YAML(typ="safe", pure=True)
    y.Resolver = _FastResolver
    y.allow_duplicate_keys = False
    yield from y.compose_all(text)


def _documents(nodes: Iterator[Any], text: str, path: str) -> Iterator[tuple[Any, int, list[int] | None]]:
    """Build each composed document as soon as it is composed (nodes are not kept)."""
    may_alias = "&" in text
    for node in nodes:
        line = int(node.start_mark.line) + 1
        if may_alias and _expanded_size(node, {}) > MAX_EXPANDED_NODES:
            raise InputError(
                f"{path}:{line}: document expands to more than {MAX_EXPANDED_NODES} nodes "
                "through YAML aliases (alias bomb?)"
            )
        try:
            obj = _build(node, path)
        except _Fallback:
            try:
                obj = _slow_load(text, node, path)
            except (TypeError, ValueError) as exc:  # ruamel's constructor on a collection as a key
                raise InputError(f"{path}:{line}: unsupported YAML: {str(exc).splitlines()[0]}") from None
        yield obj, line, _item_lines(node)


def _parse_yaml(text: str, path: str) -> tuple[list[Parsed], list[Span] | None]:
    """``(object, 1-based start line, lines of List items)`` per YAML document, and each
    document's span when known: the line reader of :mod:`ing2gw.yamlfast` where it is sure,
    else the full reader."""
    gc_was_on = gc.isenabled()
    gc.disable()  # building creates no cycles; collecting during a big load only costs time
    try:
        fast = read_stream(text, _plain_scalar, lambda chunk: _parse_yaml_full(chunk, path))
        return fast if fast is not None else (_parse_yaml_full(text, path), None)
    finally:
        if gc_was_on:
            gc.enable()


def _parse_yaml_full(text: str, path: str) -> list[tuple[Any, int, list[int] | None]]:
    """The full reader: libyaml first; ruamel's pure parser when libyaml refuses YAML 1.2
    it does not know."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        try:
            return list(_documents(_nodes_c(text), text, path))
        except YAMLError as exc:
            first = exc
        try:
            return list(_documents(_nodes_pure(text), text, path))
        except YAMLError:
            raise InputError(f"{path}:{_error_line(first)}: {_error_text(first)}") from None
    except RecursionError:
        raise InputError(f"{path}:1: document nests too deeply") from None
    finally:
        if gc_was_on:
            gc.enable()


def _parse_json(text: str, path: str) -> Iterator[tuple[Any, int, list[int] | None]]:
    try:
        yield json.loads(text), 1, None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}:1: document nests too deeply") from None


def _is_list_kind(obj: Mapping[str, Any]) -> bool:
    kind = obj.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list)


def parse_documents(text: str, path: str) -> list[Document]:
    """Parse one input text into documents; ``path`` names it in messages ("-" = stdin)."""
    stripped = text.lstrip()
    looks_json = stripped.startswith(("{", "["))
    raw: Iterable[Parsed]
    spans: list[Span] | None = None
    if looks_json:
        try:
            raw = list(_parse_json(text, path))
        except InputError:
            # JSON-looking YAML flow style ("{a: b}") is still valid YAML.
            raw, spans = _parse_yaml(text, path)
    else:
        raw, spans = _parse_yaml(text, path)
    docs: list[Document] = []
    source = SourceText(text, spans)
    for number, (obj, line, item_lines) in enumerate(raw):
        if obj is None:
            continue  # empty document ("---" with nothing after it)
        if isinstance(obj, list):  # a bare JSON array of objects
            items: list[Any] = obj
        elif isinstance(obj, dict) and _is_list_kind(obj):
            items = obj["items"]
        else:
            items = [obj]
        single = bool(items) and items[0] is obj
        for index, item in enumerate(items):
            if item_lines is not None and items is not obj and index < len(item_lines):
                line = item_lines[index]
            if not isinstance(item, dict):
                raise InputError(
                    f"{path}:{line}: expected a Kubernetes object (a mapping), "
                    f"found {type(item).__name__}"
                )
            if _is_list_kind(item):
                docs.extend(Document(sub, f"{path}:{line}") for sub in item["items"]
                            if isinstance(sub, dict))
                continue
            docs.append(Document(item, f"{path}:{line}", (source, number, -1 if single else index)))
    return docs


# Strings written without quotes: they start with a letter, "_" or "/", hold no character
# with meaning in YAML, and read back as strings in YAML 1.1 (kubectl) and 1.2 alike.
_PLAIN_OK = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./,()-]+)*\Z")
_YAML11_SPECIAL = frozenset(
    "y n yes no on off true false null".split()
)


_SCALAR_CACHE: dict[str, str] = {}


def _scalar(value: Any) -> str:
    if type(value) is str:
        # Keys and common values repeat across documents: remember their rendering.
        hit = _SCALAR_CACHE.get(value)
        if hit is None:
            hit = _string(value)
            if len(_SCALAR_CACHE) < 100_000:
                _SCALAR_CACHE[value] = hit
        return hit
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value) if value == value and value not in (float("inf"), float("-inf")) else (
            ".nan" if value != value else (".inf" if value > 0 else "-.inf"))
    return _string(str(value))


def _string(text: str) -> str:
    if _PLAIN_OK.match(text) and text.lower() not in _YAML11_SPECIAL:
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def _literal_ok(text: str) -> bool:
    """Whether a multi-line string reads back exactly as a literal block (``|`` / ``|-``):
    printable lines, the first not starting with a space (no indentation indicator needed),
    no trailing spaces, at most one final newline."""
    if "\n" not in text.rstrip("\n") or text.endswith("\n\n") or text.startswith("\n"):
        return False
    lines = text.rstrip("\n").split("\n")
    return not lines[0].startswith(" ") and "\t" not in text and all(
        line.isprintable() and line == line.rstrip() for line in lines)


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; every non-printable character escaped by code point."""
    out = ['"']
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_SCALAR_TYPES = frozenset({str, int, bool, float, type(None)})


def _is_map(value: Any) -> bool:
    t = type(value)
    return t is dict or (t not in _SCALAR_TYPES and t is not list and isinstance(value, Mapping))


def _is_seq(value: Any) -> bool:
    t = type(value)
    return t is list or t is tuple


# The text written for a mapping or list that several containers hold (the emitters share
# equal matches, filters, backendRefs, parentRefs and ``allowedRoutes`` between many objects), by
# identity and place: (id, indent, first line's lead) -> (the object, kept so that its id is not
# reused while the memo lives; its text). One memo per :func:`iter_yaml` call.
_Memo = dict[tuple[int, str, str], tuple[Any, str]]


def _one_holder_refs() -> tuple[int, int]:
    """``sys.getrefcount`` of a value that one container holds, seen in the writers' loops over
    a dict's items and a list's items (the loop variable and iteration hold references too):
    a value counted more often is held elsewhere as well, so it may be met again."""
    in_map = in_seq = 0
    mapping: dict[str, dict[str, Any]] = {"k": {}}
    for _, v in mapping.items():
        in_map = sys.getrefcount(v)
    sequence: list[dict[str, Any]] = [{}]
    for item in sequence:
        in_seq = sys.getrefcount(item)
    return in_map, in_seq


_MAP_HELD_ONCE, _SEQ_HELD_ONCE = _one_holder_refs()


def _emit_shared(value: Any, indent: str, out: list[str], lead: str, memo: _Memo,
                 write: Callable[[Any, str, list[str], str, _Memo], None]) -> None:
    """``write(value, indent, ..., lead)``'s lines, from ``memo`` when ``value`` was written at
    the same place before (as one string: a chunk's line count only decides when it ends)."""
    key = (id(value), indent, lead)
    hit = memo.get(key)
    if hit is None:
        part: list[str] = []
        write(value, indent, part, lead, memo)
        hit = memo[key] = (value, "".join(part))
    out.append(hit[1])


def _emit(value: Any, indent: str, out: list[str], memo: _Memo) -> None:
    """Append block-style YAML lines for a mapping or sequence (lists not indented, as kubectl)."""
    if _is_map(value):
        _emit_map(value, indent, out, indent, memo)
    else:
        _emit_seq(value, indent, out, indent + "- ", memo)


def _emit_map(value: Mapping[Any, Any], indent: str, out: list[str], lead: str, memo: _Memo) -> None:
    """A mapping's lines at ``indent``; the first line starts with ``lead`` instead (``- `` when
    the mapping is a sequence item). Plain strings, dicts and lists take the direct paths; a
    dict or list another container holds too is written once (:func:`_emit_shared`)."""
    deeper = indent + "  "
    cache = _SCALAR_CACHE
    held_once = _MAP_HELD_ONCE
    for k, v in value.items():
        key = cache.get(k) if type(k) is str else None
        if key is None:
            key = _scalar(k)
        t = type(v)
        if t is str:
            if "\n" in v and _literal_ok(v):
                out.append(f"{lead}{key}: |{'' if v.endswith(chr(10)) else '-'}\n")
                out.extend(f"{deeper}{line}\n" if line else "\n" for line in v.rstrip("\n").split("\n"))
            else:
                out.append(f"{lead}{key}: {cache.get(v) or _scalar(v)}\n")
        elif t is dict:
            if v:
                out.append(f"{lead}{key}:\n")
                if sys.getrefcount(v) > held_once:
                    _emit_shared(v, deeper, out, deeper, memo, _emit_map)
                else:
                    _emit_map(v, deeper, out, deeper, memo)
            else:
                out.append(f"{lead}{key}: {{}}\n")
        elif t is list:
            if v:
                out.append(f"{lead}{key}:\n")
                if sys.getrefcount(v) > held_once:
                    _emit_shared(v, indent, out, indent + "- ", memo, _emit_seq)
                else:
                    _emit_seq(v, indent, out, indent + "- ", memo)
            else:
                out.append(f"{lead}{key}: []\n")
        elif v and _is_map(v):
            out.append(f"{lead}{key}:\n")
            _emit_map(v, deeper, out, deeper, memo)
        elif v and _is_seq(v):
            out.append(f"{lead}{key}:\n")
            _emit_seq(v, indent, out, indent + "- ", memo)
        else:
            out.append(f"{lead}{key}: {_inline(v)}\n")
        lead = indent


def _emit_seq(value: Any, indent: str, out: list[str], lead: str, memo: _Memo) -> None:
    """A sequence's items at ``indent`` (``- item``); the first line starts with ``lead``."""
    deeper = indent + "  "
    item_lead = indent + "- "
    cache = _SCALAR_CACHE
    held_once = _SEQ_HELD_ONCE
    for item in value:
        t = type(item)
        if t is dict and item:
            if sys.getrefcount(item) > held_once:
                _emit_shared(item, deeper, out, lead, memo, _emit_map)
            else:
                _emit_map(item, deeper, out, lead, memo)
        elif t is str:
            out.append(f"{lead}{cache.get(item) or _scalar(item)}\n")
        elif item and _is_map(item):
            _emit_map(item, deeper, out, lead, memo)
        elif item and _is_seq(item):
            _emit_seq(item, deeper, out, lead + "- ", memo)
        else:
            out.append(f"{lead}{_inline(item)}\n")
        lead = item_lead


def _inline(value: Any) -> str:
    if type(value) is str:
        return _scalar(value)
    if _is_map(value):
        return "{}"
    if _is_seq(value):
        return "[]"
    return _scalar(value)


def dump_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML, each document introduced by ``---``.

    A small emitter of our own: output is plain data (mappings, sequences, strings, numbers,
    booleans), and writing it directly is several times faster than a general YAML dumper.
    Every document reads back identically with ruamel.yaml and PyYAML (tested).
    """
    return "".join(iter_yaml(objects))


# Lines of text per chunk of :func:`iter_yaml` (about 1 MB of output).
_CHUNK_LINES = 40_000


def iter_yaml(objects: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """:func:`dump_yaml`'s text in chunks of whole documents, so that a large output is
    written as it is made instead of being held whole (``"".join`` of the chunks is
    :func:`dump_yaml`)."""
    out: list[str] = []
    memo: _Memo = {}
    for obj in objects:
        out.append("---\n")
        if obj:
            _emit(obj, "", out, memo)
        else:
            out.append("{}\n")
        if len(out) >= _CHUNK_LINES:
            yield "".join(out)
            out = []
    if out:
        yield "".join(out)


def dump_json(value: Any) -> str:
    """``value`` as JSON indented by two spaces, keys in insertion order, non-ASCII as is, with
    a final newline: every ``-o json`` of the product goes through here.

    orjson (C) writes it; its layout is the standard library's ``json.dumps(indent=2,
    ensure_ascii=False)`` byte for byte, except that floats are written shortest-first
    (``0.00001`` for ``1e-05``). What orjson refuses (integers beyond 64 bits, lone
    surrogates) goes through the standard library instead.
    """
    data = json_bytes(value)
    return data.decode() if data is not None else json.dumps(_plain(value), indent=2, ensure_ascii=False) + "\n"


def json_bytes(value: Any) -> bytes | None:
    """:func:`dump_json`'s text as UTF-8 (for a large document: written without a decoded
    copy), or None where only the standard library writes it."""
    try:
        return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        return None


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE

_B = TypeVar("_B")  # a batch of what json_pieces writes rows of


def json_pieces(value: Mapping[str, Any], key: str, batches: Iterable[_B],
                rows: Callable[[_B, bool], list[Any]]) -> Iterator[bytes | memoryview]:
    """:func:`dump_json`'s bytes of ``value`` with ``value[key]`` (a key at the top level,
    where the list is written) the list of every batch's rows, in pieces: concatenated, the
    same bytes. A long list is so written as it is made, a batch at a time, not held whole.

    ``rows(batch, plain)``: a batch's rows as JSON data; with ``plain``, data the standard
    library writes too (no ``orjson.Fragment``). A batch orjson refuses is written by the
    standard library, whose layout is the same (:func:`dump_json`); what precedes the list,
    if orjson refuses it, makes the whole document go through the standard library at once.
    """
    around = json_bytes({**value, key: orjson.Fragment(_HOLE)})
    if around is None:
        yield dump_json({**value, key: [row for batch in batches for row in rows(batch, True)]}).encode()
        return
    before, after = around.split(_HOLE)
    yield before
    opened = False
    for batch in batches:
        made = rows(batch, False)
        if not made:
            continue
        try:  # at the top level's depth: the rows written as they are in the whole document
            text = orjson.dumps({"": made}, default=_json_default, option=_ROWS_OPTIONS)
        except orjson.JSONEncodeError:  # (a key not a string: OPT_NON_STR_KEYS writes it as dump_json does)
            try:
                text = orjson.dumps({"": made}, default=_json_default, option=_FRAGMENT_OPTIONS)
            except orjson.JSONEncodeError:
                text = json.dumps({"": _plain(rows(batch, True))}, indent=2, ensure_ascii=False).encode()
        yield b"," if opened else b"["
        opened = True
        yield memoryview(text)[len(_LIST_OPENED):-len(_LIST_CLOSED)]
    yield (_LIST_CLOSED[:-2] if opened else b"[]") + after


_HOLE = b"\x00"  # never in JSON text (a control character in a string is escaped)
_FRAGMENT_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
# A batch is first written without OPT_NON_STR_KEYS, which costs orjson a slower path for every
# dict (a quarter more time on a verify report's rows), though rows' keys are strings.
_ROWS_OPTIONS = orjson.OPT_INDENT_2
_LIST_OPENED = b'{\n  "": ['  # what a batch {"": rows} is written inside of
_LIST_CLOSED = b"\n  ]\n}"


def _json_default(value: Any) -> Any:
    """What orjson does not write itself: other mappings and sequences, float subclasses."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _plain(value: Any) -> Any:  # used by dump_json's fallback
    """Mappings become dicts (keeping order), other sequences lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
