"""``ing2gw convert``: Ingress manifests in, Gateway API manifests out."""

from __future__ import annotations

from typing import Any

import click

from ..emit.registry import emitter_crds
from ..errors import ExitCode, UsageError
from ..notes import FAIL_ON_CHOICES, fails
from ..output import echo_bytes, stream_manifests, write_output_dir
from ..plugins import discover
from ..report import render_report
from ..schema.crds import validate_output
from . import exit_codes, keep_until_exit
from .common import convert_params, fails_unprotected, load_resources, make_convert_options, print_notes
from .options import conversion_options, input_options


@click.command(epilog=exit_codes(
    "a note at or above --fail-on, or a protection lost without --allow-unprotected"))
@click.argument("files", nargs=-1, type=click.Path())
@input_options
@conversion_options
@click.option("-o", "--output", "output_format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--output-dir", metavar="DIR", help="Write one file per role and namespace, plus kustomization.yaml.")
@click.option("--report", "report_file", metavar="FILE", help="Write the conversion report to FILE.")
@click.option("--report-format", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="error", show_default=True,
              help="Exit 1 when a note reaches this level: error; unsupported (also extension/unsupported "
                   "features); approximate (anything not exact); never. A lost protection exits 1 whatever "
                   "the level, unless --allow-unprotected.")
@click.option("--validate", "validate_output", is_flag=True,
              help="Validate the output offline like `ing2gw validate` (schema and CEL rules of the Gateway "
                   "API CRDs, and of the --emitter's policy CRDs); an invalid object prints its errors on "
                   "stderr, writes nothing and exits 1.")
@click.option("--openapi", "openapi_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="An OpenAPI 3 document (YAML or JSON): its operations become HTTPRoute matches for --host, "
                   "sent to --backend (with -f inputs too, converted with them).")
@click.option("--host", "openapi_host", metavar="HOST", help="With --openapi: the hostname the routes serve.")
@click.option("--backend", "openapi_backend", metavar="[NS/]SVC:PORT",
              help="With --openapi: the Service port every operation goes to (namespace: -n, else default).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print notes on stderr.")
@click.option("--color/--no-color", default=None, help="Colour the notes (default: when stderr is a terminal).")
def convert(**params: Any) -> int:
    """Convert Ingress resources into Gateway API resources.

    Reads Ingresses (plus IngressClasses, Services, Namespaces, and the kinds installed
    providers claim) from -f files, folders or stdin (FILES given without -f are read too),
    and writes GatewayClass, Gateway, ReferenceGrant, HTTPRoute, GRPCRoute, TLSRoute,
    TCPRoute, UDPRoute and BackendTLSPolicy manifests to stdout (or --output-dir).
    Everything that is not carried over exactly is reported as a note on stderr.
    """
    registry = discover(params["disabled_providers"])
    if params["openapi_file"] is not None:
        options, result = _openapi(params, registry)
    elif params["openapi_host"] is not None or params["openapi_backend"] is not None:
        raise UsageError("--host and --backend go with --openapi FILE")
    else:
        rs, options, result = convert_params(params, registry)
        keep_until_exit(rs, result)  # (freed by the process's end, not one by one)
    if params["validate_output"]:
        channel = "experimental" if params["experimental"] else "standard"
        problems = validate_output(result.manifests, channel, emitter_crds(options.emitter))
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            return ExitCode.FINDINGS
    report = render_report(result, params["report_format"]) if params["report_file"] else None
    if params["output_dir"]:
        write_output_dir(params["output_dir"], result.manifests)
    else:
        # written a chunk at a time: a large output is never held whole (the run cannot fail
        # any more here, so this is never partial output)
        for chunk in stream_manifests(result.manifests, params["output_format"]):
            echo_bytes(chunk)
    if report is not None:
        with open(params["report_file"], "w", encoding="utf-8") as fh:
            fh.write(report)
    if not params["quiet"]:
        print_notes(result.notes, params["color"])
    failing = any(fails(n, params["fail_on"]) for n in result.notes)
    failing = fails_unprotected(result.notes, params["allow_unprotected"], not params["quiet"],
                                params["color"]) or failing
    return ExitCode.FINDINGS if failing else ExitCode.OK


def _openapi(params: dict[str, Any], registry: Any) -> tuple[Any, Any]:
    """``--openapi FILE --host H --backend SVC:PORT``: the document's routes, converted with the
    -f inputs when there are any (never the cluster's)."""
    from dataclasses import replace

    from ..convert import convert as run_convert
    from ..ir import GatewayRef
    from ..notes import Notes
    from ..openapi import openapi_ir, parse_backend
    from ..resources import build_resource_set

    if not params["openapi_host"] or not params["openapi_backend"]:
        raise UsageError("--openapi needs --host HOST and --backend SVC:PORT")
    files = params["filenames"] + params["files"]
    rs = load_resources(files, params["recursive"], params["namespace"], params["all_namespaces"],
                        params["selector"], kinds=list(registry.claims())) if files else build_resource_set([])
    options = make_convert_options(params, rs)
    notes = Notes()
    gateway = GatewayRef(key="openapi", gateway_class=options.conversion.gateway_class or "openapi")
    backend = parse_backend(params["openapi_backend"], params["namespace"] or "default")
    ir = openapi_ir(params["openapi_file"], params["openapi_host"], backend, gateway, notes)
    options = replace(options, extra_ir=(ir,), extra_notes=tuple(notes))
    return options, run_convert(rs, options, registry)
