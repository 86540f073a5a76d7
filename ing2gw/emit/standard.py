"""The ``standard`` emitter: plain Gateway API objects (:mod:`.gateway`), nothing vendor-specific.

The only intent it consumes is :class:`~ing2gw.intents.ExternalAuth`, and only with
``--experimental``: it becomes the experimental HTTPRoute ``ExternalAuth`` filter when the
auth URL names an in-cluster Service over plain HTTP (``http://svc.ns[.svc[.cluster.local]]``)
with no source variables. What differs is noted on each Ingress: the Gateway prefixes the
client's path with the URL's path (the source calls exactly that URL), sends only Host, Method,
Path, Content-Length, Authorization and Cookie (the source sends every header), uses the
client's method (the source a fixed one, GET by default), copies all auth response headers
when none are listed, and cannot redirect to a sign-in page.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ..intents import ExternalAuth, Intent
from ..ir import IR, BackendRef, ExternalAuthFilter, Filter, Route, Rule
from ..notes import Fidelity, Level, Note, Security
from .gateway import emit
from .registry import EMITTER_API_VERSION, EmitContext, intent_scope

__all__ = ["EMITTER", "StandardEmitter", "cluster_service"]

# svc.ns, svc.ns.svc, svc.ns.svc.cluster.local (a bare "svc" resolves in the proxy's own namespace)
_SERVICE_HOST = re.compile(r"^(?P<svc>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
                           r"(\.svc(\.cluster\.local)?)?)?$")
_PATH = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")


def cluster_service(host: str) -> tuple[str, str | None] | None:
    """``(service, namespace)`` of an in-cluster Service host name (namespace None when the
    name has none), or None when ``host`` is not one."""
    m = _SERVICE_HOST.match(host)
    return (m.group("svc"), m.group("ns")) if m else None


def _auth_filter(intent: ExternalAuth) -> tuple[ExternalAuthFilter | None, str]:
    """The filter for ``intent``, or None and why it does not fit."""
    if "$" in intent.url:
        return None, f"auth URL {intent.url} uses source variables"
    url = urlsplit(intent.url)
    if url.scheme != "http":
        return None, f"auth URL {intent.url} is not plain http:// (TLS to the auth service needs a BackendTLSPolicy)"
    service = cluster_service(url.hostname or "")
    if service is None or service[1] is None:
        return None, f"auth URL {intent.url} does not name an in-cluster Service as <service>.<namespace>"
    if url.query:
        return None, f"auth URL {intent.url} has a query, which the filter cannot send"
    path = url.path.rstrip("/")
    if path and not _PATH.fullmatch(path):
        return None, f"auth URL path {url.path!r} is not a valid filter path"
    backend = BackendRef(service[0], service[1], url.port or 80)
    return ExternalAuthFilter(backend=backend, path=path or None, allowed_headers=("Cookie",),
                              allowed_response_headers=intent.response_headers), ""


def _differences(intent: ExternalAuth, f: ExternalAuthFilter) -> str:
    out = ["the Gateway sends the auth service only Host, Method, Path, Content-Length, Authorization and "
           "Cookie, where the source sent every client header"]
    if f.path:
        out.append(f"it prefixes the client's path with {f.path} (the source called exactly {intent.url} and "
                   "passed the original URI in X-Original-URL)")
    out.append(f"it uses the client's method (the source used {intent.method or 'GET'})")
    if not intent.response_headers:
        out.append("it copies every auth response header upstream (the source copied none)")
    if intent.signin_url:
        out.append(f"a 401 reaches the client instead of a redirect to {intent.signin_url}")
    out.append("any non-200 auth answer refuses the request (the source passed 401/403 through and made other "
               "errors 500)")
    return "; ".join(out)


class StandardEmitter:
    name = "standard"
    api_version = EMITTER_API_VERSION
    description = ("Gateway API standard channel (experimental fields and the ExternalAuth filter with "
                   "--experimental); no implementation-specific objects")
    consumes: tuple[type[Intent], ...] = (ExternalAuth,)
    # optional: when each consumed intent is carried (shown by ``ing2gw emitters``)
    conditions = {ExternalAuth.kind: "with --experimental, for an auth URL naming an in-cluster http:// Service"}

    def emit(self, ir: IR, ctx: EmitContext) -> list[dict[str, Any]]:
        if ctx.options.experimental:
            ir = replace(ir, routes=tuple(self._external_auth(r, ctx) for r in ir.routes))
        return emit(ir, ctx.options, ctx.notes)

    def _external_auth(self, route: Route, ctx: EmitContext) -> Route:
        if route.kind != "HTTPRoute" or not any(isinstance(i, ExternalAuth) for r in route.rules for i in r.intents):
            return route
        rules: list[Rule] = []
        for rule in route.rules:
            intent = next((i for i in rule.intents if isinstance(i, ExternalAuth)), None)
            if intent is None:
                rules.append(rule)
                continue
            f, why = _auth_filter(intent)
            p = intent.provenance
            if f is None:
                ctx.notes.add(Note(code="EXTERNAL-AUTH-NOT-EXPRESSIBLE", level=Level.INFO,
                                   message=f"{why}, so the experimental ExternalAuth filter cannot carry it",
                                   subject=p.subject, field=p.field, origin=p.origin))
                rules.append(rule)
                continue
            ctx.consume(rule, intent)
            ctx.notes.add(Note(code="EXTERNAL-AUTH-FILTER", level=Level.WARNING,
                               message=f"external auth by {intent.url} becomes the experimental ExternalAuth filter; "
                                       + _differences(intent, f),
                               subject=p.subject, field=p.field, origin=p.origin, fidelity=Fidelity.APPROXIMATE,
                               instead="HTTPRoute ExternalAuth filter (experimental channel)",
                               security=Security.AUTHENTICATION, aspects=intent.aspects,
                               scope=intent_scope(route, [rule], intent)))
            rules.append(replace(rule, filters=(Filter("ExternalAuth", f, p), *rule.filters)))
        return replace(route, rules=tuple(rules))


EMITTER = StandardEmitter()
