"""Shared fixtures: the CLI runner, paths to testdata and ../shared, golden-file updating."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SHARED


def _pin_hypothesis_constants() -> None:
    """Hypothesis mixes into what it generates constants it reads from the local (ing2gw)
    modules imported so far, so a test's examples depend on which tests ran before it in the
    same process: with tests spread over processes (pytest -n 2) they changed from run to run
    even with derandomize. Pinned to none here, every process generates the same examples."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "_local_constants"):
        providers._get_local_constants = lambda: providers._local_constants  # the empty pool, never filled


_pin_hypothesis_constants()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


class _Main:
    """Lets CliRunner drive ``ing2gw.cli.main`` itself, with its error -> exit-code mapping."""

    name = "ing2gw"

    def main(self, args: list[str], prog_name: str | None = None, **_: object) -> object:
        from ing2gw.cli import main

        return main(list(args))


@pytest.fixture
def ing2gw():
    """``ing2gw(args, input=None) -> click.testing.Result`` (stdout and stderr apart)."""
    runner = CliRunner()

    def run(args: list[str], input: str | bytes | None = None):
        return runner.invoke(_Main(), list(args), input=input, catch_exceptions=False)  # type: ignore[arg-type]

    return run
