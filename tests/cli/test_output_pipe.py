"""The large outputs of ``convert`` and ``route`` are written a slice at a time
(:func:`ing2gw.output.echo_bytes`): a reader that stays gets the same bytes as before, one that
leaves early (``| head``) ends nothing but the writing -- no error, and the exit code is still
the command's verdict. Real processes and pipes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import TESTDATA

from ing2gw.output import WRITE_SIZE, write_bytes

SHOP = str(TESTDATA / "examples" / "shop.yaml")


def _run(args: list[str], read: int | None) -> tuple[int, bytes, str]:
    """(exit code, what was read of stdout, stderr) of ``ing2gw ARGS``, its stdout closed after
    ``read`` bytes (None: read to the end)."""
    with subprocess.Popen([sys.executable, "-m", "ing2gw", *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as command:
        assert command.stdout is not None and command.stderr is not None
        got = command.stdout.read() if read is None else command.stdout.read(read)
        command.stdout.close()
        err = command.stderr.read().decode()
        return command.wait(timeout=120), got, err


@pytest.fixture(scope="module")
def gateway_objects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "shop-gateway.yaml"
    done = subprocess.run([sys.executable, "-m", "ing2gw", "convert", "-f", SHOP, "-q", "--fail-on", "never"],
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120, check=True)
    path.write_bytes(done.stdout)
    return path


def _cases(folder: Path, count: int, failing: bool) -> Path:
    cases: list[dict[str, Any]] = [{"name": f"case {i}", "request": {"host": "shop.example.com", "path": f"/p{i}"},
                                    "expect": {"status": 308}} for i in range(count)]
    if failing:
        cases[-1]["expect"] = {"status": 200}
    path = folder / f"cases-{failing}.json"
    path.write_text(json.dumps({"cases": cases}))
    return path


@pytest.mark.parametrize("failing, verdict", [(False, 0), (True, 1)])
def test_route_cases_reader_gone_leaves_the_verdict(gateway_objects: Path, failing: bool, verdict: int) -> None:
    args = ["route", "-f", str(gateway_objects), "--cases", str(_cases(gateway_objects.parent, 3000, failing)),
            "-o", "json"]
    code, whole, notes = _run(args, read=None)
    results = json.loads(whole)
    assert code == verdict and "Error" not in notes  # (notes on the input's assumptions only)
    assert results["summary"] == {"cases": 3000, "passed": 3000 - failing, "failed": int(failing)}
    assert len(whole) > 1 << 20  # (more than a pipe holds, and several slices)
    for read in (0, 100):
        code, got, err = _run(args, read=read)
        assert (code, err) == (verdict, notes), read
        assert whole.startswith(got)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("fail_on, verdict", [("never", 0), ("approximate", 1)])  # (shop.yaml: approximate notes)
def test_convert_reader_gone_leaves_the_verdict(fmt: str, fail_on: str, verdict: int) -> None:
    args = ["convert", "-f", SHOP, "-q", "--fail-on", fail_on, "-o", fmt]
    code, whole, err = _run(args, read=None)
    assert (code, err) == (verdict, "")
    assert b"kind: HTTPRoute" in whole if fmt == "yaml" else any(
        o["kind"] == "HTTPRoute" for o in json.loads(whole)["items"])
    for read in (0, 10):
        code, got, err = _run(args, read=read)
        assert (code, err) == (verdict, ""), read
        assert whole.startswith(got)


def test_write_bytes_slices() -> None:
    """Each call writes at most WRITE_SIZE bytes; together, the data as it was."""

    class Calls(io.BytesIO):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def write(self, piece: Any) -> int:
            self.sizes.append(len(piece))
            return super().write(piece)

    data = bytes(range(256)) * (3 * WRITE_SIZE // 256 + 7)
    for given in (data, memoryview(data), data[:100]):
        out = Calls()
        write_bytes(given, out)
        assert out.getvalue() == bytes(given)
        assert max(out.sizes) <= WRITE_SIZE and len(out.sizes) == -(-len(given) // WRITE_SIZE)


def test_echo_to_a_text_only_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller that puts a text stream without bytes beneath in place of standard output
    gets the text there, the same as dump_json gives."""
    from ing2gw.output import echo_json, echo_text
    from ing2gw.yamlio import dump_json

    value = {"status": 200, "host": "é.example.com", "big": 1 << 70}  # (the standard library writes this one)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    echo_json(value)
    echo_text("end\n")
    assert out.getvalue() == dump_json(value) + "end\n"
