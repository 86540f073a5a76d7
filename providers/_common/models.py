"""What the providers' data-plane models share: the backend key a model reports for an Ingress
backend, the note about path normalisation a model that matches raw request paths declares,
and whether a client address falls in a list of IP ranges."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ing2gw.notes import Fidelity, Level, Note
from ing2gw.resources import IngressBackend, ResourceSet

__all__ = ["backend_key", "client_in_ranges", "normalisation_note"]

# Request paths a load balancer and a Gateway may normalise differently: %XX escapes, //, dot segments.
DENORMAL = r"~%|//|/\.\.?(/|$)"


def backend_key(resources: ResourceSet, namespace: str, backend: IngressBackend) -> str | None:
    """``ns/name:port`` of a Service backend as the router names it (a named port resolved
    through the Service when it is in the input); ``None`` for a backend without a Service."""
    if backend.service is None:
        return None
    port = backend.port_number
    if port is None:
        svc = resources.services.get((namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
    return f"{namespace}/{backend.service}:{port if port is not None else backend.port_name}"


def normalisation_note(code: str, controller: str, what: str) -> Note:
    """The controller note of a model that matches ``what`` (URL maps, path maps) against the
    path as the client sent it."""
    return Note(code=code, level=Level.INFO, subject=f"controller {controller}", fidelity=Fidelity.APPROXIMATE,
                message=f"the model matches {what} against the path as the client sent it (escapes, // and dot "
                        "segments kept) and forwards it unchanged; the Gateway matches and forwards the path "
                        "normalised by its implementation's policy",
                instead="requests with escapes, // or dot segments may match differently or reach the backend "
                        "with another path",
                aspects=frozenset({"status", "backend", "redirect", "path"}), scope=(("*", DENORMAL),))


def client_in_ranges(client: str | None, ranges: Iterable[str]) -> bool:
    """Is ``client`` an address inside one of ``ranges`` (addresses or CIDRs)? Not an
    address, or no client known: no; a range that does not parse matches nothing."""
    if not client:
        return False
    try:
        addr = ipaddress.ip_address(client)
    except ValueError:
        return False
    for r in ranges:
        try:
            if addr in ipaddress.ip_network(r, strict=False):
                return True
        except ValueError:
            continue
    return False
