"""The model's compiled plans (:mod:`...model.plan`, what ``NginxModel.route`` runs) answer
exactly what the phase-by-phase reference (:func:`...model.pipeline.route`) answers: every
field of every outcome, notes and header order included. Checked on the inputs of the verify
goldens with verify's own probes (and variants of them with random headers, methods, schemes,
clients and slow backends), and on random Ingress sets with the annotations the plans work
out ahead (denials, custom headers, CORS, redirects, rewrite and upstream-vhost variables,
HTTPS redirects, rate limits, access checks, canaries, affinity, timeouts) under several
controller settings, with rate limits counted on both sides."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from nginx_oracle import ingress, resources_of

from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Request
from ing2gw.plugins import discover
from ing2gw.probes import ingress_probes
from ing2gw.providers.ingress_nginx.model import NginxModel, pipeline, plan
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.sources import read_paths
from ing2gw.verify import summarising, summary_of

GOLDENS = sorted(p.parent for p in (Path(__file__).parents[3] / "testdata" / "verify").glob("*/input.yaml"))

HEADERS = [
    ("Origin", "https://o.test"), ("Origin", "https://a.ok.test"), ("Origin", "https://evil.test"),
    ("Content-Length", "5000000"), ("Content-Length", "12"), ("Cookie", "c=always"), ("Cookie", "c=never; s=1"),
    ("Cookie", "route=abc"), ("X-C", "always"), ("X-C", "never"), ("X-C", "v1"), ("Authorization", "Basic dTpw"),
    ("Authorization", "Digest x"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http"),
    ("X-Forwarded-Host", "front.test, b.test"), ("X-Forwarded-Port", "8443"), ("X-Forwarded-For", "10.1.1.1, 1.1.1.1"),
    ("X-Forwarded-For", "not-an-ip"), ("X-Request-ID", "given"), ("Upgrade", "websocket"), ("Accept", "*/*"),
]
CLIENTS = [None, "127.0.0.1", "10.0.0.1", "192.0.2.7", "2001:db8::1", "nonsense"]


def _outcomes(route: Any, ctx: pipeline.Context, requests: list[Request]) -> list[dict[str, Any]]:
    return [route(ctx, r).to_dict() for r in requests]


def _variants(request: Request, rng: random.Random) -> Request:
    headers = [*((n, v) for n in request.headers for v in request.headers.get_all(n)),
               *rng.sample(HEADERS, rng.randrange(0, 4))]
    return Request.build(host=request.host, path=request.target, headers=headers,
                         scheme=rng.choice(["http", "https", request.scheme]),
                         method=rng.choice(["GET", "OPTIONS", "POST", request.method]), client=rng.choice(CLIENTS),
                         backend_delay=rng.choice([None, None, 0.5, 61.0, 400.0]))


def _assert_same(model: NginxModel, requests: list[Request]) -> None:
    fast = _outcomes(plan.route, model.context, requests)
    plain = _outcomes(pipeline.route, model.context, requests)
    for request, a, b in zip(requests, fast, plain, strict=True):
        assert a == b, request
    # rate limits counted: each side with its own counters, on the same clock
    credentials = Credentials.from_options(())
    counted = [model.enforcing(credentials, lambda: 0.0, count=True).context for _ in range(2)]
    assert _outcomes(plan.route, counted[0], requests) == _outcomes(pipeline.route, counted[1], requests)
    # verify's summaries, made by the plans without the outcomes (NginxModel.answering), are
    # those of the outcomes, and so is where each request matched
    assert callable(getattr(model, "answering", None))
    summarised = summarising(model)
    for request in requests:
        outcome = plan.route(model.context, request)
        assert summarised(request) == (summary_of(outcome), outcome.matched), request
    # and so with rate limits counted (each with its own counters)
    counting = [model.enforcing(credentials, lambda: 0.0, count=True) for _ in range(2)]
    summarised = summarising(counting[0])
    for request in requests:
        outcome = counting[1].route(request)
        assert summarised(request) == (summary_of(outcome), outcome.matched), request


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda p: p.name)
def test_plans_answer_as_the_reference_on_the_verify_goldens(golden: Path) -> None:
    rs: ResourceSet = build_resource_set(read_paths([str(golden / "input.yaml")]),
                                         kinds=list(discover().claims()))
    if not rs.ingresses:
        pytest.skip("no Ingress in this golden's input")
    dataplane = discover().data_plane("ingress-nginx")
    assert dataplane is not None
    model = dataplane.model(rs)
    assert isinstance(model, NginxModel)
    probe_paths = getattr(dataplane, "probe_paths", None)  # optional, as verify reads it
    probes = ingress_probes(rs.ingresses, dataplane.probe_headers(rs.ingresses),
                            probe_paths(rs.ingresses) if callable(probe_paths) else None)
    rng = random.Random(golden.name)
    requests = [Request.build(host=p.host, path=p.path, scheme=p.scheme, method=p.method, headers=p.headers,
                              client=p.client, port=p.port) for p in probes]
    requests += [_variants(r, rng) for r in requests for _ in range(2)]
    _assert_same(model, requests)


PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/b", "/a/(.*)", "/x/([0-9]+)/(.*)", "/a.b", "/api", "/app(/|$)(.*)"]
ANNOTATIONS: list[dict[str, str]] = [
    {}, {"use-regex": "true"}, {"rewrite-target": "/$1"}, {"rewrite-target": "/$2?x=$arg_a&h=$http_x_c"},
    {"rewrite-target": "/$1/$arg_a/$cookie_c/$http_x_c/$9"},
    {"rewrite-target": "/r/$host/$scheme/$request_uri/$uri/$args/$cookie_c/$unknown_var/$namespace/$service_name"},
    {"rewrite-target": "https://other.test/$1"}, {"rewrite-target": "/a"},
    {"permanent-redirect": "/moved"}, {"temporal-redirect": "https://t.test/x"}, {"permanent-redirect": "/m",
                                                                                  "relative-redirects": "true"},
    {"app-root": "/a"}, {"force-ssl-redirect": "true"}, {"ssl-redirect": "false"},
    {"force-ssl-redirect": "true", "use-port-in-redirects": "true", "preserve-trailing-slash": "true"},
    {"enable-cors": "true", "cors-allow-origin": "https://o.test, https://*.ok.test"}, {"enable-cors": "true"},
    {"enable-cors": "true", "cors-allow-credentials": "false", "cors-expose-headers": "X-A"},
    {"x-forwarded-prefix": "/p", "rewrite-target": "/z"},
    {"from-to-www-redirect": "true"}, {"server-alias": "alias.test"},
    {"upstream-vhost": "v.test"}, {"upstream-vhost": "$host.$namespace.$req_id.$remote_addr.$best_http_host"},
    {"canary": "true", "canary-by-header": "X-C"}, {"canary": "true", "canary-weight": "30"},
    {"canary": "true", "canary-by-header": "X-C", "canary-by-header-value": "v1"},
    {"canary": "true", "canary-by-header": "X-C", "canary-by-header-pattern": "^v"},
    {"canary": "true", "canary-by-cookie": "c", "canary-weight": "100"},
    {"allowlist-source-range": "127.0.0.1/32"}, {"denylist-source-range": "127.0.0.0/8"},
    {"allowlist-source-range": "10.0.0.0/8", "auth-type": "basic", "auth-secret": "s", "satisfy": "any"},
    {"auth-type": "basic", "auth-secret": "s"}, {"auth-type": "digest", "auth-secret": "missing"},
    {"auth-url": "http://auth.test/check", "auth-signin": "https://login.test/"},
    {"custom-headers": "default/hdrs"}, {"custom-headers": "default/missing"}, {"custom-headers": "default/bad"},
    {"limit-rps": "1", "limit-burst-multiplier": "1"}, {"limit-rpm": "2", "limit-allowlist": "127.0.0.1/32"},
    {"affinity": "cookie", "session-cookie-name": "route"}, {"affinity": "cookie", "session-cookie-path": "/s"},
    {"proxy-body-size": "8k"}, {"proxy-body-size": "0"}, {"proxy-read-timeout": "300"},
    {"configuration-snippet": "more_set_headers x;"}, {"whitelist-source-range": "bad"},
]
HOSTS = ["h1.test", "h2.test", "www.h1.test", "", "*.w.test"]
PROBE_HOSTS = ["h1.test", "h2.test", "www.h1.test", "alias.test", "a.w.test", "b.a.w.test", "other.test", "H1.test."]
PROBE_PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/A", "/b", "/x/12/z", "/a.b", "/axb", "/moved", "/api?a=1",
               "/app/q?a=2&b", "/a/%41b", "/a/b?a=3&A=4", "/a//b/../b", "/%zz", "/../x", "/a/%00", "/healthz",
               "/nginx_status", "/s"]
CONFIGS = [{}, {"use-forwarded-headers": "true"}, {"hsts": "false", "relative-redirects": "true"},
           {"no-tls-redirect-locations": "/a,/.well-known", "http-redirect-code": "301", "proxy-body-size": "10"},
           {"global-allowed-response-headers": "X-Custom"}]


def _manifests(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(rng.randint(1, 6)):
        host = rng.choice(HOSTS)
        paths = [(rng.choice(PATHS), rng.choice(["Prefix", "Exact", "ImplementationSpecific"]),
                  rng.choice(["s1", "s2", "s3"])) for _ in range(rng.randint(1, 3))]
        annotations = dict(rng.choice(ANNOTATIONS))
        for _ in range(rng.choice([0, 0, 1, 2])):
            annotations.update(rng.choice(ANNOTATIONS))
        kw: dict[str, Any] = {}
        if rng.random() < 0.3:
            kw["tls_hosts"] = [host or "x.test"]
        if rng.random() < 0.15:
            kw["default_backend"] = ("s4", 80)
        out.append(ingress(f"i{i}", host, paths, annotations, created=i, **kw))
    if rng.random() < 0.6:  # otherwise every ConfigMap is unknown (assumed to exist)
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hdrs", "namespace": "default"},
                    "data": {"X-Custom": "1"}})
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad", "namespace": "default"},
                    "data": {"X-Other": "2"}})
    if rng.random() < 0.5:  # otherwise every Secret is unknown (assumed to exist)
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                    "data": {"auth": "dTpwCg=="}})
    return out


@pytest.mark.parametrize("seed", range(60))
def test_plans_answer_as_the_reference_on_random_ingresses(seed: int) -> None:
    rng = random.Random(seed)
    model = NginxModel.from_resources(resources_of(_manifests(rng)), rng.choice(CONFIGS))
    requests = []
    for host in PROBE_HOSTS:
        for path in PROBE_PATHS:
            requests.append(Request.build(host=host, path=path, scheme=rng.choice(["http", "https"]),
                                          method=rng.choice(["GET", "OPTIONS", "POST"]),
                                          headers=rng.sample(HEADERS, rng.randrange(0, 5)),
                                          client=rng.choice(CLIENTS), port=rng.choice([None, None, 8080]),
                                          backend_delay=rng.choice([None, None, 0.5, 61.0, 400.0])))
    requests += requests[: len(requests) // 3]  # asked again: the plans are reused
    _assert_same(model, requests)


def test_enforcing_copies_share_the_plans_and_count_on_their_own() -> None:
    """A model and its enforcing copies (verify makes a fresh counting one per rate-limit
    burst) plan each host and location once; each copy still counts with its own limiter,
    and the one that does not count refuses nothing."""
    limited = ingress("limited", "l.test", [("/", "Prefix", "web")], {"limit-rps": "1", "limit-burst-multiplier": "1"})
    model = NginxModel.from_resources(resources_of([limited]))
    credentials = Credentials.from_options(())
    plain = model.enforcing(credentials, count=False)
    request = Request.build(host="l.test", path="/", client="192.0.2.7")
    assert [plain.route(request).status for _ in range(3)] == [200, 200, 200]
    planned = plan._plans(plain.context)
    copies = [model.enforcing(credentials, lambda: 0.0, count=True) for _ in range(2)]
    for copy in copies:
        assert plan._plans(copy.context) is planned
    assert [copies[0].route(request).status for _ in range(3)] == [200, 200, 503]  # rate + burst pass
    assert copies[1].route(request).status == 200  # its own counters
    assert len(planned.locations) == 1 and len(planned.hosts) == 1
