"""APISIX's data plane for ``verify`` and ``route --as apisix`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the stream model of ApisixRoute stream rules (:mod:`.streammodel`),
the header sets worth probing, and the notes about APISIX itself.
There is no oracle (APISIX is not packaged for Debian); the model is checked against the
controller's and the router's own test expectations (``testdata/upstream/apisix``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

from .annotations import PREFIX

__all__ = ["ApisixDataPlane"]

_DENORMAL = r"~%|//|/\.\.?(/|$)|\\"


class ApisixDataPlane:
    """What ``verify`` replays APISIX conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import ApisixModel

        return ApisixModel.from_resources(resources)

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """APISIX's stream routes (ApisixRoute ``spec.stream``); None without any."""
        from .streammodel import ApisixStreams

        return ApisixStreams.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """Per Ingress: a CORS preflight when cors is on, Basic credentials under auth-type."""
        out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        for ing in ingresses:
            sets: list[tuple[tuple[str, str], ...]] = []
            if ing.annotations.get(f"{PREFIX}/enable-cors") == "true":
                sets.append(((":method", "OPTIONS"), ("origin", "https://example.org"),
                             ("access-control-request-method", "GET")))
            if ing.annotations.get(f"{PREFIX}/auth-type") == "basicAuth":
                sets.append((("authorization", "Basic dXNlcjpwYXNz"),))
            if sets:
                out[ing.ref] = sets
        return out

    def controller_notes(self) -> list[Note]:
        subject = "controller apisix"
        return [
            Note(code="APISIX-NO-ROUTE", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="APISIX answers requests no route matches with 404 (Route Not Found)",
                 instead="a Gateway answers 404 too"),
            Note(code="APISIX-HOST-PRECEDENCE", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="APISIX (radixtree_host_uri) tries the routes of the request's exact host, then of its "
                         "wildcard hosts (longest first), then the routes without hosts, falling through to the "
                         "next group when one has no match",
                 instead="the same order as Gateway API hostname precedence (a host's shorter path wins over a "
                         "host-less route's longer one)"),
            Note(code="APISIX-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="APISIX matches nginx's normalised $uri (every escape decoded, // merged, dot segments "
                         "resolved) and forwards the request as received; a Gateway normalises by its "
                         "implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently or reach the backend "
                         "with another path",
                 aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
