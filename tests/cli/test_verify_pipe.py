"""``verify -o json`` writes its report in pieces from a second thread
(:func:`ing2gw.output.write_pieces`): a reader that leaves early (``| head``) ends nothing
but the writing -- no traceback, and the exit code is still the verdict; a reader that
stays gets the whole report, the same as written at once. Real processes and pipes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ROOT


@pytest.fixture(scope="module")
def ingresses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("bench_convert", ROOT / "bench" / "convert.py")
    assert spec is not None and spec.loader is not None
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    path = tmp_path_factory.mktemp("pipe") / "ingresses.yaml"
    path.write_text(convert.generate(60, namespaces=3))
    return path


def _verify(path: Path, *args: str, read: int | None) -> tuple[int, bytes, str]:
    """(exit code, what was read of stdout, stderr) of ``ing2gw verify -o json``, its stdout
    closed after ``read`` bytes (None: read to the end)."""
    with subprocess.Popen([sys.executable, "-m", "ing2gw", "verify", "-f", str(path), "-q", "-o", "json",
                           "--allow-unprotected", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as command:
        assert command.stdout is not None and command.stderr is not None
        got = command.stdout.read() if read is None else command.stdout.read(read)
        command.stdout.close()
        err = command.stderr.read().decode()
        return command.wait(timeout=120), got, err


@pytest.mark.parametrize("fail_on, verdict", [("never", 0), ("any", 1)])
def test_a_reader_gone_leaves_the_verdict(ingresses: Path, fail_on: str, verdict: int) -> None:
    code, whole, err = _verify(ingresses, "--fail-on", fail_on, read=None)
    report = json.loads(whole)
    assert code == verdict and err == "" and report["summary"]["differ"] > 0
    assert len(whole) > 1 << 20  # (more than a pipe holds: the writer meets the closed pipe)
    for read in (0, 100):
        code, got, err = _verify(ingresses, "--fail-on", fail_on, read=read)
        assert (code, err) == (verdict, ""), read
        assert whole.startswith(got)


def test_write_pieces_in_order_and_errors_where_they_belong() -> None:
    """write_pieces writes every piece in order; an error making the first piece leaves
    nothing written, one making a later piece is raised after what was made is written; an
    error writing is raised to the caller and stops the making."""
    import io

    from ing2gw.output import write_pieces

    pieces = [bytes([i]) * (i * 1000 + 1) for i in range(40)]
    out = io.BytesIO()
    write_pieces([*pieces[:20], *(memoryview(p) for p in pieces[20:])], out)
    assert out.getvalue() == b"".join(pieces)

    def failing(after: int) -> Iterator[bytes]:
        yield from pieces[:after]
        raise ValueError("made wrong")

    for after in (0, 3):
        out = io.BytesIO()
        with pytest.raises(ValueError, match="made wrong"):
            write_pieces(failing(after), out)
        assert out.getvalue() == b"".join(pieces[:after])

    class Gone(io.BytesIO):
        def write(self, piece: Any) -> int:
            if self.tell() > 5000:
                raise BrokenPipeError(32, "Broken pipe")
            return super().write(piece)

    made = [0]

    def counted() -> Iterator[bytes]:
        for piece in pieces:
            made[0] += 1
            yield piece

    with pytest.raises(BrokenPipeError):
        write_pieces(counted(), Gone())
    assert made[0] < 20  # (the making stopped: at most what the queue holds beyond the failed piece)


def test_write_pieces_writes_a_large_piece_a_slice_at_a_time() -> None:
    """A piece larger than WRITE_SIZE reaches the file in writes of at most WRITE_SIZE bytes
    (a file's page cache takes a write in folios as large as the write: slow to allocate on a
    VM), the same bytes in the same order; smaller pieces are written whole."""
    import io

    from ing2gw.output import WRITE_SIZE, write_pieces

    sizes: list[int] = []

    class Recording(io.BytesIO):
        def write(self, piece: Any) -> int:
            sizes.append(len(piece))
            return super().write(piece)

    large = bytes(range(256)) * (3 * WRITE_SIZE // 256 + 7)  # three slices and a part
    small = b"small"
    out = Recording()
    write_pieces([small, large, memoryview(large)[1:], small], out)
    assert out.getvalue() == small + large + large[1:] + small
    assert max(sizes) == WRITE_SIZE
    assert sizes[:6] == [len(small), WRITE_SIZE, WRITE_SIZE, WRITE_SIZE, len(large) - 3 * WRITE_SIZE, WRITE_SIZE]
    assert sizes[-1] == len(small)
