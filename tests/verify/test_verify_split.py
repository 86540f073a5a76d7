"""``verify --workers 2`` with the sides split over two processes (:mod:`ing2gw.sourceside`):
the same reports as one process, a worker's error as the usual one-line error, and no
worker left behind."""

from __future__ import annotations

import importlib.util
import marshal
import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import TESTDATA, verify_report

from ing2gw import sourceside, verification
from ing2gw import verify as v
from ing2gw.errors import ExitCode, InputError

# the verify golden inputs and generated ones, as the setup fast paths' tests use them
_spec = importlib.util.spec_from_file_location("_setup_inputs", Path(__file__).with_name(
    "test_verify_setup_fastpaths.py"))
assert _spec is not None and _spec.loader is not None
_setup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_setup)
_inputs = _setup._inputs


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Split even small inputs (in chunks of 7); the list names the workers forked: "early_side"
    (before the conversion), then "finishing_side" (its chunks shared), or "source_side" (after
    the conversion, the early one's guess not holding or without it)."""
    started: list[str] = []
    real = sourceside.SourceSide

    class Counted(real):  # type: ignore[misc,valid-type]
        def __init__(self, make, readers=1):  # type: ignore[no-untyped-def]
            started.append(make.__name__)
            super().__init__(make, readers)

    monkeypatch.setattr(verification, "SPLIT_MIN", 0)
    monkeypatch.setattr(verification, "SourceSide", Counted)
    monkeypatch.setattr(v, "CHUNK", 7)
    return started


def test_split_sides_give_the_reports_of_one_process(ing2gw, tmp_path: Path, split: list[str]) -> None:
    """Every verify golden input and generated inputs (canaries, CORS, regexes, TLS,
    protections): the source side routed in a forked process gives the report one process
    gives, with policy probes and their bursts too; whether the source side starts before
    the conversion (its chunks finished by this process and a second worker) or after it
    (inputs whose conversion adds probes: aliases, route objects)."""
    ways = set()
    policies = TESTDATA / "verify" / "policies"
    runs = [[str(policies / "ingresses.yaml"), "--htpasswd", f"shop/users={policies / 'users.htpasswd'}",
             "--credentials", "alice:alice-pw"]]
    runs += [[str(p)] for p in _inputs(tmp_path)]
    for args in runs:
        before = len(split)
        one = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "1")
        assert len(split) == before  # one process: no split
        two = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "2")
        assert two == one, args
        assert split[before:] in (["early_side", "finishing_side"], ["early_side", "source_side"],
                                  ["source_side"]), args
        ways.add(tuple(split[before:]))
    assert multiprocessing.active_children() == []
    assert ("early_side", "finishing_side") in ways and ("early_side", "source_side") in ways


def _same_reports_with_two_workers(ing2gw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """verify with two workers gives the report of one, on the policy probes' input and the
    last four large inputs."""
    inputs = [TESTDATA / "verify" / "policies" / "ingresses.yaml", *_inputs(tmp_path)[-4:]]
    for args in ([str(p)] for p in inputs):
        one = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "1")
        assert verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "2") == one, args
        assert one["summary"]["requests"] > 14


@pytest.mark.parametrize("ahead", [0, 1, 10**9], ids=["all-whole", "one-ahead", "all-source"])
def test_each_way_of_sharing_the_chunks_gives_the_same_report(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: list[str], ahead: int
) -> None:
    """The worker replays every chunk whole (ahead 0), routes every chunk's source side (a
    huge ahead), or anything between: the same reports."""
    monkeypatch.setattr(sourceside, "AHEAD", ahead)
    _same_reports_with_two_workers(ing2gw, tmp_path)


@pytest.mark.parametrize("taker", ["here", "second-worker"])
def test_the_early_chunks_give_the_same_report_whoever_finishes_them(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: list[str], taker: str
) -> None:
    """The chunks the early worker routes are finished by this process, by the second
    worker, or shared as they come (the other tests): the same reports. "here": the second
    worker takes none; "second-worker": this process reads the second worker's messages
    before any chunk, so that worker takes them all."""
    if taker == "here":
        monkeypatch.setattr(sourceside.SourceSide, "take", lambda self: iter(()))
    else:
        def shared(first, second):  # type: ignore[no-untyped-def]
            yield from second.messages()
            yield from first.messages()  # (its end only: the second worker took every chunk)

        monkeypatch.setattr(verification, "shared", shared)
    _same_reports_with_two_workers(ing2gw, tmp_path)
    assert split.count("finishing_side") >= 3  # (the others' conversions add probes)


def test_chunks_finished_by_the_second_worker_come_back_as_marshal_bytes(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: list[str]
) -> None:
    """The second worker sends each chunk it finished as the marshal bytes of its result
    (cheaper to write and to read than the pickle of its rows), which this process reads: the
    same reports. (The check runs in that worker: a failure comes back as its error.)"""
    real = v.finish_here

    def finish_here(explainer, route):  # type: ignore[no-untyped-def]
        finish = real(explainer, route)

        def checked(chunk):  # type: ignore[no-untyped-def]
            sent = finish(chunk)
            assert isinstance(sent, bytes)
            agree, rows, found, logs = marshal.loads(sent)
            assert agree + len(rows) > 0 and found == [] and logs == []
            return sent

        return checked

    def shared(first, second):  # type: ignore[no-untyped-def]
        yield from second.messages()
        yield from first.messages()  # (its end only: the second worker took every chunk)

    monkeypatch.setattr(verification, "finish_here", finish_here)
    monkeypatch.setattr(verification, "shared", shared)
    _same_reports_with_two_workers(ing2gw, tmp_path)
    assert "finishing_side" in split


def test_chunks_go_as_marshal_bytes_or_pickled_alike(ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     split: list[str]) -> None:
    """A source chunk goes as marshal bytes, or as it is (pickled) when it holds a value marshal
    cannot write: the same chunk either way, and the same reports."""
    chunk = ([("http", "a.example.com", "/", (("x", "1"),), "GET", None, None, None, "generated")],
             [(200, "ns/svc:80", {"ns/a:80": 50, "ns/b:80": 50}, None, "/", "a", {"x": "1"}, None, None, None)],
             [0], [("ns/gw", "http", "HTTPRoute", "ns/r", 0, None, None, None)])
    packed = v.pack_chunk(chunk)  # type: ignore[arg-type]
    assert isinstance(packed, bytes) and marshal.loads(packed) == chunk
    odd = (chunk[0], [(object(), *chunk[1][0][1:])], chunk[2], chunk[3])
    assert v.pack_chunk(odd) is odd  # type: ignore[arg-type]
    monkeypatch.setattr(v, "pack_chunk", lambda chunk: chunk)
    for args in ([str(p)] for p in _inputs(tmp_path)[-2:]):
        one = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "1")
        assert verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "2") == one, args
    assert split


class _Done:
    value = 0


def test_schedule_sends_every_chunk_once() -> None:
    """Source chunks from the start in order while the other process has fewer than AHEAD
    to finish, whole chunks from the end otherwise: each chunk exactly once."""
    items = [(object(), "generated") for _ in range(10 * v.CHUNK + 3)]
    done = _Done()
    replayed: list[int] = []
    built: list[int] = []

    def whole():  # type: ignore[no-untyped-def]
        built.append(1)
        return lambda chunk: replayed.append(len(chunk)) or ("whole", items.index(chunk[0]) // v.CHUNK)

    def source(route, chunk):  # type: ignore[no-untyped-def]
        return ("source", items.index(chunk[0]) // v.CHUNK)

    order: list[tuple[str, int]] = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(v, "source_chunk", source)
        m.setattr(v, "pack_chunk", lambda chunk: chunk)
        for at, chunk, _size, result in sourceside.schedule(items, None, whole, done,  # type: ignore[misc]
                                                            first_ahead=sourceside.AHEAD):
            order.append(chunk if chunk is not None else result)  # type: ignore[arg-type]
            assert order[-1][1] == at  # (each message says which chunk it is)
            if len(order) == 6:
                done.value = 3  # the other process took three of the four sent
    assert order == [("source", 0), ("source", 1), ("source", 2), ("source", 3), ("whole", 10), ("whole", 9),
                     ("source", 4), ("source", 5), ("source", 6), ("whole", 8), ("whole", 7)]
    assert built == [1] and replayed == [3] + [v.CHUNK] * 3


def test_schedule_keeps_more_ahead_first_and_runs_the_other_work_in_steps() -> None:
    """Until the worker first does other work, FIRST_AHEAD source chunks are kept ahead;
    then, while the other process has AHEAD to finish, a step of the other work (its result
    sent once, as an Extra) before any whole chunk; work left when every chunk is sent is
    finished then."""
    items = [(object(), "generated") for _ in range(12 * v.CHUNK)]
    done = _Done()
    steps: list[int] = []

    def finishing():  # type: ignore[no-untyped-def]
        for n in range(3):
            steps.append(n)
            yield None
        yield "result"

    def whole():  # type: ignore[no-untyped-def]
        return lambda chunk: ("whole", items.index(chunk[0]) // v.CHUNK)

    def source(route, chunk):  # type: ignore[no-untyped-def]
        return ("source", items.index(chunk[0]) // v.CHUNK)

    order: list[object] = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(v, "source_chunk", source)
        m.setattr(v, "pack_chunk", lambda chunk: chunk)
        m.setattr(sourceside, "FIRST_AHEAD", 6)
        for message in sourceside.schedule(items, None, whole, done, finishing()):
            if isinstance(message, sourceside.Extra):
                order.append(("extra", message.value, len(steps)))
                continue
            _, chunk, _size, result = message
            order.append(chunk if chunk is not None else result)  # (the other process takes none)
    assert order == [*(("source", i) for i in range(6)), ("extra", "result", 3), ("whole", 11), ("whole", 10),
                     ("whole", 9), ("whole", 8), ("whole", 7), ("whole", 6)]
    # with the other process keeping up, every chunk goes as a source chunk, and the other work after them
    done.value = 10**9
    steps.clear()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(v, "source_chunk", source)
        m.setattr(v, "pack_chunk", lambda chunk: chunk)
        sent = list(sourceside.schedule(items, None, whole, done, finishing()))
    assert sent[:-1] == [(i, ("source", i), v.CHUNK, None) for i in range(12)] and steps == [0, 1, 2]
    assert sent[-1] == sourceside.Extra("result")


def test_split_with_cases_and_more_workers(ing2gw, tmp_path: Path, split: list[str]) -> None:
    """Case-file requests follow the split generated ones; with 3 workers the pool replays
    chunks of both sides instead. Same reports."""
    case = TESTDATA / "verify" / "regex-sibling" / "input.yaml"
    cases = tmp_path / "cases.yaml"
    cases.write_text("".join(f"- name: c{i}\n  request: {{host: site.example.com, path: /foo{'bar' * (i % 3)}/{i}}}\n"
                             f"  expect: {{}}\n" for i in range(10)))
    args = ["-f", str(case), "--cases", str(cases), "--allow-unprotected"]
    one = verify_report(ing2gw, *args, "--workers", "1")
    assert verify_report(ing2gw, *args, "--workers", "2") == one
    assert split == ["early_side", "finishing_side"]
    assert verify_report(ing2gw, *args, "--workers", "3") == one
    assert split == ["early_side", "finishing_side"]
    assert one["summary"]["requests"] > 20


def test_split_keeps_what_the_policy_probes_skipped_before_the_log_lines(ing2gw, tmp_path: Path,
                                                                         split: list[str]) -> None:
    """A burst too large to send (skipped where the worker makes the policy probes) and an
    access-log line that cannot be replayed (skipped here): the report lists both in the
    order one process gives, the policy probes' first."""
    source = (TESTDATA / "verify" / "policies" / "ingresses.yaml").read_text()
    big = tmp_path / "big.yaml"
    big.write_text(source.replace('limit-rps: "5"', 'limit-rps: "5000"'))
    log = tmp_path / "access.log"
    log.write_text('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" 80 0.001 '
                   '[shop-nowhere-80] [] 10.0.0.9:80 1 0.001 200 abc\n')
    args = ["-f", str(big), "--access-log", str(log), "--allow-unprotected"]
    one = verify_report(ing2gw, *args, "--workers", "1")
    assert verify_report(ing2gw, *args, "--workers", "2") == one
    assert split == ["early_side", "finishing_side"]
    assert len(one["skipped"]) == 2
    assert "rate limits not probed" in one["skipped"][0] and one["skipped"][1].startswith(f"{log}:1: ")


def test_an_error_in_the_source_worker_is_the_one_line_error(
    ing2gw, monkeypatch: pytest.MonkeyPatch, split: list[str]
) -> None:
    """An input error raised where the source side is routed is reported as if raised here:
    one line, its exit code, nothing on stdout, no worker left."""
    def broken(route, wires):  # type: ignore[no-untyped-def]
        raise InputError("input.yaml:7: Ingress shop/web: something the model cannot read")

    monkeypatch.setattr(v, "source_wires", broken)  # (where every source chunk is routed)
    r = ing2gw(["verify", "-f", str(TESTDATA / "verify" / "canary" / "input.yaml"), "-q", "-o", "json",
                "--workers", "2"])
    assert r.exit_code == ExitCode.INPUT
    assert r.stdout == ""
    assert r.stderr.strip() == "Error: input.yaml:7: Ingress shop/web: something the model cannot read"
    assert split and multiprocessing.active_children() == []


def _slow(done: object) -> Iterator[v.SourcedMessage]:
    while True:
        time.sleep(0.05)
        yield 0, ([], [], [], []), 0, None


def test_stop_ends_and_reaps_a_running_worker() -> None:
    """An error or Ctrl-C in this process while the worker still runs: stop() ends it."""
    side = sourceside.SourceSide(_slow)
    messages = side.messages()
    assert next(messages) == (0, ([], [], [], []), 0, None)
    side.stop()
    assert side._process.exitcode is not None
    assert multiprocessing.active_children() == []


def test_the_second_worker_asks_the_first_for_the_source_side(
    ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: list[str]
) -> None:
    """With the sides split early, the second worker makes and replays the policy probes (their
    bursts too) and the widened host set asking the first worker, which has the source model,
    for the source side (ing2gw.sourcelink): only the first worker builds a model, and the
    reports are those of one process."""
    from ing2gw.providers.ingress_nginx.dataplane import NginxDataPlane

    built = tmp_path / "built"
    real = NginxDataPlane.model

    def model(self, resources, controller_config=None):  # type: ignore[no-untyped-def]
        with built.open("a") as f:  # (from whichever process builds it)
            f.write(f"{os.getpid()}\n")
        return real(self, resources, controller_config)

    monkeypatch.setattr(NginxDataPlane, "model", model)
    policies = TESTDATA / "verify" / "policies"
    runs = [[str(policies / "ingresses.yaml"), "--htpasswd", f"shop/users={policies / 'users.htpasswd'}",
             "--credentials", "alice:alice-pw"], [str(TESTDATA / "verify" / "wildcard-listener" / "input.yaml")],
            [str(TESTDATA / "verify" / "timeouts" / "ingresses.yaml")]]
    origins = set()
    for args in runs:
        one = verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "1")
        built.write_text("")
        del split[:]
        assert verify_report(ing2gw, "-f", *args, "--allow-unprotected", "--workers", "2") == one, args
        assert split == ["early_side", "finishing_side"], args
        builders = built.read_text().split()
        assert len(builders) == 1 and builders != [str(os.getpid())], args  # the first worker's only
        origins |= {d["origin"].split(" on ")[0].split(" of ")[0] for d in one["differences"]}
    assert {"policy probe: burst", "policy probe: credentials", "policy probe: a backend slower than each timeout",
            "generated: a subdomain"} <= origins, origins


def test_policy_probes_go_to_another_process_as_the_same_requests(tmp_path: Path) -> None:
    """A policy probe's request as plain values (what the second worker sends the first) builds
    the very request again: every probe of the policies and timeouts inputs, with credentials, client
    addresses, body sizes, bursts and slow backends."""
    import ing2gw.policyprobes as pp
    from ing2gw.enforce.guard import Guard, policy_index

    groups = []
    for name in ("policies", "timeouts"):
        path = TESTDATA / "verify" / name / "ingresses.yaml"
        sides = _setup._sides(path)
        assert sides is not None
        _, result, _, model, router = sides
        groups += pp.policy_probes(result.ir, router, Guard(policy_index(result.manifests)), model.route,
                                   [("alice", "alice-pw")], [], True)
    requests = [r for g in groups for r in g.requests]
    assert {r.backend_delay is not None for r in requests} == {True, False}
    assert len({r.headers.get("authorization") for r in requests}) > 3
    assert any(g.burst for g in groups) and len({r.client for r in requests}) > 1
    for request in requests:
        wire = pp.policy_wire(request)
        assert marshal.loads(marshal.dumps(wire)) == wire
        assert pp.policy_request(wire) == request


def test_the_first_worker_tells_the_rules_redirects_from_the_probes_it_routed() -> None:
    """Which rules' plain HTTP base requests the source redirects to HTTPS (the second
    worker's question) is read from the generated probes the first worker routed, found
    among them (they come sorted, in chunks); a rule none of them is gets routed."""
    from nginx_oracle import ingress, resources_of

    from ing2gw.policyprobes import base_request, redirects_to_https
    from ing2gw.probes import ingress_probe_fields
    from ing2gw.providers.ingress_nginx.model import NginxModel
    from ing2gw.sourcelink import SourceLink

    rs = resources_of([ingress("secure", "secure.test", [("/app", "Prefix", "app")], {"force-ssl-redirect": "true"}),
                       ingress("plain", "plain.test", [("/", "Prefix", "web")])])
    model = NginxModel.from_resources(rs)
    probes = ingress_probe_fields(rs.ingresses)
    link = SourceLink()
    try:
        for start in range(0, len(probes), 3):
            fields = probes[start:start + 3]
            link.remember(fields, v.source_wires(v.summarising(model), fields)[1])
        routed: list[tuple[str, str]] = []

        class Counting:
            def route(self, request):  # type: ignore[no-untyped-def]
                routed.append((request.host, request.path))
                return model.route(request)

        rules = [("secure.test", "/app"), ("plain.test", "/"), ("secure.test", "/elsewhere"), ("plain.test", "/x")]
        told = link._redirects(rules, Counting())  # type: ignore[arg-type]
        assert told == [redirects_to_https(model.route(base_request(*rule))) for rule in rules]
        assert told == [True, False, True, False]
        assert routed == [("secure.test", "/elsewhere"), ("plain.test", "/x")]  # (the others were probed)
    finally:
        link.close()
