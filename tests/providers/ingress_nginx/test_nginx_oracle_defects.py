"""Issue #14's shapes through real nginx, and a mutation check that the oracle is independent.

One nginx process serves this module; each Ingress set is swapped in with a reload. The
configuration comes from :mod:`ing2gw.providers.ingress_nginx.nginxconf` (the controller's
building re-implemented, with its Lua parts as plain nginx), never from the model. Every
request goes to the model and to nginx (HTTP and HTTPS as listed) and both must agree on
status, Location, location, backend, upstream URI, Host and forwarded headers and the
response headers (HSTS, CORS). The last tests break the model's location building on
purpose and show that nginx disagrees.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from nginx_oracle import WORKED_EXAMPLES, NginxOracle, ingress, nginx_binary, nginx_process, resources_of

from ing2gw.providers.ingress_nginx.model import NginxModel
from ing2gw.providers.ingress_nginx.model import servers as model_servers
from ing2gw.providers.ingress_nginx.oracle import Oracle, disagreement

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="the nginx binary is not installed")

Manifest = dict[str, Any]
# (method, scheme, host, target, headers)
Probe = tuple[str, str, str, str, dict[str, str]]

CREDENTIALS = "Basic " + base64.b64encode(b"ing2gw:ing2gw").decode()  # the oracle's htpasswd user


@pytest.fixture(scope="module")
def process() -> Iterator[NginxOracle]:
    with nginx_process() as nginx:
        yield nginx


def _check(process: NginxOracle, manifests: list[Manifest], probes: list[Probe],
           config: dict[str, str] | None = None, model: NginxModel | None = None) -> list[str]:
    resources = resources_of(manifests)
    oracle = Oracle(resources, config, nginx=process)
    model = model or NginxModel.from_resources(resources, config)
    out = []
    for method, scheme, host, target, headers in probes:
        problems = disagreement(model, oracle, method, host, target, "127.0.0.1", headers, scheme)
        if problems:
            out.append(f"{method} {scheme}://{host}{target} {headers}: " + "; ".join(problems))
    return out


def _get(host: str, target: str = "/", headers: dict[str, str] | None = None, scheme: str = "http",
         method: str = "GET") -> Probe:
    return (method, scheme, host, target, headers or {})


MAIN: list[Manifest] = [
    # 1: forwarded headers, Proxy, X-Request-ID; basic auth clears Authorization
    ingress("app", "app.test", [("/", "Prefix", "web")], tls_hosts=["app.test"], created=1),
    ingress("auth", "auth.test", [("/", "Prefix", "web")], {"auth-type": "basic", "auth-secret": "htpasswd",
                                                          "auth-realm": "members"}, created=2),
    # 3: CORS, both branches, end-anchored case-insensitive origins
    ingress("cors", "cors.test", [("/", "Prefix", "web")],
            {"enable-cors": "true", "cors-allow-origin": "https://good.example, https://*.wild.example",
             "cors-expose-headers": "X-Total", "cors-max-age": "60"}, created=3),
    ingress("cors-any", "cors-any.test", [("/", "Prefix", "web")], {"enable-cors": "true"}, created=4),
    # 4: trailing-slash 301: Exact path ending in /, HTTPS, relative-redirects
    ingress("slash", "slash.test", [("/dir/", "Exact", "web"), ("/p/", "Prefix", "web")], created=5),
    ingress("rel", "rel.test", [("/dir/", "Prefix", "web")], {"relative-redirects": "true"}, created=6),
    # 5: invalid values drop the Ingress, or deny its locations
    ingress("drop1", "drop.test", [("/", "Prefix", "web")], {"server-alias": "www.xpto;lala"}, created=7),
    ingress("drop2", "drop2.test", [("/", "Prefix", "web")], {"upstream-vhost": "bad host;"}, created=8),
    ingress("deny", "deny.test", [("/", "Prefix", "web")], {"allowlist-source-range": "ww"}, created=9),
    ingress("keep", "keep.test", [("/", "Prefix", "web")], {"rewrite-target": "/x{1}"}, created=10),
    # 6: nginx variables
    ingress("vhost", "vhost.test", [("/", "Prefix", "web", 8080)],
            {"upstream-vhost": "$service_name.$namespace.svc"}, created=11),
    ingress("rwvar", "rwvar.test", [("/api/(.*)", "Prefix", "web")],
            {"use-regex": "true", "rewrite-target": "/$host/$1"}, created=12),
    # 7: PCRE named groups and POSIX classes
    ingress("pcre", "pcre.test", [("/v(?<ver>[[:digit:]]+)/(.*)", "Prefix", "web")],
            {"use-regex": "true", "rewrite-target": "/$2"}, created=13),
    # 8: rewrite-target equal to a Prefix path
    ingress("same", "same.test", [("/foo", "Prefix", "web")], {"rewrite-target": "/foo"}, created=14),
    # 10: canary cookie name case; a canary path to a Service in use becomes a normal location
    ingress("main", "c.test", [("/", "Prefix", "main"), ("/shared", "Prefix", "shared")], created=15),
    ingress("can", "c.test", [("/", "Prefix", "canary")],
            {"canary": "true", "canary-by-cookie": "Canary_Flag", "canary-by-header": "X-Canary"}, created=16),
    ingress("can2", "other.test", [("/extra", "Prefix", "shared")], {"canary": "true"}, created=17),
    # 11: an older Exact path lets two Prefix copies in; a www twin that is another host's alias
    ingress("m-a", "m.test", [("/p", "Exact", "exact")], created=18),
    ingress("m-b", "m.test", [("/p", "Prefix", "first")], created=19),
    ingress("m-c", "m.test", [("/p", "Prefix", "second")], created=20),
    ingress("site", "site.test", [("/", "Prefix", "site")], {"from-to-www-redirect": "true"}, created=21),
    ingress("alias", "aliasowner.test", [("/", "Prefix", "other")], {"server-alias": "www.site.test"}, created=22),
    # permanent redirect, ssl-redirect off per Ingress, force-ssl-redirect
    ingress("perm", "perm.test", [("/old", "Prefix", "web")], {"permanent-redirect": "/new"}, created=23),
    ingress("force", "force.test", [("/", "Prefix", "web")], {"force-ssl-redirect": "true"}, created=24),
    ingress("nossl", "nossl.test", [("/", "Prefix", "web")], {"ssl-redirect": "false"},
            tls_hosts=["nossl.test"], created=25),
]

MAIN_PROBES: list[Probe] = [
    _get("app.test", "/", {"X-Forwarded-For": "6.6.6.6", "Proxy": "http://evil", "X-Forwarded-Host": "f.test"},
         scheme="https"),
    _get("app.test", "/a/", {"X-Request-ID": "abc"}, scheme="https"), _get("app.test", "/a/?x=1"),
    _get("app.test", "/a/"), _get("vhost.test", "/", {"X-Forwarded-For": "6.6.6.6", "Authorization": "Bearer t"}),
    _get("app.test", "/x", {"X-Forwarded-Proto": "https"}),
    _get("auth.test"), _get("auth.test", "/", {"Authorization": CREDENTIALS}),
    _get("auth.test", "/", {"Authorization": CREDENTIALS}, scheme="https"),
    *[_get("cors.test", "/", {"Origin": o}, method=m)
      for o in ("https://good.example", "HTTPS://GOOD.EXAMPLE", "https://evil.test/https://good.example",
                "https://a.wild.example", "https://a.b.wild.example.org", "https://good.example.evil")
      for m in ("GET", "OPTIONS")],
    _get("cors.test"), _get("cors-any.test", "/", {"Origin": "https://x.test"}),
    _get("cors-any.test", method="OPTIONS"),
    _get("slash.test", "/dir"), _get("slash.test", "/dir/"), _get("slash.test", "/p"),
    _get("slash.test", "/p", scheme="https"),
    _get("slash.test", "/dir?q=1"), _get("rel.test", "/dir"), _get("rel.test", "/dir?q=1"),
    _get("drop.test"), _get("drop2.test"), _get("deny.test"), _get("keep.test", "/y"),
    _get("vhost.test"), _get("rwvar.test", "/api/x"), _get("rwvar.test", "/API/Y?q=1"),
    _get("pcre.test", "/v12/items"), _get("pcre.test", "/vx/items"),
    _get("same.test", "/foo/bar"), _get("same.test", "/FOO"), _get("same.test", "/foo"), _get("same.test", "/foobar"),
    _get("c.test", "/", {"Cookie": "canary_flag=always"}), _get("c.test", "/", {"Cookie": "CANARY_FLAG=never"}),
    _get("c.test", "/", {"X-Canary": "always"}),
    _get("c.test", "/", {"X-Canary": "never", "Cookie": "Canary_Flag=always"}),
    _get("c.test", "/shared/x"), _get("unknown.test", "/extra"), _get("other.test", "/extra"),
    _get("m.test", "/p"), _get("m.test", "/p/x"), _get("m.test", "/p/"),
    _get("www.site.test", "/x/"), _get("www.site.test", "/x", scheme="https"), _get("site.test", "/"),
    _get("aliasowner.test", "/"),
    _get("perm.test", "/old/x"), _get("perm.test", "/old", scheme="https"), _get("force.test", "/a/"),
    _get("force.test", "/a/", scheme="https"), _get("nossl.test", "/"), _get("nossl.test", "/", scheme="https"),
]


def test_issue_14_shapes_agree_with_nginx(process: NginxOracle) -> None:
    problems = _check(process, MAIN, MAIN_PROBES)
    assert not problems, f"{len(problems)} of {len(MAIN_PROBES)} disagree:\n" + "\n".join(problems)


def test_catch_all_ignores_redirect_rewrite_and_app_root_in_nginx(process: NginxOracle) -> None:
    catch_all = [ingress("all", "", [], {"permanent-redirect": "https://elsewhere.test/", "force-ssl-redirect": "true",
                                         "rewrite-target": "/new", "app-root": "/start", "enable-cors": "true"},
                         default_backend=("fallback", 80))]
    probes = [_get("any.test"), _get("any.test", "/x/y"), _get("any.test", "/", scheme="https"),
              _get("any.test", "/", {"Origin": "https://o.test"}, method="OPTIONS")]
    problems = _check(process, catch_all, probes)
    assert not problems, "\n".join(problems)


def test_canary_on_default_backend_joins_the_catch_all_in_nginx(process: NginxOracle) -> None:
    manifests = [ingress("all", "", [], default_backend=("main", 80), created=1),
                 ingress("can", "", [], {"canary": "true", "canary-by-header": "X-Canary"},
                         default_backend=("canary", 80), created=2)]
    probes = [_get("any.test"), _get("any.test", "/", {"X-Canary": "always"}), _get("x.test", "/", {"X-Canary": "no"})]
    problems = _check(process, manifests, probes)
    assert not problems, "\n".join(problems)


def test_use_forwarded_headers_agree_with_nginx(process: NginxOracle) -> None:
    manifests = [ingress("app", "app.test", [("/", "Prefix", "web")], tls_hosts=["app.test"], created=1),
                 ingress("www", "www.twin.test", [("/", "Prefix", "web")], {"from-to-www-redirect": "true"}, created=2)]
    probes = [
        _get("app.test", "/a/", {"X-Forwarded-Proto": "https"}), _get("app.test", "/a/", {"X-Forwarded-Proto": "http"}),
        _get("app.test", "/a", {"X-Forwarded-Proto": "HTTP"}),
        _get("app.test", "/", {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "front.test,other.test",
                               "X-Forwarded-Port": "8443", "X-Forwarded-For": "10.9.8.7, 10.0.0.1"}),
        _get("app.test", "/", {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "front.test:8080"}),
        _get("app.test", "/", {"X-Forwarded-Proto": "http"}, scheme="https"),
        _get("twin.test", "/x/", {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}), _get("twin.test", "/y"),
    ]
    problems = _check(process, manifests, probes, {"use-forwarded-headers": "true"})
    assert not problems, "\n".join(problems)


# --- the mutation check: the oracle must catch a broken model -----------------------------------

def _without_exact_twins(real: Any) -> Any:
    def broken(entries: Any) -> Any:
        locations, regex_mode, conflicts = real(entries)
        return tuple(loc for loc in locations if not loc.copy), regex_mode, conflicts
    return broken


def test_mutation_dropping_the_prefix_exact_twin_is_caught(process: NginxOracle,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = [m for group in WORKED_EXAMPLES.values() for m in group]
    probes = [_get("ex1.test", "/foo"), _get("ex1.test", "/foo/bar"), _get("ex11.test", "/imp")]
    assert not _check(process, manifests, probes)  # the real model agrees with nginx
    conf_before = process.conf
    monkeypatch.setattr(model_servers, "build_locations", _without_exact_twins(model_servers.build_locations))
    broken = NginxModel.from_resources(resources_of(manifests))
    assert all(not loc.copy for s in broken.servers for loc in s.locations)
    problems = _check(process, manifests, probes, model=broken)
    assert process.conf == conf_before  # nginx.conf does not come from the model
    assert len(problems) == 2, problems  # /foo and /imp: the model now redirects, nginx serves the exact twin
    assert all("status: model 301, nginx 200" in p for p in problems)


def test_mutation_forgetting_host_regex_mode_is_caught(process: NginxOracle, monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = WORKED_EXAMPLES["ex6"]
    probes = [_get("ex6.test", "/foobar"), _get("ex6.test", "/FOO"), _get("ex6.test", "/exact/more")]
    assert not _check(process, manifests, probes)
    real = model_servers.build_locations

    def no_regex_mode(entries: Any) -> Any:
        plain = [e for e in entries if not e.regex]
        regex = [e for e in entries if e.regex]
        locations, _, conflicts = real(plain)
        extra, _, _ = real(regex)
        return (*extra, *locations), False, conflicts

    monkeypatch.setattr(model_servers, "build_locations", no_regex_mode)
    problems = _check(process, manifests, probes, model=NginxModel.from_resources(resources_of(manifests)))
    assert len(problems) == 3, problems
