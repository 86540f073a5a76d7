"""Every claim a note makes about the two data planes is checked against what ``ing2gw route``
answers: the Gateway side through the reference router over ``ing2gw convert``'s output, the
ingress-nginx side through ``ing2gw route --as ingress-nginx``. A note whose text says one
thing while the router does another is a defect (issue #11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import support

TLS_HOST = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: web
  creationTimestamp: "2024-01-01T00:00:00Z"
  annotations: {nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8}
spec:
  ingressClassName: nginx
  tls:
  - {hosts: [shop.example.com], secretName: shop-tls}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /app, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
"""
PLAIN_HOST = TLS_HOST.replace("  tls:\n  - {hosts: [shop.example.com], secretName: shop-tls}\n", "")
CATCH_ALL = """\
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback, namespace: web, creationTimestamp: "2024-02-01T00:00:00Z"}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: fallback, port: {number: 80}}}
"""


def _setup(ing2gw: Any, tmp_path: Path, ingresses: str) -> tuple[Path, Path, list[dict[str, Any]]]:
    src = tmp_path / "ingress.yaml"
    src.write_text(ingresses)
    report = tmp_path / "report.json"
    r = ing2gw(["convert", "-f", str(src), "--fail-on", "never", "--allow-unprotected", "-q",
                "--report", str(report), "--report-format", "json"])
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "gateway.yaml"
    out.write_text(r.stdout)
    return src, out, json.loads(report.read_text())["notes"]


def _note(notes: list[dict[str, Any]], code: str, subject: str | None = None) -> dict[str, Any]:
    found = [n for n in notes if n["code"] == code and (subject is None or n["subject"] == subject)]
    assert found, f"no {code} note in {[n['code'] for n in notes]}"
    return found[0]


def _gateway(ing2gw: Any, manifests: Path, url: str, *headers: str, method: str = "GET") -> dict[str, Any]:
    args = ["route", "-f", str(manifests), url, "-o", "json", "-X", method]
    for h in headers:
        args += ["-H", h]
    r = ing2gw(args)
    assert r.exit_code == 0, r.stderr
    return dict(json.loads(r.stdout))


def _nginx(ing2gw: Any, ingresses: Path, url: str, *headers: str, method: str = "GET",
           client: str = "203.0.113.9") -> dict[str, Any]:
    args = ["route", "--as", "ingress-nginx", "-f", str(ingresses), url, "-o", "json", "-X", method,
            "--client", client]
    for h in headers:
        args += ["-H", h]
    r = ing2gw(args)
    assert r.exit_code == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_default_backend_catch_all_serves_unmatched_paths_of_named_hosts(ing2gw: Any, tmp_path: Path) -> None:
    src, gw, notes = _setup(ing2gw, tmp_path, PLAIN_HOST + CATCH_ALL)
    text = _note(notes, "NGINX-DEFAULT-BACKEND-CATCH-ALL")["message"]
    assert "unmatched paths of hosts other Ingresses name" in text and "HTTP listener" in text
    # "it serves every plain-HTTP request no other rule matches ..."
    assert _gateway(ing2gw, gw, "http://other.example.com/x")["backend"] == "web/fallback:80"
    assert _gateway(ing2gw, gw, "http://shop.example.com/other")["backend"] == "web/fallback:80"
    # "... (ingress-nginx answers those from the host's own implicit / location)"
    assert _nginx(ing2gw, src, "http://shop.example.com/other")["matched"]["ingress"] == "web/shop"
    assert _nginx(ing2gw, src, "http://other.example.com/x")["backend"] == "web/fallback:80"


def test_implicit_root_note_says_what_the_gateway_answers(ing2gw: Any, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    src, gw, notes = _setup(ing2gw, alone, PLAIN_HOST)
    text = _note(notes, "NGINX-IMPLICIT-ROOT-ANNOTATIONS")["message"]
    assert text.endswith("it answers them 404")
    assert _gateway(ing2gw, gw, "http://shop.example.com/other")["status"] == 404
    assert _nginx(ing2gw, src, "http://shop.example.com/other")["status"] == 403  # the inherited allow-list

    both = tmp_path / "both"
    both.mkdir()
    src, gw, notes = _setup(ing2gw, both, PLAIN_HOST + CATCH_ALL)
    text = _note(notes, "NGINX-IMPLICIT-ROOT-ANNOTATIONS")["message"]
    assert text.endswith("the catch-all default backend of Ingress web/fallback serves them")
    assert _gateway(ing2gw, gw, "http://shop.example.com/other")["backend"] == "web/fallback:80"


def test_unmatched_plain_http_paths_of_tls_hosts_are_redirected_like_nginx(ing2gw: Any, tmp_path: Path) -> None:
    src, gw, _ = _setup(ing2gw, tmp_path, TLS_HOST + CATCH_ALL)
    nginx = _nginx(ing2gw, src, "http://shop.example.com/other", client="10.1.2.3")
    gateway = _gateway(ing2gw, gw, "http://shop.example.com/other")
    assert nginx["status"] == gateway["status"] == 308
    assert gateway["redirect"]["location"] == "https://shop.example.com/other"


def test_regex_host_mode_note_only_where_regular_expressions_are_emitted(ing2gw: Any, tmp_path: Path) -> None:
    ingresses = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: strip
  namespace: web
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /$2}
spec:
  ingressClassName: nginx
  rules:
  - host: site.example.com
    http:
      paths:
      - {path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: docs, namespace: web}
spec:
  ingressClassName: nginx
  rules:
  - host: site.example.com
    http:
      paths:
      - {path: /docs, pathType: Prefix, backend: {service: {name: docs, port: {number: 80}}}}
"""
    _, gw, notes = _setup(ing2gw, tmp_path, ingresses)
    regex_notes = {n["subject"] for n in notes if n["code"] == "NGINX-REGEX-HOST-MODE"}
    assert regex_notes == {"Ingress web/docs"}
    assert "RegularExpression" in _note(notes, "NGINX-REGEX-HOST-MODE")["instead"]
    assert _note(notes, "NGINX-REWRITE-AS-PREFIX", "Ingress web/strip")
    import yaml

    kinds = {}
    for doc in yaml.safe_load_all(gw.read_text()):
        if doc and doc.get("kind") == "HTTPRoute":
            source = doc["metadata"]["annotations"]["ing2gw.io/source"]
            kinds[source] = {m["path"]["type"] for r in doc["spec"]["rules"] for m in r.get("matches", [])}
    assert kinds == {"Ingress web/docs": {"RegularExpression"}, "Ingress web/strip": {"PathPrefix"}}
    # the regex the note describes: case-insensitive and anchored at the start only
    assert _gateway(ing2gw, gw, "http://site.example.com/DOCS/deeper")["backend"] == "web/docs:80"


def test_cors_note_for_an_explicit_origin_list(ing2gw: Any, tmp_path: Path) -> None:
    src = support.ROOT / "testdata" / "verify" / "cors" / "input.yaml"
    _, gw, notes = _setup(ing2gw, tmp_path, src.read_text())
    text = _note(notes, "NGINX-CORS")["message"]
    preflight = ("Access-Control-Request-Method: GET",)
    listed = ("Origin: https://app.example.com", *preflight)
    other = ("Origin: https://elsewhere.example.org", *preflight)
    assert "answers a preflight from a listed origin itself with 204" in text
    assert _nginx(ing2gw, src, "http://api.example.com/", *listed, method="OPTIONS")["status"] == 204
    assert "passes OPTIONS requests from any other origin on to the backend" in text
    passed = _nginx(ing2gw, src, "http://api.example.com/", *other, method="OPTIONS")
    assert passed["backend"] == "web/api:80" and not any(
        h.lower().startswith("access-control-") for h in passed["responseHeaders"])
    assert "the Gateway CORS filter answers every preflight itself (200" in text
    for headers in (listed, other):
        answer = _gateway(ing2gw, gw, "http://api.example.com/", *headers, method="OPTIONS")
        assert answer["status"] == 200 and answer["backend"] is None
    allowed = _gateway(ing2gw, gw, "http://api.example.com/", *listed, method="OPTIONS")["responseHeaders"]
    refused = _gateway(ing2gw, gw, "http://api.example.com/", *other, method="OPTIONS")["responseHeaders"]
    assert "access-control-allow-origin" in {h.lower() for h in allowed}
    assert "access-control-allow-origin" not in {h.lower() for h in refused}
    assert "other responses carry only Allow-Origin, Allow-Credentials and Expose-Headers" in text
    actual = _gateway(ing2gw, gw, "http://api.example.com/", "Origin: https://app.example.com")["responseHeaders"]
    assert {h.lower() for h in actual if h.lower().startswith("access-control-")} <= {
        "access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers"}


def test_grpc_only_note(ing2gw: Any, tmp_path: Path) -> None:
    src = support.ROOT / "testdata" / "verify" / "grpc" / "input.yaml"
    _, gw, notes = _setup(ing2gw, tmp_path, src.read_text())
    text = _note(notes, "NGINX-GRPC-ONLY")["message"]
    assert "the Gateway answers the others 404" in text
    assert _gateway(ing2gw, gw, "https://rpc.example.com/pkg.Svc/Call")["status"] == 404
    grpc = _gateway(ing2gw, gw, "https://rpc.example.com/pkg.Svc/Call", "Content-Type: application/grpc",
                    method="POST")
    assert grpc["backend"] == "rpc/api:50051"
    assert "passes every request" in text
    assert _nginx(ing2gw, src, "https://rpc.example.com/pkg.Svc/Call")["backend"] == "rpc/api:50051"


def test_default_certificate_note(ing2gw: Any, tmp_path: Path) -> None:
    from ing2gw.providers.ingress_nginx import PROVIDER

    plane = PROVIDER.data_plane
    text = next(n for n in plane.controller_notes() if n.code == "NGINX-DEFAULT-CERTIFICATE").message
    src = support.ROOT / "testdata" / "verify" / "default-certificate" / "input.yaml"
    _, gw, _ = _setup(ing2gw, tmp_path, src.read_text())
    assert "answers https:// for every host" in text
    assert _nginx(ing2gw, src, "https://plain.example.com/")["status"] == 200
    assert "https:// clients of the others now fail the TLS handshake" in text
    assert _gateway(ing2gw, gw, "https://plain.example.com/")["status"] is None
    assert _gateway(ing2gw, gw, "https://secure.example.com/")["status"] == 200
