"""Istio's data plane for ``verify`` and ``route --as istio`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), its gateways' TCP and TLS servers as a stream model
(:mod:`.streammodel`), the header sets worth probing, and the notes about Istio itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["IstioDataPlane"]

# Request paths Envoy and a Gateway may normalise differently: %XX escapes, //, dot segments.
_DENORMAL = r"~%|//|/\.\.?(/|$)"


class IstioDataPlane:
    """What ``verify`` replays Istio conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import IstioModel

        return IstioModel.from_resources(resources)

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """The TCP and TLS servers of the Istio Gateways with their tcp and tls routes."""
        from .streammodel import IstioStreams

        return IstioStreams.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        subject = "controller istio"
        return [
            Note(code="ISTIO-DEFAULT-RETRIES", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Istio retries a failed request twice (connect-failure, refused-stream, unavailable, "
                         "cancelled, retriable-status-codes) unless a route sets retries.attempts: 0; Gateway API "
                         "routes do not retry unless told",
                 instead="the retries intent on every rule (implementation policies carry it)"),
            Note(code="ISTIO-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Istio's gateways normalise paths with Envoy's defaults (dot segments resolved, "
                         "//-merging and escaped-slash handling per meshConfig pathNormalization); the Gateway "
                         "normalises by its implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently",
                 aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None  # no Envoy is packaged here: Istio's own test tables are the ground truth
