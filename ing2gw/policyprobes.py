"""Requests that test protections, generated per policy (not per request) for ``verify``,
and their replay through both sides (:func:`replay_groups`).

The boundary probes (:mod:`.probes`) come from one public client without credentials, so
they see a protection only as "refused". For each rule that carries a protection -- on the
source side (the provider's intents, and Gateway-wide ones) or on the Gateway side (the
policies attached to the route the rule's request lands on, :class:`~ing2gw.enforce.guard.Guard`)
-- one base request (the rule's first host and path) is varied:

* client addresses inside each allow-list and deny-list entry (a pass, a refusal);
* with each ``--credentials USER:PASSWORD`` as Basic credentials, and with a wrong password;
* with ``Authorization: Bearer ing2gw-probe`` (the stand-in auth service allows it);
* with a ``Content-Length`` one byte over each body limit of either side, and exactly at it;
* a burst of requests at one instant, one more than the largest budget (rate + burst) of
  either side: replayed with fresh counters on both sides, it shows where each side starts
  refusing and with which status (503 -> 429);
* a slow backend (``Request.backend_delay``) just over each timeout either side has on the
  rule -- the source's timeout intents and rule timeouts, the Gateway rule's ``timeouts`` and
  timeout policies (:mod:`ing2gw.enforce.timeouts`): where one side answers 504 and the other
  waits. Rules without any configured timeout are not probed (every data plane has a default),
  nor are the rules of a source model that does not model timeouts (``models_timeouts``).

The source's built-in defaults (``Intent.implicit``, e.g. ingress-nginx's 1m body limit)
are not probed. Every variant except the one under test passes the other checks where it can: a client
inside the allow-list, the first credentials given. A burst larger than :data:`MAX_BURST`
is not sent (``skipped`` says so). A rule is routed (to find the Gateway side's protections)
only where its hostname can reach a Gateway rule that carries one it does not have already:
with no policy at all, only the rules under a few hostnames can.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .enforce.guard import Guard
from .enforce.timeouts import format_seconds, parse_duration, route_limits
from .explain import Explainer
from .http import Headers, Request, plain_request, split_host_port
from .intents import BasicAuth, BodyLimit, ExternalAuth, Intent, IPAccess, RateLimit, Timeouts
from .ir import IR, Route, Rule
from .notes import Note
from .probes import PROBE_CLIENT, _literal_prefix
from .router import Router
from .router.model import Group
from .router.outcome import Outcome
from .verify import (
    Difference,
    DifferencesWire,
    Summary,
    VerifyReport,
    compare_summaries,
    notes_of,
    request_key,
    shared_dict,
    summary_of,
    tally,
)

__all__ = ["MAX_BURST", "PolicyWire", "ProbeGroup", "Stateful", "base_request", "policy_probe_steps", "policy_probes",
           "policy_probes_told", "policy_request", "policy_wire", "redirects_to_https", "replay_groups",
           "replayed_told"]

MAX_BURST = 2000  # requests in one burst at most
BEARER = "Bearer ing2gw-probe"
_PROTECTIONS = (IPAccess, BasicAuth, ExternalAuth, RateLimit, BodyLimit)
_NO_HEADERS = Headers()  # (immutable: every request without headers shares it)


@dataclass(frozen=True, slots=True)
class ProbeGroup:
    """Requests testing one protected rule. ``burst``: replayed in order with fresh rate-limit
    counters on both sides (only the first request the sides answer differently is reported)."""

    origin: str
    requests: tuple[Request, ...]
    burst: bool = False


def _first_path(rule: Rule) -> str:
    for m in rule.matches:
        if m.path is None:
            return "/"
        if m.path.type == "RegularExpression":
            return _literal_prefix(m.path.value)
        return m.path.value or "/"
    return "/"


def _inside(cidr: str) -> str | None:
    """An address inside ``cidr`` (its second address where it has one)."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    return str(net.network_address + 1) if net.num_addresses > 2 else str(net.network_address)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(slots=True)
class _Found:
    """The protections both sides have on one rule."""

    allow: list[str]
    deny: list[str]
    basic: bool = False
    external: bool = False
    bodies: set[int] | None = None
    budgets: set[int] | None = None
    timeouts: set[float] | None = None  # seconds

    def add(self, intent: Intent) -> None:
        if isinstance(intent, IPAccess):
            self.allow += intent.allow
            self.deny += intent.deny
        elif isinstance(intent, BasicAuth):
            self.basic = True
        elif isinstance(intent, ExternalAuth):
            self.external = True
        elif isinstance(intent, BodyLimit) and intent.max_bytes is not None:
            self.bodies = (self.bodies or set()) | {intent.max_bytes}
        elif isinstance(intent, RateLimit) and intent.unit in ("second", "minute"):
            self.budgets = (self.budgets or set()) | {intent.rate + intent.burst}

    def add_timeouts(self, seconds: Iterable[float]) -> None:
        found = {s for s in seconds if s > 0}
        if found:
            self.timeouts = (self.timeouts or set()) | found

    @property
    def any(self) -> bool:
        return bool(self.allow or self.deny or self.basic or self.external or self.bodies or self.budgets
                    or self.timeouts)


def policy_probes(ir: IR, router: Router, guard: Guard, source_route: Callable[[Request], Outcome],
                  credentials: Sequence[tuple[str, str]], skipped: list[str],
                  timeouts: bool = False) -> list[ProbeGroup]:
    """The probe groups for every protected rule of ``ir``'s HTTPRoutes. ``router`` routes
    without enforcing (to find the Gateway-side rule), ``guard`` says what that rule's
    policies are; ``source_route`` (request -> Outcome) tells whether the source redirects
    plain HTTP to HTTPS (then the probes use https). ``timeouts``: whether the source side
    models timeouts (then rules with one are probed with slow backends)."""
    return [g for part in policy_probe_steps(ir, router, guard, source_route, credentials, skipped, timeouts)
            for g in part]


def policy_probe_steps(ir: IR, router: Router, guard: Guard, source_route: Callable[[Request], Outcome],
                       credentials: Sequence[tuple[str, str]], skipped: list[str],
                       timeouts: bool = False) -> Iterator[list[ProbeGroup]]:
    """:func:`policy_probes`, a rule's groups at a time (possibly none): a process that
    has other work to keep up (``ing2gw.sourceside``) makes and replays them in small steps."""
    for route, rule, host, path, wide, own, alone in _probed(ir, router, guard, timeouts):
        secure = redirects_to_https(source_route(base_request(host, path)))
        yield _rule_groups(route, rule, host, path, wide, router, guard, secure, credentials, skipped, timeouts, own,
                           alone)


def policy_probes_told(ir: IR, router: Router, guard: Guard,
                       redirects: Callable[[list[tuple[str, str]]], Sequence[bool]],
                       credentials: Sequence[tuple[str, str]], skipped: list[str],
                       timeouts: bool = False) -> list[ProbeGroup]:
    """:func:`policy_probes` with the source side in another process: ``redirects`` says, for
    each probed rule's (host, path), whether the source answers its plain HTTP request
    (:func:`base_request`) with a redirect to HTTPS -- asked once, for every rule."""
    probed = list(_probed(ir, router, guard, timeouts))
    told = redirects([(host, path) for _, _, host, path, _, _, _ in probed])
    return [g for (route, rule, host, path, wide, own, alone), secure in zip(probed, told, strict=True)
            for g in _rule_groups(route, rule, host, path, wide, router, guard, secure, credentials, skipped,
                                  timeouts, own, alone)]


def base_request(host: str, path: str, scheme: str = "http") -> Request:
    """A probed rule's base request (the groups' requests are variations of it)."""
    return plain_request(scheme, host, path, _NO_HEADERS, "GET", PROBE_CLIENT)  # (Request.build's request)


def redirects_to_https(outcome: Outcome) -> bool:
    """Does the source answer a rule's plain HTTP base request with a redirect to HTTPS (then
    the rule is probed over https)?"""
    return outcome.redirect is not None and outcome.redirect.location.startswith("https:")


_Probed = tuple[Route, Rule, str, str, list[Intent], "_Found | None", bool]


def _probed(ir: IR, router: Router, guard: Guard, timeouts: bool) -> Iterator[_Probed]:
    """The rules worth probing: (route, rule, host, path, the Gateway-wide protections, what
    :func:`_own` gives for the rule when already known, whether the Gateway side can add no
    protection to it: no policy, and no rule under its hostname carries one, or none it does
    not have already)."""
    # the source's own defaults (ingress-nginx's 1m body limit) are not probed: only what users configured
    wide: list[Intent] = [g.intent for g in ir.gateway_intents
                          if isinstance(g.intent, _PROTECTIONS) and not g.intent.implicit]
    seen: set[tuple[str, str]] = set()
    # a host's routes none of whose rules is probed (below): their rules' (host, path) are seen only when a later
    # route of the host has one that may be (most routes are such, their rules' paths not worked out)
    later: dict[str, list[Route]] = {}
    marked = None if guard.policies else _marked_hosts(router, timeouts)
    for route in ir.routes:
        if route.kind != "HTTPRoute":
            continue
        for host in route.hostnames:
            if not host.startswith("*."):
                break
        else:
            continue
        mark = None if marked is None else marked.get(split_host_port(host)[0])
        alone = marked is not None and mark is None
        if alone and not wide:
            for rule in route.rules:
                if rule.intents or (timeouts and rule.timeouts is not None):
                    break
            else:
                later.setdefault(host, []).append(route)
                continue
        for earlier in later.pop(host, ()):
            seen.update([(host, _first_path(rule)) for rule in earlier.rules])
        for rule in route.rules:
            path = _first_path(rule)
            count = len(seen)
            seen.add((host, path))
            if len(seen) == count:  # (seen before)
                continue
            own = None
            quiet = alone
            if marked is not None:
                if alone and not wide and not rule.intents and (not timeouts or rule.timeouts is None):
                    continue  # (what _own gives is empty: skipped below, without making it)
                own = _own(rule, wide, timeouts)
                if mark is not None:  # the host's rules carry no ExternalAuth filter, and no timeout the rule lacks:
                    quiet = not mark[0] and mark[1] <= (own.timeouts or set())  # landing on any adds nothing
                if quiet and not own.any:
                    continue  # nothing to probe here, nor on any rule a request for the host can land on
            yield route, rule, host, path, wide, own, quiet


def _own(rule: Rule, wide: Iterable[Intent], timeouts: bool) -> _Found:
    """The protections (and, with ``timeouts``, the timeouts) the rule has on the source side."""
    found = _Found([], [])
    for intent in (*rule.intents, *wide):
        if isinstance(intent, _PROTECTIONS):
            found.add(intent)
        if timeouts and isinstance(intent, Timeouts):  # the source's timeouts that a slow answer meets
            found.add_timeouts(ms / 1000 for ms in (intent.read_ms, intent.request_ms) if ms)
    if timeouts and rule.timeouts is not None:
        found.add_timeouts(_seconds(t) for t in (rule.timeouts.request, rule.timeouts.backend_request) if t)
    return found


_SECONDS: dict[str, float] = {}  # a rule timeout's text -> seconds (0: none): rules repeat a few


def _seconds(text: str) -> float:
    seconds = _SECONDS.get(text)
    if seconds is None:
        if len(_SECONDS) >= 10_000:
            _SECONDS.clear()
        seconds = _SECONDS[text] = parse_duration(text) or 0
    return seconds


def _marked_hosts(router: Router, timeouts: bool) -> dict[str, tuple[bool, set[float]]] | None:
    """The hostnames under which the router holds a rule carrying what the probes look for on
    the Gateway side without policies (an ExternalAuth filter; with ``timeouts``, a rule
    timeout), each with what those rules carry: whether one has an ExternalAuth filter, and
    their timeouts (seconds). A request for any other hostname cannot land on one; one for
    such a hostname finds no more than that. None when a wildcard or catch-all hostname holds
    such a rule (then every rule is routed to find out)."""
    def marks(group: Group) -> tuple[bool, set[float]] | None:
        """(an ExternalAuth filter, the timeouts) of the group's rules, None when they carry neither."""
        auth, marked = False, False
        seconds: set[float] = set()
        for entries in (group.http, group.grpc):
            for e in entries:
                info = e.info
                if info.auth_filters:
                    auth = marked = True
                if timeouts and info.timeouts:
                    limits = route_limits(info)
                    if limits:
                        marked = True
                        seconds.update(limit.seconds for limit in limits if limit.seconds > 0)
        return (auth, seconds) if marked else None

    out: dict[str, tuple[bool, set[float]]] = {}
    for gateway in router.table.gateways.values():
        for index in gateway.ports.values():
            for listener in index.values():
                routes = listener.routes
                if any(marks(g) for g in routes.wild.values()) or (routes.any is not None and marks(routes.any)):
                    return None
                for host, group in routes.exact.items():
                    mark = marks(group)
                    if mark is not None:
                        known = out.get(host)
                        out[host] = mark if known is None else (known[0] or mark[0], known[1] | mark[1])
    return out


def _rule_groups(route: Route, rule: Rule, host: str, path: str, wide: Iterable[Intent], router: Router,
                 guard: Guard, secure: bool, credentials: Sequence[tuple[str, str]],
                 skipped: list[str], timeouts: bool, own: _Found | None = None,
                 alone: bool = False) -> list[ProbeGroup]:
    """The rule's groups; ``secure``: whether the source redirects its plain HTTP base
    request to HTTPS (then it is probed over https); ``own``: what :func:`_own` gives for it,
    when already known (it is added to here); ``alone``: the Gateway side can add nothing to
    it (then the base request is not routed to find out)."""
    found = own if own is not None else _own(rule, wide, timeouts)
    scheme = "https" if secure else "http"
    routed = None if alone else router.route(base_request(host, path, scheme))
    if routed is not None and routed.rule is not None:
        for p in guard.policies.applicable(routed.rule.matched.kind, routed.rule.matched.route or None,
                                           routed.rule.matched.rule_name, routed.rule.matched.gateway or None,
                                           routed.rule.matched.listener or None):
            found.add(p.intent)
        if routed.rule.auth_filters:
            found.external = True
        if timeouts:
            found.add_timeouts(limit.seconds for limit in (*route_limits(routed.rule),
                                                           *guard.timeout_limits(routed.rule)))
    if not found.any:
        return []
    allowed = PROBE_CLIENT
    for entry in found.allow:
        inside = _inside(entry)
        if inside:
            allowed = inside
            break
    good: tuple[tuple[str, str], ...] = ()
    if found.basic and credentials:
        good = (("authorization", _basic(*credentials[0])),)
    elif found.external or found.basic:
        good = (("authorization", BEARER if found.external and not found.basic else _basic("probe", "probe")),)

    def build(client: str | None, headers: tuple[tuple[str, str], ...] = ()) -> Request:
        return policy_request((scheme, host, path, headers, client, None))

    where = f"{scheme}://{host}{path}"
    out: list[ProbeGroup] = []
    if found.allow or found.deny:
        clients = sorted({c for c in map(_inside, (*found.allow, *found.deny)) if c})
        if clients:
            out.append(ProbeGroup(f"policy probe: client addresses on {where}",
                                  tuple([build(c, good) for c in clients])))
    if found.basic or found.external:
        variants: list[tuple[tuple[str, str], ...]] = [(("authorization", _basic(u, p)),) for u, p in credentials]
        if credentials:
            variants.append((("authorization", _basic(credentials[0][0], credentials[0][1] + "-wrong")),))
        variants.append((("authorization", BEARER),))
        variants.append(())
        out.append(ProbeGroup(f"policy probe: credentials on {where}", tuple([build(allowed, v) for v in variants])))
    if found.bodies:
        sizes = sorted({n for limit in found.bodies for n in (limit, limit + 1)})
        out.append(ProbeGroup(f"policy probe: body sizes on {where}",
                              tuple([build(allowed, (*good, ("content-length", str(n)))) for n in sizes])))
    if found.budgets:
        size = max(found.budgets) + 1
        if size > MAX_BURST:
            skipped.append(f"{where}: a burst of {size} requests (rate + burst of the largest limit, plus one) is "
                           f"over {MAX_BURST}; rate limits not probed")
        else:
            request = build(allowed, good)
            out.append(ProbeGroup(f"policy probe: burst of {size} requests from {allowed} on {where}",
                                  (request,) * size, burst=True))
    if found.timeouts:
        delays = _delays(sorted(found.timeouts))
        out.append(ProbeGroup(f"policy probe: a backend slower than each timeout on {where}",
                              tuple([policy_request((scheme, host, path, good, allowed, d)) for d in delays])))
    return out


# A policy probe's request as plain values, to send to another process: its scheme, host,
# target, headers, client and backend delay (:func:`policy_wire`, :func:`policy_request`).
PolicyWire = tuple[str, str, str, tuple[tuple[str, str], ...], "str | None", "float | None"]


def policy_request(wire: PolicyWire) -> Request:
    """The request of a policy probe's wire form (how :func:`_rule_groups` builds each)."""
    scheme, host, target, headers, client, delay = wire
    return plain_request(scheme, host, target, _headers(headers) if headers else _NO_HEADERS, "GET", client, delay)


_HEADERS: dict[tuple[tuple[str, str], ...], Headers] = {}  # the probes' few header sets, one (immutable) object each


def _headers(pairs: tuple[tuple[str, str], ...]) -> Headers:
    found = _HEADERS.get(pairs)
    if found is None:
        if len(_HEADERS) >= 10_000:
            _HEADERS.clear()
        found = _HEADERS[pairs] = Headers(pairs)
    return found


def policy_wire(request: Request) -> PolicyWire:
    """A policy probe's request as plain values (:func:`policy_request` builds it again)."""
    headers = request.headers
    hit = _PAIRS.get(id(headers))
    if hit is None or hit[0] is not headers:  # (the probes share a few Headers objects: _headers)
        if len(_PAIRS) >= 10_000:
            _PAIRS.clear()
        hit = _PAIRS[id(headers)] = (headers, tuple([(name, value) for name in headers
                                                     for value in headers.get_all(name)]))
    return request.scheme, request.host, request.target, hit[1], request.client, request.backend_delay


# a Headers object's (name, value) pairs, by its identity (the object kept: its id stays its own)
_PAIRS: dict[int, tuple[Headers, tuple[tuple[str, str], ...]]] = {}


def _delays(limits: Sequence[float]) -> list[float]:
    """A backend delay just over each limit and under the next one (whole milliseconds)."""
    out = []
    for i, limit in enumerate(limits):
        step = limit / 10
        if i + 1 < len(limits):
            step = min(step, (limits[i + 1] - limit) / 2)
        out.append(round(limit + max(step, 0.001), 3))
    return out


@dataclass(frozen=True, slots=True)
class Stateful:
    """Both sides as policy probes need them: counting rate limits, and a way to start over."""

    source_route: Callable[[Request], Outcome]
    gateway_route: Callable[[Request], Outcome]
    reset: Callable[[], None]


def replay_groups(report: VerifyReport, groups: Sequence[ProbeGroup], sides: Stateful, explainer: Explainer,
                  checkers: Sequence[Any] = ()) -> None:
    """Replay policy probe groups in order. A burst starts from fresh counters; along it,
    each new pair of answers (200 vs 429, then 503 vs 429 ...) is one difference, first seen
    at request ``sequence``, and the requests answered the same way again are its repeats.
    ``checkers`` (second opinions: the proxy) also judge every request not in a burst."""
    _into(report, _replayed(groups, sides, explainer, checkers, None, report), explainer)


def replayed_told(groups: Sequence[ProbeGroup], told: Iterable[tuple[Summary, Any]], sides: Stateful,
                  explainer: Explainer) -> tuple[int, int, DifferencesWire]:
    """:func:`replay_groups` with the source side routed by another process, for a process that
    sends what it finds to another: ``told`` gives, for each request of ``groups`` in order, the
    source's answer as its summary (:func:`~ing2gw.verify.summary_of`) and an object whose
    ``matched`` is where the source matched it (all the explainer reads of it); ``sides.reset``
    starts the Gateway side's counters over (that process starts the source's over before each
    burst). Gives the requests replayed, how many agree, and the differences as
    :func:`~ing2gw.verify.differences_wire` gives those :func:`replay_groups` adds to an empty
    report (their notes as indices into ``explainer.all_notes``), no difference made."""
    return _replayed(groups, sides, explainer, (), iter(told), None)


def _into(report: VerifyReport, replayed: tuple[int, int, DifferencesWire], explainer: Explainer) -> None:
    """Count what :func:`_replayed` found in ``report``, its differences added in order."""
    requests, agree, rows = replayed
    report.requests += requests
    report.agree += agree
    notes: dict[tuple[int, ...], tuple[Note, ...]] = {}  # (one tuple per explanation: notes_of)
    all_notes, add = explainer.all_notes, report.add
    for shown, a, b, aspects, involved, explained, origin, repeats in rows:
        add(Difference(shown, a, b, aspects, involved, notes_of(explained, all_notes, notes), origin, repeats))


def _replayed(groups: Sequence[ProbeGroup], sides: Stateful, explainer: Explainer, checkers: Sequence[Any],
              told: Iterator[tuple[Summary, Any]] | None,
              report: VerifyReport | None) -> tuple[int, int, DifferencesWire]:
    """The requests of ``groups`` replayed, how many agree, and the differences, each request
    once (a request differing again, as along a burst, is a repeat of the first: what
    :meth:`~ing2gw.verify.VerifyReport.add` makes of them); ``report`` counts what the
    ``checkers`` say. The differences are made as their wire form (notes as indices): a worker
    sends them as they are, and adding them to a report makes each one once."""
    source_route, gateway_route, accounted = sides.source_route, sides.gateway_route, explainer.accounted
    rows: DifferencesWire = []
    seen: dict[tuple[Any, ...], int] = {}  # a differing request's key (request_key) -> its row
    requests = agree = 0
    for group in groups:
        burst = group.burst
        if burst:
            sides.reset()
        first_of: dict[tuple[Any, Any], int] = {}
        requests += len(group.requests)
        for number, request in enumerate(group.requests, 1):
            if checkers and not burst:
                assert report is not None
                tally(report, checkers, request)
            src: Any
            if told is None:
                src = source_route(request)
                sa = summary_of(src)
            else:
                sa, src = next(told)
            gw = gateway_route(request)
            sb = summary_of(gw)
            aspects = compare_summaries(sa, sb)
            if not aspects:
                agree += 1
                continue
            # (what explainer.served, .involved and .explain give, without the served places made)
            involved, explained = accounted(aspects, request, src, gw)
            shown: dict[str, Any] = {"method": request.method,
                                     "url": f"{request.scheme}://{request.host}{request.target}",
                                     "headers": request.headers.as_dict(), "client": request.client}
            if request.backend_delay is not None:
                shown["backendDelay"] = format_seconds(request.backend_delay)
            origin = group.origin
            if burst:  # (a summary's status first)
                shown["sequence"] = first_of.setdefault((sa[0], sb[0]), number)
                origin = f"{group.origin}, request {shown['sequence']}"
            key = request_key(shown)
            at = seen.get(key)
            if at is None:
                seen[key] = len(rows)
                # (equal summaries share one dict: rows are only read)
                rows.append((shown, shared_dict(sa), shared_dict(sb), aspects, involved, explained, origin, 1))
            else:
                row = rows[at]
                rows[at] = (*row[:7], row[7] + 1)
    return requests, agree, rows
