"""verify's once-per-run fast paths give what the plain paths give, on generated Ingress sets
and on every verify case of testdata: the boundary probes collected as plain tuples, the
header sets worth probing read from the few annotations that decide them, and the policy
probes that skip routing a rule nothing on either side can protect."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from support import TESTDATA, verify_report

ANNOTATIONS = [
    ("proxy-body-size", "8m"), ("proxy-read-timeout", "120"), ("whitelist-source-range", "10.0.0.0/24"),
    ("auth-url", "http://auth.example.com/check"), ("limit-rps", "5"), ("ssl-redirect", "false"),
    ("enable-cors", "true"), ("canary", "true"), ("use-regex", "true"), ("rewrite-target", "/$1"),
    ("from-to-www-redirect", "true"), ("no-such-annotation", "x"), ("proxy-body-size", "lots"),
    ("auth-type", "basic"), ("auth-secret", "other/users"), ("temporal-redirect", "ftp://x"),
    ("backend-protocol", "GRPC"), ("backend-protocol", "SOAP"), ("cors-allow-origin", "https://o.test, *.w.test"),
    ("canary-by-cookie", "beta"), ("enable-cors", "maybe"),
]
PATHS = [("/", "Prefix"), ("/api", "Prefix"), ("/api/v1", "Exact"), ("/static/", "Prefix"), ("/x(.*)", "Prefix"),
         ("/healthz", "Exact"), ("/a/b", "ImplementationSpecific")]


def _documents(seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for i in range(rnd.randint(4, 14)):
        host = rnd.choice([f"app{i}.example.com", f"app{i % 3}.example.com", "*.wild.example.com",
                           "Shop.Example.com", None])
        rules: list[dict[str, Any]] = []
        paths = [{"path": p, "pathType": t, "backend": {"service": {"name": f"svc{rnd.randint(0, 2)}",
                                                                    "port": {"number": 80}}}}
                 for p, t in rnd.sample(PATHS, rnd.randint(1, 3))]
        rules.append({"host": host, "http": {"paths": paths}} if host else {"http": {"paths": paths}})
        spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": rules}
        if host and rnd.random() < 0.4:
            spec["tls"] = [{"hosts": [host], "secretName": f"tls{i}"}]
        chosen = dict(rnd.sample(ANNOTATIONS, rnd.randint(0, 3)))
        if "canary" in chosen:
            chosen["canary-by-header"] = "x-canary"
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                     "metadata": {"name": f"ing{i}", "namespace": rnd.choice(["a", "b"]),
                                  "annotations": {f"nginx.ingress.kubernetes.io/{k}": v for k, v in chosen.items()}},
                     "spec": spec})
    return docs


def _inputs(tmp_path: Path) -> list[Path]:
    out = sorted(p for p in (TESTDATA / "verify").glob("*/*.yaml") if p.name in ("input.yaml", "ingresses.yaml"))
    for seed in range(12):
        path = tmp_path / f"generated-{seed}.yaml"
        path.write_text(yaml.safe_dump_all(_documents(seed)))
        out.append(path)
    return out


def _sides(path: Path) -> tuple[Any, Any, Any, Any, Any] | None:
    """The input converted, with its provider's data plane, model and router (None when it
    holds no single provider's Ingresses)."""
    from ing2gw.convert import ConvertOptions, convert
    from ing2gw.errors import Ing2gwError
    from ing2gw.plugins import discover
    from ing2gw.resources import build_resource_set
    from ing2gw.router import Router
    from ing2gw.sources import read_paths
    from ing2gw.verification import only

    registry = discover()
    try:
        rs = build_resource_set(read_paths([str(path)]))
        result = convert(rs, ConvertOptions(), registry)
    except Ing2gwError:
        return None
    used = sorted(set(result.providers.values()))
    plane = registry.data_plane(used[0]) if len(used) == 1 else None
    if plane is None:
        return None
    mine = only(rs, set(result.providers))
    return mine, result, plane, plane.model(mine), Router.from_manifests(result.manifests)


def _plain_ingress_probes(ingresses: Any, extra_headers: Any, extra_paths: Any) -> list[Any]:
    """The probes as they were first collected: a set of Probe values, sorted by field."""
    from ing2gw.probes import UNKNOWN_HOST, Probe, _hosts, _ingress_paths

    probes = {Probe("http", UNKNOWN_HOST, "/"), Probe("http", UNKNOWN_HOST, "/healthz")}
    for ing in ingresses:
        tls_hosts = {h for t in ing.tls for h in t.hosts}
        variants = [(), *(extra_headers or {}).get(ing.ref, ())]
        for rule in ing.rules:
            hosts = _hosts([rule.host]) if rule.host else [UNKNOWN_HOST]
            schemes = ["http", "https"] if rule.host and (rule.host in tls_hosts or ing.tls) else ["http"]
            if len(schemes) == 1:
                probes.update(Probe("https", host, "/") for host in hosts if host != UNKNOWN_HOST)
            paths = {"/", *(extra_paths or {}).get(ing.ref, ())}
            for p in rule.paths:
                paths |= _ingress_paths(p.path, p.path_type)
            for host in hosts:
                probes.update(Probe(scheme, host, path, headers)
                              for path in paths for scheme in schemes for headers in variants)
                probes.add(Probe("http", host.upper(), "/"))
    return sorted(probes, key=lambda p: (p.scheme, p.host, p.path, p.headers, p.mesh or "", p.port or 0))


def test_ingress_probes_equal_the_plain_collection(tmp_path: Path) -> None:
    from ing2gw.probes import ingress_probes

    checked = 0
    for path in _inputs(tmp_path):
        sides = _sides(path)
        if sides is None:
            continue
        mine, _, plane, _, _ = sides
        headers = plane.probe_headers(mine.ingresses)
        probe_paths = getattr(plane, "probe_paths", None)
        extra = probe_paths(mine.ingresses) if callable(probe_paths) else None
        fast = ingress_probes(mine.ingresses, headers, extra)
        assert fast == _plain_ingress_probes(mine.ingresses, headers, extra), path
        assert len(fast) == len(set(fast))
        checked += 1
    assert checked > 20


def test_source_worker_probes_as_plain_values_route_as_the_probes(tmp_path: Path) -> None:
    """The source worker's probes as plain values (no Probe built) are the probes' fields, in
    their order; sent as they are, they give the source chunk the probes give, with the
    summaries and matches of the model's outcomes, and the process finishing it gives the
    result it gives of the probes' own wire forms."""
    import marshal

    from ing2gw import verify as v
    from ing2gw.explain import Explainer
    from ing2gw.probes import ingress_probe_fields, ingress_probes

    checked = 0
    for path in _inputs(tmp_path):
        sides = _sides(path)
        if sides is None:
            continue
        mine, result, plane, model, router = sides
        headers = plane.probe_headers(mine.ingresses)
        probes = ingress_probes(mine.ingresses, headers)
        fields = ingress_probe_fields(mine.ingresses, headers)
        assert fields == [(p.scheme, p.host, p.path, p.headers) for p in probes], path
        answer = v.summarising(model)
        sent = v.source_wires(answer, fields)
        chunk = v.source_chunk(answer, [(p, "generated") for p in probes])
        assert sent[0] == fields and sent[1:] == chunk[1:], path
        # the model's own summaries (NginxModel.answering) are those of its outcomes
        outcomes = [model.route(v.probe_request(p.scheme, p.host, p.path, p.headers, p.method, p.client, p.port,
                                                p.mesh)) for p in probes]
        assert sent[1] == [v.summary_of(o) for o in outcomes], path
        assert [sent[3][at] for at in sent[2]] == [None if o.matched is None else v.matched_values(o.matched)
                                                  for o in outcomes], path
        finish = v.finish_here(Explainer([*result.notes, *plane.controller_notes()], mine, result.manifests),
                               router.route)
        finished = finish(v.pack_chunk(sent))
        assert isinstance(finished, bytes)
        assert marshal.loads(finished) == marshal.loads(cast(bytes, finish(v.pack_chunk(chunk)))), path
        checked += 1
    assert checked > 20


def test_probe_headers_read_only_what_decides_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ingress-nginx's header sets from the annotations that decide them equal those from every
    annotation of the Ingress parsed (what decides them read from the full parse)."""
    from ing2gw.providers.ingress_nginx import dataplane

    checked = with_sets = 0
    for path in _inputs(tmp_path):
        sides = _sides(path)
        if sides is None or not isinstance(sides[2], dataplane.NginxDataPlane):
            continue
        mine, _, plane, _, _ = sides
        fast = plane.probe_headers(mine.ingresses)
        with monkeypatch.context() as patched:
            patched.setattr(dataplane, "_PROBED", frozenset(plane.table.specs))
            assert plane.probe_headers(mine.ingresses) == fast, path
        checked += 1
        with_sets += bool(fast)
    assert checked > 20 and with_sets > 5


def test_policy_probes_skipping_unprotected_rules_equal_routing_every_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ing2gw.policyprobes as pp
    from ing2gw.enforce.guard import Guard, policy_index

    checked = skipped_somewhere = 0
    for path in _inputs(tmp_path):
        sides = _sides(path)
        if sides is None:
            continue
        _, result, _, model, router = sides
        if result.ir is None:
            continue
        guard = Guard(policy_index(result.manifests))
        for timeouts in (False, True):
            for credentials in ([], [("alice", "pw")]):
                fast_skipped: list[str] = []
                counting = _Counting(router)
                fast = pp.policy_probes(result.ir, counting, guard, model.route, credentials, fast_skipped, timeouts)
                with monkeypatch.context() as m:
                    m.setattr(pp, "_marked_hosts", lambda *_: None)
                    plain_skipped: list[str] = []
                    every = _Counting(router)
                    plain = pp.policy_probes(result.ir, every, guard, model.route, credentials, plain_skipped,
                                             timeouts)
                assert fast == plain and fast_skipped == plain_skipped, path
                assert counting.routed <= every.routed, path
                checked += 1
        marked = None if guard.policies else pp._marked_hosts(router, True)
        skipped_somewhere += marked is not None
    assert checked > 40 and skipped_somewhere > 10


class _Counting:
    """A router that counts the requests routed through it."""

    def __init__(self, router: Any) -> None:
        self.table, self.routed, self._router = router.table, 0, router

    def route(self, request: Any) -> Any:
        self.routed += 1
        return self._router.route(request)


def test_policy_probes_route_only_the_rules_a_gateway_rule_can_add_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule whose hostname holds Gateway rules with timeouts is routed (to find the Gateway
    side's) only when one of them has a timeout the rule itself lacks; the probes are those
    of routing every rule."""
    import ing2gw.policyprobes as pp
    from ing2gw.enforce.guard import Guard, policy_index

    def ingress(name: str, path: str, annotations: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": "default", "annotations": annotations},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": "app.example.com", "http": {"paths": [
                    {"path": path, "pathType": "Prefix",
                     "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}}

    slow = {"nginx.ingress.kubernetes.io/proxy-read-timeout": "120"}
    # (the rule without a timeout is routed: it lands on its own rule, which has none either)
    cases = {"one timeout": ([ingress("a", "/", slow), ingress("b", "/api", slow)], 0, ("/", "/api")),
             "a rule without": ([ingress("a", "/", slow), ingress("b", "/api", {})], 1, ("/",))}
    for name, (documents, routed, probed) in cases.items():
        path = tmp_path / "input.yaml"
        path.write_text(yaml.safe_dump_all(documents))
        sides = _sides(path)
        assert sides is not None
        _, result, _, model, router = sides
        guard = Guard(policy_index(result.manifests))
        counting = _Counting(router)
        fast = pp.policy_probes(result.ir, counting, guard, model.route, [], [], True)
        with monkeypatch.context() as m:
            m.setattr(pp, "_marked_hosts", lambda *_: None)
            assert pp.policy_probes(result.ir, router, guard, model.route, [], [], True) == fast, name
        assert counting.routed == routed, name
        assert [g.origin for g in fast] == [
            f"policy probe: a backend slower than each timeout on http://app.example.com{p}" for p in probed], name


def test_policy_groups_made_while_workers_replay_equal_one_process(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With workers, this process makes and replays the policy probes while the workers replay
    the boundary probes: the same report as one process doing one after the other."""
    import ing2gw.verify as v

    policies = TESTDATA / "verify" / "policies"
    users = policies / "users.htpasswd"
    runs = [[str(policies / "ingresses.yaml"), "--htpasswd", f"shop/users={users}", "--credentials", "alice:alice-pw"]]
    runs += [[str(p)] for p in _inputs(tmp_path)[-4:]]
    monkeypatch.setattr(v, "CHUNK", 7)  # several chunks even for small inputs
    reports = []
    for args in runs:
        one = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "1")
        two = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "2")
        assert two == one, args
        assert one["summary"]["requests"] > 7
        reports.append(one)
    origins = [d["origin"] for d in reports[0]["differences"]]
    assert any(o.startswith("policy probe: burst") for o in origins) and "generated" in origins


def test_model_reading_shared_annotations_once_equals_reading_each_ingress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingress-nginx model reads the annotations an Ingress shares with others of its
    namespace once: the same policies and notes as reading every Ingress."""
    import ing2gw.providers.ingress_nginx.model as nginx
    from ing2gw.providers.ingress_nginx.model import settings
    from ing2gw.resources import build_resource_set
    from ing2gw.sources import read_paths

    checked = shared = 0
    for path in _inputs(tmp_path):
        rs = build_resource_set(read_paths([str(path)]))
        if not rs.ingresses:
            continue
        fast = nginx.NginxModel.from_resources(rs)
        with monkeypatch.context() as m:
            m.setattr(nginx, "read_policy_memo", lambda ing, cfg, notes, _: settings.read_policy(ing, cfg, notes))
            plain = nginx.NginxModel.from_resources(rs)
        assert fast.policies == plain.policies, path
        assert [n.as_dict() for n in fast.notes] == [n.as_dict() for n in plain.notes], path
        assert fast.servers == plain.servers, path
        checked += 1
        shared += len({tuple(i.annotations.items()) for i in rs.ingresses}) < len(rs.ingresses)
    assert checked > 20 and shared > 10


def test_ingress_probes_of_rules_of_one_shape_equal_the_plain_collection() -> None:
    """Many rules of a few shapes (paths, path types, header sets, extra paths) over hosts
    that several Ingresses name, with and without TLS: the pairs a shape shares, and merged
    where hosts meet, give the probes the plain collection gives."""
    from ing2gw.probes import ingress_probe_fields, ingress_probes
    from ing2gw.resources import build_resource_set
    from ing2gw.yamlio import Document

    rnd = random.Random(19)
    docs: list[dict[str, Any]] = []
    for i in range(300):
        paths = [{"path": p, "pathType": t, "backend": {"service": {"name": "svc", "port": {"number": 80}}}}
                 for p, t in PATHS[i % 3: i % 3 + 1 + i % 2]]
        host = rnd.choice([f"h{i}.example.com", f"h{i % 7}.example.com", "*.w.example.com", None])
        rule: dict[str, Any] = {"http": {"paths": paths}} if host is None else {"host": host, "http": {"paths": paths}}
        spec: dict[str, Any] = {"rules": [rule]}
        if host and rnd.random() < 0.3:
            spec["tls"] = [{"hosts": [host], "secretName": "tls"}]
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                     "metadata": {"name": f"ing{i}", "namespace": "ns"}, "spec": spec})
    ingresses = build_resource_set(Document(d, f"gen:{n}") for n, d in enumerate(docs)).ingresses
    headers = {f"ns/ing{i}": [(("origin", "https://o.test"),)] for i in range(0, 300, 5)}
    extra = {f"ns/ing{i}": ["/extra", "/"] for i in range(0, 300, 4)}
    for hints, more in ((None, None), (headers, None), (headers, extra)):
        plain = _plain_ingress_probes(ingresses, hints, more)
        assert ingress_probes(ingresses, hints, more) == plain
        assert ingress_probe_fields(ingresses, hints, more) == [(p.scheme, p.host, p.path, p.headers) for p in plain]
    assert len({p.host for p in plain}) > 100 and len(plain) > 1500
