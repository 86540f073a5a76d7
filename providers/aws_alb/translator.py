"""ALBs (:mod:`.stack`) -> IR: one Gateway per ALB, its listeners, and the rules as HTTPRoutes.

Each ALB (an IngressGroup, or a lone Ingress) becomes one Gateway named after the group; each
listener an explicit Gateway listener (``http-80``, ``https-443`` ...). Each (Ingress, host set)
becomes an HTTPRoute on the listeners the Ingress listens on, with one rule per ALB rule in ALB
order; :mod:`.rules` converts conditions and actions. An HTTP listener with ``ssl-redirect``
gets one host-less redirect route; a group default backend one host-less catch-all route.

ALB answers with the first matching rule; a Gateway by precedence. Rules the ALB never
reaches (an earlier rule covers every request they match) are left out -- exact, since the ALB
never serves them. Where a later rule overlaps an earlier one and Gateway API precedence
would prefer it, both are noted (``ALB-RULE-ORDER``) with the Ingress paths they concern.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ing2gw.intents import IPAccess, Opaque
from ing2gw.ir import (
    IR,
    BackendRef,
    CertificateRef,
    Filter,
    GatewayIntent,
    GatewayRef,
    Listener,
    ListenerParent,
    PathMatch,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
)
from ing2gw.kinds import KubeObject
from ing2gw.names import slug
from ing2gw.notes import Fidelity, Level, Note, Security
from ing2gw.provider import ProviderContext
from ing2gw.resources import Ingress

from .annotations import PREFIX, TABLE, row_key
from .groups import load_groups
from .protections import protections
from .rules import RuleConverter, rank
from .stack import Alb, AlbListener, AlbRule, build_alb, covers, member_certificates, overlaps

__all__ = ["AlbTranslator"]

_ORDER_ASPECTS = frozenset({"status", "backend", "weights", "redirect", "path", "host"})
_RULES_PER_LISTENER = 100  # the ALB quota (rules besides the default one)
# IngressClassParams fields the conversion carries (the rest are noted)
_PARAMS_CONVERTED = frozenset({"group", "certificateArn", "sslRedirectPort", "inboundCIDRs", "prefixListsIDs",
                               "PrefixListsIDs", "listeners", "namespaceSelector", "wafv2AclArn", "wafv2AclName"})


@dataclass(slots=True)
class _RouteParts:
    ingress: Ingress
    hostnames: tuple[str, ...]
    parents: list[ListenerParent] = field(default_factory=list)
    rules: dict[str, Rule] = field(default_factory=dict)  # by the Ingress path field, in ALB order


class AlbTranslator:
    """The controller's reading of a set of Ingresses, as Gateway API IR."""

    def __init__(self, ctx: ProviderContext, objects: Sequence[KubeObject]) -> None:
        self.ctx = ctx
        self.notes = ctx.notes
        self.objects = objects
        self.rules = RuleConverter(ctx)

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        groups = load_groups(ingresses, self.ctx.resources, self.objects, self.notes)
        listeners: list[Listener] = []
        routes: list[Route] = []
        gateway_intents: list[GatewayIntent] = []
        for group in groups:
            if not group.members:
                continue
            alb = build_alb(group, self.ctx.resources, self.notes)
            first = alb.members[0].ingress
            gw = GatewayRef(key=alb.key.replace("/", "-"), gateway_class=self.ctx.gateway_for(first).gateway_class)
            for ls in alb.listeners:
                listeners.append(self._listener(alb, ls, gw))
                access = self._access(alb, ls)
                if access is not None and GatewayIntent(gw, access) not in gateway_intents:
                    gateway_intents.append(GatewayIntent(gw, access))
            gateway_intents += [GatewayIntent(gw, x) for x in protections(alb, self.notes)]
            self._params_notes(alb)
            routes += self._routes(alb, gw)
        self._service_notes(ingresses)
        return IR(routes=tuple(routes), listeners=tuple(listeners), gateway_intents=tuple(gateway_intents))

    def _access(self, alb: Alb, ls: AlbListener) -> IPAccess | Opaque | None:
        """The ALB security group's inbound rules for one listener, as an intent (a protection)."""
        if not ls.inbound_cidrs and not ls.prefix_lists:
            return None
        setter = next((m for m in alb.members if m.annotations.get("inbound-cidrs") or m.params.get("inboundCIDRs")
                       or m.annotations.get("security-group-prefix-lists")), alb.members[0])
        ing = setter.ingress
        key = "inbound-cidrs" if ls.inbound_cidrs else "security-group-prefix-lists"
        prov = Provenance("Ingress", ing.namespace, ing.name, f"{PREFIX}/{key}", ing.origin)
        admitted = ", ".join(ls.inbound_cidrs + ls.prefix_lists)
        self._note(ing, "INBOUND-CIDRS", Level.INFO,
                   f"the ALB's security group admits only {admitted} on {ls.name}, for every host of the group",
                   prov.field, fidelity=Fidelity.EXTENSION, instead=f"an ip-access intent on Gateway {slug(alb.key)}",
                   aspects=("status", "auth"), scope=(("*", ""),))
        if not ls.inbound_cidrs:
            return Opaque(vendor="aws-alb", key="security-group-prefix-lists", raw=",".join(ls.prefix_lists),
                          protection=Security.ACCESS_CONTROL, affects=("status", "auth"), provenance=prov)
        if ls.prefix_lists:
            self._note(ing, "PREFIX-LISTS", Level.WARNING,
                       f"managed prefix lists {', '.join(ls.prefix_lists)} are admitted too; their addresses are in "
                       "AWS, not in the input", prov.field, fidelity=Fidelity.UNSUPPORTED,
                       instead="the ip-access intent admits the CIDRs only", aspects=("status", "auth"),
                       scope=(("*", ""),))
        return IPAccess(allow=ls.inbound_cidrs, scope="gateway", provenance=prov)

    def _params_notes(self, alb: Alb) -> None:
        """IngressClassParams fields besides group, certificates, ssl-redirect, inbound CIDRs and
        prefix lists: load-balancer settings the target needs to provide itself."""
        seen: set[int] = set()
        for m in alb.members:
            if not m.params or id(m.params) in seen:
                continue
            seen.add(id(m.params))
            for key in sorted(m.params):
                if key in _PARAMS_CONVERTED:
                    continue
                self._note(m.ingress, "CLASS-PARAMS-UNSUPPORTED", Level.WARNING,
                           f"IngressClassParams spec.{key} = {json.dumps(m.params[key], sort_keys=True)}: a "
                           "load-balancer setting; the target needs its own (AWS LBC Gateway: "
                           "LoadBalancerConfiguration / TargetGroupConfiguration)", f"IngressClassParams spec.{key}",
                           fidelity=Fidelity.UNSUPPORTED, instead="not converted")

    def _service_notes(self, ingresses: Sequence[Ingress]) -> None:
        """The ``alb.ingress.kubernetes.io/*`` annotations of the Services the Ingresses use
        (target group settings: target type, health checks, protocol) through the table."""
        used: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for ing in ingresses:
            for rule in ing.rules:
                for p in rule.paths:
                    if p.backend.service:
                        used.setdefault((ing.namespace, p.backend.service), set()).add((rule.host, p.path or "/"))
        pfx = PREFIX + "/"
        for key in sorted(used):
            svc = self.ctx.resources.services.get(key)
            if svc is None:
                continue
            items = [(k, row_key(k[len(pfx):]), svc.annotations[k]) for k in sorted(svc.annotations)
                     if k.startswith(pfx) and not k[len(pfx):].startswith(("auth-", "jwt-"))]
            if items:
                TABLE.parse(items, self.notes, f"Service {key[0]}/{key[1]}", svc.origin, tuple(sorted(used[key])))

    # --- listeners ------------------------------------------------------------------------

    def _listener(self, alb: Alb, ls: AlbListener, gw: GatewayRef) -> Listener:
        first = alb.members[0].ingress
        src = Provenance("Ingress", first.namespace, first.name, f"{PREFIX}/listen-ports", first.origin)
        if ls.protocol == "HTTP":
            return Listener(gw, ls.name, ls.port, "HTTP", source=src)
        refs: list[CertificateRef] = []
        for arn in ls.certificates:
            name = "acm-" + slug(arn.rsplit("/", 1)[-1])[:40]
            owner = next((m.ingress for m in alb.members if arn in member_certificates(m)), first)
            if CertificateRef(owner.namespace, name) in refs:
                continue
            refs.append(CertificateRef(owner.namespace, name))
            self._note(owner, "CERTIFICATE-ACM", Level.WARNING,
                       f"listener {ls.name} uses ACM certificate {arn}; ACM certificates are not Kubernetes Secrets",
                       f"{PREFIX}/certificate-arn", fidelity=Fidelity.APPROXIMATE,
                       instead=f"certificateRefs names Secret {owner.namespace}/{name}: the target needs the "
                               "certificate there (exported, or issued by cert-manager); the AWS LBC Gateway takes "
                               "the ARN in LoadBalancerConfiguration listenerConfigurations instead",
                       aspects=("tls",))
        if not refs:
            for m in alb.members:
                for t in m.ingress.tls:
                    if t.secret_name and CertificateRef(m.ingress.namespace, t.secret_name) not in refs:
                        refs.append(CertificateRef(m.ingress.namespace, t.secret_name))
            self._note(first, "CERTIFICATE-DISCOVERY", Level.WARNING,
                       f"listener {ls.name} has no certificate-arn: the controller discovers ACM certificates for "
                       f"the TLS hosts ({', '.join(ls.tls_hosts) or 'none'}); spec.tls secretName is ignored by "
                       "the ALB", f"{PREFIX}/certificate-arn", fidelity=Fidelity.APPROXIMATE,
                       instead="certificateRefs name the spec.tls Secrets" if refs else
                       f"certificateRefs names Secret {first.namespace}/alb-{slug(alb.key)}: create it",
                       aspects=("tls",))
            if not refs:
                refs.append(CertificateRef(first.namespace, f"alb-{slug(alb.key)}"))
        return Listener(gw, ls.name, ls.port, "HTTPS", tls_mode="Terminate", certificates=tuple(refs), source=src)

    # --- routes ---------------------------------------------------------------------------

    def _routes(self, alb: Alb, gw: GatewayRef) -> list[Route]:
        parts: dict[tuple[str, tuple[str, ...]], _RouteParts] = {}
        out: list[Route] = []
        for ls in alb.listeners:
            parent = ListenerParent(gw, ls.name)
            if ls.ssl_redirect is not None:
                out.append(self._ssl_redirect_route(alb, ls, gw, parent))
                continue
            if len(ls.rules) > _RULES_PER_LISTENER:
                first = alb.members[0].ingress
                self._note(first, "RULE-LIMIT", Level.WARNING,
                           f"listener {ls.name} of ALB {alb.key} has {len(ls.rules)} rules; an ALB listener holds "
                           f"{_RULES_PER_LISTENER} by default (the controller fails beyond the quota)",
                           f"{PREFIX}/group.name", instead="all rules converted (Gateway API has no such limit)")
            reachable = self._reachable(ls)
            self._order_notes(ls, reachable)
            for rule in reachable:
                converted = self.rules.convert(rule, ls, alb)
                if converted is None:
                    continue
                hostnames, ir_rule = converted
                key = (rule.ingress.ref, hostnames)
                rp = parts.setdefault(key, _RouteParts(rule.ingress, hostnames))
                if parent not in rp.parents:
                    rp.parents.append(parent)
                rp.rules.setdefault(rule.field, ir_rule)
            if ls.default is not None and ls.default_ingress is not None:
                out += self._default_route(alb, ls, gw, parent)
        for (_, hostnames), rp in sorted(parts.items()):
            ing = rp.ingress
            name = ing.name if not hostnames else f"{ing.name}-{slug(hostnames[0].replace('*', 'wildcard'))}"
            if len(hostnames) > 1:  # a host-header condition added hostnames: one route per host set
                name += f"-and-{len(hostnames) - 1}-more"
            out.append(Route(kind="HTTPRoute", namespace=ing.namespace, name=name, gateway=gw, hostnames=hostnames,
                             sections=frozenset(), rules=tuple(rp.rules.values()),
                             sources=(Provenance("Ingress", ing.namespace, ing.name, "", ing.origin),),
                             parents=tuple(rp.parents)))
        return out

    def _reachable(self, ls: AlbListener) -> list[AlbRule]:
        kept: list[AlbRule] = []
        for rule in ls.rules:
            earlier = next((k for k in kept if covers(k, rule)), None)
            if earlier is not None:
                self._note(rule.ingress, "RULE-SHADOWED", Level.WARNING,
                           f"on listener {ls.name}, {_describe(earlier)} comes first and matches every request "
                           f"{_describe(rule)} matches: the ALB never serves it", rule.field,
                           fidelity=Fidelity.EXACT, instead="not converted (Gateway API precedence would serve it)",
                           aspects=("status", "backend"), scope=rule.scope + earlier.scope)
                continue
            kept.append(rule)
        return kept

    def _order_notes(self, ls: AlbListener, rules: list[AlbRule]) -> None:
        ranks = [rank(r) for r in rules]
        for j, later in enumerate(rules):
            for i in range(j):
                earlier = rules[i]
                if ranks[j] < ranks[i] or (ranks[j] == ranks[i] and (
                        earlier.ingress.ref == later.ingress.ref or _gateway_before(earlier.ingress, later.ingress))):
                    continue
                if not overlaps(earlier, later):
                    continue
                self._note(later.ingress, "RULE-ORDER", Level.WARNING,
                           f"on listener {ls.name}, ALB tries {_describe(earlier)} first, so it answers the requests "
                           f"both match; Gateway API precedence prefers {_describe(later)}", later.field,
                           fidelity=Fidelity.APPROXIMATE, instead="requests both rules match go to the later one",
                           aspects=tuple(_ORDER_ASPECTS), scope=later.scope + earlier.scope)

    def _ssl_redirect_route(self, alb: Alb, ls: AlbListener, gw: GatewayRef, parent: ListenerParent) -> Route:
        first = alb.members[0].ingress
        prov = Provenance("Ingress", first.namespace, first.name, f"{PREFIX}/ssl-redirect", first.origin)
        redirect = RequestRedirect(scheme="https", port=ls.ssl_redirect, status_code=301)
        self._note(first, "SSL-REDIRECT", Level.INFO,
                   f"listener {ls.name} answers every request with 301 to https port {ls.ssl_redirect} and its rules "
                   f"are dropped; ALB writes the port into Location (https://host:{ls.ssl_redirect}/...)",
                   f"{PREFIX}/ssl-redirect", fidelity=Fidelity.APPROXIMATE,
                   instead=f"a redirect route on {ls.name}; a Gateway leaves the default port 443 out of Location"
                   if ls.ssl_redirect == 443 else f"a redirect route on {ls.name}", aspects=("redirect",),
                   scope=(("*", ""),))
        rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                    filters=(Filter("RequestRedirect", redirect, prov),), provenance=(prov,))
        return Route(kind="HTTPRoute", namespace=first.namespace, name=f"{slug(alb.key)}-ssl-redirect", gateway=gw,
                     hostnames=(), sections=frozenset(), rules=(rule,), sources=(prov,), parents=(parent,))

    def _default_route(self, alb: Alb, ls: AlbListener, gw: GatewayRef, parent: ListenerParent) -> list[Route]:
        ing = ls.default_ingress
        assert ing is not None and ls.default is not None
        prov = Provenance("Ingress", ing.namespace, ing.name, "spec.defaultBackend", ing.origin)
        backends: list[BackendRef] = []
        for tg in ls.default.targets:
            ref = self.rules.backend(ing, tg, "spec.defaultBackend", (("", ""),))
            if ref is not None:
                backends.append(ref)
        rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),), backends=tuple(backends),
                    provenance=(prov,))
        return [Route(kind="HTTPRoute", namespace=ing.namespace, name=f"{ing.name}-default-backend", gateway=gw,
                      hostnames=(), sections=frozenset(), rules=(rule,), sources=(prov,), parents=(parent,))]

    def _note(self, ing: Ingress, code: str, level: Level, message: str, fld: str, *,
              fidelity: Fidelity | None = None, instead: str = "", aspects: tuple[str, ...] = (),
              scope: tuple[tuple[str, str], ...] | None = None) -> None:
        from ing2gw.provider import ingress_scope

        self.notes.add(Note(code=f"ALB-{code}", level=level, message=message, subject=ing.subject, field=fld,
                            fidelity=fidelity, instead=instead, origin=ing.origin, aspects=frozenset(aspects),
                            scope=scope if scope is not None else ingress_scope(ing)))


def _describe(rule: AlbRule) -> str:
    return f"{rule.ingress.ref} {rule.host or '*'} {rule.path}"


def _gateway_before(a: Ingress, b: Ingress) -> bool:
    """Whether a Gateway orders the routes of ``a`` before those of ``b`` on equal precedence."""
    return (a.created or "~", a.namespace, a.name) < (b.created or "~", b.namespace, b.name)


