"""CORS as the target answers it (ing2gw.enforce.guard, ing2gw.router.filters): the standard
CORS filter per the Gateway API spec (no ``*`` in Access-Control-Expose-Headers with
credentials), and CORS policies read back from a target's own objects -- a preflight status
for the filter's answers, or settings of their own that answer preflights before any
protection and send ``*`` for a wildcard origin list. Through ``route --cases`` and over real
sockets through ``serve``."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
import support
from support import TESTDATA

from ing2gw.proxy import ServeOptions, start_serve
from ing2gw.yamlio import parse_documents

PLUGIN = support.ROOT / "tests" / "plugins" / "policy_emitter"
CASE = TESTDATA / "router" / "cors-policies"


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN))


def test_cors_cases_pass_end_to_end(reader: None, ing2gw: Any) -> None:
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(CASE / "cases.yaml"), "-o", "json"])
    assert r.exit_code == 0, r.stdout + r.stderr
    results = {x["name"]: x["outcome"] for x in json.loads(r.stdout)["results"]}
    own = results["the target's own CORS object answers the preflight with * for a wildcard list"]
    assert own["notes"][-1] == "preflight answered by TestPolicy shop/own-cors"


def test_without_the_policies_the_filter_answers_200_and_echoes(ing2gw: Any) -> None:
    r = ing2gw(["route", "-f", str(CASE / "gateway.yaml"), "--cases", str(CASE / "cases.yaml")])
    assert r.exit_code == 1
    assert "FAIL  the filter answers the preflight, with the policy's status; the origin is echoed  (200)" in r.stdout
    assert "PASS  an actual cross-origin request gets the filter's headers" in r.stdout


def test_serve_answers_as_the_router(reader: None) -> None:
    docs = parse_documents((CASE / "gateway.yaml").read_text(), str(CASE / "gateway.yaml"))
    with start_serve(docs, ServeOptions(ephemeral=True, echo_backends=True)) as proxy:
        def send(method: str, host: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
            conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[80], timeout=5)
            try:
                conn.request(method, "/", headers={"Host": host, **headers})
                resp = conn.getresponse()
                resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}
            finally:
                conn.close()

        preflight = {"Origin": "https://app.test", "Access-Control-Request-Method": "PUT"}
        status, headers = send("OPTIONS", "filtered.example.com", preflight)
        assert status == 204 and headers["access-control-allow-origin"] == "https://app.test"
        assert headers["access-control-expose-headers"] == "X-Trace"
        status, headers = send("OPTIONS", "own.example.com", preflight)
        assert status == 200 and headers["access-control-allow-origin"] == "*"
        assert headers["access-control-max-age"] == "600"
        for origin in ("https://app.test", "https://other.test"):  # per request, never a cached answer
            status, headers = send("GET", "own.example.com", {"Origin": origin})
            assert status == 200 and headers["access-control-allow-origin"] == "*"
            status, headers = send("GET", "filtered.example.com", {"Origin": origin})
            assert status == 200 and headers["access-control-allow-origin"] == origin
