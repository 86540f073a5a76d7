"""The Istio field table: every field of Gateway, VirtualService and DestinationRule the provider
reads, with how it converts.

Istio reads no annotations of its own on an Ingress (the class is ``istio``; paths follow
Istio's rules, :mod:`.ingress`), so the provider's table lists the fields of its CRDs instead,
keyed ``Kind: path`` with ``[]`` for list items (``VirtualService: http[].fault``). The table
drives three things: :func:`walk` notes every field of an object that does not convert exactly
(and every field Istio does not define), the feature code reads the values, and ``ing2gw
providers istio`` prints it (``docs/providers/istio.md`` is generated from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ing2gw import intents as i
from ing2gw.kinds import KubeObject
from ing2gw.notes import Fidelity, Notes, Scope
from ing2gw.provider import AnnotationSpec, AnnotationTable

__all__ = ["TABLE", "walk"]

E, A, X, U = Fidelity.EXACT, Fidelity.APPROXIMATE, Fidelity.EXTENSION, Fidelity.UNSUPPORTED


def _row(kind: str, path: str, fidelity: Fidelity, target: str, doc: str, *, family: str = "routing",
         feature: bool = False, intent: type[i.Intent] | None = None) -> AnnotationSpec:
    return AnnotationSpec(f"{kind}: {path}", fidelity, doc, family=family, target=target, noted_by_feature=feature,
                          intent=intent)


_GW = "Gateway"
_VS = "VirtualService"
_DR = "DestinationRule"

_ROWS = [
    # --- Gateway ---------------------------------------------------------------------------
    _row(_GW, "selector", A, "one Gateway API Gateway per Istio Gateway",
         "the gateway pods the servers configure; Istio Gateways sharing a selector share an address, the "
         "converted Gateways each get their own", feature=True),
    _row(_GW, "servers[]", E, "listeners", "one listener per (server, host)"),
    _row(_GW, "servers[].name", E, "listener name", "the server's name"),
    _row(_GW, "servers[].port", E, "listener port", "port number, protocol and name"),
    _row(_GW, "servers[].port.number", E, "listener port", "the port the gateway listens on"),
    _row(_GW, "servers[].port.name", E, "listener name", "the port's name (names the listener)"),
    _row(_GW, "servers[].port.protocol", E, "listener protocol",
         "HTTP, HTTP2, GRPC -> HTTP (GRPC: the routes bound there become GRPCRoutes); HTTPS -> HTTPS (TLS "
         "listener when PASSTHROUGH); TLS -> TLS; TCP -> TCP; MONGO, MYSQL, REDIS ... are noted", feature=True),
    _row(_GW, "servers[].port.targetPort", U, "", "deprecated, ignored by Istio for gateways"),
    _row(_GW, "servers[].hosts", E, "listener hostname and allowedRoutes",
         "host or ns/host; a namespace part limits which namespaces' VirtualServices bind (allowedRoutes)",
         feature=True),
    _row(_GW, "servers[].bind", U, "", "the address the server binds to (sidecar ingress)", family="tls"),
    _row(_GW, "servers[].defaultEndpoint", U, "", "sidecar ingress forwarding target"),
    _row(_GW, "servers[].tls", E, "listener tls", "TLS settings of the server"),
    _row(_GW, "servers[].tls.mode", E, "listener tls.mode",
         "SIMPLE, MUTUAL -> Terminate (MUTUAL also the client-cert-auth intent); PASSTHROUGH -> TLS Passthrough; "
         "AUTO_PASSTHROUGH and ISTIO_MUTUAL are mesh-internal (noted)", feature=True, family="tls"),
    _row(_GW, "servers[].tls.credentialName", E, "listener certificateRefs (ReferenceGrant when needed)",
         "Secret holding the server certificate, read in the gateway's namespace", family="tls"),
    _row(_GW, "servers[].tls.credentialNames", A, "listener certificateRefs",
         "several certificates (RSA and ECDSA) for one server", family="tls"),
    _row(_GW, "servers[].tls.httpsRedirect", E, "HTTPRoute RequestRedirect scheme https, 301",
         "answer every plain-HTTP request of the server with a 301 to https", family="redirect"),
    _row(_GW, "servers[].tls.serverCertificate", U, "", "certificate file mounted in the gateway pod",
         family="tls"),
    _row(_GW, "servers[].tls.privateKey", U, "", "key file mounted in the gateway pod", family="tls"),
    _row(_GW, "servers[].tls.caCertificates", U, "", "client CA file mounted in the gateway pod", family="tls"),
    _row(_GW, "servers[].tls.caCrl", U, "", "certificate revocation list file", family="tls"),
    _row(_GW, "servers[].tls.subjectAltNames", U, "", "allowed client certificate SANs", family="tls"),
    _row(_GW, "servers[].tls.verifyCertificateSpki", U, "", "pinned client certificate keys", family="tls"),
    _row(_GW, "servers[].tls.verifyCertificateHash", U, "", "pinned client certificates", family="tls"),
    _row(_GW, "servers[].tls.minProtocolVersion", U, "", "minimum TLS version", family="tls"),
    _row(_GW, "servers[].tls.maxProtocolVersion", U, "", "maximum TLS version", family="tls"),
    _row(_GW, "servers[].tls.cipherSuites", U, "", "TLS cipher suites", family="tls"),
    # --- VirtualService --------------------------------------------------------------------
    _row(_VS, "hosts", E, "route hostnames / Service parents", "hosts the routes apply to"),
    _row(_VS, "gateways", E, "parentRefs", "gateways (ns/name) the routes bind to; mesh or none: the sidecars "
         "(GAMMA routes with a Service parent)", feature=True),
    _row(_VS, "exportTo", E, "route namespace (GAMMA)", "the namespaces whose clients see it: a consumer route "
         "in each namespace that gets other routes than the rest, the producer route (in the Service's namespace) "
         "for every other one; sidecars take one VirtualService per Service (private, exported, public; oldest "
         "first), later ones are noted", feature=True),
    _row(_VS, "http[]", E, "HTTPRoute rules", "routes tried in order, first match wins (reordered or split so "
         "Gateway API precedence gives the same answer, noted where it cannot)", feature=True),
    _row(_VS, "http[].name", E, "rule name", "the route's name"),
    _row(_VS, "http[].match[]", E, "matches", "conditions, ORed"),
    _row(_VS, "http[].match[].name", E, "", "the match's name"),
    _row(_VS, "http[].match[].uri", E, "path match", "exact -> Exact; prefix -> PathPrefix (a character prefix "
         "in Istio: noted); regex -> RegularExpression", feature=True),
    _row(_VS, "http[].match[].headers", E, "header matches", "exact -> Exact; prefix, regex -> RegularExpression",
         feature=True),
    _row(_VS, "http[].match[].queryParams", E, "query matches", "exact -> Exact; prefix, regex -> "
         "RegularExpression", feature=True),
    _row(_VS, "http[].match[].method", E, "method match", "exact method; prefix and regex are noted",
         feature=True),
    _row(_VS, "http[].match[].ignoreUriCase", U, "", "case-insensitive path match (noted; a case-insensitive "
         "regex where the path is a regex)", feature=True),
    _row(_VS, "http[].match[].authority", U, "", "match on the Host header (noted; hosts belong in hostnames)",
         feature=True),
    _row(_VS, "http[].match[].scheme", U, "", "match on the scheme (noted)", feature=True),
    _row(_VS, "http[].match[].port", A, "listener port", "the port the request came in on", feature=True),
    _row(_VS, "http[].match[].gateways", E, "parentRefs", "the gateways this match applies to", feature=True),
    _row(_VS, "http[].match[].withoutHeaders", U, "", "headers that must be absent (noted)", feature=True),
    _row(_VS, "http[].match[].sourceLabels", A, "the match, on Gateways whose selector carries the labels",
         "workload labels of the proxy: a gateway's pods (its selector) or a client's sidecar; no Gateway API route "
         "selects client pods by labels (a note per match where it is left out: the mesh, other Gateways)",
         feature=True),
    _row(_VS, "http[].match[].sourceNamespace", E, "GAMMA consumer route in that namespace",
         "client namespace (mesh): the match goes to the consumer route of that namespace (not the Service's own: "
         "noted; on a gateway: noted, left out)", feature=True),
    _row(_VS, "http[].match[].statPrefix", U, "", "stats prefix"),
    _row(_VS, "http[].route[]", E, "backendRefs", "destinations with weights"),
    _row(_VS, "http[].route[].destination", E, "backendRef", "host (a Service), port"),
    _row(_VS, "http[].route[].destination.host", E, "backendRef name, namespace",
         "the Service (short name, name.namespace or the cluster name)"),
    _row(_VS, "http[].route[].destination.port", E, "backendRef port", "the Service port (needed when the Service "
         "has several)"),
    _row(_VS, "http[].route[].destination.subset", U, "", "a DestinationRule subset (pod labels; noted)",
         feature=True),
    _row(_VS, "http[].route[].weight", E, "backendRef weight", "traffic share"),
    _row(_VS, "http[].route[].headers", E, "backendRef header filters", "header changes for this destination"),
    _row(_VS, "http[].redirect", E, "RequestRedirect filter", "uri, authority, port, scheme; redirectCode "
         "(Istio defaults to 301, Gateway API to 302: 301 is written out)", feature=True, family="redirect"),
    _row(_VS, "http[].directResponse", U, "", "a fixed response (status and body): no Gateway API form",
         feature=True),
    _row(_VS, "http[].delegate", E, "rules of the delegate VirtualService", "the routes of another "
         "VirtualService, merged with this route's match", feature=True),
    _row(_VS, "http[].rewrite", E, "URLRewrite filter", "uri (ReplacePrefixMatch / ReplaceFullPath), authority "
         "(hostname)", feature=True, family="rewrite"),
    _row(_VS, "http[].rewrite.uri", E, "URLRewrite path", "the matched prefix (or the whole path of an exact or "
         "regex match) replaced", feature=True, family="rewrite"),
    _row(_VS, "http[].rewrite.authority", E, "URLRewrite hostname", "the Host header sent to the backend",
         family="rewrite"),
    _row(_VS, "http[].rewrite.uriRegexRewrite", A, "URLRewrite path where one does the same",
         "regex path rewrite: ReplaceFullPath for /.* to a fixed path or an exact match, ReplacePrefixMatch for "
         "^PREFIX(.*) -> NEW\\1 on that prefix; otherwise noted and the path is sent unchanged", feature=True,
         family="rewrite"),
    _row(_VS, "http[].timeout", E, "rule timeouts.request", "request timeout (Istio has none by default)"),
    _row(_VS, "http[].retries", X, "retries intent", "attempts, perTryTimeout, retryOn (Istio retries twice on "
         "connect failures by default)", intent=i.Retries, feature=True, family="retries"),
    _row(_VS, "http[].fault", U, "", "fault injection (delays, aborts): no Gateway API form", family="fault"),
    _row(_VS, "http[].mirror", E, "RequestMirror filter", "mirror target"),
    _row(_VS, "http[].mirrors", E, "RequestMirror filters", "mirror targets with percentages"),
    _row(_VS, "http[].mirrorPercentage", E, "RequestMirror percent", "share of requests mirrored"),
    _row(_VS, "http[].corsPolicy", E, "CORS filter", "allowed origins, methods, headers, credentials, max age "
         "(unmatched preflights go to the backend in Istio: noted)", feature=True, family="cors"),
    _row(_VS, "http[].headers", E, "header modifier filters", "request and response header set/add/remove"),
    _row(_VS, "tls[]", E, "TLSRoute", "SNI routes of PASSTHROUGH servers", feature=True),
    _row(_VS, "tls[].match[]", E, "TLSRoute hostnames", "sniHosts", feature=True),
    _row(_VS, "tls[].route[]", E, "TLSRoute backendRefs", "destinations with weights"),
    _row(_VS, "tcp[]", E, "TCPRoute", "routes of TCP servers (and TLS servers that terminate)", feature=True),
    _row(_VS, "tcp[].match[]", E, "listener", "port, gateways", feature=True),
    _row(_VS, "tcp[].route[]", E, "TCPRoute backendRefs", "destinations with weights"),
    # --- DestinationRule -------------------------------------------------------------------
    _row(_DR, "host", E, "policy target", "the Service the policy is for"),
    _row(_DR, "trafficPolicy.tls", E, "BackendTLSPolicy", "SIMPLE: TLS origination (sni -> hostname, "
         "caCertificates/credentialName or the system CAs); MUTUAL: also the backend-tls intent (client "
         "certificate); ISTIO_MUTUAL is mesh mTLS (noted)", feature=True, family="tls"),
    _row(_DR, "trafficPolicy.loadBalancer", X, "load-balancing intent", "simple algorithm or consistent hash",
         intent=i.LoadBalancing, feature=True, family="backend"),
    _row(_DR, "trafficPolicy.connectionPool", X, "opaque intent (istio connectionPool)",
         "connection and request limits per host", intent=i.Opaque, feature=True, family="backend"),
    _row(_DR, "trafficPolicy.outlierDetection", X, "opaque intent (istio outlierDetection)",
         "ejecting failing endpoints", intent=i.Opaque, feature=True, family="backend"),
    _row(_DR, "trafficPolicy.portLevelSettings[]", E, "per-port BackendTLSPolicy and intents",
         "the same settings for one port", feature=True, family="backend"),
    _row(_DR, "trafficPolicy.tunnel", U, "", "HTTP CONNECT tunnelling", family="backend"),
    _row(_DR, "trafficPolicy.proxyProtocol", U, "", "PROXY protocol towards the backend", family="backend"),
    _row(_DR, "subsets[]", U, "", "pod-label subsets (routes naming one are noted)", feature=True),
    _row(_DR, "exportTo", A, "", "namespaces that see the rule; the converted policies apply everywhere"),
    _row(_DR, "workloadSelector", U, "", "the workloads (clients) the rule applies to"),
]

_ASPECTS = {
    "routing": frozenset({"status", "backend", "path"}),
    "redirect": frozenset({"status", "redirect"}),
    "rewrite": frozenset({"path", "host"}),
    "cors": frozenset({"cors", "status"}),
    "fault": frozenset({"status"}),
    "retries": frozenset(),
    "tls": frozenset({"tls", "status"}),
    "backend": frozenset(),
}

TABLE = AnnotationTable("", "ISTIO", _ROWS, family_aspects=_ASPECTS)


def _items(kind: str, value: Any, path: str, shown: str) -> Iterable[tuple[str, str, str]]:
    """(field as written, table key, text) for every field under ``value`` at a level the table
    describes row by row: known fields and unknown ones. ``path`` is the table's form of where
    ``value`` is (``http[]``), ``shown`` the field's (``spec.http[2]``)."""
    if not isinstance(value, Mapping):
        return
    for k in sorted(value):
        sub = f"{path}.{k}" if path else str(k)
        here = f"{shown}.{k}"
        key = f"{kind}: {sub}"
        child = value[k]
        if key not in TABLE.specs and f"{key}[]" in TABLE.specs:
            key, sub = f"{key}[]", f"{sub}[]"
        inside = any(s.startswith(key + ".") for s in TABLE.specs)
        if key in TABLE.specs:
            yield (here, key, _short(child))
        elif not inside:
            yield (f"{kind} {here}", key, _short(child))
            continue
        if not inside:
            continue
        if isinstance(child, list):
            for n, item in enumerate(child):
                yield from _items(kind, item, sub, f"{here}[{n}]")
        else:
            yield from _items(kind, child, sub, here)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def walk(obj: KubeObject, notes: Notes, scope: Scope) -> None:
    """Note every field of ``obj``'s spec that does not convert exactly, and every field the
    table does not know (a typo, or a field of a newer Istio)."""
    kind = obj.kind.kind
    items = list(_items(kind, obj.spec, "", "spec"))
    TABLE.parse(items, notes, obj.subject, obj.origin, scope, noun="field")
