"""Contour's data plane for ``verify`` and ``route --as contour`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the tcpproxy virtual hosts as a stream model (:mod:`.streammodel`) and
the notes about Contour itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["ContourDataPlane"]


class ContourDataPlane:
    """What ``verify`` replays Contour conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import ContourModel

        return ContourModel.from_resources(resources)

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """The tcpproxy virtual hosts (TLS by SNI on 443); None without any."""
        from .streammodel import TcpProxyStreams

        return TcpProxyStreams.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        subject = "controller contour"
        return [
            Note(code="CONTOUR-RESPONSE-TIMEOUT", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Envoy as Contour configures it times out a route's response after 15s unless the route "
                         "says otherwise; the Gateway API sets no timeout unless the rule has one",
                 instead="no request timeout where the source set none", aspects=frozenset(), scope=(("*", ""),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None  # no Envoy/Contour binary is packaged for Debian: Contour's own test expectations are the truth
