"""All YAML and JSON reading and writing: the only module that imports ruamel.yaml.

Reading turns a file (or stdin) into :class:`Document` records, one per YAML document,
each with the ``file:line`` where it starts. ``kind: List`` (and any ``*List`` kind) is
flattened into its items, each keeping its own line. Anything that is not well-formed
input -- malformed YAML, a binary file, an alias bomb, a document that is not a mapping --
raises :class:`~ing2gw.errors.InputError` whose message starts with ``file:line:``.

Writing produces deterministic YAML or JSON: keys in the order the mappings were built
(emitters build ``apiVersion, kind, metadata, spec``), documents separated by ``---``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import SafeRepresenter

from .errors import InputError

__all__ = ["Document", "dump_json", "dump_yaml", "read_text", "parse_documents"]

# A document whose aliases would expand beyond this many nodes is refused (billion laughs).
MAX_EXPANDED_NODES = 2_000_000


@dataclass(frozen=True, slots=True)
class Document:
    """One object read from input: the plain mapping and where it came from."""

    obj: dict[str, Any]
    origin: str  # "path:line" (1-based line of the document or List item)

    @property
    def path(self) -> str:
        return self.origin.rsplit(":", 1)[0]


def read_text(data: bytes, path: str) -> str:
    """Decode input bytes, refusing binary files with a one-line error."""
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}:1: not a text file (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None


def _loader() -> YAML:
    y = YAML(typ="safe", pure=False)
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


def _error_line(exc: YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 1


def _error_text(exc: YAMLError) -> str:
    if isinstance(exc, MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        if parts:
            return "malformed YAML: " + "; ".join(str(p) for p in parts)
    return "malformed YAML: " + str(exc).splitlines()[0]


def _item_lines(node: Any) -> list[int] | None:
    """1-based lines of the entries of a List document's ``items`` sequence."""
    if not isinstance(node.value, list):
        return None
    for entry in node.value:
        if isinstance(entry, tuple) and getattr(entry[0], "value", None) == "items":
            seq = entry[1].value
            if isinstance(seq, list):
                return [int(n.start_mark.line) + 1 for n in seq]
    return None


def _parse_yaml(text: str, path: str) -> Iterator[tuple[Any, int, list[int] | None]]:
    """Yield ``(object, 1-based start line, lines of List items)`` per YAML document."""
    yaml = _loader()
    constructor, parser = yaml.get_constructor_parser(io.StringIO(text))
    may_alias = "&" in text
    try:
        while parser.check_node():
            node = parser.get_node()
            line = int(node.start_mark.line) + 1
            if may_alias and _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                raise InputError(
                    f"{path}:{line}: document expands to more than {MAX_EXPANDED_NODES} nodes "
                    "through YAML aliases (alias bomb?)"
                )
            yield constructor.construct_document(node), line, _item_lines(node)
    except YAMLError as exc:
        raise InputError(f"{path}:{_error_line(exc)}: {_error_text(exc)}") from None
    except RecursionError:
        raise InputError(f"{path}:1: document nests too deeply") from None
    finally:
        parser.dispose()


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
    looks_json = stripped.startswith("{") or stripped.startswith("[")
    raw: Iterable[tuple[Any, int, list[int] | None]]
    if looks_json:
        try:
            raw = list(_parse_json(text, path))
        except InputError:
            # JSON-looking YAML flow style ("{a: b}") is still valid YAML.
            raw = list(_parse_yaml(text, path))
    else:
        raw = list(_parse_yaml(text, path))
    docs: list[Document] = []
    for obj, line, item_lines in raw:
        if obj is None:
            continue  # empty document ("---" with nothing after it)
        if isinstance(obj, list):  # a bare JSON array of objects
            items: list[Any] = obj
        elif isinstance(obj, dict) and _is_list_kind(obj):
            items = obj["items"]
        else:
            items = [obj]
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
            docs.append(Document(item, f"{path}:{line}"))
    return docs


# Plain scalars that YAML 1.1 readers (kubectl's go-yaml among them) would not read back as
# strings; the dumper quotes them.
_YAML11_SPECIAL = frozenset(
    "y n yes no on off true false null ~ .nan .inf -.inf".split()
)


class _Representer(SafeRepresenter):
    def represent_str(self, data: str) -> Any:
        if data.lower() in _YAML11_SPECIAL:
            return self.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return super().represent_str(data)


_Representer.add_representer(str, _Representer.represent_str)


def _dumper() -> YAML:
    y = YAML(typ="safe", pure=False)
    y.Representer = _Representer
    y.default_flow_style = False
    y.width = 4096
    y.allow_unicode = True
    y.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    return y


def dump_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML, each document introduced by ``---``."""
    buf = io.StringIO()
    _dumper().dump_all([_plain(o) for o in objects], buf)
    text = buf.getvalue()
    return text if text.startswith("---") or not text else "---\n" + text


def dump_json(value: Any) -> str:
    return json.dumps(_plain(value), indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    """Mappings become dicts (keeping order), other sequences lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
