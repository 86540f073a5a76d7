"""The policy contract (ing2gw.policy) and the registry's read_policies: targets, hash schemes,
which attached policies apply to a routed request, and collection from installed emitters."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from ing2gw.emit.registry import EMITTER_API_VERSION, discover_emitters, read_policies
from ing2gw.intents import BasicAuth, BodyLimit, IPAccess, RateLimit
from ing2gw.ir import Provenance
from ing2gw.policy import AttachedPolicy, PolicyIndex, PolicyTarget, hash_scheme, provenance_of

P = Provenance("SecurityPolicy", "shop", "web")


def _limit(rate: int, status: int = 429) -> RateLimit:
    return RateLimit(rate=rate, unit="second", burst=rate, key="route", status=status, provenance=P)


def test_target_labels_and_kinds() -> None:
    assert PolicyTarget("HTTPRoute", "shop", "web").label() == "HTTPRoute shop/web"
    assert PolicyTarget("HTTPRoute", "shop", "web", "api").label() == "HTTPRoute shop/web rule api"
    assert PolicyTarget("Gateway", "gw", "main", "https").label() == "Gateway gw/main listener https"
    with pytest.raises(ValueError, match="not 'Service'"):
        PolicyTarget("Service", "shop", "web")


@pytest.mark.parametrize(("stored", "scheme"), [
    ("$apr1$abcdefgh$0123456789012345678901", "apr1"),
    ("{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "sha"),
    ("{SSHA}b2xkc2FsdA==", "ssha"),
    ("$2y$05$abcdefghijklmnopqrstuv", "bcrypt"),
    ("$6$salt$hash", "sha512-crypt"),
    ("$5$salt$hash", "sha256-crypt"),
    ("$1$salt$hash", "md5-crypt"),
    ("{PLAIN}secret", "plain"),
    ("abJnggxhB/yWI", "crypt"),
])
def test_hash_scheme_names_the_htpasswd_format(stored: str, scheme: str) -> None:
    assert hash_scheme(stored) == scheme


def test_sha_only_target_locks_out_apr1_users() -> None:
    auth = BasicAuth(scheme="basic", secret="shop/users", provenance=P)
    sha_only = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"), auth, "TrafficPolicy shop/web",
                              frozenset({"sha"}))
    assert sha_only.accepts_hash("{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=")
    assert not sha_only.accepts_hash("$apr1$abcdefgh$0123456789012345678901")
    anything = AttachedPolicy(sha_only.target, auth, "SecurityPolicy shop/web")
    assert anything.accepts_hash("$apr1$abcdefgh$0123456789012345678901")
    with pytest.raises(ValueError, match="unknown htpasswd hash scheme"):
        AttachedPolicy(sha_only.target, auth, "x", frozenset({"md4"}))


def test_most_specific_target_wins_per_intent_kind() -> None:
    rule = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web", "api"), _limit(5), "A shop/rule")
    route = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"), _limit(50), "A shop/route")
    body = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"), BodyLimit(max_bytes=10, provenance=P),
                          "B shop/route")
    listener = AttachedPolicy(PolicyTarget("Gateway", "gw", "main", "https"),
                              IPAccess(allow=("10.0.0.0/8",), provenance=P), "C gw/listener")
    gateway = AttachedPolicy(PolicyTarget("Gateway", "gw", "main"), _limit(500), "A gw/main")
    index = PolicyIndex([gateway, listener, body, route, rule, rule])

    assert index.applicable("HTTPRoute", "shop/web", "api", "gw/main", "https") == (rule, body, listener)
    assert index.applicable("HTTPRoute", "shop/web", "other", "gw/main", "http") == (body, route)
    assert index.applicable("HTTPRoute", "shop/other", None, "gw/main", "http") == (gateway,)
    # a GRPCRoute of the same name is another object
    assert index.applicable("GRPCRoute", "shop/web", "api", "gw/main", "http") == (gateway,)
    assert not PolicyIndex([]) and PolicyIndex([]).applicable("HTTPRoute", "a/b", None, None, None) == ()


def test_provenance_of_an_emitted_object() -> None:
    obj = {"kind": "SecurityPolicy", "metadata": {"name": "web", "namespace": "shop"}}
    assert provenance_of(obj, "spec.basicAuth").subject == "SecurityPolicy shop/web"


class _Reader:
    """An emitter that reads back its own ``ToyLimit`` objects."""

    name = "reader"
    api_version = EMITTER_API_VERSION
    description = "test"
    consumes = (RateLimit,)

    def emit(self, ir: Any, ctx: Any) -> list[dict[str, Any]]:
        return []

    def read_policies(self, manifests: Sequence[dict[str, Any]]) -> list[AttachedPolicy]:
        out = []
        for obj in manifests:
            if obj.get("kind") != "ToyLimit":
                continue
            ref = obj["spec"]["targetRef"]
            target = PolicyTarget(ref["kind"], obj["metadata"]["namespace"], ref["name"], ref.get("sectionName"))
            intent = RateLimit(rate=obj["spec"]["rate"], unit="second", key="route", status=429,
                               provenance=provenance_of(obj))
            out.append(AttachedPolicy(target, intent, f"ToyLimit {obj['metadata']['namespace']}/"
                                                      f"{obj['metadata']['name']}"))
        return out


def test_registry_collects_from_every_emitter_that_reads_policies() -> None:
    ep = SimpleNamespace(name="reader", load=lambda: _Reader(), dist=None)
    registry = discover_emitters([ep])
    assert {"reader", "standard"} <= set(registry.names())  # standard has no reader: skipped
    manifests = [
        {"kind": "ToyLimit", "metadata": {"name": "b", "namespace": "shop"},
         "spec": {"targetRef": {"kind": "HTTPRoute", "name": "web", "sectionName": "api"}, "rate": 5}},
        {"kind": "ToyLimit", "metadata": {"name": "a", "namespace": "shop"},
         "spec": {"targetRef": {"kind": "HTTPRoute", "name": "web"}, "rate": 7}},
        {"kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "shop"}, "spec": {}},
    ]
    got = read_policies(manifests, registry)
    assert [(p.target.label(), p.source, getattr(p.intent, "rate", None)) for p in got] == [
        ("HTTPRoute shop/web", "ToyLimit shop/a", 7),
        ("HTTPRoute shop/web rule api", "ToyLimit shop/b", 5),
    ]
    # file order does not change the answer
    assert read_policies(list(reversed(manifests)), registry) == got
    # the built-in emitters alone read nothing from plain Gateway API objects
    assert read_policies(manifests[2:]) == []


def test_rate_limit_capacity_states_what_the_target_accepts_at_once() -> None:
    from ing2gw.enforce.buckets import TokenBuckets

    nginx_like = AttachedPolicy(PolicyTarget("HTTPRoute", "shop", "web"), _limit(5), "RateLimitPolicy shop/web",
                                capacity=11)  # limit_req rate=5r/s burst=10 nodelay
    buckets = TokenBuckets()
    intent = nginx_like.intent
    assert isinstance(intent, RateLimit)
    taken = [buckets.take("k", intent.rate, intent.unit, intent.burst, 0.0, nginx_like.capacity) for _ in range(12)]
    assert taken == [True] * 11 + [False]
    with pytest.raises(ValueError, match="capacity"):
        AttachedPolicy(nginx_like.target, intent, "x", capacity=0)
