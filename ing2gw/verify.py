"""Prove a migration: replay requests through the source controller's model and through the
converted Gateway API objects, and report every request treated differently.

The source side is a provider's data-plane model (``provider.data_plane_model``); the
Gateway side is the reference router over ``ing2gw convert``'s output. Each difference is
tied to the conversion notes that explain it -- notes of the Ingresses involved (the one
the model matched, the sources of the route the gateway matched, the owners of the host)
whose fidelity is not exact. A difference no note explains is an *unexplained drift*: a bug
in ing2gw or a gap the notes must name; reports list those first.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .http import Request
from .notes import Fidelity, Level, Note
from .probes import Probe
from .resources import ResourceSet

__all__ = ["ASPECTS", "Difference", "VerifyReport", "compare_outcomes", "gateway_summary", "summarise",
           "verify_requests"]

ASPECTS = ("status", "backend", "weights", "redirect", "path", "host")
_EXPLAINING = (Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED)

# What a note can explain, by its code without the provider prefix ("NGINX-"); notes not
# listed can explain any aspect. Keeping this narrow is what makes "explained" mean something.
NOTE_ASPECTS: dict[str, frozenset[str]] = {
    "SSL-REDIRECT-TRAILING-SLASH": frozenset({"redirect"}),
    "REDIRECT-QUERY": frozenset({"redirect"}),
    "REDIRECT-CODE": frozenset({"redirect", "status"}),
    "CANARY-SCOPE": frozenset({"weights", "backend"}),
    "APP-ROOT-QUERY": frozenset({"redirect"}),
    "REWRITE-AS-PREFIX": frozenset({"path", "backend", "status", "redirect"}),
    "UPSTREAM-VHOST-PORT": frozenset({"host"}),
    "UPSTREAM-VHOST-VARIABLE": frozenset({"host"}),
    "TRAILING-SLASH-REDIRECT": frozenset({"redirect", "status", "backend", "path", "host"}),
    "CORS-ORIGIN-SKIPPED": frozenset({"status"}),
    "PATH-NORMALISATION": frozenset({"status", "backend", "redirect", "path"}),
    "DEFAULT-SERVER": frozenset({"status", "backend"}),
}


def _aspects_of(note: Note) -> frozenset[str]:
    code = note.code.split("-", 1)[1] if "-" in note.code else note.code
    return NOTE_ASPECTS.get(code, frozenset(ASPECTS))


def _normalisation_sensitive(path: str) -> bool:
    return "%" in path or "//" in path or "\\" in path or "/./" in path or "/../" in path \
        or path.endswith(("/.", "/.."))


def summarise(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an outcome (JSON form) that two data planes must agree on."""
    redirect = outcome.get("redirect")
    upstream = outcome.get("upstream") if outcome.get("backend") else None
    weights = {k: v for k, v in (outcome.get("weights") or {}).items() if v}
    total = sum(weights.values())
    shares = {k: round(100 * v / total) for k, v in sorted(weights.items())} if len(weights) > 1 else None
    return {
        "status": outcome.get("status"),
        "backend": outcome.get("backend"),
        "weights": shares,  # traffic shares in whole percent, when the request is split
        "redirect": f"{redirect['statusCode']} {redirect['location']}" if redirect else None,
        "path": upstream.get("path") if upstream else None,
        "host": upstream.get("host") if upstream else None,
    }


def gateway_summary(outcome: Any) -> dict[str, Any]:
    """The outcome-dict fields :func:`summarise` and the explainer read, taken straight from
    a router :class:`~ing2gw.router.Outcome` (cheaper than its full ``to_dict``)."""
    up = outcome.upstream
    redirect = outcome.redirect
    matched = outcome.matched
    return {
        "status": outcome.status,
        "backend": outcome.backend,
        "weights": outcome.weights if outcome.served else None,
        "redirect": {"location": redirect.location, "statusCode": redirect.status_code} if redirect else None,
        "upstream": {"path": up.path, "host": up.host} if up is not None else None,
        "matched": {"route": matched.route} if matched is not None else None,
    }


def compare_outcomes(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, ...]:
    """The aspects that differ; the upstream path and host only count when both sides
    proxy the request (otherwise status, backend or redirect already differ)."""
    both_served = bool(a.get("backend")) and bool(b.get("backend"))
    return tuple(k for k in ASPECTS if (both_served or k not in ("path", "host")) and a.get(k) != b.get(k))


@dataclass(frozen=True, slots=True)
class Difference:
    request: dict[str, Any]
    source: dict[str, Any]
    gateway: dict[str, Any]
    aspects: tuple[str, ...]
    ingresses: tuple[str, ...]
    explained_by: tuple[Note, ...]
    origin: str = ""  # where the request came from: "generated", "case NAME", "access log line N"

    @property
    def explained(self) -> bool:
        return bool(self.explained_by)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "origin": self.origin,
            "source": self.source,
            "gateway": self.gateway,
            "differs": list(self.aspects),
            "ingresses": list(self.ingresses),
            "explained": self.explained,
            "explainedBy": [{"code": n.code, "subject": n.subject, "field": n.field, "fidelity": str(n.fidelity or ""),
                             "message": n.message} for n in self.explained_by],
        }


@dataclass(slots=True)
class VerifyReport:
    provider: str
    ingresses: int
    requests: int = 0
    agree: int = 0
    differences: list[Difference] = field(default_factory=list)
    elapsed_s: float = 0.0
    skipped: list[str] = field(default_factory=list)  # inputs that could not be replayed
    # second opinions: "nginx" (the real controller vs the model), "proxy" (ing2gw serve vs
    # the router) -> {"checked", "disagree", "problems"}
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]

    def groups(self) -> list[dict[str, Any]]:
        """Differences grouped by cause (what differs, which notes explain it)."""
        grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Difference]] = {}
        for d in self.differences:
            codes = tuple(sorted({n.code for n in d.explained_by})) or ("UNEXPLAINED",)
            grouped.setdefault((codes, d.aspects), []).append(d)
        rows: list[tuple[bool, int, tuple[str, ...], tuple[str, ...], dict[str, Any]]] = []
        for (codes, aspects), items in grouped.items():
            explained = codes != ("UNEXPLAINED",)
            rows.append((explained, -len(items), codes, aspects, {
                "cause": list(codes),
                "differs": list(aspects),
                "explained": explained,
                "count": len(items),
                "ingresses": sorted({i for d in items for i in d.ingresses}),
                "example": items[0].to_dict(),
            }))
        rows.sort(key=lambda r: r[:4])
        return [r[4] for r in rows]

    def to_dict(self) -> dict[str, Any]:
        explained = sum(1 for d in self.differences if d.explained)
        ordered = sorted(self.differences, key=lambda d: (d.explained, d.request["url"], d.request["method"]))
        return {
            "provider": self.provider,
            "summary": {
                "ingresses": self.ingresses,
                "requests": self.requests,
                "agree": self.agree,
                "differ": len(self.differences),
                "explained": explained,
                "unexplained": len(self.differences) - explained,
                "elapsed_s": round(self.elapsed_s, 3),
            },
            "groups": self.groups(),
            "differences": [d.to_dict() for d in ordered],
            "skipped": self.skipped,
            "checks": self.checks,
        }


class _Explainer:
    """Finds the notes that can explain a difference for a request."""

    def __init__(self, notes: Iterable[Note], resources: ResourceSet,
                 route_sources: Mapping[str, tuple[str, ...]]) -> None:
        self.by_ingress: dict[str, list[Note]] = {}
        self.general: list[Note] = []
        self.all_notes: list[Note] = []
        self.index: dict[Note, int] = {}
        for n in notes:
            self.index.setdefault(n, len(self.all_notes))
            if len(self.all_notes) < len(self.index):
                self.all_notes.append(n)
            if n.fidelity not in _EXPLAINING and n.level is not Level.WARNING and n.level is not Level.ERROR:
                continue
            if n.subject.startswith("Ingress "):
                self.by_ingress.setdefault(n.subject[len("Ingress "):], []).append(n)
            elif n.fidelity in _EXPLAINING:
                self.general.append(n)
        self.host_owners: dict[str, set[str]] = {}
        for ing in resources.ingresses:
            for rule in ing.rules:
                self.host_owners.setdefault(rule.host, set()).add(ing.ref)
        self.route_sources = route_sources

    def involved(self, hostname: str, source: Mapping[str, Any], gateway: Mapping[str, Any]) -> tuple[str, ...]:
        refs: set[str] = set()
        m = source.get("matched") or {}
        if m.get("ingress"):
            refs.add(str(m["ingress"]))
        g = gateway.get("matched") or {}
        if g.get("route"):
            refs.update(self.route_sources.get(str(g["route"]), ()))
        refs.update(self.host_owners.get(hostname, ()))
        # wildcard owners: "*.<suffix>" for every parent domain of the hostname
        labels = hostname.split(".")
        for i in range(1, len(labels)):
            refs.update(self.host_owners.get("*." + ".".join(labels[i:]), ()))
        return tuple(sorted(refs))

    def explain(self, refs: Sequence[str], aspects: Sequence[str], request: Request) -> tuple[Note, ...]:
        """The notes that together account for every differing aspect (none if they cannot)."""
        candidates = [n for r in refs for n in self.by_ingress.get(r, [])]
        for n in self.general:
            code = n.code.split("-", 1)[1] if "-" in n.code else n.code
            if code == "PATH-NORMALISATION" and not _normalisation_sensitive(request.path):
                continue
            if code == "DEFAULT-SERVER" and refs:
                continue
            candidates.append(n)
        useful = [n for n in dict.fromkeys(candidates) if _aspects_of(n) & set(aspects)]
        covered = set().union(*(_aspects_of(n) for n in useful)) if useful else set()
        return tuple(useful) if set(aspects) <= covered else ()


def route_sources(manifests: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """``ns/name`` of each route -> the Ingresses (``ns/name``) it was made from."""
    out: dict[str, tuple[str, ...]] = {}
    for m in manifests:
        if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        meta = m.get("metadata") or {}
        src = (meta.get("annotations") or {}).get("ing2gw.io/source", "")
        refs = tuple(s.split(" ", 1)[1] for s in src.split(", ") if s.startswith("Ingress "))
        out[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = refs
    return out


@dataclass(slots=True)
class _Replay:
    """What replaying needs; set before worker processes fork, so they inherit it."""

    explainer: _Explainer
    source_route: Callable[[Request], Mapping[str, Any]]
    gateway_route: Callable[[Request], Mapping[str, Any]]


_REPLAY: _Replay | None = None
_PRELOADED: Sequence[tuple[Replayable, str]] = ()  # requests workers read by index (inherited)
CHUNK = 2000  # requests per unit of work (and per read from the request stream)


_Row = tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], tuple[str, ...], tuple[int, ...], str]


Replayable = Request | Probe  # a probe is built into a Request where it is replayed


def _as_request(item: Replayable) -> Request:
    if isinstance(item, Request):
        return item
    return Request.build(host=item.host, path=item.path, scheme=item.scheme, headers=list(item.headers))


def _replay_chunk(chunk: Sequence[tuple[Replayable, str]]) -> tuple[int, list[_Row]]:
    """(agreeing requests, differences as compact rows) for one chunk, in this process or a
    forked worker; notes travel as indices into the explainer's list (cheap to pickle)."""
    assert _REPLAY is not None
    r = _REPLAY
    agree = 0
    rows: list[_Row] = []
    for item, origin in chunk:
        request = _as_request(item)
        src = r.source_route(request)
        gw = r.gateway_route(request)
        a, b = summarise(src), summarise(gw)
        aspects = compare_outcomes(a, b)
        if not aspects:
            agree += 1
            continue
        refs = r.explainer.involved(request.hostname, src, gw)
        explained = tuple(r.explainer.index[n] for n in r.explainer.explain(refs, aspects, request))
        rows.append(({"method": request.method, "url": f"{request.scheme}://{request.host}{request.target}",
                      "headers": request.headers.as_dict()}, a, b, aspects, refs, explained, origin))
    return agree, rows


_Wire = tuple[str, str, str, str, tuple[tuple[str, str], ...], int, "str | None", str]


def _to_wire(item: Replayable, origin: str) -> _Wire | tuple[Probe, str]:
    """A request as plain tuples: far cheaper to send to a worker than the object (a probe
    is sent as it is and built there)."""
    if isinstance(item, Probe):
        return item, origin
    pairs = tuple((name, value) for name in item.headers for value in item.headers.get_all(name))
    return (item.method, item.scheme, item.host, item.target, pairs, item.port, item.sni, origin)


def _replay_range(span: tuple[int, int]) -> tuple[int, list[_Row]]:
    """Replay ``_PRELOADED[start:end]`` (a forked worker reads them from its inherited memory)."""
    return _replay_chunk(_PRELOADED[span[0]:span[1]])


def _replay_wire(chunk: Sequence[_Wire | tuple[Probe, str]]) -> tuple[int, list[_Row]]:
    items: list[tuple[Replayable, str]] = []
    for wire in chunk:
        if len(wire) == 2:
            items.append(wire)
            continue
        method, scheme, host, target, pairs, port, sni, origin = wire
        items.append((Request.build(host=host, path=target, method=method, scheme=scheme, headers=pairs,
                                    port=port, sni=sni), origin))
    return _replay_chunk(items)


def _chunks(requests: Iterable[tuple[Replayable, str]]) -> Iterator[list[tuple[Replayable, str]]]:
    chunk: list[tuple[Replayable, str]] = []
    for item in requests:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def verify_requests(
    provider: str,
    resources: ResourceSet,
    manifests: Sequence[Mapping[str, Any]],
    notes: Iterable[Note],
    source_route: Callable[[Request], Mapping[str, Any]],
    gateway_route: Callable[[Request], Mapping[str, Any]],
    requests: Iterable[tuple[Replayable, str]],
    progress: Callable[[int], None] | None = None,
    checkers: Sequence[Any] = (),
    workers: int = 1,
    preloaded: Sequence[tuple[Replayable, str]] = (),
) -> VerifyReport:
    """Replay ``requests`` (with where each came from) through both sides. Each of
    ``checkers`` (objects with ``name`` and ``check(request) -> problems | None``) gives a
    second opinion on every request: the real controller against the model, the proxy
    against the router. Requests are read in chunks (a long access log is never held
    whole); with ``workers`` > 1 (and no checkers, which hold sockets) chunks are replayed
    by forked worker processes, results kept in request order. ``preloaded`` requests come
    first; workers read them from memory they inherit, so nothing about them is sent."""
    global _REPLAY, _PRELOADED
    started = time.perf_counter()
    _REPLAY = _Replay(_Explainer(notes, resources, route_sources(manifests)), source_route, gateway_route)
    report = VerifyReport(provider=provider, ingresses=len(resources.ingresses))
    for checker in checkers:
        report.checks[checker.name] = {"checked": 0, "disagree": 0, "problems": []}

    def second_opinions(chunk: Sequence[tuple[Replayable, str]]) -> None:
        for item, _ in chunk:
            request = _as_request(item)
            for checker in checkers:
                problems = checker.check(request)
                if problems is None:
                    continue
                tally = report.checks[checker.name]
                tally["checked"] += 1
                if problems:
                    tally["disagree"] += 1
                    if len(tally["problems"]) < 50:
                        tally["problems"].append(f"{request.method} {request.scheme}://{request.host}"
                                                 f"{request.target}: " + "; ".join(problems))

    notes_by_index = _REPLAY.explainer.all_notes

    def account(chunk_size: int, result: tuple[int, list[_Row]]) -> None:
        report.requests += chunk_size
        report.agree += result[0]
        report.differences.extend(
            Difference(request=req, source=a, gateway=b, aspects=aspects, ingresses=refs,
                       explained_by=tuple(notes_by_index[i] for i in explained), origin=origin)
            for req, a, b, aspects, refs, explained, origin in result[1]
        )
        if progress is not None:
            progress(report.requests)

    parallel = workers > 1 and not checkers and "fork" in multiprocessing.get_all_start_methods()
    try:
        if parallel and len(preloaded) > CHUNK:
            _PRELOADED = preloaded
            spans = [(i, min(i + CHUNK, len(preloaded))) for i in range(0, len(preloaded), CHUNK)]
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for (start, end), result in zip(spans, pool.imap(_replay_range, spans), strict=True):
                    account(end - start, result)
        else:
            requests = itertools.chain(preloaded, requests)
        chunks = _chunks(requests)
        first = next(chunks, [])
        second = next(chunks, None)
        if parallel and second is not None:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                sizes: list[int] = []

                def sized() -> Iterator[list[_Wire | tuple[Probe, str]]]:
                    for chunk in itertools.chain([first, second], chunks):
                        sizes.append(len(chunk))
                        yield [_to_wire(r, origin) for r, origin in chunk]

                for i, result in enumerate(pool.imap(_replay_wire, sized())):
                    account(sizes[i], result)
        else:  # one chunk (no pool worth starting), checkers, or one worker
            for chunk in itertools.chain([first], [second] if second is not None else [], chunks):
                if chunk:
                    second_opinions(chunk)
                    account(len(chunk), _replay_chunk(chunk))
    finally:
        _REPLAY = None
        _PRELOADED = ()
    report.elapsed_s = time.perf_counter() - started
    return report
