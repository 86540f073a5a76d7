"""``ing2gw verify``: replay requests through the source controller and the migration."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import ExitCode
from ..notes import lost_protection
from ..output import echo_text, reader_gone, write_pieces
from ..plugins import discover
from ..report import render
from ..verification import VerifyOptions, run_verify
from . import exit_codes, keep_until_exit
from .common import fails_unprotected, load_resources, make_convert_options, print_notes
from .options import conversion_options, htpasswd_option, input_options
from .progress import progress


@click.command(epilog=exit_codes(
    "requests are served differently (what counts: --fail-on), a case's expect: fails, a second opinion "
    "(--oracle, --via-proxy) disagrees, or a protection is lost without --allow-unprotected",
    zero="no difference that --fail-on counts"))
@input_options
@conversion_options
@click.option("--cases", "cases_file", metavar="FILE",
              help="Replay the requests of this case file too, and check its expect: fields against the "
                   "converted objects (as route --cases does; a failing case exits 1 unless --fail-on never).")
@click.option("--access-log", "access_logs", multiple=True, metavar="FILE",
              help="Replay the requests of an access log (ingress-nginx or nginx combined format).")
@click.option("--scheme", type=click.Choice(["http", "https"]),
              help="The scheme of access-log lines that record none (ingress-nginx's never do); default: "
                   "inferred per line from the recorded status and upstream.")
@click.option("--no-generate", is_flag=True,
              help="Do not generate boundary requests or policy probes from the Ingresses.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["any", "unexplained", "never"]), default="any", show_default=True,
              help="Exit 1 when any request differs, only on unexplained drift, or never. A lost protection "
                   "exits 1 whatever the level, unless --allow-unprotected.")
@click.option("--oracle", type=click.Choice(["nginx", "haproxy"]),
              help="Also send every request to the controller's real server (nginx for ingress-nginx, "
                   "haproxy for haproxy-tech and haproxy-ingress) running the configuration the controller "
                   "would write, and report where the model disagrees with it.")
@click.option("--via-proxy", is_flag=True,
              help="Also send every request through ing2gw serve (echo backends, loopback) and report where "
                   "the proxy does not do what the router predicts.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes replaying requests (forked; default: one per CPU; not with --oracle or "
                   "--via-proxy, which replay in this process). With 2, on large inputs, a worker routes "
                   "the generated requests through the source model while this process converts; then this "
                   "process and a second worker route them through the router.")
@htpasswd_option
@click.option("--credentials", "credentials", multiple=True, metavar="USER:PASSWORD",
              help="Credentials the policy probes send to basic-auth rules (repeatable; with --htpasswd they are "
                   "checked on both sides, so a user a target cannot accept shows as locked out).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print conversion notes on stderr.")
def verify(cases_file: str | None, access_logs: tuple[str, ...], scheme: str | None, no_generate: bool, fmt: str,
           fail_on: str,
           oracle: str | None, via_proxy: bool, workers: int | None, htpasswd: tuple[str, ...],
           credentials: tuple[str, ...], quiet: bool, **params: Any) -> int:
    """Replay requests through a model of the source controller and through the converted
    Gateway API objects; report every request treated differently, and which conversion
    note explains it (a difference no note explains is an unexplained drift)."""
    registry = discover(params["disabled_providers"])
    rs = load_resources(params["filenames"], params["recursive"], params["namespace"],
                        params["all_namespaces"], params["selector"],
                        kubeconfig=params.get("kubeconfig"), context=params.get("context"),
                        kinds=list(registry.claims()))
    options = VerifyOptions(
        provider=params.get("provider"), generate=not no_generate, cases=cases_file, access_logs=access_logs,
        scheme=scheme,
        oracle=oracle is not None, via_proxy=via_proxy, workers=workers or os.cpu_count() or 1,
        htpasswd=htpasswd, credentials=credentials,
    )
    with progress("verify", enabled=not quiet) as step:
        step("converting and replaying")
        done = run_verify(rs, make_convert_options(params, rs), registry, options,
                          lambda n: step("requests replayed", n))
    report = done.report
    if not quiet:
        print_notes(done.conversion.notes)
    if fmt == "json":  # a large report: written as its rows are made (the other core copies them out)
        sys.stdout.flush()
        keep_until_exit(rs, done)  # (freed by the process's end, not one by one)
        try:
            write_pieces(report.json_pieces(), sys.stdout.buffer)
        except BrokenPipeError:
            reader_gone()
    else:  # (text and markdown show the groups, not each row)
        model_dict = report.to_dict(rows=False)
        lost = [n.as_dict() for n in done.conversion.notes if lost_protection(n)]
        echo_text(render("verify.md.j2" if fmt == "markdown" else "verify.txt.j2", v=model_dict, lost=lost))
        keep_until_exit(rs, done, model_dict)
    if any(c["disagree"] for c in report.checks.values()):
        return ExitCode.FINDINGS  # a model or the proxy is wrong somewhere: nothing else can be trusted
    if fails_unprotected(done.conversion.notes, params["allow_unprotected"], not quiet):
        return ExitCode.FINDINGS  # a protection of the source is not in the output
    if fail_on == "never":
        return ExitCode.OK
    failing = report.differing(unexplained_only=fail_on == "unexplained")
    return ExitCode.FINDINGS if failing or report.failed_cases else ExitCode.OK
