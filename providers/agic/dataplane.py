"""AGIC's data plane for ``verify`` and ``route --as agic`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`) and the notes about Application Gateway itself. There is no oracle
(Application Gateway runs in Azure); the model is checked against AGIC's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Note
from ing2gw.resources import Ingress, ResourceSet

from .._common.models import normalisation_note

__all__ = ["AgicDataPlane"]


class AgicDataPlane:
    """What ``verify`` replays AGIC conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import AgicModel

        return AgicModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        return [
            normalisation_note("AGIC-PATH-NORMALISATION", "agic", "URL path maps"),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
