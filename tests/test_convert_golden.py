"""Golden conversions: every ``testdata/convert/**/input.yaml`` folder.

A case folder holds ``input.yaml``, optionally ``args`` (extra ``convert`` flags, shell
syntax) and ``exit-code`` (the expected exit code, 0 when absent: 1 where a protection is lost
and not accepted), ``expected.yaml`` (stdout) and ``expected-notes.json`` (the notes, by code,
level, subject, field and fidelity -- never by prose). Every expected output must validate against
the Gateway API CRD schemas. ``ING2GW_UPDATE_GOLDEN=1`` rewrites the expected files.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from support import TESTDATA, UPDATE_GOLDEN

CASES = sorted(p.parent for p in (TESTDATA / "convert").rglob("input.yaml"))


def _notes_of(stderr: str) -> list[dict[str, str]]:
    out = []
    for line in stderr.splitlines():
        level, code, rest = line.split(": ", 2)
        subject, _, _ = rest.partition(": ")
        field = ""
        if subject.endswith("]") and " [" in subject:
            subject, field = subject[:-1].split(" [", 1)
        out.append({"level": level, "code": code, "subject": subject, "field": field})
    return out


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(TESTDATA / "convert")) for c in CASES])
def test_golden(case: Path, ing2gw) -> None:
    args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    r = ing2gw(["convert", "-f", str(case / "input.yaml"), "--fail-on", "never", *args])
    expected_exit = int((case / "exit-code").read_text()) if (case / "exit-code").exists() else 0
    assert r.exit_code == expected_exit, r.stderr
    notes = _notes_of(r.stderr)
    expected_yaml = case / "expected.yaml"
    expected_notes = case / "expected-notes.json"
    if UPDATE_GOLDEN:
        expected_yaml.write_text(r.stdout)
        expected_notes.write_text(json.dumps(notes, indent=2) + "\n")
    assert r.stdout == expected_yaml.read_text()
    assert notes == json.loads(expected_notes.read_text())


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(TESTDATA / "convert")) for c in CASES])
def test_golden_output_is_valid(case: Path) -> None:
    from ing2gw.schema import validate

    args = (case / "args").read_text() if (case / "args").exists() else ""
    channel = "experimental" if "--experimental" in args else "standard"
    for doc in yaml.safe_load_all((case / "expected.yaml").read_text()):
        errors = validate(doc, channel=channel)
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors}"
