"""Progress on stderr: after 2 s on a terminal (checked through a real pty), never in pipes."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ing2gw.cli import progress as progress_module


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_before_the_delay_then_one_line_redrawn_and_erased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "DELAY", 0.3)
    quick = _Tty()
    with progress_module.progress("diff", quick) as step:
        step("converting")
    assert quick.getvalue() == ""  # a run shorter than the delay prints nothing
    slow = _Tty()
    with progress_module.progress("verify", slow) as step:
        step("requests replayed", 10)
        time.sleep(0.6)
        step("requests replayed", 20, 40)
        time.sleep(0.4)
    text = slow.getvalue()
    assert "\rverify: requests replayed 10 (0 s)" in text and "requests replayed 20/40" in text
    assert text.endswith("\r") and text.rstrip("\r").split("\r")[-1].strip() == ""  # erased at the end
    counting = _Tty()  # with a count, the rate since the step began
    with progress_module.progress("verify", counting) as step:
        step("requests replayed", 0)
        time.sleep(1.3)
        step("requests replayed", 5000)
        time.sleep(0.4)
    assert re.search(r"\rverify: requests replayed 5000 \([\d,]+/s, \d+ s\)", counting.getvalue())
    pipe = io.StringIO()
    with progress_module.progress("verify", pipe) as step:
        step("x")
        time.sleep(0.4)
    assert pipe.getvalue() == ""


def _ingresses(n: int) -> str:
    docs = []
    for i in range(n):
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                     "metadata": {"name": f"app{i}", "namespace": "shop"},
                     "spec": {"ingressClassName": "nginx", "rules": [{"host": f"app{i}.example.com", "http": {
                         "paths": [{"path": p, "pathType": "Prefix",
                                    "backend": {"service": {"name": f"app{i}", "port": {"number": 80}}}}
                                   for p in ("/", "/api", "/static")]}}]}})
    return yaml.safe_dump_all(docs)


def _run_on_pty(args: list[str], cwd: Path) -> tuple[int, str, bytes]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="200")
    report = (cwd / "stdout").open("wb")  # a file: a full pipe would block the child
    # The real CLI, with the 2 s delay cut to nothing: whether a line shows must not hang on how
    # busy the machine is (start-up alone can take 2 s under load, the work itself less).
    child = "from ing2gw.cli import main, progress; progress.DELAY = 0.0; main()"
    proc = subprocess.Popen([sys.executable, "-c", child, *args], cwd=cwd, stdout=report, stderr=slave,
                            env=env)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait()
    report.close()
    out = (cwd / "stdout").read_bytes()
    os.close(master)
    return proc.returncode, seen.decode(errors="replace"), out


@pytest.mark.parametrize("command", ["verify", "diff"])
def test_long_runs_show_progress_on_a_terminal_only(command: str, tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    (tmp_path / "base" / "a.yaml").write_text(_ingresses(1))
    (tmp_path / "head" / "a.yaml").write_text(_ingresses(150 if command == "verify" else 800))
    args = (["verify", "-f", "head", "-o", "json"] if command == "verify"
            else ["diff", "base", "head", "-o", "json"])
    code, terminal, stdout = _run_on_pty(args, tmp_path)
    assert code in (0, 1), terminal
    assert stdout.startswith(b"{")  # the report on stdout is untouched
    assert f"\r{command}: " in terminal, terminal[-500:]  # (pipes: the first test)
