"""The Gateway side's policy enforcement: what happens to a routed request before it is sent on.

After the router has chosen a rule (:class:`~ing2gw.router.Outcome` with ``rule``), the
:class:`Guard` applies the policies attached to it (:class:`~ing2gw.policy.PolicyIndex`:
the rule, its route, the listener, the Gateway -- read back from emitted objects by the
emitters, :func:`ing2gw.emit.registry.read_policies`) and the rule's standard
``ExternalAuth`` filters, in this order (the order of Envoy-based implementations):

1. body limit (:class:`~ing2gw.intents.BodyLimit`): a ``Content-Length`` above it -> 413 (a
   chunked body is counted by ``serve`` as it arrives: :meth:`Guard.body_limit`);
2. IP allow/deny (:class:`~ing2gw.intents.IPAccess`) on the client address -> its status (403);
3. basic auth (:class:`~ing2gw.intents.BasicAuth`) against the htpasswd files
   (:mod:`.credentials`), honouring the hash formats the target accepts -> 401 with
   ``WWW-Authenticate``;
4. external auth (:class:`~ing2gw.intents.ExternalAuth` policies, then ExternalAuth filters):
   the auth service is asked (``auth``: the stand-in of :mod:`.standin` unless the caller
   gives a real one); its refusal is the answer, its 2xx lets the request on with the allowed
   auth response headers added upstream;
5. rate limits (:class:`~ing2gw.intents.RateLimit`) counted in token buckets
   (:mod:`.buckets`: ``rate + burst`` tokens, or the policy's ``capacity``) on ``clock`` ->
   the policy's status; without a ``limiter`` nothing is counted (every request is the first).

Response headers (:class:`~ing2gw.intents.ResponseHeaders`) are added to routed answers (and
by ``serve`` to the backend's). A CORS policy (:class:`~ing2gw.intents.Cors`, read back from a
target's own CORS object) answers preflights before any protection (:meth:`Guard.cors`: its
preflight status, ``*`` for wildcard origins when it says so) and adds the CORS headers to
routed answers; without settings of its own it sets the status of the preflights the rule's
CORS filter answers. Timeout policies (:class:`~ing2gw.intents.Timeouts`) are
given as :class:`~.timeouts.Limit` values (:meth:`Guard.timeout_limits`): the router applies
them with the rule's own ``timeouts`` to a request that states its backend's delay, ``serve``
to its backend connections. A refusal keeps the matched rule, names the
policy in ``Outcome.policy`` and says why in a note.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..http import Headers, Request
from ..intents import (
    BasicAuth,
    BodyLimit,
    Cors,
    ExternalAuth,
    Intent,
    IPAccess,
    RateLimit,
    ResponseHeaders,
    Timeouts,
)
from ..ir import CORS
from ..policy import AttachedPolicy, PolicyIndex
from ..router import model
from ..router.filters import cors_actual_headers, cors_preflight_headers, is_preflight
from ..router.outcome import AuthFilter, Outcome, RuleInfo
from ..yamlio import Document
from .buckets import TokenBuckets
from .credentials import Credentials
from .standin import AuthAnswer, stand_in
from .timeouts import Limit, policy_limits

__all__ = ["AuthCall", "Guard", "policy_index"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# headers an ExternalAuth filter always sends (GEP-1494), besides its allowedHeaders
_ALWAYS_SENT = frozenset({"authorization", "content-length", "host"})


@dataclass(frozen=True, slots=True)
class AuthCall:
    """One request to an auth service: to ``service`` (``ns/name:port`` of a Service, or the
    URL of an ExternalAuth intent) with ``method``, ``path`` and ``headers``. ``copy`` are the
    auth response headers sent upstream on success (``None``: all); ``source`` names the policy."""

    service: str
    method: str
    path: str
    headers: Headers
    copy: tuple[str, ...] | None
    source: str


AuthCaller = Callable[[AuthCall], AuthAnswer]


def _stand_in(call: AuthCall) -> AuthAnswer:
    return stand_in(call.headers)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What applies to one rule on one listener, compiled once."""

    body: tuple[tuple[int, str], ...]  # (max bytes, source)
    ip: tuple[tuple[IPAccess, tuple[Network, ...], tuple[Network, ...], str], ...]
    basic: tuple[AttachedPolicy, ...]
    ext: tuple[tuple[ExternalAuth, str], ...]
    filters: tuple[AuthFilter, ...]
    rate: tuple[tuple[RateLimit, tuple[Network, ...], str, int, int | None], ...]
    headers: tuple[ResponseHeaders, ...]
    timeouts: tuple[Limit, ...] = ()
    cors: tuple[tuple[Cors, model.Cors | None, str], ...] = ()  # (intent, its settings compiled, source)

    @property
    def empty(self) -> bool:
        return not (self.body or self.ip or self.basic or self.ext or self.filters or self.rate or self.headers
                    or self.cors)


def _networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            continue  # an emitter's reader validated its own objects; a bad entry matches nothing
    return tuple(out)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def policy_index(manifests: Iterable[Mapping[str, Any] | Document]) -> PolicyIndex:
    """The policies every installed emitter reads back from ``manifests`` (plain mappings or
    :class:`~ing2gw.yamlio.Document`)."""
    from ..emit.registry import read_policies

    # (a plain mapping as it is: the readers only read; verify passes thousands of emitted routes)
    return PolicyIndex(read_policies([m if type(m) is dict else dict(m.obj if isinstance(m, Document) else m)
                                      for m in manifests]))


class Guard:
    """Enforces attached policies and ExternalAuth filters on routed outcomes."""

    __slots__ = ("policies", "credentials", "auth", "limiter", "clock", "_plans", "_inert")

    def __init__(self, policies: PolicyIndex, credentials: Credentials | None = None,
                 auth: AuthCaller | None = None, limiter: TokenBuckets | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.policies = policies
        self.credentials = credentials or Credentials()
        self.auth: AuthCaller = auth or _stand_in
        self.limiter = limiter
        self.clock: Callable[[], float] = clock or (lambda: 0.0)
        self._plans: dict[int, tuple[RuleInfo, _Plan]] = {}
        self._inert: dict[int, RuleInfo] = {}  # rules nothing is enforced on (see settle), by id

    # -- planning ---------------------------------------------------------------------------

    def plan(self, info: RuleInfo) -> _Plan:
        found = self._plans.get(id(info))
        if found is not None and found[0] is info:
            return found[1]
        m = info.matched
        applicable = self.policies.applicable(m.kind, m.route or None, m.rule_name, m.gateway or None,
                                              m.listener or None) if self.policies else ()
        body, ip, basic, ext, rate, headers = [], [], [], [], [], []
        timeouts: list[tuple[Timeouts, str]] = []
        cors: list[tuple[Cors, model.Cors | None, str]] = []
        for number, p in enumerate(applicable):
            intent: Intent = p.intent
            if isinstance(intent, BodyLimit):
                if intent.max_bytes is not None:
                    body.append((intent.max_bytes, p.source))
            elif isinstance(intent, IPAccess):
                ip.append((intent, _networks(intent.allow), _networks(intent.deny), p.source))
            elif isinstance(intent, BasicAuth):
                basic.append(p)
            elif isinstance(intent, ExternalAuth):
                ext.append((intent, p.source))
            elif isinstance(intent, RateLimit):
                rate.append((intent, _networks(intent.exempt), p.source, number, p.capacity))
            elif isinstance(intent, ResponseHeaders):
                headers.append(intent)
            elif isinstance(intent, Timeouts):
                timeouts.append((intent, p.source))
            elif isinstance(intent, Cors):
                cors.append((intent, None if intent.settings is None else _compiled(intent.settings), p.source))
        plan = _Plan(tuple(body), tuple(ip), tuple(basic), tuple(ext), info.auth_filters, tuple(rate),
                     tuple(headers), policy_limits(timeouts), tuple(cors))
        if len(self._plans) > 100_000:
            self._plans.clear()
        self._plans[id(info)] = (info, plan)
        return plan

    def applies(self, outcome: Outcome) -> bool:
        """Whether anything may be enforced on ``outcome`` (cheap: checked per request)."""
        info = outcome.rule
        if info is None or outcome.status is None or outcome.reason == "CORSPreflight":
            return False
        if not self.policies and not info.auth_filters:
            return False
        return not self.plan(info).empty

    def settle(self, request: Request, outcome: Outcome) -> Outcome:
        """``enforce(request, cors(request, outcome))``: what a routed request meets. A rule
        nothing is attached to (no policy, no ExternalAuth filter) costs one lookup."""
        info = outcome.rule
        if info is None or self._inert.get(id(info)) is info:
            return outcome
        if (not self.policies and not info.auth_filters) or self.plan(info).empty:
            if len(self._inert) > 100_000:
                self._inert.clear()
            self._inert[id(info)] = info  # (cors and enforce leave every outcome of it as it is)
            return outcome
        return self.enforce(request, self.cors(request, outcome))

    def cors(self, request: Request, outcome: Outcome) -> Outcome:
        """``outcome`` as the target's CORS policy (:class:`~ing2gw.intents.Cors`) answers:
        a preflight the policy's own settings cover is answered here (its preflight status,
        default 200; ``*`` for a wildcard origin list when ``echo_wildcard``), before any
        protection; a preflight the rule's CORS filter answered gets the policy's status."""
        info = outcome.rule
        if info is None or not self.policies or outcome.status is None:
            return outcome
        plan = self.plan(info)
        if not plan.cors:
            return outcome
        intent, settings, source = plan.cors[0]
        if settings is not None and is_preflight(request):
            status = intent.preflight_status or 200
            return Outcome(status, "CORSPreflight", info, False, None, None,
                           cors_preflight_headers(settings, request, intent.echo_wildcard), (),
                           outcome.extension_refs, outcome.grpc,
                           (*outcome.notes, f"preflight answered by {source}"))
        if outcome.reason == "CORSPreflight" and intent.preflight_status:
            return outcome._replace(status=intent.preflight_status,
                                    notes=(*outcome.notes, f"preflight status {intent.preflight_status} of {source}"))
        return outcome

    def changes_response(self, info: RuleInfo | None) -> bool:
        """Whether the policies of the matched rule ``info`` add response headers (which may
        depend on the request: CORS)."""
        if info is None or not self.policies:
            return False
        plan = self.plan(info)
        return bool(plan.headers or plan.cors)

    def body_limit(self, info: RuleInfo | None) -> tuple[int, str] | None:
        """The smallest body limit attached to the matched rule ``info`` (bytes, source), for
        bodies whose size no ``Content-Length`` announces (``serve`` counts them)."""
        if info is None or not self.policies:
            return None
        body = self.plan(info).body
        return min(body) if body else None

    def timeout_limits(self, info: RuleInfo | None) -> tuple[Limit, ...]:
        """The timeout policies attached to the matched rule ``info``."""
        if info is None or not self.policies:
            return ()
        return self.plan(info).timeouts

    # -- enforcing --------------------------------------------------------------------------

    def enforce(self, request: Request, outcome: Outcome, client: str | None = None) -> Outcome:
        """``outcome`` with the policies applied; auth services are asked through ``auth``."""
        if not self.applies(outcome):
            return outcome
        refused = self.admit(request, outcome, client)
        if refused is not None:
            return refused
        for call in self.auth_calls(request, outcome):
            outcome = self.after_auth(outcome, call, self.auth(call))
            if not outcome.served and outcome.policy is not None:
                return outcome
        return self.finish(request, outcome, client)

    def admit(self, request: Request, outcome: Outcome, client: str | None = None) -> Outcome | None:
        """The refusal of the checks before external auth (body, IP, basic auth), or None."""
        assert outcome.rule is not None
        plan = self.plan(outcome.rule)
        if plan.body:
            length = request.headers.get("content-length")
            size = int(length) if length is not None and length.strip().isdigit() else None
            for limit, source in plan.body:
                if size is not None and size > limit:
                    return _refuse(outcome, 413, "PayloadTooLarge", source,
                                   f"request body of {size} bytes is over the limit of {limit} bytes")
        if plan.ip:
            for intent, allow, deny, source in plan.ip:
                addr = self._client(request, client, intent.client_address)
                if addr is None:
                    outcome = outcome._replace(notes=(*outcome.notes, f"{source}: client address unknown, "
                                                                       "allow/deny not evaluated"))
                    continue
                if not _ip_allowed(addr, allow, deny, intent.order):
                    return _refuse(outcome, intent.status, "Forbidden", source,
                                   f"client {addr} is not allowed by {intent.summary()}")
        for p in plan.basic:
            auth = p.intent
            assert isinstance(auth, BasicAuth)
            if auth.scheme != "basic":
                outcome = outcome._replace(notes=(*outcome.notes, f"{p.source}: {auth.scheme} auth is not "
                                                                   "checked (only presence of credentials)"))
                if request.headers.get("authorization"):
                    continue
                return _refuse(outcome, 401, "Unauthorized", p.source, "no credentials",
                               Headers([("WWW-Authenticate", f'Digest realm="{auth.realm or ""}"')]))
            check = self.credentials.check(auth.secret, request.headers.get("authorization"), p.hash_schemes)
            if not check.ok:
                return _refuse(outcome, 401, "Unauthorized", p.source, check.why,
                               Headers([("WWW-Authenticate", f'Basic realm="{auth.realm or ""}"')]))
            if "not checked" in check.why:
                outcome = outcome._replace(notes=(*outcome.notes, f"{p.source}: {check.why}"))
        return None

    def auth_calls(self, request: Request, outcome: Outcome) -> list[AuthCall]:
        """The auth services to ask, in order (policies first, then the rule's filters)."""
        assert outcome.rule is not None
        plan = self.plan(outcome.rule)
        calls: list[AuthCall] = []
        for intent, source in plan.ext:
            # an auth_request-like subrequest: the fixed method, every client header, the original request named
            sent = request.headers.set("X-Original-URL", f"{request.scheme}://{request.host}{request.target}") \
                .set("X-Original-Method", request.method)
            calls.append(AuthCall(intent.url, intent.method or "GET", request.target, sent,
                                  tuple(h.lower() for h in intent.response_headers), source))
        m = outcome.rule.matched
        for f in plan.filters:
            sent = Headers([(name, value) for name in request.headers
                            if name.lower() in _ALWAYS_SENT or name.lower() in f.allowed_headers
                            for value in request.headers.get_all(name)])
            path = (f.path or "").rstrip("/") + request.target if f.path else request.target
            calls.append(AuthCall(f.backend, request.method, path, sent, f.allowed_response_headers or None,
                                  f"{m.kind} {m.route} rule {m.rule} ExternalAuth filter"))
        return calls

    def after_auth(self, outcome: Outcome, call: AuthCall, answer: AuthAnswer) -> Outcome:
        """The outcome once the auth service answered ``call``."""
        if not answer.allowed:
            return _refuse(outcome, answer.status, "Unauthorized" if answer.status == 401 else "AuthDenied",
                           call.source, f"the auth service {call.service} answered {answer.status}",
                           answer.headers)
        if outcome.upstream is None:
            return outcome
        headers = outcome.upstream.headers
        for name in answer.headers:
            if call.copy is None or name.lower() in call.copy:
                for value in answer.headers.get_all(name):
                    headers = headers.set(name, value)
        return outcome._replace(upstream=outcome.upstream._replace(headers=headers))

    def finish(self, request: Request, outcome: Outcome, client: str | None = None) -> Outcome:
        """Rate limits (counted now) and response headers, after the auth checks passed."""
        assert outcome.rule is not None
        plan = self.plan(outcome.rule)
        if plan.rate and self.limiter is not None:
            now = self.clock()
            for intent, exempt, source, number, capacity in plan.rate:
                if intent.unit == "connections":
                    continue  # concurrency: only serve can count open connections
                addr = self._client(request, client, "peer")
                if addr is not None and any(addr in net for net in exempt):
                    continue
                who = str(addr) if intent.key == "client-ip" else ""
                if not self.limiter.take((id(self), source, number, who), intent.rate, intent.unit, intent.burst,
                                         now, capacity):
                    return _refuse(outcome, intent.status, "RateLimited", source,
                                   f"over the rate limit ({intent.summary()})")
        if (plan.headers or plan.cors) and outcome.served:
            outcome = outcome._replace(response_headers=self.response_headers(request, outcome,
                                                                              outcome.response_headers))
        return outcome

    def response_headers(self, request: Request, outcome: Outcome, response: Headers) -> Headers:
        """``response`` (a backend's answer) with the headers the rule's policies set."""
        if outcome.rule is None:
            return response
        plan = self.plan(outcome.rule)
        for extra in plan.headers:
            if extra.tls_only and request.scheme != "https":
                continue
            for name, value in extra.set:
                response = response.set(name, value)
        for intent, settings, _ in plan.cors[:1]:
            if settings is not None:
                for name, value in cors_actual_headers(settings, request, intent.echo_wildcard):
                    response = response.set(name, value)
        return response

    def _client(self, request: Request, client: str | None, which: str) -> Any:
        if which == "forwarded":
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                found = _address(forwarded.split(",")[0])
                if found is not None:
                    return found
        return _address(client if client is not None else request.client)


def _compiled(settings: CORS) -> model.Cors:
    """A CORS policy's settings as the router's CORS filter takes them (max age 5 s unless set)."""
    return model.Cors(settings.allow_origins, settings.allow_methods, settings.allow_headers,
                      settings.expose_headers, bool(settings.allow_credentials),
                      5 if settings.max_age is None else settings.max_age)


def _ip_allowed(addr: Any, allow: tuple[Network, ...], deny: tuple[Network, ...], order: str) -> bool:
    in_allow = any(addr in net for net in allow)
    if order == "allow-first" and in_allow:
        return True
    if any(addr in net for net in deny):
        return False
    return in_allow or not allow


def _refuse(outcome: Outcome, status: int, reason: str, source: str, why: str,
            headers: Headers | None = None) -> Outcome:
    return Outcome(status, reason, outcome.rule, False, None, None, headers or Headers(), (),
                   outcome.extension_refs, outcome.grpc, (*outcome.notes, f"refused by {source}: {why}"),
                   source)
