"""A real nginx as ground truth for the ingress-nginx model (``verify --oracle nginx``).

:class:`NginxOracle` starts the system ``nginx`` binary with a private prefix under a
temporary directory, on two ephemeral loopback ports (plain HTTP and HTTPS with a throw-away
certificate; the sockets are bound here and handed to nginx through its ``NGINX``
inherited-sockets variable, so there is no port race), serving a configuration rendered by
:mod:`.nginxconf` -- the controller's server and location building re-implemented
independently of the model -- with every location proxying to an in-process echo server.
:meth:`NginxOracle.send` sends one raw request and returns status, headers and, when the echo
server answered, what it received. :meth:`NginxOracle.reload` swaps the configuration
(``nginx -s reload``) so that one process serves a whole test module. :func:`disagreement`
compares one request's model answer with nginx's.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ing2gw.resources import ResourceSet

from .._common.probebody import declared_body
from .model.settings import ControllerConfig
from .nginxconf import DEFAULT_BACKEND_LABEL, Rendered, generate

__all__ = ["Answer", "NginxOracle", "Oracle", "OracleSession", "config_test", "disagreement", "nginx_binary",
           "start_oracle"]


def nginx_binary() -> str | None:
    """The nginx executable, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with a JSON description of it (404 for the default backend)."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        # the target as received: http.server collapses a leading "//" in self.path
        target = self.requestline.split(" ")[1] if self.requestline.count(" ") >= 2 else self.path
        body = json.dumps({
            "method": self.command,
            "path": target,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }).encode()
        status = 404 if self.headers.get("X-Ing2gw-Backend") == "default-backend" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # lower-case names
    echo: Mapping[str, Any] | None  # what the echo server received, if the request got there


def config_test(conf: str) -> tuple[bool, str]:
    """``nginx -t`` on a configuration text: (ok, nginx's output)."""
    binary = nginx_binary()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="ing2gw-nginx-t-") as tmp:
        path = Path(tmp) / "nginx.conf"
        path.write_text(conf.replace("@PREFIX@", tmp))
        proc = subprocess.run([binary, "-t", "-q", "-p", tmp, "-c", str(path), "-e", str(Path(tmp) / "error.log")],
                              capture_output=True, text=True, timeout=30)
        return proc.returncode == 0, proc.stderr


def _certificate(directory: str) -> tuple[str, str]:
    """A self-signed certificate for any name (the oracle never checks it)."""
    cert, key = str(Path(directory) / "oracle.crt"), str(Path(directory) / "oracle.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=oracle", "-keyout", key, "-out", cert],
                   capture_output=True, check=True, timeout=60)
    return cert, key


@functools.cache
def _client_context() -> ssl.SSLContext:
    """One client TLS context for every request (building one per request costs ~0.2 s)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# What the nginx.conf renderer gets: (listen, upstream, prefix, https_listen, certificate)
Render = Callable[[str, str, str, "str | None", "tuple[str, str] | None"], str]


class NginxOracle:
    """One nginx process plus one echo server; :meth:`reload` serves another configuration."""

    def __init__(self, render: Render | Callable[[str, str, str], str], https: bool = False) -> None:
        """``render(listen, upstream, prefix[, https_listen, certificate])`` returns nginx.conf."""
        binary = nginx_binary()
        assert binary is not None, "nginx is not installed"
        self._binary = binary
        self._tmp = tempfile.mkdtemp(prefix="ing2gw-nginx-")
        os.chmod(self._tmp, 0o755)
        (Path(self._tmp) / "htpasswd").write_text("ing2gw:{PLAIN}ing2gw\n")
        self._echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        self._echo.daemon_threads = True
        self._echo_thread = threading.Thread(target=self._echo.serve_forever, daemon=True)
        self._echo_thread.start()
        self._socks = [self._listen()]
        self.port = self._socks[0].getsockname()[1]
        self.https_port: int | None = None
        self._certificate: tuple[str, str] | None = None
        if https and shutil.which("openssl"):
            self._certificate = _certificate(self._tmp)
            self._socks.append(self._listen())
            self.https_port = self._socks[1].getsockname()[1]
        self._error_log = Path(self._tmp) / "error.log"
        self._conf_path = Path(self._tmp) / "nginx.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self.conf = self._write(render)
            env = {**os.environ, "NGINX": "".join(f"{s.fileno()};" for s in self._socks)}
            self._proc = subprocess.Popen(
                [binary, "-p", self._tmp, "-c", str(self._conf_path), "-e", str(self._error_log)],
                env=env, pass_fds=tuple(s.fileno() for s in self._socks), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _listen() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.set_inheritable(True)
        return sock

    def _write(self, render: Any) -> str:
        echo_port = self._echo.server_address[1]
        args: list[Any] = [f"127.0.0.1:{self.port}", f"127.0.0.1:{echo_port}", self._tmp]
        if self.https_port is not None:
            args += [f"127.0.0.1:{self.https_port}", self._certificate]
        conf = str(render(*args))
        self._conf_path.write_text(conf)
        return conf

    def reload(self, render: Any) -> None:
        """Serve another configuration: written, checked with ``nginx -t``, then ``-s reload``."""
        assert self._proc is not None
        self.conf = self._write(render)
        check = subprocess.run([self._binary, "-t", "-q", "-p", self._tmp, "-c", str(self._conf_path),
                                "-e", str(self._error_log)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        pid_file = Path(self._tmp) / "nginx.pid"
        old_workers = self._workers()
        self._proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # new workers up, old ones gone
            workers = self._workers()
            if workers and not (workers & old_workers) and pid_file.exists():
                return
            time.sleep(0.02)
        raise RuntimeError(f"nginx did not reload: {self.error_log()}")

    def _workers(self) -> set[int]:
        assert self._proc is not None
        try:
            children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children").read_text().split()
        except OSError:
            return set()
        return {int(c) for c in children}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"nginx exited with {self._proc.returncode}: {err}{self.error_log()}")
            if (Path(self._tmp) / "nginx.pid").exists():
                try:
                    answer = self.send("GET", "ing2gw-readiness.invalid", "/healthz")
                except OSError:
                    answer = None
                if answer is not None and answer.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not become ready: {self.error_log()}")

    def error_log(self) -> str:
        try:
            return self._error_log.read_text()
        except OSError:
            return ""

    def send(self, method: str, host: str | None, target: str, headers: Mapping[str, str] | None = None,
             scheme: str = "http") -> Answer:
        """Send one request exactly as given (``target`` is not re-encoded)."""
        conn: http.client.HTTPConnection
        if scheme == "https":
            assert self.https_port is not None, "the oracle was started without HTTPS"
            conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=10, context=_client_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else "127.0.0.1")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders(declared_body(headers or {}))  # a promised body is sent: nginx waits for it
            resp = conn.getresponse()
            body = resp.read()
            hdrs: dict[str, str] = {}
            for k, v in resp.getheaders():
                key = k.lower()
                hdrs[key] = f"{hdrs[key]}, {v}" if key in hdrs else v
        finally:
            conn.close()
        echo = None
        if hdrs.get("content-type") == "application/json":
            echo = json.loads(body)
        return Answer(resp.status, hdrs, echo)

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None
        for sock in self._socks:
            sock.close()
        self._echo.shutdown()
        self._echo.server_close()
        shutil.rmtree(self._tmp, ignore_errors=True)


class Oracle:
    """nginx serving the configuration :mod:`.nginxconf` generates for one Ingress set."""

    def __init__(self, resources: ResourceSet, controller_config: Mapping[str, str] | ControllerConfig | None = None,
                 nginx: NginxOracle | None = None) -> None:
        """With ``nginx``, reload that process instead of starting one."""
        self.conf = generate(resources, controller_config)
        self.rendered: Rendered | None = None
        if nginx is None:
            self.nginx = NginxOracle(self._render, https=True)
        else:
            self.nginx = nginx
            nginx.reload(self._render)

    def _render(self, listen: str, upstream: str, prefix: str, https_listen: str | None = None,
                certificate: tuple[str, str] | None = None) -> str:
        self.rendered = self.conf.render(listen=listen, upstream=upstream, prefix=prefix, https_listen=https_listen,
                                         certificate=certificate)
        return self.rendered.text

    @property
    def locations(self) -> Mapping[str, Mapping[str, Any]]:
        assert self.rendered is not None
        return self.rendered.locations

    def stop(self) -> None:
        self.nginx.stop()


def start_oracle(model: Any) -> Oracle:
    """Start nginx serving the configuration ingress-nginx would write for the model's input
    (built again from the Ingresses, not from the model's servers)."""
    return Oracle(model.resources, model.context.config)


# Upstream request headers the controller's template sets (compared model vs nginx).
FORWARDED = ("x-forwarded-for", "x-real-ip", "x-original-forwarded-for", "x-original-forwarded-host",
             "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "x-forwarded-scheme", "x-scheme",
             "x-forwarded-prefix", "proxy", "authorization")
# Response headers nginx itself adds to every answer (not part of the comparison).
_NGINX_OWN = {"server", "date", "content-type", "content-length", "connection", "location", "keep-alive",
              "transfer-encoding", "accept-ranges", "etag", "last-modified"}


def _response_differences(model_headers: Mapping[str, str], got: Mapping[str, str]) -> list[str]:
    problems = []
    mine = {k.lower(): v for k, v in model_headers.items()}
    for name in sorted(set(mine) | set(got)):
        if name in _NGINX_OWN or name == "www-authenticate" or name == "set-cookie":
            continue
        if name not in got and name in mine:
            problems.append(f"response header {name}: model {mine[name]!r}, nginx absent")
        elif name not in mine and (name.startswith("access-control-") or name == "strict-transport-security"):
            problems.append(f"response header {name}: model absent, nginx {got[name]!r}")
        elif name in mine and mine[name] != got[name]:
            problems.append(f"response header {name}: model {mine[name]!r}, nginx {got[name]!r}")
    return problems


def disagreement(model: Any, oracle: Oracle, method: str, host: str, target: str, client: str = "127.0.0.1",
                 headers: Mapping[str, str] | None = None, scheme: str = "http") -> list[str]:
    """Where the model and nginx answer one request differently: status, redirect Location,
    chosen location and backend, upstream URI, Host and forwarded headers, response headers
    (HSTS, CORS, custom headers). A canary split by weight is random in nginx: not compared."""
    from ing2gw.http import Request

    nginx = oracle.nginx
    port = nginx.https_port if scheme == "https" else nginx.port
    if port is None:
        return []
    request = Request.build(host=host, path=target, method=method, scheme=scheme, port=port,
                            headers=dict(headers or {}))
    outcome = model.route(request, client).to_dict()
    if len([w for w in (outcome.get("weights") or {}).values() if w]) > 1:
        return []
    answer = nginx.send(method, host, target, headers, scheme=scheme)
    problems: list[str] = []
    if outcome["status"] != answer.status:
        problems.append(f"status: model {outcome['status']}, nginx {answer.status}")
    if outcome["redirect"] is not None and outcome["redirect"]["location"] != answer.headers.get("location"):
        problems.append(f"Location: model {outcome['redirect']['location']}, nginx {answer.headers.get('location')}")
    if outcome["status"] == answer.status:
        problems += _response_differences(outcome.get("responseHeaders") or {}, answer.headers)
    if answer.echo is not None:
        got = answer.echo["headers"]
        nginx_matched = dict(oracle.locations[got["x-ing2gw-location"]])
        if outcome["matched"] != nginx_matched:
            problems.append(f"location: model {outcome['matched']}, nginx {nginx_matched}")
        want_backend = outcome["backend"] or DEFAULT_BACKEND_LABEL
        if outcome["status"] in (200, 404) and got["x-ing2gw-backend"] != want_backend:
            problems.append(f"backend: model {want_backend}, nginx {got['x-ing2gw-backend']}")
        upstream = outcome["upstream"]
        if upstream is not None:
            if upstream["path"] != answer.echo["path"]:
                problems.append(f"upstream URI: model {upstream['path']}, nginx {answer.echo['path']}")
            if upstream["host"] != got.get("host"):
                problems.append(f"upstream Host: model {upstream['host']}, nginx {got.get('host')}")
            sent = {k.lower(): v for k, v in upstream["headers"].items()}
            for name in FORWARDED:
                if sent.get(name) != got.get(name):
                    problems.append(f"upstream {name}: model {sent.get(name)}, nginx {got.get(name)}")
            if (headers or {}).get("X-Request-ID") is None and not (
                    re.fullmatch(r"[0-9a-f]{32}", got.get("x-request-id", ""))
                    and re.fullmatch(r"[0-9a-f]{32}", sent.get("x-request-id", ""))):
                problems.append(f"upstream x-request-id: model {sent.get('x-request-id')}, "
                                f"nginx {got.get('x-request-id')}")
    elif outcome["upstream"] is not None:
        problems.append("model proxies upstream, nginx answered itself")
    return problems


class OracleSession:
    """``verify --oracle nginx``: nginx started for the model's input; :meth:`check` compares
    one request's model answer with nginx's (over HTTP or HTTPS, as the request came)."""

    name = "nginx"

    def __init__(self, model: Any) -> None:
        if nginx_binary() is None:
            from ing2gw.errors import UsageError

            raise UsageError("--oracle nginx needs the nginx binary (Debian package nginx)")
        self.model = model
        self.oracle = start_oracle(model)

    def check(self, request: Any) -> list[str] | None:
        """Disagreements for ``request``; None when nginx cannot decide it."""
        if request.scheme == "https" and self.oracle.nginx.https_port is None:
            return None  # no openssl, so no HTTPS listener
        headers = dict(request.headers.as_dict())
        # nginx sees the oracle's own loopback address as the client, so the model must too
        return disagreement(self.model, self.oracle, request.method, request.host, request.target,
                            "127.0.0.1", headers, request.scheme)

    def stop(self) -> None:
        self.oracle.stop()
