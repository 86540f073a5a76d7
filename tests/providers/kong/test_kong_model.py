"""The Kong model's routing decisions (priorities, matching, protocols, upstream request,
plugins) and the provider's handling of the features behind them, from the CLI too."""

from __future__ import annotations

from typing import Any

import pytest
from support import ROOT

from ing2gw.http import Request
from ing2gw.providers.kong.model import KongModel, _join
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document


def _ingress(name: str, host: str, paths: list[tuple[str, str, str]], annotations: dict[str, str] | None = None,
             *, namespace: str = "default", tls: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": svc, "port": {"number": 80}}}}
        for p, t, svc in paths]}}
    if host:
        rule["host"] = host
    spec: dict[str, Any] = {"ingressClassName": "kong", "rules": [rule]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": f"{name}-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}}, "spec": spec}


def _plugin(name: str, plugin: str, config: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": name, "namespace": namespace}, "plugin": plugin, "config": config}


def _model(*objects: dict[str, Any]) -> KongModel:
    from ing2gw.providers.kong import PROVIDER

    docs = [Document(o, f"<test>:{i + 1}") for i, o in enumerate(objects)]
    return KongModel.from_resources(build_resource_set(docs, kinds=PROVIDER.kinds))


def _get(model: KongModel, url_host: str, path: str, *, scheme: str = "http", method: str = "GET",
         headers: dict[str, str] | None = None, client: str | None = None) -> Any:
    return model.route(Request.build(host=url_host, path=path, scheme=scheme, method=method, headers=headers,
                                     client=client))


def test_prefix_is_segment_correct_and_implementation_specific_a_character_prefix() -> None:
    m = _model(_ingress("a", "h.test", [("/api", "Prefix", "api"), ("/static", "ImplementationSpecific", "web")]))
    assert _get(m, "h.test", "/api").backend == "default/api:80"
    assert _get(m, "h.test", "/api/x").backend == "default/api:80"
    assert _get(m, "h.test", "/apix").status == 404
    assert _get(m, "h.test", "/staticfiles/a.css").backend == "default/web:80"


def test_regex_paths_come_before_longer_plain_paths() -> None:
    """A /~ regex path (and KIC's Prefix regex half) outranks a longer plain path: Kong orders
    regex routes before plain ones when the other traits are equal."""
    m = _model(_ingress("a", "h.test", [("/~/items/\\d+", "ImplementationSpecific", "regex"),
                                        ("/items/123456", "ImplementationSpecific", "plain")]))
    assert _get(m, "h.test", "/items/123456").backend == "default/regex:80"
    assert _get(m, "h.test", "/items/abc").status == 404


def test_longest_plain_path_first_and_hosts_before_hostless() -> None:
    m = _model(_ingress("a", "h.test", [("/a", "ImplementationSpecific", "short"),
                                        ("/a/b", "ImplementationSpecific", "long")]),
               _ingress("b", "", [("/a/b/c", "ImplementationSpecific", "hostless")]))
    assert _get(m, "h.test", "/a/b/c").backend == "default/long:80"  # a host outweighs a longer path
    assert _get(m, "h.test", "/a/x").backend == "default/short:80"
    assert _get(m, "other.test", "/a/b/c").backend == "default/hostless:80"


def test_wildcard_host_matches_any_depth_and_methods_and_headers() -> None:
    m = _model(_ingress("a", "*.example.com", [("/", "Prefix", "wild")],
                        {"konghq.com/methods": "GET", "konghq.com/headers.x-team": "Blue"}))
    ok = {"x-team": "blue"}
    assert _get(m, "a.b.example.com", "/", headers=ok).backend == "default/wild:80"
    assert _get(m, "example.com", "/", headers=ok).status == 404
    assert _get(m, "a.example.com", "/", headers={"x-team": "red"}).status == 404
    assert _get(m, "a.example.com", "/", method="POST", headers=ok).status == 404


def test_https_only_routes_answer_plain_http_with_426_or_the_redirect_code() -> None:
    m = _model(_ingress("a", "a.test", [("/", "Prefix", "svc")], {"konghq.com/protocols": "https"}),
               _ingress("b", "b.test", [("/", "Prefix", "svc")], {"konghq.com/protocols": "https",
                                                                   "konghq.com/https-redirect-status-code": "308"}),
               _ingress("c", "c.test", [("/", "Prefix", "svc")], {"ingress.kubernetes.io/force-ssl-redirect": "true"}))
    assert _get(m, "a.test", "/x").status == 426
    assert _get(m, "a.test", "/x", scheme="https").status == 200
    out = _get(m, "b.test", "/x?y=1")
    assert (out.status, out.redirect.location) == (308, "https://b.test/x?y=1")
    assert _get(m, "c.test", "/").status == 302


@pytest.mark.parametrize(("base", "rest", "handling", "req", "expected"), [
    ("/", "", "v0", "/s", "/"),
    ("/s", "req", "v0", "/fv0req", "/s/req"),
    ("/s", "/req", "v0", "/fv0/req", "/s/req"),
    ("/s/", "req", "v0", "/fv0req", "/s/req"),
    ("/s", "req", "v1", "/fv1req", "/sreq"),
    ("/s/", "/req", "v1", "/fv1/req", "/s/req"),
    ("/s", "", "v0", "/fv0/", "/s/"),
    ("/s", "", "v0", "/fv0", "/s"),
])
def test_service_path_join(base: str, rest: str, handling: str, req: str, expected: str) -> None:
    """Kong's path_handling table (service path, stripped rest of the request path)."""
    assert _join(base, rest, handling, req) == expected


def test_strip_path_preserve_host_and_service_path() -> None:
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "api", "namespace": "default", "annotations": {"konghq.com/path": "/v2"}},
           "spec": {"ports": [{"port": 80}]}}
    m = _model(_ingress("a", "h.test", [("/api", "Prefix", "api")],
                        {"konghq.com/strip-path": "true", "konghq.com/preserve-host": "false"}), svc)
    out = _get(m, "h.test", "/api/users?id=1")
    assert (out.upstream.path, out.upstream.host) == ("/v2/users?id=1", "api.default.80.svc")


def test_regex_rewrite_uses_captures() -> None:
    m = _model(_ingress("a", "h.test", [("/~/users/(\\d+)", "ImplementationSpecific", "api")],
                        {"konghq.com/rewrite": "/u/$1/profile"}))
    assert _get(m, "h.test", "/users/42").upstream.path == "/u/42/profile"


def test_plugins_refuse_before_proxying() -> None:
    m = _model(_ingress("a", "a.test", [("/", "Prefix", "svc")], {"konghq.com/plugins": "office"}),
               _ingress("b", "b.test", [("/", "Prefix", "svc")], {"konghq.com/plugins": "login"}),
               _ingress("c", "c.test", [("/", "Prefix", "svc")], {"konghq.com/plugins": "closed, stamp"}),
               _plugin("office", "ip-restriction", {"allow": ["10.0.0.0/8"]}),
               _plugin("login", "basic-auth", {}),
               _plugin("closed", "request-termination", {"status_code": 503}),
               _plugin("stamp", "response-transformer", {"add": {"headers": ["x-by:kong"]}}))
    assert _get(m, "a.test", "/", client="203.0.113.9").status == 403
    assert _get(m, "a.test", "/", client="10.1.2.3").status == 200
    assert _get(m, "b.test", "/").status == 401
    assert _get(m, "b.test", "/", headers={"authorization": "Basic dTpw"}).status == 200
    assert _get(m, "c.test", "/").status == 503


def test_response_transformer_adds_headers() -> None:
    m = _model(_ingress("a", "a.test", [("/", "Prefix", "svc")], {"konghq.com/plugins": "stamp"}),
               _plugin("stamp", "response-transformer", {"add": {"headers": ["x-by:kong"]}}))
    assert _get(m, "a.test", "/").response_headers.get("x-by") == "kong"


def test_default_backend_catches_what_nothing_else_matches() -> None:
    ing = _ingress("a", "h.test", [("/api", "Prefix", "api")])
    ing["spec"]["defaultBackend"] = {"service": {"name": "fallback", "port": {"number": 80}}}
    m = _model(ing)
    assert _get(m, "h.test", "/api").backend == "default/api:80"
    assert _get(m, "h.test", "/other").backend == "default/fallback:80"
    assert _get(m, "elsewhere.test", "/").backend == "default/fallback:80"


# --- the provider, from the CLI -----------------------------------------------------------------


def test_route_as_kong(ing2gw) -> None:
    case = ROOT / "testdata" / "convert" / "kong" / "protocols" / "input.yaml"
    r = ing2gw(["route", "-f", str(case), "--as", "kong", "http://secure.example.com/x"])
    assert r.stdout.splitlines()[0] == "426 UpgradeRequired"
    r = ing2gw(["route", "-f", str(case), "--as", "kong", "https://secure.example.com/x"])
    assert r.stdout.splitlines()[0].startswith("200")


def test_service_annotation_on_the_ingress_is_ignored_with_a_note(ing2gw, tmp_path) -> None:
    import yaml

    f = tmp_path / "in.yaml"
    f.write_text(yaml.safe_dump(_ingress("a", "a.test", [("/", "Prefix", "svc")],
                                         {"konghq.com/read-timeout": "5", "kubernetes.io/ingress.class": "kong"})))
    r = ing2gw(["convert", "-f", str(f)])
    assert "KONG-ANNOTATION-WRONG-OBJECT" in r.stderr
    assert "timeouts" not in r.stdout


def test_provider_doc_is_current(ing2gw) -> None:
    """docs/providers/kong.md is `ing2gw providers kong -o markdown`, never edited by hand."""
    r = ing2gw(["providers", "kong", "-o", "markdown"])
    assert (ROOT / "docs" / "providers" / "kong.md").read_text() == r.stdout, (
        "regenerate: ing2gw providers kong -o markdown > docs/providers/kong.md")
