"""The aws-alb provider end to end: the annotation table against the controller's documented
keys, the ALB traps (conditions ORed with the rule's host and path, rule order across hosts,
ssl-redirect, ``*`` crossing ``/``, rules after an unconditional redirect), the conversion of
each, and the generated documentation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from support import ROOT

from ing2gw.http import Request
from ing2gw.ir import PathMatch
from ing2gw.providers.aws_alb.actions import Transform
from ing2gw.providers.aws_alb.annotations import TABLE, row_key
from ing2gw.providers.aws_alb.model import AlbModel
from ing2gw.providers.aws_alb.paths import gateway_path, pattern_matches
from ing2gw.providers.aws_alb.transforms import host_rewrite, path_rewrite
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

# Every key of the controller's annotation reference (docs/guide/ingress/annotations.md at
# the commit the upstream cases come from), ${...} parts as the table writes them.
DOCUMENTED = """
load-balancer-name group.name group.order tags ip-address-type scheme subnets security-groups
manage-backend-security-group-rules customer-owned-ipv4-pool load-balancer-attributes wafv2-acl-arn waf-acl-id
shield-advanced-protection listen-ports ssl-redirect inbound-cidrs security-group-prefix-lists certificate-arn
ssl-policy target-type backend-protocol backend-protocol-version target-group-attributes healthcheck-port
healthcheck-protocol healthcheck-path healthcheck-interval-seconds healthcheck-timeout-seconds
healthy-threshold-count unhealthy-threshold-count success-codes auth-type auth-idp-cognito auth-idp-oidc
auth-on-unauthenticated-request auth-scope auth-session-cookie auth-session-timeout jwt-validation
actions.<name> transforms.<name> conditions.<name> use-regex-path-match target-node-labels mutual-authentication
multi-cluster-target-group listener-attributes.<protocol>-<port> minimum-load-balancer-capacity ipam-ipv4-pool-id
enable-frontend-nlb frontend-nlb-scheme frontend-nlb-subnets frontend-nlb-security-groups
frontend-nlb-listener-port-mapping frontend-nlb-healthcheck-port frontend-nlb-healthcheck-protocol
frontend-nlb-healthcheck-path frontend-nlb-healthcheck-interval-seconds frontend-nlb-healthcheck-timeout-seconds
frontend-nlb-healthcheck-healthy-threshold-count frontend-nlb-healthcheck-unhealthy-threshold-count
frontend-nlb-healthcheck-success-codes frontend-nlb-tags frontend-nlb-eip-allocations
target-control-port.<service>.<port> frontend-nlb-attributes
""".split()

CLASS = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: alb}
spec: {controller: ingress.k8s.aws/alb}
"""


def _ingress(name: str, rules: list[dict[str, Any]], namespace: str = "app", **annotations: str) -> str:
    # keyword names: "__" stands for ".", "_" for "-" (group__order -> group.order)
    ann = {f"alb.ingress.kubernetes.io/{k.replace('__', '.').replace('_', '-')}": v for k, v in annotations.items()}
    return yaml.safe_dump({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                           "metadata": {"namespace": namespace, "name": name, "annotations": ann},
                           "spec": {"ingressClassName": "alb", "rules": rules}})


def _rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    """An Ingress rule; a service written "@name" takes actions.name (port use-annotation)."""
    out: dict[str, Any] = {"http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {
            "name": svc.lstrip("@"), "port": {"name": "use-annotation"} if svc.startswith("@") else {"number": 80}}}}
        for p, t, svc in paths]}}
    if host:
        out["host"] = host
    return out


def _model(*docs: str) -> AlbModel:
    objs = [yaml.safe_load(d) for d in (CLASS, *docs)]
    return AlbModel.from_resources(build_resource_set([Document(o, f"t:{n}") for n, o in enumerate(objs)]))


def test_the_table_has_every_documented_annotation_and_nothing_else() -> None:
    assert sorted(s.key for s in TABLE if s.alias_of is None and s.key not in ("wafv2-acl-name",)) == \
        sorted(DOCUMENTED)
    assert row_key("actions.my-svc") == "actions.<name>"
    assert row_key("listener-attributes.HTTPS-443") == "listener-attributes.<protocol>-<port>"
    for spec in TABLE:
        assert spec.doc and spec.target, spec.key


def test_doc_is_generated_from_the_table(ing2gw) -> None:
    r = ing2gw(["providers", "aws-alb", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "aws-alb.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers aws-alb -o markdown > docs/providers/aws-alb.md")


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("/api/*", "/api/v1/users", True),  # * crosses /
    ("/api/*", "/api", False),
    ("/api/*", "/api/", True),
    ("/v?/x", "/v1/x", True),
    ("/v?/x", "/v10/x", False),
    ("/img/*.png", "/img/a/b.png", True),
    ("/Api", "/api", False),  # case-sensitive
])
def test_alb_patterns(pattern: str, path: str, matches: bool) -> None:
    assert pattern_matches(pattern, path) is matches


@pytest.mark.parametrize(("pattern", "kind", "value", "how"), [
    ("/*", "PathPrefix", "/", "exact"),
    ("/api", "Exact", "/api", "exact"),
    ("/api/*", "PathPrefix", "/api", "widened"),
    ("/api*", "RegularExpression", "/api.*", "regex"),
    ("/v?/x", "RegularExpression", "/v./x", "regex"),
])
def test_gateway_path_of_a_pattern(pattern: str, kind: str, value: str, how: str) -> None:
    pm, got = gateway_path(pattern)
    assert (pm.type, pm.value, got) == (kind, value, how)


def test_host_condition_is_ored_with_the_rule_host() -> None:
    model = _model(_ingress("a", [_rule("www.example.com", ("/p", "Exact", "extra"))],
                            conditions__extra='[{"field":"host-header","hostHeaderConfig":{"values":["x.example.com"]}}]'))
    for host in ("www.example.com", "x.example.com"):
        assert model.route(Request.build(host=host, path="/p")).backend == "app/extra:80"
    assert model.route(Request.build(host="other.example.com", path="/p")).status == 404


def test_an_early_hostless_catch_all_shadows_later_hosts(ing2gw) -> None:
    docs = [CLASS,
            _ingress("first", [_rule("", ("/*", "ImplementationSpecific", "web"))], group__name="g", group__order="1"),
            _ingress("second", [_rule("api.example.com", ("/", "Prefix", "api"))], group__name="g", group__order="2")]
    model = _model(*docs[1:])
    assert model.route(Request.build(host="api.example.com", path="/x")).backend == "app/web:80"
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input="---\n".join(docs))
    assert "ALB-RULE-SHADOWED" in r.stderr
    routes = [d for d in yaml.safe_load_all(r.stdout) if d and d["kind"] == "HTTPRoute"]
    assert [rt["metadata"]["name"] for rt in routes] == ["first"]  # the shadowed rule is not emitted


def test_ssl_redirect_drops_http_rules_and_writes_the_port() -> None:
    model = _model(_ingress("a", [_rule("shop.example.com", ("/", "Prefix", "web"))], ssl_redirect="443",
                            listen_ports='[{"HTTP": 80}, {"HTTPS": 443}]',
                            certificate_arn="arn:aws:acm:eu-west-1:1:certificate/abc"))
    out = model.route(Request.build(host="shop.example.com", path="/a?b=1"))
    assert out.status == 301 and out.redirect is not None
    assert out.redirect.location == "https://shop.example.com:443/a?b=1"
    assert model.route(Request.build(host="shop.example.com", path="/a", scheme="https")).backend == "app/web:80"


def test_rules_after_an_unconditional_redirect_are_deleted() -> None:
    redirect = '{"type":"redirect","redirectConfig":{"host":"new.example.com","statusCode":"HTTP_301"}}'
    model = _model(
        _ingress("a", [_rule("", ("/*", "ImplementationSpecific", "@moved"))], group__name="g", group__order="1",
                 actions__moved=redirect),
        _ingress("b", [_rule("", ("/keep", "Exact", "web"))], group__name="g", group__order="2"))
    (alb,) = model.albs
    assert [r.path for r in alb.listeners[0].rules] == ["/*"]
    out = model.route(Request.build(host="old.example.com", path="/keep"))
    assert out.redirect is not None and out.redirect.location == "http://new.example.com:80/keep"


def test_inbound_cidrs_fail_the_run_unless_accepted(ing2gw) -> None:
    doc = "---\n".join([CLASS, _ingress("a", [_rule("a.example.com", ("/", "Prefix", "web"))],
                                        inbound_cidrs="10.0.0.0/8")])
    r = ing2gw(["convert", "-f", "-"], input=doc)
    assert r.exit_code == 1 and "PROTECTION-LOST" in r.stderr and "inbound-cidrs" in r.stderr
    assert ing2gw(["convert", "-f", "-", "--allow-unprotected"], input=doc).exit_code == 0
    model = _model(_ingress("a", [_rule("a.example.com", ("/", "Prefix", "web"))], inbound_cidrs="10.0.0.0/8"))
    assert model.route(Request.build(host="a.example.com", client="10.1.2.3")).status == 200
    assert model.route(Request.build(host="a.example.com", client="192.0.2.1")).status == 403


def test_invalid_json_annotation_is_one_error_note_not_a_traceback(ing2gw) -> None:
    doc = "---\n".join([CLASS, _ingress("a", [
        {"http": {"paths": [{"path": "/x", "pathType": "Exact",
                             "backend": {"service": {"name": "act", "port": {"name": "use-annotation"}}}}]}}],
        actions__act="{not json")])
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=doc)
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "ALB-ANNOTATION-INVALID" in r.stderr and "ALB-ACTION-INVALID" in r.stderr


def test_route_as_aws_alb(ing2gw) -> None:
    r = ing2gw(["route", "-f", str(ROOT / "testdata" / "convert" / "aws-alb" / "rule-order" / "input.yaml"),
                "--as", "aws-alb", "http://api.example.com/v1/admin", "-o", "json"])
    assert r.exit_code == 0, r.stderr
    assert '"backend": "team/api:80"' in r.stdout  # ALB: the earlier /v1/* GET rule answers
    r = ing2gw(["route", "-f", "-", "http://api.example.com/v1/admin"], input=ing2gw(
        ["convert", "-f", str(ROOT / "testdata" / "convert" / "aws-alb" / "rule-order" / "input.yaml")]).stdout)
    assert "team/admin:80" in r.stdout  # the Gateway: the longer PathPrefix (noted as ALB-RULE-ORDER)


def test_output_is_deterministic_whatever_the_order(ing2gw) -> None:
    a = _ingress("a", [_rule("a.example.com", ("/", "Prefix", "web"))], group__name="g")
    b = _ingress("b", [_rule("b.example.com", ("/x", "Exact", "web"))], group__name="g", group__order="-5")
    one = ing2gw(["convert", "-f", "-"], input="---\n".join([CLASS, a, b]))
    two = ing2gw(["convert", "-f", "-"], input="---\n".join([b, a, CLASS]))
    assert one.stdout == two.stdout and one.stderr == two.stderr
    assert [d["kind"] for d in yaml.safe_load_all(one.stdout) if d].count("Gateway") == 1  # one ALB, one Gateway


@pytest.mark.parametrize(("regex", "replace", "match", "modifier", "fidelity"), [
    ("^/old/(.*)$", "/new/$1", PathMatch("PathPrefix", "/old"), ("ReplacePrefixMatch", "/new"), "approximate"),
    ("^/old(.*)$", "/new$1", PathMatch("PathPrefix", "/old"), ("ReplacePrefixMatch", "/new"), "exact"),
    ("^/a$", "/b", PathMatch("Exact", "/a"), ("ReplaceFullPath", "/b"), "exact"),
    ("^/old/(.*)$", "/x", PathMatch("PathPrefix", "/old"), None, "unsupported"),  # drops the rest
])
def test_url_rewrite_transforms(regex: str, replace: str, match: PathMatch, modifier: tuple[str, str] | None,
                                fidelity: str) -> None:
    rw = path_rewrite(Transform("url-rewrite", regex, replace), [match])
    assert (None if rw.path is None else (rw.path.type, rw.path.value)) == modifier
    assert rw.fidelity == fidelity


def test_host_rewrite_transform_needs_one_result_for_every_host() -> None:
    t = Transform("host-header-rewrite", r"^(a|b)\.example\.com$", "internal")
    assert host_rewrite(t, ("a.example.com", "b.example.com")).hostname == "internal"
    t = Transform("host-header-rewrite", r"example\.com", "example.net")
    assert host_rewrite(t, ("a.example.com", "b.example.com")).fidelity == "unsupported"
    assert host_rewrite(t, ("*.example.com",)).fidelity == "unsupported"
