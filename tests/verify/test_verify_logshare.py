"""Access-log lines of one class share one decision (:mod:`ing2gw.logshare`): the class
leaves out only what neither side can tell apart. Proved by equality: every line of a
random log, over Ingress sets with regex hosts, exact paths, trailing slashes, rewrites,
canaries, CORS and TLS, decided afresh equals the decision of the first line of its class;
and whole reports with and without sharing are equal."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from support import TESTDATA, verify_report

CASES = ["regex-sibling", "trailing-slash", "cors", "canary", "implicit-root", "regex-case", "timeouts/ingresses.yaml",
         "default-certificate", "wildcard-depth", "tls-catch-all", "policies/ingresses.yaml"]
SEGMENTS = ["1", "42", "7781", "abc", "item-9", "app.3.js", "x_y", "foo", "bar", "Foo", "%61", "..", ".x", "", "a b"]
QUERIES = ["", "?page=2", "?q=term7&id=991", "?q=a%20b", "?x", "?A=B"]


def _sides(folder: str) -> tuple[Any, Any, Any, Any, Any]:
    from ing2gw.convert import ConvertOptions, convert
    from ing2gw.plugins import discover
    from ing2gw.resources import build_resource_set
    from ing2gw.router import Router
    from ing2gw.sources import read_paths

    registry = discover()
    where = TESTDATA / "verify" / folder
    rs = build_resource_set(read_paths([str(where if where.suffix else where / "input.yaml")]))
    result = convert(rs, ConvertOptions(), registry)
    plane = registry.data_plane("ingress-nginx")
    assert plane is not None
    return rs, result, plane, plane.model(rs), Router.from_manifests(result.manifests)


def _lines(rs: Any, count: int, seed: int) -> list[tuple[str, str, str, int, str]]:
    """(method, host, path, status, upstream) drawn around the Ingresses' own paths."""
    rng = random.Random(seed)
    hosts = sorted({r.host for i in rs.ingresses for r in i.rules if r.host and "*" not in r.host}) or ["x.example.com"]
    hosts += ["Other.example.com", "a.b.wild.example.com"]
    paths = sorted({p.path or "/" for i in rs.ingresses for r in i.rules for p in r.paths}) or ["/"]
    ups = sorted({f"{i.namespace}-{p.backend.service}-{p.backend.port_number or p.backend.port_name}"
                  for i in rs.ingresses for r in i.rules for p in r.paths}) or ["-"]
    out = []
    for _ in range(count):
        base = rng.choice(paths).rstrip("/") if rng.random() < 0.8 else rng.choice(["", "/api", "/static/v1"])
        depth = rng.randrange(0, 3)
        path = base + "".join("/" + rng.choice(SEGMENTS) for _ in range(depth)) or "/"
        if not path.startswith("/"):
            path = "/" + path
        out.append((rng.choice(["GET", "GET", "POST", "OPTIONS", "HEAD"]), rng.choice(hosts),
                    path + rng.choice(QUERIES), rng.choice([200, 200, 301, 308, 404, 403]), rng.choice(ups)))
    return out


@pytest.mark.parametrize("folder", CASES)
def test_lines_of_a_class_get_the_decision_of_its_first_line(folder: str) -> None:
    import ing2gw.verify as v
    from ing2gw.accesslog import LogLine, decide
    from ing2gw.explain import Explainer
    from ing2gw.logshare import sharing
    from ing2gw.verification import _scheme_chooser

    rs, result, plane, model, router = _sides(folder)
    notes = [*result.notes, *plane.controller_notes()]
    shared = sharing(model, result.manifests, notes)
    assert shared is not None
    choose = _scheme_chooser(model.route, rs, None)
    v._REPLAY = v._Replay(Explainer(notes, rs, result.manifests), model.route, router.route,
                          lambda line: decide(line, choose), shared)
    first: dict[tuple[Any, ...], Any] = {}
    classes_shared = 0
    try:
        for number, (method, host, path, status, upstream) in enumerate(_lines(rs, 1500, len(folder)), 1):
            wire = tuple(LogLine("access.log", number, method, host, path, status, upstream, "", ""))
            key = (method, host, shared.key(host, path), status, upstream)
            fresh = v._decision(wire)  # type: ignore[arg-type]
            if key in first:
                assert fresh == first[key][1], (path, first[key][0])
                classes_shared += path != first[key][0]
            else:
                first[key] = (path, fresh)
    finally:
        v._REPLAY = None
    assert classes_shared > 10  # lines with other ids did share


def test_what_a_class_leaves_out() -> None:
    from ing2gw.logshare import Sharing

    literals = sorted(["/", "/api/v1", "/api/v1/", "/app/", "/app/login", "/shop/cart/"])
    s = Sharing(literals, frozenset({"rx.example.com"}), True)
    key = lambda path, host="a.example.com": s.key(host, path)[0]  # noqa: E731
    assert key("/api/v1/items/12") == key("/api/v1/items/99") == "/api/v1/items/\n"
    assert key("/api/v1/7") == key("/api/v1/8")  # /api/v1/ is the parent itself
    assert key("/app/12") == "/app/12"  # /app/login reaches into the segment
    assert key("/shop/cart") == "/shop/cart"  # /shop/cart/ does (nginx's trailing-slash redirect)
    assert key("/top") == "/top"  # the root's children: "/app/" reaches into them
    assert key("/p/x?page=2") == key("/p/y?id=3") == "/p/\n?\n"
    assert key("/p/x") != key("/p/x?a=1") != key("/p/x?")
    for kept in ("/p/X1", "/p/%61", "/p/.x", "/p//x", "/p/./x", "/p/a b", "/p/" + "x" * 65):
        assert key(kept) == kept
    assert key("/p/x?a%20b") == "/p/\n?a%20b"
    assert key("/p/12", "rx.example.com") == key("/p/12", "RX.example.com:8080") == "/p/12"
    assert Sharing(["/"], frozenset(), False).key("h", "/p/x?page=2") == ("/p/\n?page=2",)
    scoped = Sharing(["/"], frozenset(), True, (__import__("re").compile("[0-9]"),))
    assert scoped.key("h", "/p/x") == ("/p/\n", "") and scoped.key("h", "/p/1") == ("/p/\n", "1")


def test_shared_and_unshared_reports_are_equal(ing2gw, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole report (counts, aggregated entries, their first examples, contradictions)
    with line classes equals the one deciding every line afresh, one worker and two."""
    import ing2gw.verification as verification
    import ing2gw.verify as v

    case = TESTDATA / "verify" / "regex-sibling" / "input.yaml"
    rs = _sides("regex-sibling")[0]
    log = tmp_path / "access.log"
    log.write_text("".join(
        f'10.0.0.1 - - [26/Nov/2026:07:00:00 +0000] "{m} {p} HTTP/1.1" {s} 5 "-" "curl" 80 0.001 [{u}] [] '
        f"10.1.1.1:80 5 0.001 200 id{n}\n" for n, (m, _, p, s, u) in enumerate(_lines(rs, 600, 19))))
    args = ["-f", str(case), "--no-generate", "--access-log", str(log)]
    monkeypatch.setattr(v, "CHUNK", 50)
    shared = [verify_report(ing2gw, *args, "--workers", w) for w in ("1", "2")]
    monkeypatch.setattr(verification, "line_sharing", lambda *a: None)
    monkeypatch.setattr(v, "_LINES", _Forgetful())
    monkeypatch.setattr(v, "_CLASSES", _Forgetful())
    fresh = verify_report(ing2gw, *args, "--workers", "1")
    assert shared[0] == shared[1] == fresh
    assert fresh["summary"]["differ"] == sum(e["count"] for e in fresh["accessLog"]) > 0


class _Forgetful(dict):  # type: ignore[type-arg]
    def __setitem__(self, key: object, value: object) -> None:
        pass
