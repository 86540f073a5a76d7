"""The ingress-nginx annotation table and its value parsers."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from support import SHARED

from ing2gw.notes import Fidelity, Notes
from ing2gw.providers.ingress_nginx import parsers as p
from ing2gw.providers.ingress_nginx.annotations import (
    DEFAULT_CORS_ALLOW_HEADERS,
    DEFAULT_CORS_ALLOW_METHODS,
    DEFAULT_HTTP_REDIRECT_CODE,
    FAMILIES,
    PREFIX,
    SNIPPET_KEYS,
    TABLE,
)
from ing2gw.resources import Ingress, build_resource_set
from ing2gw.yamlio import Document

SEMANTICS = SHARED / "docs" / "ingress-nginx-semantics.md"


def catalogue() -> dict[str, str]:
    """Section 3 of the semantics doc: annotation name (first column) -> category (last)."""
    if not SEMANTICS.exists():
        pytest.skip("shared reference docs not available")
    text = SEMANTICS.read_text(encoding="utf-8")
    start = text.index("## 3. Annotation catalogue")
    end = text.index("\n## ", start + 1)
    rows: dict[str, str] = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        if cells[0] in ("Annotation", "") or set(cells[0]) <= set("-: "):
            continue
        assert cells[0] not in rows, f"{cells[0]} listed twice"
        rows[cells[0]] = cells[-1]
    return rows


def catalogue_names() -> list[str]:
    return list(catalogue())


# --- the table as a whole ---------------------------------------------------------------


def test_table_has_exactly_the_catalogued_names() -> None:
    names = catalogue_names()
    assert len(names) == len(set(names)) == 138
    assert {s.key for s in TABLE} == set(names)
    assert len(TABLE) == 138


def test_every_spec_is_documented() -> None:
    for spec in TABLE:
        assert isinstance(spec.fidelity, Fidelity), spec.key
        assert spec.doc.strip() and "\n" not in spec.doc, spec.key
        assert spec.target.strip(), spec.key
        assert spec.family in FAMILIES, spec.key
        assert callable(spec.parse), spec.key
        if spec.fidelity is Fidelity.UNSUPPORTED:
            assert "not expressible" in spec.target, spec.key
        if spec.fidelity is Fidelity.EXTENSION:
            assert spec.target.startswith("extension:"), spec.key


def test_aliases_resolve_to_their_canonical_keys() -> None:
    aliases = {s.key: s.alias_of for s in TABLE if s.alias_of}
    assert aliases == {
        "whitelist-source-range": "allowlist-source-range",
        "limit-whitelist": "limit-allowlist",
    }
    for alias, canonical in aliases.items():
        assert TABLE.canonical(alias) == canonical
        assert TABLE.specs[canonical].alias_of is None
        assert TABLE.specs[alias].fidelity is TABLE.specs[canonical].fidelity
    assert TABLE.canonical("rewrite-target") == "rewrite-target"


def test_snippets_are_unsupported_and_flagged() -> None:
    assert len(SNIPPET_KEYS) == 5
    for key in SNIPPET_KEYS:
        spec = TABLE.specs[key]
        assert spec.family == "snippet"
        assert spec.fidelity is Fidelity.UNSUPPORTED
        assert "Critical" in spec.doc


def test_value_dependent_keys_are_left_to_feature_code() -> None:
    for key in (
        "rewrite-target", "permanent-redirect-code", "temporal-redirect-code", "use-regex",
        "backend-protocol", "canary-by-cookie", "affinity", "enable-cors", "cors-allow-origin",
        "configuration-snippet", "ssl-redirect",
    ):
        assert TABLE.specs[key].noted_by_feature, key
    # Plain policy annotations are always noted by the table itself.
    for key in ("limit-rps", "auth-url", "allowlist-source-range", "proxy-body-size"):
        assert not TABLE.specs[key].noted_by_feature, key


# (b) rows that ing2gw emits as an implementation-specific RegularExpression match rather
# than keeping them for a policy.
EMITTED_AS_REGEX_MATCH = {"use-regex", "canary-by-header-pattern"}


def test_fidelity_agrees_with_the_catalogue_category_column() -> None:
    checked = 0
    for name, category in catalogue().items():
        spec = TABLE.specs[name]
        cats = set(re.findall(r"\(([abc])\b", category))
        if cats == {"c"}:
            assert spec.fidelity is Fidelity.UNSUPPORTED, name
        elif cats == {"b"} and name not in EMITTED_AS_REGEX_MATCH:
            assert spec.fidelity is Fidelity.EXTENSION, name
        elif cats == {"a"}:
            assert spec.fidelity in (Fidelity.EXACT, Fidelity.APPROXIMATE), name
        else:
            continue
        checked += 1
    assert checked > 80  # most rows have a single category


def test_fidelity_follows_the_catalogue_categories() -> None:
    expected = {
        "app-root": Fidelity.APPROXIMATE,  # (a), but the query on / is handled differently
        "x-forwarded-prefix": Fidelity.EXACT,  # (a)
        "upstream-vhost": Fidelity.EXACT,  # (a)
        "custom-headers": Fidelity.EXACT,  # (a)
        "limit-rps": Fidelity.EXTENSION,  # (b)
        "proxy-body-size": Fidelity.EXTENSION,  # (b)
        "auth-type": Fidelity.EXTENSION,  # (b)
        "relative-redirects": Fidelity.UNSUPPORTED,  # (c)
        "default-backend": Fidelity.UNSUPPORTED,  # (c)
        "proxy-http-version": Fidelity.UNSUPPORTED,  # (c)
    }
    for key, fidelity in expected.items():
        assert TABLE.specs[key].fidelity is fidelity, key


def test_rows_render_every_key_with_prefix() -> None:
    rows = TABLE.rows()
    assert len(rows) == 138
    assert all(r["annotation"].startswith(PREFIX + "/") for r in rows)
    alias_rows = {r["annotation"]: r["alias_of"] for r in rows if r["alias_of"]}
    assert alias_rows[f"{PREFIX}/limit-whitelist"] == f"{PREFIX}/limit-allowlist"


# One good value per canonical key: every parser must accept it, and where the table has a
# default, the parsed value must be of the same type as the default.
GOOD: dict[str, str] = {
    "use-regex": "true", "rewrite-target": "/$2", "app-root": "/app", "x-forwarded-prefix": "/api",
    "permanent-redirect": "https://example.com/new", "permanent-redirect-code": "308",
    "temporal-redirect": "http://example.com", "temporal-redirect-code": "307",
    "relative-redirects": "false", "use-port-in-redirects": "true",
    "from-to-www-redirect": "true", "ssl-redirect": "false", "force-ssl-redirect": "true",
    "preserve-trailing-slash": "true", "ssl-passthrough": "true",
    "ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256:!aNULL", "ssl-prefer-server-ciphers": "true",
    "backend-protocol": "grpc", "upstream-vhost": "internal.example.com",
    "server-alias": "a.example.com, b.example.com", "default-backend": "fallback",
    "custom-http-errors": "404,503", "disable-proxy-intercept-errors": "true",
    "canary": "true", "canary-by-header": "X-Canary", "canary-by-header-value": "yes",
    "canary-by-header-pattern": "^(a|b)$", "canary-by-cookie": "canary",
    "canary-weight": "20", "canary-weight-total": "1000",
    "auth-type": "basic", "auth-secret": "basic-auth", "auth-secret-type": "auth-map",
    "auth-realm": "Authentication Required", "auth-url": "http://auth.svc/check?x=$host",
    "auth-method": "POST", "auth-signin": "https://$host/oauth2/start?rd=$escaped_request_uri",
    "auth-signin-redirect-param": "orig", "auth-response-headers": "X-User, X-Email",
    "auth-proxy-set-headers": "ns/auth-headers", "auth-request-redirect": "/login",
    "auth-cache-key": "$remote_user$http_authorization", "auth-cache-duration": "200 202 10m",
    "auth-keepalive": "10", "auth-keepalive-share-vars": "true",
    "auth-keepalive-requests": "500", "auth-keepalive-timeout": "30",
    "auth-always-set-cookie": "true", "auth-snippet": "proxy_set_header Foo bar;",
    "enable-global-auth": "false", "satisfy": "any", "auth-tls-secret": "default/ca",
    "auth-tls-verify-client": "optional", "auth-tls-verify-depth": "2",
    "auth-tls-error-page": "https://example.com/error",
    "auth-tls-pass-certificate-to-upstream": "true",
    "auth-tls-match-cn": "CN=client", "allowlist-source-range": "10.0.0.0/8, 192.168.1.1",
    "denylist-source-range": "2001:db8::/32", "limit-connections": "10", "limit-rps": "5",
    "limit-rpm": "300", "limit-burst-multiplier": "3", "limit-rate": "100",
    "limit-rate-after": "1000", "limit-allowlist": "10.1.0.0/16", "enable-cors": "true",
    "cors-allow-origin": "https://a.example.com, https://*.b.example.com:8443",
    "cors-allow-methods": "GET, POST", "cors-allow-headers": "X-Custom, Content-Type",
    "cors-expose-headers": "*, X-Trace", "cors-allow-credentials": "false", "cors-max-age": "600",
    "enable-modsecurity": "true", "enable-owasp-core-rules": "true",
    "modsecurity-transaction-id": "$request_id", "modsecurity-snippet": "SecRuleEngine On",
    "affinity": "cookie", "affinity-mode": "persistent", "affinity-canary-behavior": "legacy",
    "session-cookie-name": "route", "session-cookie-path": "/app",
    "session-cookie-domain": ".example.com", "session-cookie-expires": "172800",
    "session-cookie-max-age": "3600", "session-cookie-secure": "true",
    "session-cookie-samesite": "lax", "session-cookie-conditional-samesite-none": "true",
    "session-cookie-change-on-failure": "true", "load-balance": "ewma",
    "upstream-hash-by": "$request_uri", "upstream-hash-by-subset": "true",
    "upstream-hash-by-subset-size": "5", "service-upstream": "true",
    "mirror-target": "https://mirror.example.com$request_uri", "mirror-host": "mirror.example.com",
    "mirror-request-body": "off", "proxy-connect-timeout": "10", "proxy-send-timeout": "120",
    "proxy-read-timeout": "3600", "proxy-next-upstream": "error timeout http_502",
    "proxy-next-upstream-timeout": "30", "proxy-next-upstream-tries": "5",
    "proxy-request-buffering": "off", "proxy-buffering": "on", "proxy-buffers-number": "8",
    "proxy-buffer-size": "16k", "proxy-busy-buffers-size": "32k",
    "proxy-max-temp-file-size": "0", "proxy-body-size": "8m", "client-body-buffer-size": "1M",
    "proxy-http-version": "1.0", "proxy-cookie-domain": "localhost example.org",
    "proxy-cookie-path": "off", "proxy-redirect-from": "http://internal/",
    "proxy-redirect-to": "https://public/", "proxy-ssl-secret": "default/backend-tls",
    "proxy-ssl-verify": "on", "proxy-ssl-verify-depth": "3", "proxy-ssl-ciphers": "HIGH:!aNULL",
    "proxy-ssl-protocols": "TLSv1.2 TLSv1.3", "proxy-ssl-name": "backend.internal",
    "proxy-ssl-server-name": "on", "connection-proxy-header": "keep-alive",
    "custom-headers": "default/resp-headers", "fastcgi-index": "index.php",
    "fastcgi-params-configmap": "fcgi-params", "http2-push-preload": "true",
    "enable-access-log": "false", "enable-rewrite-log": "true", "enable-opentelemetry": "true",
    "opentelemetry-trust-incoming-span": "false",
    "opentelemetry-operation-name": "HTTP $request_method",
    "configuration-snippet": "more_set_headers \"X-Foo: bar\";",
    "server-snippet": "location /x { return 200; }", "stream-snippet": "server { listen 8000; }",
}


def test_every_key_parses_a_good_value_into_the_default_type() -> None:
    canonical = {s.key for s in TABLE if not s.alias_of}
    assert set(GOOD) == canonical
    for key, text in GOOD.items():
        spec = TABLE.specs[key]
        value = spec.parse(text)
        assert value is not None, key
        if spec.default is not None:
            assert type(value) is type(spec.default), key


def test_every_key_rejects_an_empty_value() -> None:
    for spec in TABLE:
        with pytest.raises(ValueError):
            spec.parse("")


# --- parsers, table-driven ---------------------------------------------------------------

ACCEPT: list[tuple[Any, str, Any]] = [
    # Go strconv.ParseBool
    *[(p.parse_bool, t, True) for t in ("1", "t", "T", "TRUE", "true", "True")],
    *[(p.parse_bool, f, False) for f in ("0", "f", "F", "FALSE", "false", "False")],
    # Go strconv.Atoi
    (p.parse_int, "42", 42), (p.parse_int, "-7", -7), (p.parse_int, "+3", 3),
    (p.parse_non_negative_int, "0", 0), (p.parse_positive_int, "1", 1),
    (p.parse_on_off, "on", True), (p.parse_on_off, " OFF ", False),
    # sizes
    (p.parse_size, "8k", p.Size("8k", 8192)), (p.parse_size, "1M", p.Size("1M", 1048576)),
    (p.parse_size, "2g", p.Size("2g", 2 * 1024**3)), (p.parse_size, "100", p.Size("100", 100)),
    (p.parse_body_size, "0", p.BodySizeLimit("0", None)),
    (p.parse_body_size, "0m", p.BodySizeLimit("0m", None)),
    (p.parse_body_size, "10m", p.BodySizeLimit("10m", 10 * 1024 * 1024)),
    # durations
    (p.parse_seconds, "60", p.Duration(60_000)),
    (p.parse_nginx_time, "5m", p.Duration(300_000)),
    (p.parse_nginx_time, "1h30m", p.Duration(5_400_000)),
    (p.parse_nginx_time, "1h 30m 10", p.Duration(5_410_000)),
    (p.parse_nginx_time, "500ms", p.Duration(500)),
    (p.parse_nginx_time, "30", p.Duration(30_000)),
    (p.parse_auth_cache_duration, "200 202 401 5m",
     (p.CacheDuration(("200", "202", "401"), p.Duration(300_000)),)),
    (p.parse_auth_cache_duration, "200 10m, 401 1m",
     (p.CacheDuration(("200",), p.Duration(600_000)),
      p.CacheDuration(("401",), p.Duration(60_000)))),
    (p.parse_auth_cache_duration, "5m", (p.CacheDuration((), p.Duration(300_000)),)),
    # address lists
    (p.parse_cidrs, "10.0.0.0/8", (ipaddress.ip_network("10.0.0.0/8"),)),
    (p.parse_cidrs, " 10.0.0.1 , 2001:db8::/32 ",
     (ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("2001:db8::/32"))),
    (p.parse_cidrs, "192.168.1.7/24", (ipaddress.ip_network("192.168.1.0/24"),)),
    (p.parse_comma_list, "a, b,,c ", ("a", "b", "c")),
    # redirect codes: out of range is not an error, it is the default
    (p.parse_permanent_redirect_code, "308", 308), (p.parse_permanent_redirect_code, "300", 300),
    (p.parse_permanent_redirect_code, "309", 301), (p.parse_permanent_redirect_code, "200", 301),
    (p.parse_permanent_redirect_code, "0", 301),
    (p.parse_temporal_redirect_code, "307", 307), (p.parse_temporal_redirect_code, "308", 302),
    (p.parse_temporal_redirect_code, "303", 303), (p.parse_temporal_redirect_code, "-1", 302),
    # backend-protocol is case-insensitive
    (p.parse_backend_protocol, "grpcs", p.BackendProtocol.GRPCS),
    (p.parse_backend_protocol, " Auto_Http ", p.BackendProtocol.AUTO_HTTP),
    (p.parse_backend_protocol, "FCGI", p.BackendProtocol.FCGI),
    # canary
    (p.parse_canary_weight, "0", 0), (p.parse_canary_weight, "100", 100),
    (p.parse_canary_weight_total, "50", 50),
    # rewrite-target
    (p.parse_rewrite_target, "/$1", "/$1"), (p.parse_rewrite_target, "/api/v1/$2", "/api/v1/$2"),
    (p.parse_rewrite_target, "/", "/"), (p.parse_rewrite_target, "/a-b.c_d~e:f", "/a-b.c_d~e:f"),
    # redirect URLs
    (p.parse_permanent_redirect, "https://www.example.com:8443/a?x=1&y=2",
     p.RedirectURL("https://www.example.com:8443/a?x=1&y=2", "https", "www.example.com", 8443,
                   "/a", "x=1&y=2")),
    (p.parse_permanent_redirect, "/relative/path",
     p.RedirectURL("/relative/path", None, None, None, "/relative/path", "")),
    (p.parse_temporal_redirect, "HTTP://example.com",
     p.RedirectURL("HTTP://example.com", "http", "example.com", None, "", "")),
    # enums
    (p.parser_for_enum(p.Affinity), "cookie", p.Affinity.COOKIE),
    (p.parser_for_enum(p.AffinityMode), " persistent", p.AffinityMode.PERSISTENT),
    (p.parser_for_enum(p.SameSite, case_sensitive=False), "none", p.SameSite.NONE),
    (p.parser_for_enum(p.TLSVerifyClient), "optional_no_ca", p.TLSVerifyClient.OPTIONAL_NO_CA),
    # CORS
    (p.parse_cors_origins, "*", p.CorsOrigins(("*",))),
    (p.parse_cors_origins, "https://a.com, http://b.com:8080",
     p.CorsOrigins(("https://a.com", "http://b.com:8080"))),
    (p.parse_cors_origins, "https://*.a.com, ftp://x.com",
     p.CorsOrigins(("https://*.a.com",), ("ftp://x.com",))),
    (p.parse_cors_origins, "https://a.com, *", p.CorsOrigins(("*",))),
    (p.parse_cors_methods, "GET, PUT,POST", ("GET", "PUT", "POST")),
    (p.parse_cors_headers, "X-Forwarded-For, X_Custom", ("X-Forwarded-For", "X_Custom")),
    (p.parse_cors_expose_headers, "*", ("*",)),
    # references and names
    (p.parse_object_ref, "secret", p.ObjectRef(None, "secret")),
    (p.parse_object_ref, "ns/secret.v1", p.ObjectRef("ns", "secret.v1")),
    (p.parse_qualified_object_ref, "ns/ca", p.ObjectRef("ns", "ca")),
    (p.parse_service_name, "my-svc", "my-svc"),
    (p.parse_server_aliases, "b.com, a.com,b.com, *.c.com", ("*.c.com", "a.com", "b.com")),
    (p.parse_server_aliases, "~^www\\d+\\.example\\.com$", ("~^www\\d+\\.example\\.com$",)),
    (p.parse_header_name, "X-Canary", "X-Canary"),
    (p.parse_header_list, "X-A, X-B", ("X-A", "X-B")),
    (p.parse_http_method, "GET", "GET"),
    (p.parse_custom_http_errors, "404, 500,503", (404, 500, 503)),
    (p.parse_proxy_next_upstream, "error timeout http_503 non_idempotent",
     ("error", "timeout", "http_503", "non_idempotent")),
    (p.parse_ssl_protocols, "TLSv1.2 TLSv1.3", ("TLSv1.2", "TLSv1.3")),
    (p.parse_proxy_cookie_rewrite, "off", "off"),
    (p.parse_proxy_cookie_rewrite, "localhost  example.org", "localhost example.org"),
    (p.parse_app_root, "/app1?x=1", "/app1?x=1"),
    (p.parse_url_with_variables, "http://auth.ns.svc.cluster.local/auth?u=$request_uri",
     "http://auth.ns.svc.cluster.local/auth?u=$request_uri"),
    (p.parse_snippet, "  a;\n   b;  \n", "a;\nb;"),
]

REJECT: list[tuple[Any, str]] = [
    # ParseBool accepts no other spellings and no padding
    *[(p.parse_bool, t) for t in ("yes", "no", "on", "tRuE", " true", "", "2")],
    *[(p.parse_int, t) for t in ("", "1.5", " 1", "1_000", "0x10", "١٢", "9223372036854775808")],
    (p.parse_non_negative_int, "-1"), (p.parse_positive_int, "0"),
    (p.parse_on_off, "true"), (p.parse_on_off, ""),
    *[(p.parse_size, t) for t in ("", "1.5m", "10mb", "10b", "-1", "k", "1 m")],
    (p.parse_body_size, "unlimited"),
    (p.parse_seconds, "5s"), (p.parse_seconds, "-5"),
    *[(p.parse_nginx_time, t) for t in ("", "5x", "30m1h", "10 5m", "m", "1.5h")],
    (p.parse_auth_cache_duration, "2000 5m"), (p.parse_auth_cache_duration, "200 soon"),
    (p.parse_auth_cache_duration, "200 5m,"),
    *[(p.parse_cidrs, t) for t in ("", "10.0.0.0/33", "10.0.0.0/8,", "example.com",
                                    "010.0.0.1", "10.0.0.0/8;10.1.0.0/16")],
    (p.parse_comma_list, " , ,"),
    (p.parse_permanent_redirect_code, "301x"), (p.parse_temporal_redirect_code, ""),
    *[(p.parse_backend_protocol, t) for t in ("HTTP2", "h2c", "", "TCP")],
    (p.parse_canary_weight, "-10"), (p.parse_canary_weight, "10%"),
    (p.parse_canary_weight_total, "1e3"),
    *[(p.parse_rewrite_target, t) for t in ("${1}", "/a?x=y", "/a b", "/a%20b", "", "/new/\\1")],
    *[(p.parse_permanent_redirect, t) for t in (
        "https://example.com/$request_uri", "https://example.com/a%20b", "ftp://example.com/",
        "https://example.com/#frag", "https://", "//example.com/x", "http://example.com:port/",
        "https://example.com/ a")],
    (p.parse_temporal_redirect, "/relative"),
    (p.parser_for_enum(p.Affinity), "ip"), (p.parser_for_enum(p.Affinity), "Cookie"),
    (p.parser_for_enum(p.Satisfy), "some"),
    (p.parse_cors_origins, "ftp://a.com, example.com"), (p.parse_cors_origins, ","),
    (p.parse_cors_methods, "GET;POST"), (p.parse_cors_headers, "X-A: b"),
    (p.parse_cors_expose_headers, "X-$var"),
    *[(p.parse_object_ref, t) for t in ("", "a/b/c", "Upper", "ns/", "/name", "na_me")],
    (p.parse_qualified_object_ref, "just-a-name"),
    (p.parse_service_name, "1svc"), (p.parse_service_name, "svc.ns"),
    (p.parse_server_aliases, "a.com, b com"),
    (p.parse_header_name, "X Canary"), (p.parse_header_name, "X-Canary:"),
    (p.parse_header_list, "X-A; X-B"),
    (p.parse_http_method, "get"), (p.parse_http_method, "FETCH"),
    (p.parse_custom_http_errors, "404,abc"), (p.parse_custom_http_errors, "200"),
    (p.parse_custom_http_errors, "4040"),
    (p.parse_proxy_next_upstream, "error,timeout"), (p.parse_proxy_next_upstream, "http_418"),
    (p.parse_ssl_protocols, "TLSv1.4"),
    (p.parse_proxy_cookie_rewrite, "only-one"), (p.parse_proxy_cookie_rewrite, "a b c"),
    (p.parse_app_root, "app"), (p.parse_app_root, "https://example.com/app"),
    (p.parse_url_with_variables, "/relative"), (p.parse_url, "http://x/$host"),
    (p.parse_cookie_name, "a=b"), (p.parse_cookie_path, "app"), (p.parse_cookie_domain, "a..b"),
    (p.parse_snippet, "  \n  "),
]


@pytest.mark.parametrize(("parse", "text", "expected"), ACCEPT)
def test_parser_accepts(parse: Any, text: str, expected: Any) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("parse", "text"), REJECT)
def test_parser_rejects(parse: Any, text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    reason = str(info.value)
    assert reason and "\n" not in reason and len(reason) < 120


def test_body_size_zero_is_unlimited_not_zero() -> None:
    limit = p.parse_body_size("0")
    assert limit.unlimited and limit.max_bytes is None
    assert not p.parse_body_size("1k").unlimited
    assert p.parse_body_size("1k").max_bytes == 1024


def test_redirect_code_fallback_covers_exactly_the_documented_ranges() -> None:
    kept_permanent = {c for c in range(250, 350) if p.parse_permanent_redirect_code(str(c)) == c}
    kept_temporal = {c for c in range(250, 350) if p.parse_temporal_redirect_code(str(c)) == c}
    assert kept_permanent == set(range(300, 309)) | {301}
    assert kept_temporal == set(range(300, 308)) | {302}
    assert DEFAULT_HTTP_REDIRECT_CODE == 308


def test_canary_weight_total_quirk() -> None:
    assert p.effective_canary_weight_total(0) == 100
    assert p.effective_canary_weight_total(50) == 100
    assert p.effective_canary_weight_total(100) == 100
    assert p.effective_canary_weight_total(1000) == 1000


def test_duration_renders_gateway_api_strings() -> None:
    pattern = re.compile(r"([0-9]{1,5}(h|m|s|ms)){1,4}")
    cases = {0: "0s", 500: "500ms", 60_000: "1m", 5_400_000: "1h30m", 3_723_004: "1h2m3s4ms"}
    for millis, text in cases.items():
        rendered = p.Duration(millis).gateway()
        assert rendered == text
        assert pattern.fullmatch(rendered)
    assert p.parse_seconds("90").gateway() == "1m30s"
    with pytest.raises(ValueError):
        p.Duration(100_000 * 3_600_000).gateway()


def test_cors_defaults_match_the_controller() -> None:
    assert TABLE.specs["cors-allow-methods"].default == DEFAULT_CORS_ALLOW_METHODS
    written = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
    assert p.parse_cors_methods(written) == DEFAULT_CORS_ALLOW_METHODS
    assert "Authorization" in DEFAULT_CORS_ALLOW_HEADERS and "Range" in DEFAULT_CORS_ALLOW_HEADERS
    assert TABLE.specs["cors-allow-origin"].default.any
    assert TABLE.specs["cors-max-age"].default == 1_728_000


def test_defaults_of_common_keys() -> None:
    defaults = {key: TABLE.specs[key].default for key in (
        "ssl-redirect", "use-regex", "permanent-redirect-code", "temporal-redirect-code",
        "backend-protocol", "canary-weight", "canary-weight-total", "session-cookie-name",
        "proxy-body-size", "limit-burst-multiplier", "enable-global-auth",
    )}
    assert defaults == {
        "ssl-redirect": True, "use-regex": False, "permanent-redirect-code": 301,
        "temporal-redirect-code": 302, "backend-protocol": p.BackendProtocol.HTTP,
        "canary-weight": 0, "canary-weight-total": 100, "session-cookie-name": "INGRESSCOOKIE",
        "proxy-body-size": p.BodySizeLimit("1m", 1048576), "limit-burst-multiplier": 5,
        "enable-global-auth": True,
    }
    assert p.parse_body_size("1m") == TABLE.specs["proxy-body-size"].default


# --- AnnotationTable.read on real Ingresses ----------------------------------------------


def make_ingress(annotations: dict[str, str], name: str = "web") -> Ingress:
    obj = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}},
        }]}}]},
    }
    rs = build_resource_set([Document(obj, "ingress.yaml:1")])
    assert len(rs.ingresses) == 1
    return rs.ingresses[0]


def test_read_parses_values_and_notes_problems() -> None:
    n = PREFIX + "/"
    ing = make_ingress({
        n + "rewrite-target": "/$2",
        n + "ssl-redirect": "false",
        n + "proxy-body-size": "0",
        n + "canary-weight": "heavy",
        n + "limit-rps": "10",
        n + "http2-push-preload": "true",
        n + "no-such-annotation": "x",
        n + "whitelist-source-range": "10.0.0.0/8",
        "kubernetes.io/ingress.class": "nginx",
    })
    notes = Notes()
    ann = TABLE.read(ing, notes)

    assert ann.get("rewrite-target") == "/$2"
    assert ann.get("ssl-redirect") is False
    assert ann.get("proxy-body-size").unlimited
    assert ann.get("canary-weight") == 0  # invalid -> default
    assert "canary-weight" not in ann
    assert ann.get("allowlist-source-range") == (ipaddress.ip_network("10.0.0.0/8"),)
    assert ann.get("whitelist-source-range") == ann.get("allowlist-source-range")
    assert ann.get("use-regex") is False  # absent -> default
    assert ann.raw["limit-rps"] == "10"

    by_field: dict[str, set[str]] = {}
    for note in notes:
        by_field.setdefault(note.field.removeprefix(n), set()).add(note.code)
        assert note.subject == "Ingress shop/web"
        assert note.origin == "ingress.yaml:1"
    assert by_field == {
        "no-such-annotation": {"NGINX-ANNOTATION-UNKNOWN"},
        "canary-weight": {"NGINX-ANNOTATION-INVALID"},
        "http2-push-preload": {"NGINX-ANNOTATION-UNSUPPORTED"},
        "limit-rps": {"NGINX-ANNOTATION-EXTENSION"},
        "proxy-body-size": {"NGINX-ANNOTATION-EXTENSION"},
        "whitelist-source-range": {"NGINX-ANNOTATION-EXTENSION"},
    }
    # rewrite-target and ssl-redirect are value-dependent: feature code notes them.


def test_read_canonical_spelling_wins_over_alias() -> None:
    n = PREFIX + "/"
    ing = make_ingress({
        n + "limit-allowlist": "10.0.0.0/8",
        n + "limit-whitelist": "192.168.0.0/16",
    })
    ann = TABLE.read(ing, Notes())
    assert ann.get("limit-allowlist") == (ipaddress.ip_network("10.0.0.0/8"),)


def test_read_with_custom_prefix() -> None:
    ing = make_ingress({
        "custom.io/enable-cors": "true",
        "custom.io/limit-rpm": "60",
        "custom.io/bogus": "1",
        PREFIX + "/limit-rps": "5",  # not the configured prefix: ignored
    })
    notes = Notes()
    ann = TABLE.read(ing, notes, prefix="custom.io")
    assert ann.get("enable-cors") is True
    assert ann.get("limit-rpm") == 60
    assert "limit-rps" not in ann
    codes = {(note.field, note.code) for note in notes}
    assert ("custom.io/bogus", "NGINX-ANNOTATION-UNKNOWN") in codes
    assert ("custom.io/limit-rpm", "NGINX-ANNOTATION-EXTENSION") in codes
    assert not any(f.startswith(PREFIX) for f, _ in codes)


def test_read_exact_annotations_are_silent() -> None:
    n = PREFIX + "/"
    ing = make_ingress({n + "x-forwarded-prefix": "/api", n + "upstream-vhost": "internal"})
    notes = Notes()
    ann = TABLE.read(ing, notes)
    assert ann.get("x-forwarded-prefix") == "/api"
    assert len(notes) == 0
