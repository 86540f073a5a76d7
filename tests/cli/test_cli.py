"""The CLI end to end: input handling, errors, exit codes, output forms."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support import TESTDATA

EXAMPLE = str(TESTDATA / "examples" / "shop.yaml")

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: team}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"""


def test_example_converts(ing2gw) -> None:
    r = ing2gw(["convert", "-f", EXAMPLE])
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    kinds = [d["kind"] for d in docs]
    assert kinds == sorted(kinds, key=["Gateway", "ReferenceGrant", "HTTPRoute"].index)
    routes = {d["metadata"]["name"]: d for d in docs if d["kind"] == "HTTPRoute"}
    # named port "http" of Service shop/api is resolved to its number
    api_rule = routes["storefront-shop-example-com"]["spec"]["rules"][0]
    assert api_rule["backendRefs"] == [{"name": "api", "port": 8080}]
    # notes go to stderr, never stdout
    assert "EMIT-GATEWAYCLASS-EXPECTED" in r.stderr and "EMIT-" not in r.stdout


def test_stdin_and_json_output(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-", "-o", "json"], input=INGRESS)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "List"
    assert [i["kind"] for i in out["items"]] == ["Gateway", "HTTPRoute"]


def test_output_is_independent_of_file_and_document_order(ing2gw, tmp_path: Path) -> None:
    text = Path(EXAMPLE).read_text()
    docs = [d for d in text.split("\n---\n")]
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for i, d in enumerate(docs):
        (a / f"{i:02}.yaml").write_text(d)
        (b / f"{len(docs) - i:02}.yaml").write_text(d)
    (tmp_path / "rev.yaml").write_text("\n---\n".join(reversed(docs)))
    outs = {ing2gw(["convert", "-f", str(p)]).stdout for p in (a, b, tmp_path / "rev.yaml", Path(EXAMPLE))}
    assert len(outs) == 1 and next(iter(outs)).startswith("---")


def test_list_kind_is_flattened(ing2gw) -> None:
    doc = yaml.safe_load(INGRESS)
    listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": [doc]})
    r = ing2gw(["convert", "-f", "-"], input=listed)
    assert r.exit_code == 0
    assert "kind: HTTPRoute" in r.stdout


def test_v1beta1_ingress_is_converted_on_load(ing2gw) -> None:
    legacy = """\
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old, namespace: legacy, annotations: {kubernetes.io/ingress.class: nginx}}
spec:
  rules:
  - host: old.example.com
    http:
      paths:
      - path: /app
        backend: {serviceName: app, servicePort: 8080}
"""
    r = ing2gw(["convert", "-f", "-"], input=legacy)
    assert r.exit_code == 0, r.stderr
    route = [d for d in yaml.safe_load_all(r.stdout) if d["kind"] == "HTTPRoute"][0]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "app", "port": 8080}]
    assert route["spec"]["rules"][0]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/app"}


def test_malformed_yaml_is_one_line_exit_3(ing2gw, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(INGRESS + "---\nkind: [unclosed\n")
    r = ing2gw(["convert", "-f", str(bad)])
    assert r.exit_code == 3
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}:13:")
    assert "Traceback" not in r.stderr


def test_binary_file_exit_3(ing2gw, tmp_path: Path) -> None:
    f = tmp_path / "blob.yaml"
    f.write_bytes(b"\x7fELF\x00\x00\x01garbage")
    r = ing2gw(["convert", "-f", str(f)])
    assert r.exit_code == 3 and r.stdout == ""
    assert "not a text file" in r.stderr


def test_alias_bomb_exit_3(ing2gw, tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
        prev = name
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines) + "\n")
    r = ing2gw(["convert", "-f", str(f)])
    assert r.exit_code == 3 and r.stdout == ""
    assert "alias" in r.stderr and str(f) in r.stderr


def test_non_mapping_document_exit_3(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-"], input="- just\n- a list\n")
    assert r.exit_code == 3
    assert "<stdin>:1:" in r.stderr and "mapping" in r.stderr


def test_object_without_kind_exit_3(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-"], input="apiVersion: v1\nmetadata: {name: x}\n")
    assert r.exit_code == 3 and "has no kind" in r.stderr


def test_bad_object_does_not_sink_the_run(ing2gw) -> None:
    bad = INGRESS.replace("name: web, namespace: team", "name: broken, namespace: team").replace(
        "  rules:\n", "  rules: not-a-list\n  x:\n"
    )
    r = ing2gw(["convert", "-f", "-"], input=INGRESS + "---\n" + bad)
    assert r.exit_code == 1  # an error note reaches --fail-on error
    assert "kind: HTTPRoute" in r.stdout  # the good Ingress still converts
    assert "INPUT-INVALID-OBJECT" in r.stderr and "Ingress team/broken" in r.stderr
    assert "<stdin>:18: spec.x: unknown field" in r.stderr  # the field's line, not only the object's (12)
    r2 = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=INGRESS + "---\n" + bad)
    assert r2.exit_code == 0


def test_missing_file_and_usage_errors(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "/nonexistent.yaml"])
    assert r.exit_code == 3 and "no such file" in r.stderr
    assert ing2gw(["convert", "--kubeconfig", "/nonexistent/kubeconfig"]).exit_code == 4  # no -f: the cluster
    assert ing2gw(["convert", "-f", EXAMPLE, "-n", "a", "-A"]).exit_code == 2
    assert ing2gw(["convert", "--bogus"]).exit_code == 2
    r = ing2gw(["convert", "-f", EXAMPLE, "--provider", "ingress-nginxx"])
    assert r.exit_code == 5 and "Did you mean 'ingress-nginx'" in r.stderr


def test_namespace_and_selector_filters(ing2gw) -> None:
    r = ing2gw(["convert", "-f", EXAMPLE, "-n", "marketing"])
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(r.stdout) if d["kind"] == "HTTPRoute"]
    assert names == ["blog-blog-example-com", "blog-blog-example-com-redirect"]
    labelled = INGRESS.replace("namespace: team}", "namespace: team, labels: {tier: front}}")
    other = INGRESS.replace("name: web,", "name: other,")
    r = ing2gw(["convert", "-f", "-", "-l", "tier in (front,back)"], input=labelled + "---\n" + other)
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(r.stdout) if d["kind"] == "HTTPRoute"]
    assert names == ["web-web-example-com"]
    assert ing2gw(["convert", "-f", "-", "-l", "a=(b"], input=INGRESS).exit_code == 2


def test_output_dir_is_atomic_and_role_split(ing2gw, tmp_path: Path) -> None:
    out = tmp_path / "gw"
    r = ing2gw(["convert", "-f", EXAMPLE, "--output-dir", str(out), "--gateway-controller", "example.com/gw"])
    assert r.exit_code == 0 and r.stdout == ""
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "application/marketing.yaml",
        "application/shop.yaml",
        "infrastructure/cluster.yaml",
        "kustomization.yaml",
        "operator/gateway-system.yaml",
        "operator/marketing.yaml",
        "operator/shop.yaml",
    ]
    kust = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kust["resources"] == [f for f in files if f != "kustomization.yaml"]
    # a second run replaces the folder it made
    assert ing2gw(["convert", "-f", EXAMPLE, "--output-dir", str(out)]).exit_code == 0
    assert not (out / "infrastructure").exists()
    # a folder ing2gw did not make is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    r = ing2gw(["convert", "-f", EXAMPLE, "--output-dir", str(mine)])
    assert r.exit_code == 2 and (mine / "keep.txt").exists()
    # an input error leaves no folder behind
    r = ing2gw(["convert", "-f", "-", "--output-dir", str(tmp_path / "none")], input="a: [\n")
    assert r.exit_code == 3 and not (tmp_path / "none").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_reports(ing2gw, tmp_path: Path) -> None:
    for fmt in ("text", "markdown", "json"):
        rep = tmp_path / f"report.{fmt}"
        r = ing2gw(["convert", "-f", EXAMPLE, "--report", str(rep), "--report-format", fmt, "-q"])
        assert r.exit_code == 0 and r.stderr == ""
        text = rep.read_text()
        assert "shop/storefront" in text
    model = json.loads((tmp_path / "report.json").read_text())
    assert model["summary"]["ingresses"] == 2
    assert {i["ingress"]: i["status"] for i in model["ingresses"]} == {
        "marketing/blog": "converted",
        "shop/storefront": "converted",
    }


def test_fail_on_thresholds(ing2gw) -> None:
    wild = INGRESS.replace("web.example.com", "'*.example.com'")
    assert ing2gw(["convert", "-f", "-"], input=wild).exit_code == 0
    assert ing2gw(["convert", "-f", "-", "--fail-on", "unsupported"], input=wild).exit_code == 0
    assert ing2gw(["convert", "-f", "-", "--fail-on", "approximate"], input=wild).exit_code == 1


def test_help_lists_exit_codes(ing2gw) -> None:
    r = ing2gw(["convert", "--help"])
    assert r.exit_code == 0 and "3 input error" in r.stdout
    assert ing2gw(["--version"]).stdout.startswith("ing2gw")


def test_top_level_help_imports_no_command_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from ing2gw.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('ing2gw.cli.') or m in "
        "('ing2gw.convert', 'ing2gw.router', 'kubernetes')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_report_counts_merged_canaries_as_converted(ing2gw, tmp_path: Path) -> None:
    rep = tmp_path / "r.json"
    case = TESTDATA / "convert" / "ingress-nginx" / "canary" / "input.yaml"
    r = ing2gw(["convert", "-f", str(case), "-q", "--report", str(rep), "--report-format", "json"])
    assert r.exit_code == 0
    status = {i["ingress"]: i["status"] for i in json.loads(rep.read_text())["ingresses"]}
    assert status["shop/api-canary"] != "not converted"  # merged into shop/shop's route
    assert status["shop/lonely-canary"] == "not converted"  # no primary: ingress-nginx ignores it
    assert "Ingress shop/api-canary" in r.stdout  # named in the route's ing2gw.io/source
