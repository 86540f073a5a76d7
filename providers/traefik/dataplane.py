"""Traefik's data plane for ``verify`` and ``route --as traefik`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the header sets worth probing, and the notes about Traefik itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

__all__ = ["TraefikDataPlane"]

# Request paths Traefik and a Gateway may normalise differently: %XX escapes, //, dot segments.
_DENORMAL = r"~%|//|/\.\.?(/|$)"


class TraefikDataPlane:
    """What ``verify`` replays Traefik conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import TraefikModel

        return TraefikModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        return {}

    def controller_notes(self) -> list[Note]:
        subject = "controller traefik"
        return [
            Note(code="TRAEFIK-DEFAULT-CERTIFICATE", level=Level.WARNING, subject=subject,
                 fidelity=Fidelity.APPROXIMATE,
                 message="Traefik's websecure entry point answers https:// for every host its routers serve, with its "
                         "default (self-signed) certificate where spec.tls names none; the Gateway has HTTPS "
                         "listeners only for hosts with a certificate",
                 instead="no HTTPS listener for hosts without a certificate (add a tls section to keep https://)",
                 aspects=frozenset({"tls"}), scope=(("*", ""),)),
            Note(code="TRAEFIK-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Traefik merges // and resolves dot segments (sanitizePath), matches routers on the path "
                         "with escapes of unreserved characters decoded, and forwards the escapes as sent; the "
                         "Gateway matches and forwards the path normalised by its implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently or reach the backend "
                         "with another path",
                 aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None  # no Traefik binary is packaged for Debian: the upstream fixtures are the ground truth
