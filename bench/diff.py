"""Benchmark ``ing2gw diff`` on 2 x N Ingresses against one conversion of one side.

Generates the benchmark set of ``bench/convert.py`` (default 10 000 Ingresses) as BASE, and
for each count C in ``--changed`` (default 1 and 3000) a HEAD with C Ingresses changed (a path
added to each, spread over the set). In one run it times ``ing2gw convert`` of BASE and, per
HEAD, ``ing2gw diff BASE HEAD -o json`` and ``-o markdown`` (the pull-request comment, whose
length is capped). Prints each wall time and its ratio to the conversion, the CPU seconds
(the command and the workers it forks) and their ratio, and the load average before and after
(the machine is shared: compare ratios of one run, and CPU ratios between runs).
With ``--base DIR`` (a checkout of another revision, e.g. ``git worktree add --detach
/tmp/base main``) each repeat also runs that checkout's ``diff`` right after this one's, and
prints its ratios too; the two reports of each run must be identical.
Run by hand: ``python bench/diff.py [-n 10000] [--changed 1,3000] [--repeat 2] [--base DIR]``.
Target (issues 7 and 19): every ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import yaml  # noqa: E402
from _run import load, run  # noqa: E402
from convert import documents  # noqa: E402


def changed(docs: list[dict], count: int) -> list[dict]:
    out = copy.deepcopy(docs)
    step = max(1, len(out) // count)
    for i in range(0, min(count * step, len(out)), step):
        out[i]["spec"]["rules"][0]["http"]["paths"].append(
            {"path": f"/new{i}", "pathType": "Prefix", "backend": {"service": {"name": "new", "port": {"number": 80}}}}
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--changed", default="1,3000", help="how many Ingresses HEAD changes (comma-separated runs)")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs of each")
    ap.add_argument("--base", metavar="DIR", help="also run diff from this checkout (another revision)")
    args = ap.parse_args()
    if args.base and not (Path(args.base) / "ing2gw" / "__init__.py").is_file():
        sys.exit(f"--base {args.base}: not a checkout of ing2gw")
    sides = [("this", None), ("base", args.base)] if args.base else [("this", None)]
    docs = documents(args.n)
    counts = [int(c) for c in args.changed.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.yaml"
        base.write_text(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False))
        heads = {}
        for count in counts:
            heads[count] = Path(tmp) / f"head-{count}.yaml"
            heads[count].write_text(yaml.dump_all(changed(docs, count), Dumper=yaml.CSafeDumper, sort_keys=False))
        print(load())
        convert: tuple[float, float] = (float("inf"), float("inf"))
        best: dict[tuple[str, int, str], tuple[float, float, int]] = {}
        for _ in range(args.repeat):  # interleaved, so that load from other processes hits all alike
            r = run(["convert", "-f", str(base), "-q", "--fail-on", "never"])
            convert = (min(convert[0], r.wall), min(convert[1], r.cpu))
            for count, head in heads.items():
                for fmt in ("json", "markdown"):
                    reports = set()
                    for side, checkout in sides:
                        r = run(["diff", str(base), str(head), "-o", fmt], checkout)
                        reports.add(r.stdout)
                        wall, cpu, _ = best.get((side, count, fmt), (r.wall, r.cpu, 0))
                        best[side, count, fmt] = (min(wall, r.wall), min(cpu, r.cpu), len(r.stdout))
                    if len(reports) > 1:
                        sys.exit(f"diff, {count} changed, -o {fmt}: the reports of this checkout and --base differ")
    print(load())
    print(f"ingresses            2 x {args.n}")
    print(f"ing2gw convert       {convert[0]:.2f} s, {convert[1]:.2f} s CPU (one side)")
    for (side, count, fmt), (wall, cpu, size) in best.items():
        label = f"{side} " if args.base else ""
        print(f"{label}diff, {count:>5} changed, -o {fmt:<8} {wall:6.2f} s  ratio {wall / convert[0]:.2f}  "
              f"CPU {cpu:6.2f} s  ratio {cpu / convert[1]:.2f}  (target <= 1.5; report {size / 1e3:.0f} kB)")
    if args.base:
        print("reports identical (this checkout and --base)")


if __name__ == "__main__":
    main()
