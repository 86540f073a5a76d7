"""AWS ALB's data plane for ``verify`` and ``route --as aws-alb`` (:class:`ing2gw.dataplane.DataPlane`):
the model (:mod:`.model`), the header sets worth probing (the values of ``conditions.<name>``
header, method and query conditions), and the notes about the ALB itself. There is no oracle
(an ALB cannot run on loopback); the model is checked against the controller's own tests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, ResourceSet

from .actions import parse_conditions
from .annotations import PREFIX

__all__ = ["AlbDataPlane"]

# Request paths an ALB and a Gateway may treat differently: escapes, //, dot segments (ALB
# matches the path as sent).
_DENORMAL = r"~%|//|/\.\.?(/|$)"


class AlbDataPlane:
    """What ``verify`` replays ALB conversions against."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        from .model import AlbModel

        return AlbModel.from_resources(resources)

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """Per Ingress: each header value its conditions name (and one no value allows), and each method."""
        out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        for ing in ingresses:
            sets: list[tuple[tuple[str, str], ...]] = []
            for key in sorted(ing.annotations):
                if not key.startswith(f"{PREFIX}/conditions."):
                    continue
                try:
                    conditions = parse_conditions(json.loads(ing.annotations[key]))
                except (ValueError, TypeError):
                    continue
                for c in conditions:
                    if c.field == "http-header":
                        sets += [((c.header.lower(), v),) for v in c.values if "*" not in v and "?" not in v]
                        sets.append(((c.header.lower(), "ing2gw-other"),))
                    elif c.field == "http-request-method":
                        sets += [((":method", m),) for m in c.values]
            if sets:
                out[ing.ref] = list(dict.fromkeys(sets))
        return out

    def controller_notes(self) -> list[Note]:
        subject = "controller aws-alb"
        return [
            Note(code="ALB-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="ALB matches path patterns against the path as the client sent it; a Gateway matches the "
                         "path normalised by its implementation's policy",
                 instead="requests with escapes, // or dot segments may match differently",
                 aspects=frozenset({"status", "backend", "weights", "redirect", "path"}), scope=(("*", _DENORMAL),)),
            Note(code="ALB-NO-LISTENER", level=Level.INFO, subject=subject, fidelity=Fidelity.EXACT,
                 message="an ALB refuses connections on ports it has no listener for, as a Gateway does",
                 instead="same"),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        return None
