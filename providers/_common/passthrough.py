"""SNI passthrough on a controller's HTTPS port as a stream model for ``verify``
(:class:`ing2gw.dataplane.StreamModel`), shared by the models whose controllers hand the TLS
of chosen hosts unterminated to a backend: a ClientHello whose SNI is such a host (exactly, or
one label under a ``*.`` host where the controller matches wildcards so) goes,
encrypted, to its backend; every other connection to the port goes on to the controller's HTTPS
server (HTTP routing, which ``verify``'s HTTP replay covers: here it is not a stream route)."""

from __future__ import annotations

from collections.abc import Mapping

from ing2gw.router.streams import Connection, StreamOutcome

__all__ = ["HTTPS_PORT", "SniPassthrough"]

HTTPS_PORT = 443


class SniPassthrough:
    """``hosts``: SNI -> (backend ``ns/svc:port``, the source object that asks for it, or "").
    A host ``*.d`` is matched only with ``one_label`` (a name one label under ``d``, after the
    exact names); otherwise hosts are exact SNIs."""

    def __init__(self, controller: str, hosts: Mapping[str, tuple[str, str]], one_label: bool = False) -> None:
        self.controller = controller
        self.hosts = {h.lower(): v for h, v in hosts.items()}
        self.one_label = one_label

    def endpoints(self) -> list[Connection]:
        return [Connection("TLS", HTTPS_PORT, h) for h in sorted(self.hosts)]

    def route(self, conn: Connection, /) -> StreamOutcome:
        listener = f"{self.controller} TLS passthrough :{HTTPS_PORT}"
        if conn.port != HTTPS_PORT or conn.protocol == "UDP":
            return StreamOutcome(None, f"no stream on port {conn.port}: {self.controller} passes TLS through on "
                                       f"{HTTPS_PORT} only")
        sni = (conn.sni or "").lower()
        found = self.hosts.get(sni) if conn.protocol == "TLS" else None
        if found is None and self.one_label and conn.protocol == "TLS" and "." in sni:
            found = self.hosts.get("*." + sni.split(".", 1)[1])
        if found is None:
            return StreamOutcome(None, f"not a passthrough SNI: {self.controller}'s HTTPS server takes it (HTTP "
                                       "routing)", listener=listener)
        return StreamOutcome(found[0], "", "passthrough", None, ((found[0], 100),), listener, found[1] or None)
