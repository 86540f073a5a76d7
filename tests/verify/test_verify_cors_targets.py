"""``verify`` compares CORS as each target answers it (testdata/verify/cors-targets): the
ingress-nginx model answers preflights 204 and sends ``*`` for its default any-origin list
(even with credentials); the standard CORS filter (Envoy Gateway, the standard emitter)
answers 200 and echoes the origin; Traefik's headers Middleware, read back as a CORS policy,
answers 200 and sends ``*``. Every difference is explained by a note."""

from __future__ import annotations

import pytest
from support import TESTDATA, assert_golden_report, verify_report

CASE = TESTDATA / "verify" / "cors-targets"
RUNS = {"standard": [], "envoy-gateway": ["--emitter", "envoy-gateway"], "traefik": ["--emitter", "traefik"]}


def _verify(ing2gw, *extra: str) -> dict:
    return verify_report(ing2gw, "-f", str(CASE / "ingresses.yaml"), *extra)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_golden_cors_report(run: str, ing2gw) -> None:
    assert_golden_report(_verify(ing2gw, *RUNS[run]), CASE / f"{run}.json")


def _origin(report: dict, method: str, url: str) -> tuple[str | None, str | None]:
    """Access-Control-Allow-Origin on each side for the request from another origin."""
    for d in report["differences"]:
        r = d["request"]
        if (r["method"], r["url"], r["headers"].get("origin")) == (method, url, "https://elsewhere.ing2gw.invalid"):
            return tuple(next((p.split(": ", 1)[1] for p in str(side["cors"]).split("; ")  # type: ignore[return-value]
                               if p.startswith("access-control-allow-origin")), None)
                         for side in (d["source"], d["gateway"]))
    raise AssertionError(f"no difference for {method} {url}")


def test_wildcard_origin_and_preflight_status_per_target(ing2gw) -> None:
    standard, traefik = _verify(ing2gw), _verify(ing2gw, "--emitter", "traefik")
    url = "http://open.example.com/"
    assert _origin(standard, "GET", url) == ("*", "https://elsewhere.ing2gw.invalid")
    assert _origin(traefik, "GET", url) == ("*", "*")
    preflights = [d for d in standard["differences"] if d["request"]["method"] == "OPTIONS"
                  and d["request"]["url"] == url]
    assert preflights and preflights[0]["source"]["cors"].startswith("answered 204")
    assert preflights[0]["gateway"]["cors"].startswith("answered 200")
