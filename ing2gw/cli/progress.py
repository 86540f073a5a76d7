"""Progress on stderr for long runs: nothing in pipes or CI logs, a status line on a terminal.

:func:`progress` is a context manager; the command calls ``step("probing requests")`` (and
may pass ``done``/``total`` counts) as it goes. Nothing is shown before the run has taken
:data:`DELAY` seconds, so quick runs print nothing; then one line is redrawn in place a few
times a second and erased at the end; with a count, it shows the count's rate since the step
began too (``verify: requests replayed 120000 (48,000/s, 35 s)``). Only when stderr is a terminal;
``NO_COLOR`` does not apply (it is not colour), but the line is plain text.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["DELAY", "Step", "progress"]

DELAY = 2.0  # seconds before the first progress line
_TICK = 0.25

Step = Callable[..., None]


class _Line:
    def __init__(self, command: str, stream: TextIO) -> None:
        self.command = command
        self.stream = stream
        self.text = "starting"
        self.done: int | None = None
        self.total: int | None = None
        self.start = time.monotonic()
        self.counted = (self.start, 0)  # when the step began, and its count then
        self.shown = 0  # width of the line on screen
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def step(self, text: str, done: int | None = None, total: int | None = None) -> None:
        with self.lock:
            if text != self.text:  # the rate is of this step's count
                self.counted = (time.monotonic(), done or 0)
            self.text, self.done, self.total = text, done, total

    def draw(self) -> None:
        with self.lock:
            count = ""
            now = time.monotonic()
            took = f"{now - self.start:.0f} s"
            if self.done is not None:
                count = f" {self.done}" + (f"/{self.total}" if self.total else "")
                since, before = self.counted
                if now - since >= 1:
                    took = f"{(self.done - before) / (now - since):,.0f}/s, {took}"
            line = f"{self.command}: {self.text}{count} ({took})"
            pad = max(self.shown - len(line), 0)
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
            self.shown = len(line)

    def erase(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()

    def run(self) -> None:
        if self.stop.wait(DELAY):
            return
        while not self.stop.is_set():
            self.draw()
            self.stop.wait(_TICK)


@contextmanager
def progress(command: str, stream: TextIO | None = None, enabled: bool = True) -> Iterator[Step]:
    """``with progress("diff") as step: step("converting")``; shown only on a terminal."""
    out = stream if stream is not None else sys.stderr
    if not enabled or not out.isatty():
        yield lambda *args, **kwargs: None
        return
    line = _Line(command, out)
    thread = threading.Thread(target=line.run, name="ing2gw-progress", daemon=True)
    thread.start()
    try:
        yield line.step
    finally:
        line.stop.set()
        thread.join()
        with line.lock:
            line.erase()
