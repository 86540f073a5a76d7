"""The line reader (ing2gw.yamlfast) against the full reader: same objects, lines and errors.

Every case parses a text twice through :func:`ing2gw.yamlio.parse_documents`: as shipped
(the line reader where it is sure) and with the line reader switched off (libyaml and ruamel
only). The two must give the same documents -- objects compared with their types, origins,
the lines ``where`` gives for fields (one document composed alone, against the whole text)
-- or the same one-line error. Inputs: every YAML file under
testdata/, generated manifests written by three writers, and many random edits of them
(which make most of the invalid and unusual YAML the line reader must leave alone).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from ing2gw import yamlfast, yamlio
from ing2gw.errors import InputError
from ing2gw.yamlio import dump_yaml, parse_documents, read_text

ROOT = Path(__file__).resolve().parent.parent


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type beside it (1, 1.0 and True are not equal here)."""
    if type(value) is dict:
        return ("map", [(_typed(k), _typed(v)) for k, v in value.items()])
    if type(value) is list:
        return ("seq", [_typed(v) for v in value])
    if type(value) is float:
        return ("float", repr(value))
    return (type(value).__name__, value)


def _parse(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(yamlio, "read_stream", lambda *args: None)
        try:
            docs = parse_documents(text, "in.yaml")
        except InputError as exc:
            return ("error", str(exc))
        return [(_typed(d.obj), d.origin, d.source[1:] if d.source else None, [d.where(f) for f in FIELDS])
                for d in docs]


# Field paths whose lines are compared (Document.where composes one document when it can)
FIELDS = ["spec.rules[0].http.paths[1].backend", "metadata.name", "metadata.annotations.a/b", "spec.extra",
          "spec.rules[0].host", "items[1].spec", "kind", "nothing.here"]


def _same(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, full = _parse(text, True, monkeypatch), _parse(text, False, monkeypatch)
    assert fast == full, text


def _handled(text: str) -> bool:
    """Does the line reader read every document of ``text`` itself?"""
    slow_calls: list[str] = []

    def slow(chunk: str) -> list[yamlfast.Parsed]:
        slow_calls.append(chunk)
        return yamlio._parse_yaml_full(chunk, "x")

    return yamlfast.read_stream(text, yamlio._plain_scalar, slow) is not None and not slow_calls


def _yaml_files() -> list[Path]:
    return sorted(p for p in (ROOT / "testdata").rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def test_every_testdata_file(monkeypatch: pytest.MonkeyPatch) -> None:
    handled = 0
    done: dict[str, bool] = {}  # a text checked already (a copy in another folder) is the same check
    for path in _yaml_files():
        try:
            text = read_text(path.read_bytes(), str(path))
        except InputError:
            continue
        if text not in done:
            _same(text, monkeypatch)
            done[text] = _handled(text)
        handled += done[text]
    assert handled > 200  # the line reader really reads most of them


# Scalars YAML 1.1 and 1.2 read differently, or that need quotes, or that look like syntax.
TRICKY = ["yes", "no", "on", "off", "y", "n", "Y", "NO", "True", "FALSE", "null", "Null", "~", "", " ", "0",
          "017", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.5", ".5", "-1", "+1", "-.inf", ".NaN", "12:30",
          "1:20:30", "2024-01-01", "2024-01-01T00:00:00Z", "=", "<<", "-", "--", "---", "...", "- x", "a: b",
          "a:b", "a #b", "a#b", "#x", "'q'", '"d"', "it's", " lead", "trail ", "*.example.com", "&a", "!t",
          "%p", "@x", "`x", "|", ">", "[x]", "{x}", "?x", ":x", "/api/v1", "http://a:80/x", "line\nbreak",
          "two\n\nbreaks\n", "tail\n", "\nlead", "é", "a\\b", "k:{\"p\":80}", "x" * 1030]
KEYS = ["name", "namespace", "yes", "on", "1", "null", "a b", "items", "kind", "x.y/z", "~", "- k", "k:v",
        "'s'", "<<", "true", "007"]


def _scalar(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(TRICKY)
    if roll < 0.6:
        return rng.choice([None, True, False, 0, 7, -3, 1.5, 2**40])
    return "".join(rng.choice("abcxyz-./:_ 0189#'\"") for _ in range(rng.randint(1, 12)))


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return _scalar(rng)
    if roll < 0.75:
        return {rng.choice(KEYS) if rng.random() < 0.5 else _scalar(rng) if rng.random() < 0.2 else f"k{i}":
                _value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _manifest(rng: random.Random, i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "networking.k8s.io/v1", "kind": rng.choice(["Ingress", "List", "Service"]),
                           "metadata": {"name": f"app{i}", "annotations": {"a/b": _scalar(rng)}}}
    if doc["kind"] == "List":
        doc["items"] = [{"kind": "Ingress", "metadata": {"name": f"item{j}"}, "spec": _value(rng, 2)}
                        for j in range(rng.randint(0, 3))]
    else:
        doc["spec"] = {"rules": [{"host": _scalar(rng), "http": {"paths": [
            {"path": _scalar(rng), "backend": {"service": {"name": _scalar(rng), "port": {"number": 80}}}}
            for _ in range(rng.randint(1, 3))]}}], "extra": _value(rng, 1)}
    return doc


def _writers(docs: list[dict[str, Any]], rng: random.Random) -> Iterator[str]:
    yield dump_yaml(docs)
    yield yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False,
                        indent=rng.choice([2, 4]), width=rng.choice([40, 80, 10_000]),
                        allow_unicode=rng.random() < 0.5, explicit_start=rng.random() < 0.5)
    yield yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=None)
    out = io.StringIO()
    ry = YAML(typ="safe", pure=True)
    ry.default_flow_style = False
    ry.dump_all(docs, out)
    yield out.getvalue()


EDITS = [" ", "  ", ":", ": ", "-", "- ", "#", " #", "'", '"', "|", "|-", "\n", "\n  ", "\n---\n", "&a ", "*a",
         "!x ", "{", "}", "[", "]", "{}", ">", "%", "@", "`", "\\", "?", ",", "\t", "\r", "\x85", "\ufeff", "a", "1",
         "...", "<<: ", "é"]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(text) + 1)
        roll = rng.random()
        if roll < 0.4:
            text = text[:pos] + rng.choice(EDITS) + text[pos:]
        elif roll < 0.7:
            text = text[:pos] + text[pos + rng.randint(1, 4):]
        else:
            text = text[:pos] + rng.choice(EDITS) + text[pos + 1:]
    return text


@pytest.mark.parametrize("seed", range(3))
def test_generated_and_mutated(seed: int, monkeypatch: pytest.MonkeyPatch, rounds: int = 8) -> None:
    rng = random.Random(seed)
    handled = 0
    for round_ in range(rounds):
        docs = [_manifest(rng, round_ * 10 + i) for i in range(rng.randint(1, 3))]
        for text in _writers(docs, rng):
            _same(text, monkeypatch)
            handled += _handled(text)
            for _ in range(8):
                _same(_mutate(text, rng), monkeypatch)
    assert handled > 5


def test_the_bench_shape_is_read_by_the_line_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl/PyYAML block style (the convert bench's input) never needs the full reader."""
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    docs = [{"apiVersion": "v1", "kind": "Ingress", "metadata": {"name": f"a{i}", "annotations": {}},
             "spec": {"rules": [{"host": f"h{i}.example.com", "http": {"paths": [
                 {"path": "/", "pathType": "Prefix", "backend": backend}]}}],
                 "tls": [{"hosts": [f"h{i}.example.com"], "secretName": "s"}]}} for i in range(20)]
    text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)
    assert _handled(text)
    _same(text, monkeypatch)


@pytest.mark.parametrize("text", [
    "a: 1\n", "a:\n- 1\n- 2\nb: 3\n", "a:\n  - x: 1\n    y: 2\n  - z\n", "- a: 1\n  b:\n  - c\n- d\n",
    "a: |\n  x\n  y\n\nb: 1\n", "a: |-\n  x\n\n  y\n\n\n", "a: |\n  x\n  # not a comment\n# a comment\nb: 2\n",
    "a: |\n  x", "a: |\n    deep\n  shallow\n", "k: |\n\n  x\n", "k: |\n  x\n   \n", "a: 'it''s' # c\n",
    "a: \"q\" \n", "a: 'x' y\n", "'k': v\n\"k2\" : v\n", "a: b: c\n", "a: b:\n", "a: b #c\n", "a: {} # c\n",
    "a: []\n", "a: { }\n", "a:\n  b\n", "a: b\n  c\n", "a:\n    b: 1\n  c: 2\n", "- - a\n", "-\n  a: 1\n",
    "a: 1\na: 2\n", "1: a\n01: b\n", "true: a\nTrue: b\n", "x: 1\n---\n- 1\n", "---\n---\na: 1\n...\n",
    "%YAML 1.2\n---\na: 1\n", "# only\n", "", "---\n", "--- # c\na: 1\n", "--- a\n", "a: 1\n--- \nb: 2\n",
    "  a: 1\n  b: 2\n", "a: 1\n b: 2\n", "a:\n- x\n - y\n", "kind: List\nitems:\n- kind: A\n- kind: B\n",
    "kind: List\nitems: []\n", "items:\n  a: b\nkind: List\n", "kind: List\nitems:\n- 1\n",
    "a: -1\nb: -x\nc: --\n", "a: ? x\n", "a: :x\n", "a: x:y\n", "a: x\t\n", "a: \xa0x\n", "a: x\u2028y\n",
    "\ufeffa: 1\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "<<: {a: 1}\n", "a: >\n  x\n", "a: |2\n   x\n",
    "a: |+\n  x\n\n", "a: | # c\n  x\n", "a: \"x\\ty\"\n", "a: 'multi\n  line'\n", "a: plain\n\n  more\n",
    "k" * 1100 + ": v\n", "a: x #c\nx #c: 1\n", "a: -x\n-x: 1\n", "a: 'q'\n'q': 1\n", "a: x \nx : 1\n",
    "a : b\n", "a:b\n", "- a\nb: 1\n", "a:\n  - b\nc:\n-\n", "a: #c\n  b: 1\n",
])
def test_edge_cases(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(text, monkeypatch)
