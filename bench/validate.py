"""Benchmark validation: ``convert --validate`` against plain ``convert`` (the baseline), and
the fast path against the reference validator (the CRDs' own rules: jsonschema + cel-python).

Generates N Ingresses (default 10 000, as bench/convert.py), then in one run measures:

* ``ing2gw convert`` and ``ing2gw convert --validate`` in subprocesses (wall time, peak RSS);
* in this process, CPU seconds per object of the fast path and of the reference validator on
  a sample of the converted objects (default 200; the reference is slow).

Prints the times and the ratios. Run by hand: ``python bench/validate.py [-n 10000] [--sample 200]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import run  # noqa: E402
from convert import generate  # noqa: E402

from ing2gw.schema import validate  # noqa: E402
from ing2gw.schema.crds import Schemas  # noqa: E402


def per_object(check: object, objects: list[dict]) -> float:
    start = time.process_time()
    for obj in objects:
        check(obj)  # type: ignore[operator]
    return (time.process_time() - start) / max(len(objects), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.yaml"
        path.write_text(generate(args.n), encoding="utf-8")
        plain = run(["convert", "-q", "-f", str(path)])
        checked = run(["convert", "-q", "--validate", "-f", str(path)])
    objects = list(yaml.load_all(plain.stdout, Loader=yaml.CSafeLoader))
    routes = [o for o in objects if o["kind"] == "HTTPRoute"][: args.sample]
    fast = per_object(lambda o: validate(o), routes)
    reference = Schemas({}, reference=True)
    slow = per_object(lambda o: reference.validate(o), routes)
    print(f"{args.n} Ingresses -> {len(objects)} objects")
    print(f"convert            {plain.wall:8.2f} s  {plain.rss / 2**20:7.1f} MiB")
    print(f"convert --validate {checked.wall:8.2f} s  {checked.rss / 2**20:7.1f} MiB  "
          f"ratio {checked.wall / plain.wall:.2f}")
    print(f"HTTPRoute, fast path  {fast * 1e3:8.3f} ms CPU per object")
    print(f"HTTPRoute, reference  {slow * 1e3:8.3f} ms CPU per object  ratio {slow / fast:.0f}")


if __name__ == "__main__":
    main()
