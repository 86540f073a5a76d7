"""The ``verify`` pipeline as one library function: resources -> conversion -> replay -> report.

:func:`run_verify` converts the resources, builds the provider's declared data plane
(:mod:`ing2gw.dataplane`) and the reference router over the output, gathers the requests
(generated probes, case files, access logs) and replays them through both; ``ing2gw verify``
only parses options and renders the report, and tests and other commands call this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .accesslog import log_requests
from .cases import load_cases, request_of
from .convert import ConvertOptions, ConvertResult, convert
from .dataplane import Checker
from .errors import UsageError
from .plugins import Registry
from .probes import ingress_probes
from .resources import ResourceSet
from .verify import Replayable, VerifyReport, verify_requests

__all__ = ["VerifyOptions", "Verification", "only", "run_verify"]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    provider: str | None = None  # whose Ingresses are verified (default: the only one used)
    generate: bool = True  # boundary requests generated from the Ingresses
    cases: str | None = None  # a case file to replay too
    access_logs: tuple[str, ...] = ()  # access logs to replay too
    oracle: bool = False  # check the model against the real controller (the provider's oracle)
    via_proxy: bool = False  # check the router against ing2gw serve
    workers: int = 1


@dataclass(slots=True)
class Verification:
    """A replay's report, with the conversion it verified."""

    report: VerifyReport
    conversion: ConvertResult
    provider: str
    checks: list[str] = field(default_factory=list)


def only(rs: ResourceSet, refs: set[str]) -> ResourceSet:
    """``rs`` with only the Ingresses named in ``refs``."""
    return ResourceSet(
        ingresses=[i for i in rs.ingresses if i.ref in refs],
        ingress_classes=rs.ingress_classes, services=rs.services, namespaces=rs.namespaces,
        config_maps=rs.config_maps, skipped=rs.skipped, notes=rs.notes,
    )


def run_verify(rs: ResourceSet, convert_options: ConvertOptions, registry: Registry, options: VerifyOptions,
               progress: Callable[[int], None] | None = None) -> Verification:
    """Convert ``rs`` and replay requests through the source controller's model and the
    converted objects. Raises :class:`~ing2gw.errors.UsageError` when there is nothing to
    verify or the provider has no data plane (or no oracle, when asked for one)."""
    from .router import Router
    from .router.paths import target_path_policy

    result = convert(rs, convert_options, registry)
    used = sorted(set(result.providers.values()))
    if not used:
        raise UsageError("no Ingress to verify")
    if len(used) > 1 and not options.provider:
        raise UsageError(f"Ingresses of several providers ({', '.join(used)}): choose one with --provider")
    name = options.provider or used[0]
    registry.get(name)  # an unknown or broken provider is a clear error
    plane = registry.data_plane(name)
    if plane is None:
        raise UsageError(f"provider {name!r} has no data-plane model to verify against")
    mine = only(rs, {ref for ref, p in result.providers.items() if p == name})
    model = plane.model(mine, convert_options.conversion.controller_config or None)
    router = Router.from_manifests(result.manifests,
                                   path_policy=target_path_policy(convert_options.emitter))

    generated: list[tuple[Replayable, str]] = []
    if options.generate:
        probes = ingress_probes(mine.ingresses, plane.probe_headers(mine.ingresses))
        generated = [(p, "generated") for p in probes]
    skipped: list[str] = []

    def requests() -> Iterator[tuple[Replayable, str]]:
        if options.cases:
            for case in load_cases(options.cases):
                yield request_of(case), f"case {case.name}"
        for log in options.access_logs:
            yield from log_requests(log, mine, skipped)

    explaining = [*result.notes, *plane.controller_notes()]
    checkers: list[Checker] = []
    try:
        if options.oracle:
            oracle = plane.oracle(model)
            if oracle is None:
                raise UsageError(f"provider {name!r} offers no --oracle")
            checkers.append(oracle)
        if options.via_proxy:
            from .viaproxy import ProxyCheck

            checkers.append(ProxyCheck(result.manifests, router))
        report = verify_requests(name, mine, result.manifests, explaining, model.route, router.route,
                                 requests(), progress, checkers, options.workers, generated)
    finally:
        for checker in checkers:
            checker.stop()
    report.skipped = skipped
    return Verification(report, result, name, [c.name for c in checkers])

