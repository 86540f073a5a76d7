"""The ingress-nginx model's protections (model/access.py): credentials checked against the
htpasswd file (the upstream e2e basic-auth cases), client_max_body_size before redirects,
limit-rps/limit-rpm counted with limit_req semantics per client and Ingress, external auth
answered by the stand-in (with auth-signin), satisfy any."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from nginx_oracle import ingress

from ing2gw.cases import CaseClock
from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Request
from ing2gw.providers.ingress_nginx.model import NginxModel
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

# the upstream e2e Secret "test": user foo, password bar (here as apr1, made by `openssl passwd -apr1`)
FOO_BAR = "foo:$apr1$e2eSalt0$KOBz1/Q.z/wdGgsRCbW4k.\n"
E2E_AUTH = {"auth-type": "basic", "auth-secret": "test", "auth-realm": "test auth"}


def _model(annotations: dict[str, str], config: dict[str, str] | None = None, tls: bool = False) -> NginxModel:
    m = ingress("auth", "auth", [("/", "Prefix", "echo", 80)], annotations, tls_hosts=["auth"] if tls else None)
    return NginxModel.from_resources(build_resource_set([Document(m, "<test>:1")]), config)


def _get(model: NginxModel, **kw: Any) -> Any:
    kw.setdefault("host", "auth")
    kw.setdefault("path", "/")
    return model.route(Request.build(**kw))


def _basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


def test_upstream_basic_auth_cases_with_the_secret_given(tmp_path: Path) -> None:
    users = tmp_path / "test.htpasswd"
    users.write_text(FOO_BAR)
    model = _model(E2E_AUTH).enforcing(Credentials.from_options([f"default/test={users}"]))
    assert _get(model).status == 401  # basic-auth-missing
    ok = _get(model, headers=[_basic("foo", "bar")])  # basic-auth-ok
    assert (ok.status, ok.backend) == (200, "default/echo:80")
    wrong = _get(model, headers=[_basic("foo", "baz")])
    assert wrong.status == 401 and wrong.response_headers.get("www-authenticate") == 'Basic realm="test auth"'
    # without the file only the presence of credentials can be checked (and a note says so)
    presence = _get(_model(E2E_AUTH), headers=[_basic("foo", "baz")])
    assert presence.status == 200 and any("not checked" in n for n in presence.notes)


def test_body_size_is_checked_before_the_location_redirects() -> None:
    model = _model({"proxy-body-size": "8k"}, tls=True)
    assert _get(model, headers=[("content-length", "8192")]).status == 308  # ssl-redirect
    too_big = _get(model, headers=[("content-length", "8193")])
    assert too_big.status == 413 and too_big.backend is None
    default = _model({})  # the ConfigMap default: 1m
    assert _get(default, headers=[("content-length", str(1024 * 1024 + 1))]).status == 413
    assert _get(_model({}, {"proxy-body-size": "0"}), headers=[("content-length", "99999999")]).status == 200


def test_limit_rps_counts_per_client_with_burst_and_status() -> None:
    clock = CaseClock()
    model = _model({"limit-rps": "2", "limit-burst-multiplier": "3", "limit-allowlist": "10.0.0.0/8"},
                   {"limit-req-status-code": "429"}).enforcing(Credentials(), clock)
    statuses = [_get(model, client="203.0.113.9").status for _ in range(8)]
    assert statuses == [200] * 7 + [429]  # burst 6 + 1
    assert _get(model, client="203.0.113.10").status == 200  # another client, another key
    assert all(_get(model, client="10.1.1.1").status == 200 for _ in range(20))  # limit-allowlist
    clock.now = 0.5  # one request drained (2r/s)
    assert [_get(model, client="203.0.113.9").status for _ in range(2)] == [200, 429]
    # not counting (verify's boundary probes): every request is the first
    uncounted = _model({"limit-rps": "1"})
    assert all(_get(uncounted, client="203.0.113.9").status == 200 for _ in range(5))


def test_external_auth_uses_the_stand_in() -> None:
    model = _model({"auth-url": "http://auth.auth.svc.cluster.local/verify"})
    assert _get(model).status == 401
    assert _get(model, headers=[("Authorization", "Bearer x")]).status == 200
    signin = _model({"auth-url": "http://auth.auth.svc/verify", "auth-signin": "https://login.example.com/start"})
    out = _get(signin, path="/a b?x=1")
    assert out.status == 302 and out.redirect is not None
    assert out.redirect.location == "https://login.example.com/start?rd=http://auth/a%20b?x=1"


def test_satisfy_any_lets_either_check_through() -> None:
    model = _model({"allowlist-source-range": "10.0.0.0/8", "satisfy": "any",
                    "auth-url": "http://auth.auth.svc/verify"})
    assert _get(model, client="10.0.0.5").status == 200
    assert _get(model, client="203.0.113.9", headers=[("Authorization", "Bearer x")]).status == 200
    assert _get(model, client="203.0.113.9").status == 401
    all_of = _model({"allowlist-source-range": "10.0.0.0/8", "auth-url": "http://auth.auth.svc/verify"})
    assert _get(all_of, client="203.0.113.9", headers=[("Authorization", "Bearer x")]).status == 403
