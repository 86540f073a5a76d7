"""ingress_fields' fast paths give what the plain checks give: one match for a well-formed
hostname, no descent into leaf fields."""

from __future__ import annotations

import random

from ing2gw.ingress_fields import _problem, host_problem, unknown_field

_PIECES = ["a", "b1", "x-y", "-a", "a-", "A", "1", "0", "255", "*", "*.", ".", "..", "é", "_", ":", "a" * 63,
           "a" * 64, "example", "com", "io", " ", "\n"]


def _random_host(rng: random.Random) -> str:
    host = ".".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 5)))
    if rng.random() < 0.3:
        host = "*." + host
    if rng.random() < 0.05:
        host = ".".join(["abcdefghij" * 6] * 5)  # longer than 253
    return host


def test_host_problem_equals_the_plain_checks() -> None:
    rng = random.Random(19)
    hosts = [_random_host(rng) for _ in range(20_000)] + ["", "1.2.3.4", "*.1.2.3.4", "a.b", "*.a.b", "*"]
    assert any(host_problem(h) is None for h in hosts) and any(host_problem(h) for h in hosts)
    for host in hosts:
        assert host_problem(host) == _problem(host), host


def test_unknown_field_names_the_first_unknown_field_at_any_depth() -> None:
    good = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "a", "annotations": {"any/key": "v"}},
            "spec": {"rules": [{"host": "a.b", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s", "port": {"number": 1}}}}]}}]}}
    assert unknown_field(good, False) is None
    bad = {**good, "spec": {"rules": [{"host": "a.b", "http": {"paths": [
        {"path": "/", "backend": {"service": {"name": "s", "port": {"numbr": 1}}}}]}}]}}
    assert unknown_field(bad, False) == (
        "spec.rules[0].http.paths[0].backend.service.port.numbr",
        "spec.rules[0].http.paths[0].backend.service.port.numbr: unknown field (did you mean number?)")
    assert unknown_field({**good, "spec": {"rules": "not a list"}}, False) is None  # the reader reports types


def _mutated(value: object, rng: random.Random) -> object:
    """``value`` with some keys renamed, some lists/mappings swapped for scalars, and others kept."""
    roll = rng.random()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k + "x" if rng.random() < 0.03 else k
            out[key] = _mutated(v, rng)
        if rng.random() < 0.02:
            out[rng.choice([1, None, "status", "extra"])] = "v"
        return out
    if isinstance(value, list):
        return [_mutated(v, rng) for v in value] if roll > 0.02 else "scalar"
    return value if roll > 0.02 else {"nested": [value]}


def test_unknown_field_equals_the_plain_walk() -> None:
    """The known-fields fast check never hides an unknown field the ordered walk finds."""
    from types import MappingProxyType

    from ing2gw.ingress_fields import _V1, _V1BETA1, _walk

    rng = random.Random(7)
    base = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "a", "labels": {"x": "y"}, "annotations": {"any/key": "v"}},
            "spec": {"ingressClassName": "n", "defaultBackend": {"resource": {"kind": "K", "name": "n"}},
                     "tls": [{"hosts": ["a.b"], "secretName": "s"}],
                     "rules": [{"host": "a.b", "http": {"paths": [
                         {"path": "/", "pathType": "Prefix",
                          "backend": {"service": {"name": "s", "port": {"number": 1}}}},
                         {"path": "/x", "backend": {"serviceName": "s", "servicePort": 80}}]}}]}}
    found = 0
    for _ in range(3000):
        obj = _mutated(base, rng)
        if rng.random() < 0.05:
            obj = MappingProxyType(obj)  # type: ignore[arg-type]
        for legacy, fields in ((False, _V1), (True, _V1BETA1)):
            assert unknown_field(obj, legacy) == _walk(obj, fields, "")  # type: ignore[arg-type]
            found += unknown_field(obj, legacy) is not None  # type: ignore[arg-type]
    assert found > 100
