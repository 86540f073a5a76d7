"""verify's fast paths give the reports the plain paths give: remembered requests (an access
log repeats them), forked workers reading a streamed log a few chunks at a time, and
repeated differences counted rather than listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import TESTDATA, verify_report

CASE = TESTDATA / "verify" / "regex-sibling" / "input.yaml"
PATHS = ["/foo", "/foobar", "/exact", "/exact/x", "/foo/bar/baz", "/nothing", "/foo?q=1"]


class _Forgetful(dict):  # type: ignore[type-arg]
    """A memo that remembers nothing: every request is routed."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def _log(tmp_path: Path, lines: int) -> Path:
    log = tmp_path / "access.log"
    rows = []
    for i in range(lines):
        path = PATHS[(i * i) % len(PATHS)]  # irregular repeats
        method = "HEAD" if i % 11 == 0 else "GET"
        rows.append(f'10.0.0.{i % 200} - - [26/Nov/2026:07:00:{i % 60:02} +0000] '
                    f'"{method} http://site.example.com{path} HTTP/1.1" 200 5 "-" "curl" 80 0.001 '
                    f"[web-foo-80] [] 10.1.1.1:80 5 0.001 200 id{i}\n")
    log.write_text("".join(rows))
    return log


def _report(ing2gw, *args: str) -> dict:
    return verify_report(ing2gw, "-f", str(CASE), "--no-generate", *args)


def _sides() -> tuple[Any, Any, Any, Any, Any]:
    """The case converted: (resources, conversion, ingress-nginx data plane, its model, router)."""
    from ing2gw.convert import ConvertOptions, convert
    from ing2gw.plugins import discover
    from ing2gw.resources import build_resource_set
    from ing2gw.router import Router
    from ing2gw.sources import read_paths

    registry = discover()
    rs = build_resource_set(read_paths([str(CASE)]))
    result = convert(rs, ConvertOptions(), registry)
    plane = registry.data_plane("ingress-nginx")
    assert plane is not None
    return rs, result, plane, plane.model(rs), Router.from_manifests(result.manifests)


def test_streamed_log_with_memo_and_workers_equals_routing_every_line(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ing2gw.verify as v

    log = _log(tmp_path, 60)
    monkeypatch.setattr(v, "_MEMO", _Forgetful())
    plain = _report(ing2gw, "--access-log", str(log), "--workers", "1")
    monkeypatch.undo()
    monkeypatch.setattr(v, "CHUNK", 4)  # 15 chunks: more than the few kept in flight
    fast = _report(ing2gw, "--access-log", str(log), "--workers", "2")
    assert fast == plain
    summary = plain["summary"]
    assert summary["requests"] == 60 and summary["differ"] > 0
    # differing lines are aggregated: each entry counts its lines and shows a few of them
    entries = plain["accessLog"]
    assert summary["differ"] == sum(e["count"] for e in entries) and not plain["differences"]
    assert len(entries) < summary["differ"]
    assert sum(g["count"] for g in plain["groups"]) == summary["differ"]
    first = entries[0]
    assert first["count"] > 1 and first["examples"][0]["origin"].startswith("access log line ")
    assert all(1 <= len(e["examples"]) <= 3 for e in entries)


def test_streamed_requests_equal_preloaded_ones(ing2gw, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same requests through the streamed path (read in chunks, sent to workers) and the
    preloaded one (workers read them from inherited memory) give the same report."""
    import ing2gw.verify as v
    from ing2gw.accesslog import log_requests
    from ing2gw.probes import Probe

    monkeypatch.setattr(v, "CHUNK", 5)
    rs, result, plane, model, router = _sides()
    requests = [(Probe(line.scheme, line.host, line.path, method=line.method, client=None), "access log")
                for line, _ in log_requests(str(_log(tmp_path, 40)), rs, [])]

    def run(streamed: bool) -> dict:
        report = v.verify_requests("ingress-nginx", rs, result.manifests, result.notes, model.route, router.route,
                                   iter(requests) if streamed else (), workers=2,
                                   preloaded=() if streamed else requests)
        out = report.to_dict()
        out["summary"].pop("elapsed_s")
        return out

    streamed = run(True)
    assert streamed == run(False) and streamed["summary"]["requests"] == 40


def _plain_compare(a: dict, b: dict) -> tuple[str, ...]:
    """compare_outcomes as its docstring states it, one rule after the other."""
    from ing2gw.notes import ASPECTS

    if a["tls"] != b["tls"]:
        return ("tls",)
    if a["auth"] != b["auth"]:
        return ("auth",)
    if (a["status"] == 504) != (b["status"] == 504):
        return ("status",)
    if a["cors"] != b["cors"] and any(str(x["cors"]).startswith("answered") for x in (a, b)):
        return ("cors",)
    both = bool(a["backend"]) and bool(b["backend"])
    return tuple(k for k in ASPECTS if a[k] != b[k] and (both or k not in ("path", "host", "headers", "cors")))


def test_summary_comparison_equals_the_plain_rules() -> None:
    """The tuple summaries the replay compares give the aspects the dict comparison's rules give,
    on 20 000 random pairs (values drawn so that every rule fires)."""
    import random

    from ing2gw.notes import ASPECTS
    from ing2gw.verify import compare_outcomes

    values = {
        "status": [200, 301, 404, 504, None, 401], "backend": [None, "ns/a:80", "ns/b:80"],
        "weights": [None, {"ns/a:80": 50, "ns/b:80": 50}], "redirect": [None, "301 https://x/"],
        "path": [None, "/", "/a"], "host": [None, "x"], "headers": [None, {"x-a": "1"}],
        "cors": [None, "answered 204", "access-control-allow-origin: *"], "auth": [None, 401, 403],
        "tls": [None, "no answer"],
    }
    rng = random.Random(19)
    for _ in range(20_000):
        a = {k: rng.choice(values[k]) for k in ASPECTS}
        b = {k: rng.choice(values[k]) if rng.random() < 0.3 else a[k] for k in ASPECTS}
        assert compare_outcomes(a, b) == _plain_compare(a, b), (a, b)


def test_compared_answers_equal_the_compared_summaries() -> None:
    """The policy probes' comparison (summaries as tuples, made dicts for a difference only)
    gives compare_outcomes of both summarise dicts, and them, on the case's boundary probes."""
    from ing2gw.probes import ingress_probes
    from ing2gw.verify import _as_request, compare_outcomes, compare_summaries, summarise, summary_dict, summary_of

    rs, _, plane, model, router = _sides()
    differ = 0
    for probe in ingress_probes(rs.ingresses, plane.probe_headers(rs.ingresses)):
        request = _as_request(probe)
        source, gateway = model.route(request), router.route(request)
        a, b = summarise(source), summarise(gateway)
        aspects = compare_outcomes(a, b)
        sa, sb = summary_of(source), summary_of(gateway)
        assert compare_summaries(sa, sb) == aspects and (summary_dict(sa), summary_dict(sb)) == (a, b), probe
        differ += bool(aspects)
    assert differ > 0


def test_log_lines_decided_by_workers_equal_lines_decided_in_one_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Lines without a scheme (ingress-nginx logs none) have it inferred by the forked
    workers that replay them: the report, recorded-status contradictions included and in
    line order, equals the one from one process."""
    import ing2gw.verify as v
    from ing2gw.accesslog import decide, log_requests
    from ing2gw.verification import _scheme_chooser

    log = tmp_path / "access.log"
    log.write_text("".join(
        f'10.0.0.{i} - - [26/Nov/2026:07:00:{i % 60:02} +0000] "GET {PATHS[i % len(PATHS)]} HTTP/1.1" '
        f'{(200, 404, 301)[i % 3]} 5 "-" "curl" 80 0.001 [web-foo-80] [] 10.1.1.1:80 5 0.001 200 id{i}\n'
        for i in range(45)))
    monkeypatch.setattr(v, "CHUNK", 4)
    rs, result, plane, model, router = _sides()

    def run(workers: int) -> dict:
        choose = _scheme_chooser(model.route, rs, None)
        report = v.verify_requests("ingress-nginx", rs, result.manifests, result.notes, model.route, router.route,
                                   log_requests(str(log), rs, []), workers=workers,
                                   decide=lambda line: decide(line, choose))
        out = report.to_dict()
        out["summary"].pop("elapsed_s")
        return out

    one = run(1)
    assert run(2) == one
    assert one["summary"]["requests"] == 45 and len(one["recordedStatus"]) > 10
    assert one["recordedStatus"] == sorted(one["recordedStatus"], key=lambda r: int(r.split(":")[1]))


def test_remembered_log_lines_equal_fresh_ones(ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log line is resolved and compared once and remembered by its method, host, path,
    status, upstream and alternative (not its line number): on 400 lines without a scheme,
    repeating irregularly, with statuses the model contradicts and a memo small enough to
    forget its older half many times, the report equals the one from deciding every line afresh."""
    import ing2gw.verify as v

    log = tmp_path / "access.log"
    log.write_text("".join(
        f'10.0.0.{i % 250} - - [26/Nov/2026:07:00:{i % 60:02} +0000] "{"HEAD" if i % 7 == 0 else "GET"} '
        f'{PATHS[(i * i) % len(PATHS)]} HTTP/1.1" {(200, 404, 301, 200)[i % 4]} 5 "-" "curl" 80 0.001 '
        f"[web-foo-80] [] 10.1.1.1:80 5 0.001 200 id{i}\n" for i in range(400)))
    monkeypatch.setattr(v, "_MEMO", _Forgetful())
    monkeypatch.setattr(v, "_LINES", _Forgetful())
    monkeypatch.setattr(v, "_CLASSES", _Forgetful())
    fresh = _report(ing2gw, "--access-log", str(log), "--workers", "1")
    monkeypatch.undo()
    monkeypatch.setattr(v, "MEMO_SIZE", 6)
    monkeypatch.setattr(v, "CHUNK", 30)
    for workers in ("1", "2"):
        assert _report(ing2gw, "--access-log", str(log), "--workers", workers) == fresh
    assert fresh["summary"]["requests"] == 400 and fresh["summary"]["differ"] > 0 and fresh["recordedStatus"]


def _plain_precision(explainer: Any, note: Any, served: Any, request: Any) -> int:
    """How closely a note's scope covers the request, as the explain module states it: 3 by a
    property of the request (a ``~regex`` scope of a served host or of every host its path
    matches), 2 by the exact rule, 1 by the whole host, 0 not at all."""
    import re

    best = 0
    for _, host, path in served:
        for h, p in note.scope:
            if h != "*" and h != host:
                continue
            if p.startswith("~"):
                if re.search(p[1:], request.path):
                    return 3
            elif path is not None and p == path:
                best = 2
            elif p == "":
                best = max(best, 1)
    return best


def _plain_explain(explainer: Any, aspects: tuple[str, ...], request: Any, served: Any) -> tuple[Any, ...]:
    """Explainer.explain as its docstring states it, over the notes themselves: the notes of the
    served hosts and of every host that declare a differing aspect, the most precise levels
    first until every aspect is covered (none if they cannot), in the explainer's order."""
    from ing2gw.notes import Fidelity, Level

    wanted = set(aspects)
    hosts = {*(host for _, host, _ in served), "*"}
    levels: dict[int, list[Any]] = {}
    for n in explainer.all_notes:  # (a note explains if it says it is not exact, or warns)
        if not (n.fidelity in (Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED)
                or n.level in (Level.WARNING, Level.ERROR)) or not any(h in hosts for h, _ in n.scope):
            continue
        if n.aspects & wanted:
            level = _plain_precision(explainer, n, served, request)
            if level:
                levels.setdefault(level, []).append(n)
    useful: list[Any] = []
    covered: set[str] = set()
    for level in sorted(levels, reverse=True):
        useful += levels[level]
        covered.update(*(n.aspects for n in levels[level]))
        if wanted <= covered:
            return tuple(sorted(useful, key=explainer.index.__getitem__))
    return ()


def test_remembered_explanations_equal_fresh_ones() -> None:
    """Explainer.explain remembers its answers by where each side served the request and which
    ~regex scopes its path matches: on 3000 random requests (encoded, dotted and doubled-slash
    paths among them, which the path-normalisation note's ~regex scope reads) it gives what a
    fresh explanation gives."""
    import random

    from ing2gw.explain import Explainer
    from ing2gw.http import Request
    from ing2gw.notes import ASPECTS

    rs, result, plane, model, router = _sides()
    explainer = Explainer([*result.notes, *plane.controller_notes()], rs, result.manifests)
    rng = random.Random(19)
    pieces = ["foo", "foobar", "exact", "bar", "%66oo", "..", ".", "", "new", "x"]
    explained = 0
    for _ in range(3000):
        path = "/" + "/".join(rng.choice(pieces) for _ in range(rng.randrange(1, 4)))
        request = Request.build(host=rng.choice(["site.example.com", "other.example.com"]), path=path,
                                scheme=rng.choice(["http", "https"]))
        served = explainer.served(request, model.route(request), router.route(request))
        aspects = tuple(rng.sample(ASPECTS, rng.randrange(1, 3)))
        fresh = _plain_explain(explainer, aspects, request, served)
        assert explainer.explain(aspects, request, served) == fresh
        assert explainer.explaining(aspects, request, served) == tuple(explainer.index[n] for n in fresh)
        explained += bool(fresh)
    assert explained > 100 and sum(len(shape[3]) for shape in explainer._shapes.values()) < 3000
    assert explainer._by_path  # the ~regex scopes were read


def _plain_served(explainer: Any, request: Any, source: Any, gateway: Any) -> list[Any]:
    """Where each side served the request, worked out afresh."""
    from ing2gw.explain import _host_matches, source_ref

    hostname = request.hostname
    hosts = explainer._hosts_for(hostname)
    out: list[Any] = []
    m = source.matched
    if m is not None and (m.kind == "Ingress" or m.route):
        ref, path = source_ref(m.kind, m.route) if m.route else "", m.rule_name
        if ref:
            out.append((frozenset({ref}), next((h for h in hosts if ref in explainer.paths.get(h, {})), hostname),
                        path))
        else:
            out.append((frozenset(), hosts[0] if hosts else "", path))
    else:
        host = hosts[0] if hosts else ""
        out.append((frozenset(explainer.paths.get(host, {})), host, None))
    g = gateway.matched
    route = None if g is None else explainer._routes.get(g.route)  # (what it was made from, its hostnames)
    if route is not None:
        refs, names = route
        host = next((h for h in names if _host_matches(h, hostname)), hostname) if names else ""
        out += [(frozenset({ref}), host, explainer._under(ref, host, request.path)) for ref in refs]
    return out


def test_served_and_involved_equal_fresh_ones() -> None:
    """Explainer.served remembers each side's part by hostname and matched rule, involved the
    host's owners, account all three with the explanation: on 2000 random requests over a
    converted case they equal fresh answers."""
    import random

    from ing2gw.explain import Explainer
    from ing2gw.http import Request

    rs, result, plane, model, router = _sides()
    explainer = Explainer([*result.notes, *plane.controller_notes()], rs, result.manifests)
    rng = random.Random(23)
    pieces = ["foo", "foobar", "exact", "bar", "healthz", "", "x"]
    hosts = ["site.example.com", "other.example.com", "SITE.example.com", "x.site.example.com"]
    seen: set[tuple[Any, ...]] = set()
    hits = 0
    for _ in range(2000):
        request = Request.build(host=rng.choice(hosts), path="/" + "/".join(
            rng.choice(pieces) for _ in range(rng.randrange(1, 3))), scheme=rng.choice(["http", "https"]))
        source, gateway = model.route(request), router.route(request)
        served = explainer.served(request, source, gateway)
        assert served == _plain_served(explainer, request, source, gateway)
        owners = set(explainer.owners(request.hostname)) | {r for refs, _, _ in served for r in refs}
        assert explainer.involved(request, served) == tuple(sorted(owners))
        # the three together, remembered by hostname, path and the rules matched
        aspects = rng.choice([("path",), ("cors",), ("status", "backend"), ("redirect", "headers")])
        plain = _plain_served(explainer, request, source, gateway)
        explained = tuple(explainer.index[n] for n in _plain_explain(explainer, aspects, request, plain))
        assert explainer.account(aspects, request, source, gateway) == (tuple(plain), tuple(sorted(owners)), explained)
        hits += (aspects, request.hostname, request.path) in seen
        seen.add((aspects, request.hostname, request.path))
    assert hits > 500


def _checking_accounts(monkeypatch: pytest.MonkeyPatch, wrong: list[Any] | None = None) -> list[int]:
    """Explainer.account and Explainer.accounted made to check every answer against one worked
    out afresh (where each side served the request, the Ingresses involved, the explaining
    notes); returns a counter of the answers checked. An answer that differs fails the test,
    or with ``wrong`` is added to it."""
    from ing2gw.explain import Explainer

    real, real_accounted = Explainer.account, Explainer.accounted
    checked = [0]

    def fresh(self: Any, aspects: tuple[str, ...], request: Any, source: Any, gateway: Any) -> Any:
        plain = tuple(_plain_served(self, request, source, gateway))
        owners = set(self.owners(request.hostname)) | {r for refs, _, _ in plain for r in refs}
        explained = tuple(self.index[n] for n in _plain_explain(self, aspects, request, plain))
        checked[0] += 1
        return plain, tuple(sorted(owners)), explained

    def check(got: Any, want: Any, request: Any, aspects: tuple[str, ...]) -> None:
        if wrong is None:
            assert got == want, (request, aspects)
        elif got != want:
            wrong.append((request, aspects))

    def account(self: Any, aspects: tuple[str, ...], request: Any, source: Any, gateway: Any) -> Any:
        got = real(self, aspects, request, source, gateway)
        check(got, fresh(self, aspects, request, source, gateway), request, aspects)
        return got

    def accounted(self: Any, aspects: tuple[str, ...], request: Any, source: Any, gateway: Any) -> Any:
        got = real_accounted(self, aspects, request, source, gateway)
        check(got, fresh(self, aspects, request, source, gateway)[1:], request, aspects)
        return got

    monkeypatch.setattr(Explainer, "account", account)
    monkeypatch.setattr(Explainer, "accounted", accounted)
    return checked


def test_accounts_equal_fresh_ones_on_every_verify_golden(ing2gw, monkeypatch: pytest.MonkeyPatch) -> None:
    """Explainer.account and accounted remember their answers per hostname and source objects
    of the rules matched, then by what they read of the request: on every differing request of
    every verify golden (each case replayed as its golden test replays it) the answer equals
    the one worked out afresh."""
    checked = _checking_accounts(monkeypatch)
    differing = _goldens(ing2gw, checked)
    assert checked[0] > 800 and differing > 40, (checked, differing)


def _goldens(ing2gw: Any, checked: list[int]) -> int:
    """Replays every verify golden as its golden test does; returns how many had a difference
    (``checked``: _checking_accounts' counter)."""
    cases = sorted(case for folder in ("verify", "verify-haproxy", "verify-istio", "verify-kong-expressions")
                   for case in [TESTDATA / folder, *(TESTDATA / folder).iterdir()] if (case / "input.yaml").exists())
    assert len(cases) > 60
    differing = 0  # cases with a difference account() answered
    for case in cases:
        before = checked[0]
        verify_report(ing2gw, "-f", str(case / "input.yaml"), "--allow-unprotected", "--workers", "1")
        differing += checked[0] > before
    return differing


def _bench_set(ing2gw: Any, tmp_path: Path) -> dict[str, Any]:
    """verify's report on generated Ingresses of bench/convert.py's shape (namespaces, TLS,
    mixed annotations), every generated request replayed in this process."""
    import importlib.util

    from support import ROOT

    spec = importlib.util.spec_from_file_location("bench_convert", ROOT / "bench" / "convert.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "ingresses.yaml"
    path.write_text(bench.generate(240, namespaces=7))
    return verify_report(ing2gw, "-f", str(path), "--allow-unprotected", "--workers", "1")


def test_accounts_equal_fresh_ones_on_the_bench_set(ing2gw, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """The same on generated Ingresses: the shape of bench/convert.py's set."""
    checked = _checking_accounts(monkeypatch)
    report = _bench_set(ing2gw, tmp_path)
    generated = [d for d in report["differences"] if d["origin"] == "generated"]
    assert checked[0] >= len(generated) > 3000 and report["summary"]["unexplained"] == 0


@pytest.mark.parametrize("left_out", ["source path", "gateway path", "regexes", "named pairs"])
def test_a_key_that_leaves_a_reading_out_fails_the_check(ing2gw, monkeypatch: pytest.MonkeyPatch,
                                                         left_out: str) -> None:
    """The check above can fail: remembering explanations by a key that leaves out what a
    request's explanation reads -- the source side's rule path, the path it falls under on the
    Gateway side, whether it matches the ~regex scopes, the pairs the notes name among the
    rules served -- gives answers that differ from fresh ones on the verify goldens."""
    import ing2gw.explain as ex

    real_reading, real_by_reading, real_analysis = ex._reading, ex.Explainer._by_reading, ex.Explainer._analysis
    real_accounted = ex.Explainer.accounted
    current: list[Any] = [None, ""]  # the request being answered: where the source side matched it, its path

    def accounted(self: Any, aspects: tuple[str, ...], request: Any, source: Any, gateway: Any) -> Any:
        current[:] = [source.matched, request.path]
        return real_accounted(self, aspects, request, source, gateway)

    def reading(plan: Any, m: Any, path: str) -> Any:  # the key: the reading with a part left out
        read = real_reading(plan, m, path)
        paths = len(plan[3])
        if left_out == "source path":
            return (None, *read[1:])
        if left_out == "gateway path":
            return (read[0], *[None] * paths, *read[1 + paths:])
        return (*read[:1 + paths], *[False] * (len(read) - 1 - paths))

    def by_reading(self: Any, aspects: tuple[str, ...], plan: Any, read: Any) -> Any:
        # (worked out from the request's true reading, whatever the key: readings are remembered)
        return real_by_reading(self, aspects, plan, real_reading(plan, *current))

    def analysis(self: Any, aspects: tuple[str, ...], hosts: tuple[str, ...]) -> Any:
        exact, *rest = real_analysis(self, aspects, hosts)
        return (frozenset(), *rest)

    if left_out == "named pairs":
        monkeypatch.setattr(ex.Explainer, "_analysis", analysis)
    else:
        monkeypatch.setattr(ex, "_reading", reading)
        monkeypatch.setattr(ex.Explainer, "_by_reading", by_reading)
        monkeypatch.setattr(ex.Explainer, "accounted", accounted)
    wrong: list[Any] = []
    checked = _checking_accounts(monkeypatch, wrong)
    _goldens(ing2gw, checked)
    assert checked[0] > 800 and wrong


def test_a_report_writes_shared_explanations_as_separate_ones() -> None:
    """The differences of one explanation share its tuple of notes (verify.notes_of), whose
    JSON a report writes once: the report equals, as data and as JSON, the one whose
    differences each hold a tuple of their own; repeats and the groups' causes included. The
    groups (and the differing requests) counted as differences are added (a report grouped
    half way too) are those counted at once of the same differences set without add."""
    import random

    from ing2gw.notes import Fidelity, Level, Note
    from ing2gw.verify import Difference, VerifyReport, notes_of
    from ing2gw.yamlio import dump_json

    notes = [Note(f"CODE-{i % 4}", Level.INFO, f"message {i}", f"Ingress ns/i{i}", "f", Fidelity.APPROXIMATE)
             for i in range(6)]
    rng = random.Random(5)
    rows = []
    for i in range(400):
        explained = tuple(sorted(rng.sample(range(6), rng.randrange(0, 3))))
        request = {"method": "GET", "url": f"http://h{i % 9}.example.com/{i % 37}", "headers": {}}
        outcome = {"status": 200 + i % 3, "backend": f"b{i % 2}"}
        rows.append((request, outcome, {**outcome, "status": 404}, rng.choice([("status",), ("status", "backend")]),
                     (f"ns/i{i % 6}",), explained, f"case {i}"))
    shared, own = VerifyReport("p", 6), VerifyReport("p", 6)
    known: dict[tuple[int, ...], tuple[Note, ...]] = {}
    for i, (request, a, b, aspects, refs, explained, origin) in enumerate(rows):
        shared.add(Difference(request, a, b, aspects, refs, notes_of(explained, notes, known), origin))
        own.add(Difference(request=dict(request), source=dict(a), gateway=dict(b), aspects=tuple(aspects),
                           ingresses=refs, explained_by=tuple([notes[i] for i in explained]), origin=origin))
        if i == 200:
            assert shared.groups()
    assert any(d.repeats > 1 for d in own.differences) and len(known) > 5
    assert shared.to_dict() == own.to_dict()
    direct = VerifyReport("p", 6)
    direct.differences = list(own.differences)
    assert direct.to_dict() == own.to_dict()
    for only in (False, True):
        assert (shared.differing(only) == own.differing(only) == direct.differing(only)
                == sum(d.repeats for d in own.differences if not (only and d.explained)) > 0)
    assert dump_json(shared.to_dict()) == dump_json(own.to_dict())
    assert len({g["cause"][0] for g in own.to_dict()["groups"]}) == 5  # four codes and UNEXPLAINED


def test_written_explanations_give_the_json_of_plain_rows() -> None:
    """VerifyReport.json_pieces writes the rows a batch at a time with each explanation's JSON
    text made once per explanation: joined, its pieces are dump_json of the plain data, byte
    for byte, on random reports (repeats, shared and separate tuples of notes, no notes,
    messages with newlines, quotes and non-ASCII text; batches of every size, empty reports)
    -- and not with the text indented otherwise."""
    import random

    import ing2gw.verify as v
    from ing2gw.notes import Fidelity, Level, Note
    from ing2gw.verify import Difference, VerifyReport, notes_of
    from ing2gw.yamlio import dump_json

    rng = random.Random(11)
    notes = [Note(f"CODE-{i % 5}", Level.INFO, f'message {i}\n"quoted" é ✓ \\ {{"{i}": [1]}}', f"Ingress ns/i{i}",
                  None if i % 3 else "f", Fidelity.APPROXIMATE) for i in range(9)]
    repeated = False
    for trial in range(20):
        report = VerifyReport("p", 9)
        known: dict[tuple[int, ...], tuple[Note, ...]] = {}
        for i in range(rng.randrange(0 if trial == 0 else 1, 300)):
            explained = tuple(sorted(rng.sample(range(9), rng.randrange(0, 4))))
            explained_by = (notes_of(explained, notes, known) if rng.random() < 0.8
                            else tuple(notes[j] for j in explained))
            request = {"method": rng.choice(["GET", "POST"]), "url": f"http://h{i % 7}.example.com/{rng.randrange(40)}",
                       "headers": {"x": "1"} if i % 2 else {}}
            outcome = {"status": rng.choice([200, 404, None]), "backend": None, "headers": {"a": "b"}}
            report.add(Difference(request, outcome, {**outcome, "status": 503}, ("status",), (f"ns/i{i % 4}",),
                                  explained_by, f"case {i}"))
        plain = dump_json(report.to_dict()).encode()
        assert b"".join(report.json_pieces(rng.choice([1, 2, 7, 4096]))) == plain, trial
        repeated = repeated or any(d.repeats > 1 for d in report.differences)
    assert repeated
    # the check can fail: the text indented by one level less is not what orjson writes there
    original = v._ROW_INDENT
    try:
        v._ROW_INDENT = b"\n" + b"  " * 2
        assert b"".join(report.json_pieces()) != plain
    finally:
        v._ROW_INDENT = original


def test_written_json_equals_the_plain_json_on_every_verify_golden(ing2gw, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """verify -o json writes the report with each explanation written once: on every verify
    golden, and on a case with an access log, that JSON equals the plain rows' JSON byte for
    byte."""
    from ing2gw.verify import VerifyReport
    from ing2gw.yamlio import dump_json

    real = VerifyReport.json_pieces
    compared = [0]

    def json_pieces(self: Any, batch: int = 4096) -> Any:
        got = list(real(self, 3))  # (rows in several batches)
        assert b"".join(got) == dump_json(self.to_dict()).encode(), self.provider
        compared[0] += bool(self.differences or self.logs)
        return got

    monkeypatch.setattr(VerifyReport, "json_pieces", json_pieces)
    cases = sorted(case for folder in ("verify", "verify-haproxy", "verify-istio", "verify-kong-expressions")
                   for case in [TESTDATA / folder, *(TESTDATA / folder).iterdir()] if (case / "input.yaml").exists())
    for case in cases:
        verify_report(ing2gw, "-f", str(case / "input.yaml"), "--allow-unprotected", "--workers", "1")
    report = _report(ing2gw, "--access-log", str(_log(tmp_path, 300)), "--workers", "1")
    assert report["accessLog"] and compared[0] > 40


def test_rows_added_at_once_give_the_report_of_adding_each() -> None:
    """VerifyReport.add_rows (a replay's rows, notes as indices) gives the report add gives for
    each row's Difference: generated probes' requests (no headers), requests with headers,
    repeats of both, rows added in batches of every size, to a report grouped half way and
    to one whose differences were set without add (counted afresh)."""
    import random

    from ing2gw.notes import Fidelity, Level, Note
    from ing2gw.verify import Difference, VerifyReport, notes_of

    notes = [Note(f"CODE-{i % 3}", Level.INFO, f"message {i}", f"Ingress ns/i{i}", "f", Fidelity.APPROXIMATE)
             for i in range(5)]
    rng = random.Random(7)
    repeated = False
    for trial in range(30):
        rows = []
        for i in range(rng.randrange(1, 300)):
            headers = {"origin": "o"} if rng.random() < 0.2 else {}
            url = f"http://h{i % 5}.example.com/{rng.randrange(60)}"
            request = {"method": rng.choice(["GET", "OPTIONS"]), "url": url, "headers": headers}
            if rng.random() < 0.1:
                request["client"] = "10.0.0.1"
            outcome = {"status": 200 + i % 3, "backend": f"b{i % 2}"}
            rows.append((request, outcome, {**outcome, "status": 404}, rng.choice([("status",), ("status", "backend")]),
                         (f"ns/i{i % 4}",), tuple(sorted(rng.sample(range(5), rng.randrange(0, 3)))),
                         f"case {i}"))
        each, bulk = VerifyReport("p", 5), VerifyReport("p", 5)
        if trial % 3 == 1:  # differences set without add: counted afresh when next asked
            first = Difference({"method": "GET", "url": "http://h0.example.com/0", "headers": {}}, {}, {}, ("status",),
                               ("ns/i0",), (), "set")
            each.differences, bulk.differences = [first], [first]
        known: dict[tuple[int, ...], tuple[Note, ...]] = {}
        for request, a, b, aspects, refs, explained, origin in rows:
            each.add(Difference(request, a, b, aspects, refs, notes_of(explained, notes, known), origin))
        at = 0
        while at < len(rows):
            size = rng.randrange(1, 80)
            bulk.add_rows(rows[at:at + size], notes, known)
            if trial % 3 == 2 and at == 0:
                assert bulk.groups()  # (counted so far: the rest counted as added)
            at += size
        assert bulk.differences == each.differences
        repeated = repeated or any(d.repeats > 1 for d in each.differences)
        assert bulk.to_dict() == each.to_dict()
        for only in (False, True):
            assert bulk.differing(only) == each.differing(only)
        assert bulk._keys == each._keys and bulk._causes == each._causes
    assert repeated


def test_rows_are_listed_explained_last_then_by_url_and_method() -> None:
    """A report lists its rows by (explained, url, method), ties in the order added, whether
    added one by one or in bulk: on random URLs one of which is often a prefix of another,
    with methods that sort before and after the URLs' characters, and URLs with a NUL in them
    (a key made of them all as one string would sort one such pair the other way)."""
    import random

    from ing2gw.notes import Fidelity, Level, Note
    from ing2gw.verify import Difference, VerifyReport, notes_of

    notes = [Note("CODE", Level.INFO, "m", "Ingress ns/i", "f", Fidelity.APPROXIMATE)]
    rng = random.Random(3)
    for trial in range(40):
        rows = []
        nul = trial % 2 == 1
        for i in range(rng.randrange(1, 120)):
            url = "http://h/" + "".join(rng.choice("a/\x01" + ("\0" if nul else "")) for _ in range(rng.randrange(4)))
            request = {"method": rng.choice(["GET", "A", "\x02", "OPTIONS"]), "url": url, "headers": {}}
            rows.append((request, {"status": i}, {"status": -i}, ("status",), ("ns/i",), rng.choice([(), (0,)]),
                         f"case {i}"))
        if nul:  # (a URL that another is a prefix of, a NUL where the shorter one ends)
            rows[:0] = [({"method": "Z", "url": "http://h/a", "headers": {}}, {}, {"status": 1}, ("status",), ("ns/i",),
                         (0,), "first"),
                        ({"method": "A", "url": "http://h/a\0\x01", "headers": {}}, {}, {"status": 1}, ("status",),
                         ("ns/i",), (0,), "second")]
        each, bulk = VerifyReport("p", 1), VerifyReport("p", 1)
        known: dict[tuple[int, ...], tuple[Note, ...]] = {}
        for request, a, b, aspects, refs, explained, origin in rows:
            each.add(Difference(request, a, b, aspects, refs, notes_of(explained, notes, known), origin))
        bulk.add_rows(rows, notes, known)
        expected = sorted(each.differences, key=lambda d: (d.explained, d.request["url"], d.request["method"]))
        assert each._ordered() == bulk._ordered() == expected, trial
        assert [r["origin"] for r in each.to_dict()["differences"]] == [d.origin for d in expected]


def test_equal_summaries_without_a_dict_share_their_dict() -> None:
    """The rows of a replay's chunk hold one dict for equal summaries without a dict in them
    (verify._shared_dict): the same object, equal to the summary's own dict; a summary with a
    dict in it (headers, weights) gets a dict of its own, equal too; the memo stays bounded."""
    import ing2gw.verify as v

    plain = (308, None, None, "308 https://a.example.com/", None, None, None, None, None, None)
    headed = (200, "ns/b:80", None, None, "/", "a", {"x-a": "1"}, None, None, None)
    split = (200, "ns/b:80", {"ns/b:80": 50, "ns/c:80": 50}, None, "/", "a", None, None, None, None)
    first = v._shared_dict(plain)
    assert first == v._as_dict(plain) and v._shared_dict(tuple(list(plain))) is first
    for summary in (headed, split):
        got = v._shared_dict(summary)
        assert got == v._as_dict(summary) and got is not v._shared_dict(summary)
    for i in range(2 * v._SUMMARY_MEMO):
        v._shared_dict((200, f"ns/b{i}:80", None, None, "/", "a", None, None, None, None))
    assert 0 < len(v._SHARED) <= v._SUMMARY_MEMO
