"""Standard and experimental Gateway API forms for the targets that implement them (Istio,
Cilium), written into the emitted rule (``"rule"`` attachment, :mod:`.shared`): the
experimental ``retry`` (ingress-nginx's ``proxy-next-upstream`` conditions and tries), the
experimental ``ExternalAuth`` filter, and what the standard ``CORS`` filter changes."""

from __future__ import annotations

from typing import Any

from ...intents import Cors, ExternalAuth, Retries
from ...ir import Filter
from ..objects import API
from ..rules import _filter
from ..standard import _auth_filter, _differences
from .base import Piece, Site, reference_grant
from .values import duration

__all__ = ["cors_piece", "external_auth_piece", "retry_piece"]

_CONNECTION = ("error", "timeout")


def retry_piece(intent: Retries, site: Site, target: str, connection_failures: str) -> Piece | str:
    """The rule's ``retry`` field for ``intent``; ``connection_failures`` says in words what the
    target retries without a status code (nginx's ``error``/``timeout`` have none)."""
    if "off" in intent.on or intent.attempts == 1:
        return "retries are off in the source and the retry field cannot say zero attempts"
    if not site.experimental:
        return "the HTTPRoute retry field is in Gateway API's experimental channel (pass --experimental)"
    if intent.attempts == 0:
        return "unlimited tries have no retry.attempts value"
    codes = sorted({int(c[5:]) for c in intent.on if c.startswith("http_") and c[5:].isdigit()})
    ignored = [c for c in intent.on if not c.startswith("http_") and c not in _CONNECTION]
    notes = [f"{target} retries a request of any method (nginx does not retry a non-idempotent request once sent)",
             f"{target} waits a short backoff between attempts (nginx retries at once)"]
    if any(c in _CONNECTION for c in intent.on):
        notes.append(f"nginx's {'/'.join(c for c in intent.on if c in _CONNECTION)} conditions become "
                     f"{connection_failures}")
    elif not codes:
        return f"none of the retry conditions {', '.join(intent.on)} has a Gateway API form"
    if ignored:
        notes.append(f"conditions without a Gateway API form are ignored: {', '.join(ignored)}")
    if intent.budget_ms:
        notes.append(f"the {duration(intent.budget_ms)} time budget for retrying is not carried")
    retry: dict[str, object] = {"attempts": intent.attempts - 1}
    if codes:
        retry["codes"] = codes
    return Piece({"retry": retry}, difference="; ".join(notes))


def external_auth_piece(intent: ExternalAuth, site: Site) -> Piece | str:
    """The experimental ExternalAuth filter, first on the rule (an in-cluster http:// auth Service)."""
    if not site.experimental:
        return "the ExternalAuth filter is in Gateway API's experimental channel (pass --experimental)"
    f, why = _auth_filter(intent)
    if f is None:
        return why
    extra: tuple[dict[str, Any], ...] = ()
    if f.backend.namespace != site.namespace:
        extra = (reference_grant(API, site.manifest["kind"], site.namespace, "Service", f.backend.namespace,
                                 f.backend.name, [intent.provenance.subject]),)
    return Piece({"filters": [_filter(Filter("ExternalAuth", f, intent.provenance), site.namespace)]},
                 difference=_differences(intent, f), extra=extra)


def cors_piece(intent: Cors, site: Site, target: str) -> Piece | str:
    """The CORS filter is already on the route; what the target's Envoy answers differently."""
    notes = [f"the HTTPRoute CORS filter carries the CORS settings ({target})"]
    if intent.preflight_status:
        notes.append(f"Envoy answers preflight requests 200, not {intent.preflight_status}")
    if intent.echo_wildcard:
        notes.append("with credentials Envoy echoes the request's origin instead of *")
    return Piece({}, difference="; ".join(notes))
