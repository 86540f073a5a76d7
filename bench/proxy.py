"""Benchmark of ``ing2gw serve`` against nginx, both reverse-proxying to the same backend.

Starts a local nginx as the backend (a fixed small answer), then measures with ``wrk``
(same threads, connections and duration for every run, in one invocation), twice: with
the same request head repeated (what ``wrk`` sends by default, which the proxy's per-head
caches serve) and with a distinct head per request (``--distinct``-style: a counter in
the path and query, so every head is parsed and routed from scratch):

  (a) nginx with one worker proxying to the backend (HTTP/1.1 keep-alive upstream),
  (b) ``ing2gw serve --workers 1`` in front of the same backend,
  (c) ``ing2gw serve --workers N`` for each other N in --workers (scaling with cores).

Prints requests/s, p99 latency, the ratio to nginx and the proxy's CPU time per request
(its processes' user + system time over the run, divided by the requests: steadier than
requests/s on a shared machine, where wrk, the backend and other load compete for the
same cores). Targets (issue 18): ``ing2gw serve`` with one worker reaches >= 0.5x nginx's
requests/s with repeated heads and >= 0.3x with distinct heads.

    python bench/proxy.py [--duration 10] [--connections 50] [--threads 1] [--workers 1,2]

Needs the Debian packages ``nginx`` and ``wrk`` (apt-get install -y nginx wrk).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "bench.example"

MANIFEST = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: bench}
spec:
  gatewayClassName: bench
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: bench}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: bench}
spec:
  parentRefs: [{name: gw}]
  hostnames: [bench.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: backend, port: 80}]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early with {proc.returncode}: {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} did not open within {timeout}s")


def nginx_conf(work: Path, name: str, workers: int, server: str, upstream: str = "") -> Path:
    temp = work / f"{name}-temp"
    temp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    paths = "".join(f"  {kind}_temp_path {temp}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = work / f"{name}.conf"
    conf.write_text(
        f"{user}worker_processes {workers};\ndaemon off;\npid {work}/{name}.pid;\n"
        f"error_log {work}/{name}.err warn;\nevents {{ worker_connections 4096; }}\n"
        f"http {{\n  access_log off;\n{paths}{upstream}  server {{\n{server}  }}\n}}\n")
    return conf


def start_nginx(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(conf.parent)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its direct children (nginx
    workers, ``ing2gw serve`` workers), from /proc; 0 where /proc is missing."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


# wrk script: a distinct request head every time (no per-head cache can help)
DISTINCT = """\
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/item/" .. counter .. "?n=" .. counter)
end
"""


def run_wrk(port: int, args: argparse.Namespace, pid: int,
            script: Path | None = None) -> tuple[float, float, float]:
    """(requests/s, p99 latency in ms, CPU microseconds per request used by ``pid`` and
    its children: the proxy's own cost, which the machine's other load disturbs less than
    the throughput)."""
    before = cpu_seconds(pid)
    extra = ["-s", str(script)] if script is not None else []
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
         "-H", f"Host: {HOST}", *extra, f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert m is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  warning: {errors.group(1)} non-2xx answers", file=sys.stderr)
    count = re.search(r"(\d+) requests in", out)
    used = cpu_seconds(pid) - before
    per_request = used * 1e6 / int(count.group(1)) if count and int(count.group(1)) else 0.0
    return rps, float(m.group(1)) * scale, per_request


def start_serve(work: Path, port: int, backend: int, workers: int) -> subprocess.Popen[bytes]:
    manifest = work / "bench.yaml"
    manifest.write_text(MANIFEST)
    return subprocess.Popen(
        [sys.executable, "-m", "ing2gw.cli.serve", "-f", str(manifest),
         "--listen", f"{port}=80", "--backend", f"bench/backend:80=http://127.0.0.1:{backend}",
         "--workers", str(workers), "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=open(work / f"serve-{workers}.log", "wb"))


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="ing2gw serve worker counts to measure")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get update && apt-get install -y nginx wrk")
    counts = [int(n) for n in args.workers.split(",")]
    if 1 not in counts:
        counts.insert(0, 1)
    results: list[tuple[str, str, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="ing2gw-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        backend_port, nginx_port = free_port(), free_port()
        backend = start_nginx(nginx_conf(
            work, "backend", 2,
            f"    listen 127.0.0.1:{backend_port};\n    keepalive_requests 100000;\n"
            "    location / { default_type text/plain; return 200 \"hello from the backend\\n\"; }\n"))
        procs = [backend]
        try:
            wait_for_port(backend_port, backend)
            upstream = (f"  upstream be {{ server 127.0.0.1:{backend_port}; keepalive 128; "
                        "keepalive_requests 100000; }\n")
            proxy = start_nginx(nginx_conf(
                work, "proxy", 1,
                f"    listen 127.0.0.1:{nginx_port};\n    keepalive_requests 100000;\n"
                "    location / { proxy_pass http://be; proxy_http_version 1.1; "
                "proxy_set_header Connection \"\"; proxy_set_header Host $host; }\n",
                upstream))
            procs.append(proxy)
            wait_for_port(nginx_port, proxy)
            script = work / "distinct.lua"
            script.write_text(DISTINCT)
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
                  f"{os.cpu_count()} CPUs", file=sys.stderr)
            for label, heads in (("repeated", None), ("distinct", script)):
                rps, p99, cpu = run_wrk(nginx_port, args, proxy.pid, heads)
                results.append((label, "nginx (1 worker)", rps, p99, cpu))
            stop(proxy)
            procs.remove(proxy)
            for n in counts:
                port = free_port()
                serve = start_serve(work, port, backend_port, n)
                procs.append(serve)
                wait_for_port(port, serve)
                for label, heads in (("repeated", None), ("distinct", script)):
                    rps, p99, cpu = run_wrk(port, args, serve.pid, heads)
                    results.append((label, f"ing2gw serve (--workers {n})", rps, p99, cpu))
                stop(serve)
                procs.remove(serve)
        finally:
            for p in procs:
                stop(p)
    for label, target in (("repeated", 0.5), ("distinct", 0.3)):
        rows = [r[1:] for r in results if r[0] == label]
        base = rows[0][1]
        print(f"\n{label} heads{'':17} {'requests/s':>12} {'p99 ms':>9} {'vs nginx':>9} "
              f"{'CPU us/req':>11}")
        for name, rps, p99, cpu in rows:
            print(f"{name:32} {rps:12.0f} {p99:9.2f} {rps / base:8.2f}x {cpu:11.1f}")
        one = next(r for n, r, _, _ in rows if n.endswith("--workers 1)"))
        verdict = "meets" if one / base >= target else "misses"
        print(f"ing2gw serve with one worker {verdict} the {target}x target ({one / base:.2f}x)")


if __name__ == "__main__":
    main()
