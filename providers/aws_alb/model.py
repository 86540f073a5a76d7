"""A data-plane model of the ALBs the AWS Load Balancer Controller builds: what a request gets.

The request reaches the listener of its port on each ALB (IngressGroup); rules are tried in
priority order and the first whose every condition matches answers: ``host-header`` (ALB
patterns, case-insensitive, or regular expressions), ``path-pattern`` (patterns against the
path, case-sensitive), ``http-header`` (patterns, case-insensitive), ``http-request-method``
(exact), ``query-string`` (``key=value`` patterns, case-insensitive; any key when unset),
``source-ip`` (CIDRs, the client address). None: the listener default (fixed-response 404, the
group's default backend, or the ssl-redirect 301). Several ALBs on one port: the first (by
group key) that has a rule for the request answers, as a client resolving the host would reach.

Actions: forward (weights; the deterministic backend is the largest share), redirect (``#{...}``
placeholders keep the request's parts; the Location always carries the port), fixed-response.
Transforms rewrite the path or Host the target sees. ``inbound-cidrs`` refuse other clients
(the ALB security group drops the connection: reported as 403 here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ing2gw.http import Request
from ing2gw.kinds import KubeObject
from ing2gw.notes import Notes
from ing2gw.resources import ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .._common.models import client_in_ranges
from .actions import Action, Condition
from .groups import load_groups
from .paths import pattern_matches, regex_matches
from .stack import Alb, AlbListener, AlbRule, build_alb
from .transforms import apply

__all__ = ["AlbMatch", "AlbModel", "condition_matches"]


@dataclass(frozen=True, slots=True)
class AlbMatch(Matched):
    """The ALB rule that answered (JSON ``{"ingress", "path", "alb", "listener", "priority"}``)."""

    alb: str = ""
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.route, "path": self.rule_name, "alb": self.alb, "listener": self.listener,
                "priority": self.priority}


def condition_matches(c: Condition, request: Request, client: str | None) -> bool:
    if c.field == "host-header":
        host = request.hostname
        return any(pattern_matches(v, host, ignore_case=True) for v in c.values) or \
            any(regex_matches(r, host) for r in c.regex_values)
    if c.field == "path-pattern":
        return any(pattern_matches(v, request.path) for v in c.values) or \
            any(regex_matches(r, request.path) for r in c.regex_values)
    if c.field == "http-header":
        got = request.headers.get_all(c.header)
        return any(pattern_matches(v, g, ignore_case=True) for v in c.values for g in got) or \
            any(regex_matches(r, g) for r in c.regex_values for g in got)
    if c.field == "http-request-method":
        return request.method in c.values
    if c.field == "query-string":
        pairs = [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in request.query.split("&") if p]
        for key, value in c.query:
            for k, v in pairs:
                if (key is None or pattern_matches(key, k, ignore_case=True)) and \
                        pattern_matches(value, v, ignore_case=True):
                    return True
        return False
    if c.field == "source-ip":
        return client is not None and client_in_ranges(client, c.values)
    return False


def _fill(template: str, request: Request, port: int, protocol: str) -> str:
    path = request.path[1:] if request.path.startswith("/") else request.path
    values = {"host": request.hostname, "path": path, "port": str(port), "protocol": protocol.lower(),
              "query": request.query}
    return re.sub(r"#\{(host|path|port|protocol|query)\}", lambda m: values[m.group(1)], template)


class AlbModel:
    """The ALBs of a set of Ingresses, and their request handling."""

    def __init__(self, albs: Sequence[Alb], notes: Notes, resources: ResourceSet | None = None) -> None:
        self.albs = list(albs)
        self.notes = notes
        self.resources = resources or ResourceSet()

    @classmethod
    def from_resources(cls, resources: ResourceSet, objects: Sequence[KubeObject] = ()) -> AlbModel:
        notes = Notes()
        objects = list(objects) or [o for objs in resources.objects.values() for o in objs]
        groups = load_groups(resources.ingresses, resources, objects, notes)
        return cls([build_alb(g, resources, notes) for g in groups], notes, resources)

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        if client_ip is not None:
            request = replace(request, client=client_ip)
        first: Outcome | None = None
        for alb in self.albs:
            listener = next((ls for ls in alb.listeners if ls.port == request.port), None)
            if listener is None:
                continue
            if (listener.protocol == "HTTPS") != (request.scheme == "https"):
                continue
            outcome = self._on(alb, listener, request)
            if outcome.reason != "NoMatchingRule":
                return outcome
            first = first or outcome
        if first is not None:
            return first
        return Outcome(None, "ConnectionRefused", notes=(f"no ALB listens on {request.scheme} port {request.port}",))

    def _on(self, alb: Alb, listener: AlbListener, request: Request) -> Outcome:
        client = request.client
        if listener.inbound_cidrs and client is not None and not client_in_ranges(client, listener.inbound_cidrs):
            return Outcome(403, "Forbidden", notes=(f"client {client} is outside inbound-cidrs of {alb.key}",))
        for priority, rule in enumerate(listener.rules, 1):
            if all(condition_matches(c, request, client) for c in rule.conditions):
                matched = AlbMatch(gateway=alb.key, listener=listener.name, kind="Ingress", route=rule.ingress.ref,
                                   rule_name=rule.path, alb=alb.key, priority=priority)
                refused = _authenticate(rule, matched, request)
                if refused is not None:
                    return refused
                return self._act(rule.action, rule, matched, request, listener)
        if listener.default is None:
            return Outcome(404, "NoMatchingRule", notes=("listener default action: fixed-response 404",))
        ing = listener.default_ingress
        matched = AlbMatch(gateway=alb.key, listener=listener.name, kind="Ingress",
                           route=ing.ref if ing else "", rule_name="" if ing else None, alb=alb.key, priority=0)
        return self._act(listener.default, None, matched, request, listener)

    def _act(self, action: Action, rule: AlbRule | None, matched: AlbMatch, request: Request,
             listener: AlbListener) -> Outcome:
        if action.type == "fixed-response":
            status = action.fixed.status if action.fixed is not None else 404
            info = RuleInfo(matched=matched, backend=None, weights={})
            body = action.fixed.body if action.fixed is not None else ""
            return Outcome(status, "FixedResponse", info, notes=(f"body: {body}",) if body else ())
        if action.type == "redirect":
            r = action.redirect
            assert r is not None
            proto = _fill(r.protocol, request, listener.port, listener.protocol).lower()
            host = _fill(r.host, request, listener.port, listener.protocol)
            port = _fill(r.port, request, listener.port, listener.protocol)
            path = _fill(r.path, request, listener.port, listener.protocol)
            query = _fill(r.query, request, listener.port, listener.protocol)
            location = f"{proto}://{host}:{port}{path}" + (f"?{query}" if query else "")
            info = RuleInfo(matched=matched, backend=None, weights={})
            return Outcome(r.status, "Redirect", info, redirect=RedirectTo(location, r.status))
        weights: dict[str, float] = {}
        ns = matched.route.split("/", 1)[0] if matched.route else ""
        for tg in action.targets:
            tg_port: int | str | None = tg.port
            if isinstance(tg_port, str):  # a named Service port: the number the Service gives it
                svc = self.resources.services.get((ns, tg.service or ""))
                tg_port = next((sp.port for sp in svc.ports if sp.name == tg_port), tg_port) if svc else tg_port
            name = f"{ns}/{tg.service}:{tg_port}" if tg.service else f"targetgroup/{tg.arn or tg.name}"
            weights[name] = weights.get(name, 0) + float(tg.weight if tg.weight is not None else 1)
        total = sum(weights.values())
        if not weights or total == 0:
            return Outcome(503, "NoBackend", RuleInfo(matched=matched, backend=None, weights={}))
        shares = {k: v * 100 / total for k, v in weights.items()}
        backend = max(shares, key=lambda k: (shares[k], -list(shares).index(k)))
        info = RuleInfo(matched=matched, backend=backend, weights=shares)
        host, path = request.host, request.path
        for t in rule.transforms if rule is not None else ():
            if t.type == "url-rewrite":
                path = apply(t, path)
            else:
                host = apply(t, host)
        target = f"{path}?{request.query}" if request.query else path
        upstream = Upstream(request.method, host, target, request.headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream)


def _authenticate(rule: AlbRule, matched: AlbMatch, request: Request) -> Outcome | None:
    """ALB authentication before the rule's action: without the session cookie an OIDC/Cognito
    rule redirects to the identity provider (302), or answers 401 (``deny``), or lets the
    request through (``allow``); a JWT-validation rule answers 401 without a bearer token.
    Present credentials are not checked (the model has no identity provider)."""
    auth = rule.auth
    if not auth.active:
        return None
    info = RuleInfo(matched=matched, backend=None, weights={})
    if auth.type != "none":
        cookies = request.headers.get("cookie") or ""
        if f"{auth.session_cookie}-0=" in cookies or f"{auth.session_cookie}=" in cookies:
            return None
        if auth.on_unauthenticated == "allow":
            return None
        if auth.on_unauthenticated == "deny":
            return Outcome(401, "Unauthorized", info, notes=(f"auth-type {auth.type}: no session, deny",))
        idp = auth.idp or {}
        endpoint = str(idp.get("authorizationEndpoint") or (f"https://{idp.get('userPoolDomain')}/oauth2/authorize"
                                                              if idp.get("userPoolDomain") else "https://idp.invalid/"))
        return Outcome(302, "Redirect", info, redirect=RedirectTo(endpoint, 302),
                       notes=(f"auth-type {auth.type}: no session, redirected to the identity provider",))
    if not (request.headers.get("authorization") or "").lower().startswith("bearer "):
        return Outcome(401, "Unauthorized", info, notes=("jwt-validation: no bearer token",))
    return None
