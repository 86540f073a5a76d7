"""The eleven model defects of issue #14, each pinned through ``ing2gw route --as ingress-nginx``.

Every test writes its Ingresses (and, where needed, the controller ConfigMap) to files and asks
the CLI, exactly as a user would; the expected answers are the controller's (v1.15 template,
Lua and annotation parsers), not the model's own previous behaviour. The nginx oracle checks
the same shapes against a real nginx in ``test_nginx_oracle_independent.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from nginx_oracle import ingress

Manifest = dict[str, Any]


@pytest.fixture
def route(ing2gw: Any, tmp_path: Path) -> Any:
    """``route(manifests, url, *headers, config=None, client=None, method="GET") -> outcome``."""

    def run(manifests: list[Manifest], url: str, *headers: str, config: dict[str, str] | None = None,
            client: str | None = None, method: str = "GET") -> dict[str, Any]:
        path = tmp_path / "in.yaml"
        path.write_text(yaml.safe_dump_all(manifests))
        args = ["route", "-f", str(path), "--as", "ingress-nginx", url, "-o", "json", "-X", method]
        for header in headers:
            args += ["-H", header]
        if config is not None:
            cfg = tmp_path / "config.yaml"
            cfg.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "ingress-nginx-controller", "namespace": "x"},
                                           "data": config}))
            args += ["--controller-config", str(cfg)]
        if client is not None:
            args += ["--client", client]
        result = ing2gw(args)
        assert result.exit_code == 0, result.stderr
        outcome: dict[str, Any] = json.loads(result.stdout)
        return outcome

    return run


def upstream_headers(outcome: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in outcome["upstream"]["headers"].items()}


APP = [ingress("app", "app.test", [("/", "Prefix", "web")])]


# --- 1. headers sent upstream -------------------------------------------------------------------

def test_defect_1_upstream_headers_replace_x_forwarded_for_and_add_real_ip(route: Any) -> None:
    out = route(APP, "http://app.test/", "X-Forwarded-For: 6.6.6.6", "Proxy: http://evil", client="10.1.2.3")
    h = upstream_headers(out)
    assert h["x-forwarded-for"] == "10.1.2.3"
    assert h["x-original-forwarded-for"] == "6.6.6.6"
    assert h["x-real-ip"] == "10.1.2.3"
    assert "proxy" not in h
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-request-id"])
    assert h["x-forwarded-host"] == "app.test" and h["x-forwarded-proto"] == "http" and h["x-forwarded-port"] == "80"


def test_defect_1_request_id_kept_when_the_client_sends_one(route: Any) -> None:
    h = upstream_headers(route(APP, "http://app.test/", "X-Request-ID: abc"))
    assert h["x-request-id"] == "abc"


def test_defect_1_basic_auth_location_removes_authorization(route: Any) -> None:
    auth = [ingress("a", "auth.test", [("/", "Prefix", "web")],
                    {"auth-type": "basic", "auth-secret": "htpasswd"})]
    h = upstream_headers(route(auth, "http://auth.test/", "Authorization: Basic dXNlcjpwYXNz"))
    assert "authorization" not in h
    # without basic auth the client's Authorization goes through
    assert upstream_headers(route(APP, "http://app.test/", "Authorization: Bearer x"))["authorization"] == "Bearer x"


# --- 2. use-forwarded-headers ---------------------------------------------------------------------

UFH = {"use-forwarded-headers": "true"}
TLS_APP = [ingress("app", "app.test", [("/", "Prefix", "web")], tls_hosts=["app.test"])]


def test_defect_2_hsts_follows_the_connection_scheme(route: Any) -> None:
    out = route(TLS_APP, "http://app.test/", "X-Forwarded-Proto: https", config=UFH)
    assert out["status"] == 200 and "Strict-Transport-Security" not in out["responseHeaders"]
    out = route(TLS_APP, "https://app.test/", config=UFH)
    assert out["responseHeaders"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_defect_2_first_x_forwarded_host_is_the_upstream_host(route: Any) -> None:
    out = route(APP, "http://app.test/", "X-Forwarded-Host: front.example,other.example", config=UFH)
    assert out["upstream"]["host"] == "front.example"
    assert upstream_headers(out)["x-forwarded-host"] == "front.example"
    assert upstream_headers(out)["x-original-forwarded-host"] == "front.example,other.example"


def test_defect_2_www_redirect_uses_forwarded_proto_and_port(route: Any) -> None:
    www = [ingress("w", "www.app.test", [("/", "Prefix", "web")], {"from-to-www-redirect": "true"})]
    out = route(www, "http://app.test/x/", "X-Forwarded-Proto: https", "X-Forwarded-Port: 443", config=UFH)
    assert out["redirect"] == {"location": "https://www.app.test:443/x", "statusCode": 308}


def test_defect_2_forwarded_proto_is_compared_case_sensitively(route: Any) -> None:
    assert route(TLS_APP, "http://app.test/a", "X-Forwarded-Proto: http", config=UFH)["status"] == 308
    out = route(TLS_APP, "http://app.test/a", "X-Forwarded-Proto: HTTP", config=UFH)
    assert out["status"] == 200 and upstream_headers(out)["x-forwarded-proto"] == "HTTP"


# --- 3. CORS ------------------------------------------------------------------------------------

CORS = [ingress("c", "cors.test", [("/", "Prefix", "web")],
                {"enable-cors": "true", "cors-allow-origin": "https://good.example, https://*.wild.example",
                 "cors-expose-headers": "X-Total", "cors-max-age": "60"})]


def test_defect_3_cors_max_age_and_expose_headers_on_both_branches(route: Any) -> None:
    for method, status in (("GET", 200), ("OPTIONS", 204)):
        out = route(CORS, "http://cors.test/", "Origin: https://good.example", method=method)
        assert out["status"] == status
        assert out["responseHeaders"]["Access-Control-Max-Age"] == "60"
        assert out["responseHeaders"]["Access-Control-Expose-Headers"] == "X-Total"


def test_defect_3_cors_origin_check_is_case_insensitive_and_anchored_at_the_end_only(route: Any) -> None:
    def allowed(origin: str) -> bool:
        return "Access-Control-Allow-Origin" in route(CORS, "http://cors.test/", f"Origin: {origin}")["responseHeaders"]

    assert allowed("HTTPS://GOOD.EXAMPLE")
    assert allowed("https://evil.test/https://good.example")  # `~* (origins)$` is not anchored at the start
    assert allowed("https://a.wild.example")
    assert not allowed("https://a.b.wild.example.org")
    assert not allowed("https://good.example.evil")


# --- 4. nginx's trailing-slash 301 ---------------------------------------------------------------

def test_defect_4_trailing_slash_redirect_for_an_exact_path_ending_in_slash(route: Any) -> None:
    exact = [ingress("e", "slash.test", [("/dir/", "Exact", "web")])]
    out = route(exact, "http://slash.test/dir")
    assert out["status"] == 301 and out["redirect"]["location"] == "http://slash.test/dir/"


def test_defect_4_trailing_slash_redirect_carries_hsts_over_https(route: Any) -> None:
    prefix = [ingress("p", "slash.test", [("/dir/", "Prefix", "web")])]
    out = route(prefix, "https://slash.test/dir")
    assert out["status"] == 301
    assert out["responseHeaders"]["Strict-Transport-Security"].startswith("max-age=")


def test_defect_4_trailing_slash_redirect_is_relative_with_relative_redirects(route: Any) -> None:
    rel = [ingress("r", "slash.test", [("/dir/", "Prefix", "web")], {"relative-redirects": "true"})]
    assert route(rel, "http://slash.test/dir?q=1")["redirect"]["location"] == "/dir/?q=1"
    plain = [ingress("p", "slash.test", [("/dir/", "Prefix", "web")])]
    out = route(plain, "http://slash.test/dir", config={"relative-redirects": "true"})
    assert out["redirect"]["location"] == "/dir/"


# --- 5. invalid annotation values drop the whole Ingress -------------------------------------------

@pytest.mark.parametrize(("key", "value"), [
    ("server-alias", "www.xpto;lala"),
    ("upstream-vhost", "bad host;"),
    ("x-forwarded-prefix", "/a b?"),
    ("ssl-passthrough", "yes"),
    ("from-to-www-redirect", "yes"),
    ("permanent-redirect", "http://x.test/$uri"),
    ("permanent-redirect-code", "abc"),
    ("limit-rps", "many"),
    ("load-balance", "ip_hash"),
    ("auth-type", "oauth;"),
    ("custom-http-errors", "400,abc"),
])
def test_defect_5_invalid_annotation_value_drops_the_ingress(route: Any, key: str, value: str) -> None:
    manifests = [ingress("bad", "drop.test", [("/", "Prefix", "web")], {key: value})]
    out = route(manifests, "http://drop.test/")
    assert out["status"] == 404 and out["backend"] is None


@pytest.mark.parametrize(("key", "value"), [
    ("rewrite-target", "/x{1}"), ("backend-protocol", "SOAP"), ("cors-max-age", "soon"), ("use-regex", "yes"),
])
def test_defect_5_invalid_value_the_parser_swallows_keeps_the_ingress(route: Any, key: str, value: str) -> None:
    manifests = [ingress("ok", "keep.test", [("/", "Prefix", "web")], {key: value})]
    assert route(manifests, "http://keep.test/")["status"] == 200


def test_defect_5_invalid_allowlist_denies_every_location(route: Any) -> None:
    manifests = [ingress("d", "deny.test", [("/", "Prefix", "web")], {"allowlist-source-range": "ww"})]
    assert route(manifests, "http://deny.test/", client="10.0.0.1")["status"] == 503


# --- 6. nginx variables ---------------------------------------------------------------------------

def test_defect_6_upstream_vhost_variables_are_expanded(route: Any) -> None:
    manifests = [ingress("v", "vhost.test", [("/", "Prefix", "web", 8080)],
                         {"upstream-vhost": "$service_name.$namespace.svc"})]
    assert route(manifests, "http://vhost.test/")["upstream"]["host"] == "web.default.svc"


def test_defect_6_rewrite_target_variables_are_expanded(route: Any) -> None:
    manifests = [ingress("r", "rw.test", [("/api/(.*)", "Prefix", "web")],
                         {"use-regex": "true", "rewrite-target": "/$host/$1"})]
    assert route(manifests, "http://rw.test/api/x")["upstream"]["path"] == "/rw.test/x"


# --- 7. PCRE-only regex syntax ---------------------------------------------------------------------

def test_defect_7_pcre_named_groups_and_posix_classes_are_translated(route: Any) -> None:
    manifests = [ingress("n", "pcre.test", [("/v(?<ver>[[:digit:]]+)/(.*)", "Prefix", "web")],
                         {"use-regex": "true", "rewrite-target": "/$2"})]
    out = route(manifests, "http://pcre.test/v12/items")
    assert out["status"] == 200 and out["upstream"]["path"] == "/items"


def test_defect_7_untranslatable_regex_is_noted_not_silently_unmatched(route: Any) -> None:
    manifests = [ingress("n", "pcre.test", [("/q/\\Qa.b\\E", "Prefix", "web"), ("/", "Prefix", "root")],
                         {"use-regex": "true"})]
    out = route(manifests, "http://pcre.test/q/a.b")
    assert any("cannot be evaluated by the model" in n for n in out["notes"])


# --- 8. rewrite-target equal to a Prefix path -----------------------------------------------------

def test_defect_8_rewrite_target_equal_to_prefix_path_turns_on_regex_mode(route: Any) -> None:
    manifests = [ingress("s", "same.test", [("/foo", "Prefix", "web")], {"rewrite-target": "/foo"})]
    out = route(manifests, "http://same.test/foo/bar")
    assert out["matched"]["location"] == '~* "^/foo/"'
    assert out["upstream"]["path"] == "/foo"  # rewritten on the /foo/ location: the whole URI replaced
    out = route(manifests, "http://same.test/FOO")
    assert out["matched"]["location"] == '~* "^/foo"' and out["upstream"]["path"] == "/FOO"


# --- 9. the catch-all Ingress --------------------------------------------------------------------

@pytest.mark.parametrize("annotations", [
    {"permanent-redirect": "https://elsewhere.test/"},
    {"force-ssl-redirect": "true"},
    {"rewrite-target": "/new"},
    {"app-root": "/start"},
])
def test_defect_9_catch_all_ignores_redirect_rewrite_and_app_root(route: Any, annotations: dict[str, str]) -> None:
    catch_all = [ingress("all", "", [], annotations, default_backend=("fallback", 80))]
    out = route(catch_all, "http://anything.test/")
    assert out["status"] == 200 and out["backend"] == "default/fallback:80"
    assert out["upstream"]["path"] == "/"


# --- 10. canaries --------------------------------------------------------------------------------

def test_defect_10_canary_cookie_name_is_case_insensitive(route: Any) -> None:
    manifests = [ingress("main", "c.test", [("/", "Prefix", "main")], created=1),
                 ingress("can", "c.test", [("/", "Prefix", "canary")],
                         {"canary": "true", "canary-by-cookie": "Canary_Flag"}, created=2)]
    assert route(manifests, "http://c.test/", "Cookie: canary_flag=always")["backend"] == "default/canary:80"


def test_defect_10_canary_on_default_backend_attaches_to_the_catch_all(route: Any) -> None:
    manifests = [ingress("all", "", [], default_backend=("main", 80), created=1),
                 ingress("can", "", [], {"canary": "true", "canary-weight": "100"},
                         default_backend=("canary", 80), created=2)]
    assert route(manifests, "http://any.test/")["backend"] == "default/canary:80"


def test_defect_10_canary_path_to_a_used_service_is_a_normal_location(route: Any) -> None:
    manifests = [ingress("main", "c.test", [("/", "Prefix", "main"), ("/shared", "Prefix", "shared")], created=1),
                 ingress("can", "other.test", [("/extra", "Prefix", "shared")], {"canary": "true"}, created=2)]
    out = route(manifests, "http://unknown.test/extra")
    assert out["status"] == 200 and out["backend"] == "default/shared:80"


# --- 11. merges ----------------------------------------------------------------------------------

def test_defect_11_older_exact_path_then_two_prefix_copies(route: Any) -> None:
    manifests = [ingress("a", "m.test", [("/p", "Exact", "exact")], created=1),
                 ingress("b", "m.test", [("/p", "Prefix", "first")], created=2),
                 ingress("c", "m.test", [("/p", "Prefix", "second")], created=3)]
    assert route(manifests, "http://m.test/p/x")["backend"] == "default/first:80"
    assert route(manifests, "http://m.test/p")["backend"] == "default/exact:80"


def test_defect_11_www_twin_that_is_another_hosts_alias_wins(route: Any) -> None:
    manifests = [ingress("site", "site.test", [("/", "Prefix", "site")], {"from-to-www-redirect": "true"}, created=1),
                 ingress("other", "other.test", [("/", "Prefix", "other")], {"server-alias": "www.site.test"},
                         created=2)]
    out = route(manifests, "http://www.site.test/x")
    assert out["status"] == 308 and out["redirect"]["location"] == "http://site.test:80/x"


def test_defect_5_the_converter_leaves_the_refused_ingress_out_too(ing2gw: Any, tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all([
        ingress("bad", "drop.test", [("/", "Prefix", "web")], {"upstream-vhost": "bad host;"}),
        ingress("good", "keep.test", [("/", "Prefix", "web")]),
    ]))
    result = ing2gw(["convert", "-f", str(path)])
    assert "INGRESS-REFUSED-INVALID" in result.stderr and "Ingress default/bad" in result.stderr
    assert "keep.test" in result.stdout and "drop.test" not in result.stdout
