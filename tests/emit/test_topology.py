"""Certificates make listeners (:mod:`ing2gw.emit.certificates`), packing by certificate
(:func:`ing2gw.emit.limits.chunk_listeners`), and the 3000-host wildcard estate end to end:
one Secret listed for 3000 single-label subdomains becomes one HTTPS listener."""

from __future__ import annotations

import json

import yaml
from support import TESTDATA, UPDATE_GOLDEN

from ing2gw.emit.certificates import certificate_listeners, wildcard_domain
from ing2gw.emit.limits import chunk_listeners
from ing2gw.ir import Certificate, GatewayRef, Provenance

GOLDEN = TESTDATA / "topology" / "wildcard-3000"
REF = GatewayRef("nginx", "nginx")


def _cert(host: str, secret: str, ns: str = "apps") -> Certificate:
    return Certificate(REF, host, ns, secret, Provenance("Ingress", ns, host.split(".")[0] or "x"))


def _layout(certs: list[Certificate]) -> list[tuple[str, str, tuple[str, ...], bool]]:
    return [(cl.hostname, cl.certificate.secret_name, cl.hosts, cl.inferred) for cl in certificate_listeners(certs)]


def test_wildcard_domain_is_precise() -> None:
    assert wildcard_domain(["a.example.com", "b.example.com"]) == "example.com"
    assert wildcard_domain(["a.example.com"]) is None  # one host: nothing to share
    assert wildcard_domain(["a.example.com", "example.com"]) is None  # the apex is not covered by *.
    assert wildcard_domain(["a.example.com", "x.a.example.com"]) is None  # two labels deep
    assert wildcard_domain(["a.example.com", "b.example.org"]) is None
    assert wildcard_domain(["a.example.com", "*.example.com"]) is None


def test_inferred_wildcard_folds_its_hosts() -> None:
    certs = [_cert("a.example.com", "wild"), _cert("b.example.com", "wild"), _cert("c.example.com", "own")]
    assert _layout(certs) == [
        ("*.example.com", "wild", ("a.example.com", "b.example.com"), True),
        ("c.example.com", "own", ("c.example.com",), False),  # its own Secret: its own, more specific listener
    ]


def test_listed_wildcard_takes_its_hosts_without_widening() -> None:
    certs = [_cert("*.example.com", "wild"), _cert("a.example.com", "wild"), _cert("example.com", "wild")]
    assert _layout(certs) == [
        ("*.example.com", "wild", ("*.example.com", "a.example.com"), False),
        ("example.com", "wild", ("example.com",), False),  # the apex keeps its own listener
    ]


def test_contested_wildcard_stays_per_host() -> None:
    certs = [_cert(h, s) for h, s in [("a.x.com", "one"), ("b.x.com", "one"), ("c.x.com", "two"), ("d.x.com", "two")]]
    assert [h for h, *_ in _layout(certs)] == ["a.x.com", "b.x.com", "c.x.com", "d.x.com"]
    # a listed wildcard wins over an inferred one
    certs.append(_cert("*.x.com", "three"))
    assert [(h, s) for h, s, *_ in _layout(certs)][:1] == [("*.x.com", "three")]


def test_chunks_pack_by_group() -> None:
    items = ["http"] + [f"{g}{i}" for i in range(40) for g in "ab"]  # a0 b0 a1 b1 ... interleaved
    chunks = chunk_listeners(items, False, lambda s: s[0])
    assert [len(c) for c in chunks] == [41, 41]
    assert {s[0] for s in chunks[0][1:]} == {"a"} and {s[0] for s in chunks[1][1:]} == {"b"}
    # without groups the order is kept (today's split)
    assert chunk_listeners(items, False)[0][1:3] == ["a0", "b0"]


def _estate(hosts: int) -> str:
    """``hosts`` Ingresses, each with one host under apps.example.com, all listing one Secret."""
    docs = []
    for i in range(hosts):
        docs.append(
            f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: app{i:04d}, namespace: apps}}\n"
            f"spec:\n  ingressClassName: nginx\n"
            f"  tls: [{{hosts: [app{i:04d}.apps.example.com], secretName: apps-wildcard}}]\n"
            f"  rules:\n  - host: app{i:04d}.apps.example.com\n    http: {{paths: [{{path: /, pathType: Prefix, "
            f"backend: {{service: {{name: app{i:04d}, port: {{number: 80}}}}}}}}]}}\n")
    return "---\n".join(docs)


def test_3000_hosts_under_one_wildcard_secret_make_one_https_listener(ing2gw) -> None:
    from ing2gw.schema import validate

    r = ing2gw(["convert", "-f", "-", "--fail-on", "never"], input=_estate(3000))
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.load_all(r.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    gateways = [d for d in docs if d["kind"] == "Gateway"]
    routes = [d for d in docs if d["kind"] == "HTTPRoute"]
    assert len(gateways) == 1
    listeners = gateways[0]["spec"]["listeners"]
    assert [(x["name"], x.get("hostname")) for x in listeners] == [
        ("http", None), ("https-wildcard-apps-example-com", "*.apps.example.com")]
    https = [p for d in routes for p in d["spec"]["parentRefs"] if p["sectionName"] != "http"]
    assert len(https) == 3000 and {p["sectionName"] for p in https} == {"https-wildcard-apps-example-com"}
    wildcard = [line for line in r.stderr.splitlines() if "EMIT-LISTENER-WILDCARD" in line]
    assert len(wildcard) == 1 and "3000 hosts" in wildcard[0] and "other subdomains of apps.example.com" in wildcard[0]
    for d in gateways + [d for d in docs if d["kind"] == "ReferenceGrant"] + routes[:50]:
        assert validate(d) == [], d["metadata"]
    notes = sorted({line.split(": ")[1] for line in r.stderr.splitlines()})
    expected = {"gateways": gateways, "notes": notes}
    if UPDATE_GOLDEN:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        (GOLDEN / "expected.yaml").write_text(yaml.safe_dump(expected, sort_keys=False))
    assert expected == yaml.safe_load((GOLDEN / "expected.yaml").read_text())
    json.dumps(expected)  # plain data
