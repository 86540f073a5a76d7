"""The ingress-nginx model's fast paths answer what the plain steps answer: the location
choice through per-list lookups (vs one scan per step, :func:`choose_plain`), the CORS
headers worked out once per policy, and the upstream headers built in one copy. Checked on
random location lists and URIs, and on thousands of requests through models of generated
Ingresses routed both ways (the model's compiled plans against the reference phases with
these steps done plainly; test_nginx_model_plan.py compares plans and phases more widely)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from nginx_oracle import ingress

from ing2gw.http import Headers, Request
from ing2gw.providers.ingress_nginx.model import NginxModel, pipeline
from ing2gw.providers.ingress_nginx.model.locations import (
    Choice,
    PathEntry,
    _location,
    build_locations,
    choose,
    choose_plain,
)
from ing2gw.providers.ingress_nginx.model.settings import Cors
from ing2gw.providers.ingress_nginx.model.upstream import Forwarded, request_id
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/b/c", "/api/v1", "/a.b", "/x/(.*)", "/[", "/a/b/"]
URIS = ["/", "/a", "/a/", "/a/b", "/a/bc", "/ab", "/b", "/b/c/d", "/api/v1/x", "/API/V1", "/x/y", "/a.b", "/z"]


def _view(choice: Choice) -> tuple[Any, ...]:
    match = choice.match
    return (choice.location, choice.auto_redirect, choice.unmodelled,
            None if match is None else (match.span(), match.groups()))


def test_location_choice_equals_the_plain_scans() -> None:
    """400 random location lists (static ones with their Prefix expansion, and regex-mode ones
    with a pattern the model cannot evaluate among them), 13 URIs each."""
    rng = random.Random(19)
    for _ in range(400):
        entries = [PathEntry(rng.choice(PATHS), rng.choice(["Exact", "Prefix"]), "ns/s:80", None, f"ns/i{i}")
                   for i in range(rng.randrange(1, 7))]
        locations, _, _ = build_locations(entries)
        if rng.random() < 0.3:
            locations = tuple(_location(loc.path, "~*", loc.entry, loc.copy) for loc in locations)
        for uri in URIS:
            assert _view(choose(locations, uri)) == _view(choose_plain(locations, uri)), (locations, uri)


def _plain_upstream_headers(request: Request, fwd: Forwarded, basic_auth: bool,
                            forwarded_prefix: str | None) -> Headers:
    """The template's proxy_set_header block, one header change at a time."""
    headers = request.headers
    original_for = headers.get("x-forwarded-for")
    original_host = headers.get("x-forwarded-host")
    upgrade = headers.get("upgrade")
    for name in ("proxy", "connection", "x-original-forwarded-for", "x-original-forwarded-host"):
        headers = headers.remove(name)
    if basic_auth:
        headers = headers.remove("authorization")
    if forwarded_prefix is not None:
        headers = headers.set("X-Forwarded-Prefix", forwarded_prefix)
    if upgrade:
        headers = headers.set("Connection", "upgrade")
    headers = headers.set("X-Request-ID", request_id(request))
    if fwd.client is not None:
        headers = headers.set("X-Real-IP", fwd.client).set("X-Forwarded-For", fwd.client)
    else:
        headers = headers.remove("x-real-ip").remove("x-forwarded-for")
    for name, value in [("X-Forwarded-Host", fwd.host), ("X-Forwarded-Port", fwd.port),
                        ("X-Forwarded-Proto", fwd.scheme), ("X-Forwarded-Scheme", fwd.scheme),
                        ("X-Scheme", fwd.scheme)]:
        headers = headers.set(name, value)
    if original_for:
        headers = headers.set("X-Original-Forwarded-For", original_for)
    if original_host:
        headers = headers.set("X-Original-Forwarded-Host", original_host)
    return headers


def _plain_cors_of(cors: Cors) -> Any:
    """CORS values worked out afresh for every request."""
    return (cors, pipeline._origin_pattern(cors), tuple(pipeline._cors_headers(cors, "", False)[1:]),
            tuple(pipeline._cors_headers(cors, "", True)[1:]))


HEADER_CHOICES = [
    ("Proxy", "x"), ("Connection", "keep-alive"), ("X-Forwarded-For", "10.9.9.9, 10.8.8.8"),
    ("x-forwarded-host", "front.example"), ("X-Original-Forwarded-For", "1.1.1.1"), ("Upgrade", "websocket"),
    ("Authorization", "Basic dTpw"), ("X-Real-IP", "5.5.5.5"), ("X-Request-ID", "given"),
    ("Origin", "https://app.ok.test"), ("Origin", "https://evil.test"), ("X-Forwarded-Proto", "https"),
    ("X-Scheme", "old"), ("Cookie", "c=always"), ("Accept", "*/*"), ("Content-Length", "10"),
]


def _model(config: dict[str, str]) -> NginxModel:
    manifests = [
        ingress("cors", "cors.test", [("/", "Prefix", "web"), ("/api", "Prefix", "api")], {
            "enable-cors": "true", "cors-allow-origin": "https://*.ok.test, https://b.test",
            "cors-allow-credentials": "true", "cors-expose-headers": "X-A"}, tls_hosts=["cors.test"]),
        ingress("star", "star.test", [("/", "Prefix", "web")], {"enable-cors": "true"}),
        ingress("rw", "rw.test", [("/app(/|$)(.*)", "ImplementationSpecific", "web")], {
            "use-regex": "true", "rewrite-target": "/$2", "x-forwarded-prefix": "/app"}),
        ingress("auth", "auth.test", [("/", "Prefix", "web"), ("/exact", "Exact", "api")], {
            "auth-type": "basic", "auth-secret": "s", "upstream-vhost": "$host.internal"}),
        ingress("plain", "plain.test", [("/a", "Prefix", "web"), ("/a/b", "Exact", "api"), ("/b/", "Prefix", "b")]),
        ingress("canary", "plain.test", [("/a", "Prefix", "web-next")], {"canary": "true", "canary-weight": "30",
                                                                          "canary-by-cookie": "c"}, created=5),
    ]
    rs = build_resource_set([Document(m, f"<test>:{i + 1}") for i, m in enumerate(manifests)])
    return NginxModel.from_resources(rs, config)


def _requests(count: int) -> list[Request]:
    rng = random.Random(5)
    hosts = ["cors.test", "star.test", "rw.test", "auth.test", "plain.test", "other.test"]
    paths = ["/", "/api", "/api/x", "/app", "/app/x/y", "/a", "/a/", "/a/b", "/b", "/exact", "/%61pp/z?q=1",
             "/a/../api", "/x?y=1"]
    out = []
    for _ in range(count):
        headers = rng.sample(HEADER_CHOICES, rng.randrange(0, 5))
        out.append(Request.build(host=rng.choice(hosts), path=rng.choice(paths), headers=headers,
                                 scheme=rng.choice(["http", "https"]), method=rng.choice(["GET", "OPTIONS", "POST"]),
                                 client=rng.choice([None, "10.0.0.1", "192.0.2.7"])))
    return out


@pytest.mark.parametrize("config", [{}, {"use-forwarded-headers": "true"}])
def test_model_answers_equal_the_plain_steps(monkeypatch: pytest.MonkeyPatch, config: dict[str, str]) -> None:
    """3000 requests (CORS preflights, rewrites, auth, canaries, forwarded headers) through the
    model, then through the reference phases with the location choice, CORS values and
    upstream headers done plainly."""
    model = _model(config)
    requests = _requests(3000)
    fast = [model.route(r).to_dict() for r in requests]
    monkeypatch.setattr(pipeline, "choose", choose_plain)
    monkeypatch.setattr(pipeline, "cors_of", _plain_cors_of)
    monkeypatch.setattr(pipeline, "upstream_headers", _plain_upstream_headers)
    plain = [pipeline.route(model.context, r).to_dict() for r in requests]
    assert fast == plain
    reasons = {o["reason"] for o in fast}
    assert {"Routed", "CORSPreflight", "Unauthorized", "NoMatchingRoute"} <= reasons, reasons
    assert any(o["upstream"] and "X-Forwarded-Prefix" in o["upstream"]["headers"] for o in fast)


def test_a_policy_copied_for_another_ingress_equals_replace() -> None:
    """A remembered reading handed to another Ingress (settings._for_ingress, slot by slot)
    equals dataclasses.replace of it, whatever its fields hold; and an Ingress whose backends
    name no port is kept as it is when its ports are numbered (no copy)."""
    from dataclasses import fields, replace

    from ing2gw.providers.ingress_nginx.model import numbered_ports
    from ing2gw.providers.ingress_nginx.model.settings import Policy, _for_ingress

    rng = random.Random(19)
    base = Policy(ingress="shop/web", namespace="shop")
    for _ in range(200):
        changed = {f.name: object() for f in fields(Policy) if rng.random() < 0.3 and f.name != "ingress"}
        policy = replace(base, **changed)
        copied = _for_ingress(policy, "shop/other")
        assert copied == replace(policy, ingress="shop/other") and copied is not policy
        assert all(getattr(copied, f.name) is getattr(policy, f.name) for f in fields(Policy) if f.name != "ingress")

    def named(name: str, port: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"rules": [{"host": f"{name}.example.com", "http": {"paths": [
                    {"path": "/x", "pathType": "Prefix", "backend": {"service": {"name": "svc", "port": port}}}]}}]}}

    docs = [named("a", {"number": 80}), named("b", {"name": "http"}), named("c", {"name": "other"}),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"},
             "spec": {"ports": [{"name": "http", "port": 8080}]}}]
    rs = build_resource_set([Document(d, f"<test>:{i + 1}") for i, d in enumerate(docs)])
    assert len(rs.ingresses) == 3
    for ing in rs.ingresses:
        numbered = numbered_ports(ing, rs)
        plain = replace(ing, rules=tuple(replace(r, paths=tuple(
            replace(p, backend=p.backend if p.backend is None or p.backend.port_name != "http"
                    else replace(p.backend, port_number=8080, port_name=None)) for p in r.paths))
            for r in ing.rules))
        assert numbered.rules == plain.rules and numbered.default_backend == ing.default_backend
        # nothing to number (a: its port is a number): the Ingress itself, not a copy
        assert (numbered is ing) == (numbered.rules is ing.rules) == (ing.name == "a")


def _plain_build_locations(entries: list[PathEntry]) -> tuple[tuple[Any, ...], bool, list[tuple[Any, Any]]]:
    """build_locations spelled out for one list: sort, expand, regex mode, clashes."""
    ordered = sorted(entries, key=lambda e: (len(e.path), e.path.encode()), reverse=True)
    exact_paths = {e.path for e in entries if e.path_type == "Exact"}
    shapes: list[tuple[str, bool, PathEntry, bool]] = []
    for e in ordered:
        if e.path_type == "Exact":
            shapes.append((e.path, True, e, False))
        elif e.path == "/" or e.regex:
            shapes.append((e.path, False, e, False))
        else:
            shapes.append((e.path if e.path.endswith("/") else e.path + "/", False, e, False))
            if e.path not in exact_paths:
                shapes.append((e.path, True, e, True))
    regex_mode = any(e.policy is not None and (e.policy.use_regex or e.policy.rewrites(p)) for p, _, e, _ in shapes)
    out = tuple(_location(p, "~*" if regex_mode else "=" if exact else "", e, copy) for p, exact, e, copy in shapes)
    static = [loc for loc in out if loc.modifier != "~*"]
    clashes = [(next(o for o in static if (o.modifier, o.path) == (loc.modifier, loc.path)), loc)
               for i, loc in enumerate(static) if any((o.modifier, o.path) == (loc.modifier, loc.path)
                                                      for o in static[:i])]
    return out, regex_mode, clashes


def test_servers_of_one_shape_get_the_locations_of_their_own_entries() -> None:
    """build_locations shares a layout among entry lists of one shape (paths, types, regex
    settings): 600 random lists, each built twice with entries of other Ingresses and backends
    (the second time from the shared layout), equal the plain build, entry for entry."""
    from dataclasses import replace

    from ing2gw.providers.ingress_nginx.model.settings import Policy

    rng = random.Random(5)
    policies = [None, Policy(ingress="ns/p", namespace="ns"), Policy(ingress="ns/p", namespace="ns", use_regex=True),
                Policy(ingress="ns/p", namespace="ns", rewrite_target="/a"),
                Policy(ingress="ns/p", namespace="ns", rewrite_target="/")]
    for n in range(600):
        first = [PathEntry(rng.choice(PATHS[:8]), rng.choice(["Exact", "Prefix"]), f"ns/s{i}:80",
                           rng.choice(policies), f"ns/i{i}") for i in range(rng.randrange(1, 6))]
        again = [replace(e, backend=f"ns/other{n}:80", ingress=f"ns/j{n}") for e in first]
        for entries in (first, again):
            got = build_locations(entries)
            assert got == _plain_build_locations(entries)
            assert all(any(loc.entry is e for e in entries) for loc in got[0])
