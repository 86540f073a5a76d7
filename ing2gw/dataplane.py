"""The declared data-plane protocol: what a provider offers ``verify`` beyond conversion.

A provider whose controller can be modelled sets ``data_plane`` to an object satisfying
:class:`DataPlane` (``None`` otherwise)::

    class MyProvider:
        data_plane = MyDataPlane()

:class:`DataPlane` builds a :class:`DataPlaneModel` -- ``route(request) -> Outcome``, the same
typed :class:`~ing2gw.router.Outcome` the reference router returns, so both sides of a
replay are compared by one summariser -- and gives the header sets worth probing, the notes
about the controller itself (what no Ingress causes), and optionally an oracle (the real
controller as a :class:`Checker`). The plugin loader checks the declaration once
(:func:`data_plane_of`) and the registry hands it out (``Registry.data_plane``).

A data plane whose controller also routes streams (TCP, TLS by SNI, UDP) may offer
``streams(resources) -> StreamModel | None`` (optional: providers without it need no change);
``verify`` then replays connections through it and the reference stream router
(:mod:`ing2gw.streamverify`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .http import Request
from .notes import Note
from .resources import Ingress, ResourceSet

if TYPE_CHECKING:
    from .enforce.credentials import Credentials
    from .router.outcome import Outcome
    from .router.streams import Connection, StreamOutcome

__all__ = ["Checker", "DataPlane", "DataPlaneModel", "HeaderSets", "StreamModel", "data_plane_of",
           "with_enforcement"]

# Ingress "ns/name" -> header sets (each a tuple of (name, value)) to probe it with; a set
# that starts with (":method", "OPTIONS") probes with that method (CORS preflights).
HeaderSets = Mapping[str, Sequence[tuple[tuple[str, str], ...]]]


class DataPlaneModel(Protocol):
    """The source controller's answer to one request (``request.client``, when set, is the
    peer address allow/deny lists see). The outcome's ``matched`` names the Ingress that
    answered in ``route`` (``kind="Ingress"``) and its path in ``rule_name``, so that
    ``verify`` can tell which notes are about the rule that served the request.

    A model that answers a slow backend (``request.backend_delay``) with its controller's
    timeouts says so with a true ``models_timeouts`` attribute (optional); ``verify`` probes
    timeouts only then. A model that knows which certificate its controller presents (route
    objects of its own list TLS hosts) offers ``presented_certificate(sni) -> "ns/name" | None``
    (optional; None: the controller's default certificate), which ``verify`` compares with
    the Gateway's wildcard listeners (:mod:`ing2gw.widened`). A model whose answers can be
    made otherwise than as an Outcome offers ``answering(answers) -> route`` (optional: a
    function answering as ``route`` does, each answer made by
    :class:`~ing2gw.router.outcome.Answers` ``answers``), which ``verify`` uses to make its
    summaries without the outcomes (:func:`ing2gw.verify.summarising`)."""

    def route(self, request: Request, /) -> Outcome: ...


class StreamModel(Protocol):
    """The source controller's answer to one stream connection (optional capability of a
    :class:`DataPlane`: ``streams(resources)``), in the reference stream router's terms
    (:class:`~ing2gw.router.streams.StreamOutcome`; ``route`` names the source object that
    took it, ``Kind ns/name``). ``endpoints`` are the connections its source objects name:
    each stream port, as ``TCP``/``UDP``, and each SNI, as ``TLS``."""

    def endpoints(self) -> Sequence[Connection]: ...

    def route(self, connection: Connection, /) -> StreamOutcome: ...


def with_enforcement(model: DataPlaneModel, credentials: Credentials, clock: Callable[[], float] | None = None,
                     count: bool = True) -> DataPlaneModel:
    """``model`` checking credentials against ``credentials`` (htpasswd files by Secret) and,
    with ``count``, counting rate limits on ``clock``, when it offers that (an optional
    ``enforcing(credentials, clock, count)`` method); otherwise ``model`` itself."""
    enforcing = getattr(model, "enforcing", None)
    return enforcing(credentials, clock, count) if callable(enforcing) else model


class Checker(Protocol):
    """A second opinion on every replayed request (the real controller, the proxy)."""

    name: str

    def check(self, request: Request) -> list[str] | None:
        """Disagreements with the model for ``request``; ``None`` when it cannot tell."""
        ...

    def stop(self) -> None: ...


@runtime_checkable
class DataPlane(Protocol):
    """What a provider declares so that its conversions can be verified."""

    def model(self, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> DataPlaneModel:
        """A model of the controller serving ``resources``."""
        ...

    def probe_headers(self, ingresses: Sequence[Ingress]) -> HeaderSets:
        """Header sets worth probing per Ingress (canary headers and cookies ...). A data plane
        may also offer ``probe_paths(ingresses)``: Ingress ``ns/name`` -> paths worth probing on
        its hosts beyond the generated ones (a path a regular expression takes)."""
        ...

    def controller_notes(self) -> Sequence[Note]:
        """Differences between the controller and any Gateway API data plane that no Ingress
        causes; each note declares the aspects and scope it explains."""
        ...

    def oracle(self, model: DataPlaneModel) -> Checker | None:
        """The real controller started for ``model`` (``verify --oracle``), or ``None`` when
        the provider has none."""
        ...


def data_plane_of(provider: object) -> DataPlane | None:
    """The provider's declared ``data_plane`` (``None``: it offers none), checked against
    :class:`DataPlane` when the plugin is loaded; a declaration that does not satisfy it
    makes a broken plugin (``TypeError``)."""
    declared = getattr(provider, "data_plane", None)
    if declared is not None and not isinstance(declared, DataPlane):
        raise TypeError("data_plane does not implement ing2gw.dataplane.DataPlane")
    return declared
