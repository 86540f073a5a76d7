"""The F5 NGINX model against real nginx serving the controller's configuration, written from
the Ingresses by :mod:`ing2gw.providers.f5_nginx.nginxconf` (not from the model).

For each Ingress set, every request from a generated list -- each location's path, one
character and one segment longer, without its trailing slash, in other case, an unknown host,
over HTTP and HTTPS, with X-Forwarded-Proto http -- gets the same status, redirect, location,
Service, upstream URI and Host, and HSTS header from both. Request bodies just under and over
each ``client_max_body_size`` (annotation, ConfigMap, NGINX's 1m where no location answers) get
the same 413s; a burst from one client gets the same ``limit_req`` refusals from nginx and from
the counting model. Skipped, with the reason, when nginx or openssl is not installed.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Request
from ing2gw.providers.f5_nginx.model import F5Model
from ing2gw.providers.f5_nginx.oracle import F5Oracle, disagreement
from ing2gw.providers.ingress_nginx.oracle import NginxOracle, nginx_binary
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document, parse_documents

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="the nginx binary is not installed")


def _ingress(name: str, host: str, paths: list[tuple[str, str, str]], annotations: dict[str, str] | None = None,
             *, tls: bool = False, created: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": host, "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": svc, "port": {"number": 80}}}}
        for p, t, svc in paths]}}]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": f"{name}-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations or {},
                         "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z"}, "spec": spec}


SETS: dict[str, list[dict[str, Any]]] = {
    "prefix-exact-character": [
        _ingress("cafe", "cafe.example.com", [("/tea", "Prefix", "tea"),
                                               ("/coffee", "ImplementationSpecific", "coffee"),
                                               ("/menu", "Exact", "menu"), ("/juice/", "Prefix", "juice")]),
    ],
    "regex-beats-prefix": [
        _ingress("plain", "cafe.example.com", [("/coffee/special", "Prefix", "special")]),
        _ingress("regex", "other.example.com", [("/coffee/[a-z]+", "ImplementationSpecific", "rx")],
                 {"nginx.org/path-regex": "case_insensitive"}),
        _ingress("mixed", "mixed.example.com", [("/api/v1", "Prefix", "v1"),
                                                 ("/api/.*/x", "ImplementationSpecific", "x")],
                 {"nginx.org/path-regex": "case_sensitive"}),
    ],
    "tls-redirect-hsts-app-root": [
        _ingress("secure", "secure.example.com", [("/", "Prefix", "web")],
                 {"nginx.org/hsts": "true", "nginx.org/hsts-include-subdomains": "true",
                  "nginx.org/app-root": "/home"}, tls=True),
        _ingress("open", "open.example.com", [("/", "Prefix", "web")],
                 {"nginx.org/ssl-redirect": "false", "nginx.org/http-redirect-code": "308"}, tls=True),
        _ingress("lb", "lb.example.com", [("/", "Prefix", "web")],
                 {"nginx.org/redirect-to-https": "true", "nginx.org/http-redirect-code": "302"}),
    ],
    "rewrites": [
        _ingress("rw", "rw.example.com", [("/tea", "Prefix", "tea"), ("/coffee/", "Prefix", "coffee"),
                                           ("/exact", "Exact", "tea")],
                 {"nginx.org/rewrites": "serviceName=tea rewrite=/drinks;serviceName=coffee rewrite=/beans/"}),
        _ingress("rt", "rt.example.com", [("/(latte|mocha)", "ImplementationSpecific", "cup")],
                 {"nginx.org/path-regex": "case_sensitive", "nginx.org/rewrite-target": "/drinks/$1"}),
    ],
    "mergeable-and-host-collision": [
        _ingress("master", "cafe.example.com", [], {"nginx.org/mergeable-ingress-type": "master",
                                                    "nginx.org/path-regex": "case_sensitive",
                                                    "nginx.org/proxy-read-timeout": "30s"}, tls=True),
        _ingress("coffee", "cafe.example.com", [("/coffee", "Prefix", "coffee")],
                 {"nginx.org/mergeable-ingress-type": "minion"}, created=1),
        _ingress("tea", "cafe.example.com", [("/tea/[0-9]+", "Prefix", "tea")],
                 {"nginx.org/mergeable-ingress-type": "minion", "nginx.org/path-regex": "case_sensitive"}, created=2),
        _ingress("first", "shared.example.com", [("/a", "Prefix", "first")], created=3),
        _ingress("second", "shared.example.com", [("/b", "Prefix", "second")], created=4),
        _ingress("guarded", "auth.example.com", [("/", "Prefix", "private")],
                 {"nginx.org/basic-auth-secret": "users", "nginx.org/basic-auth-realm": "staff"}, created=5),
    ],
}


BODY_SET: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nginx-config", "namespace": "nginx-ingress"},
     "data": {"client-max-body-size": "4k"}},
    _ingress("small", "small.example.com", [("/upload", "Prefix", "files"), ("/files/", "Prefix", "files")],
             {"nginx.org/client-max-body-size": "2k"}),
    _ingress("unlimited", "off.example.com", [("/", "Prefix", "web")], {"nginx.org/client-max-body-size": "0"}),
    _ingress("configured", "dflt.example.com", [("/", "Prefix", "web")]),
    _ingress("guarded", "auth.example.com", [("/", "Prefix", "private")],
             {"nginx.org/basic-auth-secret": "users", "nginx.org/client-max-body-size": "1k"}, tls=True),
]
BODY_SIZES = (1024, 1025, 2048, 2049, 4096, 4097)


def _resources(objects: list[dict[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(o, f"<test>:{i + 1}") for i, o in enumerate(objects)])


def _requests(objects: list[dict[str, Any]]) -> list[tuple[str, str, str, dict[str, str]]]:
    out: list[tuple[str, str, str, dict[str, str]]] = []
    for ing in objects:
        for rule in ing["spec"]["rules"]:
            host = rule["host"]
            targets = {"/", "/zz", "/home"}
            for p in rule["http"]["paths"]:
                path = p["path"]
                plain = path.replace("[a-z]+", "abc").replace("[0-9]+", "42").replace(".*", "mid").replace(
                    "(latte|mocha)", "latte")
                targets |= {plain, plain + "x", plain + "/y", plain.rstrip("/") or "/", plain.upper(),
                            plain + "?q=1", plain + "/%41b"}
            for target in sorted(targets):
                for scheme in ("http", "https"):
                    out.append((scheme, host, target, {}))
            out.append(("http", host, "/", {"X-Forwarded-Proto": "http"}))
            out.append(("http", host, "/", {"Authorization": "Basic aW5nMmd3OmluZzJndw=="}))
    out.append(("http", "unknown.example.com", "/", {}))
    return out


@pytest.fixture(scope="module")
def nginx() -> Iterator[NginxOracle]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the oracle cannot listen for HTTPS")
    first = F5Oracle(_resources(SETS["prefix-exact-character"]))
    try:
        yield first.nginx
    finally:
        first.stop()


@pytest.mark.parametrize("name", sorted(SETS))
def test_model_agrees_with_nginx(name: str, nginx: NginxOracle) -> None:
    rs = _resources(SETS[name])
    model = F5Model.from_resources(rs)
    oracle = F5Oracle(rs, nginx=nginx)
    problems = []
    checked = 0
    for scheme, host, target, headers in _requests(SETS[name]):
        found = disagreement(model, oracle, "GET", host, target, headers, scheme)
        checked += 1
        if found:
            problems.append(f"{scheme}://{host}{target} {headers}: {found}")
    assert checked > 20
    assert not problems, "\n".join(problems[:20])


def test_body_limits_agree_with_nginx(nginx: NginxOracle) -> None:
    rs = _resources(BODY_SET)
    model = F5Model.from_resources(rs)
    oracle = F5Oracle(rs, nginx=nginx, config=model.config.data)
    problems = []
    statuses = set()
    requests = [(scheme, host, target, {"Content-Length": str(size)})
                for host in ("small.example.com", "off.example.com", "dflt.example.com", "auth.example.com")
                for target in ("/", "/upload", "/files", "/files/x", "/zz")
                for size in BODY_SIZES for scheme in ("http", "https")]
    requests += [("http", host, "/zz", {"Content-Length": str(size)})
                 for host in ("small.example.com", "unknown.example.com") for size in (1 << 20, (1 << 20) + 1)]
    for scheme, host, target, headers in requests:
        statuses.add(model.route(Request.build(host=host, path=target, scheme=scheme, headers=headers)).status)
        found = disagreement(model, oracle, "POST", host, target, headers, scheme)
        if found:
            problems.append(f"{scheme}://{host}{target} {headers}: {found}")
    assert {200, 301, 401, 404, 413} <= statuses  # every answer the limits interact with was seen
    assert not problems, "\n".join(problems[:20])


RATE_SET = [
    _ingress("limited", "rate.example.com", [("/", "Prefix", "web")],
             {"nginx.org/limit-req-rate": "1r/m", "nginx.org/limit-req-burst": "3",
              "nginx.org/limit-req-no-delay": "true",  # else nginx delays the burst (by minutes at 1r/m)
              "nginx.org/limit-req-reject-code": "503"}),
    _ingress("strict", "strict.example.com", [("/", "Prefix", "web")], {"nginx.org/limit-req-rate": "1r/m"}),
]


def test_rate_limit_burst_agrees_with_nginx(nginx: NginxOracle) -> None:
    """nginx counts for real: a burst from one client is refused from the same request on, with
    the same status, as the counting model (rates of 1r/m: nothing drains during the burst)."""
    rs = _resources(RATE_SET)
    model = F5Model.from_resources(rs).enforcing(Credentials(), lambda: 0.0)
    oracle = F5Oracle(rs, nginx=nginx, rate_limits=True)
    for host, first_refused, status in (("rate.example.com", 5, 503), ("strict.example.com", 2, 429)):
        got = [oracle.nginx.send("GET", host, "/").status for _ in range(6)]
        mine = [model.route(Request.build(host=host, path="/", client="127.0.0.1")).status for _ in range(6)]
        assert got == mine, (host, got, mine)
        assert mine.index(status) == first_refused - 1, (host, mine)


PORTS_INPUT = ROOT / "testdata" / "convert" / "f5-nginx" / "listen-ports" / "input.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_listen_ports_agree_with_nginx(nginx: NginxOracle) -> None:
    """Servers on listen-ports / listen-ports-ssl: nginx listens on loopback stand-ins for 8080,
    8081, 8443 and 9443; the model, told the port the client dialled, answers every request as
    nginx does -- the host on its own ports, the default server (404) on 80 and 443, the first
    server on a listen port for a host nothing there names, the redirect to the first SSL port."""
    rs = build_resource_set(parse_documents(PORTS_INPUT.read_text(), str(PORTS_INPUT)))
    model = F5Model.from_resources(rs)
    oracle = F5Oracle(rs, nginx=nginx, ports={port: _free_port() for port in (8080, 8081, 8443, 9443)})
    problems = []
    statuses: set[int] = set()
    hosts = ("alt.example.com", "secure.example.com", "shop.example.com", "plain.example.com", "other.example.com")
    for scheme, port in (("http", 80), ("http", 8080), ("http", 8081), ("https", 443), ("https", 8443),
                         ("https", 9443)):
        for host in hosts:
            for target in ("/", "/app", "/cart", "/cart/x?q=1"):
                shown = host if port in (80, 443) else f"{host}:{port}"
                request = Request.build(host=shown, path=target, scheme=scheme, port=port)
                statuses.add(model.route(request).status)
                found = disagreement(model, oracle, "GET", shown, target, {}, scheme, port)
                if found:
                    problems.append(f"{scheme}://{shown}{target} (port {port}): {found}")
    assert {200, 301, 404} <= statuses
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("case", ["f5-nginx-virtualserver-only", "f5-nginx-policies", "f5-nginx-protections",
                                  "f5-nginx-virtualserver"])
def test_virtual_server_requests_are_decided_by_nginx(case: str, ing2gw: Any) -> None:
    """verify --oracle nginx renders the VirtualServers too (:mod:`ing2gw.providers.f5_nginx.vsconf`:
    prefix/exact/regex routes, splits, matches, proxy rewrites, redirect and return actions,
    spec and route policies): nginx decides their requests and agrees with the model."""
    r = ing2gw(["verify", "-f", str(ROOT / "testdata" / "verify" / case / "input.yaml"), "--oracle", "nginx",
                "-o", "json", "-q", "--fail-on", "never", "--allow-unprotected"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    nginx = report["checks"]["nginx"]
    assert nginx["disagree"] == 0, nginx["problems"][:10]
    # every request but the policy-probe groups the oracle cannot replay (bursts) is decided by nginx
    vs_requests = [d for d in report["differences"] if any("VirtualServer" in i for i in d.get("ingresses", []))]
    assert vs_requests and nginx["checked"] >= report["summary"]["requests"] * 0.7


MATCHES_SET: list[dict[str, Any]] = [{
    "apiVersion": "k8s.nginx.org/v1", "kind": "VirtualServer", "metadata": {"name": "m", "namespace": "default"},
    "spec": {"host": "match.example.com",
             "upstreams": [{"name": n, "service": n, "port": 80} for n in ("a", "b", "c", "d")],
             "routes": [{"path": "/", "action": {"pass": "d"}, "matches": [
                 {"conditions": [{"header": "X-Version", "value": "v2"}, {"argument": "lang", "value": "fr"}],
                  "action": {"pass": "a"}},
                 {"conditions": [{"cookie": "flavour", "value": "!vanilla"}], "action": {"pass": "b"}},
                 {"conditions": [{"header": "X-Beta", "value": "on"}],
                  "splits": [{"weight": 50, "action": {"pass": "c"}}, {"weight": 50, "action": {"pass": "a"}}]},
             ]}]},
}]


def test_match_conditions_agree_with_nginx(nginx: NginxOracle) -> None:
    """VirtualServer matches as nginx's maps decide them: every condition of a match, first
    match wins, values and argument names in any case, ``!`` negations, cookies."""
    from ing2gw.providers.f5_nginx import PROVIDER

    rs = build_resource_set([Document(o, f"<test>:{i + 1}") for i, o in enumerate(MATCHES_SET)],
                            kinds=PROVIDER.kinds)
    model = F5Model.from_resources(rs)
    oracle = F5Oracle(rs, nginx=nginx)
    problems = []
    backends = set()
    for target in ("/", "/x?lang=fr", "/x?LANG=FR", "/x?lang=de", "/x?a=1&lang=fr&lang=de"):
        for headers in ({}, {"X-Version": "v2"}, {"X-Version": "V2"}, {"Cookie": "flavour=vanilla"},
                        {"Cookie": "a=1; Flavour=VANILLA", "X-Version": "v2"}, {"Cookie": "flavour=mint"},
                        {"X-Beta": "ON", "Cookie": "flavour=vanilla"}):
            backends.add(model.route(Request.build(host="match.example.com", path=target, headers=headers,
                                                   client="127.0.0.1")).backend)
            found = disagreement(model, oracle, "GET", "match.example.com", target, headers)
            if found:
                problems.append(f"{target} {headers}: {found}")
    assert {"default/a:80", "default/b:80", "default/d:80"} <= backends
    assert not problems, "\n".join(problems[:20])


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


RATE_VS_SET: list[dict[str, Any]] = [
    {"apiVersion": "k8s.nginx.org/v1", "kind": "VirtualServer", "metadata": {"name": "r", "namespace": "default"},
     "spec": {"host": "vsrate.example.com", "policies": [{"name": "shared"}],
              "upstreams": [{"name": "web", "service": "web", "port": 80}],
              "routes": [{"path": "/a", "action": {"pass": "web"}}, {"path": "/b", "action": {"pass": "web"}},
                         {"path": "/own", "policies": [{"name": "teapot"}], "action": {"pass": "web"}}]}},
    _policy("shared", {"rateLimit": {"rate": "1r/m", "key": "${binary_remote_addr}", "zoneSize": "1M", "burst": 2,
                                     "noDelay": True}}),
    _policy("teapot", {"rateLimit": {"rate": "1r/m", "key": "${binary_remote_addr}", "zoneSize": "1M",
                                     "rejectCode": 418}}),
]


def test_policy_rate_limit_burst_agrees_with_nginx(nginx: NginxOracle) -> None:
    """Policy rateLimit in real nginx and in the counting model: spec.policies' zone is shared by
    every route of the VirtualServer (/a and /b count together), refused with the default
    rejectCode 503; a route's own policy replaces it (its rejectCode)."""
    from ing2gw.providers.f5_nginx import PROVIDER

    rs = build_resource_set([Document(o, f"<test>:{i + 1}") for i, o in enumerate(RATE_VS_SET)],
                            kinds=PROVIDER.kinds)
    model = F5Model.from_resources(rs).enforcing(Credentials(), lambda: 0.0)
    oracle = F5Oracle(rs, nginx=nginx, rate_limits=True)
    sequence = ["/a", "/b", "/a", "/b", "/own", "/own", "/a"]
    got = [oracle.nginx.send("GET", "vsrate.example.com", path).status for path in sequence]
    mine = [model.route(Request.build(host="vsrate.example.com", path=path, client="127.0.0.1")).status
            for path in sequence]
    assert got == mine == [200, 200, 200, 503, 200, 418, 503], (got, mine)
