"""Benchmark ``ing2gw diff`` on 2 x N Ingresses with one changed, against one conversion.

Generates the benchmark set of ``bench/convert.py`` (default 10 000 Ingresses) as BASE, and
HEAD with one Ingress changed (a path added), then in one run times ``ing2gw convert`` of
BASE and ``ing2gw diff BASE HEAD``. Prints both and the ratio (target: <= 1.5).
Run by hand: ``python bench/diff.py [-n 10000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import yaml  # noqa: E402
from _run import timed  # noqa: E402
from convert import documents  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs of each")
    args = ap.parse_args()
    docs = documents(args.n)
    base_text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)
    docs[len(docs) // 2]["spec"]["rules"][0]["http"]["paths"].append(
        {"path": "/new", "pathType": "Prefix", "backend": {"service": {"name": "new", "port": {"number": 80}}}}
    )
    head_text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.yaml"
        head = Path(tmp) / "head.yaml"
        base.write_text(base_text)
        head.write_text(head_text)
        convert_s = min(timed(["convert", "-f", str(base), "-q", "--fail-on", "never"])[0]
                        for _ in range(args.repeat))
        runs = [timed(["diff", str(base), str(head), "-o", "json"]) for _ in range(args.repeat)]
        diff_s = min(r[0] for r in runs)
        out = runs[0][1]
    print(f"ingresses            2 x {args.n}")
    print(f"ing2gw convert       {convert_s:.2f} s")
    print(f"ing2gw diff          {diff_s:.2f} s")
    print(f"ratio                {diff_s / convert_s:.2f}  (target <= 1.5)")
    print(f"report               {len(out) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
