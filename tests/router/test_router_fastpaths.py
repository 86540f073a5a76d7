"""The matcher's fast paths give what the plain routing gives: a request's Gateways, listeners
and route groups are planned once per (gateway, port, scheme, SNI, hostname), Gateways that
cannot answer are skipped, and a normalised path is swapped into the request directly.
Checked on thousands of generated requests against a table where several Gateways share
ports (catch-all and per-host listeners, wildcards, TLS problems, gRPC)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from ing2gw.http import Request
from ing2gw.router import Router, matcher
from ing2gw.router.model import Gateway
from ing2gw.router.outcome import Outcome, RedirectTo
from ing2gw.router.table import Table

GW = "gateway.networking.k8s.io/v1"
HOSTS = ["a.example.com", "b.example.com", "c.example.com", "x.wild.example.com", "wild.example.com",
         "unknown.example.org", "A.Example.com:8080"]
PATHS = ["/", "/api", "/api/v1", "/other", "/pkg.Svc/Do", "/a/../api", "/a//b", "/%61pi"]


def _tls(name: str, port: int, host: str | None = None, cert: bool = True) -> dict[str, Any]:
    listener: dict[str, Any] = {"name": name, "port": port, "protocol": "HTTPS"}
    if cert:
        listener["tls"] = {"certificateRefs": [{"name": "cert"}]}
    if host:
        listener["hostname"] = host
    return listener


def _objects() -> list[dict[str, Any]]:
    http = {"name": "http", "port": 80, "protocol": "HTTP"}
    gateways = {
        "gw-a": [http, _tls("a", 443, "a.example.com"), _tls("wild", 443, "*.wild.example.com")],
        "gw-b": [http, _tls("b", 443, "b.example.com"), {"name": "alt", "port": 8080, "protocol": "HTTP"}],
        "gw-c": [http, _tls("c", 443, "c.example.com", cert=False)],
        "gw-d": [http],  # no route attaches: never answers
    }
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                   "metadata": {"name": "cert", "namespace": "ns"}}]
    for name, listeners in gateways.items():
        objs.append({"apiVersion": GW, "kind": "Gateway", "metadata": {"name": name, "namespace": "ns"},
                     "spec": {"gatewayClassName": "x", "listeners": listeners}})
    for svc in ("s1", "s2", "s3"):
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc, "namespace": "ns"},
                     "spec": {"ports": [{"port": 80}]}})

    def route(name: str, gw: str, hosts: list[str], rules: list[dict[str, Any]], kind: str = "HTTPRoute") -> None:
        objs.append({"apiVersion": GW, "kind": kind, "metadata": {"name": name, "namespace": "ns"},
                     "spec": {"parentRefs": [{"name": gw}], "hostnames": hosts, "rules": rules}})

    api = {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": [{"name": "s1", "port": 80}]}
    split = {"backendRefs": [{"name": "s1", "port": 80, "weight": 1}, {"name": "s2", "port": 80, "weight": 3}]}
    route("ra", "gw-a", ["a.example.com", "*.wild.example.com"], [api, split])
    route("rb", "gw-b", ["b.example.com"], [api])  # only /api: other paths fall through to later Gateways
    route("rc", "gw-c", [], [{"backendRefs": [{"name": "s3", "port": 80}]}])  # every host on gw-c
    route("rb2", "gw-b", ["a.example.com"], [{"matches": [{"path": {"type": "Exact", "value": "/other"}}],
                                              "backendRefs": [{"name": "missing", "port": 80}]}])
    route("g", "gw-a", ["a.example.com"], [{"matches": [{"method": {"service": "pkg.Svc"}}],
                                            "backendRefs": [{"name": "s2", "port": 80}]}], kind="GRPCRoute")
    return objs


def _route_via(gw: Gateway, request: Request, grpc: bool, note: str | None, pick: str | None) -> Outcome:
    """One Gateway, as the matcher tried each before it planned them."""
    listener, failed = matcher._select_listener(gw, request)
    notes = [note] if note else []
    if listener is None:
        assert failed is not None
        if not notes and not grpc:
            return failed
        return Outcome(failed.status, failed.reason, grpc=grpc, notes=(*notes, *failed.notes))
    return matcher._route_on(listener, listener.routes.lookup_list(request.hostname), request, grpc, notes, pick)


def _plain_candidates(table: Table, request: Request) -> tuple[list[Gateway], str | None]:
    """The Gateways a request may go to, each asked for its listener: the one named, else those
    on the port with a listener for the host (all of them when none has)."""
    if request.gateway is not None:
        gw = table.gateways.get(request.gateway)
        return ([gw], None) if gw else ([], f"Gateway {request.gateway} is not in the input")
    found = table.by_port.get(request.port)
    if found:
        host = request.sni if request.scheme == "https" and request.sni else request.hostname
        serving = [gw for gw in found if gw.ports[request.port].best(host) is not None]
        return serving or list(found), None
    if not table.gateways:
        return [], "the input has no Gateway"
    return [], f"no Gateway listens on port {request.port}"


def _plain(table: Table, request: Request, backend: str | None) -> Outcome:
    """Routing as the spec reads: every candidate Gateway tried in order, each from scratch."""
    grpc = matcher._is_grpc(request)
    gateways, note = _plain_candidates(table, request)
    if not gateways:
        if table.gateways:
            return Outcome(None, "ConnectionRefused", grpc=grpc, notes=(note,) if note else ())
        return Outcome(404, "NoMatchingListener", grpc=grpc, notes=(note,) if note else ())
    if len(gateways) == 1:
        return _route_via(gateways[0], request, grpc, note, backend)
    names = ", ".join(gw.name for gw in gateways)
    first: Outcome | None = None
    for gw in gateways:
        note = (f"several Gateways listen on port {request.port} ({names}); routed through "
                f"{gw.name} (name one with --gateway)")
        outcome = _route_via(gw, request, grpc, note, backend)
        if outcome.reason not in matcher._UNMATCHED:
            return outcome
        first = first or outcome
    assert first is not None
    return first


def _requests(count: int) -> list[tuple[Request, str | None]]:
    rng = random.Random(19)
    out = []
    for _ in range(count):
        scheme = rng.choice(["http", "https"])
        headers = {"content-type": "application/grpc"} if rng.random() < 0.2 else {}
        request = Request.build(
            host=rng.choice(HOSTS), path=rng.choice(PATHS), scheme=scheme, headers=headers,
            port=rng.choice([None, None, 80, 443, 8080, 9999]),
            sni=rng.choice([None, None, "a.example.com", "c.example.com"]) if scheme == "https" else None,
            gateway=rng.choice([None, None, None, "ns/gw-b", "ns/missing"]))
        out.append((request, rng.choice([None, None, "ns/s2:80", "ns/s1:80"])))
    return out


def test_planned_routing_equals_trying_every_gateway() -> None:
    """5000 requests, each routed twice (the second time from the remembered plan), give the
    outcomes that trying every candidate Gateway in order gives."""
    router = Router.from_manifests(_objects())
    table = router.table
    reasons = set()
    for request, backend in _requests(5000):
        normalised = matcher.STANDARD.normalise(request.path)
        if normalised.redirect:
            continue
        plain_request = dataclasses.replace(request, path=normalised.path)
        expected = _plain(table, plain_request, backend)
        for _ in range(2):
            assert matcher.route_normalised(table, plain_request, backend) == expected, request
        reasons.add(expected.reason)
    # the table exercises every way a Gateway answers or declines
    assert {"Routed", "NoMatchingRoute", "NoMatchingListener", "ConnectionRefused", "TLSHandshakeFailed",
            "MisdirectedRequest", "ProtocolMismatch", "BackendNotFound"} <= reasons


def test_with_path_equals_dataclasses_replace() -> None:
    for request, _ in _requests(500):
        for path in ("/", "/x/y", request.path + "/z"):
            swapped = request.with_path(path)
            assert swapped == dataclasses.replace(request, path=path)
            assert [getattr(swapped, f.name) for f in dataclasses.fields(Request)] == [
                getattr(dataclasses.replace(request, path=path), f.name) for f in dataclasses.fields(Request)]


def _random_objects(rng: random.Random) -> list[dict[str, Any]]:
    """Several Gateways sharing ports 80 and 443, with catch-all, per-host and wildcard
    listeners (some without a certificate), and routes attached to some of them only."""
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                   "metadata": {"name": "cert", "namespace": "ns"}},
                                  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1", "namespace": "ns"},
                                   "spec": {"ports": [{"port": 80}]}}]
    hosts = ["a.example.com", "b.example.com", "*.wild.example.com", "x.wild.example.com", "c.example.org"]
    for g in range(rng.randrange(2, 9)):
        listeners: list[dict[str, Any]] = []
        if rng.random() < 0.8:
            listeners.append({"name": "http", "port": 80, "protocol": "HTTP"})
            if rng.random() < 0.3:  # no Namespace in the input: routes attach with a note
                listeners[-1]["allowedRoutes"] = {"namespaces": {"from": "Selector",
                                                                 "selector": {"matchLabels": {"team": "a"}}}}
        for k, host in enumerate(rng.sample(hosts, rng.randrange(0, 3))):
            listeners.append(_tls(f"h{k}", 443, host, cert=rng.random() < 0.85))
            if rng.random() < 0.3:
                listeners.append({"name": f"p{k}", "port": 80, "protocol": "HTTP", "hostname": host})
        if rng.random() < 0.2:
            listeners.append(_tls("any", 443))
        if not listeners:
            listeners.append({"name": "http", "port": 80, "protocol": "HTTP"})
        ports = {ls["port"] for ls in listeners}
        if rng.random() < 0.3:  # the other protocol on a port other Gateways share
            listeners.append({"name": "odd", "port": 443, "protocol": "HTTP"} if 443 not in ports
                             else _tls("odd", 80) if 80 not in ports else _tls("odd", 8443))
        objs.append({"apiVersion": GW, "kind": "Gateway", "metadata": {"name": f"gw-{g}", "namespace": "ns"},
                     "spec": {"gatewayClassName": "x", "listeners": listeners}})
        for r in range(rng.randrange(0, 3)):
            path = rng.choice(["/", "/api", "/other"])
            objs.append({"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": f"r-{g}-{r}", "namespace": "ns"},
                         "spec": {"parentRefs": [{"name": f"gw-{g}"}],
                                  "hostnames": rng.sample(hosts, rng.randrange(0, 3)),
                                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}],
                                             "backendRefs": [{"name": "s1", "port": 80}]}]}})
    return objs


def test_planned_routing_equals_trying_every_gateway_on_random_tables() -> None:
    """On 60 random tables of up to 8 Gateways sharing ports (most of them without routes for
    a host, which planning does not look at), every request gives what trying every candidate
    Gateway in order gives."""
    rng = random.Random(4)
    hosts = ["a.example.com", "b.example.com", "x.wild.example.com", "y.x.wild.example.com", "c.example.org",
             "none.example.net"]
    reasons = set()
    noted = 0
    for _ in range(60):
        table = Router.from_manifests(_random_objects(rng)).table
        for _ in range(150):
            scheme = rng.choice(["http", "https"])
            request = Request.build(host=rng.choice(hosts), path=rng.choice(["/", "/api/x", "/other"]),
                                    scheme=scheme, port=rng.choice([None, None, 80, 443]),
                                    sni=rng.choice([None, None, rng.choice(hosts)]) if scheme == "https" else None)
            expected = _plain(table, request, None)
            assert matcher.route_normalised(table, request, None) == expected, request
            assert matcher.route_normalised(table, request, None) == expected, request
            reasons.add(expected.reason)
            noted += expected.served and any(n.startswith("assumed Namespace") for n in expected.notes)
    assert {"Routed", "NoMatchingRoute", "NoMatchingListener", "TLSHandshakeFailed", "MisdirectedRequest",
            "ProtocolMismatch"} <= reasons
    assert noted  # some routed requests carry their route's attachment notes


def _plain_serve(entry: Any, request: Request, listener: Any, grpc: bool, notes: list[str],
                 pick: str | None = None) -> Outcome:
    """A matched rule served as the spec reads: its filters in order on the request (each worked
    out afresh), then its backend's, then the response headers."""
    from ing2gw.router import filters as fx
    from ing2gw.router.outcome import MirrorTarget, RedirectTo, Upstream

    info, rule = entry.info, entry.rule
    if pick is not None and pick != info.backend and any(b.key == pick for b in rule.backends):
        info = dataclasses.replace(info, backend=pick)
    else:
        pick = None
    host, path, headers = request.host, request.path, request.headers
    mods: list[Any] = []
    cors: list[tuple[str, str]] = []
    mirrors: list[MirrorTarget] = []
    extensions: list[str] = []

    def answer(status: int | None, reason: str, **kw: Any) -> Outcome:
        return Outcome(status, reason, info, kw.get("served", False), kw.get("upstream"), kw.get("redirect"),
                       kw.get("response", matcher._NO_HEADERS), tuple(mirrors), tuple(extensions), grpc, tuple(notes))

    def run(filters: tuple[Any, ...]) -> Outcome | None:
        nonlocal host, path, headers
        for f in filters:
            if f.request_headers is not None:
                headers = fx.apply_header_modifier(headers, f.request_headers)
            elif f.redirect is not None:
                location = fx.redirect_location(request, f.redirect, listener.port, rule.prefix)
                return answer(f.redirect.status, "Redirect", redirect=RedirectTo(location, f.redirect.status))
            elif f.rewrite is not None:
                host = f.rewrite.hostname or host
                if f.rewrite.path is not None:
                    path = fx.modify_path(path, f.rewrite.path, rule.prefix)
            elif f.mirror is not None:
                mirrors.append(MirrorTarget(f.mirror.backend, f.mirror.percent, f.mirror.problem))
            elif f.cors is not None:
                if fx.is_preflight(request):
                    return answer(200, "CORSPreflight", response=fx.cors_preflight_headers(f.cors, request))
                cors.extend(fx.cors_actual_headers(f.cors, request))
            elif f.response_headers is not None:
                mods.append(f.response_headers)
            elif f.extension is not None:
                extensions.append(f.extension)
                if f.problem is not None:
                    notes.append(f.problem)
                    return answer(500, "ExtensionRefUnresolved")
        return None

    ended = run(rule.filters)
    if ended is not None:
        return ended
    backend = rule.chosen if pick is None else next(b for b in rule.backends if b.key == pick)
    if not rule.backends or backend is None:
        notes.append("the rule has no backendRefs" if not rule.backends
                     else "every backendRef of the rule has weight 0")
        return answer(500, "NoBackends")
    if backend.problem is not None:
        notes.append(f"backend {backend.key}: {backend.detail}")
        return answer(500, backend.problem)
    if len(rule.weights) > 1:
        notes.append(f"traffic split: the largest share goes to {backend.key}")
    ended = run(backend.filters)
    if ended is not None:
        return ended
    response = request.response_headers or matcher._NO_HEADERS
    for name, value in cors:
        response = response.set(name, value)
    for mod in mods:
        response = fx.apply_header_modifier(response, mod)
    target = f"{path}?{request.query}" if request.query else path
    return answer(200, "Routed", served=True, upstream=Upstream(request.method, host, target, headers),
                  response=response)


def _filter_objects(rng: random.Random) -> list[dict[str, Any]]:
    """One Gateway, routes whose rules and backendRefs carry random filters."""
    objs: list[dict[str, Any]] = [
        {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
         "spec": {"gatewayClassName": "x", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}]
    for svc in ("s1", "s2"):
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc, "namespace": "ns"},
                     "spec": {"ports": [{"port": 80}]}})
    header_mod = {"set": [{"name": "X-Set", "value": "1"}], "add": [{"name": "x-add", "value": "2"}],
                  "remove": ["x-gone"]}
    cors = {"allowOrigins": ["https://a.test", "https://*.b.test"], "allowMethods": ["GET", "PUT"],
            "allowHeaders": ["x-h"], "exposeHeaders": ["x-e"], "allowCredentials": True, "maxAge": 60}
    choices = [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": header_mod},
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": header_mod},
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [{"name": "x-r", "value": "3"}]}},
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}},
        {"type": "RequestRedirect", "requestRedirect": {"hostname": "r.test", "port": 8080,
                                                        "path": {"type": "ReplacePrefixMatch",
                                                                 "replacePrefixMatch": "/new"}}},
        {"type": "URLRewrite", "urlRewrite": {"hostname": "w.test", "path": {"type": "ReplacePrefixMatch",
                                                                              "replacePrefixMatch": "/v2"}}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "s2", "port": 80}, "percent": 10}},
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "gone", "port": 80}}},
        {"type": "CORS", "cors": cors},
        {"type": "CORS", "cors": {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]}},
        {"type": "ExtensionRef", "extensionRef": {"group": "x.io", "kind": "Thing", "name": "t"}},
    ]
    for r in range(30):
        rules = []
        for k in range(3):
            backends = [{"name": rng.choice(["s1", "s2", "s1", "missing"]), "port": 80,
                         "weight": rng.choice([1, 3, 1, 0]), "filters": rng.sample(choices[:3], rng.randrange(0, 2))}
                        for _ in range(rng.choice([0, 1, 1, 2]))]
            rule_filters = rng.sample(choices, rng.randrange(0, 4))
            if any(f["type"] == "RequestRedirect" for f in rule_filters):
                backends = []
            rules.append({"matches": [{"path": {"type": "PathPrefix", "value": f"/p{k}"}}],
                          "filters": rule_filters, "backendRefs": backends})
        objs.append({"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": f"r{r}", "namespace": "ns"},
                     "spec": {"parentRefs": [{"name": "gw"}], "hostnames": [f"h{r}.test"], "rules": rules}})
    return objs


def test_served_filters_equal_running_each_afresh(monkeypatch: Any) -> None:
    """Rules with random filters (header modifiers, redirects, rewrites, mirrors, CORS,
    ExtensionRefs; on rules and backendRefs) serve 6000 requests -- preflights, origins allowed
    and not, backend answers with headers or without, picked backends -- as running every filter
    afresh does (the matcher remembers CORS answers, mirrors and response headers, and skips its
    state for a redirect first)."""
    rng = random.Random(31)
    router = Router.from_manifests(_filter_objects(rng), strict_refs=True)
    requests = []
    for _ in range(6000):
        headers: dict[str, str] = {}
        if rng.random() < 0.5:
            headers["origin"] = rng.choice(["https://a.test", "https://x.b.test", "http://evil.test"])
        if rng.random() < 0.3:
            headers["access-control-request-method"] = rng.choice(["PUT", "DELETE"])
            headers["access-control-request-headers"] = rng.choice(["x-h", "x-h, x-other"])
        if rng.random() < 0.2:
            headers["x-gone"] = "1"
        response = rng.choice([None, None, {"x-r": "0", "content-type": "text/plain"}])
        requests.append((Request.build(host=f"h{rng.randrange(30)}.test",
                                       path=rng.choice(["/p0/a", "/p1", "/p2/x/y?q=1"]),
                                       method=rng.choice(["GET", "OPTIONS"]), headers=headers,
                                       response_headers=response),
                         rng.choice([None, None, "ns/s2:80", "ns/s1:80"])))
    fast = [matcher.route_normalised(router.table, r, pick) for r, pick in requests]
    monkeypatch.setattr(matcher, "_serve", _plain_serve)
    plain = [matcher.route_normalised(router.table, r, pick) for r, pick in requests]
    assert fast == plain
    assert [o.response_headers.as_dict() for o in fast] == [o.response_headers.as_dict() for o in plain]
    reasons = {o.reason for o in plain}
    assert {"Routed", "Redirect", "CORSPreflight", "ExtensionRefUnresolved", "NoBackends"} <= reasons
    assert any(o.mirrors for o in plain) and any("access-control-allow-origin" in o.response_headers for o in plain)


# -- the whole router against a plain one ---------------------------------------------------------
# Router.route takes fast paths (path verdicts remembered per policy, plans found by hostname
# with the single listener's matches scanned inline, simple and passive rules served inline, the
# guard's rules with nothing attached skipped): a router without any of them must agree.


def _plain_via(gw: Gateway, request: Request, grpc: bool, note: str | None, pick: str | None) -> Outcome:
    """One Gateway: its listener, then every entry of the host's groups tried in order (their
    lists, not the matcher's tuples), the winner served by :func:`_plain_serve`."""
    listener, failed = matcher._select_listener(gw, request)
    notes = [note] if note else []
    if listener is None:
        assert failed is not None
        if not notes and not grpc:
            return failed
        return Outcome(failed.status, failed.reason, grpc=grpc, notes=(*notes, *failed.notes))
    groups = listener.routes.lookup_list(request.hostname)
    use_grpc = grpc and any(g.grpc for g in groups)
    for entry in [e for g in groups for e in (g.grpc if use_grpc else g.http)]:
        rule = entry.info.matched
        if entry.match.broken is not None:
            notes.append(f"{rule.kind} {rule.route} rule {rule.rule}: {entry.match.broken}; match skipped")
        elif entry.match.matches(request.path, request.method, request.headers, request.query_params):
            notes.extend(entry.notes)
            return _plain_serve(entry, request, listener, grpc, notes, pick)
    notes.append(f"no route attached to listener {listener.name} of Gateway {listener.gateway} "
                 f"matches {request.method} {request.hostname}{request.path}")
    return Outcome(404, "NoMatchingRoute", grpc=grpc, notes=tuple(notes))


def _plain_route(router: Router, request: Request, pick: str | None) -> Outcome:
    """Router.route without a fast path: the path normalised afresh, every candidate Gateway
    tried in order, each match tried, each filter run, every policy looked at."""
    from ing2gw.router.paths import BadPath

    grpc = (request.headers.get("content-type") or "").lower().startswith("application/grpc")
    policy, raw = router.path_policy, request.path
    try:
        norm = policy.normalise(raw)
    except BadPath as exc:
        return Outcome(400, "BadRequestPath", grpc=grpc, notes=(str(exc),))
    note = f"path {raw} normalised to {norm.path} ({policy.name} policy)"
    if norm.redirect and norm.path != raw:
        target = f"{norm.path}?{request.query}" if request.query else norm.path
        return Outcome(307, "PathNormalised", redirect=RedirectTo(f"{request.scheme}://{request.host}{target}", 307),
                       grpc=grpc, notes=(f"{note}: the client is sent there, escaped slashes decoded",))
    routed = dataclasses.replace(request, path=norm.path)
    table = router.table
    gateways, first_note = _plain_candidates(table, routed)
    if not gateways:
        reason = ("ConnectionRefused", None) if table.gateways else ("NoMatchingListener", 404)
        outcome = Outcome(reason[1], reason[0], grpc=grpc, notes=(first_note,) if first_note else ())
    elif len(gateways) == 1:
        outcome = _plain_via(gateways[0], routed, grpc, first_note, pick)
    else:
        names = ", ".join(gw.name for gw in gateways)
        tried = [_plain_via(gw, routed, grpc, f"several Gateways listen on port {routed.port} ({names}); "
                            f"routed through {gw.name} (name one with --gateway)", pick) for gw in gateways]
        outcome = next((o for o in tried if o.reason not in matcher._UNMATCHED), tried[0])
    if norm.path != raw:
        outcome = outcome._replace(notes=(note, *outcome.notes))
    if router.guard is not None:
        outcome = router.guard.enforce(request, router.guard.cors(request, outcome))
    return outcome


def _match(rng: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    kind = rng.choice(["Exact", "PathPrefix", "PathPrefix", "RegularExpression", None])
    if kind is not None:
        value = {"Exact": rng.choice(["/p0", "/p1/x", "/"]), "PathPrefix": rng.choice(["/p0", "/p1", "/", "/p2/x"]),
                 "RegularExpression": rng.choice(["/p[0-9]+.*", "/(?=p)x", "/p1/.+"])}[kind]  # (?=: not RE2
        match["path"] = {"type": kind, "value": value}
    if rng.random() < 0.2:
        match["method"] = rng.choice(["GET", "POST", "OPTIONS"])
    if rng.random() < 0.25:
        match["headers"] = [rng.choice([{"name": "X-H", "value": "1"},
                                        {"name": "x-h", "type": "RegularExpression", "value": "[0-9]"}])]
    if rng.random() < 0.15:
        match["queryParams"] = [{"name": "q", "value": "1"}]
    return match


def _mixed_objects(rng: random.Random) -> list[dict[str, Any]]:
    """Gateways sharing ports (some HTTPS listeners without a certificate), routes of every
    kind of match (broken regexes too) and random filters, GRPCRoutes."""
    objs = [o for o in _filter_objects(rng) if o["kind"] != "HTTPRoute"]
    objs.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                 "metadata": {"name": "cert", "namespace": "ns"}})
    choices = [f for o in _filter_objects(random.Random(rng.random())) if o["kind"] == "HTTPRoute"
               for r in o["spec"]["rules"] for f in r["filters"]]
    gateways = [o["metadata"]["name"] for o in objs if o["kind"] == "Gateway"]
    for g in range(rng.randrange(0, 3)):
        listeners = [{"name": "http", "port": 80, "protocol": "HTTP"},
                     _tls("tls", 443, rng.choice([None, "a.test", "*.w.test"]), cert=rng.random() < 0.8),
                     _tls("b", 443, "b.test")]
        objs.append({"apiVersion": GW, "kind": "Gateway", "metadata": {"name": f"gw{g}", "namespace": "ns"},
                     "spec": {"gatewayClassName": "x", "listeners": listeners}})
        gateways.append(f"gw{g}")
    for r in range(rng.randrange(1, 14)):
        grpc = rng.random() < 0.15
        rules = []
        for _ in range(rng.randrange(1, 4)):
            backends = [{"name": rng.choice(["s1", "s2", "s1", "missing"]), "port": 80,
                         "weight": rng.choice([1, 1, 3, 0])} for _ in range(rng.choice([0, 1, 1, 1, 2]))]
            if grpc:
                rules.append({"matches": [{"method": {"service": rng.choice(["pkg.Svc", "other.Svc"])}}],
                              "backendRefs": backends})
                continue
            filters = rng.sample(choices, min(len(choices), rng.choice([0, 1, 1, 2, 3, 4])))
            if len({f["type"] for f in filters}) < len(filters):
                filters = filters[:1]
            if any(f["type"] == "RequestRedirect" for f in filters):
                backends = []
            rules.append({"matches": [_match(rng) for _ in range(rng.choice([0, 1, 1, 2]))],
                          "filters": filters, "backendRefs": backends})
        hostnames = rng.sample(["a.test", "b.test", "*.w.test", "x.w.test"], rng.randrange(0, 3))
        parents = rng.sample(gateways, min(len(gateways), rng.randrange(1, 3)))
        objs.append({"apiVersion": GW, "kind": "GRPCRoute" if grpc else "HTTPRoute",
                     "metadata": {"name": f"r{r}", "namespace": "ns"},
                     "spec": {"parentRefs": [{"name": gw} for gw in parents],
                              "hostnames": hostnames, "rules": rules}})
    return objs


def _mixed_requests(rng: random.Random, count: int) -> list[tuple[Request, str | None]]:
    out = []
    for _ in range(count):
        headers: dict[str, str] = {}
        for name, values, chance in (("origin", ["https://a.test", "https://x.b.test", "http://evil.test"], 0.4),
                                     ("access-control-request-method", ["PUT", "GET"], 0.3),
                                     ("X-H", ["1", "2", "x"], 0.3),
                                     ("content-type", ["application/grpc", "application/grpc+proto", "text/plain"],
                                      0.15)):
            if rng.random() < chance:
                headers[name] = rng.choice(values)
        method = rng.choice(["GET", "GET", "POST", "OPTIONS"])
        if method == "OPTIONS" and rng.random() < 0.7:  # a preflight
            headers.update({"origin": "https://a.test", "access-control-request-method": "PUT"})
        scheme = rng.choice(["http", "http", "https"])
        path = rng.choice(["/", "/p0", "/p0/a", "/p1/x", "/p1/x/y", "/p2/x/z", "/pkg.Svc/Do", "/other.Svc/M", "/p12",
                           "/a/../p0", "/p1//x", "/%70%31/x", "/p0%2Fa", "/%zz", "/p0%00", "/x\\..\\p1"])
        query = rng.choice(["", "", "?q=1", "?q=2&q=1", "?a=b"])
        out.append((Request.build(
            host=rng.choice(["a.test", "B.test", "b.test:8080", "x.w.test", "y.x.w.test", "c.test", "h1.test"]),
            path=path + query, method=method, scheme=scheme, headers=headers,
            port=rng.choice([None, None, None, 80, 443, 8080]),
            sni=rng.choice([None, None, "a.test", "x.w.test"]) if scheme == "https" else None,
            gateway=rng.choice([None, None, None, None, "ns/gw", "ns/gw0"]),
            response_headers=rng.choice([None, None, {"x-r": "0"}])),
            rng.choice([None, None, None, "ns/s2:80", "ns/s1:80"])))
    return out


def test_router_equals_a_plain_router_on_random_tables() -> None:
    """On 80 random tables, every request (paths to normalise, refuse and redirect included,
    each routed three times: plans and verdicts remembered after the first) gives what the
    plain router gives, under two path policies, with and without a guard."""
    from ing2gw.enforce.guard import Guard, policy_index
    from ing2gw.router.paths import PathPolicy

    rng = random.Random(1919)
    reasons: set[str] = set()
    passive = simple = 0
    for n in range(80):
        objs = _mixed_objects(rng)
        router = Router.from_manifests(objs, path_policy=PathPolicy("keep", escaped_slashes="keep")
                                       if n % 3 == 0 else matcher.STANDARD)
        if n % 2:
            router = router.with_guard(Guard(policy_index(objs)))
        requests = _mixed_requests(rng, 150)
        expected = [_plain_route(router, r, pick) for r, pick in requests]
        for _ in range(3):
            got = [router.route(r, pick) for r, pick in requests]
            assert got == expected
            # (Headers compare regardless of order and spelling: the JSON shows both)
            assert [list(o.response_headers.as_dict().items()) for o in got] == [
                list(o.response_headers.as_dict().items()) for o in expected]
        reasons |= {o.reason for o in expected}
        reasons |= {f"{o.reason} with mirrors" for o in expected if o.mirrors}
        rules = {id(e.rule): e.rule for gw in router.table.gateways.values() for idx in gw.ports.values()
                 for ls in idx.values() for g in ls.routes.values() for e in g.http}
        passive += sum(r.passive is not None for r in rules.values())
        simple += sum(r.simple for r in rules.values())
    assert passive > 50 and simple > 50
    assert {"Routed", "Redirect", "CORSPreflight", "NoMatchingRoute", "NoMatchingListener", "BadRequestPath",
            "PathNormalised", "BackendNotFound", "NoBackends", "TLSHandshakeFailed", "MisdirectedRequest",
            "CORSPreflight with mirrors", "Routed with mirrors"} <= reasons


def test_router_equals_a_plain_router_on_the_conformance_cases() -> None:
    """Every request of the Gateway API conformance tables, on its case's objects."""
    from support import SHARED

    from ing2gw.sources import read_paths

    conformance = SHARED / "gateway-api" / "conformance"
    if not conformance.is_dir():
        pytest.skip("shared/ reference data missing")
    import json

    cases = [*json.loads((conformance / "cases.json").read_text()),
             *json.loads((conformance / "grpc-cases.json").read_text())]
    routers: dict[str, Router] = {}
    compared = 0
    for case in cases:
        manifest = case["manifest"]
        if manifest not in routers:
            routers[manifest] = Router.from_manifests(read_paths([str(conformance / "manifests" / "manifests.yaml"),
                                                                  str(conformance / "manifests" / manifest)]))
        r = case["request"]
        if "service" in r:  # gRPC
            request = Request.build(host=r.get("authority") or "192.0.2.10", path=f"/{r['service']}/{r['method']}",
                                    method="POST", port=case["port"], gateway=case["gateway"],
                                    headers={"content-type": "application/grpc", **(r.get("metadata") or {})})
        else:
            request = Request.build(host=r.get("host") or "192.0.2.10", path=r["path"], method=r["method"],
                                    scheme=r["scheme"], port=case["port"], headers=r.get("headers") or {},
                                    sni=r.get("sni"), gateway=case["gateway"],
                                    response_headers=r.get("echoSetResponseHeaders"))
        router = routers[manifest]
        expected = _plain_route(router, request, None)
        assert router.route(request) == expected, case
        assert router.route(request) == expected, case
        compared += 1
    assert compared == len(cases) > 200


def test_hosts_with_routes_made_alike_share_the_match_memo(monkeypatch: Any) -> None:
    """Hosts whose routes have the same matches share one memo of which match takes a path (one
    per matches tuple, none for matches reading more than the path); with a memo emptied every
    few paths, requests alternating over the hosts and their paths still get the plain router's
    outcomes, each host its own route's rule."""
    monkeypatch.setattr(matcher, "_MATCH_MEMO", 3)
    objs: list[dict[str, Any]] = [
        {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
         "spec": {"gatewayClassName": "x", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ns"},
         "spec": {"ports": [{"port": 80}]}}]
    rules = [{"matches": [{"path": {"type": "Exact", "value": "/x"}}, {"path": {"type": "PathPrefix", "value": "/api"}},
                          {"path": {"type": "RegularExpression", "value": "/r[0-9]+"}}],
              "backendRefs": [{"name": "s", "port": 80}]},
             {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "method": "GET"}],
              "backendRefs": [{"name": "s", "port": 80}]}]
    hosts = [f"h{i}.test" for i in range(6)]
    for i, host in enumerate(hosts):
        # the odd hosts' routes lack the last rule, whose match reads the method: theirs are memoised
        objs.append({"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": f"r{i}", "namespace": "ns"},
                     "spec": {"parentRefs": [{"name": "gw"}], "hostnames": [host],
                              "rules": rules if i % 2 == 0 else rules[:1]}})
    router = Router.from_manifests(objs)
    rng = random.Random(7)
    requests = [Request.build(host=rng.choice(hosts), method=rng.choice(["GET", "POST"]),
                              path=rng.choice(["/x", "/x/y", "/api", "/api/v1", "/apis", "/r12", "/r1x", "/", "/z"]))
                for _ in range(600)]
    got = [router.route(r) for r in requests]
    assert got == [_plain_route(router, r, None) for r in requests]
    assert {o.rule.matched.route for o in got if o.rule is not None} == {f"ns/r{i}" for i in range(6)}
    assert {o.reason for o in got} == {"Routed", "NoMatchingRoute"}
    memos = [(matches, memo) for matches, memo in router.table.match_memos.values() if memo is not None]
    assert len(memos) == 1 and len(memos[0][0]) == 3 and 0 < len(memos[0][1]) <= 3
    assert len(router.table.match_memos) == 2  # (the even hosts' matches: remembered as having no memo)
