"""Benchmark ``ing2gw verify --access-log``: log lines replayed per second, and memory.

Generates the Ingress set of ``bench/convert.py`` (default 10 000 Ingresses) and an
ingress-nginx access log (default format, so the Host comes from the upstream name) of N
lines (default 1 000 000): pages, API calls with ids and query strings, static assets
(popularity by Zipf's law), searches with a unique id (5 %), unknown paths (about 2 %),
other methods (10 %). Then in one run times, as subprocesses:

* ``ing2gw verify --no-generate --access-log`` on a one-line log -- the fixed cost
  (start-up, reading, conversion, model and router);
* the same on the N-line log and on an N/10-line log.

The rate is ``N / (wall - fixed)``; the CPU seconds per line (of the command and its replay
workers, less the fixed cost's) move less with other load on the machine. Memory is
constant when the peak RSS with N lines is (about) the one with N/10 lines: the log is
streamed, never held. Prints both.

    python bench/accesslog.py [-n 10000] [--lines 1000000] [--repeat 1]

Targets (issue 19): >= 50 000 log lines/s at 1 000 000 lines; peak RSS (N lines) / peak RSS
(N/10 lines) about 1.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).parent))
from _run import load, run  # noqa: E402
from convert import generate  # noqa: E402


def upstreams(n: int, namespaces: int = 50) -> list[tuple[str, str]]:
    """(upstream name, kind) of the services the convert benchmark's Ingresses proxy to."""
    out: set[tuple[str, str]] = set()
    for i in range(n):
        ns = f"team-{i % namespaces:02}"
        out.add((f"{ns}-web{i % 7}-80", "web"))
        out.add((f"{ns}-api{i % 5}-8080", "api"))
        if i % 4 == 0:
            out.add((f"{ns}-health-8081", "health"))
    return sorted(out)


def zipf(rng: random.Random, n: int) -> int:
    """0..n-1, k drawn with probability about proportional to 1/(k+1) (Zipf's law, s = 1: how
    the popularity of web pages is distributed)."""
    return int(n ** rng.random()) - 1


def write_log(fh: TextIO, lines: int, ups: list[tuple[str, str]], seed: int = 19) -> None:
    rng = random.Random(seed)
    popular = [(u, k) for u, k in ups][: max(1, len(ups) // 5)]
    batch: list[str] = []
    for i in range(lines):
        upstream, kind = rng.choice(popular) if rng.random() < 0.6 else rng.choice(ups)
        method = "GET" if rng.random() < 0.9 else rng.choice(["POST", "PUT", "DELETE", "HEAD"])
        r = rng.random()
        if kind == "health":
            target = "/healthz"
        elif kind == "api":
            version = rng.randrange(1, 4)
            if r < 0.5:
                target = f"/api/v{version}/items?page={zipf(rng, 20)}"
            elif r < 0.9:
                target = f"/api/v{version}/items/{zipf(rng, 100_000)}"
            else:
                target = f"/api/v{version}/search?q=term{zipf(rng, 10_000)}&id={i}"
        else:
            if r < 0.4:
                target = "/"
            elif r < 0.7:
                target = f"/static/app.{zipf(rng, 50)}.js"
            elif r < 0.95:
                target = f"/products/{zipf(rng, 5_000)}"
            else:
                target = f"/missing/{i}"
        status = 200 if r < 0.97 else 404
        batch.append(
            f'10.{i % 250}.{i % 199}.{i % 97} - - [06/Dec/2026:01:{i // 60000 % 60:02}:{i // 1000 % 60:02} +0000] '
            f'"{method} {target} HTTP/1.1" {status} {rng.randrange(100, 9000)} "-" "Mozilla/5.0 (bench)" '
            f'{rng.randrange(80, 600)} 0.00{rng.randrange(1, 9)} [{upstream}] [] 10.1.{i % 200}.{i % 50}:80 '
            f'{rng.randrange(100, 9000)} 0.00{rng.randrange(1, 9)} {status} {i:032x}\n')
        if len(batch) >= 10_000:
            fh.writelines(batch)
            batch = []
    fh.writelines(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of Ingresses")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs of each")
    ap.add_argument("--workers", type=int, default=None, help="verify --workers (default: its own)")
    args = ap.parse_args()
    before = load()
    ups = upstreams(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        ingresses = Path(tmp) / "ingresses.yaml"
        ingresses.write_text(generate(args.n))
        logs = {}
        for count in (1, args.lines // 10, args.lines):
            logs[count] = Path(tmp) / f"access-{count}.log"
            with logs[count].open("w") as fh:
                write_log(fh, count, ups)
        base = ["verify", "-f", str(ingresses), "--no-generate", "-q", "-o", "json", "--fail-on", "never"]
        if args.workers:
            base += ["--workers", str(args.workers)]
        best: dict[int, tuple[float, int, float]] = {}
        summaries = {}
        for _ in range(args.repeat):
            for count, log in logs.items():
                r = run([*base, "--access-log", str(log)])
                wall, rss, cpu = best.get(count, (float("inf"), 0, float("inf")))
                best[count] = (min(wall, r.wall), max(rss, r.rss), min(cpu, r.cpu))
                summaries[count] = json.loads(r.stdout)["summary"]
    fixed = best[1][0]
    small, large = args.lines // 10, args.lines
    s = summaries[large]
    rate = large / (best[large][0] - fixed)
    cpu_per_line = (best[large][2] - best[1][2]) / large
    rss_ratio = best[large][1] / best[small][1]
    print(f"ingresses            {args.n}")
    print(f"log lines            {large}: {s['requests']} replayed, {s['differ']} differ, "
          f"{s['unexplained']} unexplained")
    print(f"fixed cost           {fixed:.2f} s (verify with a one-line log), peak RSS {best[1][1] / 2**20:.0f} MiB")
    print(f"{small:>8} lines       {best[small][0]:.2f} s, peak RSS {best[small][1] / 2**20:.0f} MiB")
    print(f"{large:>8} lines       {best[large][0]:.2f} s, peak RSS {best[large][1] / 2**20:.0f} MiB")
    print(f"rate                 {rate:,.0f} lines/s (target >= 50,000)")
    print(f"cpu                  {cpu_per_line * 1e6:.1f} us per line (all processes: "
          f"{1 / cpu_per_line:,.0f} lines per CPU second)")
    print(f"memory               peak RSS {large} / {small} lines = {rss_ratio:.2f} (constant: about 1)")
    print(f"{before} before, {load()} after")


if __name__ == "__main__":
    main()
