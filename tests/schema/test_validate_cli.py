"""``ing2gw validate`` and ``convert --validate``: CEL rules of a CRD given with --crd and of
the built-in Gateway API CRDs, schema violations, file:line errors, exit codes, and the
implementations' example policies validated against their own CRDs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import support
from support import SHARED

from ing2gw.schema.celenv import compile_rule, desugar_optionals, evaluate, to_cel

ROOT = support.ROOT
DATA = ROOT / "testdata" / "validate"
OBJECTS = str(DATA / "objects.yaml")
CRD = str(DATA / "policy-crd.yaml")


def test_a_crd_given_with_crd_brings_its_cel_rule(ing2gw: Any) -> None:
    without = ing2gw(["validate", "-f", OBJECTS])
    with_crd = ing2gw(["validate", "-f", OBJECTS, "--crd", CRD])
    assert f"{OBJECTS}:1: CorsPolicy apps/cors: no schema" in without.stdout
    assert "maxAge needs allowOrigins" not in without.stdout
    assert f"{OBJECTS}:6: CorsPolicy apps/cors: spec: maxAge needs allowOrigins" in with_crd.stdout
    assert with_crd.exit_code == 1


def test_the_policy_alone_passes_without_its_crd_and_fails_with_it(ing2gw: Any, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text((DATA / "objects.yaml").read_text().split("---")[0])
    assert ing2gw(["validate", "-f", str(policy)]).exit_code == 0
    assert ing2gw(["validate", "-f", str(policy), "--strict"]).exit_code == 1
    assert ing2gw(["validate", "-f", str(policy), "--crd", CRD]).exit_code == 1
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(policy.read_text().replace("maxAge: 600", "maxAge: 600\n  allowOrigins: [x]"))
    assert ing2gw(["validate", "-f", str(fixed), "--crd", CRD]).exit_code == 0


def test_built_in_cel_rule_and_schema_violation_with_file_and_line(ing2gw: Any) -> None:
    result = ing2gw(["validate", "-f", OBJECTS])
    assert f"{OBJECTS}:18: HTTPRoute apps/web: spec.rules[0].filters: May specify either " \
        "httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both" in result.stdout
    assert f"{OBJECTS}:33: Gateway apps/gw: spec.listeners[0].port: Invalid value: 80000" in result.stdout
    assert result.exit_code == 1
    reference = ing2gw(["validate", "--reference", "-f", OBJECTS])
    assert reference.exit_code == 1
    assert "but not both" in reference.stdout and "spec.listeners[0].port" in reference.stdout


def test_valid_golden_output_exits_0(ing2gw: Any) -> None:
    result = ing2gw(["validate", "-f", str(ROOT / "testdata/convert/tls-shared/expected.yaml")])
    assert result.exit_code == 0
    assert result.stdout == "9 object(s): 9 valid, 0 invalid, 0 without schema\n"


@pytest.mark.parametrize("args", [["validate", "-f", "missing.yaml"], ["validate"],
                                  ["validate", "-f", OBJECTS, "--crd", OBJECTS]])
def test_input_errors_exit_3(ing2gw: Any, args: list[str]) -> None:
    assert ing2gw(args).exit_code == 3


def test_convert_validate_accepts_its_own_output(ing2gw: Any) -> None:
    folder = ROOT / "testdata/convert/tls-shared"
    plain = ing2gw(["convert", "-q", "-f", str(folder / "input.yaml")])
    checked = ing2gw(["convert", "-q", "--validate", "-f", str(folder / "input.yaml")])
    assert checked.exit_code == plain.exit_code == 0
    assert checked.stdout == plain.stdout


def test_convert_validate_reports_an_invalid_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from ing2gw.schema.crds import validate_output

    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "a"},
             "spec": {"rules": [{"filters": [{"type": "RequestRedirect"}]}]}}
    (problem,) = validate_output([route], "standard")
    assert problem.startswith("<output>: HTTPRoute a/r: invalid: spec.rules[0].filters[0]: filter.requestRedirect")


# --------------------------------------------------------------------------- the CEL library


@pytest.mark.parametrize(("rule", "value", "holds"), [
    ("self.all(h, !isIP(h))", ["a.example.com"], True),
    ("self.all(h, !isIP(h))", ["192.0.2.1"], False),
    ("self.split('/')[0].size() < 3", "ab/c", True),
    ("self.substring(2).startsWith('x')", "*.x", True),
    ("duration(self) <= duration('1h')", "0", True),
    ("duration(self) <= duration('1h')", "90m", False),
    ("self.matches('^(?i)a$')", "A", True),
    ("url(self).getScheme() in ['http', 'https']", "ftp://a", False),
    ("url(self).getScheme() in ['http', 'https']", "https://a", True),
    ("self.lowerAscii() != 'host'", "HOST", False),
    ("!quantity(string(self)).isGreaterThan(quantity('1677215'))", "2Mi", False),
    ("!quantity(string(self)).isGreaterThan(quantity('1677215'))", 100, True),
    ("size(self) == 0 || format.dns1123Label().validate(self) == null", "a-b", True),
    ("size(self) == 0 || format.dns1123Label().validate(self) == null", "A_b", False),
    ("self.indexOf('*') == self.lastIndexOf('*')", "*.a.*", False),
    ("self.exists_one(k, k == 'a')", {"a": 1, "b": 2}, True),
    ("self.all(l1, !has(l1.name) || self.exists_one(l2, has(l2.name) && l1.name == l2.name))",
     [{}, {"name": "a"}], True),
    ("!has(self.?jwt.accessToken) || !self.?cookies.?off.orValue(false)",
     {"jwt": {"accessToken": {}}, "cookies": {"off": True}}, False),
    ("!has(self.?jwt.accessToken) || !self.?cookies.?off.orValue(false)", {"jwt": {}}, True),
])
def test_kubernetes_cel_library(rule: str, value: Any, holds: bool) -> None:
    assert (evaluate(compile_rule(rule), to_cel(value, None)) is None) == holds


def test_reserved_property_names_are_escaped() -> None:
    schema = {"properties": {"namespace": {"type": "string"}}}
    assert evaluate(compile_rule("self.__namespace__ == 'a'"), to_cel({"namespace": "a"}, schema)) is None


def test_optional_syntax_is_rewritten() -> None:
    assert desugar_optionals("has(self.?a.b)") == "(has(self.a) && has(self.a.b))"
    with pytest.raises(ValueError, match="unsupported optional"):
        desugar_optionals("self.?a.b == 1")


def test_transition_rules_are_marked() -> None:
    assert compile_rule("self == oldSelf").transition


# --------------------------------------------------------------------------- implementations

IMPLEMENTATIONS = sorted(p.name for p in (SHARED / "implementations").glob("*") if (p / "crds").is_dir())


@pytest.mark.skipif(not IMPLEMENTATIONS, reason="../shared is not present")
@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_implementation_examples_pass_their_crds(ing2gw: Any, name: str) -> None:
    folder = SHARED / "implementations" / name
    result = ing2gw(["validate", "--channel", "experimental", "--strict", "-f", str(folder / "examples"),
                     "--crd", str(folder / "crds")])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith(" 0 invalid, 0 without schema\n")
