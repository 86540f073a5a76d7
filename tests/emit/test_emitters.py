"""The emitter seam: discovery through entry points, the unconsumed-intent pass, lost
protections failing convert/verify/diff, and ``ing2gw emitters``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import support
import yaml
from support import TESTDATA

from ing2gw.emit.registry import discover_emitters

TOY = support.ROOT / "tests" / "plugins" / "toy_emitter"
RATE_LIMITED = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/limit-rps: "10"
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}
"""


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The third-party emitter distribution installed (its dist-info on sys.path)."""
    monkeypatch.syspath_prepend(str(TOY))


def _codes(stderr: str) -> list[str]:
    return [line.split(": ", 2)[1] for line in stderr.splitlines() if ": " in line]


def test_third_party_emitter_plugs_in_through_its_entry_point_only(toy, ing2gw, tmp_path: Path) -> None:
    registry = discover_emitters()
    assert {"broken", "standard", "toy"} <= set(registry.names())
    assert {n for n in registry.names() if not registry.entries[n].builtin} == {"broken", "toy"}
    assert registry.entries["toy"].distribution == "ing2gw-toy-emitter"
    assert "NO_SUCH_EMITTER" in (registry.entries["broken"].error or "")

    listed = ing2gw(["emitters", "-o", "json"])
    assert listed.exit_code == 0
    rows = {r["name"]: r for r in json.loads(listed.stdout)["emitters"]}
    assert rows["toy"]["consumes"] == ["rate-limit"] and rows["broken"]["status"].startswith("failed")
    coverage = json.loads(ing2gw(["emitters", "toy", "-o", "json"]).stdout)
    assert {i["intent"]: i["consumed"] for i in coverage["intents"]}["rate-limit"] is True

    src = tmp_path / "in.yaml"
    src.write_text(RATE_LIMITED)
    # The standard emitter cannot carry the rate limit: the protection is lost and the run fails.
    standard = ing2gw(["convert", "-f", str(src)])
    assert standard.exit_code == 1
    assert "PROTECTION-LOST" in _codes(standard.stderr) and "UNPROTECTED" in _codes(standard.stderr)
    # The toy emitter carries it end to end: its object is in the output and nothing is lost.
    r = ing2gw(["convert", "-f", str(src), "--emitter", "toy"])
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    (limit,) = [d for d in docs if d["kind"] == "ToyRateLimit"]
    assert limit["spec"] == {"requests": 10, "per": "second", "burst": 50, "key": "client-ip", "status": 503}
    assert any(d["kind"] == "HTTPRoute" for d in docs)
    codes = _codes(r.stderr)
    assert "PROTECTION-LOST" not in codes and "UNPROTECTED" not in codes
    assert "PLUGIN-LOAD-FAILED" in codes  # the broken emitter is reported and skipped
    assert ing2gw(["convert", "-f", str(src), "--emitter", "broken"]).exit_code == 5


def test_unknown_emitter_is_a_plugin_error(ing2gw, tmp_path: Path) -> None:
    src = tmp_path / "in.yaml"
    src.write_text(RATE_LIMITED)
    r = ing2gw(["convert", "-f", str(src), "--emitter", "standrd"])
    assert r.exit_code == 5 and "Did you mean 'standard'" in r.stderr
    assert ing2gw(["emitters", "nope"]).exit_code == 5


def test_emitters_command_formats(ing2gw) -> None:
    text = ing2gw(["emitters"]).stdout
    assert any(line.startswith("standard  ok") for line in text.splitlines()) and "consumes: external-auth" in text
    md = ing2gw(["emitters", "standard", "-o", "markdown"]).stdout
    assert md.count("\n| ") >= 18 and "| rate-limit | rate-limit | no |" in md
    coverage = ing2gw(["emitters", "standard"]).stdout
    assert "NOT     ip-access [protection: access-control]" in coverage


PROTECTED = TESTDATA / "convert" / "protection" / "allowlist-lost" / "input.yaml"
PLAIN = TESTDATA / "examples" / "shop.yaml"


@pytest.mark.parametrize("allow", [False, True])
def test_convert_exit_code_on_lost_protection(ing2gw, allow: bool) -> None:
    flags = ["--allow-unprotected"] if allow else []
    assert ing2gw(["convert", "-f", str(PROTECTED), *flags]).exit_code == (0 if allow else 1)
    # --fail-on never does not accept the loss; only --allow-unprotected does.
    assert ing2gw(["convert", "-f", str(PROTECTED), "--fail-on", "never", *flags]).exit_code == (0 if allow else 1)
    assert ing2gw(["convert", "-f", str(PLAIN), "--fail-on", "never"]).exit_code == 0
    # -q hides the notes, but an exit 1 always comes with its reason.
    quiet = ing2gw(["convert", "-f", str(PROTECTED), "-q", *flags])
    assert quiet.stderr == "" if allow else _codes(quiet.stderr) == ["PROTECTION-LOST", "UNPROTECTED"]


@pytest.mark.parametrize("allow", [False, True])
def test_verify_exit_code_on_lost_protection(ing2gw, allow: bool) -> None:
    flags = ["--allow-unprotected"] if allow else []
    r = ing2gw(["verify", "-f", str(PROTECTED), "-q", "--fail-on", "never", *flags])
    assert r.exit_code == (0 if allow else 1)
    assert "LOST PROTECTIONS: 1 protection(s)" in r.stdout


@pytest.mark.parametrize("allow", [False, True])
def test_diff_exit_code_when_head_loses_a_protection(ing2gw, tmp_path: Path, allow: bool) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    plain = PROTECTED.read_text().replace('    nginx.ingress.kubernetes.io/allowlist-source-range: '
                                          '"10.0.0.0/8, 192.168.0.0/16"\n', "")
    assert plain != PROTECTED.read_text()
    (base / "in.yaml").write_text(plain)
    (head / "in.yaml").write_text(PROTECTED.read_text())
    flags = ["--allow-unprotected"] if allow else []
    r = ing2gw(["diff", str(base), str(head), *flags])
    assert r.exit_code == (0 if allow else 1)
    assert ("PROTECTION-LOST" in _codes(r.stderr)) is not allow
    assert "LOST PROTECTIONS: 1 protection(s)" in r.stdout  # the report says so whether accepted or not
    md = ing2gw(["diff", str(base), str(head), "-o", "markdown", *flags]).stdout
    assert "#### ⚠ Lost protections: 1 protection(s)" in md
    # Losing nothing: the reverse change does not fail.
    assert ing2gw(["diff", str(head), str(base)]).exit_code == 0


def test_report_lists_lost_protections_first(ing2gw, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    ing2gw(["convert", "-f", str(PROTECTED), "--report", str(report)])
    text = report.read_text()
    assert text.index("LOST PROTECTIONS") < text.index("Ingress shop/shop")
    assert "replace with:" in text and "HTTPRoute shop/shop-shop-example-com" in text
    md = tmp_path / "report.md"
    ing2gw(["convert", "-f", str(PROTECTED), "--report", str(md), "--report-format", "markdown"])
    assert "## ⚠ Lost protections" in md.read_text()
    data = tmp_path / "report.json"
    ing2gw(["convert", "-f", str(PROTECTED), "--report", str(data), "--report-format", "json"])
    lost = json.loads(data.read_text())["lost_protections"]
    assert [(x["intent"], x["security"]) for x in lost] == [("ip-access", "access-control")]


def test_router_keeps_external_auth_rules_and_asks_the_stand_in_auth_service(ing2gw) -> None:
    gateway = TESTDATA / "convert" / "protection" / "external-auth-experimental" / "expected.yaml"
    url = "https://shop.example.com/api/x"
    r = ing2gw(["route", "-f", str(gateway), url, "-H", "Authorization: Bearer x", "-o", "json"])
    assert r.exit_code == 0, r.stderr
    outcome = json.loads(r.stdout)
    assert outcome["status"] == 200 and outcome["backend"] == "shop/api:8080"
    assert outcome["extensionRefs"] == []  # the filter is evaluated (docs/case-format.md: the stand-in)
    assert "dropped" not in r.stderr
    refused = json.loads(ing2gw(["route", "-f", str(gateway), url, "-o", "json"]).stdout)
    assert refused["status"] == 401 and refused["policy"].endswith("ExternalAuth filter")


def test_unconsumed_pass_covers_rules_and_gateway_intents() -> None:
    from ing2gw.emit.gateway import EmitOptions
    from ing2gw.emit.registry import EmitContext, note_unconsumed
    from ing2gw.emit.standard import EMITTER
    from ing2gw.intents import BodyLimit, IPAccess
    from ing2gw.ir import IR, GatewayIntent, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
    from ing2gw.notes import Notes

    gw = GatewayRef("nginx", "nginx")
    prov = Provenance("Ingress", "shop", "shop", "allow")
    allow = IPAccess(allow=("10.0.0.0/8",), provenance=prov)
    rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/api")),), intents=(allow,))
    route = Route("HTTPRoute", "shop", "shop", gw, ("shop.example.com",), frozenset({"http"}), (rule,), (prov,))
    body = BodyLimit(None, provenance=Provenance("controller", "", "ingress-nginx", "proxy-body-size"))
    ir = IR(routes=(route,), gateway_intents=(GatewayIntent(gw, body),))

    ctx = EmitContext(EmitOptions(), Notes())
    lost = note_unconsumed(ir, ctx, EMITTER)
    assert [(x.route, x.intent.kind, x.scope) for x in lost] == [
        ("HTTPRoute shop/shop", "ip-access", (("shop.example.com", "/api"),)),
        ("Gateway nginx", "body-limit", ()),
    ]
    by_code = {n.code: n for n in ctx.notes}
    assert by_code["PROTECTION-LOST"].security == "access-control"
    assert by_code["INTENT-NOT-EMITTED"].security is None

    ctx = EmitContext(EmitOptions(), Notes())
    ctx.consume(rule, allow)
    ctx.consume(None, body)
    assert note_unconsumed(ir, ctx, EMITTER) == [] and len(ctx.notes) == 0
