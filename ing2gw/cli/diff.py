"""``ing2gw diff``: what a change means after migration, for pull requests."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..cases import load_cases, request_of
from ..convert import ConvertOptions
from ..diff import DiffReport, Side, build_side, diff_sides
from ..diff.parallel import both_sides
from ..diff.reading import Parse, SharedParse
from ..diff.units import plan, same_gateways
from ..errors import ExitCode, UsageError
from ..notes import Note
from ..output import echo_text
from ..plugins import discover
from ..report import render, render_within
from ..resources import build_resource_set
from ..sources import read_paths
from ..yamlio import Document, dump_json
from . import keep_until_exit
from .common import fails_unprotected, make_convert_options, print_notes, wants_color
from .options import conversion_options
from .progress import progress


def _check_paths(paths: tuple[str, ...], use_git: bool, base: str, head: str) -> None:
    """Paths are paths: an option after ``--`` and a path that matches no manifest on either
    side are usage errors, named."""
    for p in paths:
        if p.startswith("-"):
            raise UsageError(f"{p} after --: options go before --; everything after -- is a path "
                             f"(ing2gw diff --git BASE HEAD [OPTIONS] -- PATHS)")
    if not paths:
        return
    if not use_git:
        raise UsageError("paths after -- need --git")
    from ..gitread import list_revision

    found: set[str] = set()
    for spec in dict.fromkeys((base, head)):
        if spec != ".":
            found.update(os.path.normpath(n) for n in list_revision(spec, paths))
    for p in paths:
        wanted = os.path.normpath(p)
        in_git = wanted == "." or any(n == wanted or n.startswith(wanted + os.sep) for n in found)
        if not in_git and not ("." in (base, head) and Path(p).exists()):
            raise UsageError(f"{p}: matches no manifest file (.yaml, .yml, .json) at {base} or {head}")


def _read(spec: str, paths: tuple[str, ...], use_git: bool, recursive: bool,
          skipped: list[Note] | None, parse: Parse) -> list[Document]:
    if use_git:
        if spec == ".":  # the work tree, as it is on disk
            existing = [p for p in paths or (".",) if Path(p).exists()]
            return read_paths(existing, recursive=True, skipped=skipped, parse=parse) if existing else []
        from ..gitread import read_revision

        return read_revision(spec, paths, skipped=skipped, parse=parse)
    return read_paths([spec], recursive=recursive, skipped=skipped, parse=parse)


Job = tuple[ConvertOptions, tuple[str, ...]]
# A side of fewer documents converts faster than a worker starts and sends its result back.
_WORTH_A_WORKER = 1000


def _convert(base: tuple[str, list[Document]], head: tuple[str, list[Document]], job: Job) -> tuple[Side, Side]:
    options, disabled = job
    registry = discover(disabled)
    return both_sides(lambda: build_side(*base, options, registry), lambda: build_side(*head, options, registry),
                      len(base[1]) >= _WORTH_A_WORKER)


def _both_sides(base: tuple[str, list[Document]], head: tuple[str, list[Document]], job: Job) -> tuple[Side, Side]:
    """Both sides converted: only what the change can affect when that is provably enough
    (:mod:`ing2gw.diff.units`), else everything; BASE in a forked worker while this process
    does HEAD when the sides are large (:mod:`ing2gw.diff.parallel`)."""
    options, disabled = job
    docs = plan(base[1], head[1], options, discover(disabled))
    if docs is not None:
        sides = _convert((base[0], docs[0]), (head[0], docs[1]), job)
        if same_gateways(*sides):
            return sides
    return _convert(base, head, job)


# GitHub refuses comments over 65 536 characters: the Markdown report stays below this.
MARKDOWN_LIMIT = 60_000


def _render(report: DiffReport, fmt: str, color: bool, limit: int | None, full: str) -> str:
    model = report.to_dict()
    if fmt == "json":
        return dump_json(model)
    if fmt == "markdown":
        if limit is None:
            return render("diff.md.j2", d=model, limit=None, full=full)
        longest = max([len(model["behaviour"]), len(model["objects"]), len(model["notes"]["added"]),
                       len(model["notes"]["removed"]), len(model["lostProtections"]),
                       *(len(o["fields"]) for o in model["objects"])])
        return render_within("diff.md.j2", limit, longest, d=model, full=full)
    return render("diff.txt.j2", d=model, color=color)


@click.command(epilog="Exit codes: 0 no difference (or differences without --exit-code); 1 differences with "
                      "--exit-code (as kubectl diff), or HEAD loses a protection (auth, IP lists, rate limits, "
                      "WAF, client certificates) unless --allow-unprotected; 2 usage error (an option after --, "
                      "a path matching no file); 3 input error; 5 plugin error; 70 internal error.")
@click.argument("base")
@click.argument("head")
@click.argument("paths", nargs=-1)
@click.option("--git", "use_git", is_flag=True, help="BASE and HEAD are git revisions; read PATHS at each.")
@click.option("-R", "--recursive", is_flag=True, help="Read folders recursively.")
@conversion_options
@click.option("--cases", "cases_file", metavar="FILE", help="Also replay the requests of this case file.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Layout of the report on stdout (markdown: a pull request comment, "
                                      f"kept under {MARKDOWN_LIMIT} characters).")
@click.option("--report", "report_file", metavar="FILE",
              help="Also write the whole report (same layout, nothing folded) to FILE, e.g. for a CI artifact.")
@click.option("--skip-non-kubernetes", is_flag=True,
              help="Skip YAML files that are not Kubernetes objects (workflows, Helm values and templates) "
                   "with a note instead of failing (used by the pre-commit hook).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a terminal, unless NO_COLOR).")
def diff(base: str, head: str, paths: tuple[str, ...], use_git: bool, recursive: bool, cases_file: str | None,
         fmt: str, report_file: str | None, skip_non_kubernetes: bool, exit_code: bool, color: bool | None,
         **params: Any) -> int:
    """Compare the Gateway API result of BASE and HEAD: objects field by field, and the
    requests that would now be served differently.

    BASE and HEAD are files or folders (Ingresses, Gateway API objects, or both), or with
    --git revisions: ing2gw diff --git origin/main HEAD -- deploy/  ("." is the work tree:
    ing2gw diff --git HEAD . -- deploy/ shows what uncommitted changes do). Options go
    before --; every PATH must match a manifest file on one side at least.
    """
    _check_paths(paths, use_git, base, head)
    options = make_convert_options(params, build_resource_set([]))
    extra = [request_of(c) for c in load_cases(cases_file)] if cases_file else []
    job = (options, tuple(params.get("disabled_providers") or ()))
    head_label = head if head != base else f"{head} (head)"
    skipped: list[Note] | None = [] if skip_non_kubernetes else None
    with progress("diff") as step:
        step("reading")
        shared = SharedParse()  # what HEAD has unchanged is not parsed again
        docs_base = _read(base, paths, use_git, recursive, skipped, shared.base)
        docs_head = _read(head, paths, use_git, recursive, skipped, shared.head)
        del shared
        if skipped:
            print_notes(sorted(set(skipped), key=lambda n: n.sort_key()), color)
        step("converting both sides")
        base_side, head_side = _both_sides((base, docs_base), (head_label, docs_head), job)
        del docs_base, docs_head
        step("probing requests")
        report = diff_sides(base_side, head_side, extra, parallel=True)
    keep_until_exit(base_side, head_side, report)  # (freed by the process's end, not one by one)
    use_color = wants_color(sys.stdout, color)
    full = f"all in {report_file}" if report_file else "the whole report: --report FILE"
    shown = _render(report, fmt, use_color, MARKDOWN_LIMIT if fmt == "markdown" else None, full)
    if use_color:  # (a terminal)
        click.echo(shown, nl=False, color=True)
    else:
        echo_text(shown)
    if report_file:
        with open(report_file, "w", encoding="utf-8") as fh:
            fh.write(_render(report, fmt, False, None, full))
    if fails_unprotected(head_side.notes, params["allow_unprotected"], False, color):
        return ExitCode.FINDINGS  # HEAD loses a protection of its Ingresses
    return ExitCode.FINDINGS if exit_code and report.has_differences else ExitCode.OK
