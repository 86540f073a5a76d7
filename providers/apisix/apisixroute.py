"""ApisixRoutes (``apisix.apache.org/v2``) -> IR routes, with ApisixUpstream, ApisixPluginConfig
and ApisixTls where they are referenced.

Each ``spec.http[]`` rule becomes one Gateway API rule in an HTTPRoute per host set
(``match.hosts``; a wildcard is leftmost only). Its ``paths`` become path matches (:mod:`.paths`),
``methods`` and ``exprs`` (:mod:`.exprs`: ``In`` gives one match per value) multiply them;
conditions with no match form (negations, numbers, variables, bodies, ``filter_func``) are
dropped with a warning, ``remoteAddrs`` becomes an allow list answering 404. ``priority`` has
no Gateway API form (noted). ``backends`` become weighted backendRefs (weight 100 unless set);
``upstreams`` (external nodes) and ``subset`` are noted. Plugins -- the ApisixPluginConfig's,
the rule's own, the ``authentication`` plugin -- become filters and intents (:mod:`.plugins`);
``timeout`` and the backend Service's ApisixUpstream (retries, timeout, load balancer, health
checks, scheme, pass host, client certificate) become intents or notes. ApisixTls objects give
the hosts' certificates (HTTPS listeners) and, with ``client``, a client-certificate intent.
``spec.stream`` rules become listeners and TCP/TLS/UDP routes (:mod:`.streams`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    CertificateRef,
    Filter,
    GatewayRef,
    PathMatch,
    Provenance,
    Route,
    RouteMatch,
    Rule,
    Section,
    URLRewrite,
)
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import ASPECTS, Fidelity, Level, Note, Notes, Scope, Security
from ing2gw.provider import ProviderContext

from .config import DEFAULT_WEIGHT, authentication_plugin, route_plugins, sni_lookup
from .crds import Crds, as_list, as_map, plugin_list, service_port
from .exprs import ExprError, gateway_conditions, parse_exprs
from .paths import gateway_paths
from .plugins import Site, convert
from .rules import finish_rule, redirect_rule
from .streams import StreamConverter

__all__ = ["convert_apisix_routes"]

# What a request can differ in when one side serves it by another rule than the other (or by
# none): everything a rule decides (all but the certificate).
_ELSEWHERE = tuple(a for a in ASPECTS if a != "tls")
_HOST = re.compile(r"(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?")


def _note(notes: Notes, obj: KubeObject, code: str, level: Level, message: str, fld: str, scope: Scope,
          fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "not converted",
          aspects: Sequence[str] = ("status", "backend"), security: Security | None = None) -> None:
    notes.add(Note(f"APISIX-{code}", level, message, subject=obj.subject, field=fld, fidelity=fidelity,
                   instead=instead, origin=obj.origin, aspects=frozenset(aspects), scope=scope, security=security))


def _seconds(text: Any) -> int:
    """A Go duration (``5s``, ``1m30s``) in whole seconds, 0 when unset or unreadable."""
    if not isinstance(text, str) or not text:
        return 0
    m = _DURATION.fullmatch(text)
    if m is None:
        return 0
    h, mi, s, ms = m.groups()
    return int(int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0) + int(ms or 0) / 1000)


class _Converter:
    def __init__(self, crds: Crds, ctx: ProviderContext, gw: GatewayRef) -> None:
        self.crds, self.ctx, self.notes, self.gw = crds, ctx, ctx.notes, gw
        self.tls_hosts: dict[str, tuple[KubeObject, Mapping[str, Any]]] = {}
        self.cert_hosts: set[str] = set()
        self.refused: set[str] = set()  # ApisixRoutes the controller refuses whole

    # --- TLS -----------------------------------------------------------------------------

    def certificates(self) -> list[Certificate]:
        out: list[Certificate] = []
        for obj in self.crds.all("ApisixTls"):
            spec = obj.spec
            secret = as_map(spec.get("secret"))
            name, ns = str(secret.get("name") or ""), str(secret.get("namespace") or obj.namespace)
            hosts = [str(h).lower() for h in spec.get("hosts") or []]
            if not name or not hosts:
                _note(self.notes, obj, "TLS-INVALID", Level.WARNING, "ApisixTls names no secret or no hosts",
                      "spec", (("*", ""),), aspects=("tls",))
                continue
            prov = Provenance("ApisixTls", obj.namespace, obj.name, "spec.secret", obj.origin)
            for h in hosts:
                out.append(Certificate(self.gw, h, ns, name, prov))
                self.tls_hosts.setdefault(h, (obj, spec))
                self.cert_hosts.add(h)
        return out

    def _client_auth(self, hosts: Sequence[str]) -> list[i.Intent]:
        out: list[i.Intent] = []
        for h in hosts:
            found = self.tls_hosts.get(h)
            if found is None:
                continue
            obj, spec = found
            client = spec.get("client")
            if isinstance(client, Mapping) and isinstance(client.get("caSecret"), Mapping):
                ca = client["caSecret"]
                depth = client.get("depth")
                out.append(i.ClientCertAuth(ca_secret=f"{ca.get('namespace') or obj.namespace}/{ca.get('name')}",
                                            depth=depth if isinstance(depth, int) else 1,
                                            provenance=Provenance("ApisixTls", obj.namespace, obj.name,
                                                                  "spec.client", obj.origin)))
                break
        return out

    # --- upstreams ----------------------------------------------------------------------

    def _upstream(self, obj: KubeObject, service: str, scope: Scope, filters: list[Filter]) -> list[i.Intent]:
        au = self.crds.get("ApisixUpstream", obj.namespace, service)
        if au is None:
            return []
        spec = au.spec
        out: list[i.Intent] = []
        prov = Provenance("ApisixUpstream", au.namespace, au.name, "spec", au.origin)
        lb = spec.get("loadbalancer")
        if isinstance(lb, Mapping) and lb.get("type") not in (None, "roundrobin"):
            key = f"{lb.get('hashOn') or 'vars'}:{lb.get('key')}" if lb.get("type") == "chash" else None
            out.append(i.LoadBalancing(algorithm=str(lb.get("type")), hash_key=key, provenance=prov))
        retries = spec.get("retries")
        if isinstance(retries, int) and retries > 0:
            out.append(i.Retries(on=("error", "timeout"), attempts=retries + 1, provenance=prov))
        timeout = spec.get("timeout")
        if isinstance(timeout, Mapping) and any(timeout.get(k) for k in ("connect", "send", "read")):
            out.append(i.Timeouts(connect_ms=_seconds(timeout.get("connect")) * 1000 or None,
                                  send_ms=_seconds(timeout.get("send")) * 1000 or None,
                                  read_ms=_seconds(timeout.get("read")) * 1000 or None, provenance=prov))
        if spec.get("healthCheck"):
            out.append(i.Opaque(vendor="apisix", key="healthCheck", raw=str(dict(spec["healthCheck"])),
                                affects=("status",), provenance=prov))
        if isinstance(spec.get("tlsSecret"), Mapping):
            ts = spec["tlsSecret"]
            out.append(i.BackendTLSOptions(client_cert=f"{ts.get('namespace') or au.namespace}/{ts.get('name')}",
                                           provenance=prov))
        if spec.get("scheme") in ("https", "grpcs"):
            _note(self.notes, au, "UPSTREAM-TLS", Level.WARNING, f"scheme {spec['scheme']}: APISIX speaks TLS to the "
                  "endpoints without verifying them", "spec.scheme", scope,
                  instead="no BackendTLSPolicy (it needs a CA and a hostname): the backend is reached over plain "
                          "HTTP", aspects=("status",))
        if spec.get("passHost") == "rewrite" and isinstance(spec.get("upstreamHost"), str):
            filters.append(Filter("URLRewrite", URLRewrite(hostname=spec["upstreamHost"]), prov))
        elif spec.get("passHost") == "node":
            _note(self.notes, au, "PASS-HOST-NODE", Level.INFO, "passHost node sends the endpoint's address as Host",
                  "spec.passHost", scope, Fidelity.APPROXIMATE, "the client's Host is kept", ("host",))
        for key in ("subsets", "portLevelSettings", "externalNodes", "discovery"):
            if spec.get(key):
                _note(self.notes, au, f"UPSTREAM-{key.upper()}", Level.WARNING, f"ApisixUpstream {key} has no "
                      "Gateway API form", f"spec.{key}", scope, aspects=("backend",))
        return out

    def stream_upstream(self, obj: KubeObject, service: str, scope: Scope) -> list[i.Intent]:
        """The intents the backend Service's ApisixUpstream gives a stream rule (its
        Host rewrite has no meaning there)."""
        return self._upstream(obj, service, scope, [])

    # --- rules ----------------------------------------------------------------------------

    def _matches(self, obj: KubeObject, n: int, rule: Mapping[str, Any], scope: Scope) -> list[RouteMatch]:
        fld = f"spec.http[{n}].match"
        match = as_map(rule.get("match"))
        paths: list[RouteMatch] = []
        for gp in gateway_paths(tuple(str(p) for p in match.get("paths") or [])):
            if gp.problem:
                host_scope = tuple((h, gp.scope) for h, _ in scope)
                _note(self.notes, obj, gp.code, Level.INFO, gp.problem, fld + ".paths", host_scope,
                      Fidelity.APPROXIMATE, f"{gp.match.type} {gp.match.value}", _ELSEWHERE)
            paths.append(RouteMatch(path=gp.match))
        if not paths:
            _note(self.notes, obj, "NO-PATHS", Level.ERROR, "the rule has no paths (APISIX refuses it)",
                  fld + ".paths", scope)
            return []
        alternatives: list[list[RouteMatch]] = [paths]
        for cond in gateway_conditions(parse_exprs(match.get("exprs"))):
            if cond.problem:
                _note(self.notes, obj, "EXPR-NOT-EXPRESSIBLE", Level.WARNING,
                      f"condition {cond.expr.text()}: {cond.problem}", fld + ".exprs", scope,
                      instead="condition dropped: the Gateway routes requests APISIX does not", aspects=_ELSEWHERE)
                continue
            if cond.approximate:
                _note(self.notes, obj, "EXPR-APPROXIMATE", Level.INFO, f"condition {cond.expr.text()}", fld + ".exprs",
                      scope, Fidelity.APPROXIMATE, cond.approximate)
            if cond.path_regex is not None:
                if all(m.path == PathMatch("PathPrefix", "/") for m in paths):
                    paths = [RouteMatch(path=PathMatch("RegularExpression", cond.path_regex))]
                    alternatives[0] = paths
                else:
                    _note(self.notes, obj, "EXPR-NOT-EXPRESSIBLE", Level.WARNING,
                          f"condition {cond.expr.text()} narrows paths other than /*", fld + ".exprs", scope,
                          instead="condition dropped: the Gateway routes requests APISIX does not",
                          aspects=_ELSEWHERE)
                continue
            if cond.headers:
                alternatives.append([RouteMatch(headers=h) for h in cond.headers])
            else:
                alternatives.append([RouteMatch(query=(q,)) for q in cond.query])
        out: list[RouteMatch] = []
        for combo in itertools.product(*alternatives):
            m = combo[0]
            for extra in combo[1:]:
                m = replace(m, headers=m.headers + extra.headers, query=m.query + extra.query)
            out.append(m)
        methods = [str(x).upper() for x in match.get("methods") or []]
        if methods:
            out = [replace(m, method=x) for m in out for x in methods]
        if match.get("filter_func"):
            _note(self.notes, obj, "FILTER-FUNC", Level.WARNING, "filter_func (a Lua function) decides whether the "
                  "route matches", fld + ".filter_func", scope,
                  instead="not converted: the Gateway routes requests APISIX may refuse", aspects=_ELSEWHERE)
        return out

    def _backends(self, obj: KubeObject, n: int, rule: Mapping[str, Any], scope: Scope, filters: list[Filter]
                  ) -> tuple[tuple[BackendRef, ...], list[i.Intent]]:
        refs: list[BackendRef] = []
        intents: list[i.Intent] = []
        for k, b in enumerate(rule.get("backends") or []):
            if not isinstance(b, Mapping) or not b.get("serviceName"):
                continue
            name = str(b["serviceName"])
            port = service_port(self.ctx.resources, obj.namespace, name, b.get("servicePort"))
            if port is None:
                _note(self.notes, obj, "BACKEND-PORT-UNRESOLVED", Level.ERROR,
                      f"port {b.get('servicePort')!r} of Service {obj.namespace}/{name} cannot be resolved (add the "
                      "Service to the input)", f"spec.http[{n}].backends[{k}]", scope,
                      instead="backend dropped")
                continue
            w = b.get("weight")
            refs.append(BackendRef(name=name, namespace=obj.namespace, port=port,
                                   weight=w if isinstance(w, int) and not isinstance(w, bool) else DEFAULT_WEIGHT))
            if b.get("subset"):
                _note(self.notes, obj, "BACKEND-SUBSET", Level.WARNING, f"backend subset {b['subset']} (an "
                      "ApisixUpstream subset: a label selection of the Service's pods)",
                      f"spec.http[{n}].backends[{k}].subset", scope, instead="the whole Service is the backend",
                      aspects=("backend",))
            intents += self._upstream(obj, name, scope, filters)
        for k, u in enumerate(rule.get("upstreams") or []):
            _note(self.notes, obj, "EXTERNAL-UPSTREAM", Level.WARNING,
                  f"upstream {u.get('name') if isinstance(u, Mapping) else u} (an ApisixUpstream with external nodes)",
                  f"spec.http[{n}].upstreams[{k}]", scope, instead="not converted: its share of the traffic goes to "
                  "the other backends", aspects=("backend",))
        return tuple(refs), intents

    def rule(self, obj: KubeObject, n: int, rule: Mapping[str, Any], hosts: tuple[str, ...]
             ) -> tuple[list[Rule], bool]:
        """The Gateway rules of ``spec.http[n]`` and whether it redirects plain HTTP to https."""
        fld = f"spec.http[{n}]"
        values = dict.fromkeys(gp.match.value for gp in gateway_paths(
            tuple(str(p) for p in as_list(as_map(rule.get("match")).get("paths")))))
        scope: Scope = tuple((h, v) for h in (hosts or ("",)) for v in values) or \
            tuple((h, "") for h in (hosts or ("",)))
        prov = Provenance("ApisixRoute", obj.namespace, obj.name, fld, obj.origin)
        matches = self._matches(obj, n, rule, scope)
        if not matches:
            return [], False
        if isinstance(rule.get("priority"), int) and rule["priority"]:
            _note(self.notes, obj, "PRIORITY", Level.INFO, f"priority {rule['priority']} orders this rule among routes "
                  "sharing a URI; Gateway API precedence is fixed (longest path, then method, headers, query)",
                  fld + ".priority", scope, Fidelity.APPROXIMATE, "Gateway API precedence", _ELSEWHERE)
        own, secret_refs = plugin_list(rule.get("plugins"))
        for name in secret_refs:
            _note(self.notes, obj, "PLUGIN-SECRET", Level.WARNING, f"plugin {name} takes part of its configuration "
                  "from a Secret (secretRef), which ing2gw never reads", fld + ".plugins", scope,
                  instead="converted from the inline configuration only", aspects=("status", "auth"))
        pc_name = str(rule.get("plugin_config_name") or "")
        pc_ns = str(rule.get("plugin_config_namespace") or obj.namespace)
        if pc_name and self.crds.plugin_config(pc_ns, pc_name) is None:
            _note(self.notes, obj, "PLUGIN-CONFIG-MISSING", Level.WARNING,
                  f"ApisixPluginConfig {pc_ns}/{pc_name} is not in the input", fld + ".plugin_config_name", scope,
                  instead="its plugins are not converted (add it to the input)", aspects=("status", "auth", "headers"))
        plugins = route_plugins(self.crds, pc_ns, pc_name, own)
        auth = authentication_plugin(rule.get("authentication"))
        if auth is not None:
            plugins = {**plugins, auth[0]: auth[1]}
        conv = convert(plugins, Site(obj.subject, obj.origin, fld + ".plugins", scope, prov))
        for found in conv.notes:
            self.notes.add(found)
        if match := as_map(rule.get("match")):
            if match.get("remoteAddrs"):
                addrs = tuple(str(a) for a in match["remoteAddrs"])
                conv.intents.append(i.IPAccess(allow=addrs, status=404, provenance=replace(prov, field=fld +
                                                                                           ".match.remoteAddrs")))
                _note(self.notes, obj, "REMOTE-ADDRS", Level.WARNING, f"the rule matches clients in "
                      f"{', '.join(addrs)} only (others fall through to other routes, else 404)",
                      fld + ".match.remoteAddrs", scope, Fidelity.EXTENSION,
                      "carried as an ip-access allow list answering 404", _ELSEWHERE, Security.ACCESS_CONTROL)
        extra_filters: list[Filter] = []
        backends, up_intents = self._backends(obj, n, rule, scope, extra_filters)
        t = rule.get("timeout")
        timeouts = None
        if isinstance(t, Mapping):
            timeouts = (_seconds(t.get("connect")) or 60, _seconds(t.get("send")) or 60, _seconds(t.get("read")) or 60)

        def note(code: str, level: Level, message: str, **kw: Any) -> None:
            _note(self.notes, obj, code, level, message, fld, scope, kw.get("fidelity"), kw.get("instead", ""),
                  kw.get("aspects", ()))

        built = finish_rule(matches, backends, conv, prov, note, timeouts, 0, up_intents + self._client_auth(hosts))
        if extra_filters:
            built = [r if any(f.type == "URLRewrite" for f in r.filters) else
                     replace(r, filters=r.filters + tuple(extra_filters)) for r in built]
        return built, conv.https_redirect

    def _hosts(self, obj: KubeObject, n: int, rule: Mapping[str, Any]) -> tuple[str, ...]:
        match = as_map(rule.get("match"))
        out: list[str] = []
        for h in match.get("hosts") or []:
            host = str(h).lower()
            if _HOST.fullmatch(host):
                out.append(host)
            else:
                _note(self.notes, obj, "HOST-NOT-EXPRESSIBLE", Level.WARNING, f"host {h} is not a hostname with at "
                      "most a leftmost wildcard", f"spec.http[{n}].match.hosts", ((host, ""),),
                      instead="host dropped from the rule")
        return tuple(sorted(dict.fromkeys(out)))

    def convert(self, obj: KubeObject) -> list[Route]:
        spec = obj.spec
        rules = as_list(spec.get("http"))
        for n, rule in enumerate(rules):
            try:
                parse_exprs(as_map(as_map(rule).get("match")).get("exprs"))
            except ExprError as exc:
                _note(self.notes, obj, "EXPR-INVALID", Level.ERROR, f"the controller refuses the ApisixRoute: {exc}",
                      f"spec.http[{n}].match.exprs", (("*", ""),), None,
                      "not converted (APISIX serves none of its rules either)")
                self.refused.add(obj.ref)
                return []
        groups: dict[tuple[str, ...], tuple[list[Rule], list[Rule]]] = {}
        for n, rule in enumerate(rules):
            if not isinstance(rule, Mapping):
                continue
            hosts = self._hosts(obj, n, rule)
            built, https_redirect = self.rule(obj, n, rule, hosts)
            plain, secure = groups.setdefault(hosts, ([], []))
            for r in built:
                plain.append(redirect_rule(r, r.provenance[0]) if https_redirect else r)
                secure.append(r)
        routes: list[Route] = []
        prov = Provenance("ApisixRoute", obj.namespace, obj.name, "", obj.origin)
        for hosts, (plain, secure) in sorted(groups.items()):
            name = f"{obj.name}-{host_slug(hosts[0])}" if hosts else obj.name
            tls = bool(hosts) and all(self._has_cert(h) for h in hosts)
            if plain == secure:
                sections: frozenset[Section] = frozenset({"http", "https"}) if tls else frozenset({"http"})
                routes.append(Route("HTTPRoute", obj.namespace, name, self.gw, hosts, sections, tuple(plain), (prov,)))
                continue
            routes.append(Route("HTTPRoute", obj.namespace, name + "-https-redirect", self.gw, hosts,
                                frozenset({"http"}), tuple(plain), (prov,)))
            if tls:
                routes.append(Route("HTTPRoute", obj.namespace, name, self.gw, hosts, frozenset({"https"}),
                                    tuple(secure), (prov,)))
        return routes

    def _has_cert(self, host: str) -> bool:
        if host in self.cert_hosts:
            return True
        return "." in host and "*." + host.split(".", 1)[1] in self.cert_hosts


def convert_apisix_routes(crds: Crds, ctx: ProviderContext, ingress_certificates: Sequence[Certificate] = ()) -> IR:
    """The routes of the ApisixRoutes (``http`` and ``stream``), the ApisixTls certificates and
    the stream listeners; ``ingress_certificates``: the Ingress TLS certificates APISIX holds too."""
    gw = ctx.gateway("apisix")
    conv = _Converter(crds, ctx, gw)
    certs = conv.certificates()
    conv.cert_hosts.update(c.hostname for c in ingress_certificates)
    held: dict[str, CertificateRef] = {}
    for c in (*ingress_certificates, *certs):
        held.setdefault(c.hostname, CertificateRef(c.secret_namespace, c.secret_name))
    streams = StreamConverter(ctx, gw, lambda sni: sni_lookup(held, sni), conv.stream_upstream)
    routes: list[Route] = []
    for obj in crds.all("ApisixRoute"):
        routes += conv.convert(obj)
        if obj.ref not in conv.refused:
            streams.convert(obj)
    routes += streams.finish()
    return IR(routes=tuple(routes), certificates=tuple(certs), listeners=tuple(streams.listeners.values()))

