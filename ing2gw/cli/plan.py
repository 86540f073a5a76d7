"""``ing2gw plan``: the cut-over plan for a conversion (:mod:`ing2gw.plan`)."""

from __future__ import annotations

import shlex
from typing import Any

import click

from ..errors import ExitCode
from ..plan import build_plan, render
from ..plugins import discover
from . import exit_codes
from .common import convert_params
from .options import conversion_options, input_options

# (parameter, flag): the options repeated in the plan's `ing2gw convert` line when given
_CARRIED = (("recursive", "-R"), ("namespace", "-n"), ("all_namespaces", "-A"), ("selector", "-l"),
            ("kubeconfig", "--kubeconfig"), ("context", "--context"), ("provider", "--provider"),
            ("ingress_class", "--ingress-class"), ("annotations_prefix", "--annotations-prefix"),
            ("controller_config", "--controller-config"), ("gateway_namespace", "--gateway-namespace"),
            ("gateway_class", "--gateway-class"), ("gateway_controller", "--gateway-controller"),
            ("gateways", "--gateway"), ("gateway_files", "--gateway-file"), ("lookup_services", "--lookup-services"),
            ("listener_sets", "--listener-sets"), ("experimental", "--experimental"),
            ("allow_unprotected", "--allow-unprotected"), ("emitter", "--emitter"))
_DEFAULTS = {"gateway_namespace": "gateway-system", "emitter": "standard"}


def convert_command(params: dict[str, Any]) -> str:
    """The ``ing2gw convert`` line that writes the objects this plan is about."""
    words = ["ing2gw", "convert"]
    for path in (*params.get("filenames", ()), *params.get("files", ())):
        words += ["-f", path]
    if params.get("topology") not in (None, "shared"):
        words += ["--topology", params["topology"]]
    for name, flag in _CARRIED:
        value = params.get(name)
        if value in (None, False, (), "") or _DEFAULTS.get(name) == value:
            continue
        for v in value if isinstance(value, tuple) else [value]:
            words += [flag] if v is True else [flag, str(v)]
    return " ".join(shlex.quote(w) for w in words)


@click.command(epilog=exit_codes("a note at or above --fail-on (the plan is still written)"))
@click.argument("files", nargs=-1, type=click.Path())
@input_options
@conversion_options
@click.option("-o", "--output", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["error", "never"]), default="never", show_default=True,
              help="Exit 1 when the conversion has error notes (required changes among them).")
def plan(**params: Any) -> int:
    """Plan the cut-over: what to install, the order to apply objects, the kubectl wait lines
    that check them, the DNS records to move per host, and how to roll back.

    Takes the same input and conversion options as `ing2gw convert` and writes the plan on
    stdout (the notes are not printed: `convert` shows them).
    """
    registry = discover(params["disabled_providers"])
    rs, options, result = convert_params(params, registry)
    used = {ref for ref in result.providers}
    the_plan = build_plan(result.manifests, [i for i in rs.ingresses if i.ref in used], result.notes,
                          options.emit.topology, options.emit.existing, convert_command(params),
                          options.emit.experimental)
    click.echo(render(the_plan, params["output_format"]), nl=False)
    failing = params["fail_on"] == "error" and any(n.level.name == "ERROR" for n in result.notes)
    return ExitCode.FINDINGS if failing else ExitCode.OK
