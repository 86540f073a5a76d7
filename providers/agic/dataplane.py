"""AGIC's data plane for ``verify`` and ``route --as agic`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`) and the notes about Application Gateway itself. There is no oracle
(Application Gateway runs in Azure); the model is checked against AGIC's own tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["AgicDataPlane"]

# Request paths Application Gateway and a Gateway may normalise differently: %XX escapes, //, dot segments.
_DENORMAL = r"~%|//|/\.\.?(/|$)"


class AgicDataPlane:
    """What ``verify`` replays AGIC conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import AgicModel

        return AgicModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        return [
            Note(code="AGIC-PATH-NORMALISATION", level=Level.INFO, subject="controller agic",
                 fidelity=Fidelity.APPROXIMATE,
                 message="the model matches URL path maps against the path as the client sent it (escapes, // and "
                         "dot segments kept) and forwards it unchanged; the Gateway matches and forwards the path "
                         "normalised by its implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently or reach the backend "
                         "with another path",
                 aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
