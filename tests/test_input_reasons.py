"""Valid YAML but a bad Ingress: each gets a reason naming the file and the field's line, the
object is left out (the rest converts), and nothing invalid is ever emitted."""

from __future__ import annotations

import pytest
import yaml

GOOD = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: good
  namespace: shop
spec:
  ingressClassName: nginx
  rules:
  - host: good.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""


def _bad(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace("name: good", "name: bad", 1).replace(old, new, 1)


CASES = [
    # (edit, expected line, expected text in the reason)
    (("  rules:\n", "  rulse:\n"), 8, "spec.rulse: unknown field (did you mean rules?)"),
    (("    http:\n", "    htpp:\n"), 10, "spec.rules[0].htpp: unknown field (did you mean http?)"),
    (("              number: 80", "              numbr: 80"), 18,
     "spec.rules[0].http.paths[0].backend.service.port.numbr: unknown field (did you mean number?)"),
    ((GOOD[GOOD.index("  rules:"):], "  tls: []\n"), 6, "spec has no rules and no defaultBackend"),
    (("good.example.com", "'*.*.example.com'"), 9, "spec.rules[0].host '*.*.example.com' has a wildcard"),
    (("good.example.com", "my_app.example.com"), 9, "spec.rules[0].host 'my_app.example.com' has '_'"),
    (("good.example.com", "10.0.0.1"), 9, "spec.rules[0].host '10.0.0.1' is an IP address"),
]


@pytest.mark.parametrize(("edit", "line", "reason"), CASES, ids=[c[2].split(":")[0][:40] for c in CASES])
def test_bad_ingress_gets_a_reason_at_the_field(edit: tuple[str, str], line: int, reason: str, ing2gw) -> None:
    stdin = GOOD + "---\n" + _bad(*edit)
    r = ing2gw(["convert", "-f", "-"], input=stdin)
    assert r.exit_code == 1, r.stderr  # an error note: --fail-on error
    errors = [x for x in r.stderr.splitlines() if "INPUT-INVALID-OBJECT" in x]
    assert len(errors) == 1 and "Ingress shop/bad" in errors[0]
    good_lines = GOOD.count("\n") + 1  # the bad document starts after GOOD and "---"
    assert f"<stdin>:{good_lines + line}: {reason}" in errors[0], errors[0]
    out = list(yaml.safe_load_all(r.stdout))
    routes = [d for d in out if d["kind"] == "HTTPRoute"]
    assert [d["metadata"]["name"] for d in routes] == ["good-good-example-com"]  # the rest converts
    assert "*.*" not in r.stdout and "_" not in r.stdout.split("ing2gw.io/source")[0]


def test_uppercase_host_is_lowercased_with_a_note_and_the_output_validates(ing2gw) -> None:
    from ing2gw.schema import validate

    doc = GOOD.replace("good.example.com", "Good.Example.COM").replace("  rules:\n", "  tls:\n  - hosts:\n"
                                                                        "    - GOOD.example.com\n  rules:\n")
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert r.exit_code == 0, r.stderr
    notes = [x for x in r.stderr.splitlines() if "INPUT-HOST-CASE" in x]
    assert len(notes) == 2
    assert "<stdin>:10: spec.tls[0].hosts[0] 'GOOD.example.com' has uppercase letters" in notes[0] + notes[1]
    assert "<stdin>:12: spec.rules[0].host 'Good.Example.COM' has uppercase letters" in notes[0] + notes[1]
    out = list(yaml.safe_load_all(r.stdout))
    assert "Good" not in r.stdout and "GOOD" not in r.stdout
    for obj in out:
        assert not validate(obj), validate(obj)


def test_legacy_forms_know_their_own_fields(ing2gw) -> None:
    doc = """apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old, namespace: shop}
spec:
  backend: {serviceName: web, servicPort: 80}
"""
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert "<stdin>:5: spec.backend.servicPort: unknown field (did you mean servicePort?)" in r.stderr
