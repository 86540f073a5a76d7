"""The ingress-nginx model's timeout against real nginx (ground truth we did not write): the
model answers 504 when the backend takes longer than the location's ``proxy_read_timeout``
to answer, and passes the answer on within it -- also with ingress-nginx's
``proxy_next_upstream error timeout`` and 3 tries, which do not turn the 504 into anything
else. nginx here runs the directives the controller's template writes for a location with
``proxy-read-timeout: "1"``, in front of a backend that waits before answering."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from nginx_oracle import ingress, nginx_binary, resources_of

from ing2gw.http import Request
from ing2gw.providers.ingress_nginx.model import NginxModel

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="the nginx binary is not installed")


class _Slow(BaseHTTPRequestHandler):
    """Waits the X-Delay header's seconds, then answers 200."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(float(self.headers.get("X-Delay") or 0))
        body = b"slow answer\n"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # nginx gave up on us

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nginx() -> Iterator[int]:
    backend = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    backend.daemon_threads = True
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = _free_port()
    work = Path(tempfile.mkdtemp(prefix="ing2gw-nginx-timeout-"))
    os.chmod(work, 0o755)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"  {k}_temp_path {work}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (work / "nginx.conf").write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n{temp}"
        f"  upstream upstream_balancer {{ server 127.0.0.1:{backend.server_address[1]}; }}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        "    location / {\n"
        # what the template writes for the location (proxy-read-timeout "1", the other defaults)
        "      proxy_connect_timeout 5s;\n      proxy_send_timeout 60s;\n      proxy_read_timeout 1s;\n"
        "      proxy_next_upstream error timeout;\n      proxy_next_upstream_timeout 0;\n"
        "      proxy_next_upstream_tries 3;\n"
        "      proxy_http_version 1.1;\n      proxy_pass http://upstream_balancer;\n"
        "    }\n  }\n}\n")
    proc = subprocess.Popen([str(nginx_binary()), "-c", str(work / "nginx.conf"), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        backend.shutdown()
        backend.server_close()


def _real(port: int, delay: float) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    start = time.monotonic()
    try:
        conn.request("GET", "/", headers={"Host": "slow.test", "X-Delay": str(delay)})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - start
    finally:
        conn.close()


def test_read_timeout_as_real_nginx(nginx: int) -> None:
    model = NginxModel.from_resources(resources_of([
        ingress("slow", "slow.test", [("/", "Prefix", "web")], {"proxy-read-timeout": "1"})]))
    for delay in (0.2, 1.6):
        status, took = _real(nginx, delay)
        predicted = model.route(Request.build(host="slow.test", backend_delay=delay))
        assert predicted.status == status, (delay, predicted.notes)
        if status == 504:
            # one read timeout, not three: the single server is not tried again on a timeout
            assert 0.9 < took < 2.5, took
