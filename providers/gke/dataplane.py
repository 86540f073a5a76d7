"""GKE Ingress's data plane for ``verify`` and ``route --as gke`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the header sets worth probing, and the notes about the Google Cloud
load balancer itself. There is no oracle (the load balancer runs in Google Cloud); the model is
checked against ingress-gce's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

from .._common.models import normalisation_note

__all__ = ["GkeDataPlane"]


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
            normalisation_note("GKE-PATH-NORMALISATION", "gke", "URL-map paths"),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
