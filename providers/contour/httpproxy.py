"""HTTPProxy (``projectcontour.io/v1``) -> IR routes, certificates and TLS passthrough.

The tree (:mod:`.tree`) gives each root's virtual host its routes, conditions merged down the
include chain. Each route becomes one rule: its merged path (character prefix -> PathPrefix,
noted; exact; regex), header conditions (``exact`` -> Exact, ``present``/``contains``/
``ignoreCase`` -> RegularExpression, ``:method`` exact -> the method; negative ones have no
form and are noted), query conditions likewise; policies as :mod:`.policies` converts them.
Rules are grouped into one HTTPRoute per (root, proxy defining the routes), in that proxy's
namespace -- where its Services are, so an include across namespaces needs no ReferenceGrant
for backends; the root's certificate in another namespace (TLS delegation) gets one from the
emitter. A root's ingress class (annotation, else ``spec.ingressClassName``, else
``contour``) names its Gateway. A root with ``tls.secretName`` is served on HTTPS; its plain-HTTP routes redirect
(301) unless ``permitInsecure``. ``tcpproxy`` with ``passthrough`` becomes a TLS passthrough
listener and TLSRoute; with a terminated certificate a TLS listener in Terminate mode and a
TLSRoute. What Contour refuses or orphans is noted and not converted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    CertificateRef,
    Filter,
    GatewayRef,
    HeaderMatch,
    Listener,
    ListenerParent,
    Passthrough,
    PathMatch,
    Provenance,
    QueryMatch,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
)
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Security
from ing2gw.provider import ProviderContext

from .annotations import read_service
from .conditions import OTHER_RULE, HeaderCondition, QueryCondition
from .policies import number, route_parts, vhost_filters, vhost_intents
from .tree import ContourRoute, Tree, VirtualHost, build

__all__ = ["GATEWAY_KEY", "convert_proxies", "delegated", "proxy_class"]

GATEWAY_KEY = "contour"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def delegated(objects: Sequence[KubeObject], secret_ns: str, secret: str, target_ns: str) -> bool:
    """Whether a TLSCertificateDelegation in ``secret_ns`` lets ``target_ns`` use ``secret``."""
    for d in objects:
        if d.kind.kind != "TLSCertificateDelegation" or d.namespace != secret_ns:
            continue
        for entry in _items(d.spec.get("delegations")):
            if isinstance(entry, Mapping) and entry.get("secretName") == secret:
                targets = [str(t) for t in _items(entry.get("targetNamespaces"))]
                if "*" in targets or target_ns in targets:
                    return True
    return False


def proxy_class(obj: KubeObject) -> str | None:
    """An HTTPProxy's ingress class: the annotations (Contour's first) win over
    ``spec.ingressClassName``; None: every Contour serves it."""
    for key in ("projectcontour.io/ingress.class", "kubernetes.io/ingress.class"):
        if obj.annotations.get(key):
            return obj.annotations[key]
    cls = obj.spec.get("ingressClassName")
    return str(cls) if cls else None


class _Converter:
    def __init__(self, ctx: ProviderContext, objects: Sequence[KubeObject]) -> None:
        self.ctx = ctx
        self.objects = objects
        self.gw: GatewayRef = ctx.gateway(GATEWAY_KEY)
        self.routes: list[Route] = []
        self.certificates: list[Certificate] = []
        self.passthrough: list[Passthrough] = []
        self.listeners: list[Listener] = []
        self.scope: tuple[tuple[str, str], ...] = ()
        self.services_read: set[tuple[str, str]] = set()

    def note(self, obj: KubeObject, fld: str, code: str, level: Level, message: str,
             fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "", aspects: Sequence[str] = (),
             security: Security | None = None, scope: tuple[tuple[str, str], ...] | None = None) -> None:
        self.ctx.notes.add(Note(f"CONTOUR-{code}", level, message, subject=obj.subject, field=fld, fidelity=fidelity,
                                instead=instead, origin=obj.origin, aspects=frozenset(aspects),
                                scope=self.scope if scope is None else scope, security=security))

    def extension_url(self, namespace: str, name: str) -> str:
        """The gRPC address of an ExtensionService (its first service)."""
        for o in self.objects:
            if o.kind.kind == "ExtensionService" and (o.namespace, o.name) == (namespace, name):
                svcs = _items(o.spec.get("services"))
                first = svcs[0] if svcs and isinstance(svcs[0], Mapping) else {}
                if first.get("name"):
                    return f"grpc://{first['name']}.{namespace}:{first.get('port') or 443}"
        return f"grpc://{name}.{namespace}"

    # --- the tree -----------------------------------------------------------------------

    def run(self, tree: Tree) -> IR:
        for p in tree.problems:  # the same tree is converted and modelled: these explain no difference
            instead = "its conditions answer 500 (CONTOUR-INCLUDE-502)" if p.code in ("INCLUDE-NOT-FOUND",
                                                                                     "INCLUDE-ROOT") else \
                "not converted (Contour does not serve it either)" if p.error else ""
            self.note(p.obj, p.field, p.code, Level.ERROR if p.error else Level.WARNING, p.message, None, instead,
                      scope=(("*", ""),))
        for o in tree.orphans:
            self.note(o, "", "ORPHANED", Level.WARNING, "no root HTTPProxy includes this HTTPProxy: Contour serves "
                      "nothing from it", None, "not converted", scope=(("*", ""),))
        for vh in tree.hosts:
            self.scope = ((vh.fqdn, ""),)
            self.vhost(vh)
        return IR(routes=tuple(self.routes), certificates=tuple(self.certificates),
                  passthrough=tuple(self.passthrough), listeners=tuple(self.listeners))

    def vhost(self, vh: VirtualHost) -> None:
        root, fqdn = vh.root, vh.fqdn
        self.gw = self.ctx.gateway(proxy_class(root) or GATEWAY_KEY)
        tls = vh.tls or {}
        secure = bool(vh.secret)
        if secure and not self._certificate(vh):
            return
        for key in ("minimumProtocolVersion", "maximumProtocolVersion", "cipherSuites"):
            if tls.get(key):
                self.note(root, f"spec.virtualhost.tls.{key}", f"TLS-{key.upper()}", Level.WARNING,
                          f"tls.{key} has no Gateway API field", Fidelity.UNSUPPORTED, "not converted", ("tls",))
        if tls.get("enableFallbackCertificate"):
            self.note(root, "spec.virtualhost.tls.enableFallbackCertificate", "TLS-FALLBACK-CERTIFICATE",
                      Level.WARNING, "clients without SNI get Contour's fallback certificate", Fidelity.UNSUPPORTED,
                      "no fallback certificate", ("tls",))
        if fqdn.startswith("*."):
            self.note(root, "spec.virtualhost.fqdn", "WILDCARD-HOST-DEPTH", Level.INFO,
                      f"Contour matches {fqdn} one DNS label deep; the Gateway API hostname also matches deeper "
                      "subdomains", Fidelity.APPROXIMATE, "hostname kept as written",
                      ("status", "backend", "redirect", "host"))
        if vh.tcpproxy is not None and vh.tcp_owner is not None:
            self._tcp(vh)
        elif isinstance(root.spec.get("tcpproxy"), Mapping):
            return  # an invalid tcpproxy: noted by the tree, Contour serves nothing for the host
        plain_only = not secure and not vh.passthrough
        groups: dict[tuple[str, str], tuple[KubeObject, list[Rule], list[Rule]]] = {}
        cors = vhost_filters(vh, self.note)
        ordered = vh.ordered_routes()
        dropped = [r for r in vh.routes if r not in ordered]
        for r in dropped:
            self.note(r.owner, r.field, "ROUTE-DUPLICATE", Level.WARNING, "another route of the virtual host has the "
                      "same conditions and replaces this one", None, "not converted", ("status", "backend"))
        regexes = sorted({r.path.value for r in ordered if r.path.kind == "regex"})
        if regexes and any(r.path.kind in ("prefix", "segment") and r.path.value != "/" for r in ordered):
            self.note(root, "spec", "REGEX-PRECEDENCE", Level.INFO, "Contour tries every regex path before any "
                      "prefix path, whatever their lengths; the Gateway API ranks regular expressions after "
                      f"prefixes (implementation-specific): {', '.join(regexes)} lose to a matching prefix",
                      Fidelity.APPROXIMATE, "Gateway API precedence", OTHER_RULE,
                      scope=tuple((fqdn, "~^(?:" + rx + ")$") for rx in regexes))
        for r in ordered:
            match = self._match(r)
            if match is None:
                continue
            prov = Provenance(r.owner.kind.kind, r.owner.namespace, r.owner.name, r.field, r.owner.origin)
            secure_rule = self._rule(vh, r, match, prov, cors, secure=True)
            plain_rule = self._rule(vh, r, match, prov, cors, secure=False)
            group = (r.owner.namespace, r.owner.name)
            _, https_rules, http_rules = groups.setdefault(group, (r.owner, [], []))
            if plain_only or r.status is not None or r.spec.get("permitInsecure"):
                http_rules.append(plain_rule)
            else:
                http_rules.append(Rule(matches=(match,), filters=(
                    Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=301), prov),),
                    provenance=(prov,)))
            if secure and vh.tcpproxy is None:
                https_rules.append(secure_rule)
        for (_, _), (owner, https_rules, http_rules) in sorted(groups.items()):
            name = root.name if owner is root else f"{root.name}-{owner.name}"
            sources: tuple[Provenance, ...] = (Provenance(root.kind.kind, root.namespace, root.name, "", root.origin),)
            if owner is not root:
                sources += (Provenance(owner.kind.kind, owner.namespace, owner.name, "", owner.origin),)
            if https_rules and https_rules == http_rules:
                self.routes.append(Route("HTTPRoute", owner.namespace, name, self.gw, (fqdn,),
                                         frozenset({"http", "https"}), tuple(https_rules), sources))
                continue
            if http_rules:
                self.routes.append(Route("HTTPRoute", owner.namespace, name, self.gw, (fqdn,), frozenset({"http"}),
                                         tuple(http_rules), sources))
            if https_rules:
                self.routes.append(Route("HTTPRoute", owner.namespace, name + "-https", self.gw, (fqdn,),
                                         frozenset({"https"}), tuple(https_rules), sources))

    def _certificate(self, vh: VirtualHost) -> bool:
        root, secret = vh.root, vh.secret
        ns, _, name = secret.rpartition("/")
        ns = ns or root.namespace
        if ns != root.namespace and not delegated(self.objects, ns, name, root.namespace):
            self.note(root, "spec.virtualhost.tls.secretName", "TLS-NOT-DELEGATED", Level.ERROR,
                      f"Secret {ns}/{name} is not delegated to namespace {root.namespace} by a "
                      "TLSCertificateDelegation: Contour refuses the HTTPProxy", None,
                      "not converted (Contour does not serve it either)", ("status", "backend", "tls"))
            return False
        prov = Provenance(root.kind.kind, root.namespace, root.name, "spec.virtualhost.tls.secretName", root.origin)
        if vh.tcpproxy is None:
            self.certificates.append(Certificate(self.gw, vh.fqdn, ns, name, prov))
        return True

    def _tcp(self, vh: VirtualHost) -> None:
        owner, tcp = vh.tcp_owner, vh.tcpproxy
        assert owner is not None and tcp is not None
        prov = Provenance(owner.kind.kind, owner.namespace, owner.name, "spec.tcpproxy", owner.origin)
        refs: list[BackendRef] = []
        # weights as a route's services share them: none given = equal, some given = the others get 0
        services = _items(tcp.get("services"))
        any_weight = any(isinstance(s, Mapping) and number(s.get("weight"), 0) > 0 for s in services)
        for n, s in enumerate(services):
            if isinstance(s, Mapping) and s.get("name") and isinstance(s.get("port"), int):
                refs.append(BackendRef(str(s["name"]), owner.namespace, int(s["port"]),
                                       weight=number(s.get("weight"), 0) if any_weight else 1))
                if s.get("protocol") == "tls":
                    self.note(owner, f"spec.tcpproxy.services[{n}].protocol", "TCPPROXY-UPSTREAM-TLS", Level.WARNING,
                              "TLS re-encryption to the Service has no TLSRoute form", Fidelity.UNSUPPORTED,
                              "plain TCP to the Service", ("status",))
        if not refs:
            return
        for key in ("loadBalancerPolicy", "healthCheckPolicy"):
            if tcp.get(key):
                self.note(owner, f"spec.tcpproxy.{key}", f"TCPPROXY-{key.upper()}", Level.INFO,
                          f"tcpproxy {key} has no TLSRoute form", Fidelity.UNSUPPORTED, "not converted")
        name = vh.root.name if owner is vh.root else f"{vh.root.name}-{owner.name}"
        if vh.passthrough and len(refs) == 1:
            self.passthrough.append(Passthrough(self.gw, vh.fqdn, owner.namespace, name, refs[0], prov))
            return
        listener = f"tls-{host_slug(vh.fqdn)}"
        ns, _, secret = vh.secret.rpartition("/")
        if vh.passthrough:
            self.listeners.append(Listener(self.gw, listener, 443, "TLS", vh.fqdn, "Passthrough", (), prov))
        else:
            self.listeners.append(Listener(self.gw, listener, 443, "TLS", vh.fqdn, "Terminate",
                                           (CertificateRef(ns or vh.root.namespace, secret),), prov))
        self.routes.append(Route("TLSRoute", owner.namespace, name, None, (vh.fqdn,), frozenset(),
                                 (Rule(matches=(), backends=tuple(refs), provenance=(prov,)),), (prov,),
                                 parents=(ListenerParent(self.gw, listener),)))

    # --- one route ----------------------------------------------------------------------

    def _rule(self, vh: VirtualHost, r: ContourRoute, match: RouteMatch, prov: Provenance, cors: list[Filter],
              secure: bool) -> Rule:
        if r.status is not None:  # a broken include: Contour answers 502, a rule without backends 500
            self.note(r.owner, r.field, "INCLUDE-502", Level.WARNING, "Contour answers 502 on the conditions of an "
                      "include it cannot follow; a Gateway rule without backends answers 500", Fidelity.APPROXIMATE,
                      "a rule without backends", ("status",), scope=self._rule_scope(r))
            return Rule(matches=(match,), provenance=(prov,))
        parts = route_parts(r, vh, self.ctx.resources, self.note)
        for b in parts.backends:
            svc = self.ctx.resources.services.get((b.namespace, b.name))
            if svc is not None and (b.namespace, b.name) not in self.services_read:
                self.services_read.add((b.namespace, b.name))
                read_service(svc, self.ctx.notes, ((vh.fqdn, ""),))
        intents: list[i.Intent] = [*parts.intents, *vhost_intents(vh, r, self.extension_url, self.note, secure)]
        return Rule(matches=(match,), backends=tuple(parts.backends), filters=tuple([*parts.filters, *cors]),
                    timeouts=parts.timeouts, intents=tuple(intents), provenance=(prov,))

    def _rule_scope(self, r: ContourRoute) -> tuple[tuple[str, str], ...]:
        """The requests a route takes in Contour, as a note's scope."""
        if r.path.kind == "regex":
            path = "~^(?:" + r.path.value + ")$"
        elif r.path.kind == "exact":
            path = "~^" + re.escape(r.path.value) + "$"
        else:
            path = "~^" + re.escape(r.path.value.rstrip("/"))
        return tuple((host, path) for host, _ in self.scope)

    def _match(self, r: ContourRoute) -> RouteMatch | None:
        path = r.path
        fld = r.field + ".conditions" if r.status is None else r.field
        if path.kind == "exact":
            pm = PathMatch("Exact", path.value)
        elif path.kind == "regex":
            pm = PathMatch("RegularExpression", path.value)
        else:
            pm = PathMatch("PathPrefix", path.value)
            if path.value != "/":
                base = path.value.rstrip("/")
                but = f" but not {base}" if path.value.endswith("/") else ""
                self.note(r.owner, fld, "PATH-CHARACTER-PREFIX", Level.INFO,
                          f"Contour's prefix {path.value} is a character prefix (it also matches {base}x...{but}); "
                          "the Gateway's PathPrefix matches whole segments", Fidelity.APPROXIMATE,
                          "PathPrefix (segment-wise)", OTHER_RULE,
                          scope=tuple((h, "~^" + re.escape(base)) for h, _ in self.scope))
        headers: list[HeaderMatch] = []
        method = None
        for h in r.headers:
            if h.name == ":method" and h.op == "exact" and not h.invert and h.value.upper() in _METHODS:
                method = h.value.upper()
                continue
            m = _header(h)
            if m is None:
                self.note(r.owner, fld, "HEADER-CONDITION-NEGATED", Level.WARNING,
                          f"the condition {h.text()} has no Gateway API form", Fidelity.UNSUPPORTED,
                          "condition dropped: the rule matches more requests", OTHER_RULE,
                          scope=self._rule_scope(r))
                continue
            headers.append(m)
        query = [q for q in (_query(c) for c in r.query) if q is not None]
        return RouteMatch(path=pm, headers=tuple(headers), query=tuple(query), method=method)


def _regex_value(value: str, ignore_case: bool, before: str = "", after: str = "") -> str:
    return ("(?i)" if ignore_case else "") + before + re.escape(value) + after


def _header(h: HeaderCondition) -> HeaderMatch | None:
    if h.invert:
        return None
    if h.op == "present":
        return HeaderMatch(h.name, ".*", "RegularExpression")
    if h.op == "exact" and not h.ignore_case:
        return HeaderMatch(h.name, h.value)
    if h.op == "exact":
        return HeaderMatch(h.name, _regex_value(h.value, True), "RegularExpression")
    if h.op == "contains":
        return HeaderMatch(h.name, _regex_value(h.value, h.ignore_case, ".*", ".*"), "RegularExpression")
    return HeaderMatch(h.name, h.value, "RegularExpression")


def _query(q: QueryCondition) -> QueryMatch | None:
    if q.op == "exact" and not q.ignore_case:
        return QueryMatch(q.name, q.value)
    if q.op == "regex":
        return QueryMatch(q.name, q.value, "RegularExpression")
    if q.op == "present":
        return QueryMatch(q.name, ".*", "RegularExpression")
    before = ".*" if q.op in ("suffix", "contains") else ""
    after = ".*" if q.op in ("prefix", "contains") else ""
    return QueryMatch(q.name, _regex_value(q.value, q.ignore_case, before, after), "RegularExpression")


def convert_proxies(objects: Sequence[KubeObject], ctx: ProviderContext) -> IR:
    """The IR of every HTTPProxy among ``objects`` (delegations and ExtensionServices used)."""
    return _Converter(ctx, objects).run(build(objects))
