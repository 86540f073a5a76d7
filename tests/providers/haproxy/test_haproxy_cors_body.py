"""CORS (answers, preflights) and body limits of both HAProxy models, each request asked of the
model and of real haproxy serving the configuration the controller would write: the status and
the headers must agree, and they must be what the controller's own configuration gives
(haproxy-ingress: every OPTIONS answered 204 with Max-Age, Origin echoed, ``*`` echoing the
requested method/headers, Vary; ``proxy-body-size`` -> 413. haproxy-tech: headers on every
answer to an allowed Origin, 204 only with ``cors-respond-to-options``)."""

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


def _ing(name: str, host: str, annotations: dict[str, str], prefix: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": {f"{prefix}/{k}": v for k, v in annotations.items()}},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": name, "port": {"number": 80}}}}]}}]}}


HI = "haproxy-ingress.github.io"
INGRESS_DOCS = with_services([
    _ing("any", "any.test", {"cors-enable": "true"}, HI),
    _ing("listed", "listed.test", {"cors-enable": "true", "cors-allow-origin": "https://a.test,https://b.test",
                                   "cors-allow-methods": "*", "cors-allow-headers": "*",
                                   "cors-allow-credentials": "true", "cors-expose-headers": "X-Total",
                                   "cors-max-age": "600"}, HI),
    _ing("regex", "regex.test", {"cors-enable": "true", "cors-allow-origin-regex": r"\.good\.test$ ^https://x\.test$"},
         HI),
    _ing("auth", "auth.test", {"cors-enable": "true", "auth-secret": "users"}, HI),
    _ing("body", "body.test", {"proxy-body-size": "1k"}, HI),
    _ing("bodycors", "bodycors.test", {"proxy-body-size": "1k", "cors-enable": "true"}, HI),
    _ing("approot", "approot.test", {"cors-enable": "true", "app-root": "/app"}, HI),
    _ing("redirect", "redirect.test", {"cors-enable": "true", "redirect-to": "https://elsewhere.test/x"}, HI),
    {**_ing("rootssl", "rootssl.test", {"cors-enable": "true", "app-root": "/app"}, HI),  # TLS: HTTPS redirects
     "spec": {**_ing("rootssl", "rootssl.test", {}, HI)["spec"], "tls": [{"hosts": ["rootssl.test"]}]}},
    # one malformed origin: the controller ignores the list, so any origin is allowed
    _ing("badorigin", "badorigin.test", {"cors-enable": "true", "cors-allow-origin": "https://a.test, https://b.test",
                                         "cors-allow-methods": "GET;POST"}, HI),
])
HT = "haproxy.org"
TECH_DOCS = with_services([
    _ing("any", "any.test", {"cors-enable": "true"}, HT),
    _ing("regex", "regex.test", {"cors-enable": "true", "cors-allow-origin": r"^https://(.+\.)?good\.test$",
                                 "cors-allow-methods": "get, post", "cors-allow-headers": "X-A, X-B",
                                 "cors-allow-credentials": "true", "cors-max-age": "1m"}, HT),
    _ing("options", "options.test", {"cors-enable": "true", "cors-respond-to-options": "true"}, HT),
    _ing("deny", "deny.test", {"cors-enable": "true", "deny-list": "127.0.0.0/8"}, HT),
])

PREFLIGHT = {"Origin": "https://a.test", "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "X-Probe"}


def _ask(plane: Any, docs: list[dict[str, Any]], process: HaproxyProcess, request: Request) -> dict[str, Any]:
    rs = resources(docs)
    process.load(*plane.configuration(rs))
    model, got, problems = compare(plane, rs, process, request)
    assert not problems, problems
    out = model.route(request)
    return {"status": out.status, **{k.lower(): v for k, v in out.response_headers.as_dict().items()},
            "haproxy": got}


# (host, method, headers, expected status, expected response headers; None: absent)
INGRESS_CASES = [
    ("any.test", "GET", {"Origin": "https://o.test"}, 200,
     {"access-control-allow-origin": "https://o.test", "access-control-allow-methods": "GET, PUT, POST, DELETE, "
      "PATCH, OPTIONS", "access-control-max-age": None, "access-control-allow-credentials": None, "vary": None}),
    ("any.test", "GET", {}, 200, {"access-control-allow-origin": None}),
    ("any.test", "OPTIONS", {}, 204, {"access-control-max-age": "86400", "access-control-allow-origin": None}),
    ("any.test", "OPTIONS", PREFLIGHT, 204,
     {"access-control-allow-origin": "https://a.test", "access-control-max-age": "86400",
      "access-control-allow-headers": "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,"
      "Cache-Control,Content-Type,Authorization"}),
    ("listed.test", "OPTIONS", PREFLIGHT, 204,
     {"access-control-allow-origin": "https://a.test",  # methods "*" is refused by the controller: its default
      "access-control-allow-methods": "GET, PUT, POST, DELETE, PATCH, OPTIONS",
      "access-control-allow-headers": "X-Probe", "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Total", "access-control-max-age": "600", "vary": "Origin"}),
    ("listed.test", "GET", {"Origin": "https://b.test"}, 200,
     {"access-control-allow-origin": "https://b.test", "access-control-allow-headers": None, "vary": "Origin"}),
    ("listed.test", "GET", {"Origin": "https://c.test"}, 200, {"access-control-allow-origin": None, "vary": None}),
    ("listed.test", "OPTIONS", {**PREFLIGHT, "Origin": "https://c.test"}, 204,
     {"access-control-allow-origin": None, "access-control-max-age": "600"}),
    ("regex.test", "GET", {"Origin": "https://www.good.test"}, 200,
     {"access-control-allow-origin": "https://www.good.test"}),
    ("regex.test", "GET", {"Origin": "https://x.test"}, 200, {"access-control-allow-origin": "https://x.test"}),
    ("regex.test", "GET", {"Origin": "https://x.test.evil"}, 200, {"access-control-allow-origin": None}),
    ("auth.test", "GET", {"Origin": "https://a.test"}, 401, {"access-control-allow-origin": "https://a.test"}),
    ("auth.test", "OPTIONS", PREFLIGHT, 204, {"access-control-allow-origin": "https://a.test"}),
    ("body.test", "POST", {"Content-Length": "1025"}, 413, {}),
    ("body.test", "POST", {"Content-Length": "1024"}, 200, {}),
    ("body.test", "OPTIONS", {}, 200, {}),  # no CORS: the backend answers OPTIONS
    ("badorigin.test", "GET", {"Origin": "https://z.test"}, 200,
     {"access-control-allow-origin": "https://z.test", "vary": None,
      "access-control-allow-methods": "GET, PUT, POST, DELETE, PATCH, OPTIONS"}),
    ("bodycors.test", "POST", {"Content-Length": "2048", "Origin": "https://o.test"}, 413,
     {"access-control-allow-origin": "https://o.test", "access-control-max-age": None}),
    # the frontend's redirects (app-root, redirect-to, the HTTPS redirect of / before app-root) come
    # before any backend, so the backend's CORS rules never see them; the backend's HTTPS redirect does
    ("approot.test", "GET", {"Origin": "https://o.test"}, 302, {"access-control-allow-origin": None}),
    ("approot.test", "OPTIONS", PREFLIGHT, 302, {"access-control-allow-origin": None}),
    ("redirect.test", "GET", {"Origin": "https://o.test"}, 302, {"access-control-allow-origin": None}),
    ("rootssl.test", "GET", {"Origin": "https://o.test"}, 302, {"access-control-allow-origin": None}),
]


TECH_CASES = [
    ("any.test", "GET", {"Origin": "https://o.test"}, 200,
     {"access-control-allow-origin": "*", "access-control-allow-methods": "*", "access-control-allow-headers": "*",
      "access-control-max-age": "5", "access-control-allow-credentials": None}),
    ("any.test", "GET", {}, 200, {"access-control-allow-origin": None}),
    ("any.test", "OPTIONS", PREFLIGHT, 200, {"access-control-allow-origin": "*"}),  # the backend answers
    ("regex.test", "GET", {"Origin": "https://api.good.test"}, 200,
     {"access-control-allow-origin": "https://api.good.test", "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "X-A,X-B", "access-control-allow-credentials": "true",
      "access-control-max-age": "60"}),
    ("regex.test", "GET", {"Origin": "https://bad.test"}, 200, {"access-control-allow-origin": None}),
    ("options.test", "OPTIONS", {}, 204, {"access-control-allow-origin": None}),
    ("options.test", "OPTIONS", PREFLIGHT, 204, {"access-control-allow-origin": "*", "access-control-max-age": "5"}),
    ("deny.test", "GET", {"Origin": "https://o.test"}, 403,
     {"access-control-allow-origin": "*", "access-control-max-age": "5"}),
]


CASES = [(INGRESS, INGRESS_DOCS, *c) for c in INGRESS_CASES] + [(TECH, TECH_DOCS, *c) for c in TECH_CASES]


@pytest.mark.parametrize(("provider", "docs", "host", "method", "headers", "status", "expected"), CASES,
                         ids=[f"{c[0].name}-{c[2]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_cors_and_body_size(provider: Any, docs: list[dict[str, Any]], host: str, method: str,
                            headers: dict[str, str], status: int, expected: dict[str, str | None],
                            process: HaproxyProcess) -> None:
    got = _ask(provider.data_plane, docs, process,
               Request.build(host=host, method=method, headers=headers, client="127.0.0.1"))
    assert got["status"] == status == got["haproxy"].status
    for name, value in expected.items():
        assert got.get(name) == value == got["haproxy"].headers.get(name), name


def test_the_backend_https_redirect_carries_cors_but_the_frontend_ones_do_not(process: HaproxyProcess) -> None:
    """haproxy-ingress: ``/`` of an app-root host goes to HTTPS in the frontend (no CORS); any
    other path is sent to HTTPS by the backend, whose CORS rules add their headers."""
    origin = {"Origin": "https://o.test"}
    root = _ask(INGRESS.data_plane, INGRESS_DOCS, process, Request.build(host="rootssl.test", path="/", headers=origin,
                                                                         client="127.0.0.1"))
    deep = _ask(INGRESS.data_plane, INGRESS_DOCS, process, Request.build(host="rootssl.test", path="/x",
                                                                         headers=origin, client="127.0.0.1"))
    assert root["status"] == deep["status"] == 302 == root["haproxy"].status == deep["haproxy"].status
    assert root["haproxy"].headers["location"] == "https://rootssl.test/"
    assert root.get("access-control-allow-origin") is None is root["haproxy"].headers.get("access-control-allow-origin")
    assert deep.get("access-control-allow-origin") == "https://o.test" == deep["haproxy"].headers.get(
        "access-control-allow-origin")


def test_malformed_cors_values_are_noted_and_ignored_as_the_controller_does(ing2gw, tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all([d for d in INGRESS_DOCS if d["metadata"]["name"] == "badorigin"]))
    r = ing2gw(["convert", "-f", str(path), "--provider", "haproxy-ingress", "--fail-on", "never"])
    invalid = [ln for ln in r.stderr.splitlines() if "HAPROXY-INGRESS-ANNOTATION-INVALID" in ln]
    assert len(invalid) == 2 and "allows any origin" in invalid[1] and "cors-allow-methods" in invalid[0]
    assert "- '*'" in r.stdout  # the CORS filter allows any origin, as the controller then does
