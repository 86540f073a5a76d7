"""``ing2gw verify``: golden reports for the known ingress-nginx -> Gateway API differences,
explanations, inputs (cases, access logs) and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import TESTDATA, UPDATE_GOLDEN

CASES = sorted(p for p in (TESTDATA / "verify").iterdir() if (p / "input.yaml").exists())

# The note that must explain each case's characteristic difference.
EXPECTED_CAUSE = {
    "implicit-root": "NGINX-IMPLICIT-ROOT-ANNOTATIONS",
    "wildcard-depth": "NGINX-WILDCARD-HOST-DEPTH",
    "default-certificate": "NGINX-DEFAULT-CERTIFICATE",
    "grpc": "NGINX-GRPC-ONLY",
    "cors": "NGINX-CORS",
}


def _report(ing2gw, *args: str) -> dict:
    # --allow-unprotected: some cases carry protections (allow lists) the output cannot hold.
    r = ing2gw(["verify", *args, "-o", "json", "-q", "--fail-on", "never", "--allow-unprotected"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    report["summary"].pop("elapsed_s")
    return report


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_report(case: Path, ing2gw) -> None:
    report = _report(ing2gw, "-f", str(case / "input.yaml"))
    expected = case / "expected.json"
    if UPDATE_GOLDEN:
        expected.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    assert report == json.loads(expected.read_text())
    # Every difference of these known cases is found and explained: no unexplained drift.
    assert report["summary"]["unexplained"] == 0
    cause = EXPECTED_CAUSE.get(case.name)
    if cause is not None:  # the characteristic difference, explained by that note and nothing else
        assert any(g["cause"] == [cause] for g in report["groups"]), report["groups"]


def test_catch_all_does_not_serve_plain_http_of_a_tls_host(ing2gw) -> None:
    """nginx redirects unmatched plain-HTTP paths of a TLS host to HTTPS; so does the Gateway
    (the host's redirect route has a / rule), not the host-less catch-all."""
    report = _report(ing2gw, "-f", str(TESTDATA / "verify" / "tls-catch-all" / "input.yaml"))
    for d in report["differences"]:
        if d["request"]["url"].startswith("http://shop.example.com"):
            assert d["gateway"]["backend"] != "web/fallback:80", d
    assert report["summary"]["unexplained"] == 0


def test_trailing_slash_301_is_reproduced(ing2gw) -> None:
    report = _report(ing2gw, "-f", str(TESTDATA / "verify" / "trailing-slash" / "input.yaml"))
    differing = {d["request"]["url"] for d in report["differences"]}
    assert "http://site.example.com/shop" not in differing  # both answer 301 -> /shop/
    assert report["summary"]["agree"] > 0


def test_case_insensitive_regex_agrees(ing2gw) -> None:
    report = _report(ing2gw, "-f", str(TESTDATA / "verify" / "regex-case" / "input.yaml"))
    differing = {d["request"]["url"] for d in report["differences"]}
    assert not any("/API" in u for u in differing)


def test_unexplained_drift_fails_the_gate(ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A difference no note explains is reported first and fails --fail-on unexplained."""
    import ing2gw.verify as v

    case = TESTDATA / "verify" / "wildcard-depth" / "input.yaml"
    assert ing2gw(["verify", "-f", str(case), "-q", "--fail-on", "unexplained"]).exit_code == 0
    assert ing2gw(["verify", "-f", str(case), "-q"]).exit_code == 1  # --fail-on any
    # Without the notes' explanations every difference is unexplained drift.
    monkeypatch.setattr(v.Explainer, "explain", lambda self, aspects, request, source, gateway: ())
    r = ing2gw(["verify", "-f", str(case), "-q", "--fail-on", "unexplained"])
    assert r.exit_code == 1 and r.stdout.splitlines()[2].startswith("UNEXPLAINED")


def test_cases_and_access_log_inputs(ing2gw, tmp_path: Path) -> None:
    ingress = TESTDATA / "verify" / "wildcard-depth" / "input.yaml"
    cases = tmp_path / "cases.yaml"
    cases.write_text("- name: deep\n  request: {host: a.b.example.com, path: /}\n  expect: {status: 200}\n")
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.1 - - [26/Nov/2026:07:00:00 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl" 80 0.001 '
        "[web-wild-80] [] 10.1.1.1:80 5 0.001 200 id1\n"
        '10.0.0.1 - - [26/Nov/2026:07:00:01 +0000] "GET http://deep.er.example.com/y HTTP/1.1" 404 0 "-" "curl"\n'
        "not a log line\n"
    )
    report = _report(ing2gw, "-f", str(ingress), "--no-generate", "--cases", str(cases), "--access-log", str(log))
    assert report["summary"]["requests"] == 2  # the case and the absolute-form log line
    origins = sorted(d["origin"] for d in report["differences"])
    assert origins == ["access log line 2 (status 404)", "case deep"]
    assert [s.split(": ", 1)[0] for s in report["skipped"]] == [f"{log}:1", f"{log}:3"]


def test_markdown_and_text_outputs(ing2gw) -> None:
    case = TESTDATA / "verify" / "implicit-root" / "input.yaml"
    md = ing2gw(["verify", "-f", str(case), "-q", "-o", "markdown", "--fail-on", "never"]).stdout
    assert md.startswith("### ing2gw verify (ingress-nginx)") and "| cause |" in md
    text = ing2gw(["verify", "-f", str(case), "-q", "--fail-on", "never"]).stdout
    assert "explained by" in text


def test_oracle_nginx_agrees_with_the_model(ing2gw) -> None:
    from ing2gw.providers.ingress_nginx.oracle import nginx_binary

    if nginx_binary() is None:
        pytest.skip("the nginx binary is not installed")
    for case in CASES:
        report = _report(ing2gw, "-f", str(case / "input.yaml"), "--oracle", "nginx")
        oracle = report["checks"]["nginx"]
        assert oracle["checked"] > 0
        assert oracle["disagree"] == 0, oracle["problems"]


def test_via_proxy_never_disagrees_with_the_router(ing2gw) -> None:
    for case in [TESTDATA / "examples" / "shop.yaml", *(c / "input.yaml" for c in CASES)]:
        report = _report(ing2gw, "-f", str(case), "--via-proxy")
        proxy = report["checks"]["proxy"]
        assert proxy["checked"] > 0
        assert proxy["disagree"] == 0, proxy["problems"]


def test_parallel_replay_gives_the_same_report(ing2gw, monkeypatch: pytest.MonkeyPatch) -> None:
    import ing2gw.verify as v

    monkeypatch.setattr(v, "CHUNK", 7)  # several chunks, so the worker pool is used
    case = TESTDATA / "verify" / "regex-sibling" / "input.yaml"
    one = _report(ing2gw, "-f", str(case), "--workers", "1")
    two = _report(ing2gw, "-f", str(case), "--workers", "2")
    assert one == two and one["summary"]["requests"] > 14


def test_parallel_replay_of_streamed_requests(ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ing2gw.verify as v

    monkeypatch.setattr(v, "CHUNK", 3)
    case = TESTDATA / "verify" / "regex-sibling" / "input.yaml"
    cases = tmp_path / "cases.yaml"
    cases.write_text("".join(f"- name: c{i}\n  request: {{host: site.example.com, path: /foo{'bar' * (i % 3)}/{i}}}\n"
                             f"  expect: {{}}\n" for i in range(10)))
    args = ["-f", str(case), "--no-generate", "--cases", str(cases)]
    one = _report(ing2gw, *args, "--workers", "1")
    assert one == _report(ing2gw, *args, "--workers", "2") and one["summary"]["requests"] == 10
