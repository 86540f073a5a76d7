"""``ing2gw verify``: replay requests through the source controller and the migration."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from ..accesslog import parse_access_log
from ..cases import load_cases, request_of
from ..convert import convert as run_convert
from ..errors import ExitCode, InputError, UsageError
from ..http import Request
from ..plugins import discover
from ..probes import ingress_probes
from ..report import render
from ..resources import ResourceSet
from ..verify import Replayable, gateway_summary, verify_requests
from ..yamlio import dump_json
from . import EXIT_CODES_HELP
from .common import load_resources, make_convert_options, print_notes
from .options import conversion_options, input_options


def _only(rs: ResourceSet, refs: set[str]) -> ResourceSet:
    return ResourceSet(
        ingresses=[i for i in rs.ingresses if i.ref in refs],
        ingress_classes=rs.ingress_classes, services=rs.services, namespaces=rs.namespaces,
        config_maps=rs.config_maps, skipped=rs.skipped, notes=rs.notes,
    )


def _log_requests(path: str, rs: ResourceSet, skipped: list[str]) -> Iterator[tuple[Request, str]]:
    """Requests from an access log, streamed; the host comes from the URL or the upstream name."""
    upstream_hosts: dict[str, str] = {}
    for ing in sorted(rs.ingresses, key=lambda i: i.ref):
        for rule in ing.rules:
            for p in rule.paths:
                b = p.backend
                port = b.port_number if b.port_number is not None else b.port_name
                key = f"{ing.namespace}-{b.service}-{port}"
                if rule.host and not rule.host.startswith("*") and key not in upstream_hosts:
                    upstream_hosts[key] = rule.host
    errors: list[tuple[int, str]] = []
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for entry in parse_access_log(fh, errors):
            host = entry.host or upstream_hosts.get(entry.upstream, "")
            if not host:
                if len(skipped) < 20:
                    skipped.append(f"{path}:{entry.line}: no Host recorded and upstream {entry.upstream or '-'} "
                                   "names no Ingress host")
                continue
            try:
                req = Request.build(host=host, path=entry.path, method=entry.method, scheme=entry.scheme)
            except UsageError as exc:
                skipped.append(f"{path}:{entry.line}: {exc}")
                continue
            yield req, f"access log line {entry.line} (status {entry.status})"
    skipped.extend(f"{path}:{line}: {reason}" for line, reason in errors)


@click.command(epilog=EXIT_CODES_HELP)
@input_options
@conversion_options
@click.option("--cases", "cases_file", metavar="FILE", help="Replay the requests of this case file too.")
@click.option("--access-log", "access_logs", multiple=True, metavar="FILE",
              help="Replay the requests of an access log (ingress-nginx or nginx combined format).")
@click.option("--no-generate", is_flag=True, help="Do not generate boundary requests from the Ingresses.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", type=click.Choice(["any", "unexplained", "never"]), default="any", show_default=True,
              help="Exit 1 when any request differs, only on unexplained drift, or never.")
@click.option("--oracle", type=click.Choice(["nginx"]),
              help="Also send every plain-HTTP request to a real nginx running the configuration the "
                   "controller would write, and report where the model disagrees with it.")
@click.option("--via-proxy", is_flag=True,
              help="Also send every request through ing2gw serve (echo backends, loopback) and report where "
                   "the proxy does not do what the router predicts.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes replaying requests (forked; default: one per CPU; not with --oracle or "
                   "--via-proxy, which replay in this process).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print conversion notes on stderr.")
def verify(cases_file: str | None, access_logs: tuple[str, ...], no_generate: bool, fmt: str, fail_on: str,
           oracle: str | None, via_proxy: bool, workers: int | None, quiet: bool, **params: Any) -> int:
    """Replay requests through a model of the source controller and through the converted
    Gateway API objects; report every request treated differently, and which conversion
    note explains it (a difference no note explains is an unexplained drift)."""
    from ..router import Router

    registry = discover(params["disabled_providers"])
    rs = load_resources(params["filenames"], params["recursive"], params["namespace"],
                        params["all_namespaces"], params["selector"],
                        kubeconfig=params.get("kubeconfig"), context=params.get("context"),
                        kinds=list(registry.claims()))
    options = make_convert_options(params, rs)
    result = run_convert(rs, options, registry)
    used = sorted(set(result.providers.values()))
    if not used:
        raise UsageError("no Ingress to verify")
    if len(used) > 1 and not params.get("provider"):
        raise UsageError(f"Ingresses of several providers ({', '.join(used)}): choose one with --provider")
    name = params.get("provider") or used[0]
    provider = registry.get(name)
    factory = getattr(provider, "data_plane_model", None)
    if factory is None:
        raise UsageError(f"provider {name!r} has no data-plane model to verify against")
    mine = _only(rs, {ref for ref, p in result.providers.items() if p == name})
    model = factory(mine, options.conversion.controller_config or None)
    router = Router.from_manifests(result.manifests)

    skipped: list[str] = []

    generated: list[tuple[Replayable, str]] = []
    if not no_generate:
        hints = getattr(provider, "probe_headers", None)
        probes = ingress_probes(mine.ingresses, hints(mine.ingresses) if hints else None)
        generated = [(p, "generated") for p in probes]

    def requests() -> Iterator[tuple[Replayable, str]]:
        if cases_file:
            for case in load_cases(cases_file):
                yield request_of(case), f"case {case.name}"
        for log in access_logs:
            yield from _log_requests(log, mine, skipped)

    show_progress = sys.stderr.isatty() and not quiet

    def progress(n: int) -> None:
        click.echo(f"\r{n} requests replayed", err=True, nl=False)

    controller_notes = getattr(provider, "controller_notes", None)
    explaining = [*result.notes, *(controller_notes() if controller_notes else [])]
    checkers: list[Any] = []
    try:
        if oracle is not None:
            start = getattr(provider, "start_oracle", None)
            if start is None:
                raise UsageError(f"provider {name!r} offers no --oracle")
            checkers.append(start(model))
        if via_proxy:
            from ..viaproxy import ProxyCheck

            checkers.append(ProxyCheck(result.manifests, router))
        report = verify_requests(name, mine, result.manifests, explaining, model.route,
                                 lambda r: gateway_summary(router.route(r)), requests(),
                                 progress if show_progress else None, checkers,
                                 workers or os.cpu_count() or 1, generated)
    finally:
        for checker in checkers:
            checker.stop()
    if show_progress:
        click.echo("", err=True)
    report.skipped = skipped
    if not quiet:
        print_notes(result.notes)
    model_dict = report.to_dict()
    if fmt == "json":
        click.echo(dump_json(model_dict), nl=False)
    else:
        click.echo(render("verify.md.j2" if fmt == "markdown" else "verify.txt.j2", v=model_dict), nl=False)
    if any(c["disagree"] for c in report.checks.values()):
        return ExitCode.FINDINGS  # a model or the proxy is wrong somewhere: nothing else can be trusted
    if fail_on == "never":
        return ExitCode.OK
    failing = report.unexplained if fail_on == "unexplained" else report.differences
    return ExitCode.FINDINGS if failing else ExitCode.OK
