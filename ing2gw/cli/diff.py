"""``ing2gw diff``: what a change means after migration, for pull requests."""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click

from ..cases import load_cases, request_of
from ..convert import ConvertOptions
from ..diff import Side, build_side, diff_sides, incremental_sides
from ..errors import ExitCode, UsageError
from ..plugins import discover
from ..report import render
from ..resources import build_resource_set
from ..sources import read_paths
from ..yamlio import Document, dump_json
from .common import make_convert_options
from .options import conversion_options


def _read(spec: str, paths: tuple[str, ...], use_git: bool, recursive: bool) -> list[Document]:
    if use_git:
        if spec == ".":  # the work tree, as it is on disk
            existing = [p for p in paths or (".",) if Path(p).exists()]
            return read_paths(existing, recursive=True) if existing else []
        from ..gitread import read_revision

        return read_revision(spec, paths)
    if paths:
        raise UsageError("paths after -- need --git")
    return read_paths([spec], recursive=recursive)


Job = tuple[ConvertOptions, tuple[str, ...]]
_DOCS: dict[str, list[Document]] = {}  # label -> documents, inherited by a forked worker


def _side(label: str, job: Job) -> Side:
    options, disabled = job
    return build_side(label, _DOCS[label], options, discover(disabled))


def _both_sides(base: str, head: str, job: Job) -> tuple[Side, Side]:
    """Both sides converted: only what the change can affect when that is provably enough
    (:func:`ing2gw.diff.incremental_sides`), else everything -- BASE in a forked worker while
    this process does HEAD (two cores, half the wall time)."""
    options, disabled = job
    quick = incremental_sides((base, _DOCS[base]), (head, _DOCS[head]), options, discover(disabled))
    if quick is not None:
        return quick
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _side(base, job), _side(head, job)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        future = pool.submit(_side, base, job)
        head_side = _side(head, job)
        return future.result(), head_side


@click.command(epilog="Exit codes with --exit-code: 0 no difference, 1 differences, >1 error (as kubectl diff).")
@click.argument("base")
@click.argument("head")
@click.argument("paths", nargs=-1)
@click.option("--git", "use_git", is_flag=True, help="BASE and HEAD are git revisions; read PATHS at each.")
@click.option("-R", "--recursive", is_flag=True, help="Read folders recursively.")
@conversion_options
@click.option("--cases", "cases_file", metavar="FILE", help="Also replay the requests of this case file.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal).")
def diff(base: str, head: str, paths: tuple[str, ...], use_git: bool, recursive: bool, cases_file: str | None,
         fmt: str, exit_code: bool, color: bool | None, **params: Any) -> int:
    """Compare the Gateway API result of BASE and HEAD: objects field by field, and the
    requests that would now be served differently.

    BASE and HEAD are files or folders (Ingresses, Gateway API objects, or both), or with
    --git revisions: ing2gw diff --git origin/main HEAD -- deploy/  ("." is the work tree:
    ing2gw diff --git HEAD . -- deploy/ shows what uncommitted changes do).
    """
    options = make_convert_options(params, build_resource_set([]))
    extra = [request_of(c) for c in load_cases(cases_file)] if cases_file else []
    job = (options, tuple(params.get("disabled_providers") or ()))
    head_label = head if head != base else f"{head} (head)"
    _DOCS[base] = _read(base, paths, use_git, recursive)
    _DOCS[head_label] = _read(head, paths, use_git, recursive)
    try:
        base_side, head_side = _both_sides(base, head_label, job)
    finally:
        _DOCS.clear()
    report = diff_sides(base_side, head_side, extra)
    model = report.to_dict()
    if fmt == "json":
        click.echo(dump_json(model), nl=False)
    elif fmt == "markdown":
        click.echo(render("diff.md.j2", d=model), nl=False)
    else:
        use_color = sys.stdout.isatty() if color is None else color
        text = render("diff.txt.j2", d=model, color=use_color)
        click.echo(text, nl=False, color=use_color)
    return ExitCode.FINDINGS if exit_code and report.has_differences else ExitCode.OK
