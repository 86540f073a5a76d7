"""What a router decides for one request, as frozen values with a JSON form.

:meth:`Outcome.to_dict` gives the documented shape (see ``docs/case-format.md``)::

    {"status", "reason", "backend", "weights", "upstream", "redirect", "responseHeaders",
     "matched", "mirrors", "timeouts", "retry", "sessionPersistence", "extensionRefs",
     "grpcStatus", "notes"}     # and "policy" when a policy refused the request

``status`` is ``null`` when the request fails below HTTP (no TLS listener for the SNI,
plain HTTP sent to an HTTPS port). ``reason`` is one word from the Gateway API vocabulary
(``Routed``, ``NoMatchingListener``, ``BackendNotFound`` ...); ``notes`` explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeVar

from ing2gw.http import DeferredHeaders, Headers

__all__ = ["OUTCOMES", "Answers", "AuthFilter", "Matched", "MirrorTarget", "Outcome", "RedirectTo", "RuleInfo",
           "Upstream"]

_EMPTY_HEADERS = Headers()
_NO_WEIGHTS: Mapping[str, float] = MappingProxyType({})


class Upstream(NamedTuple):
    """The request as the backend receives it."""

    method: str
    host: str
    path: str  # with "?query"
    headers: Headers

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "host": self.host,
            "path": self.path,
            "headers": self.headers.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class RedirectTo:
    location: str
    status_code: int

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "statusCode": self.status_code}


@dataclass(frozen=True, slots=True)
class Matched:
    """Where the request was matched: a Gateway listener, or (mesh) a Service port, whose
    JSON form names ``service`` and ``port`` instead of ``gateway`` and ``listener``."""

    gateway: str
    listener: str
    kind: str = ""
    route: str = ""
    rule: int = 0
    rule_name: str | None = None
    service: str | None = None  # mesh: "ns/name" of the Service dialled
    port: int | None = None  # mesh: the Service port dialled

    def to_dict(self) -> dict[str, Any]:
        where: dict[str, Any] = (
            {"gateway": self.gateway, "listener": self.listener} if self.service is None
            else {"service": self.service, "port": self.port}
        )
        return {
            **where,
            "kind": self.kind,
            "route": self.route,
            "rule": self.rule,
            "ruleName": self.rule_name,
        }


@dataclass(frozen=True, slots=True)
class MirrorTarget:
    backend: str
    percent: float
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "percent": _number(self.percent),
                "problem": self.problem}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


_GRPC_STATUS = {200: "OK", 404: "Unimplemented", 500: "Unavailable", 503: "Unavailable"}


@dataclass(frozen=True, slots=True)
class AuthFilter:
    """An HTTPRoute ``ExternalAuth`` filter (experimental): the auth service to ask before
    the request goes on (enforced by :mod:`ing2gw.enforce.guard`, not by the matcher)."""

    backend: str  # "ns/name:port" of the auth Service
    protocol: str  # "HTTP" | "GRPC"
    path: str | None = None  # http.path: prefixed to the client's path
    allowed_headers: tuple[str, ...] = ()  # lower-case, sent besides the ones always sent
    allowed_response_headers: tuple[str, ...] = ()  # lower-case, copied upstream (empty: all)
    forward_body: int = 0  # forwardBody.maxSize (bytes of the body sent along)

    def label(self) -> str:
        return f"ExternalAuth {self.protocol} {self.backend}"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What every outcome of one rule on one listener shares (built once, at compile time)."""

    matched: Matched
    backend: str | None  # the backend a deterministic router sends to (largest share)
    weights: Mapping[str, float]
    timeouts: Mapping[str, Any] | None = None
    retry: Mapping[str, Any] | None = None
    session_persistence: Mapping[str, Any] | None = None
    auth_filters: tuple[AuthFilter, ...] = ()  # the rule's ExternalAuth filters, in order


class Outcome(NamedTuple):
    """One routing decision. A NamedTuple rather than a frozen dataclass: one is built per
    request, and tuple construction is several times cheaper on that hot path. What the
    matched rule contributes lives in the shared ``rule`` (:class:`RuleInfo`)."""

    status: int | None
    reason: str
    rule: RuleInfo | None = None  # the matched rule, if any
    served: bool = False  # a backend answered (so ``backend`` is set)
    upstream: Upstream | None = None
    redirect: RedirectTo | None = None
    response_headers: Headers = _EMPTY_HEADERS
    mirrors: tuple[MirrorTarget, ...] = ()
    extension_refs: tuple[str, ...] = ()
    grpc: bool = False
    notes: tuple[str, ...] = ()
    policy: str | None = None  # the policy that refused the request (ing2gw.enforce.guard)

    @property
    def backend(self) -> str | None:
        return self.rule.backend if self.served and self.rule is not None else None

    @property
    def weights(self) -> Mapping[str, float]:
        return _NO_WEIGHTS if self.rule is None else self.rule.weights

    @property
    def matched(self) -> Matched | None:
        return None if self.rule is None else self.rule.matched

    @property
    def timeouts(self) -> Mapping[str, Any] | None:
        return None if self.rule is None else self.rule.timeouts

    @property
    def retry(self) -> Mapping[str, Any] | None:
        return None if self.rule is None else self.rule.retry

    @property
    def session_persistence(self) -> Mapping[str, Any] | None:
        return None if self.rule is None else self.rule.session_persistence

    @property
    def grpc_status(self) -> str | None:
        """The gRPC status a client sees (gRPC requests only)."""
        if not self.grpc:
            return None
        if self.status is None:
            return "Unavailable"
        return _GRPC_STATUS.get(self.status, "Unknown")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "backend": self.backend,
            "weights": {k: _number(v) for k, v in self.weights.items()},
            "upstream": None if self.upstream is None else self.upstream.to_dict(),
            "redirect": None if self.redirect is None else self.redirect.to_dict(),
            "responseHeaders": self.response_headers.as_dict(),
            "matched": None if self.matched is None else self.matched.to_dict(),
            "mirrors": [m.to_dict() for m in self.mirrors],
            "timeouts": None if self.timeouts is None else dict(self.timeouts),
            "retry": None if self.retry is None else dict(self.retry),
            "sessionPersistence": (
                None if self.session_persistence is None else dict(self.session_persistence)
            ),
            "extensionRefs": list(self.extension_refs),
            "grpcStatus": self.grpc_status,
            "notes": list(self.notes),
            **({"policy": self.policy} if self.policy is not None else {}),
        }


_T_co = TypeVar("_T_co", covariant=True)
_TUPLE = tuple.__new__  # Outcome(...) and Upstream(...) without their keyword handling: every field given


class Answers(Protocol[_T_co]):
    """What a data-plane model makes of its answer to a request (``route(..., answers)``):
    :data:`OUTCOMES` makes the :class:`Outcome`; a caller that reads less of it (``verify``'s
    summaries) makes that directly, without the objects it would not read. ``notes`` is the
    model's list, not to be kept (copy it)."""

    def answer(self, status: int, reason: str, rule: RuleInfo | None, response: Headers, notes: list[str],
               redirect: RedirectTo | None = None, /) -> _T_co:
        """An answer no backend serves (an error, a redirect, a preflight, a refusal ...)."""
        ...

    def served(self, rule: RuleInfo, method: str, host: str, path: str, headers: tuple[Any, ...],
               response: Headers, notes: list[str], /) -> _T_co:
        """A 200 from ``rule``'s backend, sent ``method``, ``host`` and ``path``, with the
        upstream headers ``headers[0](*headers[1:])`` gives (worked out when read:
        :class:`~ing2gw.http.DeferredHeaders`)."""
        ...


class _Outcomes:
    """:class:`Answers` as :class:`Outcome` values."""

    __slots__ = ()

    def answer(self, status: int, reason: str, rule: RuleInfo | None, response: Headers, notes: list[str],
               redirect: RedirectTo | None = None, /) -> Outcome:
        return _TUPLE(Outcome, (status, reason, rule, False, None, redirect, response, (), (), False, tuple(notes),
                                None))

    def served(self, rule: RuleInfo, method: str, host: str, path: str, headers: tuple[Any, ...],
               response: Headers, notes: list[str], /) -> Outcome:
        upstream = _TUPLE(Upstream, (method, host, path, DeferredHeaders(*headers)))
        return _TUPLE(Outcome, (200, "Routed", rule, True, upstream, None, response, (), (), False, tuple(notes), None))


OUTCOMES: Answers[Outcome] = _Outcomes()

assert Outcome._fields == ("status", "reason", "rule", "served", "upstream", "redirect", "response_headers", "mirrors",
                           "extension_refs", "grpc", "notes", "policy")
assert Upstream._fields == ("method", "host", "path", "headers")
