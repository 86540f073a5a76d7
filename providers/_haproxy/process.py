"""Real haproxy on loopback as the ground truth for the HAProxy models.

:class:`HaproxyProcess` runs the system ``haproxy`` (Debian package) in the foreground on two
loopback sockets it inherits (plain HTTP and HTTPS with a throw-away certificate; the sockets
are bound here and passed as ``fd@N``, so there is no port race), serving a configuration a
provider rendered (``@HTTP@``, ``@HTTPS@``, ``@ECHO@`` and ``@DIR@`` are filled in here). Every
haproxy backend proxies to one in-process echo server, which answers with what it received
as JSON (the backend's name comes in the ``X-Ing2gw-Backend`` header the configuration sets).
:meth:`HaproxyProcess.send` sends one request; :meth:`HaproxyProcess.load` swaps the
configuration (a restart: haproxy starts in milliseconds).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .._common.probebody import declared_body

__all__ = ["BACKEND_HEADER", "HaproxyAnswer", "HaproxyProcess", "check_config", "haproxy_binary"]

BACKEND_HEADER = "X-Ing2gw-Backend"


def haproxy_binary() -> str | None:
    """The haproxy executable, or None when it is not installed."""
    found = shutil.which("haproxy")
    if found:
        return found
    for candidate in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class _Reflector(BaseHTTPRequestHandler):
    """Describes each request it gets, as JSON."""

    protocol_version = "HTTP/1.1"

    def _reply(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        if size:
            self.rfile.read(size)
        seen = {
            "method": self.command,
            "target": self.requestline.split(" ")[1] if self.requestline.count(" ") >= 2 else self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
        }
        payload = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _reply

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # haproxy closing its keep-alive connections on a restart is not an error


@dataclass(frozen=True)
class HaproxyAnswer:
    status: int
    headers: Mapping[str, str]  # lower-case names
    upstream: Mapping[str, Any] | None  # what the echo server received, when haproxy proxied

    @property
    def backend(self) -> str | None:
        return None if self.upstream is None else self.upstream["headers"].get(BACKEND_HEADER.lower())


def check_config(conf: str) -> tuple[bool, str]:
    """``haproxy -c`` on a configuration whose placeholders are filled with harmless values."""
    binary = haproxy_binary()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="ing2gw-haproxy-c-") as tmp:
        text = (conf.replace("@DIR@", tmp).replace("@HTTP@", "127.0.0.1:0").replace("@HTTPS@", "127.0.0.1:0")
                .replace("@ECHO@", "127.0.0.1:9"))
        (Path(tmp) / "crt.pem").write_text("")
        path = Path(tmp) / "haproxy.cfg"
        path.write_text(text.replace(" ssl crt ", " "))
        proc = subprocess.run([binary, "-c", "-q", "-f", str(path)], capture_output=True, text=True, timeout=30)
        return proc.returncode == 0, proc.stderr + proc.stdout


def _self_signed(directory: str) -> str | None:
    pem = Path(directory) / "crt.pem"
    key, cert = Path(directory) / "k.pem", Path(directory) / "c.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=ing2gw-haproxy", "-keyout", str(key), "-out", str(cert)],
                       capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        return None
    pem.write_text(cert.read_text() + key.read_text())
    return str(pem)


class HaproxyProcess:
    """One haproxy plus one echo server."""

    def __init__(self) -> None:
        binary = haproxy_binary()
        assert binary is not None, "haproxy is not installed"
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="ing2gw-haproxy-")
        self.echo = _EchoServer(("127.0.0.1", 0), _Reflector)
        threading.Thread(target=self.echo.serve_forever, daemon=True).start()
        self.plain = socket.create_server(("127.0.0.1", 0))
        self.plain.set_inheritable(True)
        self.certificate = _self_signed(self.dir)
        self.secure: socket.socket | None = None
        if self.certificate is not None:
            self.secure = socket.create_server(("127.0.0.1", 0))
            self.secure.set_inheritable(True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.files: dict[str, str] = {}

    @property
    def http_port(self) -> int:
        return int(self.plain.getsockname()[1])

    @property
    def https_port(self) -> int | None:
        return None if self.secure is None else int(self.secure.getsockname()[1])

    def load(self, conf: str, files: Mapping[str, str] | None = None) -> None:
        """Serve ``conf`` (and write ``files`` -- map files -- next to it)."""
        self.stop_haproxy()
        for name, text in (files or {}).items():
            (Path(self.dir) / name).write_text(text)
        text = conf.replace("@DIR@", self.dir).replace("@HTTP@", f"fd@{self.plain.fileno()}")
        text = text.replace("@ECHO@", f"127.0.0.1:{self.echo.server_address[1]}")
        fds = [self.plain.fileno()]
        if self.secure is not None:
            text = text.replace("@HTTPS@", f"fd@{self.secure.fileno()}")
            fds.append(self.secure.fileno())
        else:
            text = "\n".join(line for line in text.splitlines() if "@HTTPS@" not in line) + "\n"
        path = Path(self.dir) / "haproxy.cfg"
        path.write_text(text)
        self.proc = subprocess.Popen([self.binary, "-db", "-f", str(path)], pass_fds=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"haproxy refused the configuration:\n{err}\n{text}")
            try:
                self._request("GET", "ing2gw-startup.invalid", "/", {}, False)
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("haproxy did not answer within 10 s")

    def _request(self, method: str, host: str, target: str, headers: Mapping[str, str], https: bool) -> HaproxyAnswer:
        if https:
            assert self.https_port is not None
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, timeout=10, context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            body = declared_body(headers)
            if body:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # haproxy answered (a 413) before taking the whole body: its answer is still there
            resp = conn.getresponse()
            body = resp.read()
            got = {k.lower(): v for k, v in resp.getheaders()}
            upstream = json.loads(body) if BACKEND_HEADER.lower() in body.decode(errors="replace") else None
            return HaproxyAnswer(resp.status, got, upstream)
        finally:
            conn.close()

    def send(self, method: str, host: str, target: str, headers: Mapping[str, str] | None = None,
             https: bool = False) -> HaproxyAnswer:
        """Send one request; a ``Content-Length`` it declares comes with that many bytes of body
        (a body-limit probe carries only the header: haproxy would wait for the body)."""
        return self._request(method, host, target, headers or {}, https)

    def stop_haproxy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def stop(self) -> None:
        self.stop_haproxy()
        self.echo.shutdown()
        self.echo.server_close()
        self.plain.close()
        if self.secure is not None:
            self.secure.close()
        shutil.rmtree(self.dir, ignore_errors=True)
