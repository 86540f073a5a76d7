"""F5 NGINX's data plane for ``verify`` and ``route --as f5-nginx``
(:class:`ing2gw.dataplane.DataPlane`): the model, the notes about the controller itself, and
real nginx as an oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet
from ing2gw.router.paths import STANDARD

__all__ = ["F5DataPlane"]

_DENORMAL = r"~%|\\|//|/\.\.?(/|$)"


class F5DataPlane:
    """What ``verify`` replays F5 NGINX conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import F5Model

        return F5Model.from_resources(resources, controller_config)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """A request forwarded as plain HTTP by a load balancer (redirect-to-https)."""
        return {i.ref: [(("x-forwarded-proto", "http"),)] for i in ingresses
                if i.annotations.get("nginx.org/redirect-to-https", "").lower() == "true"}

    def controller_notes(self) -> list[Note]:
        subject = "controller f5-nginx"
        return [
            Note(code="F5-DEFAULT-SERVER", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="requests for hosts no Ingress names reach the default server, which answers 404",
                 instead="a Gateway answers 404 too"),
            Note(code="F5-HTTPS-WITHOUT-TLS", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="the controller's HTTPS default server answers https:// for hosts without a certificate "
                         "with 404 (its default certificate)",
                 instead="no HTTPS listener for those hosts: the TLS handshake fails",
                 aspects=frozenset({"tls"}), scope=(("*", ""),)),
            Note(code="F5-UPSTREAM-HOST", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="the controller sends $host upstream as Host: the request's hostname lower-cased, without "
                         "a port",
                 instead="the Gateway passes the Host header as the client wrote it",
                 aspects=frozenset({"host"}), scope=(("*", ""),)),
            Note(code="F5-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="NGINX matches locations on the decoded, normalised path and forwards the path as the "
                         "client sent it (unless it rewrites); the Gateway matches and forwards the path normalised "
                         f"by its implementation's policy ({STANDARD.describe()})",
                 instead="requests with escapes, \\, // or dot segments may match differently or reach the "
                         "backend with another path",
                 aspects=frozenset({"status", "backend", "path", "redirect"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        from .oracle import F5OracleSession

        return F5OracleSession(model)
