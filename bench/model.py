"""Benchmark of the ingress-nginx model's per-request cost, and of building the requests, in-process.

Generates the verify benchmark set (``bench/convert.py``'s ``generate``, 10 000 Ingresses by
default), runs ``ing2gw verify`` on it once in-process with one worker and records every
request verify routes through the model (the boundary probes and the policy probes). Then,
in fresh processes, builds the model once and times, in CPU seconds:

* building every request as a verify worker does from a probe's plain values
  (``ing2gw.verify._from_wire``: header sets built once each), µs per request;
* ``route`` of every request through the model (one pass, as a verify worker does), µs per
  request.

``--base DIR`` (a second checkout, e.g. ``git worktree add --detach /tmp/base main``) times
that tree too, alternating with this one in each round, and checks that both give the same
outcome for every request (a digest of every outcome's JSON form). Prints the best of the
rounds for each tree, their ratios and the load average.

    python bench/model.py [-n 10000] [--rounds 3] [--base DIR]

Working figures (set while working on issue 19, whose own target is bench/verify.py's ratio):
model <= 8 µs per request, request build <= 2 µs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# one request as plain values: method, scheme, host, target, header pairs, port, sni, client, backend delay
Wire = tuple[str, str, str, str, tuple[tuple[str, str], ...], int, "str | None", "str | None", "float | None"]


def capture(yaml_path: str, out: str) -> None:
    """Run verify in-process, recording every request the model routes, to ``out`` (pickle)."""
    from ing2gw.cli import cli
    from ing2gw.providers.ingress_nginx.model import NginxModel

    seen: list[Wire] = []
    original = NginxModel.route

    def recording(self: NginxModel, request: Any, client_ip: str | None = None) -> Any:
        if request.mesh is None and client_ip is None:
            pairs = tuple((n, v) for n in request.headers for v in request.headers.get_all(n))
            seen.append((request.method, request.scheme, request.host, request.target, pairs, request.port,
                         request.sni, request.client, request.backend_delay))
        return original(self, request, client_ip)

    NginxModel.route = recording  # type: ignore[method-assign]
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            cli.main(["verify", "-f", yaml_path, "-q", "-o", "json", "--fail-on", "never", "--allow-unprotected",
                      "--workers", "1"], standalone_mode=False)
    finally:
        NginxModel.route = original  # type: ignore[method-assign]
    with open(out, "wb") as f:
        pickle.dump(seen, f)


def _import_from(tree: str) -> None:
    """Import ``ing2gw`` from ``tree``, its ``providers/`` as ``ing2gw.providers`` (as the
    package installs it; an editable install would map it to the installed tree)."""
    import importlib.util

    sys.path.insert(0, tree)
    import ing2gw

    providers = Path(tree) / "providers"
    spec = importlib.util.spec_from_file_location("ing2gw.providers", providers / "__init__.py",
                                                  submodule_search_locations=[str(providers)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ing2gw.providers"] = module
    spec.loader.exec_module(module)
    ing2gw.providers = module  # type: ignore[attr-defined]
    assert Path(ing2gw.__file__).parent == Path(tree) / "ing2gw", ing2gw.__file__


def measure(tree: str, yaml_path: str, wires_path: str) -> dict[str, Any]:
    """In this (fresh) process, with ``tree``'s code: request build and model route, µs per request."""
    _import_from(tree)
    from ing2gw.cli.common import load_resources
    from ing2gw.dataplane import with_enforcement
    from ing2gw.enforce.credentials import Credentials
    from ing2gw.http import Headers, Request
    from ing2gw.plugins import discover
    from ing2gw.verify import _from_wire

    gc.disable()  # as the CLI's batch commands run
    with open(wires_path, "rb") as f:
        wires: list[Wire] = pickle.load(f)
    registry = discover()
    rs = load_resources([yaml_path], False, None, False, None, kinds=list(registry.claims()))
    plane = registry.data_plane("ingress-nginx")
    assert plane is not None
    model = with_enforcement(plane.model(rs, None), Credentials.from_options(()), count=False)
    route = model.route
    build = Request.build
    # the probes' plain values (a policy probe's slow backend is left out: verify builds those itself)
    probes = [(scheme, host, target, pairs, method, client, port, None, "generated")
              for method, scheme, host, target, pairs, port, _, client, _ in wires]
    t0 = time.process_time()
    built = [_from_wire(p) for p in probes]
    t1 = time.process_time()
    memo: dict[tuple[tuple[str, str], ...], Headers] = {}
    requests = []
    for method, scheme, host, target, pairs, port, sni, client, delay in wires:
        headers = memo.get(pairs)
        if headers is None:
            headers = memo[pairs] = Headers(pairs)
        requests.append(build(host=host, path=target, scheme=scheme, method=method, headers=headers, port=port,
                              sni=sni if scheme == "https" else None, client=client, backend_delay=delay))
    t2 = time.process_time()
    outcomes = [route(r) for r in requests]
    t3 = time.process_time()
    digest = hashlib.sha256()
    for r in built:
        digest.update(repr((r.method, r.scheme, r.host, r.port, r.path, r.query, r.headers.as_dict(), r.sni,
                            r.hostname, dict(r.query_params), r.client)).encode())
    for r, o in zip(requests, outcomes, strict=True):
        shown = (r.method, r.scheme, r.host, r.port, r.path, r.query, r.headers.as_dict(), r.sni, r.hostname,
                 dict(r.query_params), r.client, r.backend_delay, r.gateway, r.mesh, r.response_headers, r.target)
        digest.update(repr(shown).encode())
        digest.update(json.dumps(o.to_dict(), sort_keys=True).encode())
    n = len(wires)
    return {"tree": tree, "requests": n, "request_us": 1e6 * (t1 - t0) / n, "build_us": 1e6 * (t2 - t1) / n,
            "model_us": 1e6 * (t3 - t2) / n, "digest": digest.hexdigest()}


def _child(tree: str, yaml_path: str, wires_path: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--measure", tree, "--yaml", yaml_path, "--wires", wires_path],
                         check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
    return dict(json.loads(out.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--base", help="a second checkout to time alongside this one")
    ap.add_argument("--keep", help="a directory to keep (and reuse) the generated set and requests in")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--yaml", help=argparse.SUPPRESS)
    ap.add_argument("--wires", help=argparse.SUPPRESS)
    ap.add_argument("--capture", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.yaml, args.wires)))
        return
    if args.capture:
        capture(args.yaml, args.capture)
        return
    sys.path.insert(0, str(HERE))
    from _run import load
    from convert import generate

    before = load()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        yaml_path, wires_path = where / f"ingresses-{args.n}.yaml", where / f"requests-{args.n}.pickle"
        if not yaml_path.exists():
            yaml_path.write_text(generate(args.n))
        if not wires_path.exists():
            subprocess.run([sys.executable, __file__, "--capture", str(wires_path), "--yaml", str(yaml_path)],
                           check=True, cwd=str(ROOT))
        trees = [str(ROOT)] + ([str(Path(args.base).resolve())] if args.base else [])
        results: dict[str, list[dict[str, Any]]] = {t: [] for t in trees}
        for round_ in range(args.rounds):
            for tree in trees if round_ % 2 == 0 else trees[::-1]:  # alternate: load hits both alike
                results[tree].append(_child(tree, str(yaml_path), str(wires_path)))
    keys = ("request_us", "build_us", "model_us")
    best = {t: [min(r[k] for r in rs) for k in keys] for t, rs in results.items()}
    print(f"requests         {results[trees[0]][0]['requests']} (every request verify routes through the model)")
    print(f"{'':40} {'from probe':>10} {'build':>8} {'model':>8}   (µs CPU per request, best of {args.rounds})")
    for tree in trees:
        print(f"{tree:40} " + " ".join(f"{v:{w}.2f}" for v, w in zip(best[tree], (10, 8, 8), strict=True)))
    if args.base:
        print(f"{'ratio (this / base)':40} " + " ".join(
            f"{a / b:{w}.2f}" for a, b, w in zip(best[trees[0]], best[trees[1]], (10, 8, 8), strict=True)))
        digests = {r["digest"] for rs in results.values() for r in rs}
        print("outcomes and requests identical" if len(digests) == 1 else "OUTCOMES OR REQUESTS DIFFER")
    print("from probe: verify's worker building a Request from a probe's values; build: Request.build alone")
    print(f"working figures: model <= 8 µs, request (from probe) <= 2 µs; {before} before, {load()} after; "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
