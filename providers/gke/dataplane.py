"""GKE Ingress's data plane for ``verify`` and ``route --as gke`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the header sets worth probing, and the notes about the Google Cloud
load balancer itself. There is no oracle (the load balancer runs in Google Cloud); the model is
checked against ingress-gce's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["GkeDataPlane"]

# Request paths the load balancer and a Gateway may normalise differently: %XX escapes, //, dot segments.
_DENORMAL = r"~%|//|/\.\.?(/|$)"


class GkeDataPlane:
    """What ``verify`` replays GKE conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import GkeModel

        return GkeModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        subject = "controller gke"
        return [
            Note(code="GKE-DEFAULT-CERTIFICATE", level=Level.WARNING, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="a GKE load balancer with any certificate answers https:// for every host (the first "
                         "certificate when SNI names no other); the Gateway has HTTPS listeners only for the hosts "
                         "of its certificates",
                 instead="no HTTPS listener for hosts without a certificate", aspects=frozenset({"tls", "status"}),
                 scope=(("*", ""),)),
            Note(code="GKE-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="the model matches URL-map paths against the path as the client sent it (escapes, // and "
                         "dot segments kept) and forwards it unchanged; the Gateway matches and forwards the path "
                         "normalised by its implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently or reach the backend "
                         "with another path",
                 aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
