"""Route one request through a compiled :class:`~.table.Table` and say what happens.

Steps (the spec's request pipeline): pick the Gateway and the listener (port, protocol,
SNI and Host, most specific hostname first, with HTTP/2 misdirected-request detection on
HTTPS); find the winning match among the routes of that single listener (listener
isolation) by walking its hostname groups most specific first, each pre-sorted by
precedence; run the rule's filters in order; pick the backend; run that backend's filters.
Everything before the path is read (the candidate Gateways in order, each one's listener for
the host or its failure, the route groups) is planned once per (gateway, port, scheme, SNI,
hostname) and kept in the table; Gateways that can only decline are left out of the plan.
When one listener answers (the common case) the plan is one flat tuple: a request reads it,
the matches it shares with every route made alike, and what its match serves.

gRPC requests (``content-type: application/grpc...``) are matched against the listener's
GRPCRoutes when the host has any, otherwise against its HTTPRoutes.

A request with ``mesh`` set goes to no Gateway: :mod:`.mesh` says which routes attached to
the Service it dials apply (or answers for the Service itself), and they are matched and
served the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from ing2gw.http import Headers, Request

from .filters import (
    apply_header_modifier,
    cors_actual_headers,
    cors_preflight_headers,
    is_preflight,
    modify_path,
    redirect_location,
)
from .hostnames import HostIndex
from .mesh import MeshPlan
from .mesh import select as select_mesh
from .model import (
    EXACT,
    PREFIX,
    Cors,
    Entry,
    Filter,
    Gateway,
    Group,
    HeaderModifier,
    Listener,
    Match,
    Mirror,
    Rule,
    all_hold,
    new_redirect,
)
from .outcome import MirrorTarget, Outcome, RedirectTo, RuleInfo, Upstream
from .paths import STANDARD, PathPolicy, verdict, verdicts
from .table import Table

__all__ = ["route", "route_normalised"]

_NO_HEADERS = Headers()
# Outcome(...) and Upstream(...) run a Python-level __new__ (NamedTuple's); the fast paths below
# make the tuple directly, every field given in this order
_tuple_new = tuple.__new__
_Outcome, _Upstream = Outcome, Upstream
assert Outcome._fields == ("status", "reason", "rule", "served", "upstream", "redirect", "response_headers",
                           "mirrors", "extension_refs", "grpc", "notes", "policy")
assert Upstream._fields == ("method", "host", "path", "headers")
_NO_WEIGHTS: Mapping[str, float] = {}


def _is_grpc(request: Request) -> bool:
    ctype = request.headers.get("content-type")
    return ctype is not None and ctype.lower().startswith("application/grpc")


def _select_listener(gw: Gateway, request: Request) -> tuple[Listener | None, Outcome | None]:
    index = gw.ports.get(request.port)
    if index is None:
        return None, Outcome(None, "ConnectionRefused",
                             notes=(f"Gateway {gw.name} has no listener on port {request.port}",))
    protocol = gw.protocols[request.port]
    if (request.scheme == "https") != (protocol == "HTTPS"):
        return None, Outcome(None, "ProtocolMismatch", notes=(
            f"{request.scheme} request to port {request.port}, where Gateway {gw.name} "
            f"speaks {protocol}",))
    listener = index.best(request.hostname)
    if protocol == "HTTPS":
        sni = request.sni or request.hostname
        by_sni = index.best(sni)
        if by_sni is None:
            return None, Outcome(None, "TLSHandshakeFailed", notes=(
                f"no HTTPS listener of Gateway {gw.name} on port {request.port} "
                f"matches SNI {sni}",))
        if by_sni.problem:
            return None, Outcome(None, "TLSHandshakeFailed", notes=(
                f"listener {by_sni.name}: {by_sni.problem}",))
        if listener is None:
            return None, Outcome(404, "NoMatchingListener", notes=(
                f"no listener of Gateway {gw.name} on port {request.port} matches host "
                f"{request.hostname}",))
        if listener is not by_sni:
            return None, Outcome(421, "MisdirectedRequest", notes=(
                f"SNI {sni} selected listener {by_sni.name} but host {request.hostname} "
                f"belongs to listener {listener.name}",))
    if listener is None:
        return None, Outcome(404, "NoMatchingListener", notes=(
            f"no listener of Gateway {gw.name} on port {request.port} matches host "
            f"{request.hostname}",))
    return listener, None


# A listener's route groups for a host, in precedence order: their matches, and their entries
_Scan = tuple[tuple[Match, ...], tuple[Entry, ...]]
_NO_SCAN: _Scan = ((), ())


def _scans(groups: list[Group]) -> tuple[_Scan, _Scan | None]:
    """The HTTP entries of ``groups`` as one :data:`_Scan`, and their gRPC ones (None when no
    group has any: gRPC requests are matched against the HTTPRoutes then)."""
    if len(groups) == 1:
        group = groups[0]
        return (group.http_matches, group.http_entries), \
            ((group.grpc_matches, group.grpc_entries) if group.grpc else None)
    http = (tuple(m for g in groups for m in g.http_matches), tuple(e for g in groups for e in g.http_entries))
    if not any(g.grpc for g in groups):
        return http, None
    return http, (tuple(m for g in groups for m in g.grpc_matches), tuple(e for g in groups for e in g.grpc_entries))


def _find(scan: _Scan, request: Request) -> tuple[Entry | None, list[str]]:
    """The first entry of ``scan`` whose match takes ``request``, and the broken matches passed."""
    path, method, headers, query = request.path, request.method, request.headers, \
        request.query_params
    skipped: list[str] = []
    matches, entries = scan
    for i, match in enumerate(matches):
        if match.broken is not None:
            rule = entries[i].info.matched
            skipped.append(f"{rule.kind} {rule.route} rule {rule.rule}: "
                           f"{match.broken}; match skipped")
            continue
        if match.matches(path, method, headers, query):
            return entries[i], skipped
    return None, skipped


@dataclass(slots=True)
class _State:
    """What the filters have done to the request so far (private to this module); tuples,
    which most requests leave empty, rather than lists made for each."""

    host: str
    path: str
    headers: Headers
    response_mods: tuple[HeaderModifier, ...] = ()
    cors_headers: tuple[tuple[str, str], ...] = ()
    mirrors: tuple[MirrorTarget, ...] = ()
    extensions: tuple[str, ...] = ()


# Results of filters kept for requests that bring the same inputs (all are pure functions of
# them): the CORS answers by (the Cors, its inputs from the request), a mirror's target, and
# response headers built from no backend answer by (CORS headers, response modifiers).
_MEMO_SIZE = 100_000
_PREFLIGHTS: dict[tuple[int, str | None, str | None, str | None], tuple[Cors, Headers]] = {}
_ACTUAL: dict[tuple[int, str | None], tuple[Cors, tuple[tuple[str, str], ...]]] = {}
_MIRRORS: dict[int, tuple[Mirror, MirrorTarget]] = {}
_RESPONSES: dict[tuple[tuple[tuple[str, str], ...], tuple[HeaderModifier, ...]], Headers] = {}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def _preflight(cors: Cors, request: Request) -> Headers:
    """:func:`cors_preflight_headers`, remembered (it reads three request headers)."""
    headers = request.headers
    key = (id(cors), headers.get("origin"), headers.get("access-control-request-method"),
           headers.get("access-control-request-headers"))
    hit = _PREFLIGHTS.get(key)
    if hit is not None and hit[0] is cors:
        return hit[1]
    answer = cors_preflight_headers(cors, request)
    _remember(_PREFLIGHTS, key, (cors, answer))
    return answer


def _actual(cors: Cors, request: Request) -> tuple[tuple[str, str], ...]:
    """:func:`cors_actual_headers`, remembered (it reads the origin only)."""
    key = (id(cors), request.headers.get("origin"))
    hit = _ACTUAL.get(key)
    if hit is not None and hit[0] is cors:
        return hit[1]
    answer = cors_actual_headers(cors, request)
    _remember(_ACTUAL, key, (cors, answer))
    return answer


def _mirror(mirror: Mirror) -> MirrorTarget:
    hit = _MIRRORS.get(id(mirror))
    if hit is not None and hit[0] is mirror:
        return hit[1]
    target = MirrorTarget(mirror.backend, mirror.percent, mirror.problem)
    _remember(_MIRRORS, id(mirror), (mirror, target))
    return target


def _response(given: Headers | None, cors_headers: tuple[tuple[str, str], ...],
              mods: tuple[HeaderModifier, ...]) -> Headers:
    """The response headers: the backend's (``given``), then CORS headers set and the rules'
    ResponseHeaderModifiers applied, in order (remembered when the backend's are not known)."""
    if given:
        response = given
    else:
        if not cors_headers and not mods:
            return _NO_HEADERS
        key = (cors_headers, mods)
        found = _RESPONSES.get(key)
        if found is not None:
            return found
        response = _NO_HEADERS
    for name, value in cors_headers:
        response = response.set(name, value)
    for mod in mods:
        response = apply_header_modifier(response, mod)
    if not given:
        _remember(_RESPONSES, key, response)
    return response


def _run_filters(
    filters: tuple[Filter, ...], state: _State, request: Request, rule: Rule, listener: Listener
) -> tuple[int, str, str] | tuple[int, str, RedirectTo] | tuple[int, str, Headers] | None:
    """Apply filters in order; a tuple ends processing: (status, reason, payload)."""
    for f in filters:
        if f.request_headers is not None:
            state.headers = apply_header_modifier(state.headers, f.request_headers)
        elif f.redirect is not None:
            location = redirect_location(request, f.redirect, listener.port, rule.prefix)
            return f.redirect.status, "Redirect", RedirectTo(location, f.redirect.status)
        elif f.rewrite is not None:
            if f.rewrite.hostname:
                state.host = f.rewrite.hostname
            if f.rewrite.path is not None:
                state.path = modify_path(state.path, f.rewrite.path, rule.prefix)
        elif f.mirror is not None:
            state.mirrors += (_mirror(f.mirror),)
        elif f.cors is not None:
            if is_preflight(request):
                return 200, "CORSPreflight", _preflight(f.cors, request)
            state.cors_headers += _actual(f.cors, request)
        elif f.response_headers is not None:
            state.response_mods += (f.response_headers,)
        elif f.extension is not None:
            state.extensions += (f.extension,)
            if f.problem is not None:
                return 500, "ExtensionRefUnresolved", f.problem
    return None


def _serve(entry: Entry, request: Request, listener: Listener, grpc: bool,
           notes: list[str], pick: str | None = None) -> Outcome:
    info = entry.info
    if pick is not None and pick != info.backend and any(b.key == pick for b in entry.rule.backends):
        # A traffic split landed on another backendRef (a proxy's weighted choice): report and
        # apply that one, with its own filters.
        info = replace(info, backend=pick)
    else:
        pick = None
    if entry.simple:
        return Outcome(
            200, "Routed", info, True,
            Upstream(request.method, request.host, request.target, request.headers), None,
            request.response_headers or _NO_HEADERS, (), (), grpc, tuple(notes),
        )
    rule = entry.rule
    passive = rule.passive
    if passive is not None and pick is None:  # the filters leave the request as it is
        cors = passive.cors
        cors_headers: tuple[tuple[str, str], ...] = ()
        if cors is not None:
            if is_preflight(request):
                return Outcome(200, "CORSPreflight", info, False, None, None, _preflight(cors, request),
                               passive.before_cors, (), grpc, tuple(notes))
            cors_headers = _actual(cors, request)
        return Outcome(200, "Routed", info, True,
                       Upstream(request.method, request.host, request.target, request.headers), None,
                       _response(request.response_headers, cors_headers, passive.mods), passive.mirrors, (),
                       grpc, tuple(notes))
    first = rule.filters[0].redirect if rule.filters else None
    if first is not None:  # a redirect first: no other filter has run
        location = redirect_location(request, first, listener.port, rule.prefix)
        return Outcome(first.status, "Redirect", info, False, None, RedirectTo(location, first.status),
                       _NO_HEADERS, (), (), grpc, tuple(notes))
    state = _State(request.host, request.path, request.headers)
    end = _run_filters(rule.filters, state, request, rule, listener)
    if end is not None:
        return _ended(end, state, info, grpc, notes)
    if not rule.backends:
        notes.append("the rule has no backendRefs")
        return _answer(state, info, grpc, notes, 500, "NoBackends")
    backend = rule.chosen if pick is None else next(b for b in rule.backends if b.key == pick)
    if backend is None:
        notes.append("every backendRef of the rule has weight 0")
        return _answer(state, info, grpc, notes, 500, "NoBackends")
    if backend.problem is not None:
        notes.append(f"backend {backend.key}: {backend.detail}")
        return _answer(state, info, grpc, notes, 500, backend.problem)
    if len(rule.weights) > 1:
        notes.append(f"traffic split: the largest share goes to {backend.key}")
    if backend.filters:
        end = _run_filters(backend.filters, state, request, rule, listener)
        if end is not None:
            return _ended(end, state, info, grpc, notes)
    response = _response(request.response_headers, state.cors_headers, state.response_mods)
    target = f"{state.path}?{request.query}" if request.query else state.path
    return Outcome(200, "Routed", info, True, Upstream(request.method, state.host, target, state.headers), None,
                   response, state.mirrors, state.extensions, grpc, tuple(notes))


def _answer(
    state: _State,
    info: RuleInfo,
    grpc: bool,
    notes: list[str],
    status: int | None,
    reason: str,
    *,
    redirect: RedirectTo | None = None,
    response_headers: Headers = _NO_HEADERS,
) -> Outcome:
    """The outcome of a non-simple rule that serves nothing, with what its filters did so far."""
    return Outcome(status, reason, info, False, None, redirect, response_headers, state.mirrors,
                   state.extensions, grpc, tuple(notes))


def _ended(end: tuple[int, str, object], state: _State, info: RuleInfo, grpc: bool, notes: list[str]) -> Outcome:
    """The outcome of a filter that ended processing: ``end`` is (status, reason, payload)."""
    status, reason, payload = end
    if isinstance(payload, RedirectTo):
        return _answer(state, info, grpc, notes, status, reason, redirect=payload)
    if isinstance(payload, Headers):
        return _answer(state, info, grpc, notes, status, reason, response_headers=payload)
    notes.append(str(payload))
    return _answer(state, info, grpc, notes, status, reason)


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Gateways on one port that a request may go to, in order, and what a plan reads of them."""

    gateways: tuple[Gateway, ...]
    labels: tuple[str | None, ...]  # the note each one's outcomes carry (None when it is the only one)
    at: Mapping[str, int]  # name -> position
    other: tuple[tuple[int, ...], tuple[int, ...]]  # [https] -> positions of those speaking the other scheme


def _candidates_of(gateways: tuple[Gateway, ...], port: int) -> _Candidates:
    if len(gateways) == 1:
        return _Candidates(gateways, (None,), {}, ((), ()))
    names = ", ".join(gw.name for gw in gateways)
    labels = tuple(f"several Gateways listen on port {port} ({names}); routed through {gw.name} "
                   "(name one with --gateway)" for gw in gateways)
    https = [gw.protocols[port] == "HTTPS" for gw in gateways]
    return _Candidates(gateways, labels, {gw.name: i for i, gw in enumerate(gateways)},
                       (tuple(i for i, h in enumerate(https) if h), tuple(i for i, h in enumerate(https) if not h)))


@dataclass(frozen=True, slots=True)
class _PortHosts:
    """The Gateways on one port by hostname pattern (as name sets): those with a listener for
    it (``listening``) and those with routes for it on one of their listeners (``routed``);
    and the candidates of a request (:func:`_candidates`) by the name sets of ``listening``
    its host matches (by ``id``: those sets live as long as the index), made once each: the
    hosts of a port share a few."""

    listening: HostIndex[set[str]]
    routed: HostIndex[set[str]]
    everyone: _Candidates  # every Gateway on the port (when none has a listener for the host)
    candidates: dict[tuple[int, ...], _Candidates]


def _port_hosts(table: Table, port: int) -> _PortHosts:
    """:class:`_PortHosts` of ``port``, made once per table."""
    found: _PortHosts | None = table.port_hosts.get(port)
    if found is None:
        listening: HostIndex[set[str]] = HostIndex()
        routed: HostIndex[set[str]] = HostIndex()
        for gw in table.by_port.get(port, ()):
            for pattern, listener in gw.ports[port].items():
                listening.setdefault(pattern, set).add(gw.name)
                for hostname, group in listener.routes.items():
                    if group.http or group.grpc:
                        routed.setdefault(hostname, set).add(gw.name)
        everyone = _candidates_of(table.by_port.get(port, ()), port)
        found = table.port_hosts[port] = _PortHosts(listening, routed, everyone, {})
    return found


def _names(index: HostIndex[set[str]], host: str) -> set[str]:
    """The names registered under every pattern of ``index`` that matches ``host``."""
    found = index.lookup_list(host)
    return found[0] if len(found) == 1 else set().union(*found)


def _candidates(table: Table, request: Request) -> tuple[_Candidates | None, str | None]:
    if request.gateway is not None:
        gw = table.gateways.get(request.gateway)
        return (_candidates_of((gw,), request.port), None) if gw else (None, f"Gateway {request.gateway} is not in "
                                                                             "the input")
    port = request.port
    found = table.by_port.get(port)
    if found:
        # Several Gateways on the port: only those with a listener for the hostname can
        # answer (path-independent); the rest stay as fallbacks.
        hosts = _port_hosts(table, port)
        if len(found) == 1:
            return hosts.everyone, None
        sets = hosts.listening.lookup_list(request.sni if request.scheme == "https" and request.sni
                                           else request.hostname)
        key = tuple(map(id, sets))
        candidates = hosts.candidates.get(key)
        if candidates is None:
            names = sets[0] if len(sets) == 1 else set().union(*sets)
            serving = tuple(gw for gw in found if gw.name in names)
            candidates = hosts.candidates[key] = _candidates_of(serving, port) if serving else hosts.everyone
        return candidates, None
    if not table.gateways:
        return None, "the input has no Gateway"
    return None, f"no Gateway listens on port {request.port}"


def _route_on(listener: Listener, groups: list[Group], request: Request, grpc: bool,
              notes: list[str], pick: str | None, where: str | None = None) -> Outcome:
    """Match ``request`` against ``groups`` (the routes attached to the listener, or to what
    ``where`` names) and serve it."""
    http, grpc_scan = _scans(groups)
    return _route_scan(listener, grpc_scan if grpc and grpc_scan is not None else http, request, grpc, notes,
                       pick, where)


def _route_scan(listener: Listener, scan: _Scan, request: Request, grpc: bool,
                notes: list[str], pick: str | None, where: str | None = None) -> Outcome:
    """:func:`_route_on` of the groups' entries (:func:`_scans`)."""
    entry, skipped = _find(scan, request)
    if skipped:
        notes.extend(skipped)
    if entry is None:
        return _no_route(listener, request, grpc, notes, where)
    if entry.notes:
        notes.extend(entry.notes)
    return _serve(entry, request, listener, grpc, notes, pick)


def _no_route(listener: Listener, request: Request, grpc: bool, notes: list[str], where: str | None = None) -> Outcome:
    where = where or f"listener {listener.name} of Gateway {listener.gateway}"
    notes.append(f"no route attached to {where} "
                 f"matches {request.method} {request.hostname}{request.path}")
    return Outcome(404, "NoMatchingRoute", grpc=grpc, notes=tuple(notes))


# Outcomes that mean "not this Gateway": with several on the port, the next one is tried
# (as DNS would have sent the client to the Gateway serving the hostname).
_UNMATCHED = frozenset({"NoMatchingListener", "NoMatchingRoute", "TLSHandshakeFailed"})


def route(table: Table, request: Request, backend: str | None = None,
          policy: PathPolicy = STANDARD) -> Outcome:
    """The outcome of ``request`` on the compiled ``table``; ``backend`` (``ns/name:port``)
    names the backendRef a traffic split sent the request to, when not the largest share.

    The path is normalised by ``policy`` first (:mod:`.paths`): routes match, and the
    backend receives, the normalised path. Without ``request.gateway`` the request goes to
    the Gateway listening on its port; when several do, to the first (by namespace/name)
    that has a route for it.
    """
    raw = request.path
    memo = _STANDARD_VERDICTS if policy is STANDARD else verdicts(policy)
    found = memo.get(raw, _UNSEEN)
    if found is None:
        return route_normalised(table, request, backend)
    if found is _UNSEEN:
        found = verdict(policy, raw)
        if found is None:
            return route_normalised(table, request, backend)
    if isinstance(found, str):
        return Outcome(400, "BadRequestPath", grpc=_is_grpc(request), notes=(found,))
    path, redirect, note = found
    if redirect:
        target = f"{path}?{request.query}" if request.query else path
        location = f"{request.scheme}://{request.host}{target}"
        return Outcome(307, "PathNormalised", redirect=RedirectTo(location, 307),
                       grpc=_is_grpc(request),
                       notes=(f"{note}: the client is sent there, escaped slashes decoded",))
    return route_normalised(table, request, backend, path, note)


def _noted(note: str | None, outcome: Outcome) -> Outcome:
    """``outcome`` with ``note`` first among its notes."""
    status, reason, rule, served, upstream, redirect_to, response, mirrors, refs, grpc, notes, by = outcome
    return Outcome(status, reason, rule, served, upstream, redirect_to, response, mirrors, refs, grpc,
                   (note, *notes) if note is not None else notes, by)


_STANDARD_VERDICTS = verdicts(STANDARD)
_UNSEEN: Any = object()  # a path no verdict is remembered for


_PLANS = 100_000  # path-independent plans kept per table and SNI (Host values are the client's)

# One Gateway a request may go to: (the note its outcomes carry, its listener for the request
# -- None when none takes it --, the failure then, the listener's route groups for the host,
# and their entries: HTTP, gRPC (:func:`_scans`)).
_Step = tuple["str | None", "Listener | None", "Outcome | None", "list[Group]", _Scan, "_Scan | None"]


class _Plan(NamedTuple):
    """What routing a request does before looking at its path, worked out once per (gateway,
    port, scheme, SNI, hostname): the Gateways it goes to, in order, as steps. A step that
    can only answer "not this Gateway" (no listener for the host, or a listener without
    routes for it) is left out of ``steps``; ``first`` (the first Gateway's step) answers
    when no step does, as the first unmatched outcome is the answer then. When the first
    Gateway's listener is the only step and no match is broken (the common case), the plan
    is kept flat (:data:`_Flat`). (A NamedTuple: one is made per hostname; not a plain tuple, as
    the flat form is.)"""

    steps: tuple[_Step, ...]
    first: _Step | None
    refused: tuple[int | None, str, tuple[str, ...]] | None = None  # no Gateway for the request
    single: bool = False  # the first Gateway's step is the only one: its answer is the answer


_ONLY_FIRST = (0,)  # the candidate Gateways a plan looks at when only the first needs looking at


def _make_plan(table: Table, request: Request) -> _Plan:
    candidates, note = _candidates(table, request)
    if candidates is None:
        notes_ = (note,) if note else ()
        if table.gateways:  # Gateways exist, none on this port: the connection is refused
            return _Plan((), None, (None, "ConnectionRefused", notes_))
        return _Plan((), None, (404, "NoMatchingListener", notes_))
    gateways, labels = candidates.gateways, candidates.labels
    # A Gateway without routes for the hostname can only decline when its listener for the
    # host is the one the SNI picks (no 421) and it speaks the request's scheme: such ones
    # are not even looked at (with listeners split over many Gateways, most are). The first
    # Gateway is always looked at: its answer is the answer when no Gateway takes the request.
    hostname = request.hostname
    order: Iterable[int] = _ONLY_FIRST if len(gateways) == 1 else range(len(gateways))
    if len(gateways) > 1 and (request.sni is None or request.sni == hostname):
        at = candidates.at
        looked = {0, *candidates.other[request.scheme == "https"]}
        for name in _names(_port_hosts(table, request.port).routed, hostname):
            i = at.get(name)
            if i is not None:
                looked.add(i)
        order = sorted(looked) if len(looked) > 1 else _ONLY_FIRST
    steps: list[_Step] = []
    first: _Step | None = None
    for i in order:
        listener, failed = _select_listener(gateways[i], request)
        # (whether the step answers every request "not this Gateway" -- see _UNMATCHED -- worked out
        # with it)
        if listener is None:
            assert failed is not None
            step: _Step = (labels[i], None, failed, [], _NO_SCAN, None)
            unmatched = failed.reason in _UNMATCHED
        else:
            groups = listener.routes.lookup_list(hostname)
            http, grpc = _scans(groups)
            step = (labels[i], listener, None, groups, http, grpc)
            unmatched = not http[0] and not (grpc and grpc[0])
        if first is None:
            first = step
        if not unmatched:
            steps.append(step)
    # (made as the tuple it is, every field given in order: _Plan(...) runs a Python-level __new__)
    return _tuple_new(_Plan, (tuple(steps), first, None, len(steps) == 1 and steps[0] is first))


def _run_step(step: _Step, request: Request, grpc: bool, backend: str | None) -> Outcome:
    """The outcome of one planned Gateway: its failure, or its routes' answer."""
    note, listener, failed, _, http, grpc_scan = step
    if listener is None:
        assert failed is not None
        if note is None:
            return failed if not grpc else Outcome(failed.status, failed.reason, grpc=grpc, notes=failed.notes)
        return Outcome(failed.status, failed.reason, grpc=grpc, notes=(note, *failed.notes))
    return _route_scan(listener, grpc_scan if grpc and grpc_scan is not None else http, request, grpc,
                       [note] if note else [], backend)


def _route_mesh(table: Table, request: Request, grpc: bool, pick: str | None) -> Outcome:
    plan = select_mesh(table.mesh, request, grpc)
    if not isinstance(plan, MeshPlan):
        return plan
    return _route_on(plan.listener, plan.groups, request, grpc, list(plan.notes), pick,
                     f"Service {plan.service} port {plan.port}")


# A plan whose first Gateway's listener alone answers, no match broken (the common case), flat:
# (the plan, its notes, HTTP matches, gRPC matches -- None: none --, where the gRPC ones' served
# items start, the HTTP and the gRPC matches' memo (:func:`_memo_of`), then what each match serves:
# its entry's RuleInfo when the entry is simple and adds no note, else a :data:`_Served`). A request
# reads this one tuple and the item of its match.
_Flat = tuple[Any, ...]
_AT = 7  # where the HTTP matches' items start
_MATCH_MEMO = 4096  # paths remembered per matches tuple (a client's paths are many; probes' few)


def _memo_of(table: Table, matches: tuple[Match, ...] | None) -> dict[str, int] | None:
    """Which of ``matches`` takes a path (its position, -1: none), remembered by path, for every
    plan whose listener has these matches (hosts whose routes were made alike share one tuple:
    their requests bring the same few paths); None when a match reads more than the path."""
    if matches is None:
        return None
    found = table.match_memos.get(id(matches))
    if found is None or found[0] is not matches:  # (the tuple is kept with its memo: its id stays its own)
        path_only = all(m.method is None and not m.headers and not m.query for m in matches)
        found = table.match_memos[id(matches)] = (matches, {} if path_only else None)
    return found[1]


def _first(matches: tuple[Match, ...], path: str, method: str, request: Request) -> int:
    """The position of the first of ``matches`` (none broken) that takes ``request`` with ``path``,
    -1 when none does (:meth:`Match.matches` inlined)."""
    headers = request.headers
    for i, match in enumerate(matches):
        kind = match.path_kind
        if kind == PREFIX:
            p = match.path
            if p and path != p and not path.startswith(p + "/"):
                continue
        elif kind == EXACT:
            if path != match.path:
                continue
        elif match.path_regex is None or match.path_regex.fullmatch(path) is None:
            continue
        if match.method is not None and method != match.method:
            continue
        if match.headers and not all_hold(match.headers, headers):
            continue
        if match.query and not all_hold(match.query, request.query_params):
            continue
        return i
    return -1

# What a flat plan's match serves, when not a bare RuleInfo: (how, the RuleInfo -- the Entry for
# _SERVE --, the plan's notes then the entry's, then what that way of answering reads of the rule):
# _ROUTED (a simple entry with notes), _PASSIVE (filters that leave the request as it is; and the
# Passive), _CORS (the same with a CORS filter; the Passive), _REDIRECT (a RequestRedirect first;
# the Redirect, the listener's port, the rule's prefix), _SERVE (anything else: _serve answers).
_Served = tuple[Any, ...]
_ROUTED, _PASSIVE, _CORS, _REDIRECT, _SERVE = range(5)


def _served(entry: Entry, base: tuple[str, ...], port: int) -> RuleInfo | _Served:
    """What ``entry`` serves in a flat plan whose notes are ``base``, on a listener of ``port``
    (the cases of :func:`_serve` without a picked backend, worked out before any request)."""
    notes = base + entry.notes if entry.notes else base
    if entry.simple:
        return entry.info if not entry.notes else (_ROUTED, entry.info, notes)
    rule = entry.rule
    passive = rule.passive
    if passive is not None:
        return (_PASSIVE if passive.cors is None else _CORS, entry.info, notes, passive)
    first = rule.filters[0].redirect if rule.filters else None
    if first is not None:
        return (_REDIRECT, entry.info, notes, first, port, rule.prefix)
    return (_SERVE, entry, notes)


def _flat(table: Table, plan: _Plan) -> _Plan | _Flat:
    """The form of ``plan`` kept by hostname (:data:`_Flat` when it can be)."""
    if not plan.single or plan.first is None:
        return plan
    label, listener, _, _, (matches, entries), grpc_scan = plan.first
    if listener is None:
        return plan
    grpc_matches, grpc_entries = grpc_scan if grpc_scan is not None else (None, ())
    for m in matches:
        if m.broken is not None:
            return plan
    for m in grpc_matches or ():
        if m.broken is not None:
            return plan
    base: tuple[str, ...] = (label,) if label else ()
    port = listener.port
    # (a simple entry without notes serves its RuleInfo: no call to make for it)
    served = [e.info if e.simple and not e.notes else _served(e, base, port) for e in entries]
    at = _AT + len(served)
    if grpc_entries:
        served += [e.info if e.simple and not e.notes else _served(e, base, port) for e in grpc_entries]
    return (plan, base, matches, grpc_matches, at, _memo_of(table, matches),
            None if grpc_matches is None else _memo_of(table, grpc_matches), *served)


def _plan(table: Table, request: Request, key: tuple[str | None, int, str, str | bool | None],
          by_host: dict[str, Any] | None) -> _Plan | _Flat:
    """The plan of ``request`` (:class:`_Plan`, or :data:`_Flat`), made once per (gateway,
    port, scheme, SNI, hostname), then found by the hostname: ``key`` is the rest, and
    ``by_host`` the plans kept by the hostname under it (None: none yet), where this one has none."""
    if by_host is None:
        by_host = {}
        plans = table.plans
        if len(plans) < 1000:
            plans[key] = by_host
    plan = _flat(table, _make_plan(table, request))
    if len(by_host) < _PLANS:
        by_host[request.hostname] = plan
    return plan


def route_normalised(table: Table, request: Request, backend: str | None, normalised: str | None = None,
                     note: str | None = None) -> Outcome:
    """:func:`route` of a request whose path is normalised: ``normalised`` is the path when
    it differs from the request's, and ``note`` (first of the outcome's notes) says so."""
    headers = request.headers
    ctype = headers.get_lower("content-type")  # _is_grpc inlined
    grpc = ctype is not None and ctype.lower().startswith("application/grpc")
    if request.mesh is not None:
        if normalised is not None:
            return _noted(note, _route_mesh(table, request.with_path(normalised), grpc, backend))
        return _route_mesh(table, request, grpc, backend)
    hostname, sni, scheme = request.hostname, request.sni, request.scheme
    # (requests come a host at a time: the last plan found is checked first -- kept as one tuple, which
    # a thread routing meanwhile replaces whole)
    last = table.last[0]
    if hostname == last[0] and scheme == last[1] and sni == last[2] and request.port == last[3] \
            and request.gateway == last[4]:
        found = last[5]
    else:
        key = (request.gateway, request.port, scheme, True if sni == hostname else sni)
        by_host = table.plans.get(key)
        found = by_host.get(hostname) if by_host is not None else None
        if found is None:
            found = _plan(table, request, key, by_host)
        table.last[0] = (hostname, scheme, sni, request.port, request.gateway, found)
    if type(found) is tuple and backend is None:  # the common case: one listener answers, nothing broken (_Flat)
        grpc_matches = found[3]
        if grpc and grpc_matches is not None:
            matches, at, memo = grpc_matches, found[4], found[6]
        else:
            matches, at, memo = found[2], _AT, found[5]
        base: tuple[str, ...] = found[1] if note is None else (note, *found[1])
        path, method = request.path if normalised is None else normalised, request.method
        if memo is None:
            i = _first(matches, path, method, request)
        else:
            i = memo.get(path, -2)
            if i == -2:
                i = _first(matches, path, method, request)
                if len(memo) >= _MATCH_MEMO:
                    memo.clear()
                memo[path] = i
        if i < 0:
            return _no_route(found[0].first[1], request if normalised is None else request.with_path(path), grpc,
                             list(base))
        item = found[at + i]
        # (outcomes built as the tuples they are: _Outcome's and _Upstream's fields in order; the cases of
        # _serve inlined, as _served sorted them out)
        query = request.query
        if type(item) is RuleInfo:  # a simple entry without notes
            return _tuple_new(_Outcome, (
                200, "Routed", item, True,
                _tuple_new(_Upstream, (method, request.host, f"{path}?{query}" if query else path, headers)),
                None, request.response_headers or _NO_HEADERS, (), (), grpc, base, None))
        how, info, notes = item[0], item[1], item[2]
        if note is not None:
            notes = (note, *notes)
        if how == _REDIRECT:
            redirect = item[3]
            location = redirect_location(request if normalised is None else request.with_path(path), redirect,
                                         item[4], item[5])
            return _tuple_new(_Outcome, (redirect.status, "Redirect", info, False, None,
                                         new_redirect(location, redirect.status), _NO_HEADERS, (), (), grpc, notes,
                                         None))
        if how == _ROUTED:
            return _tuple_new(_Outcome, (
                200, "Routed", info, True,
                _tuple_new(_Upstream, (method, request.host, f"{path}?{query}" if query else path, headers)),
                None, request.response_headers or _NO_HEADERS, (), (), grpc, notes, None))
        if how == _SERVE:
            return _serve(info, request if normalised is None else request.with_path(path), found[0].first[1],
                          grpc, list(notes))
        passive = item[3]
        given = request.response_headers
        if how == _PASSIVE:
            response = _response(given, (), passive.mods) if given else passive.headers
            mirrors = passive.mirrors
        else:  # _CORS (which reads the method and headers only: the path may stay the client's)
            cors = passive.cors
            if method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers:
                # (is_preflight inlined)
                return _tuple_new(_Outcome, (200, "CORSPreflight", info, False, None, None,
                                             _preflight(cors, request), passive.before_cors, (), grpc, notes, None))
            response = _response(given, _actual(cors, request), passive.mods)
            mirrors = passive.mirrors
        return _tuple_new(_Outcome, (
            200, "Routed", info, True,
            _tuple_new(_Upstream, (method, request.host, f"{path}?{query}" if query else path, headers)),
            None, response, mirrors, (), grpc, notes, None))
    if normalised is not None:
        return _noted(note, route_normalised(table, request.with_path(normalised), backend))
    plan: _Plan = found if isinstance(found, _Plan) else found[0]
    if plan.refused is not None:
        status, reason, refused = plan.refused
        return Outcome(status, reason, grpc=grpc, notes=refused)
    first = plan.first
    if plan.single:
        assert first is not None
        return _run_step(first, request, grpc, backend)
    unmatched: Outcome | None = None  # the first Gateway's, when it was tried
    for step in plan.steps:
        outcome = _run_step(step, request, grpc, backend)
        if outcome.reason not in _UNMATCHED:
            return outcome
        if step is first:
            unmatched = outcome
    if unmatched is not None:
        return unmatched
    assert first is not None
    return _run_step(first, request, grpc, backend)
