"""Prove a migration: replay requests through the source controller's model and through the
converted Gateway API objects, and report every request treated differently.

The source side is a provider's declared data-plane model (:mod:`ing2gw.dataplane`); the
Gateway side is the reference router over ``ing2gw convert``'s output. Both give typed
outcomes, summarised by one function (:func:`summarise`) per aspect. Each difference is tied
to the conversion notes that explain it (:mod:`ing2gw.explain`: a note whose aspects
differ and whose scope covers the rule that served the request). A difference no note
explains is an *unexplained drift*: a bug in ing2gw or a gap the notes must name; reports
list those first. The whole pipeline is :func:`ing2gw.verification.run_verify`.
"""

from __future__ import annotations

import collections
import itertools
import marshal
import multiprocessing
import operator
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, TypeVar, cast

import orjson

from .accesslog import LogLine
from .accesslog import origin as log_origin
from .explain import Explainer
from .forking import can_fork, end_with_parent
from .http import Headers, MeshSource, Request, plain_request
from .logshare import Sharing
from .notes import ASPECTS, Note
from .probes import PROBE_CLIENT, Probe, ProbeFields
from .resources import ResourceSet
from .router.outcome import Matched, Outcome, RedirectTo, RuleInfo
from .yamlio import json_pieces

if TYPE_CHECKING:
    from .policyprobes import ProbeGroup, Stateful

__all__ = ["ASPECTS", "Difference", "SourceStandIn", "Summary", "VerifyReport", "compare_outcomes",
           "compare_summaries", "matched_values", "probe_request", "shown_request", "source_stand_ins", "summarise",
           "summary_dict", "summary_of", "tally", "verify_requests"]

_DENIED = (401, 403)
_TIMED_OUT = 504  # the backend was slower than a timeout: no backend's answer follows
# Aspects compared only when both sides proxy the request (otherwise status, backend or
# redirect already differ, and a 404's headers say nothing about the configuration).
_WHEN_SERVED = frozenset({"path", "host", "headers", "cors"})
# Response headers the compared aspects leave out: the body's framing, and CORS (own aspect).
_UNCOMPARED_HEADERS = frozenset({"content-length", "content-type"})


def summarise(outcome: Outcome) -> dict[str, Any]:
    """The parts of an outcome two data planes must agree on, one key per aspect:
    ``weights`` are traffic shares in whole percent when the request is split, ``headers``
    the response headers a configuration adds, ``cors`` the Access-Control-* ones
    (``answered ...`` when the data plane answered a preflight itself), ``auth`` the status of
    an access denial (401/403), ``tls`` whether the request got no HTTP answer at all (no
    listener took the connection: no certificate for the host)."""
    return _as_dict(_summary(outcome))


_Summary = tuple[Any, ...]  # summarise's values in ASPECTS order (cheaper to build and compare)

# Remembered per process, by identity (the key object is kept, so its id stays its own): the
# summary of a response's headers -- routers share one Headers object among many answers --
# and the shares of a split rule.
_HEADER_SUMMARIES: dict[int, tuple[Headers, dict[str, str] | None, str | None]] = {}
_SHARES: dict[int, tuple[Any, dict[str, int] | None]] = {}
_SHOWN_HEADERS: dict[int, tuple[Headers, dict[str, str]]] = {}  # a request's headers as a difference shows them
# A preflight answer's cors aspect by its status and Access-Control-* headers: one string for
# the many preflights answered alike (a chunk sent to another process writes it once, and its
# hash is computed once where summaries are compared and shared).
_ANSWERED: dict[tuple[Any, str | None], str] = {}
_SUMMARY_MEMO = 10_000


def _headers_summary(response_headers: Headers) -> tuple[dict[str, str] | None, str | None]:
    """(the compared headers, the Access-Control-* ones as one string) of a response."""
    hit = _HEADER_SUMMARIES.get(id(response_headers))
    if hit is not None and hit[0] is response_headers:
        return hit[1], hit[2]
    headers: dict[str, str] | None = None
    allowed = []
    for low, value in response_headers.lower_items():
        if low.startswith("access-control-"):
            allowed.append(f"{low}: {value}")
        elif low not in _UNCOMPARED_HEADERS:
            headers = headers or {}
            headers[low] = value
    cors = "; ".join(allowed) or None
    if len(_HEADER_SUMMARIES) >= _SUMMARY_MEMO:
        _HEADER_SUMMARIES.clear()
    _HEADER_SUMMARIES[id(response_headers)] = (response_headers, headers, cors)
    return headers, cors


def _shares(rule: Any) -> dict[str, int] | None:
    """The traffic shares (whole percent) of a split rule (:class:`~ing2gw.router.outcome.RuleInfo`)."""
    hit = _SHARES.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    shares = None
    weights = {k: v for k, v in rule.weights.items() if v}
    if len(weights) > 1:
        total = sum(weights.values())
        shares = {k: round(100 * v / total) for k, v in sorted(weights.items())}
    if len(_SHARES) >= _SUMMARY_MEMO:
        _SHARES.clear()
    _SHARES[id(rule)] = (rule, shares)
    return shares


def _summary(outcome: Outcome) -> _Summary:
    status, reason, rule, served, upstream, redirect, response_headers = outcome[:7]  # one unpacking, not 7 reads
    path = host = backend = shares = None
    if served:
        if upstream is not None:
            path, host = upstream.path, upstream.host
        if rule is not None:
            backend = rule.backend
            if len(rule.weights) > 1:
                shares = _shares(rule)
    headers = cors = None
    if response_headers is not None:  # (empty ones too: its memo answers them without asking their length)
        headers, cors = _headers_summary(response_headers)
    if reason == "CORSPreflight":
        answered = _ANSWERED.get((status, cors))
        if answered is None:
            if len(_ANSWERED) >= _SUMMARY_MEMO:
                _ANSWERED.clear()
            answered = _ANSWERED[status, cors] = f"answered {status}" + (f"; {cors}" if cors else "")
        cors = answered
    return (
        status,
        backend,
        shares,
        f"{redirect.status_code} {redirect.location}" if redirect else None,
        path,
        host,
        headers,
        cors,
        status if status in _DENIED else None,
        "no answer" if status is None else None,
    )


def _as_dict(summary: _Summary) -> dict[str, Any]:
    """A summary as :func:`summarise` gives it (keys in ASPECTS order; a display is cheaper than zip)."""
    status, backend, weights, redirect, path, host, headers, cors, auth, tls = summary
    return {"status": status, "backend": backend, "weights": weights, "redirect": redirect, "path": path,
            "host": host, "headers": headers, "cors": cors, "auth": auth, "tls": tls}


def compare_outcomes(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, ...]:
    """The aspects that differ. No answer on one side (``tls``), a denial on one side only
    (``auth``), a timeout (504) on one side only (``status``) or a preflight answered
    differently (``cors``) is the one difference: the status, backend and headers that
    follow from it are its consequences. The upstream path and host and the response
    headers only count when both sides proxy the request."""
    return _differing(tuple(a[k] for k in ASPECTS), tuple(b[k] for k in ASPECTS))


# positions in a _Summary
_STATUS, _BACKEND, _CORS, _AUTH, _TLS = (ASPECTS.index(k) for k in ("status", "backend", "cors", "auth", "tls"))
_ALWAYS = tuple((i, k) for i, k in enumerate(ASPECTS) if k not in _WHEN_SERVED)
_INDEXED = tuple(enumerate(ASPECTS))


def _differing(a: _Summary, b: _Summary) -> tuple[str, ...]:
    """:func:`compare_outcomes` of two summaries in ASPECTS order."""
    if a == b:
        return ()
    if a[_TLS] != b[_TLS]:
        return ("tls",)
    if a[_AUTH] != b[_AUTH]:
        return ("auth",)
    if (a[_STATUS] == _TIMED_OUT) != (b[_STATUS] == _TIMED_OUT):
        return ("status",)
    if a[_CORS] != b[_CORS] and (str(a[_CORS]).startswith("answered") or str(b[_CORS]).startswith("answered")):
        return ("cors",)
    # (tuple() of a list, not of a generator: the cheaper in CPython, once per differing request)
    if a[_BACKEND] and b[_BACKEND]:
        return tuple([k for i, k in _INDEXED if a[i] != b[i]])
    return tuple([k for i, k in _ALWAYS if a[i] != b[i]])


# The summaries in their tuple form, for a caller that makes them apart from where they are
# compared (diff's two processes): cheaper to make, send and compare than summarise's dicts,
# which are made for the differences only.
Summary = _Summary
summary_of = _summary  # summarise's values in ASPECTS order
compare_summaries = _differing  # compare_outcomes of two summaries in that form
summary_dict = _as_dict  # a summary in that form as summarise gives it


class Difference(NamedTuple):
    """A request the sides treat differently. A NamedTuple rather than a frozen dataclass:
    one is built per differing request (over a hundred thousand on a large input), and a
    tuple is several times cheaper to build."""

    request: dict[str, Any]
    source: dict[str, Any]
    gateway: dict[str, Any]
    aspects: tuple[str, ...]
    ingresses: tuple[str, ...]
    explained_by: tuple[Note, ...]
    origin: str = ""  # where the request came from: "generated", "case NAME", "access log line N"
    repeats: int = 1  # how many times this very request was replayed and differed so (the first origin is kept)

    @property
    def explained(self) -> bool:
        return bool(self.explained_by)

    def to_dict(self, rendered: _Rendered | None = None) -> dict[str, Any]:
        """``rendered``: notes and tuples of notes already written, shared by the differences
        of one report."""
        return _rows((self,), rendered, None)[0]


# Difference(...) of all its fields, without the Python-level __new__ a NamedTuple has (one
# call per differing request, in the process that counts them)
_new_difference = tuple.__new__


# What a report has written so far, by ``id`` (the object kept, so its id stays its own): a
# note -> its JSON, a tuple of notes (one explanation) -> the list of their JSON.
_Rendered = dict[int, tuple[Any, Any]]
# A row's key lines are indented by three levels in the JSON report (the report's keys, the
# differences list, the row): what a row's explainedBy written alone is indented by again.
_ROW_INDENT = b"\n" + b"  " * 3
_FRAGMENT_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS  # (dump_json's but the final newline)


def _rows(ordered: Iterable[Difference], rendered: _Rendered | None,
          written: dict[int, tuple[tuple[Note, ...], Any]] | None) -> list[dict[str, Any]]:
    """The JSON rows of ``ordered`` differences, laid out here only (one loop, no call per
    row: the rows of a large report are made while it is written); with ``written``
    (explanations written so far, by ``id`` of their tuple of notes), each row's explainedBy
    as the JSON text it is written as (see :meth:`VerifyReport.json_pieces`), and its differs
    and ingresses the tuples they are (written as lists: no list made per row)."""
    out = []
    last: Any = None  # the previous row's explanation, and its explainedBy and explained (rows of one
    explained_by: Any = None  # Ingress follow each other, often explained alike)
    explained = False
    for request, source, gateway, aspects, ingresses, explanation, origin, repeats in ordered:
        if written is None:
            explained_by = _notes_json(explanation, rendered)
            explained = bool(explanation)
            differs: Sequence[str] = list(aspects)  # (JSON data: lists; written, the tuples will do)
            refs: Sequence[str] = list(ingresses)
        else:
            differs, refs = aspects, ingresses
            if explanation is not last:
                found = written.get(id(explanation))
                if found is None or found[0] is not explanation:
                    listed = _notes_json(explanation, rendered)
                    try:
                        made: Any = orjson.Fragment(orjson.dumps(listed, option=_FRAGMENT_OPTIONS)
                                                    .replace(b"\n", _ROW_INDENT))
                    except orjson.JSONEncodeError:  # (the row's batch will be refused too: written without)
                        made = listed
                    found = written[id(explanation)] = (explanation, made)
                last, explained_by, explained = explanation, found[1], bool(explanation)
        if repeats > 1:  # right after the origin
            out.append({"request": request, "origin": origin, "repeats": repeats, "source": source,
                        "gateway": gateway, "differs": differs, "ingresses": refs,
                        "explained": explained, "explainedBy": explained_by})
        else:
            out.append({"request": request, "origin": origin, "source": source, "gateway": gateway,
                        "differs": differs, "ingresses": refs, "explained": explained,
                        "explainedBy": explained_by})
    return out


def _notes_json(notes: tuple[Note, ...], rendered: _Rendered | None) -> list[dict[str, Any]]:
    """The JSON of a difference's explaining notes (the differences of one explanation share
    its tuple, :func:`notes_of`: its list is built once)."""
    if rendered is None:
        return [_note_json(n, None) for n in notes]
    found = rendered.get(id(notes))
    if found is not None and found[0] is notes:
        return cast("list[dict[str, Any]]", found[1])
    out = [_note_json(n, rendered) for n in notes]
    rendered[id(notes)] = (notes, out)
    return out


def notes_of(explained: tuple[int, ...], notes: Sequence[Note],
             known: dict[tuple[int, ...], tuple[Note, ...]]) -> tuple[Note, ...]:
    """The notes of an explanation given as indices into ``notes`` (the explainer's): one
    tuple per explanation (``known``: those made so far)."""
    found = known.get(explained)
    if found is None:
        found = known[explained] = tuple(notes[i] for i in explained)
    return found


def _note_json(note: Note, rendered: _Rendered | None) -> dict[str, Any]:
    if rendered is not None:
        found = rendered.get(id(note))
        if found is not None and found[0] is note:
            return cast("dict[str, Any]", found[1])
    out = {"code": note.code, "subject": note.subject, "field": note.field, "fidelity": str(note.fidelity or ""),
           "message": note.message}
    if rendered is not None:
        rendered[id(note)] = (note, out)  # (the note kept: its id stays its own)
    return out


EXAMPLES = 3  # example requests an access-log difference keeps

# Where each side served a request (:meth:`Explainer.served`: the source first, then the
# Gateway's route sources), what differs and the explaining notes (indices into the
# explainer's list): what access-log lines are aggregated by.
_Served = tuple[tuple[frozenset[str], str, "str | None"], ...]
_LogKey = tuple[_Served, tuple[str, ...], tuple[int, ...]]
# a request a log line made, to show as an example: scheme, host, path, method, line, status, inferred, why
_Candidate = tuple[str, str, str, str, int, int, bool, str]


@dataclass(slots=True)
class LogDifference:
    """Access-log lines served alike by each side that differ alike: one per rule served
    on each side (host, path, Ingresses), aspects that differ and explaining notes, with
    how many lines and the first few distinct requests (so memory does not grow with the log)."""

    served: _Served
    aspects: tuple[str, ...]
    explained_by: tuple[Note, ...]
    ingresses: set[str] = field(default_factory=set)  # the Ingresses the lines concern
    count: int = 0
    examples: list[Difference] = field(default_factory=list)  # at most EXAMPLES, in log order
    shown: set[tuple[str, str, str, str]] = field(default_factory=set)  # (scheme, host, path, method) of examples

    @property
    def explained(self) -> bool:
        return bool(self.explained_by)

    def order(self) -> tuple[Any, ...]:
        where = tuple((host, path or "", sorted(refs)) for refs, host, path in self.served)
        return (self.explained, -self.count, where, self.aspects, [n.code for n in self.explained_by])

    def to_dict(self, rendered: _Rendered | None = None) -> dict[str, Any]:
        source, *gateway = ({"host": host, "path": path, "ingresses": sorted(refs)} for refs, host, path in self.served)
        return {
            "source": source,
            "gateway": gateway,
            "differs": list(self.aspects),
            "count": self.count,
            "ingresses": sorted(self.ingresses),
            "explained": self.explained,
            "explainedBy": [_note_json(n, rendered) for n in self.explained_by],
            "examples": [d.to_dict(rendered) for d in self.examples],
        }


# Rows per piece of a JSON report written as it is made (VerifyReport.json_pieces): a piece of
# 1024 generated requests' rows is about 2 MB, which the allocator hands out again piece after
# piece; pieces four times as large were mapped afresh time and again (on 10 000 Ingresses
# 20 000-30 000 more page faults in the single-core tail, a fresh page costing several
# microseconds of system time on a VM).
PIECE_ROWS = 1024

_PLAIN = ((), "", 0, "")  # the end of _request_key's full key for a request with nothing but its method and url


def _request_key(request: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a differing request the same request as another (:meth:`VerifyReport.add`
    counts it as a repeat): its method, URL, headers, client, sequence and backend delay;
    only its method and URL when it has nothing else (a generated probe's)."""
    if len(request) == 3 and not request["headers"]:  # (a generated probe's: method, url, no headers)
        return request["method"], request["url"]
    key = (request["method"], request["url"], tuple(request["headers"].items()), request.get("client") or "",
           request.get("sequence") or 0, request.get("backendDelay") or "")
    return key[:2] if key[2:] == _PLAIN else key


request_key = _request_key  # (for a process that makes differences' wire forms itself: ing2gw.policyprobes)


def _codes(explained_by: tuple[Note, ...]) -> tuple[str, ...]:
    """The cause a difference is grouped by: the codes of its notes, sorted, once each."""
    if len(explained_by) == 1:  # (most explanations)
        return (explained_by[0].code,)
    return tuple(sorted({n.code for n in explained_by})) or ("UNEXPLAINED",)


def _order_key(explained: bool, url: str, method: str) -> str:
    """A difference's place among the rows (explained last, then by URL and method) as one
    string: strings sort several times faster than tuples (a sort of 150 000 rows took
    0.05 s in the single-core end of ``verify``). It sorts as the tuple (explained, url,
    method) unless a URL holds a NUL (then :meth:`VerifyReport._ordered` sorts by the tuple)."""
    return f"{'1' if explained else '0'}{url}\0{method}"


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
    # case files' expect: checked against the converted objects (as ``route --cases`` does)
    cases: dict[str, Any] | None = None
    # access-log lines whose recorded status the source model contradicts
    recorded: list[str] = field(default_factory=list)
    # differing access-log lines, aggregated (:class:`LogDifference`)
    logs: dict[_LogKey, LogDifference] = field(default_factory=dict)
    # a request's key (Difference.key, or its method and url alone when the rest is empty: most
    # differences are of generated probes, and the short key is the cheaper) -> its position
    _seen: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)
    # The differences counted as they are added (:meth:`groups` reads them), by explanation (the
    # id of its tuple of notes, which differences of one explanation share: :func:`notes_of`)
    # and aspects: [the notes (kept, so their id stays their own), how many requests, the
    # tuples of Ingresses, the position of the first]; and how many differences (from the
    # first) are so counted, each one's key in :meth:`_ordered` (a repeat changes neither):
    # (explained, url, method) as one string (:func:`_order_key`), and whether a URL holds a NUL.
    _causes: dict[tuple[int, tuple[str, ...]], list[Any]] = field(default_factory=dict, repr=False, compare=False)
    _keys: list[str] = field(default_factory=list, repr=False, compare=False)
    _nul: bool = field(default=False, repr=False, compare=False)
    _tallied: int = field(default=0, repr=False, compare=False)

    @property
    def failed_cases(self) -> int:
        return int(self.cases["summary"]["failed"]) if self.cases else 0

    def add(self, difference: Difference) -> None:
        """Record a difference; the same request differing again (an access log repeats
        requests) counts as a repeat of the first, so memory grows with the distinct
        requests that differ, not with the log."""
        key = _request_key(difference[0])
        at = self._seen.get(key)
        if at is None:
            at = self._seen[key] = len(self.differences)
            self.differences.append(difference)
            if self._tallied == at:
                self._tally(difference, at)
                self._tallied += 1
        else:
            f = self.differences[at]  # built directly: dataclasses.replace costs several times more
            self.differences[at] = Difference(f.request, f.source, f.gateway, f.aspects, f.ingresses, f.explained_by,
                                              f.origin, f.repeats + difference.repeats)
            if at < self._tallied:
                self._causes[id(f[5]), f[3]][1] += difference.repeats

    def add_rows(self, rows: Iterable[_Row], notes: Sequence[Note],
                 explanations: dict[tuple[int, ...], tuple[Note, ...]]) -> None:
        """:meth:`add` the differences of ``rows`` as a replay gives them, in order (their notes
        as indices into ``notes``, each explanation's tuple made once: ``explanations``, see
        :func:`notes_of`). (:meth:`add` and :meth:`_tally` inlined for a difference of a request
        with nothing but a method, a URL and headers seen first -- a generated probe's: one call
        per chunk, not two per difference.)"""
        differences, seen, keys, causes, add = self.differences, self._seen, self._keys, self._causes, self.add
        at = len(differences)
        if self._tallied != at:  # (differences set otherwise: counted afresh when next asked)
            for request, source, gateway, aspects, refs, explained, origin in rows:
                add(Difference(request, source, gateway, aspects, refs, notes_of(explained, notes, explanations),
                               origin))
            return
        nul = False
        for request, source, gateway, aspects, refs, explained, origin in rows:
            explained_by = explanations.get(explained)
            if explained_by is None:
                explained_by = notes_of(explained, notes, explanations)
            difference = _new_difference(Difference, (request, source, gateway, aspects, refs, explained_by, origin, 1))
            if len(request) == 3:  # (its key as add makes it: _request_key, inlined)
                method, url, headers = request["method"], request["url"], request["headers"]
                first = seen.setdefault((method, url, tuple(headers.items()), "", 0, "") if headers else (method, url),
                                        at) == at
            else:
                first = False
            if not first:  # (another kind of request, or one seen before)
                self._tallied = at
                add(difference)
                at = len(differences)
                continue
            differences.append(difference)
            keys.append(f"{'1' if explained_by else '0'}{url}\0{method}")  # (_order_key, inlined)
            if "\0" in url:
                nul = True
            cause = causes.get((id(explained_by), aspects))
            if cause is None:
                causes[id(explained_by), aspects] = [explained_by, 1, {refs}, at]
            else:
                cause[1] += 1
                cause[2].add(refs)
            at += 1
        self._tallied = at
        self._nul = self._nul or nul

    def _tally(self, difference: Difference, at: int) -> None:
        """Count the difference at position ``at`` in its cause (see :meth:`groups`), and
        note its sort key (:meth:`_ordered`)."""
        explained_by, aspects, request = difference[5], difference[3], difference[0]
        self._keys.append(_order_key(bool(explained_by), request["url"], request["method"]))
        if "\0" in request["url"]:
            self._nul = True
        cause = self._causes.get((id(explained_by), aspects))
        if cause is None:
            self._causes[id(explained_by), aspects] = [explained_by, difference[7], {difference[4]}, at]
        else:
            cause[1] += difference[7]
            cause[2].add(difference[4])

    def differing(self, unexplained_only: bool = False) -> int:
        """How many requests differ (only those no note explains), access-log lines included."""
        self._counted()  # (from the counts by cause: no pass over the differences)
        return (sum(int(count) for explained_by, count, _, _ in self._causes.values()
                    if not (unexplained_only and explained_by))
                + sum(e.count for e in self.logs.values() if not (unexplained_only and e.explained)))

    def _counted(self) -> list[Difference]:
        """The differences, each counted by :meth:`_tally` (those set otherwise than by
        :meth:`add` counted now)."""
        differences = self.differences
        if self._tallied != len(differences):
            self._causes.clear()
            self._keys.clear()
            self._nul = False
            for at, difference in enumerate(differences):
                self._tally(difference, at)
            self._tallied = len(differences)
        return differences

    def groups(self, rendered: _Rendered | None = None) -> list[dict[str, Any]]:
        """Differences grouped by cause (what differs, which notes explain it); an
        access-log difference counts its lines, its first example stands for it."""
        differences = self._counted()
        codes_of: dict[int, tuple[str, ...]] = {}
        # (codes, aspects) -> [count, Ingresses, the position of its first difference (the
        # access-log differences after them)]
        grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Any]] = {}

        def group(explained_by: tuple[Note, ...], aspects: tuple[str, ...], at: int) -> list[Any]:
            codes = codes_of.get(id(explained_by))
            if codes is None:
                codes = codes_of[id(explained_by)] = _codes(explained_by)
            found = grouped.get((codes, aspects))
            if found is None:
                found = grouped[codes, aspects] = [0, set(), at]
            elif at < found[2]:
                found[2] = at
            return found

        for (_, aspects), (explained_by, count, refs, at) in self._causes.items():
            found = group(explained_by, aspects, at)
            found[0] += count
            found[1].update(*refs)
        logs = list(self.logs.values())
        for at, entry in enumerate(logs, len(differences)):
            found = group(entry.explained_by, entry.aspects, at)
            found[0] += entry.count
            found[1].update(entry.ingresses)
        rows = []
        for (codes, aspects), (count, ingresses, at) in grouped.items():
            explained = codes != ("UNEXPLAINED",)
            example = differences[at] if at < len(differences) else logs[at - len(differences)].examples[0]
            rows.append((explained, -count, codes, aspects, {
                "cause": list(codes),
                "differs": list(aspects),
                "explained": explained,
                "count": count,
                "ingresses": sorted(ingresses),
                "example": example.to_dict(rendered),
            }))
        rows.sort(key=lambda r: r[:4])
        return [r[4] for r in rows]

    def to_dict(self, rows: bool = True) -> dict[str, Any]:
        """The report as JSON data; without ``rows``, without the row of each differing request
        and access-log difference (``differences``, ``accessLog``): the text and markdown
        reports show the groups only."""
        rendered: _Rendered = {}
        return self._document(rendered, _rows(self._ordered(), rendered, None) if rows else None)

    def json_pieces(self, batch: int = PIECE_ROWS) -> Iterator[bytes | memoryview]:
        """``dump_json(self.to_dict())`` as UTF-8, in pieces (:func:`~ing2gw.yamlio.json_pieces`):
        the rows of the differences made and written ``batch`` at a time, so that writing
        them overlaps making them. Each row's ``explainedBy`` is the JSON text orjson writes
        there (an ``orjson.Fragment``), made once per explanation: the differences of one
        explanation share its notes."""
        rendered: _Rendered = {}
        data = self._document(rendered, [])  # (the rows' place)
        ordered = self._ordered()
        written: dict[int, tuple[tuple[Note, ...], Any]] = {}

        def rows(part: Sequence[Difference], plain: bool) -> list[Any]:
            return _rows(part, rendered, None if plain else written)

        return json_pieces(data, "differences", (ordered[i:i + batch] for i in range(0, len(ordered), batch)), rows)

    def _ordered(self) -> list[Difference]:
        """The differences as their rows are listed: explained last, then by URL and method."""
        # (by the keys noted as they were added; the sort is stable, as sorting the differences)
        differences = self._counted()
        keys: Sequence[Any] = self._keys
        if self._nul:  # (a URL with a NUL in it: its string key may sort otherwise than the tuple)
            keys = [(bool(d[5]), d[0]["url"], d[0]["method"]) for d in differences]
        return list(map(differences.__getitem__, sorted(range(len(differences)), key=keys.__getitem__)))

    def _document(self, rendered: _Rendered, rows: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The report's JSON data with ``rows`` as its ``differences`` (and the access-log
        differences with them), or without either."""
        groups = self.groups(rendered)
        differ = sum(g["count"] for g in groups)  # (self.differing(), from the groups: every difference is in one)
        unexplained = sum(g["count"] for g in groups if not g["explained"])
        data: dict[str, Any] = {
            "provider": self.provider,
            "summary": {
                "ingresses": self.ingresses,
                "requests": self.requests,
                "agree": self.agree,
                "differ": differ,
                "explained": differ - unexplained,
                "unexplained": unexplained,
                "elapsed_s": round(self.elapsed_s, 3),
            },
            "groups": groups,
        }
        if rows is not None:
            data["differences"] = rows
            if self.logs:
                data["accessLog"] = [e.to_dict(rendered) for e in sorted(self.logs.values(), key=LogDifference.order)]
        data["skipped"] = self.skipped
        data["checks"] = self.checks
        if self.cases is not None:
            data["cases"] = self.cases
        if self.recorded:
            data["recordedStatus"] = self.recorded
        return data


@dataclass(slots=True)
class _Replay:
    """What replaying needs; set before worker processes fork, so they inherit it."""

    explainer: Explainer
    source_route: Callable[[Request], Outcome]
    gateway_route: Callable[[Request], Outcome]
    # a log line -> (its scheme, why its recorded status contradicts the replay or ""): accesslog.decide
    decide: Callable[[LogLine], tuple[str, str]] | None = None
    sharing: Sharing | None = None  # which log lines share one decision (None: only equal ones)


_REPLAY: _Replay | None = None
_PRELOADED: Sequence[tuple[Replayable, str]] = ()  # requests workers read by index (inherited)
CHUNK = 2000  # requests per unit of work (and per read from the request stream)


_Row = tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], tuple[str, ...], tuple[int, ...], str]


Replayable = Request | Probe  # a probe is built into a Request where it is replayed
Item = Replayable | LogLine  # what a request stream holds (a log line is made a probe where it is replayed)
# what replaying a chunk gives: agreeing requests, differences as compact rows, the
# contradictions its log lines recorded (access-log lines whose recorded status the model
# does not give), and its differing log lines aggregated: (key, lines, Ingresses, the first
# few distinct requests)
_Result = tuple[int, list[_Row], list[str], list[tuple[_LogKey, int, tuple[str, ...], list[_Candidate]]]]


def _line_probe(line: LogLine) -> Probe:
    """The request a log line stands for (its scheme decided where it is replayed)."""
    assert _REPLAY is not None and _REPLAY.decide is not None
    return Probe(_REPLAY.decide(line)[0], line.host, line.path, method=line.method.upper(), client=None)


def _as_request(item: Replayable) -> Request:
    if isinstance(item, Request):
        return item
    return probe_request(item.scheme, item.host, item.path, item.headers, item.method, item.client, item.port,
                          item.mesh)


def probe_request(scheme: str, host: str, path: str, headers: tuple[tuple[str, str], ...], method: str,
                   client: str | None, port: int | None, mesh_ns: str | None) -> Request:
    """The request a probe's values stand for (no Probe built in between: one per replayed request)."""
    if headers and headers[0][0] == ":method":  # a provider's hint for another method (CORS preflights)
        method, headers = headers[0][1], headers[1:]
    built = _HEADERS.get(headers)
    if built is None:  # probes repeat a few header sets: each is built once (Headers are immutable)
        built = Headers(headers)
        if len(_HEADERS) >= 10_000:
            _HEADERS.clear()
        _HEADERS[headers] = built
    if port is None and mesh_ns is None and (scheme == "http" or scheme == "https"):  # (every generated probe)
        return plain_request(scheme, host, path, built, method, client)
    mesh = None if mesh_ns is None else MeshSource(mesh_ns, host)
    return Request.build(host=host, path=path, scheme=scheme, method=method, headers=built, client=client, port=port,
                         mesh=mesh)


_HEADERS: dict[tuple[tuple[str, str], ...], Headers] = {}


_Compared = tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], tuple[str, ...], tuple[int, ...],
                  _Served]
# A log line's decision: (scheme, contradiction or "", None when the sides agree, else (the
# key it is aggregated by, the Ingresses it concerns)).
_Decision = tuple[str, str, "tuple[_LogKey, tuple[str, ...]] | None"]
# Remembered per process (both sides are deterministic; access logs repeat requests):
_MEMO: dict[Any, _Compared | None] = {}  # a request (its wire form) -> how the sides compare (None: they agree)
_LINES: dict[tuple[Any, ...], _Decision] = {}  # a log line (but its file and number) -> its decision
_CLASSES: dict[tuple[Any, ...], _Decision] = {}  # a log line's class (see _replay_wire) -> its decision
_LOG_KEYS: dict[_LogKey, _LogKey] = {}  # one object per key (a chunk's lines are aggregated by its id)
MEMO_SIZE = 50_000  # entries remembered per memo and process (then the older half is forgotten: bounded memory)


def _compare(request: Request, where: bool = False) -> _Compared | None:
    """How the two sides treat ``request``: None when they agree, else the difference as a
    compact row (notes as indices into the explainer's list: cheap to pickle) and, with
    ``where``, where each side served it (else ``()``). (:func:`_replay_sourced` does the
    same, inlined, with the source side routed by another process.)"""
    assert _REPLAY is not None
    r = _REPLAY
    src = r.source_route(request)
    sa = _summary(src)
    gw = r.gateway_route(request)
    sb = _summary(gw)
    aspects = _differing(sa, sb)
    if not aspects:
        return None
    served: _Served = ()
    if where:
        served, refs, explained = r.explainer.account(aspects, request, src, gw)
    else:
        refs, explained = r.explainer.accounted(aspects, request, src, gw)
    return (shown_request(request), _as_dict(sa), _as_dict(sb), aspects, refs, explained, served)


def shown_request(request: Request) -> dict[str, Any]:
    """A differing request as its row shows it."""
    headers = request.headers
    hit = _SHOWN_HEADERS.get(id(headers))
    if hit is None or hit[0] is not headers:  # (requests share a few Headers objects)
        if len(_SHOWN_HEADERS) >= _SUMMARY_MEMO:
            _SHOWN_HEADERS.clear()
        hit = _SHOWN_HEADERS[id(headers)] = (headers, headers.as_dict())
    query = request.query  # (request.target, without the property to call)
    url = (f"{request.scheme}://{request.host}{request.path}?{query}" if query
           else f"{request.scheme}://{request.host}{request.path}")
    if request.mesh is None:
        return {"method": request.method, "url": url, "headers": hit[1]}
    # east-west: from a namespace, to the Service (and port) it names
    return {"method": request.method, "url": url, "headers": hit[1],
            "mesh": {"namespace": request.mesh.namespace, "service": request.mesh.service, "port": request.port}}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """``memo[key] = value``, forgetting the older half of ``memo`` when it is full (a hit
    moves its entry to the young end: what a log keeps asking for stays)."""
    if len(memo) >= MEMO_SIZE:
        for old in list(itertools.islice(memo, MEMO_SIZE // 2)):
            del memo[old]
    memo[key] = value


def _replay_chunk(chunk: Sequence[tuple[Item, str]]) -> _Result:
    """:func:`_replay_wire` of a chunk, in this process (the wire form built here)."""
    return _replay_wire([_to_wire(item, origin) for item, origin in chunk])


_Wire = tuple[str, str, str, str, tuple[tuple[str, str], ...], int, "str | None", "str | None", "str | None",
              "str | None", str]
_ProbeWire = tuple[str, str, str, tuple[tuple[str, str], ...], str, "str | None", "int | None", "str | None", str]
_LineWire = tuple[str, int, str, str, str, int, str, str, str]  # a LogLine's values (its line number second)


def _is_line(wire: _Wire | _ProbeWire | _LineWire) -> TypeGuard[_LineWire]:
    return wire[1].__class__ is int


def _to_wire(item: Item, origin: str) -> _Wire | _ProbeWire | _LineWire:
    """A request as a plain tuple: far cheaper to send to a worker than the object (a probe
    is built into a request there, a log line decided there). A log line's has its line
    number second; the others' length tells them apart."""
    if isinstance(item, LogLine):
        return tuple(item)  # type: ignore[return-value]
    if isinstance(item, Probe):
        return (item.scheme, item.host, item.path, item.headers, item.method, item.client, item.port, item.mesh,
                origin)
    pairs = tuple((name, value) for name in item.headers for value in item.headers.get_all(name))
    mesh = item.mesh
    return (item.method, item.scheme, item.host, item.target, pairs, item.port, item.sni, item.client,
            None if mesh is None else mesh.namespace, None if mesh is None else mesh.service, origin)


def _replay_range(span: tuple[int, int]) -> _Result:
    """Replay ``_PRELOADED[start:end]`` (a forked worker reads them from its inherited memory)."""
    return _replay_chunk(_PRELOADED[span[0]:span[1]])


class _Source:
    """Where the source side matched a request another process routed: all the explainer
    reads of its outcome (:meth:`Explainer.served`)."""

    __slots__ = ("matched",)

    def __init__(self, matched: Matched | None) -> None:
        self.matched = matched


# A request routed by another process, in its wire form, or a generated probe's fields
# (ProbeFields: its scheme, host, path and headers; every other field Probe's default, its
# origin "generated"), which the first worker sends as they are (a third of the bytes).
_SourcedWire = _Wire | _ProbeWire | ProbeFields
# A chunk of requests with the source side's answers, as a forked process sends them
# (ing2gw.sourceside): the requests' wire forms, the answers' summaries, where each matched
# (an index into the chunk's Matched values), and the chunk's Matched values as tuples of
# their fields (each chunk stands alone: whichever process takes it can finish it). Sent as
# its marshal bytes (pack_chunk: several times cheaper to write and read than a pickle).
Sourced = tuple[Sequence[_SourcedWire], list[_Summary], list[int], list["tuple[Any, ...] | None"]]
# What such a process sends per chunk: (the chunk's position among the generated requests',
# Sourced, size, None) for a chunk whose source side it routed, to be finished by the
# process that takes it, and (position, None, size, result) for a chunk it finished (the
# result as its marshal bytes: finish_here) or replayed whole (both sides) itself.
# ``verify_requests`` counts them in position order.
SourcedMessage = tuple[int, "Sourced | bytes | None", int, "_Result | bytes | None"]


def source_chunk(answer: SourceAnswer, items: Sequence[tuple[Replayable, str]]) -> Sourced:
    """A chunk of ``items`` routed through the source side (``answer``: :func:`summarising`'s),
    for :func:`verify_requests` (``sourced``) in another process: what :func:`_compare` needs
    of the source side, in plain values (:func:`source_wires` of their wire forms)."""
    return source_wires(answer, [cast("_Wire | _ProbeWire", _to_wire(item, origin)) for item, origin in items])


def source_wires(answer: SourceAnswer, wires: Sequence[_SourcedWire]) -> Sourced:
    """:func:`source_chunk` of requests in their wire forms (or generated probes' fields, as
    :func:`~ing2gw.probes.ingress_probe_fields` gives them), each routed as the request the
    process finishing the chunk builds from it (:func:`_replay_sourced`)."""
    summaries: list[_Summary] = []
    matched_at: list[Matched | None] = []
    add_summary, add_matched = summaries.append, matched_at.append
    for wire in wires:
        if len(wire) == 4:  # (every generated request, from the first worker)
            scheme, host, path, headers = wire
            request = probe_request(scheme, host, path, headers, "GET", PROBE_CLIENT, None, None)
        elif len(wire) == 9:  # (every generated request otherwise) _from_wire, without its call
            scheme, host, path, headers, method, client, port, mesh_ns, _ = wire  # type: ignore[misc]
            request = probe_request(scheme, host, path, headers, method, client, port, mesh_ns)
        else:
            request = _from_wire(wire)
        summary, matched = answer(request)
        add_summary(summary)
        add_matched(matched)
    return (wires, summaries, *matched_positions(matched_at))


def matched_positions(matched: list[Matched | None]) -> tuple[list[int], list[tuple[Any, ...] | None]]:
    """Where each answer matched, as another process reads it: an index into the distinct
    Matched objects (a location's answers share one: by identity, without hashing its every
    field; an equal one of another object gets an entry of its own, and the same stand-in
    where finished), and those objects as tuples of their fields, in order of first use.
    (Worked out in bulk, by C-level maps, once a chunk's answers are in ``matched``, which
    keeps the objects alive: their ids stay theirs.)"""
    ids = list(map(id, matched))
    firsts = dict(zip(ids, matched, strict=True))  # (a repeated id: the same object again)
    at = {key: position for position, key in enumerate(firsts)}
    fields = _MATCHED_VALUES
    return list(map(at.__getitem__, ids)), [None if m is None else fields(m) for m in firsts.values()]


# A source side's answer as another process needs it: its summary, and where it matched.
SourceAnswer = Callable[[Request], tuple[_Summary, Matched | None]]


_OUTCOME = tuple.__new__  # Outcome(...) without its keyword handling: every field given


class _Summaries:
    """Answers (:class:`~ing2gw.router.outcome.Answers`) as a replay compares them: each
    answer's summary and where it matched. A served answer's summary is made from its parts
    (:func:`_summary` of the Outcome :data:`~ing2gw.router.outcome.OUTCOMES` would make: a
    test holds them equal), without the outcome, its upstream request and headers; the other
    answers' (a minority) are made of their outcomes."""

    __slots__ = ()

    def answer(self, status: int, reason: str, rule: RuleInfo | None, response: Headers, notes: list[str],
               redirect: RedirectTo | None = None, /) -> tuple[_Summary, Matched | None]:
        # (OUTCOMES.answer's outcome without its call, nor the notes, which the summary does not read)
        outcome = _OUTCOME(Outcome, (status, reason, rule, False, None, redirect, response, (), (), False, (), None))
        return _summary(outcome), None if rule is None else rule.matched

    def served(self, rule: RuleInfo, method: str, host: str, path: str, headers: tuple[Any, ...],
               response: Headers, notes: list[str], /) -> tuple[_Summary, Matched | None]:
        compared, cors = _headers_summary(response)
        shares = _shares(rule) if len(rule.weights) > 1 else None
        return (200, rule.backend, shares, None, path, host, compared, cors, None, None), rule.matched


_SUMMARIES = _Summaries()


def summarising(model: Any) -> SourceAnswer:
    """A source side's answers as :func:`source_wires` reads them: made by the model
    (``answering``: :class:`~ing2gw.dataplane.DataPlaneModel`) when it offers that, else
    of its outcomes."""
    answering = getattr(model, "answering", None)
    if callable(answering):
        return cast(SourceAnswer, answering(_SUMMARIES))
    route = model.route
    return lambda request: _of_outcome(route(request))


def _of_outcome(outcome: Outcome) -> tuple[_Summary, Matched | None]:
    return _summary(outcome), outcome.matched


# Differences as another process sends them (ing2gw.sourceside): a Difference's fields, its
# notes as indices into a list both processes make alike (:func:`differences_wire`).
DifferencesWire = list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], tuple[str, ...],
                             tuple[int, ...], str, int]]


def differences_wire(differences: Iterable[Difference], index: Mapping[Note, int]) -> DifferencesWire:
    """``differences`` in plain values (``index``: a note -> its position in a list the
    receiving process has too): far cheaper to send than the notes."""
    return [(d.request, d.source, d.gateway, d.aspects, d.ingresses, tuple(index[n] for n in d.explained_by), d.origin,
             d.repeats) for d in differences]


def differences_from_wire(wire: DifferencesWire, notes: Sequence[Note]) -> list[Difference]:
    """:func:`differences_wire`'s differences again (``notes``: the list its indices point into)."""
    return [Difference(request, source, gateway, aspects, refs, tuple(notes[i] for i in explained), origin, repeats)
            for request, source, gateway, aspects, refs, explained, origin, repeats in wire]


def replay_here(explainer: Explainer, source_route: Callable[[Request], Outcome],
                gateway_route: Callable[[Request], Outcome]) -> Callable[[Sequence[tuple[Item, str]]], Any]:
    """What replays a chunk of both sides in this process, with sides it built itself (a
    forked worker that started before they were built in the replaying process); its result
    goes into ``verify_requests(sourced=...)``."""
    global _REPLAY
    _REPLAY = _Replay(explainer, source_route, gateway_route)
    return _replay_chunk


_MATCHED_VALUES = operator.attrgetter(*Matched.__dataclass_fields__)  # a Matched's fields as a tuple, in order
matched_values = _MATCHED_VALUES  # (a Matched as source_wires sends it: matched_positions)
SourceStandIn = _Source  # (where another process's answer matched, as the explainer reads it)


def pack_chunk(chunk: Sourced) -> bytes | Sourced:
    """``chunk`` as marshal bytes for another process (:func:`_replay_sourced` reads them);
    as it is (pickled on the way) if it holds a value marshal cannot write."""
    return _packed(chunk)


_T = TypeVar("_T")


def _packed(value: _T) -> bytes | _T:
    """``value`` as marshal bytes (a third cheaper to write and to read than a pickle of its
    rows' dicts), or as it is when it holds a value marshal cannot write."""
    try:
        return marshal.dumps(value)  # type: ignore[arg-type]  # (a ValueError tells)
    except ValueError:
        return value


def finish_here(explainer: Explainer,
                gateway_route: Callable[[Request], Outcome]) -> Callable[[Sourced | bytes], _Result | bytes]:
    """What finishes a chunk whose source side another process routed (:func:`source_chunk`),
    in this process (a forked worker sharing those chunks with the replaying process); its
    results go into ``verify_requests(sourced=...)``, as marshal bytes (:func:`_packed`)."""
    global _REPLAY
    _REPLAY = _Replay(explainer, _no_source, gateway_route)
    sources: dict[tuple[Any, ...] | None, _Source] = {}
    return lambda chunk: _packed(_replay_sourced(chunk, sources))


def _no_source(request: Request) -> Outcome:
    raise AssertionError("the source side was routed by another process")


def source_stand_ins(new: Sequence[tuple[Any, ...] | None],
                     sources: dict[tuple[Any, ...] | None, _Source]) -> list[_Source]:
    """A stand-in for each Matched value another process sent as its fields (None: nothing
    matched), the one made before for an equal value (``sources``, kept from chunk to chunk:
    the explainer remembers its answers by the stand-in's identity)."""
    out = []
    for fields in new:
        found = sources.get(fields)
        if found is None:
            found = sources[fields] = _Source(None if fields is None else Matched(*fields))
        out.append(found)
    return out


def _replay_sourced(chunk: Sourced | bytes, sources: dict[tuple[Any, ...] | None, _Source]) -> _Result:
    """:func:`_replay_wire` of a chunk whose source side another process routed (as
    :func:`pack_chunk` sends it; ``sources``: one stand-in per Matched value, kept from
    chunk to chunk: the explainer remembers its answers by the stand-in's identity)."""
    wires, summaries, where, new = cast(Sourced, marshal.loads(chunk)) if isinstance(chunk, bytes) else chunk
    stand_ins = source_stand_ins(new, sources)
    assert _REPLAY is not None
    route, accounted, shared_dict = _REPLAY.gateway_route, _REPLAY.explainer.accounted, _shared_dict
    agree = 0
    rows: list[_Row] = []
    # (_compare of the finishing side inlined, and _from_wire for a generated probe's wire: one frame per request
    # fewer than building the request and comparing it through them)
    for wire, sa, at in zip(wires, summaries, where, strict=True):
        if len(wire) == 4:  # a generated probe's fields (source_wires)
            scheme, host, path, headers = wire
            request = probe_request(scheme, host, path, headers, "GET", PROBE_CLIENT, None, None)
            origin = "generated"
        elif len(wire) == 9:
            scheme, host, path, headers, method, client, port, mesh_ns, origin = wire  # type: ignore[misc]
            request = probe_request(scheme, host, path, headers, method, client, port, mesh_ns)
        else:
            request = _from_wire(wire)
            origin = wire[-1]
        gw = route(request)
        sb = _summary(gw)
        aspects = _differing(sa, sb)
        if not aspects:
            agree += 1
            continue
        # (the explainer reads where the source matched only: a _Source will do; no cast() to call)
        refs, explained = accounted(aspects, request, stand_ins[at], gw)  # type: ignore[arg-type]
        rows.append((shown_request(request), shared_dict(sa), shared_dict(sb), aspects, refs, explained, origin))
    return agree, rows, [], []


_SHARED: dict[_Summary, dict[str, Any]] = {}  # a summary without a dict in it -> its dict (see _shared_dict)


def _shared_dict(summary: _Summary) -> dict[str, Any]:
    """:func:`_as_dict` of ``summary``, one dict for equal summaries without a dict in them (the
    source or Gateway side of many differing requests): a difference's summaries are only read,
    and a dict several rows share is sent (marshal writes it once per chunk) and kept once."""
    if summary[2] is not None or summary[6] is not None:  # (a dict in it: not hashable)
        return _as_dict(summary)
    found = _SHARED.get(summary)
    if found is None:
        if len(_SHARED) >= _SUMMARY_MEMO:
            _SHARED.clear()
        found = _SHARED[summary] = _as_dict(summary)
    return found


shared_dict = _shared_dict  # (for the policy probes' differences: ing2gw.policyprobes)


def _from_wire(wire: _Wire | _ProbeWire) -> Request:
    if len(wire) == 9:
        scheme, host, path, headers, method, client, pport, pmesh, _ = cast(_ProbeWire, wire)
        return probe_request(scheme, host, path, headers, method, client, pport, pmesh)
    method, scheme, host, path, pairs, port, sni, client, mesh_ns, mesh_to, _ = cast(_Wire, wire)
    mesh = None if mesh_ns is None or mesh_to is None else MeshSource(mesh_ns, mesh_to)
    return Request.build(host=host, path=path, method=method, scheme=scheme, headers=pairs, port=port, sni=sni,
                         client=client, mesh=mesh)


def _decision(line: _LineWire) -> _Decision:
    """Decide a log line afresh: its scheme, contradiction, and how the sides compare."""
    assert _REPLAY is not None and _REPLAY.decide is not None
    scheme, problem = _REPLAY.decide(LogLine(*line))
    compared = _compare(_as_request(Probe(scheme, line[3], line[4], method=line[2].upper(), client=None)), True)
    if compared is None:
        return scheme, problem, None
    _, _, _, aspects, refs, explained, served = compared
    key = (served, aspects, explained)
    return scheme, problem, (_LOG_KEYS.setdefault(key, key), refs)


def _replay_wire(chunk: Sequence[_Wire | _ProbeWire | _LineWire]) -> _Result:
    """(agreeing requests, differences as compact rows, contradictions, differing log lines
    aggregated) for one chunk, in this process or a forked worker. Both sides are
    deterministic, so a request seen before is not built or routed again. Nor is a log line
    of a class decided before: its decision depends on its method, host, path, status,
    upstream, alternative and recorded scheme only (its line number goes into its origin),
    and of the path only on what :class:`~ing2gw.logshare.Sharing` keeps of it."""
    assert _REPLAY is not None
    agree = 0
    rows: list[_Row] = []
    found: list[str] = []
    logs: dict[int, list[Any]] = {}  # a key (by id) -> [key, lines, Ingresses, the last refs added, examples]
    memo, lines, classes, sharing = _MEMO, _LINES, _CLASSES, _REPLAY.sharing
    for wire in chunk:
        if _is_line(wire):
            file, number, method, host, path, status, upstream, alternative, recorded = wire
            line_key = wire[2:]
            known = lines.get(line_key)
            if known is None:  # not this very line: its class, then
                key = (method, host, *(sharing.key(host, path) if sharing is not None else (path,)), status, upstream,
                       alternative, recorded)
                known = classes.pop(key, None)
                if known is None:
                    known = _decision(wire)
                    _remember(classes, key, known)
                else:
                    classes[key] = known  # the young end
                _remember(lines, line_key, known)
            scheme, problem, differs = known
            if problem and len(found) < 50:  # (the report keeps the first 50)
                found.append(f"{file}:{number}: {problem}")
            if differs is None:
                agree += 1
                continue
            log_key, refs = differs
            got = logs.get(id(log_key))  # (one object per key and process: _decision)
            if got is None:
                got = logs[id(log_key)] = [log_key, 0, set(refs), refs, []]
            elif got[3] is not refs:  # (lines of another class, aggregated alike)
                got[2].update(refs)
                got[3] = refs
            got[1] += 1
            examples = got[4]
            if len(examples) < EXAMPLES:
                shown = (scheme, host, path, method.upper())
                if not any(c[:4] == shown for c in examples):
                    examples.append((*shown, number, status, not recorded, problem))
            continue
        wire_key = wire[:-1]
        compared = memo.get(wire_key, _MISSING)  # seen before: no need to build it
        if compared is _MISSING:
            compared = _compare(_from_wire(cast("_Wire | _ProbeWire", wire)))
            _remember(memo, wire_key, compared)
        if compared is None:
            agree += 1
        else:
            rows.append((*compared[:6], wire[-1]))
    return agree, rows, found, [(key, count, tuple(sorted(refs)), examples)
                                for key, count, refs, _, examples in logs.values()]


_MISSING: Any = object()


def _chunks(requests: Iterable[tuple[Item, str]]) -> Iterator[list[tuple[Item, str]]]:
    chunk: list[tuple[Item, str]] = []
    for item in requests:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def tally(report: VerifyReport, checkers: Sequence[Any], request: Request) -> None:
    """Ask each second opinion about ``request`` and count what it says in ``report.checks``."""
    for checker in checkers:
        problems = checker.check(request)
        if problems is None:
            continue
        found = report.checks[checker.name]
        found["checked"] += 1
        if problems:
            found["disagree"] += 1
            if len(found["problems"]) < 50:
                found["problems"].append(f"{request.method} {request.scheme}://{request.host}{request.target}: "
                                         + "; ".join(problems))


def verify_requests(
    provider: str,
    resources: ResourceSet,
    manifests: Sequence[Mapping[str, Any]],
    notes: Iterable[Note],
    source_route: Callable[[Request], Outcome],
    gateway_route: Callable[[Request], Outcome],
    requests: Iterable[tuple[Item, str]],
    progress: Callable[[int], None] | None = None,
    checkers: Sequence[Any] = (),
    workers: int = 1,
    preloaded: Sequence[tuple[Replayable, str]] = (),
    groups: Sequence[ProbeGroup] | Callable[[], Sequence[ProbeGroup]] = (),
    stateful: Stateful | None = None,
    decide: Callable[[LogLine], tuple[str, str]] | None = None,
    sharing: Sharing | None = None,
    sourced: Iterable[SourcedMessage] | None = None,
    sourced_groups: Callable[[], VerifyReport] | None = None,
    explainer: Explainer | None = None,
) -> VerifyReport:
    """Replay ``requests`` (with where each came from) through both sides. Each of
    ``checkers`` (objects with ``name`` and ``check(request) -> problems | None``) gives a
    second opinion on every request: the real controller against the model, the proxy
    against the router. Requests are read in chunks (a long access log is never held
    whole); with ``workers`` > 1 (and no checkers, which hold sockets) chunks are replayed
    by forked worker processes, results kept in request order. ``preloaded`` requests come
    first; workers read them from memory they inherit, so nothing about them is sent.
    ``groups`` (policy probes, :mod:`ing2gw.policyprobes`, or what makes them: called before
    ``requests`` is read) are replayed in this process, through ``stateful`` sides that count
    rate limits (reset before each burst), and reported last; while workers replay
    ``preloaded``, this process makes and replays the groups meanwhile.
    ``decide`` gives the scheme of a :class:`~ing2gw.accesslog.LogLine` of ``requests`` and
    why its recorded status contradicts the replay (:func:`ing2gw.accesslog.decide`), where it
    is replayed (a worker infers it); the contradictions go into ``report.recorded`` (at most
    50, in request order). Differing log lines are aggregated (``report.logs``), lines of one
    class (``sharing``, :mod:`ing2gw.logshare`) decided once per process. ``sourced``: the
    generated requests as other processes send them (:mod:`ing2gw.sourceside`), replayed
    before ``preloaded``: chunks with their source side routed there, which this process
    finishes as they come, and chunks finished or replayed whole there, each counted in its
    position's order; this process makes and replays
    the groups first (meanwhile), unless that process replays them too: then
    ``sourced_groups()`` (called once ``sourced`` is read) gives their replay. ``explainer``:
    one made of ``notes``, ``resources`` and ``manifests`` already (a forked worker shares it)."""
    global _REPLAY, _PRELOADED
    started = time.perf_counter()
    _REPLAY = _Replay(explainer or Explainer(notes, resources, manifests), source_route, gateway_route, decide,
                      sharing)
    _MEMO.clear()
    _LINES.clear()
    _CLASSES.clear()
    _LOG_KEYS.clear()
    report = VerifyReport(provider=provider, ingresses=len(resources.ingresses))
    for checker in checkers:
        report.checks[checker.name] = {"checked": 0, "disagree": 0, "problems": []}

    def second_opinions(chunk: Sequence[tuple[Item, str]]) -> None:
        for item, _ in chunk:
            tally(report, checkers, _as_request(_line_probe(item) if isinstance(item, LogLine) else item))

    notes_by_index = _REPLAY.explainer.all_notes
    explanations: dict[tuple[int, ...], tuple[Note, ...]] = {}  # (notes_of)

    def log_difference(key: _LogKey, count: int, refs: tuple[str, ...], candidates: list[_Candidate]) -> None:
        entry = report.logs.get(key)
        if entry is None:
            served, aspects, explained = key
            entry = report.logs[key] = LogDifference(served, aspects, tuple(notes_by_index[i] for i in explained))
        entry.count += count
        entry.ingresses.update(refs)
        for scheme, host, path, method, number, status, inferred, problem in candidates:
            if len(entry.examples) >= EXAMPLES or (scheme, host, path, method) in entry.shown:
                continue
            entry.shown.add((scheme, host, path, method))
            compared = _compare(_as_request(Probe(scheme, host, path, method=method, client=None)))
            assert compared is not None  # the line's class differs
            req, a, b, aspects, involved, explained, _ = compared
            entry.examples.append(Difference(req, a, b, aspects, involved, tuple(notes_by_index[i] for i in explained),
                                             log_origin(number, status, scheme, inferred, problem)))

    def account(chunk_size: int, result: _Result) -> None:
        report.requests += chunk_size
        report.agree += result[0]
        report.recorded.extend(result[2][:50 - len(report.recorded)])
        report.add_rows(result[1], notes_by_index, explanations)
        for aggregated in result[3]:
            log_difference(*aggregated)
        if progress is not None:
            progress(report.requests)

    def policy_groups(into: VerifyReport) -> None:
        if stateful is not None and probe_groups:
            from .policyprobes import replay_groups

            assert _REPLAY is not None
            replay_groups(into, probe_groups, stateful, _REPLAY.explainer, checkers)

    parallel = workers > 1 and not checkers and can_fork()
    grouped: VerifyReport | None = None  # the groups' replay, made while workers replay the preloaded requests
    try:
        if sourced is not None:
            probe_groups = [] if sourced_groups is not None else groups() if callable(groups) else groups
            grouped = VerifyReport(provider=provider, ingresses=report.ingresses)
            policy_groups(grouped)  # (while the other process routes the source side)
            sources: dict[tuple[Any, ...] | None, _Source] = {}
            early: dict[int, tuple[int, _Result]] = {}  # chunks finished before an earlier one
            counted = 0  # chunks counted so far (in position order)
            for at, part, size, result in sourced:
                if part is not None:
                    result = _replay_sourced(part, sources)
                elif isinstance(result, bytes):  # (finished by another process: finish_here)
                    result = cast(_Result, marshal.loads(result))
                assert result is not None
                early[at] = (size, result)
                while counted in early:
                    account(*early.pop(counted))
                    counted += 1
            assert not early, "a generated chunk never came"
            if sourced_groups is not None:
                grouped = sourced_groups()
            requests = itertools.chain(preloaded, requests)
        elif parallel and len(preloaded) > CHUNK:
            _PRELOADED = preloaded
            spans = [(i, min(i + CHUNK, len(preloaded))) for i in range(0, len(preloaded), CHUNK)]
            with multiprocessing.get_context("fork").Pool(workers, end_with_parent, (os.getpid(),)) as pool:
                replayed = pool.imap(_replay_range, spans)  # the workers start on them now
                probe_groups = groups() if callable(groups) else groups
                grouped = VerifyReport(provider=provider, ingresses=report.ingresses)
                policy_groups(grouped)
                for (start, end), result in zip(spans, replayed, strict=True):
                    account(end - start, result)
        else:
            probe_groups = groups() if callable(groups) else groups
            requests = itertools.chain(preloaded, requests)
        chunks = _chunks(requests)
        first = next(chunks, [])
        second = next(chunks, None)
        if parallel and second is not None:
            with multiprocessing.get_context("fork").Pool(workers, end_with_parent, (os.getpid(),)) as pool:
                # a few chunks in flight per worker, never the whole stream (Pool.imap would
                # read all of it ahead: a long access log would be held in memory)
                pending: collections.deque[tuple[int, AsyncResult[_Result]]] = collections.deque()
                for chunk in itertools.chain([first, second], chunks):
                    wires = [_to_wire(r, origin) for r, origin in chunk]
                    pending.append((len(chunk), pool.apply_async(_replay_wire, (wires,))))
                    if len(pending) > 2 * workers:
                        size, waiting = pending.popleft()
                        account(size, waiting.get())
                while pending:
                    size, waiting = pending.popleft()
                    account(size, waiting.get())
        else:  # one chunk (no pool worth starting), checkers, or one worker
            for chunk in itertools.chain([first], [second] if second is not None else [], chunks):
                if chunk and checkers:  # the checkers see each request as replayed
                    second_opinions(chunk)
                if chunk:
                    account(len(chunk), _replay_chunk(chunk))
        if grouped is not None:  # (as if replayed here: the same counts, differences in the same order)
            report.requests += grouped.requests
            report.agree += grouped.agree
            for difference in grouped.differences:
                report.add(difference)
        else:
            policy_groups(report)
        if progress is not None and ((probe_groups and stateful is not None)
                                     or (sourced_groups is not None and grouped is not None and grouped.requests)):
            progress(report.requests)
    finally:
        _REPLAY = None
        _PRELOADED = ()
        _MEMO.clear()
        _LINES.clear()
        _CLASSES.clear()
        _LOG_KEYS.clear()
    report.elapsed_s = time.perf_counter() - started
    return report
