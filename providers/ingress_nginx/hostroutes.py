"""ingress-nginx: the routes of one host (the translator's ``host_routes`` hook).

A host's rules become one HTTPRoute or GRPCRoute. With a certificate it is served on the HTTPS
listener, where ingress-nginx adds HSTS (:func:`with_hsts`), and on plain HTTP either as well or,
under ``ssl-redirect``/``force-ssl-redirect``, as a redirect route that skips
``no-tls-redirect-locations``; ``app-root`` adds a redirect of ``/``, and a host in regex mode
keeps its rules in nginx's location order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ing2gw.ir import Filter, HeaderModifier, PathMatch, Provenance, Route, RouteMatch, Rule
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level

from . import redirects
from .rewrite import nginx_order_key

if TYPE_CHECKING:
    from .._common.ingress import HostRoutes
    from .context import HostRoutesContext

__all__ = ["host_routes", "with_hsts"]


def host_routes(t: HostRoutesContext, hr: HostRoutes, has_tls: bool) -> list[Route]:
    """The routes of one host: its HTTPRoute/GRPCRoute on the listeners it is served on, the
    plain-HTTP redirect route of ``ssl-redirect``/``force-ssl-redirect``, the app-root redirect and
    nginx's regex location order."""
    if (hr.gateway, hr.host) in t.passthrough_hosts:
        has_tls = False  # port 443 is the TLSRoute's; these routes serve port 80
    ing = hr.ingress
    ann = t.annotations(ing)
    rules = list(hr.rules)
    host_key = (hr.gateway, hr.host)
    if host_key in t.regex_hosts:
        rules.sort(key=lambda rule: _rule_order(t.nginx_paths, rule), reverse=True)
        if t.regex_hosts[host_key] > 1:
            t.note(ing, "REGEX-ORDER", Level.INFO,
                   f"ingress-nginx tries the regex locations of host {hr.host or '*'} in order (longest "
                   "path first) and takes the first match; Gateway API leaves the precedence of "
                   "RegularExpression matches to the implementation",
                   fidelity=Fidelity.APPROXIMATE,
                   instead="rules listed in ingress-nginx's order; check how the implementation orders "
                   "overlapping regular expressions", aspects=("status", "backend", "path", "redirect"),
                   scope=((hr.host, ""),))
    app_root: str | None = ann.get("app-root")
    if app_root is not None and t.route_kind(ing) == "HTTPRoute":
        prov = Provenance("Ingress", ing.namespace, ing.name, t.fld("app-root"), ing.origin)
        if "?" in app_root:  # the controller's validator refuses the value and ignores app-root
            t.note_ann(ing, "app-root", "APP-ROOT-QUERY", Level.WARNING,
                       f"ingress-nginx ignores app-root {app_root}: its validator refuses the query, so / "
                       "is served, not redirected", instead="no app-root redirect (as ingress-nginx)")
        else:
            redirect = redirects.app_root_redirect(app_root)
            rules.insert(0, Rule(matches=(RouteMatch(path=PathMatch("Exact", "/")),),
                                 filters=(Filter("RequestRedirect", redirect, prov),), provenance=(prov,)))
    hostnames = t.hostnames(hr)
    main = Route(
        kind=t.route_kind(ing), namespace=ing.namespace,
        name=f"{ing.name}-{host_slug(hr.host)}" if hr.host else ing.name,
        gateway=hr.gateway, hostnames=hostnames, sections=frozenset({"http"}), rules=tuple(rules),
        sources=(Provenance("Ingress", ing.namespace, ing.name, "", ing.origin),),
    )
    force = bool(ann.get("force-ssl-redirect"))
    if not has_tls:
        if force:
            t.note_ann(ing, "force-ssl-redirect", "FORCE-SSL-REDIRECT-NO-TLS", Level.WARNING,
                       f"host {hr.host or '*'} has no certificate, so the Gateway has no HTTPS listener "
                       "for it; redirecting its plain-HTTP requests would loop when TLS ends in front "
                       "of the Gateway (X-Forwarded-Proto is not consulted)",
                       fidelity=Fidelity.UNSUPPORTED,
                       instead="route kept on the HTTP listener without a redirect; add a TLS section "
                       "to the Ingress or redirect in front of the Gateway",
                       aspects=("status", "backend", "redirect"))
        return [main]
    if not (force or ann.get("ssl-redirect")):
        # Served on both listeners; HTTPS responses carry HSTS, plain-HTTP ones do not.
        https = with_hsts(t.hsts, replace(main, sections=frozenset({"https"})))
        if https is main or https.rules == main.rules:
            return [replace(main, sections=frozenset({"http", "https"}))]
        return [https, replace(main, name=f"{main.name}-http")]
    code = redirects.https_redirect_code(t.config)
    exempt = redirects.no_tls_redirect_locations(t.config)
    http_rules: list[Rule] = []
    seen: set[RouteMatch] = set()
    for r in rules:
        if redirects.is_redirect_rule(r) or _exempt(t.nginx_paths, r, exempt):
            http_rules.append(r)
            continue
        for m in r.matches or (RouteMatch(),):
            # The redirect happens whatever the headers (canary rules share the path).
            pm = RouteMatch(path=m.path)
            if pm in seen:
                continue
            seen.add(pm)
            origin = r.provenance[0] if r.provenance else None
            to_https = Filter("RequestRedirect", redirects.https_redirect(code), origin)
            http_rules.append(Rule(matches=(pm,), filters=(to_https,), provenance=r.provenance))
    root = RouteMatch(path=PathMatch("PathPrefix", "/"))
    if t.rootless.get(host_key) is ing and root not in seen and http_rules != rules:
        # nginx's implicit / location redirects the host's unmatched paths to HTTPS too
        prov = Provenance("Ingress", ing.namespace, ing.name, "", ing.origin)
        http_rules.append(Rule(matches=(root,), filters=(Filter("RequestRedirect", redirects.https_redirect(code),
                                                                prov),), provenance=(prov,)))
    if http_rules == rules:
        https = with_hsts(t.hsts, replace(main, sections=frozenset({"https"})))
        if https.rules == main.rules:
            return [replace(main, sections=frozenset({"http", "https"}))]
        return [https, replace(main, name=f"{main.name}-http")]
    if not ann.get("preserve-trailing-slash"):
        t.note_ann(ing, "ssl-redirect", "SSL-REDIRECT-TRAILING-SLASH", Level.INFO,
                   f"plain-HTTP requests for {hr.host or '*'} are redirected to HTTPS ({code}); nginx "
                   "removes one trailing slash from the redirected URI (GET / -> https://host), the "
                   "Gateway keeps the path as requested",
                   fidelity=Fidelity.APPROXIMATE,
                   instead="HTTPS-only route plus a redirect route on the HTTP listener",
                   aspects=("redirect",), scope=((hr.host, ""),))
    if force:
        t.note_ann(ing, "force-ssl-redirect", "FORCE-SSL-REDIRECT-FORWARDED", Level.INFO,
                   "force-ssl-redirect trusts X-Forwarded-Proto when the controller uses forwarded "
                   "headers; the Gateway redirects every plain-HTTP request",
                   fidelity=Fidelity.APPROXIMATE, instead="redirect route on the HTTP listener",
                   aspects=("redirect",), scope=((hr.host, ""),))
    redirect_route = Route(
        kind="HTTPRoute", namespace=main.namespace, name=f"{main.name}-redirect", gateway=main.gateway,
        hostnames=main.hostnames, sections=frozenset({"http"}), rules=tuple(http_rules),
        sources=main.sources,
    )
    return [with_hsts(t.hsts, replace(main, sections=frozenset({"https"}))), redirect_route]


def with_hsts(value: str | None, route: Route) -> Route:
    """ingress-nginx adds Strict-Transport-Security to every HTTPS response (ConfigMap
    ``hsts``, on by default), overwriting the upstream's; the same as a response header
    filter on the HTTPS-only route."""
    if value is None or route.kind not in ("HTTPRoute", "GRPCRoute"):
        return route
    rules = []
    for rule in route.rules:
        if redirects.is_redirect_rule(rule):
            rules.append(rule)
            continue
        filters = list(rule.filters)
        for i, f in enumerate(filters):
            if f.type == "ResponseHeaderModifier" and isinstance(f.value, HeaderModifier):
                kept = tuple((k, v) for k, v in f.value.set if k.lower() != "strict-transport-security")
                filters[i] = replace(f, value=replace(f.value, set=(*kept, ("Strict-Transport-Security", value))))
                break
        else:
            filters.append(Filter("ResponseHeaderModifier",
                                  HeaderModifier(set=(("Strict-Transport-Security", value),)),
                                  rule.provenance[0] if rule.provenance else None))
        rules.append(replace(rule, filters=tuple(filters)))
    return replace(route, rules=tuple(rules))


def _rule_order(paths: Mapping[tuple[str, str], str], rule: Rule) -> tuple[int, bytes]:
    prov = rule.provenance[0] if rule.provenance else None
    path = paths.get((prov.ref, prov.field), "/") if prov is not None else "/"
    return nginx_order_key(path)


def _exempt(paths: Mapping[tuple[str, str], str], rule: Rule, prefixes: Sequence[str]) -> bool:
    """Is the rule's location one the HTTPS redirect skips (``no-tls-redirect-locations``)?"""
    prov = rule.provenance[0] if rule.provenance else None
    if prov is None:
        return False
    path = paths.get((prov.ref, prov.field))
    return path is not None and any(path.startswith(p) for p in prefixes)
