"""Test support: Ingress sets and expectations for the ingress-nginx model and oracle tests.

The oracle itself (real nginx as ground truth) is product code, in
:mod:`ing2gw.providers.ingress_nginx.oracle`; it is re-exported here for the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from ing2gw.providers.ingress_nginx.oracle import Answer, NginxOracle, Oracle, config_test, disagreement, nginx_binary
from ing2gw.resources import ResourceSet, build_resource_set
from ing2gw.yamlio import Document

__all__ = ["Answer", "NginxOracle", "config_test", "disagreement", "nginx_binary", "nginx_process", "resources_of"]


def resources_of(manifests: list[dict[str, Any]]) -> ResourceSet:
    return build_resource_set([Document(m, f"<test>:{i + 1}") for i, m in enumerate(manifests)])


@contextmanager
def nginx_process() -> Iterator[NginxOracle]:
    """One nginx for a test module; ``Oracle(resources, nginx=process)`` swaps its configuration in."""
    first = Oracle(resources_of([ingress("boot", "boot.test", [("/", "Prefix", "boot")])]))
    if first.nginx.https_port is None:
        first.stop()
        pytest.skip("openssl is not installed: the oracle cannot listen for HTTPS")
    try:
        yield first.nginx
    finally:
        first.stop()


# --- Ingress manifests for the model and oracle tests ---------------------------------------

ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"

Path_ = tuple[str, str, str] | tuple[str, str, str, int]  # (path, pathType, service[, port])


def ingress(
    name: str,
    host: str,
    paths: list[Path_],
    annotations: Mapping[str, str] | None = None,
    *,
    namespace: str = "default",
    created: int = 0,
    tls_hosts: list[str] | None = None,
    default_backend: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """An Ingress manifest; ``created`` orders Ingresses (seconds after a fixed instant);
    short annotation keys get the ingress-nginx prefix."""
    ann = {(k if "/" in k else ANNOTATION_PREFIX + k): v for k, v in (annotations or {}).items()}
    rule: dict[str, Any] = {}
    if host:
        rule["host"] = host
    if paths:
        rule["http"] = {"paths": [
            {"path": p[0], "pathType": p[1],
             "backend": {"service": {"name": p[2], "port": {"number": p[3] if len(p) > 3 else 80}}}}
            for p in paths
        ]}
    spec: dict[str, Any] = {}
    if rule:
        spec["rules"] = [rule]
    if tls_hosts:
        spec["tls"] = [{"hosts": list(tls_hosts), "secretName": f"{name}-tls"}]
    if default_backend:
        spec["defaultBackend"] = {"service": {"name": default_backend[0],
                                              "port": {"number": default_backend[1]}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": f"2024-01-01T{created // 3600:02d}:{created // 60 % 60:02d}:{created % 60:02d}Z",
            "annotations": ann,
        },
        "spec": spec,
    }


def _set(ns: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
    for item in items:
        item["metadata"]["namespace"] = ns
    return list(items)


REGEX = {"use-regex": "true"}

# Section 2.3 of the semantics doc, one host (and namespace) per row; row 3 is invalid.
WORKED_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "ex1": _set("ex1", ingress("a", "ex1.test", [("/foo", "Prefix", "svc-a")])),
    "ex2": _set("ex2", ingress("a", "ex2.test", [("/foo/", "Prefix", "svc-a")])),
    "ex4": _set("ex4",
                ingress("a", "ex4.test", [("/exact", "Exact", "e")], created=1),
                ingress("b", "ex4.test", [("/exact", "Prefix", "p")], created=2),
                ingress("c", "ex4.test", [("/exact", "Prefix", "c")], created=3)),
    "ex5": _set("ex5",
                ingress("exact-root", "ex5.test", [("/", "Exact", "e")], created=1),
                ingress("prefix-root", "ex5.test", [("/", "Prefix", "p")], created=2),
                ingress("exact-foo", "ex5.test", [("/foo", "Exact", "ef")], created=3),
                ingress("prefix-foo", "ex5.test", [("/foo", "Prefix", "pf")], created=4)),
    "ex6": _set("ex6",
                ingress("a", "ex6.test", [("/foo", "Prefix", "s1")], created=1),
                ingress("b", "ex6.test", [("/foo/bar/(.+)", "Prefix", "s2")],
                        {**REGEX, "rewrite-target": "/new/$1"}, created=2),
                ingress("c", "ex6.test", [("/exact", "Exact", "s3")], created=3)),
    "ex7": _set("ex7",
                ingress("s1", "ex7.test", [("/foo/bar", "Prefix", "s1")], created=1),
                ingress("s2", "ex7.test", [("/foo/bar/", "Prefix", "s2")], created=2),
                ingress("s3", "ex7.test", [("/foo/bar/(.+)", "Prefix", "s3")],
                        {**REGEX, "rewrite-target": "/$1"}, created=3)),
    "ex8": _set("ex8",
                ingress("x", "ex8.test", [("/foo/bar/bar", "Prefix", "x")], created=1),
                ingress("y", "ex8.test", [("/foo/bar/[A-Z0-9]{3}", "Prefix", "y")], REGEX, created=2)),
    "ex9": _set("ex9",
                ingress("web", "ex9.test", [("/", "Prefix", "web")], created=1),
                ingress("app", "ex9.test", [("/app(/|$)(.*)", "Prefix", "app")],
                        {**REGEX, "rewrite-target": "/$2"}, created=2)),
    "ex10": _set("ex10", ingress("a", "ex10.test", [("/something", "Prefix", "s")], {"rewrite-target": "/"})),
    "ex11": _set("ex11", ingress("a", "ex11.test", [("/imp", "ImplementationSpecific", "s")])),
    "ex12": _set("ex12",
                 ingress("a", "ex12.test", [("/api", "Prefix", "api")],
                         {"whitelist-source-range": "10.0.0.0/8"}, created=1),
                 ingress("b", "ex12.test", [("/web", "Prefix", "web")], created=2)),
    "ex13": _set("ex13",
                 ingress("wild", "*.w.test", [("/", "Prefix", "wild")], created=1),
                 ingress("exact", "x.w.test", [("/", "Prefix", "exact")], created=2)),
    "ex14": _set("ex14", ingress("a", "ex14.test", [("/api/.*", "Prefix", "r"), ("/api/v1", "Prefix", "v")], REGEX)),
}

DUPLICATE_PREFIX = _set("ex3",
                        ingress("a", "ex3.test", [("/foo", "Prefix", "a")], created=1),
                        ingress("b", "ex3.test", [("/foo/", "Prefix", "b")], created=2))

# Section 6 "Request -> upstream pairs", one host per Ingress setup.
REWRITE_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "rw1": _set("rw1", ingress("a", "rw1.test", [("/something", "Prefix", "echo")], {"rewrite-target": "/"})),
    "rw2": _set("rw2",
                ingress("kube-lego", "rw2.test", [("/.well-known/acme/challenge", "Prefix", "lego")], created=1),
                ingress("b", "rw2.test", [("/", "Prefix", "echo")], {"rewrite-target": "/new/backend"}, created=2)),
    "rw3": _set("rw3",
                ingress("foo", "rw3.test", [("/foo", "Prefix", "foo")], created=1),
                ingress("regex", "rw3.test", [("/foo.+", "Prefix", "regex")],
                        {**REGEX, "rewrite-target": "/new/backend"}, created=2)),
    "rw4": _set("rw4",
                ingress("foo", "rw4.test", [("/foo/bar/bar", "Prefix", "foo")], created=1),
                ingress("regex", "rw4.test", [("/foo/bar/[a-z]{3}", "Prefix", "regex")],
                        {**REGEX, "rewrite-target": "/new/backend"}, created=2)),
    "rw5": _set("rw5", ingress("a", "rw5.test", [("/foo/bar/(.+)", "Prefix", "echo")],
                               {**REGEX, "rewrite-target": "/new/backend/$1"})),
    "rw6": _set("rw6", ingress("a", "rw6.test", [("/", "Prefix", "echo")],
                               {"rewrite-target": "/foo", "x-forwarded-prefix": "/test/value"})),
    "rw7": _set("rw7", ingress("a", "rw7.test", [("/something(/|$)(.*)", "Prefix", "echo")],
                               {**REGEX, "rewrite-target": "/$2"})),
    "rw8": _set("rw8", ingress("a", "rw8.test", [("/plain", "Prefix", "echo")], {"rewrite-target": "/"})),
    "rw9": _set("rw9", ingress("a", "rw9.test", [("/foo/bar/(.+)", "Prefix", "echo")], {"rewrite-target": "/new/$1"})),
}

# (host, request target, status, service or None, upstream target or redirect Location)
EXAMPLE_EXPECTATIONS: list[tuple[str, str, int, str | None, str | None]] = [
    ("ex1.test", "/foo", 200, "svc-a", "/foo"),
    ("ex1.test", "/foo/", 200, "svc-a", "/foo/"),
    ("ex1.test", "/foo/bar", 200, "svc-a", "/foo/bar"),
    ("ex1.test", "/foobar", 404, None, None),
    ("ex1.test", "/FOO", 404, None, None),
    ("ex2.test", "/foo", 301, None, "http://ex2.test/foo/"),
    ("ex2.test", "/foo?q=1", 301, None, "http://ex2.test/foo/?q=1"),
    ("ex2.test", "/foo/x", 200, "svc-a", "/foo/x"),
    ("ex4.test", "/exact", 200, "e", "/exact"),
    ("ex4.test", "/exact/suffix", 200, "p", "/exact/suffix"),
    ("ex5.test", "/", 200, "e", "/"),
    ("ex5.test", "/bar", 200, "p", "/bar"),
    ("ex5.test", "/foo", 200, "ef", "/foo"),
    ("ex5.test", "/foo/bar", 200, "pf", "/foo/bar"),
    ("ex5.test", "/foobar", 200, "p", "/foobar"),
    ("ex6.test", "/foobar", 200, "s1", "/foobar"),
    ("ex6.test", "/FOO", 200, "s1", "/FOO"),
    ("ex6.test", "/exact/more", 200, "s3", "/exact/more"),
    ("ex6.test", "/EXACTLY", 200, "s3", "/EXACTLY"),
    ("ex6.test", "/foo/bar/baz", 200, "s2", "/new/baz"),
    ("ex6.test", "/foo/bar/", 200, "s1", "/foo/bar/"),
    ("ex7.test", "/foo/bar/1", 200, "s3", "/1"),
    ("ex7.test", "/foo/bar/", 200, "s2", "/foo/bar/"),
    ("ex7.test", "/foo/bar", 200, "s1", "/foo/bar"),
    ("ex7.test", "/foo/barbaz", 200, "s1", "/foo/barbaz"),
    ("ex7.test", "/FOO/BAR", 200, "s1", "/FOO/BAR"),
    ("ex8.test", "/foo/bar/bar", 200, "y", "/foo/bar/bar"),
    ("ex9.test", "/app", 200, "app", "/"),
    ("ex9.test", "/app/", 200, "app", "/"),
    ("ex9.test", "/app/x?y=1", 200, "app", "/x?y=1"),
    ("ex9.test", "/APP/x", 200, "app", "/x"),
    ("ex9.test", "/application", 200, "web", "/application"),
    ("ex10.test", "/something/else", 200, "s", "/"),
    ("ex10.test", "/somethingelse", 200, "s", "/"),
    ("ex11.test", "/imp", 200, "s", "/imp"),
    ("ex11.test", "/imp/x", 200, "s", "/imp/x"),
    ("ex11.test", "/impossible", 404, None, None),
    ("ex11.test", "/IMP", 404, None, None),
    ("ex12.test", "/other", 403, None, None),
    ("ex12.test", "/web", 200, "web", "/web"),
    ("x.w.test", "/", 200, "exact", "/"),
    ("y.w.test", "/", 200, "wild", "/"),
    ("Y.W.TEST", "/", 200, "wild", "/"),
    ("a.b.w.test", "/", 404, None, None),
    ("ex14.test", "/api/v1x", 200, "v", "/api/v1x"),
    ("ex14.test", "/api/v2", 200, "r", "/api/v2"),
]

REWRITE_EXPECTATIONS: list[tuple[str, str, int, str | None, str | None]] = [
    ("rw1.test", "/something", 200, "echo", "/"),
    ("rw2.test", "/.well-known/acme/challenge", 200, "lego", "/.well-known/acme/challenge"),
    ("rw3.test", "/foo", 200, "foo", "/foo"),
    ("rw3.test", "/foo/bar", 200, "regex", "/new/backend"),
    ("rw4.test", "/foo/bar/bar", 200, "regex", "/new/backend"),
    ("rw5.test", "/foo/bar/bar", 200, "echo", "/new/backend/bar"),
    ("rw6.test", "/", 200, "echo", "/foo"),
    ("rw7.test", "/something", 200, "echo", "/"),
    ("rw7.test", "/something/", 200, "echo", "/"),
    ("rw7.test", "/something/new", 200, "echo", "/new"),
    ("rw7.test", "/SOMETHING/new", 200, "echo", "/new"),
    ("rw7.test", "/something/new?x=1", 200, "echo", "/new?x=1"),
    ("rw7.test", "/somethingelse", 404, None, None),
    ("rw8.test", "/plain/deep/path", 200, "echo", "/"),
    ("rw8.test", "/plain/x?y=1", 200, "echo", "/?y=1"),
    ("rw8.test", "/plainly", 200, "echo", "/"),
    ("rw7.test", "/something/a%2Fb", 200, "echo", "/a/b"),
    ("rw7.test", "/something/a%20b", 200, "echo", "/a%20b"),
    ("rw7.test", "/something//x", 200, "echo", "/x"),
    ("rw9.test", "/foo/bar/%7Ex", 200, "echo", "/new/~x"),
    ("rw9.test", "/FOO/BAR/Baz", 200, "echo", "/new/Baz"),
]

# Server names, server-level and location-level redirects, host-less rules.
OTHER_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "al": _set("al", ingress("a", "al.test", [("/a", "Prefix", "a"), ("/", "Exact", "root")],
                             {"server-alias": "alias.test, *.wild-alias.test, www.trail.*", "app-root": "/start"})),
    "rd": _set("rd",
               ingress("perm", "rd.test", [("/old", "Prefix", "x")], {"permanent-redirect": "/new"}, created=1),
               ingress("temp", "rd.test", [("/tmp", "Prefix", "y")],
                       {"temporal-redirect": "https://elsewhere.test/t?a=1", "temporal-redirect-code": "307"},
                       created=2),
               ingress("rel", "rd.test", [("/rel", "Exact", "z")],
                       {"permanent-redirect": "/r", "permanent-redirect-code": "308", "relative-redirects": "true"},
                       created=3),
               ingress("plain", "rd.test", [("/plain", "Prefix", "p")], created=4)),
    "hl": _set("hl", ingress("hostless", "", [("/hl", "Prefix", "hl"), ("/hx/", "Prefix", "hx")])),
}

OTHER_REQUESTS: list[tuple[str, str]] = [
    ("al.test", "/"), ("al.test", "/?x=1"), ("al.test", "/a/b"), ("alias.test", "/a"), ("alias.test", "/"),
    ("x.wild-alias.test", "/a"), ("a.b.wild-alias.test", "/a/"), ("wild-alias.test", "/a"),
    ("www.trail.example", "/a"), ("www.trail", "/a"), ("ALIAS.TEST", "/a"),
    ("rd.test", "/"), ("rd.test", "/old"), ("rd.test", "/old/x?q=1"), ("rd.test", "/tmp/"), ("rd.test", "/rel"),
    ("rd.test", "/rel/"), ("rd.test", "/plain"), ("rd.test", "/nothing"),
    ("whatever.test", "/hl"), ("whatever.test", "/hl/x"), ("whatever.test", "/hx"), ("whatever.test", "/hx?a=b"),
    ("whatever.test", "/healthz"), ("whatever.test", "/HL"),
]
