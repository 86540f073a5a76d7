"""ingress-nginx cookie affinity -> Gateway API ``sessionPersistence`` (experimental channel).

``affinity: cookie`` pins a client to one endpoint of the Service with a cookie
(``session-cookie-name``, default ``INGRESSCOOKIE``; ``session-cookie-expires`` /
``-max-age`` make it persistent). Gateway API expresses that per rule as
``sessionPersistence`` -- a field of the experimental channel, so it is emitted only with
``--experimental``; otherwise the rule's ``SessionAffinity`` intent (:mod:`.intents`)
carries it. Either way the cookie's attributes (path, domain, SameSite, Secure) and
ingress-nginx's per-Service-port scope stay behind, which the note says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ing2gw.ir import SessionPersistence
from ing2gw.notes import Fidelity, Level
from ing2gw.resources import Ingress

from .annotations import DEFAULT_SESSION_COOKIE_NAME
from .parsers import Duration

if TYPE_CHECKING:
    from .context import NoteContext

__all__ = ["session_persistence"]


def _duration(seconds: int) -> str | None:
    try:
        return Duration.of_seconds(seconds).gateway()
    except ValueError:
        return None  # beyond what a Gateway API duration can say: leave the lifetime open


def session_persistence(tr: NoteContext, ing: Ingress) -> SessionPersistence | None:
    """The rule's session persistence (None without ``--experimental``: the intent carries it)."""
    ann = tr.annotations(ing)
    if not ann.get("affinity"):
        return None
    name = str(ann.get("session-cookie-name") or DEFAULT_SESSION_COOKIE_NAME)
    lifetime = ann.get("session-cookie-expires") or ann.get("session-cookie-max-age")
    persistence = SessionPersistence(
        session_name=name,
        type="Cookie",
        absolute_timeout=_duration(int(lifetime)) if lifetime else None,
        lifetime_type="Permanent" if lifetime else "Session",
    )
    if tr.ctx.options.experimental:
        tr.note_ann(ing, "affinity", "AFFINITY", Level.INFO,
                    f"cookie affinity ({name}) becomes sessionPersistence on each rule; ingress-nginx keeps one "
                    "affinity per Service port and sets the cookie's path, domain and SameSite itself",
                    fidelity=Fidelity.APPROXIMATE, instead="sessionPersistence (experimental channel)",
                    aspects=("headers",))
        return persistence
    tr.note_ann(ing, "affinity", "AFFINITY-EXPERIMENTAL", Level.WARNING,
                "cookie affinity needs sessionPersistence, a field of Gateway API's experimental channel",
                fidelity=Fidelity.EXTENSION,
                instead="not emitted; pass --experimental to emit sessionPersistence", aspects=("headers",))
    return None
