"""Shared fixtures: the CLI runner, paths to testdata and ../shared, golden-file updating."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SHARED


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
