"""The :class:`~ing2gw.dataplane.DataPlane` both HAProxy providers declare: the model built
from a provider's entries, its ``ssl-passthrough`` hosts as a stream model (:mod:`.streammodel`),
the header sets worth probing, the notes about the controller itself, and real haproxy as the
``--oracle``.

A provider gives its name, note code, policy reader, :class:`~.model.Lookup` factory and
configuration renderer (:class:`Flavour`); the rest is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ing2gw.dataplane import Checker, DataPlaneModel, HeaderSets, StreamModel
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .entries import build_entries
from .model import Entry, HaproxyModel, Lookup
from .policy import HaproxyPolicy
from .translate import literal_origin

__all__ = ["Flavour", "HaproxyDataPlane"]

_FOREIGN_ORIGIN = "https://elsewhere.ing2gw.invalid"
# Paths haproxy matches as sent (no decoding, no dot-segment or // merging) while a Gateway
# implementation normalises them first.
_DENORMAL = r"~%|\\|//|/\.\.?(/|$)"


@dataclass(frozen=True, slots=True)
class Flavour:
    """What makes one HAProxy controller: its name and note code, how it reads an Ingress
    (``policy``), which match kind a path gets (``match``), whether it offers HTTPS for a
    host (``tls``), its lookup and its configuration renderer for the oracle."""

    name: str
    code: str
    policy: Callable[[Ingress, Mapping[str, str]], HaproxyPolicy]
    match: Callable[[Ingress, IngressPath, HaproxyPolicy], str | None]
    tls: Callable[[ResourceSet], Callable[[Ingress, str], bool]]
    lookup: Callable[[Sequence[Entry], Mapping[str, str]], Lookup]
    render: Callable[[Sequence[Entry]], tuple[str, dict[str, str]]]
    default_kind: str = "default"  # the match kind of a spec.defaultBackend's "/" path


class HaproxyDataPlane:
    """What ``verify`` and ``route --as`` replay an HAProxy controller's Ingresses against."""

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour

    def entries(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> list[Entry]:
        config = controller_config or {}
        cache: dict[str, HaproxyPolicy] = {}

        def policy(ing: Ingress) -> HaproxyPolicy:
            if ing.ref not in cache:
                cache[ing.ref] = self.flavour.policy(ing, config)
            return cache[ing.ref]

        return build_entries(resources, policy, self.flavour.match, self.flavour.tls(resources),
                             self.flavour.default_kind)

    def configuration(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None
                      ) -> tuple[str, dict[str, str]]:
        """The haproxy.cfg (with ``@...@`` placeholders) and map files the controller would write."""
        return self.flavour.render(self.entries(resources, controller_config))

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> HaproxyModel:
        config = controller_config or {}
        entries = self.entries(resources, config)
        return HaproxyModel(self.flavour.lookup(entries, config), self.flavour.name, entries)

    def streams(self, resources: ResourceSet) -> StreamModel | None:
        """The ``ssl-passthrough`` hosts (TLS by SNI to the ``/`` backend); None without any."""
        from .streammodel import passthrough_streams

        return passthrough_streams(self.flavour.name, resources, lambda ing: self.flavour.policy(ing, {}))

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """CORS requests and preflights from an allowed and a foreign origin, and, when the client address
        comes from a header, one address inside and one outside the Ingress's lists."""
        out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        for ing in ingresses:
            pol = self.flavour.policy(ing, {})
            sets: list[tuple[tuple[str, str], ...]] = []
            if pol.cors is not None:
                origins = [*pol.cors.listed[:1], *(o for o in map(literal_origin, pol.cors.patterns[:1]) if o)]
                for origin in [*origins[:1], _FOREIGN_ORIGIN]:
                    sets.append((("origin", origin),))
                    sets.append(((":method", "OPTIONS"), ("origin", origin), ("access-control-request-method", "PUT"),
                                 ("access-control-request-headers", "X-Probe")))
            if pol.client_header and (pol.allow or pol.deny):
                nets = [*pol.allow, *pol.deny]
                sets.append(((pol.client_header.lower(), str(nets[0].network_address)),))
                sets.append(((pol.client_header.lower(), "203.0.113.250"),))
            if sets:
                out[ing.ref] = sets
        return out

    def controller_notes(self) -> list[Note]:
        subject = f"controller {self.flavour.name}"
        code = self.flavour.code
        return [
            Note(code=f"{code}-DEFAULT-CERTIFICATE", level=Level.WARNING, subject=subject,
                 fidelity=Fidelity.APPROXIMATE,
                 message=f"{self.flavour.name} answers https:// for every host, with its default certificate for "
                         "hosts no Ingress tls section names; the Gateway has HTTPS listeners only for hosts with "
                         "a certificate, so https:// clients of the others now fail the TLS handshake",
                 instead="no HTTPS listener for hosts without a certificate (add a tls section to keep https://)",
                 aspects=frozenset({"tls"}), scope=(("*", ""),)),
            Note(code=f"{code}-PATH-NORMALISATION", level=Level.INFO, subject=subject, fidelity=Fidelity.APPROXIMATE,
                 message="haproxy looks paths up in its maps exactly as the client sent them (no %XX decoding, // "
                         "or dot-segment merging); a Gateway implementation normalises the path first",
                 instead="requests with escapes, \\, // or dot segments may match differently",
                 aspects=frozenset({"status", "backend", "path", "redirect"}), scope=(("*", _DENORMAL),)),
        ]

    def oracle(self, model: DataPlaneModel) -> Checker:
        """Real haproxy serving the configuration the controller would write (``--oracle haproxy``)."""
        from .oracle import HaproxyOracle

        assert isinstance(model, HaproxyModel)
        return HaproxyOracle(model, self.flavour.render)
