"""The :class:`Router` facade: compile manifests once, route many requests."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ing2gw.http import Request
from ing2gw.yamlio import Document

from .matcher import route, route_normalised
from .outcome import Outcome
from .paths import STANDARD, PathPolicy, verdicts
from .table import Table, compile_table

if TYPE_CHECKING:
    from ing2gw.enforce.guard import Guard

__all__ = ["Router"]

_UNSEEN: Any = object()  # a path whose verdict is not remembered


class Router:
    """A reference Gateway API data plane over a fixed set of objects.

    >>> router = Router.from_manifests(objects)            # doctest: +SKIP
    >>> router.route(Request.build(host="shop.example.com", path="/api")).status
    """

    __slots__ = ("table", "path_policy", "guard", "_verdicts", "_policed")

    def __init__(self, table: Table, path_policy: PathPolicy = STANDARD, guard: Guard | None = None) -> None:
        self.table = table
        self.path_policy = path_policy
        self.guard = guard  # policies enforced after routing (ing2gw.enforce.guard); None: routing only
        self._verdicts = verdicts(path_policy)  # what the policy does to the paths seen (None: nothing)
        self._policed = guard is not None and bool(guard.policies)  # (asked once: PolicyIndex.__bool__ is Python)

    def with_guard(self, guard: Guard | None) -> Router:
        """The same compiled objects, enforcing ``guard``'s policies after each routing decision."""
        return Router(self.table, self.path_policy, guard)

    @classmethod
    def from_manifests(
        cls, manifests: Iterable[Mapping[str, Any] | Document], strict_refs: bool = False,
        path_policy: PathPolicy = STANDARD,
    ) -> Router:
        """Objects are plain mappings or :class:`~ing2gw.yamlio.Document` (whose origin
        then names them in errors). With ``strict_refs`` a reference to an object the input
        does not hold is unresolved even when the input has no object of that kind.
        ``path_policy`` is how the data plane normalises request paths (:mod:`.paths`)."""
        pairs: list[tuple[Mapping[str, Any], str]] = []
        for i, item in enumerate(manifests):
            if isinstance(item, Document):
                pairs.append((item.obj, item.origin))
            else:
                pairs.append((item, f"<input>:{i + 1}"))
        gc_was_on = gc.isenabled()
        gc.disable()  # compiling makes many objects and no cycles: collecting meanwhile only costs time
        try:
            return cls(compile_table(pairs, strict_refs), path_policy)
        finally:
            if gc_was_on:
                gc.enable()

    @property
    def notes(self) -> tuple[str, ...]:
        """Findings made while compiling (dropped rules, assumptions, left-out listeners)."""
        return self.table.notes

    @property
    def gateways(self) -> tuple[str, ...]:
        return tuple(sorted(self.table.gateways))

    def route(self, request: Request, backend: str | None = None) -> Outcome:
        """``backend``: the backendRef (``ns/name:port``) a weighted choice picked, to apply
        its own filters (default: the largest share, as a deterministic router reports).
        With a guard, the attached policies are enforced on the routed request. A request
        with a ``backend_delay`` meets the rule's timeouts and the attached timeout policies
        (:mod:`ing2gw.enforce.timeouts`): over one, the answer is 504."""
        if self._verdicts.get(request.path, _UNSEEN) is None:  # a path left as it is (most): route's first case
            outcome = route_normalised(self.table, request, backend)
        else:
            outcome = route(self.table, request, backend, self.path_policy)
        guard = self.guard
        if guard is not None:
            info = outcome.rule
            # (a guard without policies leaves the outcomes of rules without ExternalAuth filters as they
            # are: Guard.settle's first case, without the call)
            if info is not None and (self._policed or info.auth_filters):
                outcome = guard.settle(request, outcome)
        if request.backend_delay is not None and outcome.served:
            from ing2gw.enforce.timeouts import route_limits, timed_out  # enforce builds on the router

            limits = route_limits(outcome.rule)
            if self.guard is not None:
                limits += self.guard.timeout_limits(outcome.rule)
            outcome = timed_out(outcome, request.backend_delay, limits)
        return outcome
