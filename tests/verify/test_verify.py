"""``ing2gw verify``: golden reports for the known ingress-nginx -> Gateway API differences,
explanations, inputs (cases, access logs) and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import TESTDATA, assert_golden_report, verify_report

CASES = sorted(p for p in (TESTDATA / "verify").iterdir() if (p / "input.yaml").exists())

# The note that must explain each case's characteristic difference.
EXPECTED_CAUSE = {
    "agic-routing": "AGIC-PATH-CHARACTER-PREFIX",
    "apisix-apisixroute": "APISIX-PATH-PREFIX-BARE",
    "apisix-streams": "APISIX-STREAM-TLS-PORT",
    "aws-alb-actions": "ALB-REDIRECT-PORT",
    "aws-alb-rule-order": "ALB-RULE-ORDER",
    "aws-alb-tls": "ALB-SSL-REDIRECT",
    "implicit-root": "NGINX-IMPLICIT-ROOT-ANNOTATIONS",
    "contour-httpproxy": "CONTOUR-REGEX-PRECEDENCE",
    "contour-ingress": "CONTOUR-HOSTLESS-FALLTHROUGH",
    "wildcard-depth": "NGINX-WILDCARD-HOST-DEPTH",
    "default-certificate": "NGINX-DEFAULT-CERTIFICATE",
    "grpc": "NGINX-GRPC-ONLY",
    "haproxy-passthrough": "HAPROXY-TECH-SSL-PASSTHROUGH-WILDCARD-DEPTH",
    "cilium-routing": "CILIUM-WILDCARD-HOST-DEPTH",
    "cors": "NGINX-CORS",
    "f5-nginx-mergeable": "F5-SSL-REDIRECT-PORT",
    "f5-nginx-routing": "F5-PATH-CHARACTER-PREFIX",
    "kong-protocols": "KONG-HTTPS-ONLY-426",
    "kong-routing": "KONG-PATH-CHARACTER-PREFIX",
    "kong-streams": "KONG-STREAM-NO-CERTIFICATE",
    "tcp-udp-services": "NGINX-STREAM-PROXY-PROTOCOL",
    "wildcard-listener": "EMIT-LISTENER-WILDCARD",
}


def _report(ing2gw, *args: str) -> dict:
    # --allow-unprotected: some cases carry protections (allow lists) the output cannot hold.
    return verify_report(ing2gw, *args, "--allow-unprotected")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_report(case: Path, ing2gw) -> None:
    report = _report(ing2gw, "-f", str(case / "input.yaml"))
    # Every difference of these known cases is found and explained: no unexplained drift.
    assert_golden_report(report, case / "expected.json")
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
    monkeypatch.setattr(v.Explainer, "_explaining", lambda self, *worked_out: ())  # (what all ask)
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
    assert [d["origin"] for d in report["differences"]] == ["case deep"]
    assert [e["examples"][0]["origin"] for e in report["accessLog"]] == ["access log line 2 (status 404)"]
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
        if json.loads((case / "expected.json").read_text())["provider"] != "ingress-nginx":
            continue  # the nginx oracle checks the ingress-nginx model
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


ALLOWLISTED = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: admin
  namespace: ops
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8
    nginx.ingress.kubernetes.io/auth-type: basic
    nginx.ingress.kubernetes.io/auth-secret: admin-users
spec:
  ingressClassName: nginx
  tls:
  - {hosts: [admin.example.com], secretName: admin-tls}
  rules:
  - host: admin.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: admin, port: {number: 80}}}}
"""


def test_case_client_address_meets_the_allow_list(ing2gw, tmp_path: Path) -> None:
    src = tmp_path / "in.yaml"
    src.write_text(ALLOWLISTED.replace("    nginx.ingress.kubernetes.io/auth-type: basic\n"
                                       "    nginx.ingress.kubernetes.io/auth-secret: admin-users\n", ""))
    cases = tmp_path / "cases.yaml"
    cases.write_text("- name: inside\n  request: {scheme: https, host: admin.example.com, client: 10.1.2.3}\n"
                     "  expect: {status: 200}\n"
                     "- name: outside\n  request: {scheme: https, host: admin.example.com, client: 203.0.113.9}\n"
                     "  expect: {status: 403}\n")
    r = ing2gw(["route", "--as", "ingress-nginx", "-f", str(src), "--cases", str(cases), "-o", "json"])
    results = {c["name"]: c for c in json.loads(r.stdout)["results"]}
    assert results["inside"]["outcome"]["status"] == 200 and results["outside"]["outcome"]["status"] == 403
    assert results["outside"]["request"]["client"] == "203.0.113.9"
    assert r.exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("- request: {host: admin.example.com, client: not-an-ip}\n  expect: {}\n")
    r = ing2gw(["route", "--as", "ingress-nginx", "-f", str(src), "--cases", str(bad)])
    assert r.exit_code == 3 and "client: 'not-an-ip' is not an IP address" in r.stderr


def test_missing_auth_secret_answers_503(ing2gw, tmp_path: Path) -> None:
    url = "https://admin.example.com/"
    src = tmp_path / "in.yaml"
    src.write_text(ALLOWLISTED)
    assumed = json.loads(ing2gw(["route", "--as", "ingress-nginx", "-f", str(src), url, "--client", "10.1.2.3",
                                 "-o", "json"]).stdout)
    assert assumed["status"] == 401  # no Secret objects in the input: the Secret is assumed to exist
    assert "auth-secret ops/admin-users not in the input; assumed to exist" in assumed["notes"]
    other = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: admin-tls, namespace: ops}\n"
    src.write_text(ALLOWLISTED + other)
    missing = json.loads(ing2gw(["route", "--as", "ingress-nginx", "-f", str(src), url, "--client", "10.1.2.3",
                                 "-o", "json"]).stdout)
    assert missing["status"] == 503 and "location denied: auth-secret ops/admin-users does not exist" in missing[
        "notes"]
    src.write_text(ALLOWLISTED + other + other.replace("admin-tls", "admin-users"))
    present = json.loads(ing2gw(["route", "--as", "ingress-nginx", "-f", str(src), url, "--client", "10.1.2.3",
                                 "-o", "json"]).stdout)
    assert present["status"] == 401


def test_verify_cases_honour_expect(ing2gw, tmp_path: Path) -> None:
    ingress = TESTDATA / "verify" / "wildcard-depth" / "input.yaml"
    cases = tmp_path / "cases.yaml"
    cases.write_text("- name: right\n  request: {host: a.example.com, path: /}\n  expect: {backend: web/wild:80}\n"
                     "- name: wrong\n  request: {host: a.example.com, path: /}\n  expect: {status: 418}\n")
    args = ["verify", "-f", str(ingress), "--no-generate", "--cases", str(cases), "-q"]
    r = ing2gw([*args, "--fail-on", "unexplained"])
    assert r.exit_code == 1 and "FAIL wrong: status: expected 418, got 200" in r.stdout
    assert "1 of 2 pass" in r.stdout
    report = json.loads(ing2gw([*args, "-o", "json", "--fail-on", "never"]).stdout)
    assert report["cases"]["summary"] == {"cases": 2, "passed": 1, "failed": 1}
    cases.write_text("- name: right\n  request: {host: a.example.com, path: /}\n  expect: {backend: web/wild:80}\n")
    assert ing2gw([*args, "--fail-on", "unexplained"]).exit_code == 0


def test_access_log_scheme_is_inferred_and_contradictions_reported(ing2gw, tmp_path: Path) -> None:
    src = tmp_path / "in.yaml"
    src.write_text(ALLOWLISTED.replace("    nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8\n", "")
                   .replace("    nginx.ingress.kubernetes.io/auth-type: basic\n"
                            "    nginx.ingress.kubernetes.io/auth-secret: admin-users\n", ""))
    line = ('10.0.0.1 - - [26/Nov/2026:07:00:00 +0000] "GET {path} HTTP/1.1" {status} 5 "-" "curl" 80 0.001 '
            "[{upstream}] [] 10.1.1.1:80 5 0.001 200 id{n}\n")
    log = tmp_path / "access.log"
    log.write_text(line.format(path="/a", status=200, upstream="ops-admin-80", n=1)  # proxied: https
                   + line.format(path="/b", status=308, upstream="ops-admin-80", n=2)  # redirected: http
                   + line.format(path="/c", status=404, upstream="ops-admin-80", n=3))  # neither
    report = _report(ing2gw, "-f", str(src), "--no-generate", "--access-log", str(log))
    assert report["summary"]["requests"] == 3
    assert report["recordedStatus"] == [f"{log}:3: recorded 404, the model answers 308 over http and 200 over https"]
    urls = {d["request"]["url"]: d for e in report.get("accessLog", []) for d in e["examples"]}
    assert "https://admin.example.com/a" not in urls and "http://admin.example.com/b" not in urls  # they agree
    forced = _report(ing2gw, "-f", str(src), "--no-generate", "--access-log", str(log), "--scheme", "http")
    assert forced["recordedStatus"] == [f"{log}:1: recorded 200, the model answers 308",
                                        f"{log}:3: recorded 404, the model answers 308"]
