"""``ing2gw diff``: golden reports, exit codes, git revisions, the CI integration."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import ROOT, TESTDATA, UPDATE_GOLDEN

CASES = sorted(p for p in (TESTDATA / "diff").iterdir() if (p / "base").is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, ing2gw) -> None:
    md = ing2gw(["diff", str(case / "base"), str(case / "head"), "-o", "markdown"])
    js = ing2gw(["diff", str(case / "base"), str(case / "head"), "-o", "json"])
    assert md.exit_code == 0 and js.exit_code == 0, md.stderr + js.stderr
    # Labels are the paths as given; make them stable for the golden files.
    md_text = md.stdout.replace(str(case), "CASE")
    js_text = js.stdout.replace(str(case), "CASE")
    if UPDATE_GOLDEN:
        (case / "expected.md").write_text(md_text)
        (case / "expected.json").write_text(js_text)
    assert md_text == (case / "expected.md").read_text()
    assert json.loads(js_text) == json.loads((case / "expected.json").read_text())
    assert md_text.startswith("<!-- ing2gw-diff -->\n")


def test_expected_findings() -> None:
    """What each golden case must show, independent of the exact rendering."""
    def load(name: str) -> dict:
        return json.loads((TESTDATA / "diff" / name / "expected.json").read_text())

    added = load("added-path")
    assert added["summary"]["changed"] == 1 and added["behaviour"]
    assert all(b["after"]["backend"] == "shop/api:8080" for b in added["behaviour"]
               if "/api" in b["request"]["url"] and "apix" not in b["request"]["url"])
    renamed = load("renamed-ingress")
    assert renamed["summary"]["renamed"] == 1 and not renamed["behaviour"]
    assert renamed["objects"][0]["oldName"] == "shop-shop-example-com"
    tls = load("tls-added")
    assert tls["summary"]["added"] >= 1 and any(o["kind"] == "ReferenceGrant" for o in tls["objects"])
    quiet = load("no-behaviour-change")  # paths reordered: rule order changes, behaviour does not
    assert quiet["summary"] == {**quiet["summary"], "added": 0, "removed": 0, "renamed": 0, "behaviourChanges": 0}
    assert all(f["path"].startswith("spec.rules[") for o in quiet["objects"] for f in o["fields"])
    drift = load("hand-migrated-drift")
    assert any(b["before"]["backend"] == "shop/api:8080" and b["after"]["backend"] == "shop/web:80"
               for b in drift["behaviour"])


def test_exit_code(ing2gw) -> None:
    case = TESTDATA / "diff" / "added-path"
    assert ing2gw(["diff", str(case / "base"), str(case / "head"), "--exit-code"]).exit_code == 1
    assert ing2gw(["diff", str(case / "base"), str(case / "base"), "--exit-code"]).exit_code == 0
    assert ing2gw(["diff", str(case / "base"), "/nonexistent", "--exit-code"]).exit_code == 3


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    shutil.copy(TESTDATA / "diff" / "added-path" / "base" / "app.yaml", repo / "deploy" / "app.yaml")
    (repo / "README").write_text("not a manifest\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "feature")
    shutil.copy(TESTDATA / "diff" / "added-path" / "head" / "app.yaml", repo / "deploy" / "app.yaml")
    _git(repo, "commit", "-qam", "add /api")
    return repo


def test_git_revisions_without_touching_the_work_tree(repo: Path, ing2gw, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    (repo / "deploy" / "app.yaml").write_text("garbage: [\n")  # uncommitted, must not be read
    r = ing2gw(["diff", "--git", "main", "feature", "-o", "json", "--", "deploy/"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["changed"] == 1 and report["behaviour"]
    assert (repo / "deploy" / "app.yaml").read_text() == "garbage: [\n"
    assert ing2gw(["diff", "--git", "main", "nope", "--", "deploy/"]).exit_code == 3


def test_documented_workflow_commands_run(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands of docs/github-actions.md, as a pull request run would execute them."""
    doc = (ROOT / "docs" / "github-actions.md").read_text()
    block = doc.split("```yaml", 1)[1].split("```", 1)[0]
    workflow = yaml.safe_load(block)
    steps = workflow["jobs"]["ing2gw-diff"]["steps"]
    run = next(s["run"] for s in steps if "ing2gw diff" in s.get("run", ""))
    monkeypatch.chdir(repo)
    env = {"BASE_SHA": "main", "HEAD_SHA": "feature", "MANIFESTS": "deploy/", "PATH": __import__("os").environ["PATH"]}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", run], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    comment = (repo / "ing2gw-diff.md").read_text()
    assert comment.startswith("<!-- ing2gw-diff -->") and "served differently" in comment


def test_pre_commit_hooks_are_declared() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert {"ing2gw-convert", "ing2gw-diff"} <= set(ids)
    for h in hooks:
        assert h["entry"].startswith("ing2gw ") and h["language"] == "python"


def _ingress(name: str, ns: str, host: str, paths: list[str], annotations: dict | None = None,
             created: str = "2024-01-01T00:00:00Z", tls: bool = False) -> dict:
    spec: dict = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
        {"path": p, "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}
        for p in paths]}}]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": f"{name}-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {},
                         "creationTimestamp": created}, "spec": spec}


def test_incremental_diff_equals_full_diff() -> None:
    """The shortcut of converting only what a change can affect gives the same report as
    converting everything, for every kind of change (and falls back when it cannot)."""
    import copy
    import random

    from ing2gw.convert import ConvertOptions
    from ing2gw.diff import build_side, diff_sides, incremental_sides
    from ing2gw.plugins import discover
    from ing2gw.yamlio import Document

    rnd = random.Random(7)
    base = [_ingress(f"app{i}", f"ns{i % 3}", f"h{i % 5}.example.com", [f"/p{i}", "/"] if i % 4 == 0 else [f"/p{i}"],
                     {"nginx.ingress.kubernetes.io/use-regex": "true"} if i == 3 else None,
                     created=f"2024-01-{i + 1:02}T00:00:00Z", tls=(i == 7)) for i in range(12)]
    base.append(_ingress("wild", "ns0", "*.example.com", ["/"]))
    base.append(_ingress("canary", "ns1", "h1.example.com", ["/p1"],
                         {"nginx.ingress.kubernetes.io/canary": "true",
                          "nginx.ingress.kubernetes.io/canary-weight": "20"}, created="2024-02-01T00:00:00Z"))

    def mutations(docs: list[dict]) -> list[list[dict]]:
        out = []
        for _ in range(12):
            head = copy.deepcopy(docs)
            i = rnd.randrange(12)
            kind = rnd.choice(["path", "backend", "regex", "delete", "add", "rename", "canary", "tls"])
            ing = head[i]
            if kind == "path":
                new = {"service": {"name": "n", "port": {"number": 80}}}
                ing["spec"]["rules"][0]["http"]["paths"].append({"path": "/new", "pathType": "Exact", "backend": new})
            elif kind == "backend":
                ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "other"
            elif kind == "regex":
                ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"] = "/"
            elif kind == "delete":
                del head[i]
            elif kind == "add":
                head.append(_ingress("late", ing["metadata"]["namespace"], ing["spec"]["rules"][0]["host"],
                                     ["/p1", "/late"], created="2025-01-01T00:00:00Z"))
            elif kind == "rename":
                ing["metadata"]["name"] += "-x"
            elif kind == "canary":
                head[-1]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] = "60"
            else:
                ing["spec"]["tls"] = [{"hosts": [ing["spec"]["rules"][0]["host"]], "secretName": "s"}]
            out.append(head)
        return out

    registry = discover()
    options = ConvertOptions()
    docs_b = [Document(d, f"b:{i}") for i, d in enumerate(base)]
    used_shortcut = 0
    for head in mutations(base):
        docs_h = [Document(d, f"h:{i}") for i, d in enumerate(head)]
        full = diff_sides(build_side("b", docs_b, options, registry), build_side("h", docs_h, options, registry))
        quick_sides = incremental_sides(("b", docs_b), ("h", docs_h), options, registry)
        if quick_sides is None:
            continue
        used_shortcut += 1
        assert diff_sides(*quick_sides).to_dict() == full.to_dict()
    assert used_shortcut >= 3


def test_options_after_double_dash_are_an_error(repo: Path, ing2gw, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    r = ing2gw(["diff", "--git", "main", "feature", "--", "deploy/", "-o", "markdown"])
    assert r.exit_code == 2 and "-o after --" in r.stderr and r.stdout == ""


def test_a_path_matching_nothing_is_an_error(repo: Path, ing2gw, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    r = ing2gw(["diff", "--git", "main", "feature", "--", "deploy/", "depoly/"])
    assert r.exit_code == 2 and "depoly/: matches no manifest file" in r.stderr
    # a file that exists only on one side (added in the work tree) is fine
    app = (repo / "deploy" / "app.yaml").read_text()
    (repo / "deploy" / "new.yaml").write_text(app.replace("name: shop", "name: shop2"))
    assert ing2gw(["diff", "--git", "HEAD", ".", "--", "deploy/new.yaml"]).exit_code == 0
    assert ing2gw(["diff", "--git", "HEAD", ".", "--", "deploy/gone.yaml"]).exit_code == 2


def test_markdown_stays_under_the_comment_limit(tmp_path: Path, ing2gw) -> None:
    """A change too big for one pull request comment is folded ("N more") below 60 000
    characters; --report writes all of it."""
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    docs = [_ingress(f"app{i}", "shop", f"app{i}.example.com", ["/", "/api", "/static"]) for i in range(300)]
    (tmp_path / "base" / "a.yaml").write_text(yaml.safe_dump(docs[0]))
    (tmp_path / "head" / "a.yaml").write_text(yaml.safe_dump_all(docs))
    full = tmp_path / "full.md"
    r = ing2gw(["diff", str(tmp_path / "base"), str(tmp_path / "head"), "-o", "markdown", "--report", str(full)])
    assert r.exit_code == 0, r.stderr
    whole = full.read_text()
    assert len(whole) > 65_536 and len(r.stdout) <= 60_000
    assert r.stdout.startswith("<!-- ing2gw-diff -->") and f"more (all in {full})" in r.stdout
    assert whole.count("\n| GET http") > r.stdout.count("\n| GET http") > 10
    assert "more (" not in whole
    objects = whole.count("<details>")
    shown = r.stdout.count("<details>")
    assert 10 <= shown < objects and f"… {objects - shown} more (all in {full})" in r.stdout
    small = ing2gw(["diff", str(tmp_path / "base"), str(tmp_path / "base"), "-o", "markdown"])
    assert "more (" not in small.stdout


WORKFLOW = """name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
HELM_TEMPLATE = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules: {{- toYaml .Values.rules | nindent 4 }}
"""


@pytest.mark.parametrize("hook", ["ing2gw-convert", "ing2gw-diff"])
def test_pre_commit_hooks_skip_yaml_that_is_not_kubernetes(hook: str, repo: Path, ing2gw,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks get every changed .yaml file: a workflow, Helm values or a Helm template
    is skipped with a one-line note, the manifests are still checked."""
    import shlex

    entry = {h["id"]: h["entry"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}[hook]
    monkeypatch.chdir(repo)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yaml").write_text(WORKFLOW)
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "values.yaml").write_text("replicaCount: 2\nimage:\n  tag: v1\n")
    (repo / "chart" / "templates" / "ingress.yaml").write_text(HELM_TEMPLATE)
    files = [".github/workflows/ci.yaml", "chart/values.yaml", "chart/templates/ingress.yaml", "deploy/app.yaml"]
    r = ing2gw([*shlex.split(entry)[1:], *files])
    assert r.exit_code == 0, r.stderr
    skipped = [line for line in r.stderr.splitlines() if "INPUT-NOT-KUBERNETES" in line]
    assert len(skipped) == 3 and all(line.count("\n") == 0 for line in skipped)
    assert any("ci.yaml" in line and "no apiVersion and no kind" in line for line in skipped)
    assert any("ingress.yaml" in line and "template" in line for line in skipped)
    # without the flag the same workflow file is still an input error
    assert ing2gw(["convert", ".github/workflows/ci.yaml"]).exit_code == 3
    # a broken manifest is not excused
    (repo / "deploy" / "app.yaml").write_text("apiVersion: v1\nkind: [\n")
    assert ing2gw([*shlex.split(entry)[1:], *files]).exit_code == 3
