"""`ing2gw route`: single requests, case files, output formats and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import support
from click.testing import CliRunner

from ing2gw.cli import cli

DATA = support.ROOT / "testdata" / "router"
SHOP = str(DATA / "shop.yaml")
CASES = str(DATA / "shop-cases.yaml")


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["route", *args], input=input, standalone_mode=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        from ing2gw.errors import Ing2gwError

        assert isinstance(result.exception, Ing2gwError), result.exception
        return int(result.exception.exit_code), result.stdout, str(result.exception)
    return (result.return_value or 0), result.stdout, result.stderr


def test_single_request_text() -> None:
    code, out, err = run("-f", SHOP, "https://shop.example.com/api/x", "-H", "x-canary: always")
    assert code == 0
    assert out.startswith("200 Routed\n")
    assert "backend: shop/api-v2:8080" in out
    assert "upstream: GET shop.example.com/x" in out
    assert "Secret" in err  # the assumption about absent Secrets is noted on stderr


def test_single_request_json_has_the_documented_shape() -> None:
    code, out, _ = run("-f", SHOP, "http://shop.example.com/a?b=1", "-o", "json")
    assert code == 0
    outcome = json.loads(out)
    assert {"status", "backend", "weights", "upstream", "redirect", "responseHeaders",
            "matched", "reason"} <= set(outcome)
    assert outcome["status"] == 301
    assert outcome["redirect"] == {"location": "https://shop.example.com/a?b=1", "statusCode": 301}
    assert outcome["matched"]["route"] == "shop/to-https"


def test_cases_pass_and_json_summary() -> None:
    code, out, _ = run("-f", SHOP, "--cases", CASES, "-o", "json")
    assert code == 0
    report = json.loads(out)
    assert report["summary"] == {"cases": 5, "passed": 5, "failed": 0}
    first = report["results"][0]
    assert set(first) == {"name", "request", "outcome", "pass", "failures"}
    assert first["request"]["port"] == 443


def test_failing_case_exits_1(tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text("- name: wrong\n  request: {host: shop.example.com, scheme: https}\n"
                     "  expect: {status: 200, backend: \"shop/api-v1:8080\"}\n")
    code, out, _ = run("-f", SHOP, "--cases", str(cases))
    assert code == 1
    assert "FAIL  wrong" in out
    assert "backend: expected shop/api-v1:8080, got shop/web:80" in out


def test_resources_from_stdin() -> None:
    code, out, _ = run("-f", "-", "https://shop.example.com/about", input=Path(SHOP).read_text())
    assert code == 0 and "backend: shop/web:80" in out


def test_usage_errors() -> None:
    assert run("-f", SHOP)[0] == 2  # neither URL nor --cases
    assert run("-f", SHOP, "--cases", CASES, "http://x/")[0] == 2  # both
    assert run("-f", SHOP, "-H", "no-colon", "http://x/")[0] == 2
    assert run("-f", SHOP, "--gateway", "a/b/c", "http://x/")[0] == 2
    assert run("-f", SHOP, "ftp://x/")[0] == 2


def test_bad_input_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                   "metadata: {name: r, namespace: n}\nspec: {rules: 3}\n")
    code, _, err = run("-f", str(bad), "http://x/")
    assert code == 3
    assert err == f"{bad}:1: HTTPRoute n/r: spec.rules must be a list, not int"
    cases = tmp_path / "c.yaml"
    cases.write_text("- request: {path: /}\n")
    code, _, err = run("-f", SHOP, "--cases", str(cases))
    assert code == 3 and "request.host is required" in err
