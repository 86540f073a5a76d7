"""The Traefik data-plane model (providers/traefik/model.py) on the behaviours Traefik's own
tests and docs fix: rule-length priority, character prefixes, one-label wildcards, TLS-only
routers, entry points, class filtering, middlewares and refused routers."""

from __future__ import annotations

from typing import Any

import pytest

from ing2gw.http import Request
from ing2gw.providers.traefik.crds import KINDS
from ing2gw.providers.traefik.model import TraefikModel
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document


def ingress(name: str, host: str, paths: list[tuple[str, str, str]], cls: str | None = "traefik",
            **annotations: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"number": 80}}}} for p, t, s in paths]}}
    if host:
        rule["host"] = host
    spec: dict[str, Any] = {"rules": [rule]}
    if cls:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "ns",
                         "annotations": {f"traefik.ingress.kubernetes.io/{k.replace('_', '.')}": v
                                         for k, v in annotations.items()}},
            "spec": spec}


def middleware(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": name, "namespace": "ns"},
            "spec": spec}


def model(*docs: dict[str, Any]) -> TraefikModel:
    return TraefikModel.from_resources(build_resource_set([Document(d, f"t:{i}") for i, d in enumerate(docs)],
                                                          kinds=KINDS))


def get(m: TraefikModel, url: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    return m.route(Request.from_url(url, method=method, headers=headers)).to_dict()


def test_a_longer_rule_wins_even_without_a_host_and_prefix_is_by_characters() -> None:
    m = model(ingress("shop", "shop.test", [("/", "Prefix", "shop"), ("/exact", "Exact", "exact")]),
              ingress("long", "", [("/a-very-long-hostless-prefix", "Prefix", "long")]))
    assert get(m, "http://shop.test/exact")["backend"] == "ns/shop:80"  # PathPrefix("/") is one character longer
    assert get(m, "http://shop.test/a-very-long-hostless-prefix-and-more")["backend"] == "ns/long:80"


def test_explicit_priority_beats_length() -> None:
    m = model(ingress("shop", "shop.test", [("/", "Prefix", "shop"), ("/exact", "Exact", "exact")]),
              ingress("pin", "shop.test", [("/exact", "Exact", "pinned")], router_priority="1000"))
    assert get(m, "http://shop.test/exact")["backend"] == "ns/pinned:80"


def test_wildcards_match_one_label() -> None:
    m = model(ingress("w", "*.apps.test", [("/", "Prefix", "apps")]))
    assert get(m, "http://a.apps.test/")["status"] == 200
    assert get(m, "http://a.b.apps.test/")["status"] == 404
    assert get(m, "http://apps.test/")["status"] == 404


def test_tls_routers_serve_only_tls_and_entry_points_choose_the_port() -> None:
    m = model(ingress("secure", "s.test", [("/", "Prefix", "s")], router_tls="true"),
              ingress("plain", "p.test", [("/", "Prefix", "p")], router_entrypoints="web"))
    assert get(m, "http://s.test/")["status"] == 404 and get(m, "https://s.test/")["status"] == 200
    assert get(m, "http://p.test/")["status"] == 200 and get(m, "https://p.test/")["status"] == 404


def test_class_filtering_serves_ingresses_without_a_class() -> None:
    m = model(ingress("none", "n.test", [("/", "Prefix", "n")], cls=None),
              {**ingress("other", "o.test", [("/", "Prefix", "o")], cls=None),
               "metadata": {"name": "other", "namespace": "ns", "annotations": {"kubernetes.io/ingress.class": "x"}}})
    assert get(m, "http://n.test/")["status"] == 200 and get(m, "http://o.test/")["status"] == 404


@pytest.mark.parametrize(("method", "permanent", "status"), [("GET", True, 301), ("POST", True, 308),
                                                               ("GET", False, 302), ("POST", False, 307)])
def test_redirect_scheme_status_depends_on_the_method(method: str, permanent: bool, status: int) -> None:
    m = model(ingress("r", "r.test", [("/", "Prefix", "r")], router_middlewares="ns-https@kubernetescrd"),
              middleware("https", redirectScheme={"scheme": "https", "permanent": permanent}))
    out = get(m, "http://r.test/a?b=1", method)
    assert out["status"] == status and out["redirect"]["location"] == "https://r.test/a?b=1"
    assert get(m, "https://r.test/a")["status"] == 200  # already https: served


def test_path_middlewares_and_protections() -> None:
    m = model(ingress("p", "p.test", [("/api", "Prefix", "api")],
                      router_middlewares="ns-strip@kubernetescrd,ns-guard@kubernetescrd"),
              middleware("strip", stripPrefix={"prefixes": ["/api"]}),
              middleware("guard", chain={"middlewares": ["ns-ips", "ns-auth"]}),
              middleware("ips", ipAllowList={"sourceRange": ["10.0.0.0/8"]}),
              middleware("auth", basicAuth={"secret": "users"}))
    assert m.route(Request.from_url("http://p.test/api/x"), "192.0.2.1").status == 403
    assert m.route(Request.from_url("http://p.test/api/x"), "10.1.2.3").status == 401
    assert get(m, "http://p.test/api/x")["status"] == 401
    out = get(m, "http://p.test/apix", authorization="Basic dTpw")
    assert out["status"] == 200 and out["upstream"]["path"] == "/x"


def test_a_router_whose_middleware_is_missing_is_refused() -> None:
    m = model(ingress("p", "p.test", [("/", "Prefix", "p")], router_middlewares="gone@file"))
    assert get(m, "http://p.test/")["status"] == 404
