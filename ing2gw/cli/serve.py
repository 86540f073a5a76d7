"""``ing2gw serve``: run the reference Gateway API reverse proxy over the given manifests.

Parses the options into :class:`ing2gw.proxy.ServeOptions`, prints where each Gateway port
and backend is served (stderr), and serves until interrupted. Access and safety logs go to
stderr as well; stdout stays empty.
"""

from __future__ import annotations

import logging
import sys

import click

from ing2gw.enforce.credentials import Credentials
from ing2gw.errors import ExitCode, UsageError
from ing2gw.proxy import Limits, ListenSpec, ServeOptions, prepare, serve_forever
from ing2gw.sources import read_paths

from . import exit_codes
from .options import htpasswd_option

__all__ = ["serve"]


def _tls_cert(value: str) -> tuple[str, str, str]:
    host, eq, files = value.partition("=")
    cert, comma, key = files.partition(",")
    if not eq or not comma or not cert or not key:
        raise UsageError(f"--tls-cert {value!r}: expected HOST=CERT,KEY")
    return host.strip(), cert, key


def _backend(value: str) -> tuple[str, str]:
    key, eq, url = value.partition("=")
    if not eq or not key or not url:
        raise UsageError(f"--backend {value!r}: expected NAMESPACE/NAME:PORT=URL (or =allow-all, =deny-all, "
                         "=stand-in for an auth Service)")
    return key.strip(), url.strip()


@click.command("serve", epilog=exit_codes("-", zero="stopped (Ctrl-C)", cluster=False, plugins=False)
               .replace("; 1 -", ""))
@click.option("-f", "--filename", "files", multiple=True, required=True, metavar="RESOURCES",
              help="Gateway API manifests: a file, a directory or - for stdin (repeatable).")
@click.option("-R", "--recursive", is_flag=True, help="Read directories given with -f recursively.")
@click.option("--listen", "listen", multiple=True, metavar="[ADDR:]PORT[=GATEWAY_PORT]",
              help="Serve a Gateway port on a local address and port (repeatable; default: "
                   "every Gateway port on 127.0.0.1, ports below 1024 moved to 8000+port).")
@click.option("--tls-cert", "tls_certs", multiple=True, metavar="HOST=CERT,KEY",
              help="Certificate for an HTTPS hostname (repeatable; default: generated).")
@click.option("--backend", "backends", multiple=True, metavar="NS/NAME:PORT=URL",
              help="Where a Service port's traffic goes (repeatable). For an auth Service (ExternalAuth filter "
                   "or policy) URL may be allow-all, deny-all (403) or stand-in (allows requests with an "
                   "Authorization header): a built-in auth server.")
@click.option("--echo-backends", is_flag=True,
              help="Start a built-in echo server for every Service without --backend, and the stand-in auth "
                   "server for every auth Service without one.")
@htpasswd_option
@click.option("--client-header", metavar="NAME",
              help="Take the client address that allow/deny lists and rate limits see from this request "
                   "header (for tests on loopback; never where clients can set it).")
@click.option("--mesh", "mesh_ns", metavar="NAMESPACE",
              help="Serve east-west instead: act as the sidecar of a client in NAMESPACE, one socket per "
                   "Service port (--listen PORT=SERVICE_PORT), the Host naming the Service (name, name.ns, "
                   "name.ns.svc or name.ns.svc.cluster.local); requests follow the GAMMA routes that client meets.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes sharing the listening sockets.")
@click.option("--seed", type=int, help="Seed of the weighted backend choice and mirror sampling.")
@click.option("--no-split", is_flag=True,
              help="Send every request to the backend the router names (no weighted choice).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log every request to stderr.")
@click.option("--header-timeout", type=click.FloatRange(min=0.01), default=10.0,
              show_default=True, help="Seconds a client has to send a request head (408).")
@click.option("--max-request-line", type=click.IntRange(min=64), default=8192, show_default=True,
              help="Longest request line in bytes (414).")
@click.option("--max-header-bytes", type=click.IntRange(min=256), default=32768,
              show_default=True, help="Largest request head in bytes (431).")
@click.option("--max-body-bytes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Largest request body in bytes (413); 0 = no limit.")
@click.option("--max-connections", type=click.IntRange(min=1), default=4096, show_default=True,
              help="Client connections per worker; more are closed at once.")
def serve(
    files: tuple[str, ...],
    recursive: bool,
    listen: tuple[str, ...],
    tls_certs: tuple[str, ...],
    backends: tuple[str, ...],
    echo_backends: bool,
    htpasswd: tuple[str, ...],
    client_header: str | None,
    mesh_ns: str | None,
    workers: int,
    seed: int | None,
    no_split: bool,
    access_log: bool,
    header_timeout: float,
    max_request_line: int,
    max_header_bytes: int,
    max_body_bytes: int,
    max_connections: int,
) -> int:
    """Serve the Gateway API objects in RESOURCES as a reverse proxy: every request is
    routed by the reference router, checked against the policies that protect its rule (as
    route does, with real token buckets and real auth services), then redirected, answered
    or forwarded to its backend. Listens on loopback unless --listen names another address.
    With --mesh NAMESPACE it is a client's sidecar: east-west requests to Services, routed
    by the GAMMA routes (Service parentRefs) that namespace's clients meet."""
    limits = Limits(max_request_line=max_request_line, max_header_bytes=max_header_bytes,
                    max_body_bytes=max_body_bytes, header_timeout=header_timeout,
                    max_connections=max_connections)
    options = ServeOptions(
        listen=tuple(ListenSpec.parse(v) for v in listen),
        tls_certs=tuple(_tls_cert(v) for v in tls_certs),
        backends=tuple(_backend(v) for v in backends),
        echo_backends=echo_backends, workers=workers, limits=limits, split=not no_split,
        seed=seed, access_log=access_log, credentials=Credentials.from_options(htpasswd),
        client_header=client_header, mesh=mesh_ns,
    )
    prepared = prepare(read_paths(files, recursive=recursive), options)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("ing2gw.proxy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for note in prepared.notes:
        click.echo(f"note: {note}", err=True)
    for line in prepared.describe():
        click.echo(f"serving {line}", err=True)
    click.echo(f"{workers} worker(s); press Ctrl-C to stop", err=True)
    serve_forever(prepared)
    return ExitCode.OK


if __name__ == "__main__":  # python -m ing2gw.cli.serve (before the command is registered)
    from ing2gw.errors import Ing2gwError

    try:
        serve.main(args=sys.argv[1:], prog_name="ing2gw serve")
    except Ing2gwError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
