"""Round trip of the kgateway, agentgateway and traefik emitters: convert, read the emitted
policies back (``read_policies``), and find each consumed intent again on the route it was
emitted for, stated with the target's behaviour (429, one bucket for every client or one per
client address, the htpasswd formats accepted, the auth call really made). The readers ignore
every kind that is not theirs, and a malformed object of theirs is a PolicyReadError."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

import pytest
import yaml
from support import TESTDATA

from ing2gw.emit.impl import ipranges
from ing2gw.emit.registry import discover_emitters, read_policies
from ing2gw.intents import BasicAuth, BodyLimit, ClientCertAuth, ExternalAuth, IPAccess, RateLimit
from ing2gw.policy import AttachedPolicy, PolicyReadError, PolicyTarget

INPUT = TESTDATA / "emit" / "kgateway" / "mixed" / "input.yaml"
ADMIN = PolicyTarget("HTTPRoute", "shop", "admin-shop-example-com")
SITE = PolicyTarget("HTTPRoute", "shop", "site-shop-example-com")
# What the source asked for: 10.0.0.0/8 except 10.9.0.0/16, deny-first.
SOURCE_ACL = IPAccess(allow=("10.0.0.0/8",), deny=("10.9.0.0/16",),
                      provenance=None)  # type: ignore[arg-type]

# emitter -> the auth call it makes, the rate limit's key, the htpasswd formats it accepts
TARGETS: dict[str, dict[str, Any]] = {
    "kgateway": {"auth": "http://auth.shop:8080/verify", "key": "route", "hashes": {"sha"}},
    "agentgateway": {"auth": "http://auth.shop:8080/verify", "key": "route",
                     "hashes": {"apr1", "bcrypt", "crypt", "sha"}},
    "traefik": {"auth": "http://auth.shop.svc.cluster.local:8080/verify", "key": "client-ip",
                "hashes": {"apr1", "md5-crypt", "sha", "bcrypt"}},
}


def _convert(ing2gw, emitter: str) -> list[dict[str, Any]]:
    r = ing2gw(["convert", "-f", str(INPUT), "--emitter", emitter])
    assert r.exit_code == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def _one(policies: list[AttachedPolicy], target: PolicyTarget, kind: type) -> AttachedPolicy:
    found = [p for p in policies if p.target == target and isinstance(p.intent, kind)]
    assert len(found) == 1, (target, kind, policies)
    return found[0]


def _admitted(access: IPAccess) -> list[str]:
    return ipranges.texts(ipranges.admitted(access))


@pytest.mark.parametrize("emitter", sorted(TARGETS))
def test_read_policies_gives_back_what_was_consumed(ing2gw, emitter: str) -> None:
    want = TARGETS[emitter]
    manifests = _convert(ing2gw, emitter)
    plugin = discover_emitters().get(emitter)
    policies = plugin.read_policies(manifests)  # type: ignore[attr-defined]
    assert {p.target for p in policies} == {ADMIN, SITE}
    assert len(policies) == 5  # nothing read twice, nothing invented

    acl = _one(policies, ADMIN, IPAccess).intent
    assert isinstance(acl, IPAccess) and acl.status == 403
    assert _admitted(acl) == _admitted(SOURCE_ACL)
    for probe, admitted in (("10.1.2.3", True), ("10.9.0.1", False), ("192.168.0.1", False)):
        assert any(ipaddress.ip_address(probe) in ipaddress.ip_network(n) for n in _admitted(acl)) is admitted

    auth = _one(policies, ADMIN, ExternalAuth).intent
    assert isinstance(auth, ExternalAuth) and auth.url == want["auth"]
    body = _one(policies, ADMIN, BodyLimit).intent
    assert isinstance(body, BodyLimit) and body.max_bytes == 8 << 20

    limit = _one(policies, SITE, RateLimit).intent
    assert isinstance(limit, RateLimit)
    assert (limit.rate, limit.unit, limit.burst, limit.key, limit.status) == (10, "second", 41, want["key"], 429)
    assert limit.rate + limit.burst == 51  # nginx limit_req burst=50 nodelay admits 51 requests at once
    basic = _one(policies, SITE, BasicAuth)
    assert isinstance(basic.intent, BasicAuth) and basic.intent.secret == "shop/basic-auth"
    assert basic.hash_schemes == want["hashes"]
    assert basic.accepts_hash("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=")
    assert basic.accepts_hash("$apr1$x$y") is ("apr1" in want["hashes"])

    # The registry asks every emitter; the others ignore these kinds, so nothing is added.
    assert set(read_policies(manifests)) == set(policies)


def test_readers_ignore_the_other_targets_objects(ing2gw) -> None:
    every = {name: _convert(ing2gw, name) for name in TARGETS}
    registry = discover_emitters()
    for name, manifests in every.items():
        for other in TARGETS:
            if other != name:
                assert registry.get(other).read_policies(manifests) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("emitter", "kind", "path"), [
    ("kgateway", "TrafficPolicy", ("spec", "rateLimit", "local", "tokenBucket", "fillInterval")),
    ("agentgateway", "AgentgatewayPolicy", ("spec", "traffic", "authorization", "policy", "matchExpressions")),
    ("traefik", "Middleware", ("spec", "rateLimit", "period")),
])
def test_a_malformed_own_object_is_a_read_error(ing2gw, emitter: str, kind: str, path: tuple[str, ...]) -> None:
    manifests = copy.deepcopy(_convert(ing2gw, emitter))
    for m in manifests:
        node = m
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None  # type: ignore[assignment]
            if node is None:
                break
        if m["kind"] == kind and isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = ["cidr('nonsense')"] if path[-1] == "matchExpressions" else "forever"
            break
    else:
        raise AssertionError(f"no {kind} with {'.'.join(path)}")
    with pytest.raises(PolicyReadError, match=kind):
        discover_emitters().get(emitter).read_policies(manifests)  # type: ignore[attr-defined]


def test_kgateway_reads_back_a_static_auth_backend_and_listener_client_certs(ing2gw) -> None:
    reader = discover_emitters().get("kgateway")
    r = ing2gw(["convert", "-f", str(TESTDATA / "emit" / "kgateway" / "auth-url-external" / "input.yaml"),
                "--emitter", "kgateway"])
    assert r.exit_code == 0, r.stderr  # the external auth host is carried, not lost
    (auth,) = reader.read_policies([d for d in yaml.safe_load_all(r.stdout) if d])  # type: ignore[attr-defined]
    assert isinstance(auth.intent, ExternalAuth) and auth.intent.url == "https://auth.example.net:443/check"

    r = ing2gw(["convert", "-f", str(TESTDATA / "emit" / "kgateway" / "client-cert" / "input.yaml"),
                "--emitter", "kgateway"])
    assert r.exit_code == 0, r.stderr
    (cert,) = reader.read_policies([d for d in yaml.safe_load_all(r.stdout) if d])  # type: ignore[attr-defined]
    assert cert.target == PolicyTarget("Gateway", "gateway-system", "nginx", "https-shop-example-com")
    assert isinstance(cert.intent, ClientCertAuth)
    assert (cert.intent.ca_secret, cert.intent.mode) == ("shop/client-ca", "on")
