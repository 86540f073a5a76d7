"""Detection (ing2gw.detect): which controller serves an Ingress, end to end through convert."""

from __future__ import annotations

import json
from typing import Any

from ing2gw.kinds import APIKind
from ing2gw.provider import API_VERSION, AnnotationTable

ING = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: ns
  annotations: {annotations}
spec:
  {cls}
  rules:
  - host: {name}.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""


def ingress(name: str, cls: str | None = None, **annotations: str) -> str:
    return ING.format(name=name, cls=f"ingressClassName: {cls}" if cls else "",
                      annotations=json.dumps(annotations))


def test_foreign_annotations_are_never_reported_exact(ing2gw) -> None:
    doc = ingress("web", "nginx", **{"nginx.ingress.kubernetes.io/ssl-redirect": "false",
                                    "traefik.ingress.kubernetes.io/router.priority": "10"})
    r = ing2gw(["convert", "-f", "-", "-o", "json"], input=doc)
    assert "INGRESS-FOREIGN-ANNOTATION" in r.stderr and "[traefik.ingress.kubernetes.io/router.priority]" in r.stderr
    assert "annotation of Traefik, which the ingress-nginx provider does not read" in r.stderr


def test_forced_provider_still_notes_foreign_annotations(ing2gw) -> None:
    doc = ingress("web", "kong", **{"konghq.com/strip-path": "true"})
    r = ing2gw(["convert", "-f", "-", "--provider", "ingress-nginx"], input=doc)
    assert r.exit_code == 0, r.stderr  # the user chose: converted, with warnings
    assert "HTTPRoute" in r.stdout
    assert "INGRESS-FOREIGN-ANNOTATION" in r.stderr and "konghq.com/strip-path" in r.stderr
    assert "INGRESS-CONTROLLER-UNSUPPORTED" not in r.stderr


def test_controller_without_provider_is_not_converted_and_fails_the_run(ing2gw) -> None:
    """An Ingress of a controller ing2gw knows (detect.KNOWN) but has no provider for: the last
    such controller (providers for others are being added)."""
    import pytest

    from ing2gw.detect import KNOWN
    from ing2gw.providers import BUILTIN

    missing = [c for c in KNOWN if c.class_names and c.name not in BUILTIN]
    if not missing:
        pytest.skip("every known controller has a provider installed")
    known = missing[-1]
    r = ing2gw(["convert", "-f", "-"], input=ingress("web", known.class_names[0]))
    assert r.exit_code == 1
    assert r.stdout == "" or "HTTPRoute" not in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if "INGRESS-CONTROLLER-UNSUPPORTED" in ln]
    assert len(lines) == 1 and f"served by {known.title}" in lines[0]
    assert f"class '{known.class_names[0]}'" in lines[0]


def test_ingresses_without_class_or_evidence_need_a_provider_once_several_are_installed(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-"], input=ingress("bare"))
    assert r.exit_code == 1
    assert "INGRESS-NO-PROVIDER" in r.stderr and "--provider NAME (" in r.stderr and "traefik" in r.stderr
    r = ing2gw(["convert", "-f", "-", "--provider", "traefik"], input=ingress("bare"))
    assert r.exit_code == 0 and "bare.example.com" in r.stdout


class EntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.target, self.dist = name, target, None

    def load(self) -> Any:
        return self.target


class F5Like:
    """A stand-in F5 NGINX provider: it owns class "nginx" too and reads two prefixes (it
    replaces the built-in f5-nginx provider)."""

    name = "f5-like"
    api_version = API_VERSION
    kinds: tuple[APIKind, ...] = ()
    description = "test"
    controllers = ("nginx.org/ingress-controller",)
    class_names = ("nginx",)
    annotations = AnnotationTable("nginx.org", "F5", [])
    annotation_prefixes = ("nginx.org", "nginx.com")

    def to_ir(self, claimed: Any, ctx: Any) -> Any:
        from ing2gw.ir import IR

        self.seen = [i.ref for i in claimed.ingresses]
        return IR()


def _with(monkeypatch: Any, provider: Any) -> None:
    import ing2gw.cli.convert as cli_convert
    from ing2gw import plugins

    eps = [EntryPoint(provider.name, provider)]
    monkeypatch.setattr(cli_convert, "discover",
                        lambda disabled=(): plugins.discover((*disabled, "f5-nginx"), entry_points=eps))


def test_shared_class_is_decided_by_annotations_else_an_error_naming_provider(ing2gw, monkeypatch) -> None:
    f5 = F5Like()
    _with(monkeypatch, f5)
    doc = "---\n".join([
        ingress("plus", "nginx", **{"nginx.com/health-checks": "true"}),  # a second prefix of F5's
        ingress("community", "nginx", **{"nginx.ingress.kubernetes.io/ssl-redirect": "false"}),
        ingress("plain", "nginx"),
    ])
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert f5.seen == ["ns/plus"]
    assert "community.example.com" in r.stdout
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "INGRESS-CONTROLLER-AMBIGUOUS: Ingress ns/plain" in errors[0]
    assert "--provider NAME (" in errors[0] and "ingress-nginx" in errors[0]
    assert all(f"{name}, " in errors[0] for name in ("agic", "apisix", "aws-alb", "cilium", "contour", "f5-like"))
    assert r.exit_code == 1


def test_an_ingressclass_controller_beats_annotations_and_class_name(ing2gw, monkeypatch) -> None:
    f5 = F5Like()
    _with(monkeypatch, f5)
    cls = ("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\n"
           "spec: {controller: nginx.org/ingress-controller}\n")
    doc = "---\n".join([cls, ingress("odd", "nginx", **{"nginx.ingress.kubernetes.io/ssl-redirect": "false"})])
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=doc)
    assert f5.seen == ["ns/odd"]
    assert "INGRESS-FOREIGN-ANNOTATION" in r.stderr and "annotation of ingress-nginx" in r.stderr


def test_siblings_of_a_class_decide_for_the_bare_ones(ing2gw, monkeypatch) -> None:
    f5 = F5Like()
    _with(monkeypatch, f5)
    doc = "---\n".join([ingress("plus", "nginx", **{"nginx.org/rewrites": "serviceName=web rewrite=/"}),
                        ingress("plain", "nginx")])
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert r.exit_code == 0, r.stderr
    assert f5.seen == ["ns/plain", "ns/plus"]


def test_annotation_prefixes_must_be_strings(ing2gw) -> None:
    from ing2gw.plugins import discover

    class Bad(F5Like):
        annotation_prefixes = ("nginx.org", 3)  # type: ignore[assignment]

    reg = discover(disabled=["f5-nginx"], entry_points=[EntryPoint("f5-like", Bad())])
    assert "annotation_prefixes" in reg.load_notes()[0].message


def test_shared_class_without_evidence_is_presumed_ingress_nginx_with_one_warning(ing2gw) -> None:
    doc = "---\n".join([ingress("a", "nginx"), ingress("b", "nginx")])
    r = ing2gw(["convert", "-f", "-", "-o", "json"], input=doc)
    assert r.exit_code == 0, r.stderr
    assert "a.example.com" in r.stdout and "b.example.com" in r.stdout
    warnings = [ln for ln in r.stderr.splitlines() if "INGRESS-CLASS-ASSUMED" in ln]
    assert len(warnings) == 1 and warnings[0].startswith("warning: INGRESS-CLASS-ASSUMED: IngressClass nginx:")
    assert "pass --provider f5-nginx" in warnings[0]
    r = ing2gw(["convert", "-f", "-", "--provider", "f5-nginx"], input=doc)
    assert r.exit_code == 0 and "INGRESS-CLASS-ASSUMED" not in r.stderr


def test_shared_class_is_ambiguous_once_the_input_shows_f5_running(ing2gw) -> None:
    f5_class = ("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx-plus}\n"
                "spec: {controller: nginx.org/ingress-controller}\n")
    for other in (f5_class, ingress("tagged", "internal", **{"nginx.org/rewrites": "serviceName=web rewrite=/"})):
        r = ing2gw(["convert", "-f", "-"], input="---\n".join([ingress("a", "nginx"), other]))
        assert r.exit_code == 1
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "INGRESS-CONTROLLER-AMBIGUOUS: Ingress ns/a" in errors[0], r.stderr
        assert "the input shows F5 NGINX Ingress Controller running too" in errors[0]
        assert "INGRESS-CLASS-ASSUMED" not in r.stderr


def test_shared_class_decided_by_ingressclass_controller(ing2gw, tmp_path) -> None:
    ic = ("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\n"
          "spec: {controller: nginx.org/ingress-controller}\n")
    report = tmp_path / "report.json"
    r = ing2gw(["convert", "-f", "-", "--report", str(report), "--report-format", "json"],
               input="---\n".join([ingress("a", "nginx"), ic]))
    assert r.exit_code == 0, r.stderr
    assert "INGRESS-CLASS-ASSUMED" not in r.stderr and "AMBIGUOUS" not in r.stderr
    assert '"f5-nginx"' in report.read_text() and '"ingress-nginx"' not in report.read_text()
