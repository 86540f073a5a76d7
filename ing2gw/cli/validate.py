"""``ing2gw validate``: offline schema and CEL validation of Gateway API objects and of
objects whose CRD is given with ``--crd``."""

from __future__ import annotations

from typing import Any

import click

from ..errors import ExitCode, InputError
from ..schema.crds import Schemas, check_documents, crd_versions
from ..sources import read_paths
from . import exit_codes


@click.command(epilog=exit_codes("an object is invalid (or, with --strict, has no schema)",
                                 cluster=False, plugins=False))
@click.argument("files", nargs=-1, type=click.Path())
@click.option("-f", "--filename", "filenames", multiple=True, metavar="PATH",
              help="File, folder or - (stdin) with manifests (YAML or JSON). Repeatable.")
@click.option("-R", "--recursive", is_flag=True, help="Read folders given with -f recursively.")
@click.option("--crd", "crds", multiple=True, metavar="FILE|DIR",
              help="CustomResourceDefinitions (a file or a folder of them) whose kinds to validate too, "
                   "CEL rules included; they override the built-in ones. Repeatable.")
@click.option("--channel", type=click.Choice(["standard", "experimental"]), default="standard",
              show_default=True, help="The Gateway API release channel of the built-in CRDs.")
@click.option("--reference", is_flag=True,
              help="Check built-in Gateway API kinds with the CRDs' own CEL rules (cel-python) and jsonschema "
                   "instead of the equivalent fast path (slow; for cross-checking).")
@click.option("--strict", is_flag=True, help="Objects no schema knows fail too (default: reported only).")
def validate(**params: Any) -> int:
    """Validate objects offline, as the API server would on create.

    Checks every object of the -f files (and FILES) against the Gateway API v1.6.1 CRDs
    built into ing2gw (their structural schema and their CEL rules) or, for other kinds,
    against the CustomResourceDefinitions given with --crd. Prints one line per problem on
    stdout: file:line: Kind namespace/name: field.path: message, then a count. Objects of kinds no schema
    knows are listed as "no schema" and do not fail the run unless --strict. CEL transition
    rules (those reading oldSelf) only apply to updates and are not evaluated.
    """
    paths = list(params["filenames"]) + list(params["files"])
    if not paths:
        raise InputError("nothing to validate: give files with -f")
    crds = {}
    for crd_path in params["crds"]:
        found = crd_versions(read_paths([crd_path], recursive=True))
        if not found:
            raise InputError(f"{crd_path}: no CustomResourceDefinition found")
        crds.update(found)
    docs = read_paths(paths, params["recursive"])
    schemas = Schemas(crds, params["channel"], params["reference"])
    findings = check_documents(docs, schemas)
    for finding in findings:
        click.echo(str(finding))
    invalid = len({f.index for f in findings if not f.no_schema})
    unknown = sum(1 for f in findings if f.no_schema)
    click.echo(f"{len(docs)} object(s): {len(docs) - invalid - unknown} valid, {invalid} invalid, "
               f"{unknown} without schema")
    if invalid or (params["strict"] and unknown):
        return ExitCode.FINDINGS
    return ExitCode.OK
