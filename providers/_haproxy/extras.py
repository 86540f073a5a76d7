"""What an HAProxy controller's Ingress asks beyond its HTTP rules, in Gateway API terms:
TLS passthrough, TLS to the pods, host aliases and redirects from other hosts.

* ``ssl-passthrough`` (both controllers): haproxy hands the TLS of the Ingress's hosts, chosen
  by SNI, unterminated to the backend of the host's ``/`` path (the other paths cannot be told
  apart inside TLS): a TLS listener in Passthrough mode and a TLSRoute per host
  (:class:`~ing2gw.ir.Passthrough`); the host gets no HTTPS listener, its HTTP routes stay on
  port 80. A wildcard host covers one label in haproxy, every name under it on the Gateway
  (noted; ``verify`` replays the hosts through :mod:`.streammodel`).
* TLS to the pods (haproxy-tech ``server-ssl`` with ``server-ca``; haproxy-ingress
  ``secure-backends`` or ``backend-protocol`` ``h1-ssl``/``h2-ssl``/``grpcs`` with
  ``secure-verify-ca-secret``): a BackendTLSPolicy per backend Service port, its CA taken from
  a ConfigMap named like the Secret (noted: Gateway API reads CAs from ConfigMaps), its
  hostname the verified name (``secure-verify-hostname``, else ``secure-sni``, else the
  Service's cluster name, noted). Without a CA haproxy does not verify the pods' certificate,
  which a BackendTLSPolicy always does: no policy, and an error note, since the Gateway would
  then speak plain HTTP to a TLS port.
* haproxy-ingress ``server-alias``: the alias joins the hostnames of the Ingress's routes;
  ``redirect-from``: a route for that other host redirecting every request to the Ingress's
  host (``redirect-from-code``, default 302), scheme, path and query kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ing2gw.ir import (
    IR,
    BackendTLS,
    Filter,
    GatewayRef,
    Passthrough,
    PathMatch,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
)
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, stream_scope
from ing2gw.resources import Ingress

from .._common.passthrough import HTTPS_PORT as PASSTHROUGH_PORT

if TYPE_CHECKING:
    from .translate import HaproxyTranslator

__all__ = ["finish"]

_PASS_ASPECTS = ("status", "backend", "tls", "redirect", "path", "headers")


def _rules_of(ir: IR, ing: Ingress) -> list[tuple[Route, Rule]]:
    return [(route, rule) for route in ir.routes for rule in route.rules
            if any(p.kind == "Ingress" and p.ref == ing.ref for p in rule.provenance)]


def _passthrough(tr: HaproxyTranslator, ing: Ingress, taken: dict[tuple[GatewayRef, str], str]) -> list[Passthrough]:
    """The Ingress's passthrough hosts; a host an older Ingress passes through already (in
    ``taken``) keeps that one's backend, as its ``/`` path is that one's."""
    out: list[Passthrough] = []
    key = "ssl-passthrough"
    for rule in ing.rules:
        holder = taken.get((tr.ctx.gateway_for(ing), rule.host))
        if holder is not None:
            tr.note(ing, "SSL-PASSTHROUGH-HOST-TAKEN", Level.WARNING, f"host {rule.host} is passed through to the "
                    f"/ path of {holder}, the older Ingress", fidelity=Fidelity.EXACT,
                    instead="this Ingress's passthrough is not converted", fld=tr.fld(key))
            continue
        if not rule.host:
            tr.note(ing, "SSL-PASSTHROUGH-NO-HOST", Level.WARNING, "ssl-passthrough on a rule without a host: "
                    "haproxy chooses passthrough backends by SNI", fidelity=Fidelity.UNSUPPORTED,
                    instead="no passthrough for this rule", fld=tr.fld(key))
            continue
        paths = list(rule.paths)
        root = next((p for p in paths if (p.path or "/") == "/"), paths[0] if len(paths) == 1 else None)
        if root is None:
            tr.note(ing, "SSL-PASSTHROUGH-NO-ROOT", Level.WARNING, f"host {rule.host} has no / path, whose backend "
                    f"{tr.controller} passes the TLS to", fidelity=Fidelity.UNSUPPORTED,
                    instead="no passthrough for this host", fld=tr.fld(key), aspects=_PASS_ASPECTS,
                    scope=((rule.host, ""),))
            continue
        backend = tr.resolve_backend(ing, root.backend, root.field + ".backend")
        if backend is None:
            continue
        tr.note(ing, "SSL-PASSTHROUGH", Level.INFO,
                f"TLS for {rule.host} is handed by SNI to {backend.namespace}/{backend.name}:{backend.port} "
                f"unterminated, whatever the path; {tr.controller} serves the host's plain HTTP on port 80 with its "
                "HTTP rules", fidelity=Fidelity.APPROXIMATE,
                instead="a TLS listener in Passthrough mode and a TLSRoute (no HTTPS listener for the host)",
                fld=tr.fld(key), aspects=_PASS_ASPECTS, scope=((rule.host, ""),))
        if rule.host.startswith("*."):
            tr.note(ing, "SSL-PASSTHROUGH-WILDCARD-DEPTH", Level.WARNING, f"{tr.controller} passes through the SNIs "
                    f"one label under {rule.host} only (its host map stores the wildcard so); deeper names go on to "
                    "its HTTPS frontend", fidelity=Fidelity.APPROXIMATE, instead="converted: the Gateway's "
                    "Passthrough listener takes every name under it", fld=tr.fld(key),
                    aspects=("status", "backend", "tls"), scope=(stream_scope("TLS", PASSTHROUGH_PORT, rule.host),))
        prov = Provenance("Ingress", ing.namespace, ing.name, root.field, ing.origin)
        taken[(tr.ctx.gateway_for(ing), rule.host)] = ing.subject
        out.append(Passthrough(tr.ctx.gateway_for(ing), rule.host, ing.namespace,
                               f"{ing.name}-{host_slug(rule.host)}", backend, prov))
    return out


def _backend_tls(tr: HaproxyTranslator, ing: Ingress, ir: IR) -> list[BackendTLS]:
    wish = tr.policy(ing).backend_tls
    if wish is None:
        return []
    key = wish.key
    if wish.ca is None:
        tr.note(ing, "BACKEND-TLS-UNVERIFIED", Level.ERROR,
                f"{tr.controller} speaks TLS to the pods without verifying their certificate (no CA given); a "
                "BackendTLSPolicy always verifies, and without one the Gateway speaks plain HTTP to the pods' TLS "
                "port", fidelity=Fidelity.UNSUPPORTED,
                instead="no BackendTLSPolicy: add the CA (and the name to verify) to convert it", fld=tr.fld(key),
                aspects=("status",))
        return []
    ca_ns, _, ca_name = wish.ca.rpartition("/")
    tr.note(ing, "BACKEND-TLS-CA", Level.WARNING,
            f"BackendTLSPolicy takes its CA from a ConfigMap: copy ca.crt of Secret {wish.ca} into a ConfigMap "
            f"{ca_name} in namespace {ing.namespace}", fidelity=Fidelity.APPROXIMATE,
            instead=f"caCertificateRefs names ConfigMap {ca_name}", fld=tr.fld(key))
    if wish.hostname is None:
        tr.note(ing, "BACKEND-TLS-HOSTNAME", Level.WARNING,
                f"{tr.controller} checks the pods' certificate against the CA only; a BackendTLSPolicy also checks "
                "a hostname (and sends it as SNI)", fidelity=Fidelity.APPROXIMATE,
                instead="the hostname is the Service's cluster name <service>.<namespace>.svc (the certificate must "
                        "name it)", fld=tr.fld(key))
    prov = Provenance("Ingress", ing.namespace, ing.name, tr.fld(key), ing.origin)
    seen: dict[tuple[str, str, int | None], BackendTLS] = {}
    for _, rule in _rules_of(ir, ing):
        for b in rule.backends:
            if b.kind != "Service" or b.group:
                continue
            host = wish.hostname or f"{b.name}.{b.namespace}.svc"
            seen.setdefault((b.namespace, b.name, b.port), BackendTLS(
                namespace=b.namespace, service=b.name, port=b.port, hostname=host.lower(),
                ca_certificate_refs=(ca_name,), source=prov))
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1], k[2] or 0))]


def _aliased(ing: Ingress, aliases: Sequence[str], routes: list[Route]) -> list[Route]:
    out = []
    for route in routes:
        mine = any(s.kind == "Ingress" and s.ref == ing.ref for s in route.sources)
        if mine and len(route.hostnames) == 1 and route.hostnames[0] in {r.host for r in ing.rules if r.host}:
            extra = tuple(a for a in aliases if a not in route.hostnames)
            route = replace(route, hostnames=(*route.hostnames, *extra))
        out.append(route)
    return out


def _redirect_from(tr: HaproxyTranslator, ing: Ingress) -> list[Route]:
    pol = tr.policy(ing)
    if pol.redirect_from is None:
        return []
    source, code = pol.redirect_from
    hosts = sorted({r.host for r in ing.rules if r.host and not r.host.startswith("*.")})
    if len(hosts) != 1:
        tr.note(ing, "REDIRECT-FROM-HOSTS", Level.WARNING, f"redirect-from needs exactly one Ingress host to "
                f"redirect {source} to (it has {len(hosts)})", fidelity=Fidelity.UNSUPPORTED,
                instead="not converted", fld=tr.fld("redirect-from"))
        return []
    target = hosts[0]
    prov = Provenance("Ingress", ing.namespace, ing.name, tr.fld("redirect-from"), ing.origin)
    rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                filters=(Filter("RequestRedirect", RequestRedirect(hostname=target, status_code=code), prov),),
                provenance=(prov,))
    return [Route("HTTPRoute", ing.namespace, f"{ing.name}-{host_slug(source)}-redirect", tr.ctx.gateway_for(ing),
                  (source,), frozenset({"http"}), (rule,), (prov,))]


def finish(tr: HaproxyTranslator, ir: IR, ingresses: Sequence[Ingress]) -> IR:
    """``ir`` (the Ingresses' HTTP routes) with their passthrough hosts, backend TLS, aliases
    and redirect routes."""
    passthrough: list[Passthrough] = []
    taken: dict[tuple[GatewayRef, str], str] = {}
    backend_tls: list[BackendTLS] = []
    routes = list(ir.routes)
    for ing in tr.ordered(ingresses):
        pol = tr.policy(ing)
        if pol.passthrough:
            passthrough += _passthrough(tr, ing, taken)
        backend_tls += _backend_tls(tr, ing, ir)
        if pol.server_aliases:
            routes = _aliased(ing, pol.server_aliases, routes)
        routes += _redirect_from(tr, ing)
    if passthrough:  # a passthrough host has no HTTPS listener: its routes stay on port 80
        hosts = {(p.gateway, p.hostname) for p in passthrough}
        routes = [replace(r, sections=r.sections - {"https"}) if any((r.gateway, h) in hosts for h in r.hostnames)
                  else r for r in routes]
        routes = [r for r in routes if r.sections or r.parents]
    certificates = tuple(c for c in ir.certificates
                         if (c.gateway, c.hostname) not in {(p.gateway, p.hostname) for p in passthrough})
    unique_tls = {(b.namespace, b.service, b.port): b for b in (*ir.backend_tls, *backend_tls)}
    return replace(ir, routes=tuple(routes), certificates=certificates,
                   passthrough=(*ir.passthrough, *passthrough), backend_tls=tuple(unique_tls.values()))
