"""Real nginx as ground truth for the ingress-nginx model.

One nginx process per module serves the configuration the *independent* generator
(:mod:`ing2gw.providers.ingress_nginx.nginxconf`, not the model) writes for every Ingress set
of the semantics doc (section 2.3 worked examples, section 6 rewrite table), each on its own
host. Every request -- the documented ones plus generated boundary requests per path (exact,
trailing slash, deeper, sibling, case, percent-encoding, dot segments, double slash, query,
unknown host), over HTTP and HTTPS -- goes to the model and to nginx; both must agree on
status, chosen location and backend, redirect Location, the URI and headers forwarded
upstream and the response headers. ``test_nginx_oracle_defects`` does the same for the shapes
of issue #14 and shows that a broken model is caught.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml
from nginx_oracle import (
    DUPLICATE_PREFIX,
    EXAMPLE_EXPECTATIONS,
    OTHER_EXAMPLES,
    OTHER_REQUESTS,
    REWRITE_EXAMPLES,
    REWRITE_EXPECTATIONS,
    WORKED_EXAMPLES,
    config_test,
    nginx_binary,
)

from ing2gw.http import Request
from ing2gw.providers.ingress_nginx.model import NginxModel
from ing2gw.providers.ingress_nginx.nginxconf import generate
from ing2gw.providers.ingress_nginx.oracle import Oracle
from ing2gw.providers.ingress_nginx.oracle import disagreement as product_disagreement
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="the nginx binary is not installed")

CLIENT = "127.0.0.1"  # the oracle's requests come from loopback
_LITERAL = re.compile(r"[A-Za-z0-9/._~-]*")


def _model(manifests: list[dict[str, Any]], validate: bool = True) -> NginxModel:
    docs = [Document(m, f"<oracle>:{i + 1}") for i, m in enumerate(manifests)]
    return NginxModel.from_resources(build_resource_set(docs), validate=validate)


@cache
def oracle_model() -> NginxModel:
    groups = (*WORKED_EXAMPLES.values(), *REWRITE_EXAMPLES.values(), *OTHER_EXAMPLES.values())
    return _model([m for group in groups for m in group])


@pytest.fixture(scope="module")
def nginx() -> Iterator[Oracle]:
    model = oracle_model()
    assert model.resources is not None
    oracle = Oracle(model.resources)
    if oracle.nginx.https_port is None:
        oracle.stop()
        pytest.skip("openssl is not installed: the oracle cannot listen for HTTPS")
    try:
        yield oracle
    finally:
        oracle.stop()


def _literal_prefix(path: str) -> str:
    m = _LITERAL.match(path)
    assert m is not None
    return m.group(0)


def boundary_requests(model: NginxModel) -> list[tuple[str, str]]:
    """Requests around every path of every server (see the module docstring)."""
    out: list[tuple[str, str]] = [("unknown.test", "/"), ("unknown.test", "/foo"), ("unknown.test", "/healthz"),
                                  ("unknown.test", "/healthz/x")]
    for server in model.servers:
        if server.is_default or server.redirect_to is not None:
            continue
        host = "sub." + server.name[2:] if server.name.startswith("*.") else server.name
        out += [(host, "/"), (host, "/?q=1"), (host, "/../x"), (host.upper(), "/")]
        seen: set[str] = set()
        for loc in server.locations:
            base = _literal_prefix(loc.entry.path).rstrip("/") or "/"
            if base in seen:
                continue
            seen.add(base)
            if base == "/":
                continue
            head, last = base[:-1], base[-1]
            out += [
                (host, base), (host, base + "/"), (host, base + "/deeper/x"), (host, base + "bar"),
                (host, base + "/?q=1"), (host, base + "?q=1&r"), (host, base.upper()), (host, base.upper() + "/"),
                (host, f"{head}%{ord(last):02X}"), (host, f"{head}%{ord(last):02x}/x"),
                (host, "/" + base), (host, base + "//x"), (host, base + "/./x"),
                (host, base + "/../" + base.rsplit("/", 1)[-1] + "/x"), (host, base + "%2Fx"),
                (host, base + "/a%20b"), (host, base[:-1]), (host, base + "/" + base.rsplit("/", 1)[-1]),
            ]
    return list(dict.fromkeys(out))


def disagreement(model: NginxModel, oracle: Oracle, host: str, target: str, scheme: str = "http") -> str | None:
    problems = product_disagreement(model, oracle, "GET", host, target, CLIENT, scheme=scheme)
    return f"{scheme}://{host}{target}: " + "; ".join(problems) if problems else None


def _check_all(nginx: Oracle, requests: list[tuple[str, str]]) -> None:
    model = oracle_model()
    problems = [p for host, target in requests for scheme in ("http", "https")
                if (p := disagreement(model, nginx, host, target, scheme))]
    assert not problems, f"{len(problems)} of {2 * len(requests)} requests disagree:\n" + "\n".join(problems)


def test_worked_examples_agree_with_nginx(nginx: Oracle) -> None:
    _check_all(nginx, [(host, target) for host, target, *_ in EXAMPLE_EXPECTATIONS])


def test_worked_examples_match_the_doc_in_nginx(nginx: Oracle) -> None:
    """The doc's stated results, checked against nginx itself (not only the model)."""
    for host, target, status, svc, where in EXAMPLE_EXPECTATIONS + REWRITE_EXPECTATIONS:
        answer = nginx.nginx.send("GET", host, target)
        assert answer.status == status, (host, target, answer)
        if status == 301:
            assert answer.headers["location"] == where
        elif svc is not None:
            assert answer.echo is not None
            assert answer.echo["headers"]["x-ing2gw-backend"].split("/", 1)[1].rsplit(":", 1)[0] == svc
            assert answer.echo["path"] == where


def test_rewrite_table_agrees_with_nginx(nginx: Oracle) -> None:
    _check_all(nginx, [(host, target) for host, target, *_ in REWRITE_EXPECTATIONS])


def test_boundary_requests_agree_with_nginx(nginx: Oracle) -> None:
    requests = boundary_requests(oracle_model())
    assert len(requests) > 300
    _check_all(nginx, requests)


def test_server_names_redirects_and_hostless_rules_agree_with_nginx(nginx: Oracle) -> None:
    _check_all(nginx, OTHER_REQUESTS)
    model = oracle_model()
    assert model.route(Request.build(host="x.wild-alias.test", path="/a")).backend == "al/a:80"
    assert model.route(Request.build(host="al.test", path="/")).to_dict()["redirect"] == {
        "location": "http://al.test/start", "statusCode": 302}


def test_rendered_config_is_what_ingress_nginx_writes(nginx: Oracle) -> None:
    conf = nginx.nginx.conf
    assert 'location ~* "^/foo/bar/(.+)" {' in conf
    assert 'rewrite "(?i)/foo/bar/(.+)" /new/$1 break;' in conf
    assert 'location = "/foo" {' in conf and 'location "/foo/" {' in conf
    assert r'server_name "~^(?<subdomain>[\\w-]+)\\.w\\.test$" ;' in conf


def _conf_text(manifests: list[dict[str, Any]], webhook: bool) -> Any:
    docs = [Document(m, f"<oracle>:{i + 1}") for i, m in enumerate(manifests)]
    return generate(build_resource_set(docs), webhook=webhook)


def test_duplicate_locations_fail_nginx_config_test() -> None:
    invalid = _conf_text(DUPLICATE_PREFIX, webhook=False)
    ok, output = config_test(invalid.render(listen="127.0.0.1:1", upstream="127.0.0.1:2", prefix="@PREFIX@").text)
    assert not ok and "duplicate location" in output
    valid = _conf_text(DUPLICATE_PREFIX, webhook=True)
    assert valid.rejected.keys() == {"ex3/b"}
    ok, output = config_test(valid.render(listen="127.0.0.1:1", upstream="127.0.0.1:2", prefix="@PREFIX@").text)
    assert ok, output
    assert _model(DUPLICATE_PREFIX).topology.rejected.keys() == {"ex3/b"}  # the model agrees


def _rewriting(target: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "zero", "namespace": "default", "annotations": {
                "nginx.ingress.kubernetes.io/rewrite-target": target, "nginx.ingress.kubernetes.io/use-regex": "true"}},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "zero.test", "http": {"paths": [
                {"path": "/foo", "pathType": "ImplementationSpecific",
                 "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}}


def test_a_rewrite_naming_capture_zero_fails_nginx_and_the_ingress_is_refused(ing2gw, tmp_path: Any) -> None:
    """nginx's captures are $1..$9: the rewrite the controller renders, with $0, fails ``nginx -t``
    (so the admission webhook refuses the Ingress); the model and the conversion leave it out
    rather than failing on it."""
    conf = _conf_text([_rewriting("/x$1")], webhook=True).render(listen="127.0.0.1:1", upstream="127.0.0.1:2",
                                                                prefix="@PREFIX@").text
    assert 'rewrite "(?i)/foo" /x$1 break;' in conf
    assert config_test(conf)[0]
    ok, output = config_test(conf.replace("/x$1 break;", "/x$0 break;"))
    assert not ok and 'unknown "0" variable' in output
    zero = [_rewriting("/x$0")]
    assert set(_conf_text(zero, webhook=True).rejected) == {"default/zero"}
    model = _model(zero)
    assert [n.code for n in model.notes if "$0" in n.message] == ["NGINX-MODEL-INGRESS-REJECTED"]
    assert model.route(Request.build(host="zero.test", path="/foo/a", client=CLIENT)).status == 404
    path = tmp_path / "zero.yaml"
    path.write_text(yaml.safe_dump_all(zero))
    converted = ing2gw(["convert", "-f", str(path), "--fail-on", "never"])
    assert converted.exit_code == 0 and "HTTPRoute" not in converted.stdout
    assert "NGINX-INGRESS-REFUSED-INVALID: Ingress default/zero" in converted.stderr and "$0" in converted.stderr
    verified = ing2gw(["verify", "-f", str(path), "-o", "json"])
    assert verified.exit_code == 0, verified.stderr
    assert json.loads(verified.stdout)["summary"]["differ"] == 0
