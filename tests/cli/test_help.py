"""Every command's --help lists its exit codes and mentions only options it has."""

from __future__ import annotations

import re

import click
import pytest

from ing2gw.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lists_exit_codes_and_only_real_options(name: str, ing2gw) -> None:
    r = ing2gw([name, "--help"])
    assert r.exit_code == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert re.search(r"Exit codes: 0 [^;]+;", text), f"{name} --help lists no exit codes"
    command = _command(name)
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    # options named in the prose (description and epilog), not in the option table
    prose = r.stdout.split("Options:")[0] + r.stdout.split("Options:")[-1].split("Exit codes:")[-1]
    prose = re.sub(r"-\n\s+", "-", prose)  # options wrapped at a hyphen
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])", prose))
    # an option of another command is fine when the text names that command ("fails `convert` unless ...")
    elsewhere = {o for other in COMMANDS if other != name and re.search(rf"\b{other}\b", prose)
                 for p in _command(other).params for o in p.opts}
    assert mentioned <= known | elsewhere, \
        f"{name} --help mentions options it does not have: {sorted(mentioned - known - elsewhere)}"


def _command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


def test_every_exit_code_in_help_is_documented(ing2gw) -> None:
    from support import ROOT

    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| (\d+) \|", readme, re.M))
    for name in COMMANDS:
        text = ing2gw([name, "--help"]).stdout
        codes = set(re.findall(r"(?:Exit codes: |; )(\d+) ", " ".join(text.split())))
        assert codes <= table, f"{name}: exit codes {codes - table} are not in the README's table"
