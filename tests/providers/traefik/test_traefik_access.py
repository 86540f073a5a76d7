"""The protections the Traefik model applies (providers/traefik/access.py): forwardAuth through
the stand-in auth service, rateLimit buckets of ``burst`` tokens, basicAuth credentials."""

from __future__ import annotations

from typing import Any

from ing2gw.enforce.credentials import Credentials, parse_htpasswd
from ing2gw.http import Request
from ing2gw.providers.traefik.crds import KINDS
from ing2gw.providers.traefik.model import TraefikModel
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document


def model(middlewares: str, **spec: Any) -> TraefikModel:
    """One Ingress for a.example.com using ``middlewares``, and the Middleware ``spec`` describes."""
    name, kind = next(iter(spec.items()))
    docs = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
             "metadata": {"name": "a", "namespace": "ns",
                          "annotations": {"traefik.ingress.kubernetes.io/router.middlewares": middlewares}},
             "spec": {"ingressClassName": "traefik", "rules": [{"host": "a.example.com", "http": {"paths": [
                 {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
             ]}}]}},
            {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware",
             "metadata": {"name": middlewares.split("-", 1)[1].split("@")[0], "namespace": "ns"},
             "spec": {name: kind}}]
    return TraefikModel.from_resources(build_resource_set([Document(d, f"t:{i}") for i, d in enumerate(docs)],
                                                          kinds=KINDS))


def _get(m, host: str, headers: dict[str, str] | None = None, client: str = "198.51.100.1"):  # type: ignore[no-untyped-def]
    return m.route(Request.build(host=host, path="/", headers=list((headers or {}).items()), client=client))


def test_forward_auth_asks_the_stand_in_and_copies_its_headers_upstream() -> None:
    m = model("ns-sso@kubernetescrd", forwardAuth={"address": "http://auth.ns.svc/verify",
                                                   "authResponseHeaders": ["X-Auth-Request-User"]})
    refused = _get(m, "a.example.com")
    assert refused.status == 401 and refused.response_headers.get("www-authenticate") == 'Bearer realm="stand-in"'
    allowed = _get(m, "a.example.com", {"authorization": "Bearer t"})
    assert allowed.status == 200 and allowed.upstream is not None
    assert allowed.upstream.headers.get("x-auth-request-user") == "stand-in"


def test_forward_auth_sends_only_the_auth_request_headers() -> None:
    m = model("ns-sso@kubernetescrd", forwardAuth={"address": "http://auth/", "authRequestHeaders": ["X-Token"]})
    assert _get(m, "a.example.com", {"authorization": "Bearer t"}).status == 401  # not sent to the auth service


def test_rate_limit_bucket_holds_burst_requests_per_client() -> None:
    m = model("ns-rl@kubernetescrd", rateLimit={"average": 5, "burst": 10})
    assert all(_get(m, "a.example.com").status == 200 for _ in range(20))  # boundary probes: nothing counted
    counting = m.enforcing(Credentials(), lambda: 0.0, count=True)
    answers = [_get(counting, "a.example.com").status for _ in range(11)]
    assert answers == [200] * 10 + [429]
    assert _get(counting, "a.example.com", client="198.51.100.2").status == 200  # another client, another bucket


def test_basic_auth_checks_credentials_when_a_file_is_given() -> None:
    m = model("ns-staff@kubernetescrd", basicAuth={"secret": "users"})
    basic = {"authorization": "Basic dXNlcjpwYXNz"}  # user:pass
    assert _get(m, "a.example.com").status == 401
    assert _get(m, "a.example.com", {"authorization": "Bearer t"}).status == 401  # not Basic credentials
    assert _get(m, "a.example.com", basic).status == 200  # presence only without a file
    files = Credentials({"ns/users": parse_htpasswd("user:{SHA}nU4eI71bcnBGqeO0t9tXvY1u5oQ=\n", "users")})
    checked = m.enforcing(files, count=False)
    assert _get(checked, "a.example.com", basic).status == 200
    assert _get(checked, "a.example.com", {"authorization": "Basic dXNlcjp3cm9uZw=="}).status == 401
