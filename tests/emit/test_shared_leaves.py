"""Equal leaves of the emitted rules (matches, filters, backendRefs, parentRefs) are one shared
dict (:func:`ing2gw.emit.rules.leaf`): the output is the same as with a new dict for each, for
the standard emitter and every implementation emitter (which add to rules after the standard
emitter), and the leaves really are shared."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from support import TESTDATA

from ing2gw.convert import ConvertOptions, convert
from ing2gw.emit import routes, rules
from ing2gw.plugins import discover
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import dump_yaml, parse_documents

ROOT = TESTDATA / "emit"
CASES = sorted(p.parent for p in ROOT.rglob("input.yaml"))


def _unshared(leaves: Any, key: Any, make: Any, *args: Any) -> dict[str, Any]:
    return make(*args)


def _run(ing2gw: Any, case: Path) -> tuple[int, str, str]:
    args = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    r = ing2gw(["convert", "-f", str(case / "input.yaml"), "--emitter", case.relative_to(ROOT).parts[0],
                "--fail-on", "never", "--no-color", *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(ROOT)) for c in CASES])
def test_shared_leaves_change_no_output(case: Path, ing2gw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = _run(ing2gw, case)
    monkeypatch.setattr(rules, "leaf", _unshared)
    monkeypatch.setattr(routes, "leaf", _unshared)
    assert _run(ing2gw, case) == shared


def _ingresses(n: int) -> str:
    docs = []
    for i in range(n):
        host = f"app{i}.example.com"
        docs.append(f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app{i}
  namespace: team-{i % 3}
  annotations: {{nginx.ingress.kubernetes.io/enable-cors: "{str(i % 2 == 0).lower()}"}}
spec:
  ingressClassName: nginx
  tls: [{{hosts: [{host}], secretName: tls{i}}}]
  rules:
  - host: {host}
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web{i % 4}, port: {{number: 80}}}}}}}}
      - {{path: /api, pathType: Exact, backend: {{service: {{name: api, port: {{number: 8080}}}}}}}}
""")
    return "---\n".join(docs)


def test_leaves_are_shared_and_equal_to_new_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = parse_documents(_ingresses(40), "gen.yaml")
    registry = discover()
    result = convert(build_resource_set(docs), ConvertOptions(), registry)
    matches = [m for doc in result.manifests if doc["kind"] == "HTTPRoute"
               for rule in doc["spec"]["rules"] for m in rule.get("matches", ())]
    assert len({id(m) for m in matches}) < len(matches) // 4  # one dict per distinct match
    monkeypatch.setattr(rules, "leaf", _unshared)
    monkeypatch.setattr(routes, "leaf", _unshared)
    plain = convert(build_resource_set(docs), ConvertOptions(), registry)
    assert plain.manifests == result.manifests
    assert dump_yaml(plain.manifests) == dump_yaml(result.manifests)
