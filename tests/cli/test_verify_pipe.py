"""``verify -o json`` writes its report in pieces from a second thread
(:func:`ing2gw.output.write_pieces`), or, with two workers, from two processes
(:func:`ing2gw.output.write_list`): a reader that leaves early (``| head``) ends nothing but
the writing -- no traceback, and the exit code is still the verdict; a reader that stays gets
the whole report, the same as written at once. Real processes and pipes."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
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


# The console entry with the report's rows in batches of 16 (the input's 900 rows in some 60
# batches: enough for two processes to share them)
_SMALL_PIECES = ("import sys, ing2gw.verify as v; v.PIECE_ROWS = 16; from ing2gw.cli import main; "
                 "sys.argv[0] = 'ing2gw'; main()")


def _verify(path: Path, *args: str, read: int | None, small: bool = False) -> tuple[int, bytes, str]:
    """(exit code, what was read of stdout, stderr) of ``ing2gw verify -o json``, its stdout
    closed after ``read`` bytes (None: read to the end); ``small``: the rows in small batches."""
    start = ["-c", _SMALL_PIECES] if small else ["-m", "ing2gw"]
    with subprocess.Popen([sys.executable, *start, "verify", "-f", str(path), "-q", "-o", "json",
                           "--allow-unprotected", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as command:
        assert command.stdout is not None and command.stderr is not None
        got = command.stdout.read() if read is None else command.stdout.read(read)
        command.stdout.close()
        err = command.stderr.read().decode()
        return command.wait(timeout=120), got, err


@pytest.mark.parametrize("fail_on, verdict", [("never", 0), ("any", 1)])
@pytest.mark.parametrize("shared", [False, True])
def test_a_reader_gone_leaves_the_verdict(ingresses: Path, fail_on: str, verdict: int, shared: bool) -> None:
    """``shared``: the rows in batches small enough for two processes to write them (with
    --workers 2), the whole report the same as one process writes."""
    workers = ("--workers", "2" if shared else "1")
    code, whole, err = _verify(ingresses, "--fail-on", fail_on, *workers, read=None, small=shared)
    report = json.loads(whole)
    assert code == verdict and err == "" and report["summary"]["differ"] > 0
    assert len(whole) > 1 << 20  # (more than a pipe holds: the writer meets the closed pipe)
    if shared:
        _, alone, _ = _verify(ingresses, "--fail-on", fail_on, "--workers", "1", read=None)
        assert _ELAPSED.sub(b"", whole) == _ELAPSED.sub(b"", alone)
    for read in (0, 100, len(whole) // 2):
        code, got, err = _verify(ingresses, "--fail-on", fail_on, *workers, read=read, small=shared)
        assert (code, err) == (verdict, ""), read
        assert len(got) == read and _ELAPSED.sub(b"", whole).startswith(_ELAPSED.sub(b"", got)), read


_ELAPSED = re.compile(rb'"elapsed_s": [0-9.]+')  # (the one figure that differs from run to run)


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


def _numbered(batches: int, failing: int | None = None) -> Any:
    """A JsonList of ``batches`` batches, each naming itself and the process that made it
    (``failing``: the batch whose making raises)."""
    from ing2gw.yamlio import JsonList

    def piece(i: int) -> bytes:
        if i == failing:
            raise ValueError(f"batch {i} made wrong")
        return f"({i}:{os.getpid()})".encode() * (5000 + i)  # (several batches more than a pipe holds)

    return JsonList(b"<", batches, piece, b">")


def _expected(batches: int, makers: dict[int, int]) -> bytes:
    return b"<" + b"".join((b"," if i else b"[") + f"({i}:{makers[i]})".encode() * (5000 + i)
                           for i in range(batches)) + b">"


def _makers(written: bytes) -> dict[int, int]:
    """Which process made each batch of what was written."""
    return {int(i): int(pid) for i, pid in re.findall(rb"[\[,]\((\d+):(\d+)\)", written)}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_write_list_shares_the_batches_with_a_helper() -> None:
    """write_list with two processes: this one makes and writes the even runs of batches, a
    forked helper the odd ones, each in its turn: the file holds every batch in order, the same as
    one process writes, and the helper is gone when it returns. Too few batches, one process
    or a stream without a descriptor: every batch made here."""
    from ing2gw.output import SHARED_BATCHES, SHARED_RUN, write_list

    me = os.getpid()
    for batches in (SHARED_BATCHES, SHARED_BATCHES + 1, 41):
        with tempfile.TemporaryFile() as out:
            write_list(_numbered(batches), out, 2)
            out.seek(0)
            written = out.read()
        makers = _makers(written)
        helper = makers[SHARED_RUN]
        assert helper != me and set(makers.values()) == {me, helper}
        assert makers == {i: helper if i // SHARED_RUN % 2 else me for i in range(batches)}
        assert written == _expected(batches, makers)
        assert _gone(helper)
    for batches, processes, memory in ((SHARED_BATCHES - 1, 2, False), (41, 1, False), (41, 2, True)):
        out2: Any = io.BytesIO() if memory else tempfile.TemporaryFile()
        with out2:
            write_list(_numbered(batches), out2, processes)
            out2.seek(0)
            written = out2.read()
        assert written == _expected(batches, dict.fromkeys(range(batches), me))


@pytest.mark.parametrize("failing", [0, 5, 9])
def test_write_list_a_batch_made_wrong(failing: int) -> None:
    """A batch whose making fails, here (an even run) or in the helper (an odd one): the
    error is raised here (the helper's as RuntimeError: its own went nowhere), what was
    written is whole batches in order (those of the runs before the batch's, but for the
    helper's last one when the batch was this process's: the helper is stopped at once), and
    no helper is left."""
    from ing2gw.output import SHARED_RUN, write_list

    helpers = failing // SHARED_RUN % 2 == 1
    with tempfile.TemporaryFile() as out:
        with pytest.raises(RuntimeError if helpers else ValueError):
            write_list(_numbered(20, failing), out, 2)
        out.seek(0)
        written = out.read()
    makers = _makers(written)
    upto, run = len(makers), failing // SHARED_RUN * SHARED_RUN
    assert sorted(makers) == list(range(upto))
    assert upto == run if helpers else upto in (max(run - SHARED_RUN, 0), run)
    assert written == _expected(upto, makers)[:-1] if upto else written == b"<"
    assert all(_gone(pid) for pid in makers.values() if pid != os.getpid())


def test_write_list_a_reader_gone() -> None:
    """A reader (another process) that leaves after part of the list: BrokenPipeError here,
    whichever process met the closed pipe, and no helper left; what the reader read is the
    list's start."""
    from ing2gw.output import write_list

    for keep in (1, 100_000, 600_000):
        with tempfile.TemporaryFile() as kept, subprocess.Popen(["head", "-c", str(keep)], stdin=subprocess.PIPE,
                                                                  stdout=kept) as reader:
            assert reader.stdin is not None
            with pytest.raises(BrokenPipeError):
                write_list(_numbered(41), reader.stdin, 2)
            reader.stdin.close()
            reader.wait()
            kept.seek(0)
            got = kept.read()
        makers = _makers(got)
        assert len(got) == keep and got == _expected(41, {i: makers.get(i, 0) for i in range(41)})[:keep]
        assert all(_gone(pid) for pid in makers.values() if pid != os.getpid())
