"""Golden conversions of the implementation emitters: ``testdata/emit/<emitter>/<case>/``.

A case holds ``input.yaml``, optionally ``args`` (extra ``convert`` flags) and ``exit-code``
(1 where a protection the target cannot express is lost), ``expected.yaml`` (stdout) and
``expected-notes.json`` (every note: level, code, subject, field and the message -- the message
is the point here: it states each target's difference in words and the Secret layout the user
must create). Every object of every expected output must validate against the target's vendored
CRDs (OpenAPI schema and CEL rules) and the Gateway API CRDs, and no object may be of a kind
neither knows. ``ING2GW_UPDATE_GOLDEN=1`` rewrites the expected files.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from support import TESTDATA, UPDATE_GOLDEN

from ing2gw.emit.registry import emitter_crds
from ing2gw.schema.crds import Schemas

ROOT = TESTDATA / "emit"
CASES = sorted(p.parent for p in ROOT.rglob("input.yaml"))


def _notes_of(stderr: str) -> list[dict[str, str]]:
    out = []
    for line in stderr.splitlines():
        level, code, rest = line.split(": ", 2)
        subject, _, message = rest.partition(": ")
        field = ""
        if subject.endswith("]") and " [" in subject:
            subject, field = subject[:-1].split(" [", 1)
        out.append({"level": level, "code": code, "subject": subject, "field": field, "message": message})
    return out


def _emitter(case: Path) -> str:
    return case.relative_to(ROOT).parts[0]


def _args(case: Path) -> list[str]:
    return shlex.split((case / "args").read_text()) if (case / "args").exists() else []


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(ROOT)) for c in CASES])
def test_golden(case: Path, ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(case / "input.yaml"), "--emitter", _emitter(case), "--fail-on", "never",
                "--no-color", *_args(case)])
    expected_exit = int((case / "exit-code").read_text()) if (case / "exit-code").exists() else 0
    assert r.exit_code == expected_exit, r.stderr
    notes = _notes_of(r.stderr)
    if UPDATE_GOLDEN:
        (case / "expected.yaml").write_text(r.stdout)
        (case / "expected-notes.json").write_text(json.dumps(notes, indent=2) + "\n")
    assert r.stdout == (case / "expected.yaml").read_text()
    assert notes == json.loads((case / "expected-notes.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(ROOT)) for c in CASES])
def test_golden_output_is_valid_for_the_target(case: Path) -> None:
    channel = "experimental" if "--experimental" in _args(case) else "standard"
    schemas = Schemas(emitter_crds(_emitter(case)), channel)
    for doc in yaml.safe_load_all((case / "expected.yaml").read_text()):
        errors = schemas.validate(doc)
        assert errors is not None, f"{doc['kind']}: no schema knows this kind"
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors}"
