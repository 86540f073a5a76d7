"""Cilium's data plane for ``verify`` and ``route --as cilium`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`) and the notes about Cilium itself. No oracle: Cilium's Envoy is
not installed here; the model is checked against Cilium's own translation tests
(``testdata/upstream/cilium``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["CiliumDataPlane"]


class CiliumDataPlane:
    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import CiliumModel

        return CiliumModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

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
