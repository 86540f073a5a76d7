"""The ``verify`` pipeline as one library function: resources -> conversion -> replay -> report.

:func:`run_verify` converts the resources, builds the provider's declared data plane
(:mod:`ing2gw.dataplane`) and the reference router over the output, gathers the requests
(generated probes, case files, access logs) and replays them through both, then adds the
widened host set of wildcard listeners (:mod:`ing2gw.widened`) and, when the data plane models
stream routes, the stream connections (:mod:`ing2gw.streamverify`); ``ing2gw verify``
only parses options and renders the report, and tests and other commands call this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, cast

from . import verify as verify_module
from .accesslog import LogEntry, LogLine, SchemeChooser, decide, log_requests
from .cases import CaseClock, load_cases, request_of, results_json, run_cases
from .convert import ConvertOptions, ConvertResult, chosen_providers, convert, has_input
from .dataplane import Checker, DataPlane, DataPlaneModel, HeaderSets, with_enforcement
from .enforce.buckets import TokenBuckets
from .enforce.credentials import Credentials
from .enforce.guard import Guard, policy_index
from .errors import UsageError
from .explain import Explainer
from .forking import can_fork as fork_available
from .http import DEFAULT_PORTS, Request
from .logshare import sharing as line_sharing
from .notes import Note
from .plugins import Registry
from .policy import PolicyIndex
from .policyprobes import (
    ProbeGroup,
    Stateful,
    policy_probe_steps,
    policy_probes,
    policy_probes_told,
    replay_groups,
    replayed_told,
)
from .probes import UNKNOWN_HOST, Probe, ProbeFields, ingress_probe_fields, ingress_probes, object_probes
from .resources import Ingress, ResourceSet
from .router import Router
from .router.outcome import Outcome
from .sourcelink import Asking, SourceLink, counting_source
from .sourceside import Extra, SourceSide, schedule, shared
from .verify import (
    MEMO_SIZE,
    DifferencesWire,
    Item,
    Replayable,
    SourcedMessage,
    VerifyReport,
    differences_from_wire,
    differences_wire,
    finish_here,
    replay_here,
    verify_requests,
)
from .widened import widened_differences, widened_hosts, widened_told

__all__ = ["SPLIT_MIN", "VerifyOptions", "Verification", "only", "run_verify"]

SPLIT_MIN = 200  # Ingresses from which the sides are split over two processes (a fork costs more below)


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    provider: str | None = None  # whose Ingresses are verified (default: the only one used)
    generate: bool = True  # boundary requests generated from the Ingresses
    cases: str | None = None  # a case file to replay too
    access_logs: tuple[str, ...] = ()  # access logs to replay too
    scheme: str | None = None  # the scheme of access-log lines that record none (default: inferred)
    oracle: bool = False  # check the model against the real controller (the provider's oracle)
    via_proxy: bool = False  # check the router against ing2gw serve
    workers: int = 1
    htpasswd: tuple[str, ...] = ()  # NS/NAME=FILE: basic-auth Secrets' users, checked on both sides
    credentials: tuple[str, ...] = ()  # USER:PASSWORD sent by the credential probes


@dataclass(slots=True)
class Verification:
    """A replay's report, with the conversion it verified."""

    report: VerifyReport
    conversion: ConvertResult
    provider: str
    checks: list[str] = field(default_factory=list)
    # What replaying built (router, models, explainer, probes): freed with this, when the
    # caller lets it go (the command line never does: the process's end frees it at once,
    # where freeing it object by object at the replay's return took a quarter of a second
    # on 10 000 Ingresses, with the report still to write).
    built: tuple[Any, ...] = ()


def only(rs: ResourceSet, refs: set[str]) -> ResourceSet:
    """``rs`` with only the Ingresses named in ``refs``."""
    return replace(rs, ingresses=[i for i in rs.ingresses if i.ref in refs])


def run_verify(rs: ResourceSet, convert_options: ConvertOptions, registry: Registry, options: VerifyOptions,
               progress: Callable[[int], None] | None = None) -> Verification:
    """Convert ``rs`` and replay requests through the source controller's model and the
    converted objects. Raises :class:`~ing2gw.errors.UsageError` when there is nothing to
    verify or the provider has no data plane (or no oracle, when asked for one)."""
    early = _early(rs, convert_options, registry, options)
    try:
        return _run_verify(rs, convert_options, registry, options, progress, *(early or (None, None)))
    finally:
        if early is not None:
            early[0].stop()
            early[1].close()


def _split(options: VerifyOptions, resources: ResourceSet) -> bool:
    """Are the generated requests of ``resources`` replayed over two processes, the source
    side in a worker (:mod:`ing2gw.sourceside`)?"""
    return (options.generate and options.workers == 2 and not options.oracle and not options.via_proxy
            and len(resources.ingresses) >= SPLIT_MIN and fork_available())


def _early(rs: ResourceSet, convert_options: ConvertOptions, registry: Registry,
           options: VerifyOptions) -> tuple[SourceSide, SourceLink] | None:
    """With two processes, on a large input, a worker forked now (before the conversion: the
    source side needs the Ingresses only) builds the source model, generates the boundary
    probes of the Ingresses and routes them through the model, in chunks that this process
    and a second worker (forked once the conversion and the router are made) take and finish.
    Its first message (an Extra) is its guess of what the conversion gives: the provider
    verified and its Ingresses (``ns/name``), or None (and no more) when the input does not
    allow it (several providers, too few Ingresses). Its chunks sent, it answers the second
    worker's questions about the source side through the link (:mod:`ing2gw.sourcelink`)."""
    if not _split(options, rs):
        return None
    controller_config = convert_options.conversion.controller_config or None
    link = SourceLink()

    def early_side(done: Any) -> Iterator[SourcedMessage | Extra]:
        link.first_forked()
        try:  # (an error here is the conversion's to report, as one process reports it)
            chosen = chosen_providers(rs, convert_options, registry)
            names = set(chosen.values())
            name = options.provider or (names.pop() if len(names) == 1 else None)
            plane = registry.data_plane(name) if name else None
        except Exception:  # noqa: BLE001
            plane = None
        mine = only(rs, {ref for ref, p in chosen.items() if p == name}) if plane is not None else rs
        if plane is None or len(mine.ingresses) < SPLIT_MIN:
            yield Extra(None)
            return
        yield Extra((name, [i.ref for i in mine.ingresses]))
        credentials = Credentials.from_options(options.htpasswd)
        base = plane.model(mine, controller_config)
        model = with_enforcement(base, credentials, count=False)
        probes = _ingress_probe_fields(plane, mine)  # (as plain values: no Probe object is needed here)
        size = verify_module.CHUNK
        answer = verify_module.summarising(model)
        for at, start in enumerate(range(0, len(probes), size)):
            fields = probes[start:start + size]
            sourced = verify_module.source_wires(answer, fields)  # (sent as they are: source_wires)
            link.remember(fields, sourced[1])  # (the plain ones answer the second worker's question of redirects)
            yield at, verify_module.pack_chunk(sourced), len(fields), None
        link.serve(base, model, credentials)

    try:
        return SourceSide(early_side, readers=2), link
    except BaseException:
        link.close()
        raise


def _run_verify(rs: ResourceSet, convert_options: ConvertOptions, registry: Registry, options: VerifyOptions,
                progress: Callable[[int], None] | None, early: SourceSide | None,
                link: SourceLink | None) -> Verification:
    """:func:`run_verify`, with the worker :func:`_early` started and its link (or None)."""
    from .router.paths import target_path_policy

    result = convert(rs, convert_options, registry)
    used = sorted(set(result.providers.values()) | set(result.object_providers.values())) or sorted(
        p.name for p in registry.providers() if has_input(p, rs))  # e.g. ingress-nginx's TCP/UDP services alone
    if not used:
        raise UsageError("no Ingress (nor route object of a provider, such as an IngressRoute) to verify")
    if len(used) > 1 and not options.provider:
        raise UsageError(f"Ingresses or objects of several providers ({', '.join(used)}): choose one with "
                         "--provider")
    name = options.provider or used[0]
    registry.get(name)  # an unknown or broken provider is a clear error
    plane = registry.data_plane(name)
    if plane is None:
        raise UsageError(f"provider {name!r} has no data-plane model to verify against")
    mine = only(rs, {ref for ref, p in result.providers.items() if p == name})
    credentials = Credentials.from_options(options.htpasswd)
    pairs = _credential_pairs(options.credentials)
    controller_config = convert_options.conversion.controller_config or None
    existing = convert_options.emit.existing  # routes attach to these Gateways: the router needs them

    def generated_probes() -> list[tuple[Replayable, str]]:
        return [(p, "generated") for p in _generated(plane, mine, result, name, bool(existing))]

    explaining = [*result.notes, *plane.controller_notes()]

    def gateway_side() -> tuple[Router, PolicyIndex, Router]:
        """The router without and with the attached policies enforced, and the policies."""
        routing = Router.from_manifests([*result.manifests, *(existing.objects if existing else ())],
                                        path_policy=target_path_policy(convert_options.emitter))
        policies = policy_index(result.manifests)
        return routing, policies, routing.with_guard(Guard(policies, credentials))

    built: list[tuple[DataPlaneModel, DataPlaneModel]] = []

    def source_model() -> tuple[DataPlaneModel, DataPlaneModel]:
        """The source model, and it enforcing protections without counting (for the boundary
        probes), built when first needed: with the sides split over two processes, this one
        may never need it."""
        if not built:
            base = plane.model(mine, controller_config)
            built.append((base, with_enforcement(base, credentials, count=False)))
        return built[0]

    def model_route(request: Request) -> Outcome:
        return source_model()[1].route(request)

    # With two processes, the worker forked before the conversion (_early) routes the generated
    # probes through the source model; this process builds the router, then forks a second
    # worker that makes and replays the policy probes and the widened host set (asking the
    # first worker, which has the model, for their source side: ing2gw.sourcelink), then
    # finishes chunks of the first worker's as this process does. When the first worker's guess
    # does not hold (other probes, other Ingresses), or without it, a worker forked now starts replaying
    # the generated probes while this process builds the router (ing2gw.sourceside), then makes
    # and replays the policy probes and the widened host set. With more processes, chunks of
    # both sides go to a pool once everything is built here.
    split: SourceSide | None = None
    sourced: Iterator[SourcedMessage] | None = None
    here: list[tuple[Router, PolicyIndex, Router, Explainer]] = []

    def numbered() -> list[Note]:
        """The notes as every process numbers them to send differences (an Explainer's
        ``all_notes``: equal ones merged, the first kept; a worker sends their numbers by its
        explainer's ``index``): this process's explainer's when it made one."""
        return built_here[0][3].all_notes if built_here else list(dict.fromkeys(explaining))

    def sides() -> tuple[Router, PolicyIndex, Router, Explainer]:
        """Both Gateway sides, the policies and an explainer, in a worker: this process's when
        it made them before forking the worker, else the worker's own."""
        if not here:
            here.append(built_here[0] if built_here else (*gateway_side(),
                                                          Explainer(explaining, mine, result.manifests)))
        return here[0]

    def finishing() -> Iterator[_Finished | None]:
        """The policy probes, made and replayed a rule at a time, then the widened host set (in a worker)."""
        base, own = source_model()  # (built in the worker: this process's copy stays unbuilt)
        routing, policies, router, explainer = sides()
        yield None
        grouped = VerifyReport(provider=name, ingresses=len(mine.ingresses))
        skipped_here: list[str] = []
        if result.ir is not None:
            stateful = _counting_sides(base, routing, policies, credentials)
            for part in policy_probe_steps(result.ir, routing, router.guard or Guard(policies), own.route,
                                           pairs, skipped_here, bool(getattr(base, "models_timeouts", False))):
                if part:
                    replay_groups(grouped, part, stateful, explainer)
                    yield None
        widened = widened_differences(result.manifests, mine.ingresses, explainer, own.route, router.route,
                                      getattr(base, "presented_certificate", None))
        index = explainer.index  # (each note's number in explainer.all_notes: numbered())
        yield ((grouped.requests, grouped.agree, differences_wire(grouped.differences, index)),
               differences_wire(widened, index), skipped_here)

    def finishing_told(asking: Asking, hosts: list[str]) -> _Finished:
        """:func:`finishing` in the second worker of an early split: the source side asked of
        the first worker, which has the model (none is built here). ``hosts``: the widened
        host set's (:func:`~ing2gw.widened.widened_hosts`), found by this process before forking
        the worker (reading every manifest there would copy the memory it shares)."""
        routing, policies, router, explainer = sides()
        timeouts, presents = asking.about()
        replayed: tuple[int, int, DifferencesWire] = (0, 0, [])
        skipped_here: list[str] = []
        if result.ir is not None:
            groups = policy_probes_told(result.ir, routing, router.guard or Guard(policies), asking.redirects, pairs,
                                        skipped_here, timeouts)
            gateway, reset = _counting_gateway(routing, policies, credentials, CaseClock())
            # (their notes as each note's number in explainer.all_notes: numbered())
            replayed = replayed_told(groups, asking.groups(groups), Stateful(_asked, gateway, reset), explainer)
        widened = widened_told(result.manifests, mine.ingresses, explainer, asking.widened(hosts), router.route,
                               presents) if hosts else []  # (without a sibling host, no difference)
        asking.done()
        return replayed, differences_wire(widened, explainer.index) if widened else [], skipped_here

    built_here: list[tuple[Router, PolicyIndex, Router, Explainer]] = []
    if early is not None and not (early.guess() == (name, [i.ref for i in mine.ingresses])
                                  and not _more_probes(plane, mine, result, name, bool(existing))):
        early.stop()  # its guess does not hold (or it made none): the generated probes are others
        early = None
    if early is not None:
        assert link is not None
        built_here.append((*gateway_side(), Explainer(explaining, mine, result.manifests)))  # (the worker shares them)
        first, told = early, link
        siblings = widened_hosts(result.manifests, mine.ingresses)

        def finishing_side(done: Any) -> Iterator[SourcedMessage | Extra]:
            yield Extra(finishing_told(told.asking(), siblings))
            finish = finish_here(sides()[3], sides()[2].route)
            for at, part, size, _ in first.take():
                assert part is not None
                yield at, None, size, finish(part)

        split = SourceSide(finishing_side)
        sourced = shared(first, split)
    elif _split(options, mine):
        def source_side(done: Any) -> Iterator[SourcedMessage | Extra]:
            own = source_model()[1]

            def whole() -> Callable[[Sequence[tuple[Item, str]]], Any]:
                return replay_here(sides()[3], own.route, sides()[2].route)

            return schedule(generated_probes(), verify_module.summarising(own), whole, done, finishing())

        split = SourceSide(source_side)
        sourced = split.messages()
    if link is not None:
        link.close()  # (both workers forked, or no second one: they keep their ends)
    try:
        routing, policies, router = built_here[0][:3] if built_here else gateway_side()

        generated: list[tuple[Replayable, str]] = []
        skipped: list[str] = []
        groups: list[ProbeGroup] | Callable[[], list[ProbeGroup]] = []  # made while workers replay the probes
        stateful: Stateful | None = None
        if options.generate and split is None:
            base_model, model = source_model()
            generated = generated_probes()
            if result.ir is not None:
                groups = partial(policy_probes, result.ir, routing, router.guard or Guard(policies), model.route, pairs,
                                 skipped, bool(getattr(base_model, "models_timeouts", False)))
            stateful = _counting_sides(base_model, routing, policies, credentials)

        def finished() -> _Finished:
            """What the worker made after the generated probes (it has sent everything)."""
            assert split is not None and split.extra is not None
            return cast(_Finished, split.extra)

        def sourced_groups() -> VerifyReport:
            (requests, agree, wire), _, _ = finished()
            grouped = VerifyReport(provider=name, ingresses=len(mine.ingresses), requests=requests, agree=agree)
            grouped.differences = differences_from_wire(wire, numbered())
            return grouped

        cases = load_cases(options.cases) if options.cases else []
        if options.scheme and options.scheme.lower() not in DEFAULT_PORTS:
            raise UsageError(f"--scheme {options.scheme!r}: use http or https")
        source = _Remembering(model_route)  # a log line's request is routed to infer its scheme, then replayed
        choose = _scheme_chooser(source.route, mine, options.scheme)

        def requests() -> Iterator[tuple[Item, str]]:
            for case in cases:
                yield request_of(case), f"case {case.name}"
            for log in options.access_logs:  # each line's scheme is inferred where it is replayed (by a worker)
                yield from log_requests(log, mine, skipped)

        def decided(line: LogLine) -> tuple[str, str]:
            return decide(line, choose)

        checkers: list[Checker] = []
        try:
            if options.oracle:
                oracle = plane.oracle(source_model()[1])
                if oracle is None:
                    raise UsageError(f"provider {name!r} offers no --oracle")
                checkers.append(oracle)
            if options.via_proxy:
                from .viaproxy import ProxyCheck

                checkers.append(ProxyCheck(result.manifests, router))
            sharing = line_sharing(source_model()[0], result.manifests, explaining) if options.access_logs else None
            report = verify_requests(name, mine, result.manifests, explaining, source.route, router.route,
                                     requests(), progress, checkers, options.workers, generated, groups, stateful,
                                     decided, sharing, sourced, None if split is None else sourced_groups,
                                     built_here[0][3] if built_here else None)
        finally:
            for checker in checkers:
                checker.stop()
        if options.generate:  # the widened host set of wildcard listeners made from Secrets
            if split is not None:  # the worker's (what its policy probes skipped comes first, as made first)
                _, widened, skipped_there = finished()
                skipped[:0] = skipped_there
                more = differences_from_wire(widened, numbered())
            else:
                more = widened_differences(result.manifests, mine.ingresses, Explainer(explaining, mine,
                                                                                       result.manifests),
                                           model_route, router.route,
                                           getattr(source_model()[0], "presented_certificate", None))
            for difference in more:
                report.requests += 1
                report.add(difference)
            streams = getattr(plane, "streams", None)  # optional (DataPlane): stream routes replayed too
            stream_model = streams(mine) if callable(streams) else None
            if stream_model is not None:
                from .streamverify import replay_streams

                replay_streams(report, [*result.manifests, *(existing.objects if existing else ())], stream_model,
                               explaining)
        report.skipped = skipped
        if cases:  # judged as route --cases judges them: rate limits counted on the case file's clock
            clock = CaseClock()
            counting = routing.with_guard(Guard(policies, credentials, limiter=TokenBuckets(), clock=clock))
            report.cases = results_json(run_cases(cases, lambda r: counting.route(r).to_dict(), None, clock))
        return Verification(report, result, name, [c.name for c in checkers],
                            (routing, policies, router, built, built_here, here, generated, groups, stateful, mine,
                             explaining, source, split, sourced))
    finally:
        if split is not None:
            split.stop()


# What the source-side worker makes after the generated probes: the policy probes' replay
# (requests, agreeing, differences), the widened host set's differences, and what the policy
# probes skipped.
_Finished = tuple[tuple[int, int, DifferencesWire], DifferencesWire, list[str]]


def _generated(plane: DataPlane, mine: ResourceSet, result: ConvertResult, name: str, existing: bool) -> list[Probe]:
    """The boundary probes of the provider's Ingresses and route objects."""
    probes = _ingress_probes(plane, mine)
    more = _object_probes(mine, result, name)
    if more:  # (the Ingresses' probes alone are sorted so already, and unique)
        probes = sorted({*probes, *more}, key=lambda p: (p.scheme, p.host, p.path, p.headers))
    if not _any_gateway(result, existing):  # mesh-only output: no Gateway to send a request for an unknown host to
        probes = [p for p in probes if p.host != UNKNOWN_HOST]
    return probes


def _ingress_probes(plane: DataPlane, mine: ResourceSet) -> list[Probe]:
    """The boundary probes of the provider's Ingresses (they need no conversion)."""
    return ingress_probes(*_probing(plane, mine))


def _ingress_probe_fields(plane: DataPlane, mine: ResourceSet) -> list[ProbeFields]:
    """:func:`_ingress_probes` as their plain values (:func:`~ing2gw.probes.ingress_probe_fields`)."""
    return ingress_probe_fields(*_probing(plane, mine))


def _probing(plane: DataPlane,
             mine: ResourceSet) -> tuple[list[Ingress], HeaderSets, Mapping[str, Iterable[str]] | None]:
    """What the provider's Ingresses' probes are made of: the Ingresses, and the header sets and
    paths the data plane wants probed too."""
    probe_paths = getattr(plane, "probe_paths", None)  # optional (DataPlane)
    return (mine.ingresses, plane.probe_headers(mine.ingresses),
            probe_paths(mine.ingresses) if callable(probe_paths) else None)


def _object_probes(mine: ResourceSet, result: ConvertResult, name: str) -> list[Probe]:
    """The boundary probes of the provider's route objects and of hostnames the conversion added."""
    objects = {subject for subject, p in result.object_providers.items() if p == name}
    known = {rule.host for ing in mine.ingresses for rule in ing.rules}
    return object_probes(result.manifests, objects, known)


def _any_gateway(result: ConvertResult, existing: bool) -> bool:
    return existing or any(m.get("kind") in ("Gateway", "ListenerSet") for m in result.manifests)


def _more_probes(plane: DataPlane, mine: ResourceSet, result: ConvertResult, name: str, existing: bool) -> bool:
    """Are the generated probes more or fewer than the Ingresses' own (:func:`_generated`)?"""
    return bool(_object_probes(mine, result, name)) or not _any_gateway(result, existing)


def _credential_pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """``--credentials USER:PASSWORD`` values as pairs."""
    out = []
    for value in values:
        user, sep, password = value.partition(":")
        if not sep or not user:
            raise UsageError(f"--credentials {value!r}: expected USER:PASSWORD")
        out.append((user, password))
    return out


def _counting_sides(model: DataPlaneModel, routing: Router, policies: PolicyIndex,
                    credentials: Credentials) -> Stateful:
    """Both sides counting rate limits on one clock held at 0 (a burst is one instant)."""
    clock = CaseClock()
    source, restart = counting_source(model, credentials, clock)
    gateway, restart_gateway = _counting_gateway(routing, policies, credentials, clock)

    def reset() -> None:
        restart_gateway()
        restart()

    return Stateful(source, gateway, reset)


def _counting_gateway(routing: Router, policies: PolicyIndex, credentials: Credentials,
                      clock: CaseClock) -> tuple[Callable[[Request], Outcome], Callable[[], None]]:
    """The Gateway side counting rate limits on ``clock``, and what starts its counters over."""
    buckets = TokenBuckets()
    return routing.with_guard(Guard(policies, credentials, limiter=buckets, clock=clock)).route, buckets.reset


def _asked(request: Request) -> Outcome:
    raise AssertionError("the source side is asked of the first worker")


def _upstream_name(backend: str | None) -> str:
    """``ns/svc:port`` as ingress-nginx names the upstream: ``ns-svc-port``."""
    if not backend:
        return ""
    ref, _, port = backend.rpartition(":")
    return f"{ref.replace('/', '-')}-{port}"


class _Remembering:
    """The source model, remembering its answers to the last few plain requests (no headers,
    no client: an access-log line's). A line's scheme is inferred by routing its request, which
    is then replayed as is, in the same process: not routed twice. The model does not count
    (no rate limits): the same request always gets the same answer."""

    __slots__ = ("answer", "last")

    def __init__(self, answer: Callable[[Request], Outcome]) -> None:
        self.answer = answer
        self.last: dict[tuple[str, str, str, int, str, str, str | None], Outcome] = {}

    def route(self, request: Request) -> Outcome:
        if (request.client is not None or request.headers or request.mesh is not None or request.gateway is not None
                or request.backend_delay is not None or request.response_headers is not None):  # client first: cheap
            return self.answer(request)
        key = (request.method, request.scheme, request.host, request.port, request.path, request.query, request.sni)
        found = self.last.get(key)
        if found is None:
            if len(self.last) >= 4:
                self.last.clear()
            found = self.last[key] = self.answer(request)
        return found


def _scheme_chooser(route: Callable[[Request], Outcome], rs: ResourceSet, forced: str | None) -> SchemeChooser:
    """The scheme of an access-log line that records none: ``forced`` (``--scheme``) when
    given, else the one whose replay through the source model gives the recorded status and
    upstream (both or neither: https for hosts with TLS, else http). When the forced or
    inferred scheme's replay does not give the recorded status, the line says so."""
    tls_hosts = {h for ing in rs.ingresses for t in ing.tls for h in t.hosts}

    def answer(entry: LogEntry, host: str, scheme: str) -> tuple[int | None, str]:
        out = route(Request.build(host=host, path=entry.path, method=entry.method, scheme=scheme))
        return out.status, _upstream_name(out.backend)

    def fits(entry: LogEntry, got: tuple[int | None, str]) -> bool:
        served = got[1]  # the upstream is checked when the model proxies (nginx logs it for redirects too)
        return got[0] == entry.status and (not entry.upstream or not served
                                           or served in (entry.upstream, entry.alternative))

    remembered: dict[tuple[str, str, str, int, str, str], tuple[str, str]] = {}

    def choose(entry: LogEntry, host: str) -> tuple[str, str]:
        """:func:`infer`, remembered (logs repeat requests; at most ``MEMO_SIZE`` at a time)."""
        key = (entry.method, host, entry.path, entry.status, entry.upstream, entry.alternative)
        known = remembered.get(key)
        if known is None:
            if len(remembered) >= MEMO_SIZE:
                remembered.clear()
            known = remembered[key] = infer(entry, host)
        return known

    def infer(entry: LogEntry, host: str) -> tuple[str, str]:
        default = "https" if host.split(":")[0].lower() in tls_hosts else "http"
        if forced:
            one = answer(entry, host, forced)
            return forced, "" if fits(entry, one) else f"recorded {entry.status}, the model answers {one[0]}"
        # the default when it fits (alone or with the other), else the other when that fits
        both = {default: answer(entry, host, default)}
        if fits(entry, both[default]):
            return default, ""
        other = "http" if default == "https" else "https"
        both[other] = answer(entry, host, other)
        if fits(entry, both[other]):
            return other, ""
        return default, (f"recorded {entry.status}, the model answers {both['http'][0]} over http and "
                         f"{both['https'][0]} over https")

    return choose


