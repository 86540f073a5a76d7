"""The Contour provider end to end: what HTTPProxy trees become (namespaces, Gateways, TLS
delegation), and malformed objects noted instead of crashing a run."""

from __future__ import annotations

import yaml

MALFORMED = """
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: bad, namespace: web}
spec:
  virtualhost:
    fqdn: bad.example.com
    tls: {secretName: cert}
    corsPolicy: {allowOrigin: "*", maxAge: soon}
    rateLimitPolicy: {local: {requests: many, unit: hour}}
    ipAllowPolicy: not-a-list
  includes: [{name: 7, conditions: nope}, "child"]
  routes:
    - conditions: [{prefix: api}]
      services: [{name: a, port: 80}]
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: odd, namespace: web}
spec:
  virtualhost: {fqdn: odd.example.com}
  routes:
    - services: [{name: a, port: "80", weight: heavy}, {name: b, port: 80, weight: 2.5}, 3]
      timeoutPolicy: {response: forever}
      retryPolicy: {count: lots, retryOn: 5xx}
      pathRewritePolicy: [oops]
      requestHeadersPolicy: {set: [{name: X-A}], remove: yes}
      loadBalancerPolicy: {strategy: RequestHash, requestHashPolicies: [{headerHashOptions: nope}]}
    - conditions: [{prefix: /r}]
      requestRedirectPolicy: {statusCode: fast, port: eighty}
  tcpproxy: {services: "none"}
"""


def test_malformed_httpproxies_are_noted_not_crashed(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never", "--allow-unprotected"], input=MALFORMED)
    assert r.exit_code == 0, r.stderr
    assert "Internal error" not in r.stderr
    assert "CONTOUR-CONDITIONS-INVALID: HTTPProxy web/bad [spec.routes[0].conditions]" in r.stderr
    for url in ("https://bad.example.com/", "http://odd.example.com/r", "http://odd.example.com/"):
        routed = ing2gw(["route", "-f", "-", "--as", "contour", url], input=MALFORMED)
        assert routed.exit_code == 0, routed.stderr


TREE = """
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: root
  namespace: web
  annotations: {projectcontour.io/ingress.class: edge}
spec:
  virtualhost:
    fqdn: shop.example.com
    tls: {secretName: certs/shop}
  includes:
    - {name: team, namespace: team, conditions: [{prefix: /team}]}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: team, namespace: team}
spec:
  routes:
    - services: [{name: app, port: 8080}]
"""

DELEGATION = """
---
apiVersion: projectcontour.io/v1
kind: TLSCertificateDelegation
metadata: {name: shop, namespace: certs}
spec:
  delegations: [{secretName: shop, targetNamespaces: ["*"]}]
"""


def test_included_routes_live_in_the_included_namespace_on_the_class_gateway(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=TREE + DELEGATION)
    assert r.exit_code == 0, r.stderr
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    routes = [d for d in docs if d["kind"] == "HTTPRoute"]
    assert {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in routes} == {
        ("team", "root-team"), ("team", "root-team-https")}
    assert {p["name"] for d in routes for p in d["spec"]["parentRefs"]} == {"edge"}
    https = next(d for d in routes if d["metadata"]["name"] == "root-team-https")
    assert https["spec"]["rules"][0]["backendRefs"] == [{"name": "app", "port": 8080}]
    grants = [d for d in docs if d["kind"] == "ReferenceGrant"]
    assert [(g["metadata"]["namespace"], g["spec"]["to"][0]["kind"]) for g in grants] == [("certs", "Secret")]


def test_a_secret_of_another_namespace_needs_a_delegation(ing2gw) -> None:
    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=TREE)
    assert "CONTOUR-TLS-NOT-DELEGATED: HTTPProxy web/root" in r.stderr
    assert "kind: HTTPRoute" not in r.stdout
    routed = ing2gw(["route", "-f", "-", "--as", "contour", "https://shop.example.com/team"], input=TREE)
    assert routed.stdout.startswith("- NoMatchingListener"), routed.stdout
