"""The stand-in external auth service: a deterministic answer where no real one is called.

``route``, ``verify`` and the source controllers' models do not call auth services. They ask
this stand-in, which decides from the headers the data plane sends to the auth service:

* a request carrying an ``Authorization`` header (any value) is allowed: ``200``, with the
  header ``X-Auth-Request-User: stand-in`` (a data plane copies it upstream when it copies
  auth response headers);
* any other request is refused: ``401`` with ``WWW-Authenticate: Bearer realm="stand-in"``.

So a case or probe with ``Authorization: Bearer anything`` passes external auth and one
without is refused, on every data plane that sends ``Authorization`` to the auth service
(nginx ``auth_request`` sends every client header; the Gateway API ExternalAuth filter always
sends ``Authorization``). ``serve`` runs the same stand-in as a real HTTP server
(:func:`ing2gw.proxy.echo`), next to an allow-all and a deny-all auth service.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..http import Headers

__all__ = ["AuthAnswer", "STAND_IN_USER", "stand_in"]

STAND_IN_USER = "stand-in"


@dataclass(frozen=True, slots=True)
class AuthAnswer:
    """An auth service's answer: its status (2xx allows) and response headers."""

    status: int
    headers: Headers

    @property
    def allowed(self) -> bool:
        return 200 <= self.status < 300


_ALLOW = AuthAnswer(200, Headers([("X-Auth-Request-User", STAND_IN_USER)]))
_DENY = AuthAnswer(401, Headers([("WWW-Authenticate", 'Bearer realm="stand-in"')]))


def stand_in(sent: Headers) -> AuthAnswer:
    """The stand-in's answer to an auth request carrying the headers ``sent``."""
    return _ALLOW if "authorization" in sent else _DENY
