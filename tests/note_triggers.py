"""For every note code the ingress-nginx provider can emit: an Ingress set that triggers it.

Each trigger puts the Ingress under test on host ``a.example.com`` (unless the case needs
another shape) next to a neighbour Ingress on ``b.example.com``; ``tests/providers/ingress_nginx/test_note_scopes.py``
checks that the note explains only differences of its declared aspects on its own rules.
"""

from __future__ import annotations

from typing import Any

N = "nginx.ingress.kubernetes.io/"


def ingress(name: str, host: str = "a.example.com", paths: list[Any] | None = None,
            annotations: dict[str, str] | None = None, created: str = "2024-01-01T00:00:00Z",
            namespace: str = "web", **spec: Any) -> dict[str, Any]:
    rule_paths = []
    for p in paths if paths is not None else [("/", "Prefix", name, 80)]:
        path, ptype, svc, port = p
        backend = {"service": {"name": svc, "port": {"number": port} if isinstance(port, int) else {"name": port}}}
        rule_paths.append({"path": path, "pathType": ptype, "backend": backend})
    body: dict[str, Any] = {"ingressClassName": "nginx", **spec}
    rule: dict[str, Any] = {"http": {"paths": rule_paths}}
    if host:
        rule["host"] = host
    body.setdefault("rules", [rule])
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created,
                         "annotations": {N + k if "/" not in k else k: v for k, v in (annotations or {}).items()}},
            "spec": body}


NEIGHBOUR = ingress("neighbour", "b.example.com")
TLS = {"tls": [{"hosts": ["a.example.com"], "secretName": "a-tls"}]}


def one(annotations: dict[str, str], paths: list[Any] | None = None, **spec: Any) -> list[dict[str, Any]]:
    return [ingress("subject", annotations=annotations, paths=paths, **spec)]


def service(name: str, port_name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "web"},
            "spec": {"ports": [{"name": port_name, "port": 80}]}}


def with_backend(backend: dict[str, Any]) -> dict[str, Any]:
    """The subject Ingress with its one path's backend as given."""
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    return {**ingress("subject"), "spec": {"ingressClassName": "nginx", "rules": [
        {"host": "a.example.com", "http": {"paths": [path]}}]}}


def controller(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "data": data}


def stream_services(proto: str = "tcp", **data: str) -> list[dict[str, Any]]:
    """The subject Ingress and a ``tcp-services`` (``udp-services``) ConfigMap with ``data``."""
    return [*one({}), {"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": f"{proto}-services", "namespace": "ingress-nginx"}, "data": data}]


HEADERS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "headers", "namespace": "web"},
           "data": {"X-Custom": "1"}}
SNIPPET = {"configuration-snippet": "more_set_headers 'X: 1';"}

# code (without NGINX-) -> (Ingresses, experimental)
TRIGGERS: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "AFFINITY": (one({"affinity": "cookie"}), True),
    "AFFINITY-EXPERIMENTAL": (one({"affinity": "cookie"}), False),
    "APP-ROOT-QUERY": (one({"app-root": "/app?x=1"}), False),
    "BACKEND-INVALID": ([with_backend({"service": {"name": "", "port": {"number": 80}}})], False),
    "BACKEND-NAMED-PORT-UNKNOWN": ([ingress("subject", paths=[("/", "Prefix", "svc", "web")]),
                                    service("svc", "other")], False),
    "BACKEND-NAMED-PORT-UNRESOLVED": ([ingress("subject", paths=[("/", "Prefix", "svc", "web")]),
                                       service("unrelated", "web")], False),
    "BACKEND-PORT-UNKNOWN": ([ingress("subject", paths=[("/", "Prefix", "svc", 81)]), service("svc", "http")], False),
    "BACKEND-SERVICE-MISSING": ([ingress("subject", paths=[("/", "Prefix", "gone", 80)]), service("neighbour", "http")],
                                False),
    "BACKEND-RESOURCE": ([with_backend({"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "b"}})],
                         False),
    "BACKEND-PROTOCOL": (one({"backend-protocol": "FCGI"}), False),
    "BACKEND-TLS-CA": (one({"backend-protocol": "HTTPS", "proxy-ssl-secret": "web/ca",
                            "proxy-ssl-verify": "on", "proxy-ssl-name": "a.internal"}), False),
    "BACKEND-TLS-INCOMPLETE": (one({"backend-protocol": "HTTPS"}), False),
    "BACKEND-TLS-VERIFY": (one({"backend-protocol": "HTTPS", "proxy-ssl-secret": "web/ca",
                                "proxy-ssl-name": "a.internal", "proxy-ssl-verify": "off"}), False),
    "CANARY-ANNOTATIONS-IGNORED": ([ingress("subject"), ingress("canary", annotations={
        "canary": "true", "canary-weight": "10", "rewrite-target": "/x"}, paths=[("/", "Prefix", "v2", 80)])], False),
    "CANARY-COOKIE": ([ingress("subject"), ingress("canary", annotations={"canary": "true", "canary-by-cookie": "c"},
                                                   paths=[("/", "Prefix", "v2", 80)])], False),
    "CANARY-CROSS-NAMESPACE": ([ingress("subject"), ingress("canary", annotations={"canary": "true",
                                                                                   "canary-weight": "10"},
                                                            paths=[("/", "Prefix", "v2", 80)], namespace="other")],
                               False),
    "CANARY-DEFAULT-BACKEND": ([ingress("subject"), {**ingress("canary", annotations={"canary": "true"}),
                                                     "spec": {"ingressClassName": "nginx", "defaultBackend": {
                                                         "service": {"name": "v2", "port": {"number": 80}}}}}], False),
    "CANARY-DUPLICATE": ([ingress("subject"),
                          ingress("canary", annotations={"canary": "true", "canary-weight": "10"},
                                  paths=[("/", "Prefix", "v2", 80)]),
                          ingress("canary2", annotations={"canary": "true", "canary-weight": "20"},
                                  paths=[("/", "Prefix", "v3", 80)], created="2024-02-01T00:00:00Z")], False),
    "CANARY-ORPHAN": ([ingress("subject"), ingress("canary", annotations={"canary": "true", "canary-weight": "10"},
                                                   paths=[("/", "Prefix", "v2", 80),
                                                          ("/missing", "Prefix", "v2", 80)])], False),
    "CANARY-PATTERN-INVALID": ([ingress("subject"), ingress("canary", annotations={
        "canary": "true", "canary-by-header": "x", "canary-by-header-pattern": "(?<=a)b"},
        paths=[("/", "Prefix", "v2", 80)])], False),
    "CANARY-SAME-SERVICE": ([ingress("subject"), ingress("canary", annotations={"canary": "true",
                                                                                "canary-weight": "10"},
                                                         paths=[("/", "Prefix", "subject", 80)])], False),
    "CANARY-SCOPE": ([ingress("subject"), ingress("canary", annotations={"canary": "true", "canary-weight": "10"},
                                                  paths=[("/", "Prefix", "v2", 80)])], False),
    "CORS": (one({"enable-cors": "true", "cors-allow-origin": "https://x.example.org"}), False),
    "CORS-ORIGIN-SKIPPED": (one({"enable-cors": "true", "cors-allow-origin": "https://x.example.org, not an origin"}),
                            False),
    "CUSTOM-HEADERS": ([ingress("subject", annotations={"custom-headers": "web/headers"}), HEADERS,
                        controller(**{"global-allowed-response-headers": "X-Custom"})], False),
    "CUSTOM-HEADERS-REFUSED": ([ingress("subject", annotations={"custom-headers": "web/headers"}), HEADERS], False),
    "CUSTOM-HEADERS-MISSING": (one({"custom-headers": "web/headers"}), False),
    "DEFAULT-BACKEND-CATCH-ALL": ([{**ingress("subject"), "spec": {"ingressClassName": "nginx", "defaultBackend": {
        "service": {"name": "fallback", "port": {"number": 80}}}}}], False),
    "DEFAULT-BACKEND-CONFLICT": ([{**ingress(n, created=c), "spec": {"ingressClassName": "nginx", "defaultBackend": {
        "service": {"name": n, "port": {"number": 80}}}}} for n, c in (("first", "2024-01-01T00:00:00Z"),
                                                                        ("subject", "2024-02-01T00:00:00Z"))], False),
    "DEFAULT-BACKEND-PER-HOST": (one({}, defaultBackend={"service": {"name": "fallback", "port": {"number": 80}}},
                                     paths=[("/app", "Prefix", "app", 80)]), False),
    "FORCE-SSL-REDIRECT-FORWARDED": (one({"force-ssl-redirect": "true"}, **TLS), False),
    "FORCE-SSL-REDIRECT-NO-TLS": (one({"force-ssl-redirect": "true"}), False),
    "GRPC-ONLY": (one({"backend-protocol": "GRPC"}), False),
    "GRPC-PATH": (one({"backend-protocol": "GRPC"}, paths=[("/a/b/c", "Prefix", "grpc", 50051)]), False),
    "GRPC-REWRITE": (one({"backend-protocol": "GRPC", "rewrite-target": "/x"}), False),
    "IMPLICIT-ROOT-ANNOTATIONS": (one({"permanent-redirect": "https://elsewhere.example.org"},
                                      paths=[("/app", "Prefix", "app", 80)]), False),
    "INGRESS-REFUSED-INVALID": (one({"server-alias": "bad alias!"}), False),
    "LOCATIONS-DENIED": (one({"auth-type": "basic"}), False),
    "MIRROR-EXTERNAL": (one({"mirror-target": "https://mirror.example.org$request_uri"}), False),
    "MIRROR-HOST": (one({"mirror-target": "http://mirror.web.svc:8080", "mirror-host": "m.example.org"}), False),
    "MIRROR-PATH": (one({"mirror-target": "http://mirror.web.svc:8080/copy"}), False),
    "PATH-CONFLICT": ([ingress("first"), ingress("subject", created="2024-02-01T00:00:00Z")], False),
    "PATH-DUPLICATE": (one({}, paths=[("/", "Prefix", "x", 80), ("/", "Prefix", "y", 80)]), False),
    "PATH-INVALID": (one({}, paths=[("nope", "Prefix", "x", 80)]), False),
    "PATH-NOT-EXPRESSIBLE": (one({}, paths=[("/a//b", "Prefix", "x", 80)]), False),
    "PATHTYPE-INVALID": (one({}, paths=[("/app", "Sometimes", "x", 80)]), False),
    "READ-TIMEOUT": (one({"proxy-read-timeout": "120"}), False),
    "REDIRECT-CODE": (one({"permanent-redirect": "https://elsewhere.example.org", "permanent-redirect-code": "305"}),
                      False),
    "REDIRECT-QUERY": (one({"permanent-redirect": "https://elsewhere.example.org/?a=1"}), False),
    "REDIRECT-SHADOWED": (one({"permanent-redirect": "https://one.example.org",
                               "temporal-redirect": "https://two.example.org"}), False),
    "REGEX-HOST-MODE": (one({"use-regex": "true"}, paths=[("/app/[0-9]+", "ImplementationSpecific", "x", 80)]), False),
    "REGEX-INVALID": (one({"use-regex": "true"}, paths=[("/app/(?<=x)", "ImplementationSpecific", "x", 80)]), False),
    "REGEX-ORDER": (one({"use-regex": "true"}, paths=[("/app/[0-9]+", "ImplementationSpecific", "x", 80),
                                                      ("/app/.*", "ImplementationSpecific", "y", 80)]), False),
    "REWRITE-AS-PREFIX": (one({"rewrite-target": "/$2"}, paths=[("/api(/|$)(.*)", "ImplementationSpecific", "x", 80)]),
                          False),
    "REWRITE-CAPTURE": (one({"rewrite-target": "/v/$2/$1"}, paths=[("/(a|b)/(.*)", "ImplementationSpecific", "x", 80)]),
                        False),
    "SERVER-ALIAS-NOT-EXPRESSIBLE": (one({"server-alias": "~^www\\d+\\.example\\.com$"}), False),
    "SERVER-ALIAS-REAL-HOST": (one({"server-alias": "b.example.com"}), False),
    "SNIPPET": ([*one(SNIPPET), controller(**{"annotations-risk-level": "Critical",
                                               "allow-snippet-annotations": "true"})], False),
    "SNIPPET-IGNORED": ([*one(SNIPPET), controller(**{"annotations-risk-level": "Critical"})], False),
    "SNIPPET-INGRESS-REFUSED": (one(SNIPPET), False),
    "SSL-PASSTHROUGH": (one({"ssl-passthrough": "true"}, **TLS), False),
    "SSL-PASSTHROUGH-NO-ROOT": (one({"ssl-passthrough": "true"}, paths=[("/app", "Prefix", "x", 443)], **TLS), False),
    "SSL-REDIRECT-TRAILING-SLASH": (one({}, **TLS), False),
    "STREAM-CONFIGMAP": (stream_services(**{"9000": "web/db:5432"}), False),
    "STREAM-FIELDS-IGNORED": (stream_services("udp", **{"53": "web/dns:53:PROXY"}), False),
    "STREAM-INVALID": (stream_services(**{"9000": "web/db"}), False),
    "STREAM-NAMED-PORT": (stream_services(**{"9000": "web/db:pg"}), False),
    "STREAM-NO-SERVICE-PORT": ([*stream_services(**{"9000": "web/subject:5432"}), service("subject", "http")], False),
    "STREAM-PROXY-PROTOCOL": (stream_services(**{"9000": "web/db:5432:PROXY"}), False),
    "STREAM-PROXY-PROTOCOL-UPSTREAM": (stream_services(**{"9000": "web/db:5432::PROXY"}), False),
    "STREAM-RESERVED-PORT": (stream_services(**{"443": "web/db:5432"}), False),
    "TLS-CONFLICT": ([ingress("first", **TLS),
                      ingress("subject", created="2024-02-01T00:00:00Z",
                              tls=[{"hosts": ["a.example.com"], "secretName": "other-tls"}])], False),
    "TLS-NO-HOSTS": ([ingress("subject", "", tls=[{"secretName": "a-tls"}])], False),
    "TLS-NO-SECRET": (one({}, tls=[{"hosts": ["a.example.com"]}]), False),
    "TRAILING-SLASH-REDIRECT": (one({}, paths=[("/docs/", "Prefix", "x", 80)]), False),
    "UPSTREAM-VHOST-INVALID": (one({"upstream-vhost": "in_ternal.example.com"}), False),
    "UPSTREAM-VHOST-PORT": (one({"upstream-vhost": "internal.example.com:8080"}), False),
    "UPSTREAM-VHOST-VARIABLE": (one({"upstream-vhost": "$host.internal"}), False),
    "WILDCARD-HOST-DEPTH": ([ingress("subject", "*.a.example.com")], False),
    "WWW-REDIRECT-SKIPPED": ([ingress("subject", annotations={"from-to-www-redirect": "true"}),
                              ingress("www", "www.a.example.com")], False),
    "X-FORWARDED-PREFIX-UNUSED": (one({"x-forwarded-prefix": "/p"}), False),
    "ANNOTATION-APPROXIMATE": (one({"canary-by-header-pattern": "x"}), False),
    "ANNOTATION-EXTENSION": (one({"whitelist-source-range": "10.0.0.0/8"}), False),
    "ANNOTATION-UNSUPPORTED": (one({"connection-proxy-header": "keep-alive"}), False),
    "ANNOTATION-INVALID": (one({"limit-rps": "many"}), False),
    "ANNOTATION-UNKNOWN": (one({"no-such-annotation": "1"}), False),
}
