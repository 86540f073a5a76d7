"""The replay's per-request shortcuts give what the plain steps give: response headers
summarised from their lower-case items, headers dropped in one copy, and the Ingress path a
Gateway-side route falls under found from stems worked out once. Random inputs, compared
with the plain recipes spelled out here."""

from __future__ import annotations

import random
from typing import Any

from ing2gw.http import Headers
from ing2gw.router.outcome import Outcome, RuleInfo, Upstream

NAMES = ["X-A", "x-a", "Content-Type", "content-length", "Access-Control-Allow-Origin", "access-control-max-age",
         "Set-Cookie", "B", "İstanbul", "Strict-Transport-Security", "ẞ-Header"]


def _headers(rng: random.Random) -> Headers:
    return Headers([(rng.choice(NAMES), rng.choice(["1", "2", "v,w", ""])) for _ in range(rng.randrange(0, 6))])


def test_lower_items_equal_sorted_as_dict() -> None:
    rng = random.Random(19)
    for _ in range(3000):
        h = _headers(rng)
        plain = [(name.lower(), value) for name, value in sorted(h.as_dict().items(), key=lambda kv: kv[0].lower())]
        assert h.lower_items() == plain


def test_without_equals_removing_one_by_one() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        h = _headers(rng)
        names = frozenset(n.lower() for n in rng.sample(NAMES, rng.randrange(0, 4)))
        plain = h
        for name in names:
            plain = plain.remove(name)
        assert h.without(names).as_dict() == plain.as_dict() and list(h.without(names)) == list(plain)


def _plain_summary(outcome: Outcome) -> tuple[Any, ...]:
    """verify's summary, with the response headers sorted from their dict form."""
    from ing2gw.verify import _DENIED, _UNCOMPARED_HEADERS

    status, rule = outcome.status, outcome.rule
    up = backend = shares = None
    if outcome.served:
        up = outcome.upstream
        if rule is not None:
            backend = rule.backend
            weights = {k: v for k, v in rule.weights.items() if v}
            if len(rule.weights) > 1 and len(weights) > 1:
                total = sum(weights.values())
                shares = {k: round(100 * v / total) for k, v in sorted(weights.items())}
    headers: dict[str, str] | None = None
    cors = None
    if outcome.response_headers:
        allowed = []
        for name, value in sorted(outcome.response_headers.as_dict().items(), key=lambda kv: kv[0].lower()):
            low = name.lower()
            if low.startswith("access-control-"):
                allowed.append(f"{low}: {value}")
            elif low not in _UNCOMPARED_HEADERS:
                headers = headers or {}
                headers[low] = value
        cors = "; ".join(allowed) or None
    if outcome.reason == "CORSPreflight":
        cors = f"answered {status}" + (f"; {cors}" if cors else "")
    redirect = outcome.redirect
    return (status, backend, shares, f"{redirect.status_code} {redirect.location}" if redirect else None,
            up.path if up else None, up.host if up else None, headers, cors,
            status if status in _DENIED else None, "no answer" if status is None else None)


def test_summary_equals_the_plain_summary() -> None:
    from ing2gw.notes import ASPECTS
    from ing2gw.router.outcome import Matched
    from ing2gw.verify import _summary, summarise

    rng = random.Random(7)
    infos = [None, RuleInfo(Matched("g", "l"), "ns/a:80", {"ns/a:80": 100}),
             RuleInfo(Matched("g", "l"), "ns/b:80", {"ns/a:80": 25, "ns/b:80": 75, "ns/c:80": 0})]
    shared = [_headers(rng) for _ in range(20)]  # one Headers object in many answers (summarised once)
    for _ in range(3000):
        status = rng.choice([200, 204, 301, 401, 403, 404, None])
        headers = rng.choice(shared) if rng.random() < 0.5 else _headers(rng)
        outcome = Outcome(status, rng.choice(["Routed", "CORSPreflight", "Redirect"]), rng.choice(infos),
                          rng.random() < 0.6, Upstream("GET", "h", "/p", Headers()), None, headers)
        assert _summary(outcome) == _plain_summary(outcome)
        assert summarise(outcome) == dict(zip(ASPECTS, _plain_summary(outcome), strict=True))


def test_under_equals_the_plain_scan() -> None:
    """Explainer._under (stems worked out once per host and Ingress) against one scan of the
    Ingress's paths per request, on random paths (case and non-ASCII included)."""
    from ing2gw.explain import Explainer, _literal
    from ing2gw.resources import ResourceSet

    explainer = Explainer([], ResourceSet(), [])
    rng = random.Random(11)
    pieces = ["api", "API", "v1", "İ", "(.*)", "x", "", "foo", "[a-z]+"]
    for i in range(300):
        host, ref = f"h{i % 7}.test", f"ns/i{i % 5}"
        paths = ["/" + "/".join(rng.choice(pieces) for _ in range(rng.randrange(0, 3))) for _ in range(4)]
        explainer.paths.setdefault(host, {}).setdefault(ref, []).extend(paths)
        explainer._stems.clear()
        for _ in range(20):
            path = "/" + "/".join(rng.choice(pieces) for _ in range(rng.randrange(0, 4)))
            best = None
            for p in explainer.paths[host][ref]:
                stem = _literal(p).lower()
                if (path.lower() == stem or path.lower().startswith(stem)) and (
                        best is None or len(stem) > len(_literal(best))):
                    best = p
            assert explainer._under(ref, host, path) == best


def test_replaced_equals_without_then_set_many() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        h = _headers(rng)
        drop = frozenset(n.lower() for n in rng.sample(NAMES, rng.randrange(0, 4)))
        pairs = [(rng.choice(NAMES), rng.choice(["1", "9"])) for _ in range(rng.randrange(0, 5))]
        fast, plain = h.replaced(drop, pairs), h.without(drop).set_many(pairs)
        assert fast.as_dict() == plain.as_dict() and list(fast) == list(plain) and fast == plain


def test_deferred_headers_are_the_headers_they_make() -> None:
    """DeferredHeaders behave as the Headers their function makes, in every method, pickled too;
    the function runs once, and only when the headers are read."""
    import pickle

    from ing2gw.http import DeferredHeaders

    rng = random.Random(13)
    for _ in range(500):
        plain = _headers(rng)
        calls: list[int] = []

        def make(plain: Headers = plain, calls: list[int] = calls) -> Headers:
            calls.append(1)
            return plain

        deferred = DeferredHeaders(make)
        assert not calls
        name = rng.choice(NAMES)
        assert deferred == plain and hash(deferred) == hash(plain) and repr(deferred) == repr(plain)
        assert (list(deferred), len(deferred), bool(deferred), deferred.as_dict()) == (
            list(plain), len(plain), bool(plain), plain.as_dict())
        assert (deferred.get(name), deferred.get_all(name), name in deferred) == (
            plain.get(name), plain.get_all(name), name in plain)
        assert deferred.set(name, "z") == plain.set(name, "z") and deferred.remove(name) == plain.remove(name)
        assert pickle.loads(pickle.dumps(deferred)) == plain
        assert len(calls) == 1
