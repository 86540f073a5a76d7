"""A data-plane model of GKE Ingress: what the Google Cloud load balancer of each Ingress
answers (checked against ingress-gce's own tests, ``docs/upstream/gke``).

Every Ingress is its own load balancer. A request is tried on each Ingress's load balancer in
the order of their Gateways (``<namespace>-<name>``), as DNS would send it to the one serving
its host: the first whose URL map has a host rule for the request's host (or, failing that, the
first that answers at all) gives the outcome. On one load balancer:

* plain HTTP is refused without an HTTP forwarding rule (``allow-http: "false"``), and
  redirected to https with the FrontendConfig's code when ``redirectToHttps`` is on; HTTPS is
  refused when the Ingress has no certificate at all;
* the URL map (:mod:`.urlmap`) picks the path rule (longest match), else the Ingress's default
  backend, else the system default backend: 404;
* the backend Service port's BackendConfig applies: IAP sends a request without an IAP session
  cookie to Google sign-in (302), custom request headers are added upstream and custom response
  headers to the answer. Cloud Armor policies are named, not known: requests pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.kinds import KubeObject
from ing2gw.names import slug
from ing2gw.notes import Notes
from ing2gw.provider import ingress_scope
from ing2gw.resources import Ingress, IngressBackend, ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .._common.models import backend_key
from .annotations import FRONTEND_CONFIG, read_ingress
from .configs import BackendSettings, backend_config, backend_settings, frontend_settings
from .translator import gateway_key, ingress_class
from .urlmap import UrlMap, select, url_map

__all__ = ["IAP_SIGN_IN", "GkeMatch", "GkeModel", "LoadBalancer"]

IAP_SIGN_IN = "https://accounts.google.com/o/oauth2/v2/auth"
_IAP_COOKIE = "GCP_IAP_UID"
_UNMATCHED = frozenset({"NoMatchingRoute", "ConnectionRefused"})


@dataclass(frozen=True, slots=True)
class GkeMatch(Matched):
    """The URL-map entry that answered (JSON ``{"ingress", "path", "gclbPath"}``)."""

    gclb_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.route, "path": self.rule_name, "gclbPath": self.gclb_path}


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    """One Ingress's load balancer."""

    name: str  # the Gateway key
    map: UrlMap
    http: bool
    https: bool
    redirect_code: int | None


class GkeModel:
    """The load balancers of a set of GKE Ingresses and their request handling."""

    def __init__(self, balancers: Sequence[LoadBalancer], resources: ResourceSet, objects: Sequence[KubeObject],
                 notes: Notes) -> None:
        self.balancers = sorted(balancers, key=lambda b: slug(b.name))
        self.resources = resources
        self.objects = objects
        self.notes = notes
        self._settings: dict[tuple[str, str, str], BackendSettings | None] = {}
        self._orders: dict[str, list[LoadBalancer]] = {}

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> GkeModel:
        notes = Notes()
        objects = [o for objs in resources.objects.values() for o in objs]
        balancers: list[LoadBalancer] = []
        for ing in resources.ingresses:
            ann = read_ingress(ing, notes, ingress_scope(ing))
            fc_name = ann.get(FRONTEND_CONFIG)
            fc = frontend_settings(objects, ing.namespace, str(fc_name)) if fc_name else None
            tls = any(t.secret_name for t in ing.tls) or bool(ann.get("ingress.gcp.kubernetes.io/pre-shared-cert")) \
                or bool(ann.get("networking.gke.io/managed-certificates"))
            balancers.append(LoadBalancer(gateway_key(ing), url_map(ing, resources),
                                          ann.get("kubernetes.io/ingress.allow-http") is not False, tls,
                                          fc.redirect_code if fc is not None else None))
        return cls(balancers, resources, objects, notes)

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        first: Outcome | None = None
        for lb in self._order(request.hostname):
            outcome = self._route(lb, request)
            if outcome.reason not in _UNMATCHED:
                return outcome
            first = first or outcome
        return first or Outcome(None, "ConnectionRefused", notes=("no GKE Ingress",))

    def _order(self, hostname: str) -> list[LoadBalancer]:
        """The load balancers in the order a request for ``hostname`` tries them: those with a
        host rule of their own for it first (cached per hostname)."""
        key = hostname.lower()
        found = self._orders.get(key)
        if found is None:
            known = [b for b in self.balancers if (h := b.map.host_rule(key)) is not None and h.host != "*"]
            found = known + [b for b in self.balancers if b not in known]
            if len(self._orders) < 100_000:
                self._orders[key] = found
        return found

    def _route(self, lb: LoadBalancer, request: Request) -> Outcome:
        ing = lb.map.ingress
        if request.scheme == "http" and not lb.http:
            return Outcome(None, "ConnectionRefused", notes=(f"{ing.ref}: allow-http is false",))
        if request.scheme == "https" and not lb.https:
            return Outcome(None, "ConnectionRefused", notes=(f"{ing.ref}: the load balancer has no certificate",))
        base = GkeMatch(gateway=lb.name, listener=request.scheme, kind="Ingress", route=ing.ref)
        if request.scheme == "http" and lb.redirect_code is not None:
            location = f"https://{request.hostname}{request.target}"
            info = RuleInfo(matched=base, backend=None, weights={})
            return Outcome(lb.redirect_code, "Redirect", info, redirect=RedirectTo(location, lb.redirect_code))
        host = lb.map.host_rule(request.hostname)
        chosen = select(host.paths, request.path) if host is not None else None
        if chosen is not None:
            backend: IngressBackend | None = chosen.backend
            matched = GkeMatch(gateway=lb.name, listener=request.scheme, kind="Ingress", route=ing.ref,
                               rule_name=_ingress_path(ing, chosen.field), gclb_path=chosen.path)
        elif lb.map.default is not None and not any(f == "spec.defaultBackend" for f, _ in lb.map.errors):
            backend = lb.map.default
            matched = GkeMatch(gateway=lb.name, listener=request.scheme, kind="Ingress", route=ing.ref,
                               rule_name="spec.defaultBackend", gclb_path="default")
        else:
            reason = "NoMatchingRoute" if host is None else "DefaultBackend"
            return Outcome(404, reason, RuleInfo(matched=base, backend=None, weights={}),
                           notes=("default backend - 404",))
        assert backend is not None
        name = backend_key(self.resources, ing.namespace, backend)
        info = RuleInfo(matched=matched, backend=name, weights={name: 100} if name else {})
        settings = self._backend_settings(ing, backend)
        headers = request.headers
        response = Headers()
        if settings is not None:
            if settings.iap and _IAP_COOKIE not in (request.headers.get("cookie") or ""):
                return Outcome(302, "IapSignIn", info, redirect=RedirectTo(IAP_SIGN_IN, 302),
                               notes=("IAP: no signed-in session",))
            for k, v in settings.request_headers:
                headers = headers.add(k, v)
            for k, v in settings.response_headers:
                response = response.add(k, v)
        if name is None:
            return Outcome(503, "NoBackend", info)
        upstream = Upstream(request.method, request.host, request.target, headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response)

    def _backend_settings(self, ing: Ingress, backend: IngressBackend) -> BackendSettings | None:
        key = (ing.namespace, backend.service or "", str(backend.port_number or backend.port_name))
        if key not in self._settings:
            obj, _ = backend_config(self.resources, self.objects, ing.namespace, backend)
            regional = ingress_class(ing) in ("gce-internal", "gce-regional-external")
            settings = backend_settings(obj, regional) if obj is not None else None
            self._settings[key] = settings if settings is not None and (settings.intents or settings.request_headers
                                                                       or settings.response_headers) else None
        return self._settings[key]


def _ingress_path(ing: Ingress, fld: str) -> str:
    for rule in ing.rules:
        for p in rule.paths:
            if p.field == fld:
                return p.path or "/"
    return fld
