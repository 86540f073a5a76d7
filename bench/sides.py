"""Benchmark of verify's replay per request, in-process: each side and the comparison.

Generates the 10k set of ``bench/convert.py``, sets ``ing2gw verify`` up on it (conversion,
model, router, probes: the whole command up to its replay), then times, on one core and in
CPU seconds, over every generated request:

* ``router``: the Gateway side (the reference router with its policy guard);
* ``model``: the source side (the provider's data-plane model);
* ``compare``: both summaries and the aspects that differ (outcomes routed beforehand);
* ``explain``: what a differing request costs besides (where each side served it, the
  Ingresses involved, the explaining notes, the row verify reports);
* ``account``: of that, the explainer's part alone (the Ingresses involved and the
  explaining notes, a fresh explainer each time, as each verify run starts with one).

It prints the microseconds per request (``explain`` per differing request) and a digest of
both sides' outcomes and of the comparison rows, which must not change when the code only
gets faster. With ``--base DIR`` (a checkout of another revision, e.g. made with
``git worktree add --detach /tmp/base main``) each round runs this checkout and that one
alternately, in fresh processes, and prints the ratios: read them, not the absolute times.

    python bench/sides.py [-n 10000] [--rounds 3] [--base DIR]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARTS = ("router", "model", "compare", "explain", "account")


class _Captured(Exception):
    pass


def _setup(path: Path) -> dict[str, Any]:
    """verify_requests' arguments for ``ing2gw verify`` on ``path`` (the command stops there)."""
    from ing2gw import verification
    from ing2gw.cli import main

    got: dict[str, Any] = {}

    def capture(*args: Any, **kwargs: Any) -> Any:
        names = ("provider", "resources", "manifests", "notes", "source_route", "gateway_route", "requests",
                 "progress", "checkers", "workers", "preloaded")
        got.update(zip(names, args, strict=False))
        got.update(kwargs)
        raise _Captured

    verification.verify_requests = capture  # type: ignore[assignment]
    try:
        main(["verify", "-f", str(path), "-q", "-o", "json", "--fail-on", "never", "--allow-unprotected",
              "--workers", "1"])
    except (_Captured, SystemExit):
        pass
    assert "preloaded" in got, "verify did not reach its replay"
    return got


def _use_checkout(root: Path) -> None:
    """Import ing2gw from the checkout ``root``, its providers and templates too (which an
    editable install maps to the installed tree, whatever PYTHONPATH says)."""
    import importlib.util

    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")
                        and "editable" not in type(f).__name__.lower()]
    sys.path.insert(0, str(root))
    import ing2gw

    for name, folder in (("ing2gw.providers", "providers"), ("ing2gw.templates", "templates")):
        spec = importlib.util.spec_from_file_location(name, root / folder / "__init__.py",
                                                      submodule_search_locations=[str(root / folder)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        setattr(ing2gw, folder, module)
        spec.loader.exec_module(module)


def child(path: Path, repeat: int) -> dict[str, Any]:
    """One checkout's figures (run in a fresh process, its imports from the checkout in the cwd)."""
    _use_checkout(Path.cwd())
    import ing2gw
    import ing2gw.providers.ingress_nginx

    assert Path(ing2gw.__file__).is_relative_to(Path.cwd())
    assert Path(ing2gw.providers.ingress_nginx.__file__).is_relative_to(Path.cwd())
    from ing2gw import verify
    from ing2gw.explain import Explainer

    got = _setup(path)
    gc.disable()
    requests = [verify._as_request(item) for item, _ in got["preloaded"]]
    src_route, gw_route = got["source_route"], got["gateway_route"]
    best = dict.fromkeys(PARTS, float("inf"))
    sources: list[Any] = []
    gateways: list[Any] = []
    for _ in range(repeat):
        t0 = time.process_time()
        gateways = [gw_route(r) for r in requests]
        t1 = time.process_time()
        sources = [src_route(r) for r in requests]
        t2 = time.process_time()
        best["router"] = min(best["router"], t1 - t0)
        best["model"] = min(best["model"], t2 - t1)
    summary, differing = verify._summary, verify._differing
    pairs = list(zip(sources, gateways, strict=True))
    for _ in range(repeat):
        t0 = time.process_time()
        for a, b in pairs:
            differing(summary(a), summary(b))
        best["compare"] = min(best["compare"], time.process_time() - t0)
    differ = [i for i, (a, b) in enumerate(pairs) if differing(summary(a), summary(b))]
    # the whole comparison of a differing request, outcomes given (as _compare after routing)
    rows: list[Any] = []
    at = [0]  # the request being compared: its outcomes are looked up, not routed again
    for _ in range(repeat):
        verify._REPLAY = verify._Replay(Explainer(got["notes"], got["resources"], got["manifests"]),
                                        lambda r: sources[at[0]], lambda r: gateways[at[0]])
        t0 = time.process_time()
        rows = []
        for i in differ:
            at[0] = i
            rows.append(verify._compare(requests[i]))
        spent = time.process_time() - t0
        best["explain"] = min(best["explain"], spent)
    verify._REPLAY = None
    compared = [(differing(summary(sources[i]), summary(gateways[i])), requests[i], sources[i], gateways[i])
                for i in differ]
    for _ in range(repeat):
        explainer = Explainer(got["notes"], got["resources"], got["manifests"])
        # (a revision without Explainer.accounted: account, less where each side served it)
        account = getattr(explainer, "accounted", None) or (lambda *args, e=explainer: e.account(*args)[1:])
        t0 = time.process_time()
        for aspects, request, source, gateway in compared:
            account(aspects, request, source, gateway)
        best["account"] = min(best["account"], time.process_time() - t0)
    digest = hashlib.sha256()
    for a, b in pairs:
        digest.update(json.dumps([a.to_dict(), b.to_dict()], sort_keys=True, default=str).encode())
    # (a row as verify reports it: where each side served the request is kept for log lines only)
    reported = [row[:6] for row in rows if row is not None]
    rows_digest = hashlib.sha256(json.dumps(reported, sort_keys=True, default=str).encode()).hexdigest()
    n = len(requests)
    per = {part: 1e6 * best[part] / n for part in ("router", "model", "compare")}
    per["explain"] = 1e6 * best["explain"] / max(len(differ), 1)
    per["account"] = 1e6 * best["account"] / max(len(differ), 1)
    return {"requests": n, "differ": len(differ), "us": per, "outcomes": digest.hexdigest()[:16],
            "rows": rows_digest[:16]}


def _run_child(checkout: Path, path: Path, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, str(HERE / "sides.py"), "--child", str(path), "--rounds", str(repeat)],
                         cwd=checkout, env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3, help="processes per checkout (each takes its best of 3)")
    ap.add_argument("--base", type=Path, help="a checkout to compare with, alternating")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, 3)))
        return
    sys.path.insert(0, str(HERE))
    from _run import load
    from convert import generate

    print(f"load {load()}", flush=True)
    checkouts = {"this": HERE.parent, **({"base": args.base.resolve()} if args.base else {})}
    best: dict[str, dict[str, float]] = {name: dict.fromkeys(PARTS, float("inf")) for name in checkouts}
    seen: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.yaml"
        path.write_text(generate(args.n))
        for _ in range(args.rounds):
            for name, checkout in checkouts.items():
                got = _run_child(checkout, path, 3)
                seen[name] = got
                for part in PARTS:
                    best[name][part] = min(best[name][part], got["us"][part])
                print(f"{name:>5}: " + "  ".join(f"{p} {got['us'][p]:6.2f}" for p in PARTS)
                      + f"  (us; {got['requests']} requests, {got['differ']} differ)", flush=True)
    print("best, CPU microseconds per request (explain, account: per differing request)")
    for name in checkouts:
        print(f"{name:>5}: " + "  ".join(f"{p} {best[name][p]:6.2f}" for p in PARTS)
              + f"  outcomes {seen[name]['outcomes']} rows {seen[name]['rows']}")
    if "base" in best:
        print("ratio this/base: " + "  ".join(f"{p} {best['this'][p] / best['base'][p]:.2f}" for p in PARTS))
        same = all(seen["this"][k] == seen["base"][k] for k in ("outcomes", "rows", "requests", "differ"))
        print("outcomes and rows " + ("identical" if same else "DIFFER"))
    print(f"load {load()}")


if __name__ == "__main__":
    main()
