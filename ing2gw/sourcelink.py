"""The first source-side worker answering the second worker's source-side questions.

With the sides split early (:mod:`ing2gw.sourceside`), the first worker, forked before the
conversion, builds the source controller's model and routes the generated probes through it;
the second worker, forked once the router is built, makes and replays the policy probes
(:mod:`ing2gw.policyprobes`) and the widened host set (:mod:`ing2gw.widened`), which need
the source side too. Rather than building a model of its own (the same model, built again,
and its answers worked out again for every probed host), the second worker asks the first,
which has one and nothing left to do once its chunks are sent, through a pipe both inherit
from this process (:class:`SourceLink`): a few questions, each about many requests at once
-- what the model is (:meth:`Asking.about`), which rules' plain HTTP requests it redirects
to HTTPS (:meth:`Asking.redirects`), its answers to the policy probes' groups in order,
counting rate limits from fresh counters before each burst (:meth:`Asking.groups`), and to
the widened hosts (:meth:`Asking.widened`) -- then says it is done, and the first worker
ends as before. Requests go as plain values (:func:`~ing2gw.policyprobes.policy_wire`),
answers as summaries with where the source matched, as the generated probes' chunks do.
"""

from __future__ import annotations

import multiprocessing
import operator
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .cases import CaseClock
from .dataplane import DataPlaneModel, with_enforcement
from .enforce.credentials import Credentials
from .http import Request
from .notes import ASPECTS
from .policyprobes import PolicyWire, ProbeGroup, base_request, policy_request, policy_wire, redirects_to_https
from .probes import ProbeFields
from .router.outcome import Matched, Outcome
from .verify import (
    SourceAnswer,
    SourceStandIn,
    Summary,
    matched_positions,
    source_stand_ins,
    summarise,
    summarising,
)
from .widened import widened_request

__all__ = ["Asking", "SourceLink", "counting_source"]

# a summary's redirect (a summary holds the aspects in ASPECTS order: summary_of)
_REDIRECT_OF = operator.itemgetter(ASPECTS.index("redirect"))

# the source's answers to requests, in order: their summaries, where each matched (an index
# into the Matched values, as tuples of their fields: one per distinct Matched object)
_Answers = tuple[list[Summary], list[int], list["tuple[Any, ...] | None"]]


_T = TypeVar("_T")


def counting_source(model: DataPlaneModel, credentials: Credentials,
                    clock: CaseClock) -> tuple[Callable[[Request], Outcome], Callable[[], None]]:
    """The source side as policy probes replay it: ``model`` enforcing protections and counting
    rate limits on ``clock`` (held at 0: a burst is one instant), and what starts its counters over."""
    return _counting(model, credentials, clock, lambda counting: counting.route)


def _counting(model: DataPlaneModel, credentials: Credentials, clock: CaseClock,
              answering: Callable[[DataPlaneModel], Callable[[Request], _T]]) -> tuple[Callable[[Request], _T],
                                                                                   Callable[[], None]]:
    """:func:`counting_source`, its answers as ``answering`` makes them of the counting model."""
    holder = [answering(with_enforcement(model, credentials, clock, count=True))]

    def reset() -> None:
        holder[0] = answering(with_enforcement(model, credentials, clock, count=True))

    return lambda request: holder[0](request), reset


class SourceLink:
    """A pipe between the first worker (:meth:`serve`) and the second (:meth:`asking`), made
    by this process before forking either; it closes its own ends once both are forked
    (:meth:`close`), so that either worker sees the other's end (end of file) if it dies."""

    def __init__(self) -> None:
        self._first, self._second = multiprocessing.Pipe()
        # (in the first worker) the generated probes routed so far, in order, and the source's
        # redirect (a summary's) of each: what :meth:`remember` kept
        self._probes: list[ProbeFields] = []
        self._redirects_of: list[str | None] = []

    def remember(self, probes: Sequence[ProbeFields], summaries: Sequence[Summary]) -> None:
        """In the first worker, for each chunk of generated probes routed (in order with their
        summaries): keep the probes and their redirects. A plain HTTP probe without headers
        is the very request :func:`~ing2gw.policyprobes.base_request` makes for its host and
        path (the model does not count: the same request, the same answer), so the question
        which rules' base requests redirect is mostly answered without routing them again.
        (Kept as they come, two list extensions per chunk: the question asks of a few rules
        of every host, found by bisection, the probes being sorted: :meth:`_redirects`.)"""
        self._probes.extend(probes)
        self._redirects_of.extend(map(_REDIRECT_OF, summaries))

    def close(self) -> None:
        """This process's ends (once the second worker is forked, or when there will be none)."""
        self._first.close()
        self._second.close()

    def serve(self, model: DataPlaneModel, own: DataPlaneModel, credentials: Credentials) -> None:
        """In the first worker, its chunks sent: answer the second worker's questions with
        ``model`` (``own``: it enforcing protections without counting) until it is done,
        or gone."""
        conn = self._first
        presented = getattr(model, "presented_certificate", None)
        while True:
            try:
                kind, value = conn.recv()
            except EOFError:  # no second worker (any more)
                return
            if kind == "done":
                return
            if kind == "about":
                conn.send((bool(getattr(model, "models_timeouts", False)), callable(presented)))
            elif kind == "redirects":
                conn.send(self._redirects(value, own))
            elif kind == "groups":
                conn.send(_answers(value, *_counting(model, credentials, CaseClock(), summarising)))
            elif kind == "widened":
                conn.send({host: (presented(host) if callable(presented) else None,
                                  summarise(own.route(widened_request(host)))) for host in value})
            else:
                raise AssertionError(f"unknown question {kind!r}")

    def _redirects(self, rules: list[tuple[str, str]], own: DataPlaneModel) -> list[bool]:
        """For each (host, path), whether the source redirects its base request to HTTPS: the
        redirect of its plain HTTP probe without headers, found among the generated probes
        (sorted as :func:`~ing2gw.probes.ingress_probe_fields` gives them), else routed now."""
        probes, redirects, out = self._probes, self._redirects_of, []
        for host, path in rules:
            plain = ("http", host, path, ())
            at = bisect_left(probes, plain)
            if at < len(probes) and probes[at] == plain:  # (a summary's redirect: "STATUS LOCATION")
                redirect = redirects[at]
                out.append(redirect is not None and redirect.partition(" ")[2].startswith("https:"))
            else:
                out.append(redirects_to_https(own.route(base_request(host, path))))
        return out

    def first_forked(self) -> None:
        """In the first worker, first thing: it keeps its own end only."""
        self._second.close()

    def asking(self) -> Asking:
        """In the second worker, first thing: its end, to ask through (the other one closed)."""
        self._first.close()
        return Asking(self._second)


class Asking:
    """The second worker's questions to the first (:meth:`SourceLink.serve`); a first worker
    gone is a RuntimeError (its own error reaches this process's parent first)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._sources: dict[tuple[Any, ...] | None, SourceStandIn] = {}

    def _ask(self, kind: str, value: Any) -> Any:
        try:
            self._conn.send((kind, value))
            return self._conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("the first source-side worker ended before answering") from None

    def about(self) -> tuple[bool, bool]:
        """Whether the model models timeouts (``models_timeouts``), and whether it says which
        certificate it presents for a host (``presented_certificate``)."""
        timeouts, presents = self._ask("about", None)
        return bool(timeouts), bool(presents)

    def redirects(self, rules: list[tuple[str, str]]) -> list[bool]:
        """For each (host, path), whether the source redirects its plain HTTP base request
        (:func:`~ing2gw.policyprobes.base_request`) to HTTPS."""
        return list(self._ask("redirects", rules))

    def groups(self, groups: Sequence[ProbeGroup]) -> list[tuple[Summary, SourceStandIn]]:
        """The source's answers to every request of ``groups`` in order (counting rate limits,
        from fresh counters before each burst): each as its summary and a stand-in of the
        outcome holding where it matched (all the explainer reads of it)."""
        wires: list[tuple[bool, list[PolicyWire]]] = []
        for group in groups:
            if group.burst:  # (one request, repeated)
                first = policy_wire(group.requests[0])
                wires.append((True, [first] * len(group.requests)))
            else:
                wires.append((False, [policy_wire(r) for r in group.requests]))
        summaries, where, new = self._ask("groups", wires)
        stand_ins = source_stand_ins(new, self._sources)
        return [(summary, stand_ins[at]) for summary, at in zip(summaries, where, strict=True)]

    def widened(self, hosts: list[str]) -> dict[str, tuple[str | None, dict[str, Any]]]:
        """For each widened host: the Secret the source presents for it (when it says) and
        the summary of its answer to the host's request."""
        return dict(self._ask("widened", hosts))

    def done(self) -> None:
        """No more questions: the first worker ends."""
        try:
            self._conn.send(("done", None))
        except OSError:  # (it is gone already)
            pass
        self._conn.close()


def _answers(groups: list[tuple[bool, list[PolicyWire]]], answer: SourceAnswer, reset: Callable[[], None]) -> _Answers:
    summaries: list[Summary] = []
    matched_at: list[Matched | None] = []
    for burst, wires in groups:
        if burst:
            reset()
        last: PolicyWire | None = None
        for wire in wires:
            if wire is not last:  # (a burst repeats one wire object: one request for it)
                last, request = wire, policy_request(wire)
            summary, matched = answer(request)
            summaries.append(summary)
            matched_at.append(matched)
    return (summaries, *matched_positions(matched_at))
