"""``diff`` parses a document HEAD has unchanged only once (:mod:`ing2gw.diff.reading`): HEAD's
documents must be those of parsing its files whole -- objects, origins, field lines -- on
generated streams (comments, empty documents, bare first documents, Lists, block scalars,
CRLF), and a broken HEAD gives the same error. So must BASE's, parsed whole or in two halves
(one in a forked worker, as large streams are)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ing2gw.convert import ConvertOptions
from ing2gw.diff import build_side, reading
from ing2gw.diff.reading import SharedParse
from ing2gw.errors import InputError
from ing2gw.plugins import discover
from ing2gw.sources import parse_file
from ing2gw.yamlio import Document

FIELDS = ["metadata.name", "spec.rules[0].host", "spec.rules[0].http.paths[1].path", "spec.tls[0].secretName",
          "metadata.annotations.nginx.ingress.kubernetes.io/rewrite-target", "spec.nothing"]


def _ingress(i: int, rnd: random.Random) -> str:
    lines = ["apiVersion: networking.k8s.io/v1", "kind: Ingress", "metadata:", f"  name: app{i}",
             f"  namespace: ns{i % 3}"]
    if rnd.random() < 0.3:
        lines += ["  annotations:", "    nginx.ingress.kubernetes.io/rewrite-target: /",
                  "    note: |", "      a block scalar", "        --- not a marker (indented)", "      end"]
    lines += ["spec:", "  ingressClassName: nginx", "  rules:", f"  - host: h{i}.example.com", "    http:",
              "      paths:"]
    for p in range(rnd.randint(1, 3)):
        lines += [f"      - path: /p{p}", "        pathType: Prefix", "        backend:",
                  "          service: {name: web, port: {number: 80}}"]
    if rnd.random() < 0.3:
        lines += ["  tls:", f"  - hosts: [h{i}.example.com]", f"    secretName: s{i}"]
    return "\n".join(lines) + "\n"


def _stream(docs: list[str], rnd: random.Random) -> str:
    out = []
    if rnd.random() < 0.5:
        out.append("# a comment before anything\n")
    for n, doc in enumerate(docs):
        if n == 0 and out == [] and rnd.random() < 0.5:
            out.append(doc)  # a bare first document
            continue
        marker = rnd.choice(["---\n", "--- \n", "---  # comment\n"])
        out.append(marker + doc)
        if rnd.random() < 0.1:
            out.append("---\n")  # an empty document
        if rnd.random() < 0.1:
            out.append("\n# trailing comment\n")
    return "".join(out)


def _as_list(doc: str) -> str:
    items = "\n".join("  " + line if line else line for line in doc.splitlines())
    return "apiVersion: v1\nkind: List\nitems:\n-" + items[1:] + "\n"


def _same_documents(got: list[Document], want: list[Document]) -> None:
    assert [(d.obj, d.origin) for d in got] == [(d.obj, d.origin) for d in want]
    for g, w in zip(got, want, strict=True):
        assert [g.where(f) for f in FIELDS] == [w.where(f) for f in FIELDS]


def _check(base: str, head: str) -> None:
    shared = SharedParse()
    got_base = shared.base(base.encode(), "base.yaml")
    got = shared.head(head.encode(), "head.yaml")
    _same_documents(got_base, parse_file(base.encode(), "base.yaml"))
    _same_documents(got, parse_file(head.encode(), "head.yaml"))


@pytest.fixture(params=["whole", "halves"])
def base_in_halves(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """BASE and HEAD's changed documents parsed whole, or in two halves (one in a forked worker)
    as large streams are."""
    if request.param == "halves":
        monkeypatch.setattr(reading, "_WORTH_A_WORKER", 2)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.usefixtures("base_in_halves")
def test_head_documents_are_those_of_a_whole_parse(seed: int) -> None:
    rnd = random.Random(seed)
    docs = [_ingress(i, rnd) for i in range(30)]
    if seed % 3 == 0:
        docs[5] = _as_list(docs[5])
    base = _stream(docs, rnd)
    for _ in range(8):
        changed = list(docs)
        for i in rnd.sample(range(len(changed)), rnd.randint(0, 4)):
            changed[i] = changed[i].replace("/p0", "/q0").replace("Prefix", "Exact", 1)
        if rnd.random() < 0.3:
            changed.insert(rnd.randrange(len(changed)), _ingress(100, rnd))
        if rnd.random() < 0.3:
            del changed[rnd.randrange(len(changed))]
        head = _stream(changed, rnd)
        if seed % 2:
            head = head.replace("\n", "\r\n")
        _check(base, head)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.usefixtures("base_in_halves")
def test_many_changed_documents_are_parsed_together_and_placed_back(seed: int) -> None:
    """HEAD's new documents are parsed in one call: runs of them, at the start and the end,
    Lists (one inside a List too), empty documents and a last one without a line break."""
    rnd = random.Random(100 + seed)
    docs = [_ingress(i, rnd) for i in range(40)]
    docs[7] = _as_list(docs[7])
    docs[8] = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n" + "".join(
        "  - " + _ingress(200 + k, rnd).replace("\n", "\n    ").rstrip() + "\n" for k in range(2))
    base = _stream(docs, rnd)
    for _ in range(6):
        changed = [d.replace("/p0", "/n0") if rnd.random() < 0.6 else d for d in docs]
        changed[0] = changed[0].replace("/p0", "/first")
        changed[-1] = changed[-1].replace("/p0", "/last")
        head = _stream(changed, rnd)
        if rnd.random() < 0.5:
            head = head.rstrip("\n")
        if seed % 2:
            head = head.replace("\n", "\r\n")
        _check(base, head)


@pytest.mark.usefixtures("base_in_halves")
def test_breaks_that_are_not_split_by_lines() -> None:
    """A lone CR, a Unicode line break, or a directive on the first line: the
    stream is parsed whole, with the same documents."""
    rnd = random.Random(4)
    docs = [_ingress(i, rnd) for i in range(4)]
    text = "".join("---\n" + d for d in docs)
    for head in (text.replace("\n", "\r", 3), text.replace("name: app2", "name: \"app\u20282\""),
                 "%YAML 1.2\n" + text, "%YAML 1.2\n---\n" + docs[0]):
        _check(text, head)


@pytest.mark.usefixtures("base_in_halves")
def test_a_broken_base_or_head_gives_the_whole_parse_error() -> None:
    rnd = random.Random(1)
    docs = [_ingress(i, rnd) for i in range(5)]
    base = "".join("---\n" + d for d in docs)
    head = base.replace("  name: app3\n", "  name: [app3\n", 1)
    shared = SharedParse()
    shared.base(base.encode(), "base.yaml")
    with pytest.raises(InputError) as got:
        shared.head(head.encode(), "head.yaml")
    with pytest.raises(InputError) as want:
        parse_file(head.encode(), "head.yaml")
    assert str(got.value) == str(want.value) and "head.yaml:" in str(got.value)
    for broken in (head, base.replace("  name: app4\n", "  name: [app4\n", 1)):  # in either half
        with pytest.raises(InputError) as got:
            SharedParse().base(broken.encode(), "base.yaml")
        with pytest.raises(InputError) as want:
            parse_file(broken.encode(), "base.yaml")
        assert str(got.value) == str(want.value)


@pytest.mark.usefixtures("base_in_halves")
def test_directives_and_json_are_parsed_whole() -> None:
    rnd = random.Random(2)
    docs = [_ingress(i, rnd) for i in range(4)]
    for text in ("%YAML 1.1\n---\n" + "---\n".join(docs), "".join("---\n" + d + "...\n" for d in docs)):
        _check(text, text)
    _check('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}',
           '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}')


def test_conversion_leaves_shared_objects_alone() -> None:
    """BASE and HEAD share the objects of unchanged documents: converting one side must not
    change them."""
    rnd = random.Random(3)
    text = "".join("---\n" + _ingress(i, rnd) for i in range(20))
    shared = SharedParse()
    docs = shared.base(text.encode(), "base.yaml")
    head = shared.head(text.encode(), "head.yaml")
    assert all(a.obj is b.obj for a, b in zip(docs, head, strict=True))
    before: list[dict[str, Any]] = copy.deepcopy([d.obj for d in docs])
    build_side("b", docs, ConvertOptions(), discover())
    assert [d.obj for d in head] == before
