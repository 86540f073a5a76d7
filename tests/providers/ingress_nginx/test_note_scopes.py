"""Every note code the ingress-nginx provider can emit is triggered (``note_triggers.py``), and
the note explains only differences of the aspects it declares, on its own rules: never a
request for the neighbour Ingress's host, never an aspect it does not name (issue #11)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import support
from note_triggers import NEIGHBOUR, TRIGGERS

from ing2gw.convert import ConvertOptions
from ing2gw.notes import ASPECTS
from ing2gw.plugins import discover
from ing2gw.provider import ConversionOptions
from ing2gw.resources import build_resource_set
from ing2gw.verification import VerifyOptions, run_verify
from ing2gw.yamlio import Document

ROOT = support.ROOT
SOURCES = [*sorted((ROOT / "providers" / "ingress_nginx").glob("*.py")), ROOT / "providers" / "_common" / "ingress.py"]
# tr.note(pc, "CODE", ...), tr.note_ann(ing, key, "CODE", ...), Note(code="NGINX-CODE", ...)
_CALL = re.compile(r"\bnote(?:_ann)?\(\s*[^,()]+,\s*(?:[^,()]+,\s*)?\"([A-Z][A-Z0-9-]+)\"")
_LITERAL = re.compile(r"code=\"NGINX-([A-Z0-9-]+)\"")
TABLE_CODES = {"ANNOTATION-APPROXIMATE", "ANNOTATION-EXTENSION", "ANNOTATION-UNSUPPORTED",
               "ANNOTATION-INVALID", "ANNOTATION-UNKNOWN"}
# Codes in the sources that no ingress-nginx conversion can emit, and why.
UNREACHABLE = {
    "PATHTYPE-IMPLEMENTATION-SPECIFIC": "the shared Ingress translator's; ingress-nginx's path_matches treats "
                                        "ImplementationSpecific as Prefix itself",
    "CONTROLLER-CONFIG": "says where the controller ConfigMap was read; it is about no request",
}
CONTROLLER = {"DEFAULT-SERVER", "PATH-NORMALISATION", "DEFAULT-CERTIFICATE"}  # the data plane's own notes


def emittable() -> set[str]:
    codes = set(TABLE_CODES)
    for path in SOURCES:
        text = path.read_text()
        codes |= set(_CALL.findall(text))
        codes |= {c for c in _LITERAL.findall(text) if not c.startswith("MODEL-")}
    return codes - set(UNREACHABLE)


def test_every_code_has_a_trigger() -> None:
    codes = emittable()
    assert len(codes) > 60
    assert codes - CONTROLLER == set(TRIGGERS), (sorted(codes - CONTROLLER - set(TRIGGERS)),
                                                 sorted(set(TRIGGERS) - codes))


def _verify(objects: list[dict[str, Any]], experimental: bool) -> Any:
    docs = [Document(o, f"<trigger>:{i + 1}") for i, o in enumerate([*objects, NEIGHBOUR])]
    rs = build_resource_set(docs)
    options = ConvertOptions(conversion=ConversionOptions(experimental=experimental))
    return run_verify(rs, options, discover(), VerifyOptions(workers=1))


def _host_in(scope_host: str, hostname: str) -> bool:
    if scope_host in ("*", hostname):
        return True
    if scope_host.startswith("*."):
        return hostname.endswith(scope_host[1:])
    return False


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_note_explains_only_its_aspects_on_its_rules(code: str) -> None:
    objects, experimental = TRIGGERS[code]
    done = _verify(objects, experimental)
    full = f"NGINX-{code}"
    mine = [n for n in done.conversion.notes if n.code == full]
    assert mine, f"{full} not emitted; got {sorted({n.code for n in done.conversion.notes})}"
    for note in mine:
        assert note.aspects <= set(ASPECTS), note.aspects
        if note.aspects:
            assert note.scope, f"{full} declares aspects but no scope"
    explained = [(d, n) for d in done.report.differences for n in d.explained_by if n.code == full]
    for d, note in explained:
        assert set(d.aspects) & note.aspects, (d.aspects, note.aspects)
        hostname = d.request["url"].split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()
        assert hostname != "b.example.com", f"{full} explains the neighbour's {d.request['url']}"
        scope_hosts = {h for h, _ in note.scope}
        assert "" in scope_hosts or any(_host_in(h, hostname) for h in scope_hosts), (note.scope, hostname)
    # a note that declares no aspect explains nothing
    assert all(n.aspects for d in done.report.differences for n in d.explained_by)


def test_controller_notes_declare_their_aspects_and_scope() -> None:
    done = _verify(TRIGGERS["SSL-REDIRECT-TRAILING-SLASH"][0], False)
    plane = discover().data_plane("ingress-nginx")
    assert plane is not None
    notes = {n.code: n for n in plane.controller_notes()}
    assert set(notes) == {f"NGINX-{c}" for c in CONTROLLER}
    for d in done.report.differences:
        for n in d.explained_by:
            if n.code in notes:
                assert set(d.aspects) <= n.aspects | {a for m in d.explained_by for a in m.aspects}
                assert set(d.aspects) & n.aspects
    assert notes["NGINX-DEFAULT-CERTIFICATE"].aspects == frozenset({"tls"})
