"""Kong's data plane for ``verify`` and ``route --as kong`` (:class:`ing2gw.dataplane.DataPlane`):
the model, the stream model of TCPIngresses and UDPIngresses (:mod:`.streammodel`), the
header sets worth probing, and the notes about Kong itself. There is no
oracle (Kong is not installed here); the model is checked against KIC's own test tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import ingress_scope
from ing2gw.resources import Ingress, ResourceSet

from .flavor import router_flavor
from .settings import route_settings

__all__ = ["KongDataPlane"]

# Request paths Kong normalises differently from a Gateway: a backslash is not a separator,
# %2F stays encoded.
_DENORMAL = r"~\\|%2[fF]|%5[cC]"


class KongDataPlane:
    """What ``verify`` replays Kong conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import KongModel

        return KongModel.from_resources(resources, flavor=router_flavor(controller_config))

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """Kong's stream routes (TCPIngress, UDPIngress); None without any."""
        from .streammodel import KongStreams

        return KongStreams.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """Per Ingress: its konghq.com/headers.* values (each, and one no value allows) and a
        request with Basic credentials (auth plugins answer 401 without)."""
        out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        notes = Notes()
        for ing in ingresses:
            s = route_settings(ing.annotations, ing.subject, ing.origin, ingress_scope(ing), notes)
            sets: list[tuple[tuple[str, str], ...]] = []
            for name, values in s.headers:
                sets += [((name, v),) for v in values if not v.startswith("~*")]
                sets.append(((name, "ing2gw-other"),))
            if s.headers:
                sets.append(tuple((name, values[0]) for name, values in s.headers if not values[0].startswith("~*")))
            if s.methods:
                sets.append(((":method", s.methods[0]),))
            if sets:
                out[ing.ref] = [x for x in dict.fromkeys(sets) if x]
        return out

    def controller_notes(self) -> list[Note]:
        subject = "controller kong"
        return [
            Note(code="KONG-NO-ROUTE", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="Kong answers requests no route matches with 404 (no Route matched with those values)",
                 instead="a Gateway answers 404 too"),
            Note(code="KONG-DEFAULT-CERTIFICATE", level=Level.WARNING, subject=subject,
                 fidelity=Fidelity.APPROXIMATE,
                 message="Kong answers https:// for every host, with its default certificate for hosts no "
                         "Ingress tls section names; the Gateway has HTTPS listeners only for hosts with a "
                         "certificate",
                 instead="no HTTPS listener for hosts without a certificate (add a tls section to keep https://)",
                 aspects=frozenset({"tls"}), scope=(("*", ""),)),
            Note(code="KONG-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Kong normalises the path as RFC 3986 does (unreserved escapes decoded, dot segments, //) "
                         "but keeps \\ and %2F as they are; Gateway implementations may treat those differently",
                 instead="requests with \\ or %2F may match differently",
                 aspects=frozenset({"status", "backend", "path", "redirect"}), scope=(("*", _DENORMAL),)),
            Note(code="KONG-REDIRECT-RAW-TARGET", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="Kong's HTTPS redirects carry the request target exactly as the client sent it; a Gateway "
                         "redirects to the normalised path",
                 instead="redirects of paths with escapes, // or dot segments differ in the Location",
                 aspects=frozenset({"redirect"}), scope=(("*", r"~%|//|/\.\.?(/|$)"),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
