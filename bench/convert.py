"""Benchmark ``ing2gw convert`` against the floor: PyYAML's C loader and dumper.

Generates N Ingresses (default 10 000 over 50 namespaces, mixed paths, TLS and
annotations), then in one run measures:

* the floor: PyYAML ``CSafeLoader`` load + ``CSafeDumper`` dump of the same documents;
* ``ing2gw convert -f FILE`` in a subprocess (wall time and peak RSS).

Prints both, the wall-time ratio and the CPU-time ratio (steadier when other work shares the
machine). Run by hand: ``python bench/convert.py [-n 10000] [--save-output FILE]`` (the output
of ``convert``, to compare before and after a change with ``cmp``).
Targets: ratio <= 1.5, peak RSS <= 1 GiB at 10 000 Ingresses (issue 2); ratio <= 1.2, peak RSS
<= 2 GiB at 100 000 (issue 19).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ANNOTATION_SETS = [
    {},
    {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"},
    {"nginx.ingress.kubernetes.io/ssl-redirect": "false"},
    {"nginx.ingress.kubernetes.io/proxy-read-timeout": "120", "nginx.ingress.kubernetes.io/enable-cors": "true"},
]


def generate(n: int, namespaces: int = 50) -> str:
    return yaml.dump_all(documents(n, namespaces), Dumper=yaml.CSafeDumper, sort_keys=False)


def documents(n: int, namespaces: int = 50) -> list[dict]:
    docs = []
    for i in range(n):
        ns = f"team-{i % namespaces:02}"
        host = f"app{i}.{ns}.example.com"
        paths = [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": f"web{i % 7}", "port": {"number": 80}}}},
            {"path": f"/api/v{i % 3 + 1}", "pathType": "Prefix",
             "backend": {"service": {"name": f"api{i % 5}", "port": {"number": 8080}}}},
        ]
        if i % 4 == 0:
            paths.append({"path": "/healthz", "pathType": "Exact",
                          "backend": {"service": {"name": "health", "port": {"number": 8081}}}})
        spec: dict = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": paths}}]}
        if i % 3 == 0:
            spec["tls"] = [{"hosts": [host], "secretName": f"app{i}-tls"}]
        docs.append({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": f"app{i}", "namespace": ns, "annotations": dict(ANNOTATION_SETS[i % 4]),
                         "creationTimestamp": f"2024-01-{i % 28 + 1:02}T00:00:00Z"},
            "spec": spec,
        })
    return docs


def floor(text: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the PyYAML C load + dump, in this process."""
    start, cpu = time.perf_counter(), time.process_time()
    docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)
    return time.perf_counter() - start, time.process_time() - cpu


def run_convert(path: Path, output: str | None = None) -> tuple[float, int, float]:
    """(wall seconds, peak RSS bytes, CPU seconds) of this one child (``wait4``); its stdout
    goes to ``output`` when given (to compare outputs before and after a change)."""
    with open(output or os.devnull, "wb") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ing2gw", "convert", "-f", str(path), "-q", "--fail-on", "never"],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.exit(f"convert failed ({code}): {err.read()[-500:]}")
    return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of Ingresses")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--save-output", metavar="FILE", help="keep the convert output (of the last run) in FILE")
    args = ap.parse_args()
    before = os.getloadavg()
    text = generate(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.yaml"
        path.write_text(text)
        floors = [floor(text) for _ in range(args.repeat)]
        floor_s = min(f[0] for f in floors)
        floor_cpu = min(f[1] for f in floors)
        results = [run_convert(path, args.save_output) for _ in range(args.repeat)]
        wall = min(r[0] for r in results)
        rss = max(r[1] for r in results)
        cpu = min(r[2] for r in results)
    print(f"ingresses            {args.n}")
    print(f"input size           {len(text) / 1e6:.1f} MB")
    print(f"floor (PyYAML C)     {floor_s:.2f} s, CPU {floor_cpu:.2f} s")
    print(f"ing2gw convert       {wall:.2f} s (process, incl. start-up), CPU {cpu:.2f} s (user + system)")
    print(f"ratio                {wall / floor_s:.2f}  (target <= 1.5 at 10 000, <= 1.2 at 100 000)")
    print(f"CPU ratio            {cpu / floor_cpu:.2f}  (steadier than the wall ratio on a busy machine)")
    print(f"peak RSS             {rss / 2**20:.0f} MiB ({rss / args.n / 1024:.1f} KiB per Ingress; "
          "target <= 1024 at 10 000, <= 2048 at 100 000)")
    print(f"cpu count            {os.cpu_count()}")
    print("load average         " + " -> ".join(", ".join(f"{x:.2f}" for x in la) for la in (before, os.getloadavg())))


if __name__ == "__main__":
    main()
