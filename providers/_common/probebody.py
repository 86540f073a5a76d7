"""The body a replayed request announces: oracles (real nginx, real haproxy) send it.

``verify``'s body-limit probes carry a ``Content-Length`` header and no body (the model and the
router decide by the header). A real server that accepts the header waits for the body it was
promised, so an oracle sending only the header gets no answer; it sends that many bytes."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["declared_body"]


def declared_body(headers: Mapping[str, str]) -> bytes | None:
    """The body ``headers``' ``Content-Length`` announces, or ``None`` when they announce none."""
    size = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
    if size is None or not size.strip().isdigit():
        return None
    return b"x" * int(size)
