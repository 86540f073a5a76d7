"""Contour's reading of Ingresses -> IR.

Paths (``internal/dag/ingress_processor.go``): ``Prefix`` is a segment prefix with trailing
slashes dropped (``/`` matches everything) -- a Gateway PathPrefix; ``Exact`` is exact; an
``ImplementationSpecific`` path (the default) is a regular expression when it holds one of
``^+*[]%`` and a *character* prefix otherwise (a PathPrefix, noted as narrower).
``spec.defaultBackend`` is a ``/`` rule of the host-less virtual host, which Contour places
before the rules so they can override it. Wildcard hosts match one DNS label.

Annotations: ``response-timeout`` becomes the rule's request timeout, ``retry-on`` /
``num-retries`` / ``per-try-timeout`` a retries intent, ``tls-cert-namespace`` moves the
Ingress's TLS Secrets to that namespace (the emitter adds the ReferenceGrant);
``ingress.kubernetes.io/force-ssl-redirect: "true"`` turns the plain-HTTP routes into 301
redirects to https, ``kubernetes.io/ingress.allow-http: "false"`` drops them (unless
force-ssl-redirect is set too). Service annotations of the backends are read and noted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Filter,
    PathMatch,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    Section,
    Timeouts,
)
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import Annotations, ProviderContext, ingress_scope
from ing2gw.resources import Ingress, IngressPath, IngressRule

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import ALLOW_HTTP, FORCE_SSL_REDIRECT, PREFIX, SERVICE_KEYS, TABLE, read_service
from .conditions import OTHER_RULE, PathKind

__all__ = ["REGEX_CHARACTERS", "ContourTranslator", "ingress_path"]

REGEX_CHARACTERS = "^+*[]%"


def ingress_path(value: str, path_type: str) -> tuple[PathKind, str]:
    """What Contour makes of an Ingress path: (``prefix``|``segment``|``exact``|``regex``, value)."""
    value = value or "/"
    if path_type == "Exact":
        return "exact", value
    if path_type == "Prefix":
        return ("prefix", "/") if value == "/" else ("segment", value.rstrip("/") or "/")
    if any(c in value for c in REGEX_CHARACTERS):
        return "regex", value
    return "prefix", value


def with_default_rule(ing: Ingress) -> Ingress:
    """The Ingress as Contour reads it: the default backend as a ``/`` rule of the host-less
    virtual host, before the rules."""
    if ing.default_backend is None:
        return ing
    rule = IngressRule("", (IngressPath("", "ImplementationSpecific", ing.default_backend, "spec.defaultBackend"),),
                       "spec.defaultBackend")
    return replace(ing, default_backend=None, rules=(rule, *ing.rules))


class ContourTranslator(IngressTranslator):
    """Contour's reading of Ingresses."""

    code = "CONTOUR"

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.ann: dict[str, Annotations] = {}
        self._services_read: set[tuple[str, str]] = set()

    def read(self, ingresses: Sequence[Ingress]) -> None:
        for ing in ingresses:
            pfx = PREFIX + "/"
            misplaced = sorted(k for k in ing.annotations if k.startswith(pfx) and k[len(pfx):] in SERVICE_KEYS)
            for key in misplaced:
                self.note(ing, "SERVICE-ANNOTATION-ON-INGRESS", Level.WARNING,
                          f"{key} is a Service annotation: Contour ignores it on an Ingress",
                          fidelity=Fidelity.UNSUPPORTED, instead="ignored (as Contour does)", fld=key)
            kept = {k: v for k, v in ing.annotations.items() if k not in misplaced}
            self.ann[ing.ref] = TABLE.read(replace(ing, annotations=kept), self.notes)
            if ing.annotations.get(FORCE_SSL_REDIRECT) == "true" and ing.annotations.get(ALLOW_HTTP) == "false":
                self.note(ing, "ALLOW-HTTP-OVERRIDDEN", Level.INFO,
                          f"{FORCE_SSL_REDIRECT} wins over {ALLOW_HTTP}: plain HTTP is redirected, not refused",
                          fld=ALLOW_HTTP)

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        read = [with_default_rule(ing) for ing in ingresses]
        self._fallthrough(read)
        ir = super().translate(read)
        moved = {ing.ref: self.ann[ing.ref].get("tls-cert-namespace") for ing in ingresses
                 if self.ann[ing.ref].get("tls-cert-namespace")}
        if not moved:
            return ir
        certs = tuple(replace(c, secret_namespace=moved.get(c.source.ref) or c.secret_namespace)
                      for c in ir.certificates)
        return replace(ir, certificates=certs)

    def _fallthrough(self, ingresses: Sequence[Ingress]) -> None:
        """Contour answers a named host's unmatched paths with 404; the Gateway hands them to
        the host-less routes (of ``spec.defaultBackend`` or a rule without a host)."""
        named = sorted({r.host for ing in ingresses for r in ing.rules if r.host})
        for ing in ingresses:
            fields = [r.field for r in ing.rules if not r.host]
            if named and fields:
                self.note(ing, "HOSTLESS-FALLTHROUGH", Level.INFO,
                          "a request for a named host that none of its paths match gets 404 from Contour (its "
                          "virtual host has no route for it); the Gateway answers it from the host-less routes",
                          fidelity=Fidelity.APPROXIMATE, instead="host-less routes catch the unmatched paths",
                          fld=fields[0], aspects=OTHER_RULE,
                          scope=tuple((h, "") for h in named))

    # --- hooks ----------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        kind, value = ingress_path(pc.path.path, pc.path.path_type)
        if kind == "exact":
            return [RouteMatch(path=PathMatch("Exact", value))]
        if kind == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                self.note(pc, "PATH-REGEX-INVALID", Level.ERROR, f"path {value!r} is not a valid regular expression "
                          f"({exc}): Contour skips the rest of this Ingress rule", fld=pc.path.field + ".path",
                          instead="path skipped", aspects=("status", "backend"))
                return []
            return [RouteMatch(path=PathMatch("RegularExpression", value))]
        if kind == "prefix" and value != "/":
            self.note(pc, "PATH-CHARACTER-PREFIX", Level.INFO,
                      f"Contour matches the ImplementationSpecific path {value} as a character prefix (it also "
                      f"matches {value.rstrip('/')}x...); the Gateway's PathPrefix matches whole segments",
                      fidelity=Fidelity.APPROXIMATE, instead="PathPrefix (segment-wise)", fld=pc.path.field + ".path",
                      aspects=OTHER_RULE, scope=((pc.host, "~^" + re.escape(value.rstrip("/"))),))
        return [RouteMatch(path=PathMatch("PathPrefix", value))]

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        ann = self.ann[pc.ingress.ref]
        for b in backends:
            self._service_annotations(pc, b)
        timeouts = None
        timeout = ann.get("response-timeout")
        if "response-timeout" in ann and timeout is not None and timeout.millis > 0:
            timeouts = Timeouts(request=timeout.gateway())
        intents: list[i.Intent] = []
        retry_on = tuple(ann.get("retry-on") or ())
        if retry_on:
            per_try = ann.get("per-try-timeout")
            intents.append(i.Retries(on=retry_on, attempts=int(ann.get("num-retries")) + 1,
                                     budget_ms=None, provenance=replace(pc.provenance, field=f"{PREFIX}/retry-on")))
            if per_try is not None and per_try.millis:
                intents.append(i.Timeouts(read_ms=per_try.millis,
                                          provenance=replace(pc.provenance, field=f"{PREFIX}/per-try-timeout")))
        return [Rule(matches=tuple(matches), backends=backends, timeouts=timeouts, intents=tuple(intents),
                     provenance=(pc.provenance,))]

    def _service_annotations(self, pc: PathContext, backend: BackendRef) -> None:
        key = (backend.namespace, backend.name)
        svc = self.resources.services.get(key)
        if svc is None or key in self._services_read:
            return
        self._services_read.add(key)
        read_service(svc, self.notes, ingress_scope(pc.ingress))

    def route_sections(self, ingress: Ingress, host: str, has_tls: bool) -> frozenset[Section]:
        sections: set[Section] = {"http", "https"} if has_tls and host else {"http"}
        if ingress.annotations.get(ALLOW_HTTP) == "false" and ingress.annotations.get(FORCE_SSL_REDIRECT) != "true":
            sections.discard("http")
        return frozenset(sections)

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        sections = self.route_sections(hr.ingress, hr.host, has_tls)
        if not sections:
            self.note(hr.ingress, "HTTP-NOT-ALLOWED", Level.INFO,
                      f"{ALLOW_HTTP} is false and host {hr.host or '*'} has no TLS: Contour serves it nowhere",
                      fld=ALLOW_HTTP, scope=((hr.host, ""),))
            return []
        if hr.ingress.annotations.get(FORCE_SSL_REDIRECT) != "true" or "http" not in sections:
            return [self.make_route(hr, sections)]
        redirect = RequestRedirect(scheme="https", status_code=301)
        plain = HostRoutes(hr.ingress, hr.host, hr.gateway, [
            Rule(matches=r.matches, filters=(Filter("RequestRedirect", redirect),), provenance=r.provenance)
            for r in hr.rules])
        routes = [self.make_route(plain, frozenset({"http"}))]
        if "https" in sections:
            route = self.make_route(hr, frozenset({"https"}))
            routes.append(replace(route, name=route.name + "-https"))
        return routes
