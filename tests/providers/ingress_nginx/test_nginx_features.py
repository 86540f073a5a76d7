"""Table tests for the ingress-nginx feature modules (redirects, rewrite/regex, canary,
policies) and the IR the translator builds from them."""

from __future__ import annotations

from typing import Any

import pytest
import re2

from ing2gw.ir import IR, BackendRef, GatewayRef, PathMatch, RouteMatch, Rule
from ing2gw.notes import Fidelity, Notes
from ing2gw.provider import Claimed, ConversionOptions, ProviderContext
from ing2gw.providers.ingress_nginx import PROVIDER, canary, redirects, rewrite
from ing2gw.providers.ingress_nginx.parsers import parse_body_size, parse_permanent_redirect
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import parse_documents

# --- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "emitted"), [
    (301, 301), (302, 302), (303, 303), (307, 307), (308, 308),
    (300, 301), (304, 303), (305, 307), (306, 307),
])
def test_gateway_status_keeps_expressible_codes_and_picks_the_nearest(code: int, emitted: int) -> None:
    status = redirects.gateway_status(code)
    assert status.emitted == emitted
    assert status.emitted in redirects.GATEWAY_REDIRECT_CODES
    assert status.exact == (code == emitted)


@pytest.mark.parametrize(("config", "code"), [
    ({}, 308), ({"http-redirect-code": "301"}, 301), ({"http-redirect-code": "307"}, 307),
    ({"http-redirect-code": "303"}, 308), ({"http-redirect-code": "x"}, 308),
])
def test_https_redirect_code_follows_the_controller_config(config: dict[str, str], code: int) -> None:
    assert redirects.https_redirect_code(config) == code
    assert redirects.https_redirect(code).scheme == "https"


@pytest.mark.parametrize(("host", "twin"), [
    ("example.com", "www.example.com"), ("www.example.com", "example.com"),
    ("*.example.com", None), ("", None),
])
def test_twin_host(host: str, twin: str | None) -> None:
    assert redirects.twin_host(host) == twin


@pytest.mark.parametrize(("url", "scheme", "host", "port", "path"), [
    ("https://new.example.com/landing", "https", "new.example.com", None, "/landing"),
    ("http://Status.Example.org:8080", "http", "status.example.org", 8080, "/"),
    ("/maintenance?x=1", None, None, None, "/maintenance"),
])
def test_url_redirect_replaces_the_full_path(url: str, scheme: str | None, host: str | None,
                                             port: int | None, path: str) -> None:
    r = redirects.url_redirect(parse_permanent_redirect(url), 301)
    assert (r.scheme, r.hostname, r.port) == (scheme, host, port)
    assert r.path is not None and r.path.type == "ReplaceFullPath" and r.path.value == path
    assert r.status_code == 301


def test_app_root_redirect_drops_the_query() -> None:
    r = redirects.app_root_redirect("/app1?tab=home")
    assert r.status_code == 302 and r.path is not None and r.path.value == "/app1"


# --- rewrite and regex ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "target", "kind", "prefix", "replacement", "exact"), [
    ("/foo", None, "none", "", "", True),
    ("/foo", "/foo", "none", "", "", True),
    ("/something", "/", "full", "", "", True),
    ("/app(/|$)(.*)", "/$2", "prefix", "/app", "/", True),
    ("/api(/|$)(.*)", "/v2/$2", "prefix", "/api", "/v2", False),
    ("/a/b(/|$)(.*)", "/$2", "prefix", "/a/b", "/", True),
    ("/api.v1(/|$)(.*)", "/$2", "regex", "", "", True),  # "." is a regex wildcard
    ("/app(/|$)(.*)", "/x$2", "regex", "", "", True),  # would glue segments together
    ("/foo/bar/(.+)", "/new/$1", "regex", "", "", True),
])
def test_classify_rewrite(path: str, target: str | None, kind: str, prefix: str, replacement: str,
                          exact: bool) -> None:
    rw = rewrite.classify_rewrite(path, target)
    assert rw.kind == kind
    if kind == "prefix":
        assert (rw.prefix, rw.replacement, rw.exact) == (prefix, replacement, exact)
    assert "$" not in rw.replacement


@pytest.mark.parametrize(("path", "uri", "matches"), [
    ("/foo", "/foo", True), ("/foo", "/FOO/bar", True), ("/foo", "/foobar", True),
    ("/foo", "/x/foo", False), ("/a|/b", "/b/c", True), ("/a|/b", "/x/b", False),
    ("/v[0-9]+/s", "/V12/s/x", True), ("/end$", "/end", True), ("/end$", "/ends", False),
])
def test_location_regex_is_case_insensitive_and_start_anchored(path: str, uri: str, matches: bool) -> None:
    pattern = rewrite.location_regex(path)
    assert rewrite.regex_error(pattern) is None
    # The same answer whether an implementation searches or matches the whole path.
    assert (re2.fullmatch(pattern, uri) is not None) == matches
    assert (re2.search(pattern, uri) is not None) == matches


def test_regex_error_names_pcre_only_syntax() -> None:
    assert rewrite.regex_error("(?=x)") is not None
    assert rewrite.regex_error("(?i)^/ok.*") is None


def test_nginx_order_is_longest_first_then_bytewise_descending() -> None:
    paths = ["/", "/api/.*", "/api/v1", "/foo/bar/[A-Z0-9]{3}", "/foo/bar/bar"]
    ordered = sorted(paths, key=rewrite.nginx_order_key, reverse=True)
    assert ordered == ["/foo/bar/[A-Z0-9]{3}", "/foo/bar/bar", "/api/v1", "/api/.*", "/"]


# --- canary --------------------------------------------------------------------------------

PRIMARY = BackendRef("shop", "ns", 80)
CANARY = BackendRef("shop-v2", "ns", 80)
BASE = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),), backends=(PRIMARY,))


@pytest.mark.parametrize(("weight", "total", "backends"), [
    (0, 100, [("shop", 1)]),
    (20, 100, [("shop", 80), ("shop-v2", 20)]),
    (20, 50, [("shop", 80), ("shop-v2", 20)]),  # totals below 100 count as 100
    (5, 1000, [("shop", 995), ("shop-v2", 5)]),
    (100, 100, [("shop-v2", 1)]),
    (150, 100, [("shop-v2", 1)]),
])
def test_canary_weights(weight: int, total: int, backends: list[tuple[str, int]]) -> None:
    rules = canary.canary_rules(BASE, (PRIMARY,), CANARY, canary.CanaryPolicy(weight=weight, weight_total=total))
    assert len(rules) == 1
    assert [(b.name, b.weight) for b in rules[0].backends] == backends
    assert rules[0].matches == BASE.matches


def test_canary_header_rules_come_first_and_never_means_primary() -> None:
    policy = canary.CanaryPolicy(header="X-Canary", cookie="c", weight=10)
    rules = canary.canary_rules(BASE, (PRIMARY,), CANARY, policy)
    heads = [(r.matches[0].headers[0].name, r.matches[0].headers[0].value if r.matches[0].headers[0].type == "Exact"
              else "re", r.backends[0].name) for r in rules[:-1]]
    assert heads == [("X-Canary", "always", "shop-v2"), ("X-Canary", "never", "shop"),
                     ("Cookie", "re", "shop-v2"), ("Cookie", "re", "shop")]
    assert not rules[-1].matches[0].headers
    for r in rules:
        assert r.matches[0].path == BASE.matches[0].path


@pytest.mark.parametrize(("cookie_header", "always", "never"), [
    ("canary=always", True, False),
    ("a=1; canary=always; b=2", True, False),
    ("a=1;canary=never", False, True),
    ("xcanary=always", False, False),
    ("canary=alwaysx", False, False),
])
def test_cookie_regex(cookie_header: str, always: bool, never: bool) -> None:
    for value, expected in (("always", always), ("never", never)):
        pattern = canary.cookie_regex("canary", value)
        assert (re2.search(pattern, cookie_header) is not None) == expected
        assert (re2.fullmatch(pattern, cookie_header) is not None) == expected


def test_header_pattern_is_an_unanchored_search() -> None:
    pattern = canary.header_pattern_regex("Firefox|Chrome")
    assert re2.fullmatch(pattern, "Mozilla/5.0 Firefox/120") is not None
    assert re2.fullmatch(pattern, "curl/8") is None


# --- policies ------------------------------------------------------------------------------


def test_body_size_zero_is_no_limit_not_a_zero_limit() -> None:
    from ing2gw.intents import BodyLimit
    from ing2gw.ir import Provenance

    prov = Provenance("Ingress", "ns", "a")
    assert BodyLimit(parse_body_size("0").max_bytes, provenance=prov).max_bytes is None
    assert BodyLimit(parse_body_size("8m").max_bytes, provenance=prov).max_bytes == 8 * 1024 * 1024
    with pytest.raises(ValueError, match="None means unlimited"):
        BodyLimit(0, provenance=prov)


def test_every_extension_row_names_its_intent() -> None:
    """The table is the single source: a row kept for an implementation policy names the
    typed intent that carries it, and the provider builds every intent class it names."""
    from ing2gw.providers.ingress_nginx.annotations import TABLE
    from ing2gw.providers.ingress_nginx.intents import kinds_built

    missing = [s.key for s in TABLE if s.fidelity is Fidelity.EXTENSION and s.intent is None]
    assert not missing
    named = {s.intent for s in TABLE if s.intent is not None}
    assert named <= set(kinds_built())


# --- the translator ------------------------------------------------------------------------

INPUT = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
  namespace: web
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: "0"
    nginx.ingress.kubernetes.io/limit-rps: "10"
    nginx.ingress.kubernetes.io/limit-burst-multiplier: "3"
    nginx.ingress.kubernetes.io/rewrite-target: /new/$1
spec:
  ingressClassName: nginx
  tls: [{hosts: [site.example.com], secretName: cert}]
  rules:
  - host: site.example.com
    http:
      paths:
      - {path: /foo/(.+), pathType: ImplementationSpecific, backend: {service: {name: site, port: {number: 80}}}}
"""


def _ir(text: str) -> tuple[IR, Notes]:
    rs = build_resource_set(parse_documents(text, "in.yaml"))
    notes = Notes()
    gw = GatewayRef("nginx", "nginx")
    ctx = ProviderContext(rs, notes, ConversionOptions(), {i.ref: gw for i in rs.ingresses})
    return PROVIDER.to_ir(Claimed(tuple(rs.ingresses)), ctx), notes


def test_translator_records_typed_intents() -> None:
    from ing2gw import intents

    ir, notes = _ir(INPUT)
    main = [r for r in ir.routes if r.sections == frozenset({"https"})]
    assert len(main) == 1
    (rule,) = main[0].rules
    by_kind: dict[str, Any] = {i.kind: i for i in rule.intents}
    limit = by_kind["rate-limit"]
    assert isinstance(limit, intents.RateLimit)
    assert (limit.rate, limit.unit, limit.burst, limit.status, limit.key) == (10, "second", 30, 503, "client-ip")
    assert limit.security == "rate-limit" and limit.provenance.field.endswith("/limit-rps")
    body = by_kind["body-limit"]
    assert isinstance(body, intents.BodyLimit) and body.max_bytes is None  # "0" is no limit, never a zero limit
    opaque = by_kind["opaque"]
    assert isinstance(opaque, intents.Opaque) and opaque.key == "rewrite-target" and "/new/$1" in opaque.raw
    assert all("$" not in (f.value.path.value if getattr(f.value, "path", None) else "") for f in rule.filters)
    assert "NGINX-REWRITE-CAPTURE" in {n.code for n in notes}


def test_redirect_route_never_has_backends_and_never_redirects_https() -> None:
    ir, _ = _ir(INPUT)
    for route in ir.routes:
        for rule in route.rules:
            redirect = redirects.is_redirect_rule(rule)
            assert not (redirect and rule.backends)
            if redirect and "https" in route.sections:
                assert all(f.value.scheme != "https" for f in rule.filters if f.type == "RequestRedirect")
    assert {r.name for r in ir.routes} == {"site-site-example-com", "site-site-example-com-redirect"}
