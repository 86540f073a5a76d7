"""Benchmark of the reference router: routing decisions per second against table size.

Builds one Gateway with tables of 100, 1 000 and 10 000 HTTPRoutes (one host each, four
rules per route: an Exact path, a PathPrefix, a header match and a catch-all), then routes
100 000 prebuilt requests spread over all hosts through each, on one core.

    python bench/router.py [--requests N] [--sizes 100,1000,10000]

Targets (issue 4): >= 100 000 decisions/s at 10 000 routes, and the 10 000-route rate
within 1.3x of the 100-route rate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

from ing2gw.http import Request
from ing2gw.router import Router

NS = "bench"


def manifests(routes: int) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": NS},
            "spec": {"gatewayClassName": "x", "listeners": [
                {"name": "http", "port": 80, "protocol": "HTTP"}]},
        },
    ]
    for i in range(routes):
        svc = f"svc-{i}"
        objs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": svc, "namespace": NS},
                     "spec": {"ports": [{"port": 8080}]}})
        backend = [{"name": svc, "port": 8080}]
        objs.append({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": f"route-{i}", "namespace": NS},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "hostnames": [f"host-{i}.example.com"],
                "rules": [
                    {"matches": [{"path": {"type": "Exact", "value": "/exact"}}],
                     "backendRefs": backend},
                    {"matches": [{"path": {"type": "PathPrefix", "value": "/api/v1"}}],
                     "backendRefs": backend},
                    {"matches": [{"headers": [{"name": "x-canary", "value": "yes"}]}],
                     "backendRefs": backend},
                    {"backendRefs": backend},
                ],
            },
        })
    return objs


def requests(routes: int, count: int) -> list[Request]:
    rng = random.Random(routes)
    paths = ["/exact", "/api/v1/items?page=2", "/other/path", "/api/v10"]
    out = []
    for _ in range(count):
        host = f"host-{rng.randrange(routes)}.example.com"
        headers = {"x-canary": "yes"} if rng.random() < 0.25 else {"user-agent": "bench"}
        out.append(Request.build(host=host, path=rng.choice(paths), headers=headers))
    return out


def run(sizes: list[int], count: int) -> dict[int, float]:
    rates: dict[int, float] = {}
    for size in sizes:
        t0 = time.perf_counter()
        router = Router.from_manifests(manifests(size))
        compile_s = time.perf_counter() - t0
        reqs = requests(size, count)
        route = router.route
        for req in reqs[:1000]:  # warm-up
            route(req)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for req in reqs:
                route(req)
            best = min(best, time.perf_counter() - t0)
        rates[size] = count / best
        sample = route(reqs[0])
        assert sample.status == 200, sample
        print(f"{size:>6} routes: compile {compile_s:6.2f}s, {count} requests in {best:6.3f}s "
              f"= {rates[size]:>9,.0f} decisions/s")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rates = run(sizes, args.requests)
    smallest, largest = rates[min(sizes)], rates[max(sizes)]
    ratio = smallest / largest
    ok = largest >= 100_000 and ratio <= 1.3
    print(f"slowdown {max(sizes)} vs {min(sizes)} routes: {ratio:.2f}x "
          f"(target <= 1.3x); {largest:,.0f}/s at {max(sizes)} routes (target >= 100,000/s): "
          f"{'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
