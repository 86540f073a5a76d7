"""Where each controller redirects in its rule order, asked of the model and of real haproxy:
haproxy-ingress redirects before its backend's IP lists and auth (app-root and redirect-to in
the frontend, then the HTTPS redirect first in the backend; ``/`` of a TLS host goes to HTTPS
before app-root), haproxy-tech refuses first (its deny and auth rules precede its redirects)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from haproxy_support import compare, haproxy_process, resources, with_services

from ing2gw.http import Request
from ing2gw.providers._haproxy.process import HaproxyProcess
from ing2gw.providers.haproxy_ingress import PROVIDER as INGRESS
from ing2gw.providers.haproxy_tech import PROVIDER as TECH


@pytest.fixture(scope="module")
def process() -> Iterator[HaproxyProcess]:
    yield from haproxy_process()


def _docs(prefix: str, annotations: dict[str, str]) -> list[dict[str, Any]]:
    return with_services([{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "app", "annotations": {f"{prefix}/{k}": v for k, v in annotations.items()}},
        "spec": {"tls": [{"hosts": ["app.test"], "secretName": "app-tls"}],
                 "rules": [{"host": "app.test", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                     "service": {"name": "app", "port": {"number": 80}}}}]}}]}}])


CASES = [
    # (plane, prefix, annotations, scheme, path, status, Location)
    (INGRESS, "haproxy-ingress.github.io", {"allowlist-source-range": "10.0.0.0/8"}, "http", "/x", 302,
     "https://app.test/x"),
    (INGRESS, "haproxy-ingress.github.io", {"allowlist-source-range": "10.0.0.0/8"}, "https", "/x", 403, None),
    (INGRESS, "haproxy-ingress.github.io", {"auth-secret": "users"}, "http", "/x", 302, "https://app.test/x"),
    (INGRESS, "haproxy-ingress.github.io", {"app-root": "/home", "redirect-to": "https://other.test/"}, "http", "/",
     302, "https://app.test/"),
    (INGRESS, "haproxy-ingress.github.io", {"app-root": "/home", "redirect-to": "https://other.test/"}, "https", "/",
     302, "/home"),
    (INGRESS, "haproxy-ingress.github.io", {"app-root": "/home", "redirect-to": "https://other.test/"}, "http", "/x",
     302, "https://other.test/"),
    (TECH, "haproxy.org", {"allow-list": "10.0.0.0/8"}, "http", "/x", 403, None),
    (TECH, "haproxy.org", {"request-redirect": "other.test", "ssl-redirect-port": "443"}, "http", "/x", 302,
     "https://app.test/x"),
]


@pytest.mark.parametrize(("plane", "prefix", "annotations", "scheme", "path", "status", "location"), CASES,
                         ids=[f"{c[0].name}-{'-'.join(c[2])}-{c[3]}{c[4]}" for c in CASES])
def test_redirects_and_refusals_in_the_controllers_order(plane: Any, prefix: str, annotations: dict[str, str],
                                                         scheme: str, path: str, status: int, location: str | None,
                                                         process: HaproxyProcess) -> None:
    rs = resources(_docs(prefix, annotations))
    process.load(*plane.data_plane.configuration(rs))
    request = Request.build(host="app.test", path=path, scheme=scheme, client="127.0.0.1")
    model, got, problems = compare(plane.data_plane, rs, process, request)
    assert not problems, problems
    out = model.route(request)
    assert out.status == status == got.status
    assert (out.redirect.location if out.redirect else None) == location == got.headers.get("location")
