"""``Request.build`` (slots written through their descriptors, shortcuts for the common
spellings) gives the request the plain dataclass constructor gives, field by field, on
random arguments; verify's request from a probe's values is the one ``Request.build`` gives
from the probe."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from ing2gw.errors import UsageError
from ing2gw.http import DEFAULT_PORTS, Headers, MeshSource, QueryParams, Request, plain_request, split_host_port
from ing2gw.probes import Probe
from ing2gw.verify import _as_request, _from_wire, _to_wire


def _plain_build(*, host: str, path: str = "/", method: str = "GET", scheme: str = "http", port: int | None = None,
                 headers: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                 sni: str | None = None, gateway: str | None = None,
                 response_headers: Headers | Mapping[str, str] | None = None, client: str | None = None,
                 mesh: MeshSource | None = None, backend_delay: float | None = None) -> Request:
    """What build does, one plain step at a time, through the dataclass constructor."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UsageError(f"unsupported scheme {scheme!r} (use http or https)")
    if port is None and mesh is not None:
        port = split_host_port(mesh.service)[1]
    if port is None:
        port = DEFAULT_PORTS[scheme]
    raw_path, _, query = path.partition("?")
    raw_path = raw_path.partition("#")[0] or "/"
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    hostname = split_host_port(host)[0]
    if sni is None and scheme == "https":
        sni = hostname
    return Request(
        method=method.upper(), scheme=scheme, host=host, port=port, path=raw_path, query=query,
        headers=headers if isinstance(headers, Headers) else Headers(headers), sni=sni.lower() if sni else None,
        gateway=gateway, hostname=hostname, query_params=QueryParams(query) if query else {},
        response_headers=(response_headers if response_headers is None or isinstance(response_headers, Headers)
                          else Headers(response_headers)),
        client=client, mesh=mesh, backend_delay=backend_delay)


def _fields(request: Request) -> list[Any]:
    return [(f.name, getattr(request, f.name), type(getattr(request, f.name)))
            for f in dataclasses.fields(Request)]


HOSTS = ["a.test", "A.Test", "a.test.", "a.test:8080", "[2001:db8::1]:8443", "[::1]", "", "x:y:z", "a.test:",
         "svc.ns.svc.cluster.local:9090"]
PATHS = ["/", "", "/a/b", "a/b", "/a?x=1&y", "?q", "/a#frag", "#f", "/a?x#y", "/a/%41", "/a//b/../c?", "/ä"]


def _arguments(rng: random.Random) -> dict[str, Any]:
    kw: dict[str, Any] = {"host": rng.choice(HOSTS)}
    for name, choices in (
        ("path", PATHS), ("method", ["GET", "get", "Post", "OPTIONS", "M-SEARCH"]),
        ("scheme", ["http", "https", "HTTP", "Https", "ftp"]), ("port", [None, 80, 8443]),
        ("headers", [None, {"A": "1"}, [("a", "1"), ("A", "2")], Headers([("X", "y")])]),
        ("sni", [None, "", "SNI.test", "b.test"]), ("gateway", [None, "ns/gw"]),
        ("response_headers", [None, {"R": "1"}, Headers([("S", "2")])]), ("client", [None, "10.0.0.1"]),
        ("mesh", [None, MeshSource("ns", "svc.other:9090"), MeshSource("ns", "svc")]),
        ("backend_delay", [None, 2.5]),
    ):
        if rng.random() < 0.7:
            kw[name] = rng.choice(choices)
    return kw


def test_build_equals_the_plain_constructor() -> None:
    rng = random.Random(19)
    for _ in range(5000):
        kw = _arguments(rng)
        try:
            expected = _plain_build(**kw)
        except UsageError as exc:
            with pytest.raises(UsageError, match=str(exc).split(" (")[0].replace("'", ".")):
                Request.build(**kw)
            continue
        built = Request.build(**kw)
        assert built == expected, kw
        assert _fields(built) == _fields(expected), kw
        assert repr(built) == repr(expected)
        assert built.with_path("/z") == dataclasses.replace(expected, path="/z")


def test_a_probe_from_the_wire_is_the_probe_built() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        probe = Probe(rng.choice(["http", "https"]), rng.choice(HOSTS), rng.choice(PATHS),
                      rng.choice([(), (("a", "1"),), ((":method", "OPTIONS"), ("Origin", "https://o.test"))]),
                      rng.choice(["GET", "POST", "get"]), rng.choice([None, "10.0.0.1"]),
                      rng.choice([None, None, 8080]), rng.choice([None, None, "ns"]))
        request = _from_wire(_to_wire(probe, "generated"))  # type: ignore[arg-type]
        assert _fields(request) == _fields(_as_request(probe)), probe
        method = probe.headers[0][1] if probe.headers and probe.headers[0][0] == ":method" else probe.method
        mesh = None if probe.mesh is None else MeshSource(probe.mesh, probe.host)
        expected = _plain_build(host=probe.host, path=probe.path, scheme=probe.scheme, method=method,
                                headers=[h for h in probe.headers if h[0] != ":method"], client=probe.client,
                                port=probe.port, mesh=mesh)
        assert request == expected, probe


def test_a_plain_request_is_the_one_build_gives() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        scheme, host, path = rng.choice(["http", "https"]), rng.choice(HOSTS), rng.choice(PATHS)
        headers = Headers(rng.choice([(), (("A", "1"),), (("a", "1"), ("A", "2"))]))
        method, client = rng.choice(["GET", "get", "OPTIONS"]), rng.choice([None, "10.0.0.1"])
        delay = rng.choice([None, 0.001, 66.0])  # (a policy probe's slow backend)
        plain = plain_request(scheme, host, path, headers, method, client, delay)
        built = Request.build(host=host, path=path, scheme=scheme, method=method, headers=headers, client=client,
                              backend_delay=delay)
        assert _fields(plain) == _fields(built), (scheme, host, path)
        assert plain == _plain_build(host=host, path=path, scheme=scheme, method=method, headers=headers,
                                     client=client, backend_delay=delay)


def test_a_built_request_is_a_request_in_every_respect() -> None:
    """Made through _request (ing2gw.making.maker), a request is of its class alone, frozen,
    copied and pickled as one made by the dataclass constructor."""
    import copy
    import pickle

    built = Request.build(host="A.test:8080", path="/a?x=1", scheme="https", headers={"A": "1"}, client="10.0.0.1")
    plain = _plain_build(host="A.test:8080", path="/a?x=1", scheme="https", headers={"A": "1"}, client="10.0.0.1")
    assert type(built) is Request and isinstance(built, Request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.path = "/b"  # type: ignore[misc]
    assert built.path == "/a"
    for again in (copy.copy(built), copy.deepcopy(built), pickle.loads(pickle.dumps(built))):
        assert type(again) is Request and again == plain and _fields(again) == _fields(plain)
