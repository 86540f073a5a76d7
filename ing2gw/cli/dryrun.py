"""``ing2gw dry-run``: convert, then ask the cluster's API server whether it would accept the
result (server-side apply with ``dryRun=All``) and what would change."""

from __future__ import annotations

from typing import Any

import click

from ..convert import convert as run_convert
from ..emit.registry import discover_emitters
from ..errors import ExitCode
from ..plugins import discover
from . import exit_codes
from .common import fails_unprotected, load_resources, make_convert_options, print_notes
from .options import conversion_options, input_options


@click.command("dry-run", epilog=exit_codes(
    "an object would be rejected, a preflight check fails, or a protection is lost without --allow-unprotected",
    zero="everything would apply"))
@click.argument("files", nargs=-1, type=click.Path())
@input_options
@conversion_options
@click.option("-o", "--output", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Layout of the report on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print conversion notes on stderr.")
@click.option("--color/--no-color", default=None, help="Colour the notes (default: when stderr is a terminal).")
def dry_run(**params: Any) -> int:
    """Check the conversion against a live cluster's API server (server-side dry run).

    Converts Ingresses read from -f files (or, without -f, from the cluster itself), then
    submits every generated object to the API server of the kubeconfig context with
    server-side apply and dryRun=All -- nothing is stored -- and reports for each object:
    would create, would change (with the field diff), unchanged, or rejected (with the API
    server's message and the Ingress it came from). Preflight checks cover the Gateway API
    CRDs (version, channel, fields), the GatewayClass (exists, Accepted, supported
    features), hostnames already claimed and missing namespaces; with an implementation
    --emitter, also that its policy CRDs are installed at a version with every field used.
    """
    from .. import kube
    from ..dryrun import dry_run as run_dry_run
    from ..dryrun import render

    cluster = kube.connect(params["kubeconfig"], params["context"])
    registry = discover(params["disabled_providers"])
    rs = load_resources(params["filenames"] + params["files"], params["recursive"], params["namespace"],
                        params["all_namespaces"], params["selector"], cluster=cluster,
                        kinds=list(registry.claims()))
    options = make_convert_options(params, rs)
    result = run_convert(rs, options, registry)
    if not params["quiet"]:
        print_notes(result.notes, params["color"])
    emitter = discover_emitters().get(options.emitter)
    report = run_dry_run(result.manifests, cluster, getattr(emitter, "target", None))
    click.echo(render(report, params["output_format"]), nl=False)
    if fails_unprotected(result.notes, params["allow_unprotected"], not params["quiet"], params["color"]):
        return ExitCode.FINDINGS  # a protection of the source is not in the output
    return ExitCode.OK if report.ok else ExitCode.FINDINGS
