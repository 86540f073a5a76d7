"""Benchmark of ``ing2gw serve`` against nginx, both reverse-proxying to the same backend.

Starts a local nginx as the backend (a fixed small answer), nginx with one worker proxying
to it (HTTP/1.1 keep-alive upstream) and ``ing2gw serve`` for each count in --workers, all
at once, then measures with ``wrk`` (same threads, connections and duration for every run)
in rounds. Each round measures, back to back, nginx and then every ``ing2gw serve``: first
with the same request head repeated (what ``wrk`` sends by default, which the proxy's
per-head caches serve), then with a distinct head per request (a counter in the path and
query, so every head is parsed and routed from scratch).

Each ratio compares runs seconds apart, in the same round: on a shared machine the load
changes within a minute (another process starting, a test suite), and a ratio of runs taken
before and after such a change measures the change, not the proxy. The load average is
printed with every run, and the verdict is taken on the median ratio of the rounds.

Prints requests/s, p99 latency, the ratio to nginx and the proxy's CPU time per request
(its processes' user + system time over the run, divided by the requests: steadier than
requests/s on a shared machine, where wrk, the backend and other load compete for the
same cores). Targets (issue 18): ``ing2gw serve`` with one worker reaches >= 0.5x nginx's
requests/s with repeated heads and >= 0.3x with distinct heads.

    python bench/proxy.py [--duration 10] [--rounds 3] [--connections 50] [--threads 1]
                          [--workers 1,2]

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


def load_average() -> float:
    """The one-minute load average (0 where /proc is missing)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


Run = tuple[float, float, float, float]  # requests/s, p99 ms, CPU us/request, load average


def report(label: str, target: float, names: list[str], runs: dict[str, list[Run]]) -> None:
    base_name = names[0]
    print(f"\n{label} heads{'':22} {'load':>5} {'requests/s':>11} {'p99 ms':>8} "
          f"{'vs nginx':>9} {'CPU us/req':>11} {'CPU vs nginx':>13}")
    rounds = len(runs[base_name])
    for i in range(rounds):
        base = runs[base_name][i]
        for name in names:
            rps, p99, cpu, load = runs[name][i]
            cpu_ratio = base[2] / cpu if cpu else 0.0
            print(f"round {i + 1}: {name:29} {load:5.1f} {rps:11.0f} {p99:8.2f} "
                  f"{rps / base[0]:8.2f}x {cpu:11.1f} {cpu_ratio:12.2f}x")
    for name in names[1:]:
        ratios = [runs[name][i][0] / runs[base_name][i][0] for i in range(rounds)]
        cpus = [runs[base_name][i][2] / runs[name][i][2] if runs[name][i][2] else 0.0
                for i in range(rounds)]
        shown = " / ".join(f"{r:.2f}x" for r in ratios)
        print(f"{name}: vs nginx {shown} (median {median(ratios):.2f}x); "
              f"by CPU per request, median {median(cpus):.2f}x")
    one = next(n for n in names if n.endswith("--workers 1)"))
    got = median([runs[one][i][0] / runs[base_name][i][0] for i in range(rounds)])
    verdict = "meets" if got >= target else "misses"
    print(f"ing2gw serve with one worker {verdict} the {target}x target "
          f"(median of {rounds} rounds: {got:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of back-to-back runs (the verdict takes their median)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", default="1,2", help="ing2gw serve worker counts to measure")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get update && apt-get install -y nginx wrk")
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    counts = [int(n) for n in args.workers.split(",")]
    if 1 not in counts:
        counts.insert(0, 1)
    names = ["nginx (1 worker)", *(f"ing2gw serve (--workers {n})" for n in counts)]
    runs: dict[str, dict[str, list[Run]]] = {"repeated": {n: [] for n in names},
                                             "distinct": {n: [] for n in names}}
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
            targets = [(names[0], nginx_port, proxy)]
            for n, name in zip(counts, names[1:], strict=True):
                port = free_port()
                serve = start_serve(work, port, backend_port, n)
                procs.append(serve)
                wait_for_port(port, serve)
                targets.append((name, port, serve))
            script = work / "distinct.lua"
            script.write_text(DISTINCT)
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
                  f"{os.cpu_count()} CPUs, {args.rounds} rounds", file=sys.stderr)
            for i in range(args.rounds):
                for label, heads in (("repeated", None), ("distinct", script)):
                    for name, port, proc in targets:
                        load = load_average()
                        rps, p99, cpu = run_wrk(port, args, proc.pid, heads)
                        runs[label][name].append((rps, p99, cpu, load))
                        print(f"round {i + 1} {label:8} {name:29} load {load:5.2f}: "
                              f"{rps:8.0f} requests/s, {cpu:5.1f} us CPU/request",
                              file=sys.stderr)
        finally:
            for p in procs:
                stop(p)
    for label, target in (("repeated", 0.5), ("distinct", 0.3)):
        report(label, target, names, runs[label])

if __name__ == "__main__":
    main()
