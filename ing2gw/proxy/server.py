"""Starting and stopping a proxy: turn manifests and :class:`ServeOptions` into bound
sockets (one per Gateway port, one per echo backend), certificates and backend addresses,
then serve them on an asyncio loop -- in a background thread (:func:`start_serve`, for
tests and ``verify --via-proxy``) or in the foreground with ``N`` forked worker processes
sharing the listening sockets (:func:`serve_forever`, for the CLI).

Sockets are bound before any loop runs, so every port is known (and every port conflict
reported) up front, and forked workers inherit them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.credentials import Credentials
from ing2gw.enforce.guard import Guard, policy_index
from ing2gw.errors import UsageError
from ing2gw.intents import ExternalAuth
from ing2gw.policy import PolicyIndex
from ing2gw.router import Router
from ing2gw.yamlio import Document

from .auth import AUTH_MODES, AuthBackend, auth_service_key
from .client import client_channel
from .echo import EchoBackend
from .front import Front
from .limits import Limits
from .tls import CertFiles, LocalCA, SniContext, tls_protocol
from .topology import GatewayPort, Topology, split_backend_key
from .upstream import BackendURL

__all__ = ["ListenSpec", "Prepared", "RunningProxy", "ServeOptions", "prepare", "serve_forever",
           "start_serve"]

log = logging.getLogger("ing2gw.proxy")

_BACKLOG = 1024  # pending connections per listening socket (asyncio would use 100)


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """``[ADDR:]PORT[=GATEWAY_PORT]``: serve the Gateway port on a local address/port."""

    port: int  # local port; 0 = any free port
    gateway_port: int | None = None  # None: the only Gateway port, or the same number
    address: str = "127.0.0.1"

    @classmethod
    def parse(cls, text: str) -> ListenSpec:
        left, eq, right = text.partition("=")
        address, colon, port = left.rpartition(":")
        if not colon:
            address = "127.0.0.1"
        address = address.strip("[]") or "127.0.0.1"
        if not port.isdigit() or int(port) > 65535 or (eq and not (right.isdigit()
                                                                  and 0 < int(right) < 65536)):
            raise UsageError(f"--listen {text!r}: expected [ADDR:]PORT[=GATEWAY_PORT]")
        return cls(int(port), int(right) if eq else None, address)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How to serve. ``listen`` empty: every Gateway port on 127.0.0.1, at the same port
    number when it is 1024 or above, else at 8000 + port (80 -> 8080, 443 -> 8443); with
    ``ephemeral`` at free ports instead."""

    listen: tuple[ListenSpec, ...] = ()
    ephemeral: bool = False
    tls_certs: tuple[tuple[str, str, str], ...] = ()  # (hostname pattern, cert file, key file)
    backends: tuple[tuple[str, str], ...] = ()  # (ns/name:port, URL)
    echo_backends: bool = False
    workers: int = 1
    limits: Limits = field(default_factory=Limits)
    split: bool = True  # pick weighted backends at random (False: the router's choice)
    seed: int | None = None
    access_log: bool = False
    credentials: Credentials | None = None  # htpasswd files by Secret (basic auth policies)
    count_rate_limits: bool = True  # False: every request is the first (verify --via-proxy)
    client_header: str | None = None  # take the client address from this header (testing only)
    mesh: str | None = None  # east-west: serve Service ports as the sidecar of a client in this namespace


@dataclass(frozen=True, slots=True)
class Bound:
    """One listening socket for one Gateway port."""

    gateway: GatewayPort
    sock: socket.socket
    sni: SniContext | None

    @property
    def scheme(self) -> str:
        return "https" if self.gateway.protocol == "HTTPS" else "http"

    @property
    def local(self) -> tuple[str, int]:
        addr = self.sock.getsockname()
        return str(addr[0]), int(addr[1])


@dataclass(slots=True)
class Prepared:
    """Everything bound and generated, before serving."""

    router: Router
    topology: Topology
    options: ServeOptions
    fronts: list[Bound]
    echoes: list[tuple[EchoBackend | AuthBackend, socket.socket]]
    backends: dict[str, BackendURL]
    tmpdir: tempfile.TemporaryDirectory[str] | None
    notes: list[str]
    ca: LocalCA | None = None  # made on first need (an HTTPS listener without --tls-cert)
    guard: Guard | None = None  # the policies enforced on routed requests

    @property
    def ca_file(self) -> Path | None:
        return None if self.ca is None else self.ca.cert_file

    def close(self) -> None:
        for b in self.fronts:
            b.sock.close()
        for _, sock in self.echoes:
            sock.close()
        if self.tmpdir is not None:
            self.tmpdir.cleanup()
            self.tmpdir = None

    def describe(self) -> list[str]:
        """One line per socket, for the user."""
        lines = []
        for b in self.fronts:
            host, port = b.local
            shown = f"[{host}]" if ":" in host else host
            what = f"Service port {b.gateway.port} (mesh, clients in {self.options.mesh})" \
                if self.options.mesh is not None else f"Gateway port {b.gateway.port} ({b.gateway.protocol})"
            lines.append(f"{what}: {b.scheme}://{shown}:{port}")
        for key, url in sorted(self.backends.items()):
            kind = next((" (echo)" if isinstance(e, EchoBackend) else f" ({e.mode} auth)"
                         for e, _ in self.echoes if e.key == key), "")
            lines.append(f"backend {key} -> {url}{kind}")
        if self.ca_file is not None:
            lines.append(f"generated certificates are signed by {self.ca_file} "
                         f"(curl --cacert {self.ca_file} --resolve HOST:PORT:127.0.0.1 ...)")
        return lines


def _bind(address: str, port: int, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None
    return sock


def _default_local_port(gateway_port: int) -> int:
    return gateway_port if gateway_port >= 1024 else 8000 + gateway_port


def _listen_plan(topology: Topology, options: ServeOptions) -> list[tuple[GatewayPort, str, int]]:
    if not topology.ports:
        if options.mesh is not None:
            raise UsageError("--mesh: the input has no Service port to serve (give the Services, or routes with "
                             "parentRef ports)")
        raise UsageError("the input has no Gateway listener with protocol HTTP or HTTPS to serve")
    if not options.listen:
        defaults = [(p, "127.0.0.1", 0 if options.ephemeral else _default_local_port(p.port))
                    for p in topology.ports]
        taken: dict[int, int] = {}
        for port, _, local in defaults:
            other = taken.setdefault(local, port.port)
            if local and other != port.port:
                what = "Service" if options.mesh is not None else "Gateway"
                raise UsageError(f"{what} ports {other} and {port.port} would both be served on local port {local}: "
                                 f"name the local ports with --listen PORT={other} --listen PORT={port.port}")
        return defaults
    plan = []
    for spec in options.listen:
        number = spec.gateway_port
        if number is None:
            number = topology.ports[0].port if len(topology.ports) == 1 else spec.port
        gw = topology.port(number)
        if gw is None:
            known = ", ".join(str(p.port) for p in topology.ports)
            what = "Service has" if options.mesh is not None else "Gateway listens on"
            raise UsageError(f"--listen {spec.port}: no {what} port {number} "
                             f"({'Service' if options.mesh is not None else 'Gateway'} ports: {known}); use "
                             "--listen PORT=GATEWAY_PORT")
        plan.append((gw, spec.address, spec.port))
    return plan


def prepare(manifests: Iterable[Mapping[str, Any] | Document] | Router,
            options: ServeOptions) -> Prepared:
    """Compile the manifests, bind every socket and make the certificates. Raises
    :class:`~ing2gw.errors.UsageError` for bad options or ports in use."""
    router = manifests if isinstance(manifests, Router) else Router.from_manifests(manifests)
    topology = Topology(router, options.mesh)
    if options.workers < 1:
        raise UsageError("--workers must be at least 1")
    notes = [*router.notes, *(p for g in topology.ports for p in g.problems)]
    guard = _guard(manifests, router, options)
    auth_keys = _auth_keys(topology, guard)
    backends: dict[str, BackendURL] = {}
    auth_modes: dict[str, str] = {}
    for key, url in options.backends:
        if split_backend_key(key) is None:
            raise UsageError(f"--backend {key}={url}: expected NAMESPACE/NAME:PORT=URL")
        if url in AUTH_MODES:
            auth_modes[key] = url
        else:
            backends[key] = BackendURL.parse(url)
        if key not in topology.backends and key not in auth_keys:
            notes.append(f"--backend {key}: no route sends traffic to this Service port")
    if options.echo_backends:
        auth_modes.update((key, "stand-in") for key in auth_keys if key not in backends and key not in auth_modes)
    plan = _listen_plan(topology, options)
    prepared = Prepared(router, topology, options, [], [], backends, None, notes, guard=guard)
    try:
        for key, mode in sorted(auth_modes.items()):
            sock = _bind("127.0.0.1", 0)
            prepared.echoes.append((AuthBackend(key, mode), sock))
            backends[key] = BackendURL("http", "127.0.0.1", sock.getsockname()[1])
        if options.echo_backends:
            for key in topology.backends:
                if key in backends:
                    continue
                parts = split_backend_key(key)
                assert parts is not None
                sock = _bind("127.0.0.1", 0)
                prepared.echoes.append((EchoBackend(key, *parts), sock))
                backends[key] = BackendURL("http", "127.0.0.1", sock.getsockname()[1])
        sni_by_port: dict[int, SniContext] = {}
        for gw, _, _ in plan:
            if gw.protocol == "HTTPS" and gw.port not in sni_by_port:
                sni_by_port[gw.port] = _sni_for(gw, options, prepared)
        reuse = options.workers > 1
        for gw, address, port in plan:
            sock = _bind(address, port, reuse)
            prepared.fronts.append(Bound(gw, sock, sni_by_port.get(gw.port)))
    except BaseException:
        prepared.close()
        raise
    return prepared


def _guard(manifests: Iterable[Mapping[str, Any] | Document] | Router, router: Router,
           options: ServeOptions) -> Guard:
    """What is enforced: the policies installed emitters read from the manifests (a given
    Router brings its own guard's), counted on the monotonic clock."""
    if isinstance(manifests, Router):
        policies = manifests.guard.policies if manifests.guard is not None else PolicyIndex(())
    else:
        policies = policy_index(manifests)
    limiter = TokenBuckets() if options.count_rate_limits else None
    return Guard(policies, options.credentials, limiter=limiter, clock=time.monotonic)


def _auth_keys(topology: Topology, guard: Guard) -> set[str]:
    """The auth Services requests may be checked by: ExternalAuth filters' and policies'."""
    keys = set(topology.auth_backends)
    for p in guard.policies.policies:
        if isinstance(p.intent, ExternalAuth):
            found = auth_service_key(p.intent.url)
            if found is not None:
                keys.add(found[0])
    return keys


def _sni_for(gw: GatewayPort, options: ServeOptions, prepared: Prepared) -> SniContext:
    certs: list[tuple[str | None, CertFiles]] = []
    given: set[str | None] = set()
    for pattern, cert, key in options.tls_certs:
        name = None if pattern in ("", "*") else pattern.lower()
        certs.append((name, CertFiles(Path(cert), Path(key))))
        given.add(name)
    for hostname in gw.hostnames:
        if hostname in given:
            continue
        if prepared.ca is None:
            prepared.tmpdir = tempfile.TemporaryDirectory(prefix="ing2gw-serve-")
            prepared.ca = LocalCA(Path(prepared.tmpdir.name))
        ca = prepared.ca
        also = gw.route_hostnames if hostname is None else ()
        certs.append((hostname, ca.issue(hostname, also)))
    return SniContext(certs)




async def _start(prepared: Prepared, fronts: bool, echoes: bool) -> tuple[Front, list[asyncio.Server]]:
    opts = prepared.options
    front = Front(prepared.router, prepared.topology, prepared.backends, opts.limits,
                  split=opts.split, seed=opts.seed, access_log=opts.access_log, guard=prepared.guard,
                  client_header=opts.client_header, mesh=opts.mesh)
    servers: list[asyncio.Server] = []
    if echoes:
        for echo, sock in prepared.echoes:
            handle = functools.partial(_quietly, echo.handle)
            servers.append(await asyncio.start_server(handle, sock=sock, backlog=_BACKLOG))
    if fronts:
        loop = asyncio.get_running_loop()
        for b in prepared.fronts:
            factory = functools.partial(client_channel, front, b.gateway.port, b.scheme, b.sni)
            socks = [b.sock]
            if opts.workers > 1:
                # A forked worker also listens on a socket of its own in the port's
                # SO_REUSEPORT group, so that the kernel spreads new connections over the
                # workers; on the shared socket alone, the first worker to wake accepts a
                # whole burst. The shared one stays served, so no connection is stranded.
                socks.append(_bind(*b.local, reuse_port=True))
            serve: Callable[[], asyncio.BaseProtocol] = factory
            if b.sni is not None:  # TLS with a small read buffer per connection
                serve = tls_protocol(factory, b.sni.context, opts.limits.header_timeout)
            for sock in socks:
                servers.append(await loop.create_server(serve, sock=sock, backlog=_BACKLOG))
    return front, servers


async def _quietly(handler: Callable[..., Awaitable[None]], *args: Any) -> None:
    """Run a connection handler; being cancelled at shutdown ends it normally (asyncio of
    Python 3.11 logs an error for a connection task that ends cancelled)."""
    try:
        await handler(*args)
    except asyncio.CancelledError:
        pass


async def _stop(front: Front, servers: list[asyncio.Server]) -> None:
    for s in servers:
        s.close()
    front.close()
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]  # open connections
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in servers:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await s.wait_closed()


class RunningProxy:
    """A proxy serving in a background thread. ``ports`` maps Gateway ports to local
    ports; :meth:`url` builds a URL to send to; :meth:`stop` (or leaving the ``with``
    block) shuts it down."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.ports: dict[int, int] = {b.gateway.port: b.local[1] for b in prepared.fronts}
        self.schemes: dict[int, str] = {b.gateway.port: b.scheme for b in prepared.fronts}
        self.ca_file = prepared.ca_file
        self.backends = {k: str(v) for k, v in prepared.backends.items()}
        self.echoes = {e.key: e for e, _ in prepared.echoes}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._done: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ing2gw-serve", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()
            self.prepared.close()

    async def _main(self) -> None:
        self._done = asyncio.Event()
        try:
            front, servers = await _start(self.prepared, True, True)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self.front = front
        self._ready.set()
        await self._done.wait()
        await _stop(front, servers)

    def url(self, gateway_port: int, path: str = "/") -> str:
        return f"{self.schemes[gateway_port]}://127.0.0.1:{self.ports[gateway_port]}{path}"

    def stop(self) -> None:
        if self._thread.is_alive() and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
            self._thread.join(10)

    def __enter__(self) -> RunningProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_serve(manifests: Iterable[Mapping[str, Any] | Document] | Router,
                options: ServeOptions | None = None) -> RunningProxy:
    """Serve ``manifests`` in a background thread (one worker); returns once listening.

    >>> with start_serve(objs, ServeOptions(echo_backends=True, ephemeral=True)) as proxy:
    ...     urllib.request.urlopen(proxy.url(80, "/api"))          # doctest: +SKIP
    """
    opts = options or ServeOptions()
    if opts.workers != 1:
        raise UsageError("start_serve runs one worker; use serve_forever for --workers")
    return RunningProxy(prepare(manifests, opts))


async def _until_signalled(prepared: Prepared, fronts: bool, echoes: bool) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    front, servers = await _start(prepared, fronts, echoes)
    await done.wait()
    await _stop(front, servers)


def serve_forever(prepared: Prepared) -> None:
    """Serve in the foreground until SIGINT/SIGTERM. With several workers, each forked
    process accepts on the shared listening sockets; this process runs the echo backends
    and waits for the workers."""
    workers = prepared.options.workers
    # Everything prepared so far (compiled routes, loaded modules) lives as long as the
    # process: moved out of the collector's sight, so that the collections the requests'
    # short-lived objects trigger do not traverse it again and again (and forked workers
    # share those pages). About a fifth of the CPU of a request with a new head otherwise.
    gc.collect()
    gc.freeze()
    try:
        if workers == 1:
            asyncio.run(_until_signalled(prepared, True, True))
            return
        children: list[int] = []
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # a worker: serve the Gateway ports only
                code = 0
                try:
                    for _, sock in prepared.echoes:
                        sock.close()
                    asyncio.run(_until_signalled(prepared, True, False))
                except BaseException:  # never return into the parent's code
                    code = 70
                finally:
                    os._exit(code)
            children.append(pid)
        for b in prepared.fronts:
            b.sock.close()  # the workers own them now
        try:
            asyncio.run(_until_signalled(prepared, False, True))
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
    finally:
        prepared.close()
