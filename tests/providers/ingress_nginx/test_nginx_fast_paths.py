"""The conversion's fast paths give what the plain rules give: remembered verdicts, and
``Annotations.get`` with its precomputed aliases and defaults."""

from __future__ import annotations

import random
from typing import Any

from ing2gw.notes import Notes
from ing2gw.provider import Annotations
from ing2gw.providers.ingress_nginx import validation
from ing2gw.providers.ingress_nginx.annotations import TABLE

_KEYS = sorted({*validation.VALIDATORS, *validation.ALIASES, *validation.ALIASES.values(), "auth-type",
                "auth-secret", "auth-url", "canary", "canary-weight", "canary-by-header", "enable-opentelemetry",
                "from-to-www-redirect", "temporal-redirect", "permanent-redirect", "unknown-key"})
_VALUES = ["", "true", "false", "True", "1", "0", "-3", "100", "10m", "5s", "basic", "digest", "bad type",
           "ns/secret", "other/secret", "secret", "http://auth.example.com/x", "https://a/../b", "10.0.0.0/8",
           "10.0.0.0/8, 192.168.0.1", "not-a-cidr", "GET", "X-Header, Y", "bad header!", "200 5m", "5m 200",
           "$request_uri", "/path", "^/re(.*)", "cookie", "round_robin", "ewma", "a" * 70]


def _random_annotations(rng: random.Random) -> dict[str, str]:
    return {k: rng.choice(_VALUES) for k in rng.sample(_KEYS, rng.randint(0, 6))}


def test_remembered_verdicts_equal_the_worked_out_ones() -> None:
    rng = random.Random(19)
    validation._VERDICTS.clear()
    for _ in range(5000):
        ann = _random_annotations(rng)
        namespace = rng.choice([None, "ns", "other"])
        allow = rng.random() < 0.3
        expected = validation._verdict(dict(ann), namespace, allow)
        assert validation.verdict(ann, namespace, allow) == expected
        shuffled = dict(rng.sample(list(ann.items()), len(ann)))  # any order: the same verdict
        assert validation.verdict(shuffled, namespace, allow) == expected


def _plain_get(ann: Annotations, key: str) -> Any:
    """``Annotations.get`` as the plain rule: canonical key, its value, else its spec's default."""
    key = ann.table.canonical(key)
    if key in ann.values:
        return ann.values[key]
    spec = ann.table.specs.get(key)
    return spec.default if spec else None


def test_annotations_get_equals_the_plain_rule() -> None:
    rng = random.Random(7)
    keys = sorted(TABLE.specs) + ["not-an-annotation", ""]
    aliased = [k for k, s in TABLE.specs.items() if s.alias_of]
    assert aliased  # the table has deprecated spellings: the alias path is exercised
    for _ in range(300):
        items = [(f"{TABLE.prefix}/{k}", k, rng.choice(_VALUES)) for k in rng.sample(keys, rng.randint(0, 8)) if k]
        ann = TABLE.parse(items, Notes(), "Ingress ns/x", "f.yaml:1", ())
        for key in keys:
            assert ann.get(key) == _plain_get(ann, key), key
