"""Benchmark ``ing2gw verify`` on the convert benchmark set, against ``ing2gw convert``.

Generates N Ingresses (default 10 000, as ``bench/convert.py``), then in one run times
``ing2gw convert`` and ``ing2gw verify`` (which converts too, then replays the generated
requests through the ingress-nginx model and the reference router), each the whole command
in a subprocess. Prints the number of requests replayed (on each side), the whole verify
command's ratio to the whole convert command (target, issue 19: <= 2.0 with >= 100 000
requests) and the replay alone (``summary.elapsed_s``) against convert (issue 5: <= 1.0), and
the load average before and after. On a busy shared machine the wall times depend on the
load; the CPU seconds (the command and its replay workers) are printed beside them.
With ``--base DIR`` (a checkout of another revision, e.g. ``git worktree add --detach
/tmp/base main``) each repeat also runs that checkout's ``verify`` (alternating with this
one's), prints its figures and the ratios of this checkout's to it, and checks that both
reports are the same but for ``summary.elapsed_s``.
Run by hand: ``python bench/verify.py [-n 10000] [--repeat 2] [--workers N] [--base DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _run import Run, load, run  # noqa: E402
from convert import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs of each")
    ap.add_argument("--workers", type=int, default=None, help="verify --workers (default: its own)")
    ap.add_argument("--base", metavar="DIR", help="also run verify from this checkout (another revision)")
    args = ap.parse_args()
    if args.base and not (Path(args.base) / "ing2gw" / "__init__.py").is_file():
        sys.exit(f"--base {args.base}: not a checkout of ing2gw")
    before = load()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.yaml"
        path.write_text(generate(args.n))
        converts: list[Run] = []
        runs: list[Run] = []
        bases: list[Run] = []
        workers = ["--workers", str(args.workers)] if args.workers else []
        command = ["verify", "-f", str(path), "-q", "-o", "json", "--fail-on", "never", "--allow-unprotected", *workers]
        for _ in range(args.repeat):  # interleaved, so that load from other processes hits both alike
            converts.append(run(["convert", "-f", str(path), "-q", "--fail-on", "never"]))
            runs.append(run(command))
            if args.base:
                bases.append(run(command, args.base))
    convert_s = min(r.wall for r in converts)
    verify_s = min(r.wall for r in runs)
    convert_cpu = min(r.cpu for r in converts)
    verify_cpu = min(r.cpu for r in runs)
    summaries = [json.loads(r.stdout)["summary"] for r in runs]
    summary = summaries[0]
    replay = min(s["elapsed_s"] for s in summaries)
    print(f"ingresses            {args.n}")
    print(f"requests replayed    {summary['requests']} (x2 sides); {summary['differ']} differ, "
          f"{summary['unexplained']} unexplained")
    print(f"ing2gw convert       {convert_s:.2f} s ({convert_cpu:.2f} s CPU)")
    print(f"ing2gw verify        {verify_s:.2f} s (conversion + replay; {verify_cpu:.2f} s CPU)")
    print(f"replay               {replay:.2f} s, {2 * summary['requests'] / replay:,.0f} decisions/s")
    print(f"ratio, whole command {verify_s / convert_s:.2f}  (verify / convert, target <= 2.0)")
    print(f"ratio, replay        {replay / convert_s:.2f}  (replay / convert, target <= 1.0)")
    print(f"ratio, CPU           {verify_cpu / convert_cpu:.2f}  (verify / convert CPU seconds)")
    if bases:
        base_s, base_cpu = min(r.wall for r in bases), min(r.cpu for r in bases)
        print(f"base verify          {base_s:.2f} s ({base_cpu:.2f} s CPU; {args.base})")
        print(f"ratio, base whole    {base_s / convert_s:.2f}  (base verify / convert)")
        print(f"this / base          {verify_s / base_s:.2f} wall, {verify_cpu / base_cpu:.2f} CPU")
        same = {_without_elapsed(r.stdout) for r in [*runs, *bases]}
        print(f"reports              {'identical' if len(same) == 1 else 'DIFFER'} (but summary.elapsed_s)")
    print(f"{before} before, {load()} after")


def _without_elapsed(report: str) -> str:
    return re.sub(r'"elapsed_s":\s*[0-9.e+-]+', '"elapsed_s":0', report, count=1)


if __name__ == "__main__":
    main()
