"""The ingress-nginx data-plane model: upstream e2e cases, the semantics doc's worked
examples and rewrite table, and the building blocks (URI normalisation, location order,
server lookup, canary, phase order)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pytest
from nginx_oracle import (
    DUPLICATE_PREFIX,
    EXAMPLE_EXPECTATIONS,
    REWRITE_EXAMPLES,
    REWRITE_EXPECTATIONS,
    WORKED_EXAMPLES,
    ingress,
)
from support import SHARED

from ing2gw.http import Request
from ing2gw.providers.ingress_nginx.model import NginxModel, route_as_nginx
from ing2gw.providers.ingress_nginx.model.uri import BadURI, escape_uri, normalise
from ing2gw.providers.ingress_nginx.nginxconf import generate
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

E2E_CASES = SHARED / "docs" / "ingress-nginx-e2e-cases.json"
NGINXIP = "192.0.2.10"
PLACEHOLDERS = {"NGINXIP": NGINXIP, "HTTPBUN_IP": "192.0.2.20", "NAMESPACE": "default"}


def resources(manifests: list[dict[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(m, f"<test>:{i + 1}") for i, m in enumerate(manifests)])


def model_of(manifests: list[dict[str, Any]], config: Mapping[str, str] | None = None,
             strict_refs: bool = False) -> NginxModel:
    return NginxModel.from_resources(resources(manifests), config, strict_refs=strict_refs)


def get(model: NginxModel, host: str, target: str, **kw: Any) -> dict[str, Any]:
    client_ip = kw.pop("client_ip", None)
    return model.route(Request.build(host=host, path=target, **kw), client_ip).to_dict()


def service(outcome: Mapping[str, Any]) -> str | None:
    backend = outcome["backend"]
    return None if backend is None else str(backend).split("/", 1)[1].rsplit(":", 1)[0]


# --- the upstream e2e cases ------------------------------------------------------------------

# Expectation fields a data-plane model cannot decide, with the reason.
UNDECIDABLE_FIELDS = {
    "body_contains": "the response body is written by the real backend or error page",
    "body_not_contains": "the response body is written by the real backend or error page",
    "logs_contain": "needs the controller's logs",
    "samples": "a sample count; the model's traffic shares are compared instead",
}


def _subst(value: Any) -> Any:
    if isinstance(value, str):
        for key, text in PLACEHOLDERS.items():
            value = value.replace(key, text)
        return value
    if isinstance(value, list):
        return [_subst(v) for v in value]
    if isinstance(value, dict):
        return {_subst(k): _subst(v) for k, v in value.items()}
    return value


@cache
def e2e_cases() -> list[dict[str, Any]]:
    if not E2E_CASES.is_file():
        return []
    return [_subst(c) for c in json.loads(E2E_CASES.read_text())]


def _case_manifests(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    before = [o for o in case.get("other_ingresses") or () if o.get("created") == "before"]
    after = [o for o in case.get("other_ingresses") or () if o.get("created") != "before"]
    specs = before + ([case["ingress"]] if case["ingress"] else []) + after
    out = []
    for index, spec in enumerate(specs):
        backend = spec.get("default_backend")
        out.append(ingress(
            spec["name"], spec.get("host") or "",
            [(p["path"], p["pathType"], p["service"], p["port"]) for p in spec.get("paths") or ()],
            spec.get("annotations") or {},
            created=index + 1,
            tls_hosts=spec.get("tls_hosts"),
            default_backend=(backend["service"], backend["port"]) if backend else None,
        ))
    return out


def _case_request(case: Mapping[str, Any]) -> Request:
    r = case["request"]
    headers = list((r.get("headers") or {}).items())
    if r.get("cookies"):
        headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in r["cookies"].items())))
    if r.get("basic_auth"):
        token = base64.b64encode(f"{r['basic_auth']['user']}:{r['basic_auth']['password']}".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    target = r.get("path") or "/"
    if r.get("query"):
        target += "?" + r["query"]
    return Request.build(host=r.get("host") or NGINXIP, path=target, method=r.get("method") or "GET",
                         scheme=r.get("scheme") or "http", headers=headers, sni=r.get("sni"))


def _case_skips(case: Mapping[str, Any]) -> dict[str, str]:
    """Expectation fields of the case the model cannot decide -> why."""
    skips = {k: UNDECIDABLE_FIELDS[k] for k in case["expect"] if k in UNDECIDABLE_FIELDS}
    specs = [case["ingress"] or {}, *(case.get("other_ingresses") or ())]
    annotations = {k.rsplit("/", 1)[-1]: v for s in specs for k, v in (s.get("annotations") or {}).items()}
    if case["request"].get("client_cert") or "auth-tls-secret" in annotations:
        return {k: "needs a client certificate and the controller's TLS handshake" for k in case["expect"]}
    if "auth-url" in annotations:
        return {k: "needs a live external auth server" for k in case["expect"]}
    snippet = annotations.get("configuration-snippet", "")
    for name in case["expect"].get("headers") or {}:
        if name.lower() in snippet.lower():
            skips[f"headers.{name}"] = "set by a configuration-snippet, which the model does not execute"
    return skips


def _judge(case: Mapping[str, Any], outcome: Mapping[str, Any], model: NginxModel,
           skips: Mapping[str, str]) -> list[str]:
    expect = case["expect"]
    failures: list[str] = []
    response = {k.lower(): v for k, v in outcome["responseHeaders"].items()}
    redirect = outcome["redirect"]
    if redirect:
        response["location"] = redirect["location"]
    upstream = outcome["upstream"] or {}
    up_headers = {k.lower(): v for k, v in (upstream.get("headers") or {}).items()}

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    if "status" in expect:
        check(outcome["status"] == expect["status"], f"status {outcome['status']} != {expect['status']}")
    if "backend" in expect:
        want = expect["backend"]
        if want == "default-backend":
            check(outcome["backend"] is None and outcome["status"] == 404,
                  f"expected the default backend, got {outcome['backend']} ({outcome['status']})")
        else:
            check(service(outcome) == want, f"backend {outcome['backend']} != {want}")
    if "matched_ingress" in expect:
        got = (outcome["matched"] or {}).get("ingress")
        check(got == f"default/{expect['matched_ingress']}", f"matched {got} != {expect['matched_ingress']}")
    if "upstream_path" in expect:
        check(upstream.get("path") == expect["upstream_path"],
              f"upstream {upstream.get('path')} != {expect['upstream_path']}")
    for name, value in (expect.get("upstream_headers") or {}).items():
        check(up_headers.get(name.lower()) == value, f"upstream header {name}: {up_headers.get(name.lower())!r}")
    for name in expect.get("upstream_headers_absent") or ():
        check(name.lower() not in up_headers, f"upstream header {name} present")
    for name, value in (expect.get("headers") or {}).items():
        if f"headers.{name}" not in skips:
            check(response.get(name.lower()) == value, f"header {name}: {response.get(name.lower())!r} != {value!r}")
    for name, parts in (expect.get("headers_contain") or {}).items():
        for part in parts:
            check(part in (response.get(name.lower()) or ""), f"header {name} lacks {part!r}")
    for name in expect.get("headers_absent") or ():
        check(name.lower() not in response, f"header {name} present")
    for name, bound in (expect.get("backend_distribution") or {}).items():
        share = next((v for k, v in outcome["weights"].items() if k.split("/", 1)[1].rsplit(":", 1)[0] == name), 0)
        assert bound.startswith(">=")
        check(share / 100 >= float(bound[2:]), f"{name} gets {share}%, expected {bound}")
    if expect.get("config_contains"):
        assert model.resources is not None
        conf = generate(model.resources, model.context.config).render(
            listen="127.0.0.1:80", upstream="127.0.0.1:8080", prefix="/tmp").text
        for text in expect["config_contains"]:
            check(text in conf, f"config lacks {text!r}")
    return failures


@pytest.mark.parametrize("case", e2e_cases(), ids=lambda c: c["id"])
def test_e2e_case(case: dict[str, Any]) -> None:
    skips = _case_skips(case)
    decidable = [k for k in case["expect"] if k not in skips]
    header_fields = [k for k in case["expect"].get("headers") or {} if f"headers.{k}" not in skips]
    if not decidable or (decidable == ["headers"] and not header_fields):
        pytest.skip("; ".join(sorted(set(skips.values()))))
    model = model_of(_case_manifests(case), case.get("controller_config"), strict_refs=True)
    outcome = model.route(_case_request(case)).to_dict()
    failures = _judge(case, outcome, model, skips)
    assert not failures, f"{case['id']}: {failures}\noutcome: {json.dumps(outcome, indent=1)}"


def test_e2e_cases_are_mostly_decidable() -> None:
    cases = e2e_cases()
    if not cases:
        pytest.skip("../shared is not present")
    fully_skipped = [c["id"] for c in cases if set(_case_skips(c)) >= set(c["expect"])]
    assert len(cases) == 67
    assert len(fully_skipped) <= 3, fully_skipped


# --- section 2.3 worked examples and section 6 rewrite table ------------------------------------

@cache
def examples_model() -> NginxModel:
    manifests = [m for group in (*WORKED_EXAMPLES.values(), *REWRITE_EXAMPLES.values()) for m in group]
    return model_of(manifests)


@pytest.mark.parametrize(("host", "target", "status", "svc", "where"), EXAMPLE_EXPECTATIONS + REWRITE_EXPECTATIONS,
                         ids=lambda v: str(v))
def test_documented_example(host: str, target: str, status: int, svc: str | None, where: str | None) -> None:
    outcome = get(examples_model(), host, target, client_ip="1.2.3.4")
    assert outcome["status"] == status, outcome
    assert service(outcome) == svc
    if status in (301, 302, 308):
        assert outcome["redirect"]["location"] == where
    elif where is not None:
        assert outcome["upstream"]["path"] == where
    else:
        assert outcome["upstream"] is None


def test_worked_example_location_order() -> None:
    topo = examples_model().topology

    def directives(host: str) -> list[str]:
        server = topo.server(host)
        assert server is not None
        return [loc.directive for loc in server.locations]

    assert directives("ex1.test") == ['"/foo/"', '= "/foo"', '"/"']
    assert directives("ex5.test") == ['= "/foo"', '"/foo/"', '"/"', '= "/"']
    assert directives("ex6.test") == ['~* "^/foo/bar/(.+)"', '~* "^/exact"', '~* "^/foo/"', '~* "^/foo"', '~* "^/"']
    assert directives("ex7.test") == ['~* "^/foo/bar/(.+)"', '~* "^/foo/bar/"', '~* "^/foo/bar/"', '~* "^/foo/bar/"',
                                      '~* "^/foo/bar"', '~* "^/"']
    # the doc's table abbreviates x's Prefix expansion ("/foo/bar/bar/" plus its Exact copy)
    assert directives("ex8.test")[:3] == ['~* "^/foo/bar/[A-Z0-9]{3}"', '~* "^/foo/bar/bar/"', '~* "^/foo/bar/bar"']
    assert directives("ex14.test")[:2] == ['~* "^/api/v1"', '~* "^/api/.*"']


def test_rewrite_sets_x_forwarded_prefix_only_when_rewriting() -> None:
    outcome = get(examples_model(), "rw6.test", "/")
    assert outcome["upstream"]["headers"]["X-Forwarded-Prefix"] == "/test/value"
    plain = model_of([ingress("a", "h.test", [("/", "Prefix", "s")], {"x-forwarded-prefix": "/p"})])
    assert "X-Forwarded-Prefix" not in get(plain, "h.test", "/")["upstream"]["headers"]


def test_duplicate_prefix_rejects_the_younger_ingress() -> None:
    model = model_of(DUPLICATE_PREFIX)
    assert model.topology.rejected.keys() == {"ex3/b"}
    assert any(n.code == "NGINX-MODEL-INGRESS-REJECTED" for n in model.notes)
    assert service(get(model, "ex3.test", "/foo/x")) == "a"


def test_regex_mode_avoids_the_duplicate() -> None:
    # example 7 without s3 would clash; with s3 the host is in regex mode and all is valid.
    # Only example 4's third Ingress clashes: the older Exact /exact lets both Prefix copies in.
    assert examples_model().topology.rejected.keys() == {"ex4/c"}


def test_merges_an_older_exact_path_lets_two_prefix_copies_in() -> None:
    """Defect 11: getBackendServers compares a new path with the first location of that path only."""
    model = model_of(WORKED_EXAMPLES["ex4"])
    assert model.topology.rejected.keys() == {"ex4/c"}
    assert "duplicates one of ex4/b" in model.topology.rejected["ex4/c"]
    assert service(get(model, "ex4.test", "/exact/suffix")) == "p"


# --- building blocks ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "uri"), [
    ("/fo%6F/x", "/foo/x"), ("//foo/x", "/foo/x"), ("/a/./b/../c", "/a/c"), ("/a/..", "/"),
    ("/a%2Fb", "/a/b"), ("/x/.", "/x/"), ("/%7E", "/~"), ("/a%20b", "/a b"),
])
def test_uri_normalisation(raw: str, uri: str) -> None:
    assert normalise(raw) == uri


@pytest.mark.parametrize("raw", ["/..", "/a/../..", "/%zz", "/%0", "/%00"])
def test_bad_uris(raw: str) -> None:
    with pytest.raises(BadURI):
        normalise(raw)


def test_escape_uri_keeps_reserved_characters() -> None:
    assert escape_uri("/a b/~x?#%\x7f\xe9") == "/a%20b/~x%3F%23%25%7F%E9"
    assert escape_uri("/a/b:c@d") == "/a/b:c@d"


def test_bad_uri_is_400() -> None:
    model = model_of(WORKED_EXAMPLES["ex1"])
    assert get(model, "ex1.test", "/../x")["status"] == 400


def test_unknown_host_and_healthz_on_default_server() -> None:
    model = model_of(WORKED_EXAMPLES["ex1"])
    assert get(model, "nope.test", "/foo")["status"] == 404
    assert get(model, "nope.test", "/healthz")["status"] == 200
    assert get(model, "nope.test", "/nginx_status", client_ip="8.8.8.8")["status"] == 403
    assert get(model, "nope.test", "/nginx_status", client_ip="127.0.0.1")["status"] == 200


def test_no_ingresses_everything_404() -> None:
    model = model_of([])
    for target in ("/", "/x"):
        assert get(model, "any.test", target)["status"] == 404
        assert get(model, "any.test", target, scheme="https")["status"] == 404


def test_catch_all_ingress_owns_the_default_server_root() -> None:
    model = model_of([
        ingress("rules", "h.test", [("/a", "Prefix", "a")], created=1, default_backend=("rules-default", 80)),
        ingress("catch", "", [], created=2, default_backend=("catch", 8080)),
    ])
    assert get(model, "other.test", "/x")["backend"] == "default/catch:8080"
    assert get(model, "h.test", "/x")["backend"] == "default/rules-default:80"


def test_implicit_root_inherits_oldest_ingress_annotations() -> None:
    model = model_of([
        ingress("a", "h.test", [("/api", "Prefix", "api")], {"permanent-redirect": "https://moved.test/x"}, created=1),
        ingress("b", "h.test", [("/web", "Prefix", "web")], created=2),
    ])
    outcome = get(model, "h.test", "/unmatched?q=1")
    assert outcome["status"] == 301 and outcome["redirect"]["location"] == "https://moved.test/x"
    assert get(model, "h.test", "/web")["status"] == 200


def test_server_alias_serves_all_paths_and_first_alias_list_wins() -> None:
    model = model_of([
        ingress("a", "h.test", [("/a", "Prefix", "a")], {"server-alias": "alias.test, *.wild.test"}, created=1),
        ingress("b", "h.test", [("/b", "Prefix", "b")], {"server-alias": "other.test"}, created=2),
        ingress("c", "real.test", [("/", "Prefix", "c")], created=3),
    ])
    assert service(get(model, "alias.test", "/b")) == "b"
    assert service(get(model, "deep.er.wild.test", "/a")) == "a"  # nginx wildcard: any depth
    assert get(model, "other.test", "/b")["status"] == 404


def test_from_to_www_redirect() -> None:
    model = model_of([ingress("a", "site.test", [("/", "Prefix", "s")], {"from-to-www-redirect": "true"})])
    outcome = get(model, "www.site.test", "/foo/?x=1")
    assert outcome["status"] == 308
    assert outcome["redirect"]["location"] == "http://site.test:80/foo/?x=1"
    assert get(model, "www.site.test", "/bar/")["redirect"]["location"] == "http://site.test:80/bar"


def test_phase_order_app_root_before_redirects_before_access() -> None:
    model = model_of([ingress("a", "h.test", [("/", "Prefix", "s")], {
        "app-root": "/app", "whitelist-source-range": "10.0.0.0/8", "permanent-redirect": "/moved",
    }, tls_hosts=["h.test"])])
    assert get(model, "h.test", "/?q=1")["redirect"] == {"location": "http://h.test/app", "statusCode": 302}
    # permanent-redirect (rewrite phase) wins over the HTTPS redirect (Lua) and the allowlist
    assert get(model, "h.test", "/x", client_ip="1.1.1.1")["redirect"] == {
        "location": "http://h.test/moved", "statusCode": 301}


def test_ssl_redirect_needs_a_certificate_and_honours_exemptions() -> None:
    model = model_of([
        ingress("tls", "tls.test", [("/", "Prefix", "s"), ("/.well-known/acme-challenge", "Prefix", "acme")],
                tls_hosts=["tls.test"], created=1),
        ingress("plain", "plain.test", [("/", "Prefix", "s")], created=2),
        ingress("off", "off.test", [("/", "Prefix", "s")], {"ssl-redirect": "false"}, tls_hosts=["off.test"],
                created=3),
    ])
    assert get(model, "tls.test", "/a/")["redirect"] == {"location": "https://tls.test/a", "statusCode": 308}
    assert get(model, "tls.test", "/a/?x=1")["redirect"]["location"] == "https://tls.test/a/?x=1"
    assert get(model, "tls.test", "/.well-known/acme-challenge/t")["status"] == 200
    assert get(model, "plain.test", "/")["status"] == 200
    assert get(model, "off.test", "/")["status"] == 200
    https = get(model, "tls.test", "/", scheme="https")
    assert https["status"] == 200
    assert https["responseHeaders"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    custom = model_of([ingress("tls", "tls.test", [("/", "Prefix", "s")], tls_hosts=["tls.test"])],
                      {"http-redirect-code": "301", "ssl-redirect": "false"})
    assert get(custom, "tls.test", "/")["status"] == 200


def test_cors_preflight_short_circuits_auth() -> None:
    model = model_of([ingress("a", "h.test", [("/", "Prefix", "s")], {
        "enable-cors": "true", "cors-allow-origin": "https://*.ok.test", "auth-type": "basic", "auth-secret": "s",
    })])
    ok = get(model, "h.test", "/", method="OPTIONS", headers={"Origin": "https://a.ok.test"})
    assert ok["status"] == 204 and ok["responseHeaders"]["Access-Control-Allow-Origin"] == "https://a.ok.test"
    bad = get(model, "h.test", "/", method="OPTIONS", headers={"Origin": "https://a.b.ok.test"})
    assert bad["status"] == 401 and "Access-Control-Allow-Origin" not in bad["responseHeaders"]


def test_satisfy_any_lets_either_check_pass() -> None:
    model = model_of([ingress("a", "h.test", [("/", "Prefix", "s")], {
        "whitelist-source-range": "10.0.0.0/8", "auth-type": "basic", "auth-secret": "s", "satisfy": "any",
    })])
    assert get(model, "h.test", "/", client_ip="10.1.1.1")["status"] == 200
    assert get(model, "h.test", "/", client_ip="1.1.1.1")["status"] == 401
    assert get(model, "h.test", "/", client_ip="1.1.1.1", headers={"Authorization": "Basic eDp5"})["status"] == 200


def test_canary_attaches_to_the_upstream_everywhere() -> None:
    model = model_of([
        ingress("main", "a.test", [("/api", "Prefix", "api")], created=1),
        ingress("other", "b.test", [("/", "Prefix", "api")], created=2),
        ingress("canary", "a.test", [("/api", "Prefix", "api-canary")],
                {"canary": "true", "canary-by-header": "X-C", "canary-weight": "25"}, created=3),
    ])
    assert service(get(model, "b.test", "/", headers={"x-c": "always"})) == "api-canary"
    split = get(model, "a.test", "/api")
    assert split["weights"] == {"default/api:80": 75, "default/api-canary:80": 25}
    assert service(split) == "api"
    assert service(get(model, "a.test", "/api", headers={"X-C": "never"})) == "api"


def test_lone_canary_is_404_and_older_canary_upstream_drops_primary_paths() -> None:
    lone = model_of([ingress("c", "a.test", [("/", "Prefix", "c")], {"canary": "true"})])
    assert get(lone, "a.test", "/")["status"] == 404
    model = model_of([
        ingress("canary", "a.test", [("/", "Prefix", "shared")], {"canary": "true"}, created=1),
        ingress("main", "a.test", [("/", "Prefix", "main"), ("/x", "Prefix", "shared")], created=2),
    ])
    assert service(get(model, "a.test", "/x")) == "main"  # /x -> shared was dropped, falls to /
    assert any(n.code == "NGINX-MODEL-PATH-DROPPED" for n in model.notes)


def test_snippets_reject_the_ingress_under_the_default_risk_level() -> None:
    manifests = [ingress("a", "h.test", [("/", "Prefix", "s")], {"configuration-snippet": "more_set_headers 'A: b';"})]
    assert get(model_of(manifests), "h.test", "/")["status"] == 404
    allowed = model_of(manifests, {"annotations-risk-level": "Critical", "allow-snippet-annotations": "true"})
    assert get(allowed, "h.test", "/")["status"] == 200


def test_oldest_ingress_wins_duplicate_paths_and_name_tie_break() -> None:
    # equal timestamps: the namespace/name sorting higher is processed first
    a = ingress("a", "h.test", [("/p", "Prefix", "from-a")])
    b = ingress("b", "h.test", [("/p", "Prefix", "from-b")])
    assert service(get(model_of([a, b]), "h.test", "/p")) == "from-b"


def test_route_as_nginx_and_outcome_shape() -> None:
    outcome = route_as_nginx(resources(WORKED_EXAMPLES["ex1"]), Request.build(host="ex1.test", path="/foo/x?y=1"))
    assert set(outcome) >= {"status", "reason", "backend", "weights", "upstream", "redirect", "responseHeaders",
                            "matched"}
    assert outcome["backend"] == "ex1/svc-a:80" and outcome["weights"] == {"ex1/svc-a:80": 100}
    assert outcome["upstream"]["path"] == "/foo/x?y=1" and outcome["upstream"]["host"] == "ex1.test"
    assert outcome["matched"] == {"ingress": "ex1/a", "path": "/foo", "location": '"/foo/"'}
    json.dumps(outcome)
