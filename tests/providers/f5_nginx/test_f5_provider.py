"""The F5 NGINX provider from the CLI: detection of the shared ``nginx`` class, conversion of
its routing and annotations, VirtualServers, ``route --as f5-nginx`` and its documentation."""

from __future__ import annotations

from support import ROOT

CASES = ROOT / "testdata" / "convert" / "f5-nginx"


def test_nginx_class_goes_to_f5_by_its_annotations(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASES / "mergeable" / "input.yaml")])
    assert "F5-" in r.stderr and "NGINX-" not in r.stderr
    assert "name: coffee-minion-cafe-example-com" in r.stdout


def test_character_prefix_and_host_ownership_are_noted(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASES / "routing" / "input.yaml")])
    assert "F5-PATH-CHARACTER-PREFIX" in r.stderr
    assert "F5-HOST-TAKEN: Ingress cafe/late" in r.stderr
    assert "/late" not in r.stdout


def test_virtual_server_routes_splits_and_lost_return(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASES / "virtualserver" / "input.yaml")])
    assert "weight: 90" in r.stdout and "weight: 10" in r.stdout
    assert "name: juice-cafe-example-com" in r.stdout
    assert "F5-VS-RETURN" in r.stderr


def test_virtual_server_custom_listeners_are_noted(ing2gw, tmp_path) -> None:
    """spec.listener names GlobalConfiguration listeners (ports not in the input): a warning, not silence."""
    vs = tmp_path / "vs.yaml"
    vs.write_text("apiVersion: k8s.nginx.org/v1\nkind: VirtualServer\nmetadata: {name: cafe, namespace: default}\n"
                  "spec:\n  host: cafe.example.com\n  listener: {http: http-8083}\n"
                  "  upstreams: [{name: tea, service: tea-svc, port: 80}]\n"
                  "  routes: [{path: /tea, action: {pass: tea}}]\n")
    r = ing2gw(["convert", "-f", str(vs)])
    assert "warning: F5-VS-SPEC-LISTENER: VirtualServer default/cafe [spec.listener]" in r.stderr
    assert "(http http-8083)" in r.stderr
    assert "name: cafe-cafe-example-com" in r.stdout  # the routes are still converted


def test_route_as_f5(ing2gw) -> None:
    case = CASES / "routing" / "input.yaml"
    r = ing2gw(["route", "-f", str(case), "--as", "f5-nginx", "http://cafe.example.com/teapot"])
    assert r.stdout.splitlines()[0].startswith("301")
    r = ing2gw(["route", "-f", str(case), "--as", "f5-nginx", "https://cafe.example.com/teapot"])
    assert r.stdout.splitlines()[0].startswith("200")


def test_provider_doc_is_current(ing2gw) -> None:
    """docs/providers/f5-nginx.md is `ing2gw providers f5-nginx -o markdown`, never edited by hand."""
    r = ing2gw(["providers", "f5-nginx", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "f5-nginx.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers f5-nginx -o markdown > docs/providers/f5-nginx.md")
