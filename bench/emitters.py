"""Benchmark ``convert --emitter NAME`` against the standard emitter on Ingresses with policies.

Generates N Ingresses (default 10 000, the set of ``bench/convert.py``) and gives every one
policy annotations in a rotation (external auth, basic auth, allow/deny lists, rate limits,
body size, timeouts, retries, affinity), then in one run times ``convert`` with the standard
emitter (the baseline; every lost protection accepted with --allow-unprotected) and with each
emitter asked for. Prints the wall times and the ratios. Run by hand:
``python bench/emitters.py [-n 10000] [--emitter envoy-gateway] [--repeat 3]``.
Target (issue 13): envoy-gateway <= 1.2x the standard emitter at 10 000 Ingresses.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from _run import run
from convert import documents

PREFIX = "nginx.ingress.kubernetes.io/"
POLICIES = [
    {"auth-url": "http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth",
     "auth-response-headers": "X-Auth-Request-User"},
    {"auth-type": "basic", "auth-secret": "basic-auth", "auth-realm": "Staff"},
    {"allowlist-source-range": "10.0.0.0/8, 192.168.0.0/16", "denylist-source-range": "10.1.0.0/16"},
    {"limit-rps": "20", "limit-burst-multiplier": "3"},
    {"proxy-body-size": "16m", "proxy-connect-timeout": "3", "proxy-read-timeout": "120"},
    {"proxy-next-upstream": "error timeout http_502", "proxy-next-upstream-tries": "2"},
    {"affinity": "cookie", "session-cookie-max-age": "3600"},
    {"proxy-body-size": "0"},
]


def generate(n: int) -> str:
    docs = documents(n)
    for i, doc in enumerate(docs):
        doc["metadata"]["annotations"].update({PREFIX + k: v for k, v in POLICIES[i % len(POLICIES)].items()})
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)


def convert(path: Path, emitter: str) -> float:
    return run(["convert", "-f", str(path), "--emitter", emitter, "-q", "--fail-on", "never",
                "--allow-unprotected"]).wall


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of Ingresses")
    ap.add_argument("--emitter", action="append", help="emitter to compare (repeatable; default envoy-gateway)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per emitter (the fastest counts)")
    args = ap.parse_args()
    emitters = args.emitter or ["envoy-gateway"]
    text = generate(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.yaml"
        path.write_text(text)
        times: dict[str, float] = {}
        for _ in range(args.repeat):  # interleaved, so load changes hit every emitter alike
            for name in ["standard", *emitters]:
                wall = convert(path, name)
                times[name] = min(times.get(name, wall), wall)
    print(f"ingresses            {args.n} (every one with policy annotations)")
    print(f"standard             {times['standard']:.2f} s (baseline)")
    for name in emitters:
        print(f"{name:<20} {times[name]:.2f} s  ratio {times[name] / times['standard']:.2f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
