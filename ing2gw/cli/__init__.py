"""The command line: the only code that knows about click.

Commands are loaded lazily (``ing2gw --help`` imports no command module) from the
``COMMANDS`` map. :func:`main` is the single place where ing2gw errors become exit codes;
library code raises :class:`ing2gw.errors.Ing2gwError` subclasses and never exits.

Exit codes: 0 ok, 1 findings (at or above --fail-on, failed cases, differences),
2 usage, 3 input error, 4 cluster error, 5 plugin error, 70 internal error.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import ExitCode, Ing2gwError

__all__ = ["COMMANDS", "EXIT_CODES_HELP", "exit_codes", "keep_until_exit", "main"]

# command name -> "module:attribute" (relative to ing2gw.cli)
COMMANDS: dict[str, str] = {
    "convert": "convert:convert",
    "diff": "diff:diff",
    "dry-run": "dryrun:dry_run",
    "emitters": "emitters:emitters",
    "plan": "plan:plan",
    "providers": "providers:providers",
    "route": "route:route",
    "serve": "serve:serve",
    "validate": "validate:validate",
    "verify": "verify:verify",
}

# One-line summaries for ``ing2gw --help``, so listing commands imports none of them.
SUMMARIES: dict[str, str] = {
    "convert": "Convert Ingress resources into Gateway API resources.",
    "diff": "Compare the Gateway API result (objects and behaviour) of two versions of the manifests.",
    "dry-run": "Check the conversion against a live cluster's API server (server-side dry run).",
    "emitters": "List emitters, or show which policy intents one carries into its output.",
    "plan": "Plan the cut-over: install, apply order, kubectl wait checks, DNS moves, rollback.",
    "providers": "List providers, or show one provider's annotation table.",
    "route": "Show what a Gateway API data plane does with a request (or a case file).",
    "serve": "Serve Gateway API objects as a local reverse proxy (for replay and smoke tests).",
    "validate": "Validate Gateway API (and --crd) objects offline: schema and CEL rules.",
    "verify": "Replay requests through the source controller and the migration; report differences.",
}

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 findings (each command's --help says which); 2 usage error; 3 input error; "
    "4 cluster error; 5 plugin error; 70 internal error."
)


def exit_codes(findings: str, *, zero: str = "ok", cluster: bool = True, plugins: bool = True,
               inputs: bool = True) -> str:
    """A command's ``Exit codes:`` epilog: what 0 and 1 mean for it, then the errors it can end with."""
    codes = [f"0 {zero}", f"1 {findings}", "2 usage error"]
    if inputs:
        codes.append("3 input error (file:line: message; nothing is written)")
    if cluster:
        codes.append("4 cluster error")
    if plugins:
        codes.append("5 plugin error")
    codes.append("70 internal error")
    return "Exit codes: " + "; ".join(codes) + "."


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:
                cmd = self.get_command(ctx, name)
                summary = cmd.get_short_help_str(formatter.width) if cmd else ""
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ing2gw")
@click.option("--debug", is_flag=True, envvar="ING2GW_DEBUG", help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Migrate Kubernetes Ingress resources to the Gateway API, and prove the migration
    keeps behaviour."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: Sequence[str] | None = None) -> Any:
    """Console-script entry point (``ing2gw`` and ``kubectl-ing2gw``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("ING2GW_DEBUG"))
    gc_was_on = gc.isenabled()
    if "serve" not in args:
        # Batch commands build large acyclic object graphs and then exit: the cyclic garbage
        # collector would only walk them again and again (it cost half the run time on
        # 10 000 Ingresses). Reference counting still frees everything; a server keeps it on.
        gc.disable()
    try:
        rv = _run(args, debug)
        code = rv if isinstance(rv, int) else ExitCode.OK
        if argv is None and _KEPT:  # the process itself (not a caller's): it ends without freeing what it built
            _exit_now(code)  # (the collector still off: turned on, it would walk every object once more)
    finally:
        if gc_was_on:
            gc.enable()
    sys.exit(code)


# What a command built that only the process's end would free (see keep_until_exit).
_KEPT: list[Any] = []


def keep_until_exit(*objects: Any) -> None:
    """Keep ``objects`` (a command's large results, its output written) referenced until the
    process ends, and end it then without tearing down what it built: freeing a verify
    report's 150 000 differences and the conversion behind it object by object took about a
    second on 10 000 Ingresses (at the command's return and in the interpreter's cleanup),
    for nothing. Only the console entry point (``main()`` reading ``sys.argv``) ends so; a
    caller of ``main(args)`` (tests) returns as usual, and only the last command's objects
    are kept."""
    _KEPT[:] = objects


def _exit_now(code: int) -> None:
    """Flush what was written and leave at once (``os._exit``: no interpreter cleanup; the
    command has closed its files and reaped its workers)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader gone, or a stream closed: nothing left to say
            code = code if stream is sys.stderr else ExitCode.OK
    os._exit(code)


def _run(args: list[str], debug: bool) -> Any:
    """The command, with every ing2gw error mapped to its exit code (``SystemExit``)."""
    try:
        rv = cli.main(args=args, prog_name=_prog_name(), standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Ing2gwError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except Exception as exc:  # a bug: say so in one line, traceback only with --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"Internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in ing2gw; rerun with --debug for a traceback)",
            err=True,
        )
        sys.exit(ExitCode.INTERNAL)
    return rv


def _prog_name() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "ing2gw"
    return "kubectl ing2gw" if name == "kubectl-ing2gw" else "ing2gw"
