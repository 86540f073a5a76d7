"""Cilium's data plane for ``verify`` and ``route --as cilium`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the paths worth probing (a path each regular expression takes)
and the notes about Cilium itself. No oracle: Cilium's Envoy is
not installed here; the model is checked against Cilium's own translation tests
(``testdata/upstream/cilium``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.probes import regex_sample
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["CiliumDataPlane"]


class CiliumDataPlane:
    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import CiliumModel

        return CiliumModel.from_resources(resources)

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """The tls-passthrough hosts (TLS by SNI to the / path's backend); None without any."""
        from .._common.passthrough import SniPassthrough
        from .model import CiliumModel

        hosts: dict[str, tuple[str, str]] = {}
        for lb in CiliumModel.from_resources(resources).balancers:  # by name: the first balancer keeps a host
            for host, backend in sorted(lb.passthrough.items()):
                hosts.setdefault(host, (backend, ""))
        return SniPassthrough("Cilium", hosts) if hosts else None

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def probe_paths(self, ingresses: Sequence[Ingress]) -> dict[str, list[str]]:
        """A path each ImplementationSpecific path (a regular expression in Cilium) matches:
        there Cilium's regex-before-prefix order and Gateway API precedence can part, which the
        literal start of the expression does not reach."""
        out: dict[str, list[str]] = {}
        for ing in ingresses:
            samples = {regex_sample(p.path) for rule in ing.rules for p in rule.paths
                       if p.path_type not in ("Exact", "Prefix") and p.path}
            if samples - {None}:
                out[ing.ref] = sorted(s for s in samples if s is not None)
        return out

    def controller_notes(self) -> list[Note]:
        subject = "controller cilium"
        return [
            Note(code="CILIUM-NO-ROUTE", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="Cilium's Envoy answers 404 when no route of the virtual host matches",
                 instead="a Gateway answers 404 too"),
            Note(code="CILIUM-TLS-SNI", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="Cilium's secure listener accepts only SNIs of hosts with a certificate (no default "
                         "certificate unless the operator sets one)",
                 instead="HTTPS listeners exist only for hosts with a certificate"),
            Note(code="CILIUM-REDIRECT-RAW-TARGET", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Cilium's HTTPS redirects (Envoy https_redirect) keep the request target as the client "
                         "sent it; a Gateway redirects to the normalised path",
                 instead="redirects of paths with escapes, // or dot segments differ in the Location",
                 aspects=frozenset({"redirect"}), scope=(("*", r"~%|//|/\.\.?(/|$)"),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
