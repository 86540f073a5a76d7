"""A real nginx as ground truth for the ingress-nginx model (``verify --oracle nginx``).

:class:`NginxOracle` renders ``templates/nginx.conf.j2`` for a model's servers, starts the
system ``nginx`` binary with a private prefix under a temporary directory, listening on an
ephemeral loopback port (the socket is bound here and handed to nginx through its
``NGINX`` inherited-sockets variable, so there is no port race), with every location
proxying to an in-process echo server. :meth:`NginxOracle.send` sends one raw request
and returns status, headers and, when the echo server answered, what it received.
:meth:`NginxOracle.stop` ends nginx and the echo server and removes the directory.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Answer", "NginxOracle", "config_test", "disagreement", "nginx_binary", "start_oracle"]


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


class NginxOracle:
    """One nginx process plus one echo server, for one rendered configuration."""

    def __init__(self, render: Callable[[str, str, str], str]) -> None:
        """``render(listen, upstream, prefix)`` returns the nginx.conf text."""
        binary = nginx_binary()
        assert binary is not None, "nginx is not installed"
        self._tmp = tempfile.mkdtemp(prefix="ing2gw-nginx-")
        os.chmod(self._tmp, 0o755)
        self._echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        self._echo.daemon_threads = True
        self._echo_thread = threading.Thread(target=self._echo.serve_forever, daemon=True)
        self._echo_thread.start()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.set_inheritable(True)
        self.port = self._sock.getsockname()[1]
        echo_port = self._echo.server_address[1]
        self.conf = render(f"127.0.0.1:{self.port}", f"127.0.0.1:{echo_port}", self._tmp)
        conf_path = Path(self._tmp) / "nginx.conf"
        conf_path.write_text(self.conf)
        self._error_log = Path(self._tmp) / "error.log"
        env = {**os.environ, "NGINX": f"{self._sock.fileno()};"}
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [binary, "-p", self._tmp, "-c", str(conf_path), "-e", str(self._error_log)],
            env=env, pass_fds=(self._sock.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

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

    def send(self, method: str, host: str | None, target: str,
             headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request exactly as given (``target`` is not re-encoded)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else "127.0.0.1")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
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
        self._sock.close()
        self._echo.shutdown()
        self._echo.server_close()
        shutil.rmtree(self._tmp, ignore_errors=True)



def start_oracle(model: Any) -> NginxOracle:
    """Start nginx serving the configuration ingress-nginx would write for ``model``."""
    from .model.render import render_nginx_conf

    return NginxOracle(lambda listen, upstream, prefix: render_nginx_conf(
        model.servers, listen=listen, upstream=upstream, prefix=prefix))


# Model outcomes that come from ingress-nginx's Lua code, which the rendered config lacks.
LUA_ONLY = frozenset({"SSLRedirect", "WWWRedirect"})


def disagreement(model: Any, oracle: NginxOracle, method: str, host: str, target: str,
                 client: str = "127.0.0.1") -> list[str]:
    """Where the model and nginx answer one plain-HTTP request differently: status, redirect
    Location, chosen location and backend, upstream URI and X-Forwarded-Prefix. (Canary,
    HTTPS redirects and www twins are Lua in ingress-nginx and not rendered.)"""
    from ing2gw.http import Request

    from .model.render import DEFAULT_BACKEND_LABEL, location_ids

    outcome = model.route(Request.build(host=host, path=target, method=method), client).to_dict()
    if outcome["reason"] in LUA_ONLY or len(outcome.get("weights") or {}) > 1:
        return []  # decided by ingress-nginx's Lua (HTTPS redirect, www twin, canary): not rendered
    answer = oracle.send(method, host, target)
    problems: list[str] = []
    if outcome["status"] != answer.status:
        problems.append(f"status: model {outcome['status']}, nginx {answer.status}")
    if outcome["redirect"] is not None and outcome["redirect"]["location"] != answer.headers.get("location"):
        problems.append(f"Location: model {outcome['redirect']['location']}, nginx {answer.headers.get('location')}")
    if answer.echo is not None:
        got = answer.echo["headers"]
        _, loc = location_ids(model.servers)[got["x-ing2gw-location"]]
        nginx_matched = {"ingress": loc.entry.ingress, "path": loc.entry.path, "location": loc.directive}
        if outcome["matched"] != nginx_matched:
            problems.append(f"location: model {outcome['matched']}, nginx {nginx_matched}")
        want_backend = outcome["backend"] or DEFAULT_BACKEND_LABEL
        if outcome["status"] in (200, 404) and got["x-ing2gw-backend"] != want_backend:
            problems.append(f"backend: model {want_backend}, nginx {got['x-ing2gw-backend']}")
        upstream = outcome["upstream"]
        if upstream is not None:
            if upstream["path"] != answer.echo["path"]:
                problems.append(f"upstream URI: model {upstream['path']}, nginx {answer.echo['path']}")
            prefix = upstream["headers"].get("X-Forwarded-Prefix")
            if prefix != got.get("x-forwarded-prefix"):
                problems.append(f"X-Forwarded-Prefix: model {prefix}, nginx {got.get('x-forwarded-prefix')}")
    elif outcome["upstream"] is not None:
        problems.append("model proxies upstream, nginx answered itself")
    return problems


class OracleSession:
    """``verify --oracle nginx``: nginx started for a model; :meth:`check` compares one
    request's model answer with nginx's (plain HTTP: the rendered config has no TLS)."""

    name = "nginx"

    def __init__(self, model: Any) -> None:
        if nginx_binary() is None:
            from ing2gw.errors import UsageError

            raise UsageError("--oracle nginx needs the nginx binary (Debian package nginx)")
        self.model = model
        self.oracle = start_oracle(model)

    def check(self, request: Any) -> list[str] | None:
        """Disagreements for ``request``; None when nginx cannot decide it (https)."""
        if request.scheme != "http":
            return None
        return disagreement(self.model, self.oracle, request.method, request.host, request.target)

    def stop(self) -> None:
        self.oracle.stop()
