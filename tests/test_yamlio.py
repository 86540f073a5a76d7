"""YAML/JSON reading and writing: line numbers, List flattening, round trips."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ing2gw.errors import InputError
from ing2gw.yamlio import dump_json, dump_yaml, iter_yaml, parse_documents

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53), max_value=2**53),
    st.text(max_size=20),
    st.sampled_from(["yes", "no", "on", "off", "y", "n", "null", "~", "1_000", "0x1F", "0o17", "1e3",
                     "2024-01-01", "12:30", "*.example.com", "-x", "a: b", "a #b", "'q'", '"d"', " lead",
                     "trail ", "", ".inf", "True", "line\nbreak", "tab\there", "é", "\x01"]),
)
keys = st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["yes", "on", "y", "n", "1", "null", "a b"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(keys, values, max_size=5), min_size=1, max_size=3))
def test_dump_round_trips_through_yaml_1_1_and_1_2(docs: list[dict]) -> None:
    text = dump_yaml(docs)
    assert list(yaml.safe_load_all(text)) == docs  # PyYAML: YAML 1.1, as kubectl reads
    assert [d.obj for d in parse_documents(text, "x")] == docs


def test_lines_and_list_items() -> None:
    text = "kind: A\nmetadata: {name: a}\n---\n# c\napiVersion: v1\nkind: List\nitems:\n- kind: B\n- kind: C\n"
    docs = parse_documents(text, "f.yaml")
    assert [(d.obj["kind"], d.origin) for d in docs] == [("A", "f.yaml:1"), ("B", "f.yaml:8"), ("C", "f.yaml:9")]


def test_json_input_and_json_array() -> None:
    docs = parse_documents(json.dumps([{"kind": "A"}, {"kind": "B"}]), "f.json")
    assert [d.obj["kind"] for d in docs] == ["A", "B"]
    docs = parse_documents('{"kind": "List", "items": [{"kind": "X"}]}', "g.json")
    assert [d.obj for d in docs] == [{"kind": "X"}]


def test_kubernetes_scalars() -> None:
    (doc,) = parse_documents("a: 2024-01-01T00:00:00Z\nb: !!str 5\nc: 0x10\nd: yes\ne: 1.5\nf: ~\n", "f")
    assert doc.obj == {"a": "2024-01-01T00:00:00Z", "b": "5", "c": 16, "d": "yes", "e": 1.5, "f": None}


def test_merge_keys_and_anchors_fall_back_to_ruamel() -> None:
    (doc,) = parse_documents("base: &b {x: 1}\nd:\n  <<: *b\n  y: !!int '2'\n", "f")
    assert doc.obj == {"base": {"x": 1}, "d": {"x": 1, "y": 2}}


@pytest.mark.parametrize("text,line,what", [
    ("a: 1\nb: [2\n", 3, "malformed YAML"),
    ("a: 1\na: 2\n", 2, "duplicate key"),
    ("x: 1\n---\n- 1\n", 3, "mapping"),
    ("\tfoo: 1\n", 1, "malformed YAML"),
    ('{"a": 1\n', 2, "malformed"),
])
def test_errors_name_file_and_line(text: str, line: int, what: str) -> None:
    with pytest.raises(InputError) as err:
        parse_documents(text, "in.yaml")
    msg = str(err.value)
    assert msg.startswith(f"in.yaml:{line}:") and what in msg and "\n" not in msg


def test_yaml_1_2_flow_mappings_libyaml_refuses() -> None:
    # The case-file example of `ing2gw route`: ':' and '?' inside flow mappings.
    (doc,) = parse_documents("r: {path: /api/x?a=1, weights: {shop/api-v1:8080: 90}}\n", "c.yaml")
    assert doc.obj == {"r": {"path": "/api/x?a=1", "weights": {"shop/api-v1:8080": 90}}}


json_values = st.recursive(
    st.one_of(scalars, st.floats(allow_nan=False, allow_infinity=False), st.text(alphabet=st.characters(
        max_codepoint=0x3000, exclude_categories=("Cs",)), max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def _stdlib_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dump_json_is_the_stdlib_layout(value: object) -> None:
    """orjson writes ``-o json``: same bytes as ``json.dumps(indent=2, ensure_ascii=False)``,
    except floats, which are written shortest-first and read back equal."""
    text = dump_json(value)
    assert json.loads(text) == json.loads(_stdlib_json(value))
    if not _has_float(value):
        assert text == _stdlib_json(value)


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    return False


def test_dump_json_other_mappings_and_what_orjson_refuses() -> None:
    from types import MappingProxyType

    from ruamel.yaml.scalarfloat import ScalarFloat

    assert dump_json({"m": MappingProxyType({"x": (1, 2)}), 3: ScalarFloat(1.5)}) == (
        '{\n  "m": {\n    "x": [\n      1,\n      2\n    ]\n  },\n  "3": 1.5\n}\n')
    # beyond 64 bits and lone surrogates: the standard library writes them
    assert dump_json({"n": 2**70}) == _stdlib_json({"n": 2**70})
    assert dump_json(["\ud800"]) == _stdlib_json(["\ud800"])
    assert dump_json([1e-05, 1e16]) == "[\n  0.00001,\n  1e+16\n]\n"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=3), st.lists(json_values, max_size=12), st.integers(1, 5),
       st.sampled_from(["before", "inside", "after", None]))
def test_json_pieces_join_to_dump_json(around: dict[str, Any], items: list[Any], size: int, big: str | None) -> None:
    """json_pieces writes a top-level list a batch at a time: joined, the pieces are
    dump_json of the whole document, whatever the batches; a batch orjson refuses (an integer
    beyond 64 bits) is written by the standard library, and so is the whole document when
    what comes before the list is refused."""
    from ing2gw.yamlio import json_pieces

    value = {"first": around, "rows": [], "last": [1, {"x": None}]}
    if big == "before":
        value["first"] = {"n": 2**70}
    if big == "after":
        value["last"] = [2**70]
    rows = [*items, {"n": 2**70}] if big == "inside" else items
    batches = [rows[i:i + size] for i in range(0, len(rows), size)]
    plain: list[bool] = []

    def made(batch: list[Any], stdlib: bool) -> list[Any]:
        plain.append(stdlib)
        return batch

    joined = b"".join(json_pieces(value, "rows", batches, made))
    whole = dump_json({**value, "rows": rows})
    assert json.loads(joined) == json.loads(whole)
    if not _has_float(value) and not _has_float(rows) or big in ("before", "after"):  # (all through one encoder)
        assert joined == whole.encode()
    assert any(plain) == (big is not None and bool(rows))


def test_iter_yaml_chunks_whole_documents_and_joins_to_dump_yaml() -> None:
    from ing2gw.output import format_manifests, stream_manifests
    from ing2gw.yamlio import _CHUNK_LINES, iter_yaml

    docs = [{"kind": "HTTPRoute", "metadata": {"name": f"r{i}", "namespace": f"ns{i % 7}"},
             "spec": {"rules": [{"matches": [{"path": {"type": "PathPrefix", "value": f"/p{j}"}}]}
                                for j in range(i % 9)]}} for i in range(3 * _CHUNK_LINES // 10)]
    chunks = list(iter_yaml(docs))
    assert len(chunks) > 1  # several chunks, each made of whole documents
    assert all(c.startswith("---\n") and c.endswith("\n") for c in chunks)
    assert "".join(chunks) == dump_yaml(docs) == "".join(dump_yaml([d]) for d in docs)
    assert sum(c.count("---\n") for c in chunks) == len(docs)
    for fmt in ("yaml", "json"):
        assert b"".join(stream_manifests(docs, fmt)) == format_manifests(docs, fmt).encode()
    assert list(iter_yaml([])) == [] and dump_yaml([]) == ""


def _plain_emit(value: Any, indent: str, out: list[str]) -> None:
    """The block emitter as first written (one function, a temporary list per sequence item):
    the reference the fast emitter must match byte for byte."""
    from ing2gw.yamlio import _inline, _is_map, _is_seq, _literal_ok, _scalar

    if _is_map(value):
        deeper = indent + "  "
        for k, v in value.items():
            key = _scalar(k)
            if v and _is_map(v):
                out.append(f"{indent}{key}:\n")
                _plain_emit(v, deeper, out)
            elif v and _is_seq(v):
                out.append(f"{indent}{key}:\n")
                _plain_emit(v, indent, out)
            elif type(v) is str and "\n" in v and _literal_ok(v):
                out.append(f"{indent}{key}: |{'' if v.endswith(chr(10)) else '-'}\n")
                out.extend(f"{deeper}{line}\n" if line else "\n" for line in v.rstrip("\n").split("\n"))
            else:
                out.append(f"{indent}{key}: {_inline(v)}\n")
        return
    cut = len(indent) + 2
    for item in value:
        if item and (_is_map(item) or _is_seq(item)):
            lines: list[str] = []
            _plain_emit(item, indent + "  ", lines)
            lines[0] = f"{indent}- " + lines[0][cut:]
            out.extend(lines)
        else:
            out.append(f"{indent}- {_inline(item)}\n")


def _plain_dump(objects: list[Any]) -> str:
    out: list[str] = []
    for obj in objects:
        out.append("---\n")
        if obj:
            _plain_emit(obj, "", out)
        else:
            out.append("{}\n")
    return "".join(out)


class _View(Mapping[str, Any]):
    """A mapping that is not a dict (the emitter's general path)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


nested = st.recursive(
    scalars | st.sampled_from(["a\nb\n", "x\n  y", "two\n\nlines", "end\n"]),
    lambda inner: (st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
                   | st.dictionaries(keys, inner, max_size=4)
                   | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3).map(_View)),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(keys, nested, max_size=5) | st.dictionaries(keys, nested, max_size=3).map(_View),
                min_size=1, max_size=3))
def test_fast_emitter_equals_the_plain_one(docs: list[Any]) -> None:
    assert dump_yaml(docs) == _plain_dump(docs)


def _shared_docs(rng: random.Random) -> list[Any]:
    """Documents that hold the same dicts and lists (one object each) in many places: at other
    depths, as mapping values, as sequence items (first or later, in sequences of sequences),
    inside each other, and in later documents."""
    pool: list[Any] = [{"type": "PathPrefix", "value": "/"}, ["a", "b"], {"name": "web", "port": 80},
                       {"namespaces": {"from": "Selector", "values": ["x", "y", "z"]}}, [{"k": "v"}, ["n"]],
                       {"yes": "no", "multi": "a\nb\n"}, [[1, 2], {}], {"e": {}, "l": []}]

    def build(depth: int) -> Any:
        roll = rng.random()
        if roll < 0.3 or depth > 4:
            return rng.choice(pool)
        if roll < 0.45:
            return rng.choice(["s", 1, None, "yes", "a: b", ""])
        if roll < 0.75:
            made: Any = {f"k{i}": build(depth + 1) for i in range(rng.randint(1, 4))}
        else:
            made = [build(depth + 1) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            pool.append(made)  # a container holding shared ones, shared in turn
        return made

    return [{"kind": "K", "spec": build(0), "more": [build(1), build(1)]} for _ in range(rng.randint(1, 6))]


@pytest.mark.parametrize("seed", range(40))
def test_shared_objects_are_written_alike_everywhere(seed: int) -> None:
    """The writer writes a dict or list several containers hold once per place (by identity):
    byte for byte what writing each occurrence does."""
    docs = _shared_docs(random.Random(seed))
    assert dump_yaml(docs) == _plain_dump(docs)
    assert "".join(iter_yaml(docs)) == "".join(dump_yaml([d]) for d in docs)


def test_only_shared_objects_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer keeps text only for objects held more than once (its memory stays small)."""
    from ing2gw import yamlio

    remembered: list[int] = []
    real = yamlio._emit_shared

    def spy(value: Any, *args: Any) -> None:
        remembered.append(id(value))
        real(value, *args)

    monkeypatch.setattr(yamlio, "_emit_shared", spy)
    shared_map, shared_list = {"a": 1}, [{"b": 2}]
    docs = [{"m": {"x": 1}, "l": [{"y": 2}, [3]], "s": shared_map, "t": shared_list, "u": [shared_map]}
            for _ in range(3)]
    dump_yaml(docs)
    assert set(remembered) == {id(shared_map), id(shared_list)}
    assert len(remembered) == 9
