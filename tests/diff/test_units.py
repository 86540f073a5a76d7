"""The diff's shortcut (:mod:`ing2gw.diff.units`): converting only the Ingresses a change can
affect gives exactly the report of converting both sides whole -- on generated sets with
shared hosts and Secrets, canaries, protections, colliding route names, wildcard and
host-less rules, and more TLS hosts than one Gateway holds. The probes of both sides, each
made once (``behaviour._probes``), are those of each side made apart."""

from __future__ import annotations

import copy
import multiprocessing
import random
from typing import Any

import pytest

from ing2gw.convert import ConvertOptions
from ing2gw.diff import behaviour, build_side, diff_sides, incremental_sides
from ing2gw.diff.objects import ChangedObjects
from ing2gw.notes import lost_protection
from ing2gw.plugins import discover
from ing2gw.probes import probe_values
from ing2gw.report import render
from ing2gw.yamlio import Document

NGINX = "nginx.ingress.kubernetes.io/"


def _ingress(name: str, ns: str, hosts: list[str], paths: list[str], *, tls: list[tuple[list[str], str]] = (),
             annotations: dict[str, str] | None = None, created: int = 1) -> dict[str, Any]:
    rules = [{"host": h, "http": {"paths": [
        {"path": p, "pathType": "Prefix", "backend": {"service": {"name": f"{name}-svc", "port": {"number": 80}}}}
        for p in paths]}} if h else {"http": {"paths": [
            {"path": p, "pathType": "Prefix", "backend": {"service": {"name": f"{name}-svc", "port": {"number": 80}}}}
            for p in paths]}} for h in hosts]
    spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": rules}
    if tls:
        spec["tls"] = [{"hosts": list(h), "secretName": s} for h, s in tls]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "annotations": dict(annotations or {}),
                         "creationTimestamp": f"2024-01-01T00:00:{created % 60:02}Z"},
            "spec": spec}


def _base(rnd: random.Random) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for i in range(80):  # 80 TLS hosts in one namespace: more listeners than one Gateway holds
        host = f"t{i}.shop.example.com"
        docs.append(_ingress(f"tls{i}", "shop", [host], ["/", f"/api{i % 3}"], tls=[([host], f"tls{i}-cert")],
                             created=i))
    for i in range(30):
        ns = f"team{i % 3}"
        host = f"h{i % 12}.example.org"  # several Ingresses per host
        annotations = rnd.choice([{}, {NGINX + "proxy-body-size": "8m"}, {NGINX + "enable-cors": "true"},
                                  {NGINX + "ssl-redirect": "false"}])
        docs.append(_ingress(f"app{i}", ns, [host], [f"/p{i}"] + (["/"] if i % 5 == 0 else []),
                             annotations=annotations, created=i))
    # name stems alike (web, web-api), so their route names may collide
    docs.append(_ingress("web", "team0", ["api.example.org"], ["/"], created=3))
    docs.append(_ingress("web-api", "team0", ["example.org"], ["/"], created=4))
    # a Secret serving two hosts (a wildcard may be inferred), a wildcard and a host-less rule
    docs.append(_ingress("pair", "team1", ["a.pair.example.net", "b.pair.example.net"], ["/"],
                         tls=[(["a.pair.example.net", "b.pair.example.net"], "pair-cert")]))
    docs.append(_ingress("wild", "team2", ["*.example.org"], ["/"]))
    docs.append(_ingress("fallback", "team2", [""], ["/fallback"]))
    # a canary, a protection (an allow-list the standard emitter cannot carry), a regex host
    docs.append(_ingress("canary", "team1", ["h1.example.org"], ["/p1"],
                         annotations={NGINX + "canary": "true", NGINX + "canary-weight": "20"}, created=50))
    docs.append(_ingress("guarded", "team1", ["guarded.example.org"], ["/"],
                         annotations={NGINX + "whitelist-source-range": "10.0.0.0/8"}))
    docs.append(_ingress("regex", "team0", ["h2.example.org"], ["/re/[0-9]+"],
                         annotations={NGINX + "use-regex": "true"}, created=51))
    return docs


def _mutate(docs: list[dict[str, Any]], rnd: random.Random) -> tuple[str, list[dict[str, Any]]]:
    head = copy.deepcopy(docs)
    kind = rnd.choice(["path", "path", "path", "backend", "delete", "add", "rename", "canary", "tls-add",
                       "tls-secret", "host", "annotation", "protection", "wild", "namespace", "stem", "several"])
    plain = [d for d in head if d["metadata"]["name"].startswith(("tls", "app"))]
    ing = rnd.choice(plain)
    paths = ing["spec"]["rules"][0]["http"]["paths"]
    if kind == "path":
        paths.append({"path": f"/new{rnd.randrange(9)}", "pathType": rnd.choice(["Prefix", "Exact"]),
                      "backend": {"service": {"name": "new", "port": {"number": 80}}}})
    elif kind == "backend":
        paths[0]["backend"]["service"]["name"] = "other"
    elif kind == "delete":
        head.remove(ing)
    elif kind == "add":
        meta = ing["metadata"]
        head.append(_ingress(meta["name"] + "-late", meta["namespace"], [ing["spec"]["rules"][0]["host"]],
                             ["/late", "/"], created=59))
    elif kind == "rename":
        ing["metadata"]["name"] += "x"
    elif kind == "canary":
        next(d for d in head if d["metadata"]["name"] == "canary")["metadata"]["annotations"][
            NGINX + "canary-weight"] = str(rnd.choice([0, 60, 100]))
    elif kind == "tls-add":
        ing["spec"]["tls"] = [{"hosts": [ing["spec"]["rules"][0]["host"]], "secretName": "new-cert"}]
    elif kind == "tls-secret" and ing["spec"].get("tls"):
        ing["spec"]["tls"][0]["secretName"] = "renewed"
    elif kind == "host":
        ing["spec"]["rules"][0]["host"] = f"moved{rnd.randrange(3)}.example.org"
    elif kind == "annotation":
        ing["metadata"]["annotations"][NGINX + "rewrite-target"] = "/"
    elif kind == "protection":
        ing["metadata"]["annotations"][NGINX + "limit-rps"] = "5"
    elif kind == "wild":
        next(d for d in head if d["metadata"]["name"] == "wild")["spec"]["rules"][0]["http"]["paths"][0][
            "path"] = "/w"
    elif kind == "stem":  # its route is named like web-api's: both names carry a hash
        next(d for d in head if d["metadata"]["name"] == "web")["spec"]["rules"][0]["http"]["paths"][0][
            "path"] = "/v2"
    elif kind == "namespace":
        ing["metadata"]["namespace"] = "elsewhere"
    else:
        for other in rnd.sample(plain, 5):
            other["spec"]["rules"][0]["http"]["paths"].append(
                {"path": "/more", "pathType": "Prefix", "backend": {"service": {"name": "m", "port": {"number": 81}}}})
    return kind, head


@pytest.mark.parametrize("seed", range(4))
def test_shortcut_gives_the_report_of_converting_everything(seed: int) -> None:
    rnd = random.Random(seed)
    registry = discover()
    options = ConvertOptions()
    base = _base(rnd)
    rnd.shuffle(base)
    docs_b = [Document(d, f"base.yaml:{i}") for i, d in enumerate(base)]
    full_b = build_side("b", docs_b, options, registry)
    used = 0
    for _ in range(10):
        kind, head = _mutate(base, rnd)
        docs_h = [Document(d, f"head.yaml:{i}") for i, d in enumerate(head)]
        quick = incremental_sides(("b", docs_b), ("h", docs_h), options, registry)
        if quick is None:
            continue
        used += 1
        full_h = build_side("h", docs_h, options, registry)
        expected, got = diff_sides(full_b, full_h), diff_sides(*quick)
        assert got.to_dict() == expected.to_dict(), kind
        for template in ("diff.md.j2", "diff.txt.j2"):
            assert render(template, d=got.to_dict(), limit=None, full="", color=False) == render(
                template, d=expected.to_dict(), limit=None, full="", color=False), kind
        for sides in ((full_b, full_h), quick):  # each probe made once: the probes of both sides
            assert behaviour._probes(sides[0].manifests, sides[1].manifests) == probe_values(
                sides[0].manifests) | probe_values(sides[1].manifests), kind
        # the exit code: does HEAD lose a protection?
        assert sorted(n.sort_key() for n in quick[1].notes if lost_protection(n)) == sorted(
            n.sort_key() for n in full_h.notes if lost_protection(n)), kind
    assert used >= 4


def test_shortcut_declines_what_it_cannot_reason_about() -> None:
    registry = discover()
    base = [_ingress("a", "ns", ["a.example.com"], ["/"]), _ingress("b", "ns", ["b.example.com"], ["/"])]
    docs_b = [Document(d, f"b:{i}") for i, d in enumerate(base)]

    def quick(head: list[dict[str, Any]], **kw: Any) -> bool:
        docs_h = [Document(d, f"h:{i}") for i, d in enumerate(head)]
        return incremental_sides(("b", docs_b), ("h", docs_h), ConvertOptions(**kw), registry) is not None

    changed = copy.deepcopy(base)
    changed[0]["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/x"
    assert quick(changed)
    assert not quick(changed, provider="traefik")
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ingress-nginx-controller",
                                                                    "namespace": "ingress-nginx"},
              "data": {"global-auth-url": "http://auth.example.com"}}
    assert not quick([*changed, config])  # a ConfigMap may configure every Ingress
    guarded = copy.deepcopy(changed)
    guarded[0]["metadata"]["annotations"][NGINX + "auth-url"] = "http://auth.example.com"
    assert not quick(guarded)  # a protection changes
    other = copy.deepcopy(changed)
    other[1]["spec"]["ingressClassName"] = "traefik"
    assert not quick(other)  # another controller's Ingress changes: everything is converted


def test_routing_base_in_a_worker_gives_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """BASE's requests routed in a forked worker (ing2gw.diff.parallel) or here: one report."""
    rnd = random.Random(5)
    registry = discover()
    base = _base(rnd)
    head = copy.deepcopy(base)
    for ing in head[::3]:
        ing["spec"]["rules"][0]["http"]["paths"].insert(0, {
            "path": "/a", "pathType": "Prefix", "backend": {"service": {"name": "a", "port": {"number": 80}}}})
    sides = [build_side(label, [Document(d, f"{label}:{i}") for i, d in enumerate(docs)], ConvertOptions(), registry)
             for label, docs in (("b", base), ("h", head))]
    here = diff_sides(*sides).to_dict()
    monkeypatch.setattr(behaviour, "_WORTH_A_WORKER", 1)
    assert here["summary"]["requests"] > 500 and here["summary"]["behaviourChanges"] > 50
    assert diff_sides(*sides, parallel=True).to_dict() == here
    monkeypatch.setattr(ChangedObjects, "SIZE", 1)  # many pieces, shared out
    assert diff_sides(*sides, parallel=True).to_dict() == here
    real = multiprocessing.get_context

    class NoSharedMemory:  # the pieces alternate between the processes
        def __getattr__(self, name: str) -> Any:
            return getattr(real("fork"), name)

        def Value(self, *args: object) -> None:  # noqa: N802 - multiprocessing's name
            raise OSError("no /dev/shm")

    monkeypatch.setattr(multiprocessing, "get_context", lambda method: NoSharedMemory())
    assert diff_sides(*sides, parallel=True).to_dict() == here


def test_probes_of_both_sides_when_their_gateways_differ() -> None:
    """HEAD adds a TLS host (a listener) and a path: the sides' Gateways differ, so each side's
    probes are made apart; the result is still the union."""
    registry = discover()
    base = _base(random.Random(6))
    head = copy.deepcopy(base)
    head.append(_ingress("late", "shop", ["late.shop.example.com"], ["/", "/x"],
                         tls=[(["late.shop.example.com"], "late-cert")]))
    head[0]["spec"]["rules"][0]["http"]["paths"].append(
        {"path": "/added", "pathType": "Exact", "backend": {"service": {"name": "n", "port": {"number": 80}}}})
    b, h = (build_side(label, [Document(d, f"{label}:{i}") for i, d in enumerate(docs)], ConvertOptions(), registry)
            for label, docs in (("b", base), ("h", head)))
    assert [m for m in b.manifests if m["kind"] == "Gateway"] != [m for m in h.manifests if m["kind"] == "Gateway"]
    want = probe_values(b.manifests) | probe_values(h.manifests)
    assert behaviour._probes(b.manifests, h.manifests) == want
    assert any(host == "late.shop.example.com" and scheme == "https" for scheme, host, *_ in want)
