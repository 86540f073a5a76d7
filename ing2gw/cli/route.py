"""``ing2gw route``: ask the reference Gateway API router what happens to a request.

One request (``URL``) prints its outcome; ``--cases FILE`` runs a case file
(``docs/case-format.md``), prints every result and exits 1 when a case fails. A ``tcp://``,
``tls://`` or ``udp://`` URL is a connection, decided by the stream router
(:mod:`ing2gw.router.streams`) or, with ``--as``, the provider's stream model.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from ing2gw.cases import CaseClock, format_results_text, load_cases, results_json, run_cases
from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.credentials import Credentials
from ing2gw.enforce.guard import Guard, policy_index
from ing2gw.enforce.timeouts import parse_duration
from ing2gw.errors import ExitCode, UsageError
from ing2gw.http import Headers, Request
from ing2gw.output import echo_json, echo_text
from ing2gw.router import Outcome, Router
from ing2gw.router.streams import STREAM_SCHEMES, Connection, StreamOutcome, StreamRouter
from ing2gw.sources import read_paths

from . import exit_codes
from .options import htpasswd_option

__all__ = ["route"]


def _parse_headers(values: tuple[str, ...]) -> Headers:
    pairs: list[tuple[str, str]] = []
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"-H {raw!r}: expected 'Name: value'")
        pairs.append((name.strip(), value.strip()))
    return Headers(pairs)


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise UsageError(f"--client {value!r}: not an IP address") from None


def _gateway(value: str | None) -> str | None:
    if value is None:
        return None
    ns, sep, name = value.partition("/")
    if not sep:
        return f"default/{value}"
    if not ns or not name or "/" in name:
        raise UsageError(f"--gateway {value!r}: expected NAMESPACE/NAME")
    return value


def format_outcome_text(outcome: Outcome) -> str:
    """A short human-readable rendering of one outcome."""
    o = outcome
    lines = [f"{o.status if o.status is not None else '-'} {o.reason}"]
    if o.grpc:
        lines.append(f"grpc status: {o.grpc_status}")
    if o.matched is not None and o.matched.route:
        rule = f"rule {o.matched.rule}" + (f" ({o.matched.rule_name})" if o.matched.rule_name
                                           else "")
        via = (f"Service {o.matched.service} port {o.matched.port}" if o.matched.service is not None
               else f"{o.matched.gateway} listener {o.matched.listener}")
        lines.append(f"matched: {o.matched.kind} {o.matched.route} {rule} via {via}")
    if o.backend is not None:
        lines.append(f"backend: {o.backend}")
    if len(o.weights) > 1:
        shares = ", ".join(f"{k} {v:g}%" for k, v in o.weights.items())
        lines.append(f"weights: {shares}")
    if o.upstream is not None:
        lines.append(f"upstream: {o.upstream.method} {o.upstream.host}{o.upstream.path}")
        lines.extend(f"  {k}: {v}" for k, v in o.upstream.headers.as_dict().items())
    if o.redirect is not None:
        lines.append(f"redirect: {o.redirect.status_code} {o.redirect.location}")
    if len(o.response_headers):
        lines.append("response headers:")
        lines.extend(f"  {k}: {v}" for k, v in o.response_headers.as_dict().items())
    for m in o.mirrors:
        state = f" (not configured: {m.problem})" if m.problem else ""
        lines.append(f"mirror: {m.backend} {m.percent:g}%{state}")
    for label, value in (("timeouts", o.timeouts), ("retry", o.retry),
                         ("session persistence", o.session_persistence)):
        if value:
            lines.append(f"{label}: {dict(value)}")
    for ext in o.extension_refs:
        lines.append(f"extensionRef: {ext} (not simulated)")
    if o.policy is not None:
        lines.append(f"refused by: {o.policy}")
    lines.extend(f"note: {n}" for n in o.notes)
    return "\n".join(lines) + "\n"


def format_outcome_mapping(o: dict[str, Any]) -> str:
    """Text for an outcome in its JSON form (source-controller models answer in that form)."""
    lines = [f"{o.get('status') if o.get('status') is not None else '-'} {o.get('reason', '')}".rstrip()]
    matched = o.get("matched")
    if matched:
        lines.append("matched: " + ", ".join(f"{k} {v}" for k, v in matched.items() if v not in (None, "")))
    if o.get("backend"):
        lines.append(f"backend: {o['backend']}")
    weights = o.get("weights") or {}
    if len(weights) > 1:
        lines.append("weights: " + ", ".join(f"{k} {v:g}%" for k, v in weights.items()))
    up = o.get("upstream")
    if up:
        lines.append(f"upstream: {up.get('method')} {up.get('host')}{up.get('path')}")
        lines.extend(f"  {k}: {v}" for k, v in (up.get("headers") or {}).items())
    if o.get("redirect"):
        lines.append(f"redirect: {o['redirect'].get('statusCode')} {o['redirect'].get('location')}")
    if o.get("responseHeaders"):
        lines.append("response headers:")
        lines.extend(f"  {k}: {v}" for k, v in o["responseHeaders"].items())
    if o.get("policy"):
        lines.append(f"refused by: {o['policy']}")
    lines.extend(f"note: {n}" for n in o.get("notes") or [])
    return "\n".join(lines) + "\n"


def _source_model(provider_name: str, docs: list[Any], controller_config: str | None,
                  credentials: Credentials, clock: CaseClock) -> Any:
    """The named provider's data-plane model over the Ingresses in ``docs``, checking
    credentials against ``credentials`` and counting rate limits on ``clock`` when the model
    can (:func:`ing2gw.dataplane.with_enforcement`)."""
    from ing2gw.cli.common import read_controller_config
    from ing2gw.dataplane import with_enforcement
    from ing2gw.plugins import discover
    from ing2gw.resources import build_resource_set

    registry = discover()
    registry.get(provider_name)  # an unknown or broken provider is a clear error
    plane = registry.data_plane(provider_name)
    if plane is None:
        raise UsageError(f"provider {provider_name!r} has no data-plane model (--as needs one)")
    rs = build_resource_set(docs, kinds=registry.claims())  # the provider's CRDs too (IngressRoutes ...)
    for note in rs.notes:
        click.echo(note.line(), err=True)
    model = plane.model(rs, read_controller_config(controller_config) if controller_config else None)
    return with_enforcement(model, credentials, clock)


def _stream_answer(provider_name: str | None, docs: list[Any], strict_refs: bool, conn: Connection) -> StreamOutcome:
    """The stream router's answer over ``docs``, or the named provider's stream model's."""
    if provider_name is None:
        router = StreamRouter.from_manifests(docs, strict_refs=strict_refs)
        for note in router.notes:
            click.echo(f"note: {note}", err=True)
        return router.route(conn)
    from ing2gw.plugins import discover
    from ing2gw.resources import build_resource_set

    registry = discover()
    registry.get(provider_name)  # an unknown or broken provider is a clear error
    plane = registry.data_plane(provider_name)
    streams = getattr(plane, "streams", None)
    if not callable(streams):
        raise UsageError(f"provider {provider_name!r} has no stream model (--as with a {conn.protocol.lower()}:// "
                         "URL needs one)")
    model = streams(build_resource_set(docs, kinds=registry.claims()))
    if model is None:
        return StreamOutcome(None, f"the input has no stream route of {provider_name}")
    answer: StreamOutcome = model.route(conn)
    return answer


@click.command("route", epilog=exit_codes("a case of --cases fails", zero="routed; every case passes",
                                          cluster=False, plugins=False))
@click.option("-f", "--filename", "files", multiple=True, required=True, metavar="RESOURCES",
              help="Gateway API manifests: a file, a directory or - for stdin (repeatable).")
@click.option("-R", "--recursive", is_flag=True, help="Read directories given with -f recursively.")
@click.argument("url", required=False)
@click.option("-X", "--request", "method", default="GET", show_default=True,
              help="HTTP method of the request.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'Name: value'",
              help="A request header (repeatable).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="The port the client connects to (default: the URL's).")
@click.option("--gateway", metavar="NS/NAME", help="The Gateway the request is sent to.")
@click.option("--mesh", "mesh_ns", metavar="NAMESPACE",
              help="Send the request east-west (GAMMA) from a client in NAMESPACE to the Service the "
                   "URL's host names (name, name.ns, name.ns.svc[.cluster.local]), not to a Gateway.")
@click.option("--cases", "cases_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Run a case file instead of a single request.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--strict-refs", is_flag=True,
              help="Treat every reference the input does not hold as unresolved.")
@click.option("--as", "as_provider", metavar="PROVIDER",
              help="Route through a model of this source controller (e.g. ingress-nginx) over the "
                   "Ingresses in RESOURCES, instead of the Gateway API router.")
@click.option("--controller-config", type=click.Path(dir_okay=False), metavar="FILE",
              help="With --as: the controller's ConfigMap.")
@click.option("--client", "client_ip", metavar="ADDRESS",
              help="The client's IP address (allow/deny lists, rate limits; with --as also X-Forwarded-For "
                   "and X-Real-IP).")
@click.option("--backend-delay", metavar="DURATION",
              help="How long the backend takes to answer (1500ms, 2s): past a timeout the answer is 504.")
@htpasswd_option
def route(
    files: tuple[str, ...],
    recursive: bool,
    url: str | None,
    method: str,
    headers: tuple[str, ...],
    port: int | None,
    gateway: str | None,
    mesh_ns: str | None,
    cases_file: str | None,
    output: str,
    strict_refs: bool,
    as_provider: str | None,
    controller_config: str | None,
    client_ip: str | None,
    backend_delay: str | None,
    htpasswd: tuple[str, ...],
) -> int:
    """Route URL (scheme://host[:port]/path?query) through the Gateway API objects in
    RESOURCES and print what a conformant gateway does with it. A tcp://[HOST]:PORT,
    tls://SNI:PORT or udp://[HOST]:PORT URL is a connection to a stream listener."""
    if (url is None) == (cases_file is None):
        raise UsageError("give either a URL or --cases FILE")
    if url is not None and url.partition("://")[0].lower() in STREAM_SCHEMES:
        if headers or mesh_ns or client_ip or backend_delay or gateway or method != "GET":
            raise UsageError("-X, -H, --gateway, --mesh, --client and --backend-delay go with HTTP URLs, not "
                             f"{url.partition('://')[0]}://")
        conn = Connection.from_url(url, port)
        docs = read_paths(files, recursive=recursive)
        answer = _stream_answer(as_provider, docs, strict_refs, conn)
        if output == "json":
            echo_json(answer.to_dict())
        else:
            echo_text(answer.text())
        return ExitCode.OK
    if mesh_ns is not None and (url is None or gateway is not None):
        raise UsageError("--mesh goes with a URL and without --gateway (a case file says mesh: per request)")
    gw = _gateway(gateway)
    parsed_headers = _parse_headers(headers)
    request = None
    if url is not None:
        request = Request.from_url(url, method=method, headers=parsed_headers, port=port,
                                   gateway=gw, mesh=mesh_ns)
    if request is not None and client_ip is not None:
        request = replace(request, client=_address(client_ip))
    if backend_delay is not None:
        delay = parse_duration(backend_delay)
        if delay is None:
            raise UsageError(f"--backend-delay {backend_delay!r}: expected a duration such as 1500ms or 2s")
        if request is None:
            raise UsageError("--backend-delay goes with a URL; a case file states request.backendDelay")
        request = replace(request, backend_delay=delay)
    docs = read_paths(files, recursive=recursive)
    credentials = Credentials.from_options(htpasswd)
    clock = CaseClock()
    route_fn: Callable[[Request], dict[str, Any]]
    if as_provider is not None:
        model = _source_model(as_provider, docs, controller_config, credentials, clock)
        route_fn = lambda r: model.route(r, client_ip).to_dict()  # noqa: E731
    else:
        router = Router.from_manifests(docs, strict_refs=strict_refs)
        router = router.with_guard(Guard(policy_index(docs), credentials, limiter=TokenBuckets(), clock=clock))
        for note in router.notes:
            click.echo(f"note: {note}", err=True)
        route_fn = lambda r: router.route(r).to_dict()  # noqa: E731
    if request is not None:
        if output == "json":
            echo_json(route_fn(request))
        elif as_provider is None:
            echo_text(format_outcome_text(router.route(request)))
        else:
            echo_text(format_outcome_mapping(route_fn(request)))
        return ExitCode.OK
    assert cases_file is not None
    results = run_cases(load_cases(cases_file), route_fn, gw, clock)
    if output == "json":
        echo_json(results_json(results))
    else:
        echo_text(format_results_text(results))
    return ExitCode.FINDINGS if any(not r.passed for r in results) else ExitCode.OK
