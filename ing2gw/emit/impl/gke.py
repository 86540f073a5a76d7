"""The ``gke`` emitter: Gateway API objects plus GKE Gateway policies (gke-gateway-api main,
2026-04), from the mapping table :data:`ROWS` (MAPPING.md, column GKE).

GKE attaches most policies to a **Service** (GCPBackendPolicy, GCPTrafficDistributionPolicy:
every route to the Service gets them) and pushes protections into Google Cloud resources
that Kubernetes objects only name: IP lists, rate limits and the WAF become rules of a Cloud
Armor security policy (:mod:`.gke_armor`: the note prints the ``gcloud`` commands), external
auth a GCPAuthzPolicy (CUSTOM, ``enforcementLevel: L7``) on the Gateway calling a
GCPAuthzExtension the user creates around a gRPC ext_authz service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import (
    AccessLog,
    BackendTLSOptions,
    BasicAuth,
    BodyLimit,
    Buffering,
    ClientCertAuth,
    ConnectionDraining,
    Cors,
    ErrorPages,
    ExternalAuth,
    ForwardedHeaders,
    GatewayAddress,
    HealthCheck,
    IdentityAwareProxy,
    IPAccess,
    LoadBalancing,
    Opaque,
    RateLimit,
    Retries,
    SecurityPolicyRef,
    SessionAffinity,
    Timeouts,
    TlsPolicy,
    Waf,
)
from ...ir import IR
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from ..objects import Manifest
from ..registry import EmitContext
from .base import ImplEmitter, ObjectKind, Piece, Row, Site
from .gateway_scope import gateway_routes, operations, route_targets, same_intent
from .gke_armor import ANNOTATIONS, armor_rules, commands, policy_name, read_armor
from .gke_gateway import gateway_policies, not_on_rules
from .shared import backend_services
from .values import auth_url

__all__ = ["AUTHZ_ANNOTATION", "EMITTER", "ROWS", "GkeEmitter", "read_policies"]

AUTHZ_ANNOTATION = "ing2gw.io/gcp-authz-extension"
_MAX_RULES = 10  # GCPAuthzPolicy spec.rules


def _armor(kind: str, what: str) -> Any:
    def build(intent: Any, site: Site) -> Piece | str:
        if isinstance(intent, IPAccess) and intent.client_address == "forwarded":
            return ("the source checks the address from X-Forwarded-For; Cloud Armor checks the client address "
                    "the Google load balancer sees")
        records = armor_rules(site.rule.intents)
        mine = records[kind]
        if "why" in mine:
            return str(mine["why"])
        records = {k: v for k, v in records.items() if "why" not in v}
        name = policy_name(records)
        notes = [f"create Cloud Armor security policy {name} in the Gateway's project with these {what} rules: "
                 + "; ".join(commands(name, records, kind))]
        if isinstance(intent, RateLimit):
            unit = "10 seconds" if intent.unit == "second" else "minute"
            notes.append(f"Cloud Armor counts {mine['count']} requests per client IP per {unit} per load-balancer "
                         f"region (nginx: {intent.rate}/{intent.unit} with a burst of {intent.burst}, per replica); "
                         f"over the limit the answer is 429, not {intent.status}")
        if isinstance(intent, Waf):
            notes.append("the rules run in preview (logged, not enforced) as ingress-nginx's ModSecurity ran "
                         "DetectionOnly" if mine["preview"] else "the rules refuse matching requests with 403")
        return Piece({"default": {"securityPolicy": name}}, difference="; ".join(notes),
                     annotations={ANNOTATIONS[kind]: json.dumps(mine, sort_keys=True, separators=(",", ":"))})
    return build


def _gke_to(to: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Istio-style operations (:mod:`.istio_scope`) as GCPAuthzPolicy ``to``."""
    def match(value: str) -> dict[str, str]:
        if value.endswith("/*"):
            return {"type": "Prefix", "value": value[:-1]}
        if value.startswith("*."):
            return {"type": "Suffix", "value": value[1:]}
        return {"type": "Exact", "value": value}

    ops: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    for t in to:
        op = t["operation"]
        out: dict[str, Any] = {}
        if op.get("hosts"):
            out["hosts"] = [match(h) for h in op["hosts"] if not h.endswith(":*")]
        if op.get("paths"):
            out["paths"] = [match(p) for p in op["paths"]]
        if op.get("methods"):
            out["methods"] = list(op["methods"])
        ops.append(out)
        excluded += [m for m in (match(p) for p in op.get("notPaths", ())) if m not in excluded]
    body: dict[str, Any] = {"operations": ops} if ops else {}
    if excluded:
        body["notOperations"] = [{"paths": excluded}]
    return body


def _external_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    url = auth_url(intent.url, site.namespace)
    if isinstance(url, str):
        return url
    if site.index >= _MAX_RULES:
        return f"a GCPAuthzPolicy holds at most {_MAX_RULES} rules"
    to, wider = operations(site, same_intent(ExternalAuth, intent))
    extension = f"{url.service or url.host.split('.')[0]}-authz"
    record = {"extension": extension, "url": intent.url, "forwardHeaders": ["authorization", "cookie"],
              "upstreamHeaders": [h.lower() for h in intent.response_headers]}
    notes = list(wider)
    notes.append(f"create GCPAuthzExtension {extension} (networking.gke.io) in the Gateway's namespace, calling a "
                 f"gRPC ext_authz service that asks {intent.url} (Service Extensions call gRPC, not HTTP) and "
                 f"forwards the Authorization and Cookie headers; until it exists GKE cannot attach the policy")
    if intent.response_headers:
        notes.append(f"the extension must return {', '.join(intent.response_headers)} as headers to add upstream")
    if intent.signin_url:
        notes.append(f"a 401 reaches the client instead of a redirect to {intent.signin_url}")
    rule: dict[str, Any] = {"to": _gke_to(to)} if to else {}
    return Piece({"action": "CUSTOM", "enforcementLevel": "L7",
                  "customProviders": {"extensionRefs": [{"group": "networking.gke.io", "kind": "GCPAuthzExtension",
                                                         "name": extension}]},
                  "rules": [rule]},
                 difference="; ".join(notes),
                 annotations={AUTHZ_ANNOTATION: json.dumps(record, sort_keys=True, separators=(",", ":"))})


def _session_affinity(intent: SessionAffinity, site: Site) -> Piece | str:
    ttl_s = intent.max_age_s if intent.max_age_s is not None else intent.expires_s
    if ttl_s is not None and ttl_s > 1209600:
        return f"a cookie lifetime of {ttl_s}s exceeds GKE's 1209600s"
    notes = [] if intent.cookie == "GCLB" else [f"the cookie is named GCLB, not {intent.cookie}"]
    attrs = [a for a, v in (("path", intent.path), ("domain", intent.domain), ("SameSite", intent.same_site),
                            ("Secure", intent.secure)) if v]
    if attrs:
        notes.append(f"its {', '.join(attrs)} attributes are not settable")
    return Piece({"default": {"sessionAffinity": {"type": "GENERATED_COOKIE", "cookieTtlSec": ttl_s or 0}}},
                 difference="; ".join(notes), exact=True if not notes else None)


def _load_balancing(intent: LoadBalancing, site: Site) -> Piece | str:
    if intent.service_address:
        return "GKE's load balancer always sends to the Pods (NEGs); service-upstream has no form"
    if intent.algorithm == "round_robin":
        return Piece({"default": {"localityLbAlgorithm": "ROUND_ROBIN"}}, exact=True)
    if intent.algorithm == "ewma":
        return Piece({"default": {"localityLbAlgorithm": "LEAST_REQUEST"}})
    return f"load-balancing algorithm {intent.algorithm} with key {intent.hash_key} has no GKE equivalent"


def _client_ip_hash(intent: LoadBalancing, site: Site) -> Piece | str:
    if intent.algorithm == "consistent-hash" and intent.hash_key in ("$remote_addr", "$binary_remote_addr",
                                                                      "client-ip"):
        return Piece({"default": {"sessionAffinity": {"type": "CLIENT_IP"}}},
                     difference="client-IP affinity of the load balancer (best effort), not nginx's consistent hash")
    return f"the hash key {intent.hash_key} has no GKE form (header and cookie names are not settable)"


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        return Piece({}, exact=True, difference="no limit: nothing is emitted (GKE has no request body limit)")
    return "GKE's load balancer has no request body limit"


def _timeouts(intent: Timeouts, site: Site) -> Piece | str:
    if intent.request_ms is None or any(v is not None for v in (intent.connect_ms, intent.send_ms, intent.read_ms,
                                                                intent.idle_ms)):
        return ("timeoutSec is a total response timeout (and the WebSocket lifetime); connect, send, read and idle "
                "timeouts have no field")
    return Piece({"default": {"timeoutSec": max(1, -(-intent.request_ms // 1000))}})


def _named_armor(intent: SecurityPolicyRef, site: Site) -> Piece | str:
    if intent.vendor != "cloud-armor":
        return f"a {intent.vendor} policy is not a Cloud Armor security policy"
    return Piece({"default": {"securityPolicy": intent.name}}, exact=True)


def _iap(intent: IdentityAwareProxy, site: Site) -> Piece | str:
    iap: dict[str, Any] = {"enabled": True}
    if intent.client_id:
        iap["clientID"] = intent.client_id
    secret = ""
    if intent.client_secret:
        iap["oauth2ClientSecret"] = {"name": intent.client_secret.split("/", 1)[1]}
        secret = (f"Secret {intent.client_secret} must hold the OAuth client secret under the key 'key' (a "
                  "BackendConfig's Secret holds client_id and client_secret)"
                  + ("" if intent.client_id else "; set iap.clientID to its client_id"))
    return Piece({"default": {"iap": iap}}, exact=True, secret=secret)


def _health_check(intent: HealthCheck, site: Site) -> Piece | str:
    protocol = (intent.protocol or "HTTP").upper()
    section = {"HTTP": "httpHealthCheck", "HTTPS": "httpsHealthCheck", "HTTP2": "http2HealthCheck",
               "TCP": "tcpHealthCheck", "GRPC": "grpcHealthCheck"}.get(protocol)
    if section is None:
        return f"health-check protocol {intent.protocol} has no HealthCheckPolicy type"
    check: dict[str, Any] = {}
    if intent.path and protocol in ("HTTP", "HTTPS", "HTTP2"):
        check["requestPath"] = intent.path
    if intent.host and protocol in ("HTTP", "HTTPS", "HTTP2"):
        check["host"] = intent.host
    if intent.port is not None:
        check.update({"portSpecification": "USE_FIXED_PORT", "port": intent.port})
    default: dict[str, Any] = {"config": {"type": protocol, section: check}}
    for key, value, high in (("checkIntervalSec", intent.interval_s, 300), ("timeoutSec", intent.timeout_s, 300),
                             ("healthyThreshold", intent.healthy, 10), ("unhealthyThreshold", intent.unhealthy, 10)):
        if value is not None:
            if not 1 <= value <= high:
                return f"{key} {value} is outside 1..{high}"
            default[key] = value
    different = f"GKE counts only 200 as healthy, not {', '.join(intent.status_codes)}" if intent.status_codes else ""
    return Piece({"default": default}, exact=not different, difference=different)


def _draining(intent: ConnectionDraining, site: Site) -> Piece | str:
    if intent.timeout_s > 3600:
        return f"a draining timeout of {intent.timeout_s}s exceeds GKE's 3600s"
    return Piece({"default": {"connectionDraining": {"drainingTimeoutSec": intent.timeout_s}}}, exact=True)


def _logging(intent: AccessLog, site: Site) -> Piece | str:
    logging: dict[str, Any] = {"enabled": intent.enabled}
    if intent.sample_rate is not None:
        logging["sampleRate"] = round(min(max(intent.sample_rate, 0.0), 1.0) * 1_000_000)
    return Piece({"default": {"logging": logging}}, exact=True)


_ARMOR_DOC = ("The Cloud Armor policy is a Google Cloud resource: create it with the gcloud commands of the note "
              "before applying the output.")

ROWS: tuple[Row, ...] = (
    Row(ExternalAuth, "GCPAuthzPolicy", "spec.action CUSTOM, spec.customProviders.extensionRefs", "A",
        "GKE asks a Service Extensions authorization extension (gRPC ext_authz), not the HTTP auth URL: the user "
        "wraps the auth service in a GCPAuthzExtension; the policy sits on the Gateway, scoped to the route's "
        "hosts and paths; no sign-in redirect",
        doc="Create the GCPAuthzExtension the note names (gRPC callout to a Service) in the Gateway's namespace.",
        build=_external_auth),
    Row(IPAccess, "GCPBackendPolicy", "spec.default.securityPolicy (Cloud Armor allow/deny rules)", "A",
        "Cloud Armor checks the address the Google load balancer sees, per backend Service (every route to it), "
        "deny rules first, 403", doc=_ARMOR_DOC, build=_armor("ip-access", "address")),
    Row(RateLimit, "GCPBackendPolicy", "spec.default.securityPolicy (Cloud Armor throttle rule)", "A",
        "Cloud Armor throttles per client IP over a fixed interval per load-balancer region and answers 429 "
        "(nginx: a leaky bucket with burst per replica, 503); per backend Service", doc=_ARMOR_DOC,
        build=_armor("rate-limit", "rate-limit")),
    Row(Waf, "GCPBackendPolicy", "spec.default.securityPolicy (Cloud Armor preconfigured WAF rules)", "A",
        "Cloud Armor's preconfigured OWASP CRS rules instead of ModSecurity (the source's own rule text does not "
        "carry over); in preview when the source only detected", doc=_ARMOR_DOC, build=_armor("waf", "WAF")),
    Row(SessionAffinity, "GCPBackendPolicy", "spec.default.sessionAffinity", "A",
        "a load-balancer generated cookie named GCLB (best effort), per backend Service; only its lifetime is "
        "settable (0 = session cookie)", build=_session_affinity),
    Row(LoadBalancing, "GCPTrafficDistributionPolicy", "spec.default.localityLbAlgorithm", "A",
        "per backend Service; round_robin is exact, ewma becomes LEAST_REQUEST", build=_load_balancing),
    Row(LoadBalancing, "GCPBackendPolicy", "spec.default.sessionAffinity CLIENT_IP", "A",
        "upstream-hash-by $remote_addr becomes client-IP affinity", build=_client_ip_hash),
    Row(BodyLimit, "(no object)", "unlimited", "N",
        "GKE has no request body limit ('0', no limit, is carried: nothing to emit)", build=_body_limit),
    Row(BasicAuth, "", "", "N", "GKE has no basic authentication (IAP is Google sign-in, not basic auth)"),
    Row(ClientCertAuth, "", "", "N",
        "frontend mTLS is a Google Cloud ServerTlsPolicy and TrustConfig on the load balancer, outside these "
        "CRDs: configure it by hand"),
    Row(Timeouts, "GCPBackendPolicy", "spec.default.timeoutSec", "A",
        "timeoutSec is the time the backend has for its whole response (and the WebSocket lifetime), per backend "
        "Service", build=_timeouts),
    Row(SecurityPolicyRef, "GCPBackendPolicy", "spec.default.securityPolicy", "E",
        "the same Cloud Armor security policy, per backend Service", build=_named_armor),
    Row(IdentityAwareProxy, "GCPBackendPolicy", "spec.default.iap", "E", "", build=_iap),
    Row(HealthCheck, "HealthCheckPolicy", "spec.default", "E", "", build=_health_check),
    Row(ConnectionDraining, "GCPBackendPolicy", "spec.default.connectionDraining", "E", "", build=_draining),
    Row(AccessLog, "GCPBackendPolicy", "spec.default.logging", "E", "", build=_logging),
    Row(GatewayAddress, "Gateway", "spec.addresses (NamedAddress)", "E", "",
        doc="Reserve the named static address in the Gateway's project and region first.", build=not_on_rules),
    Row(TlsPolicy, "GCPGatewayPolicy", "spec.default.sslPolicy", "E", "",
        doc="The SSL policy is a Google Cloud resource: it must exist in the Gateway's project.", build=not_on_rules),
    Row(Retries, "", "", "N", "the load balancer's retry policy is not exposed by these CRDs"),
    Row(Cors, "", "", "N", "no CORS policy; the standard CORS filter is not implemented by GKE"),
    Row(ErrorPages, "", "", "N", "custom error responses are not in these CRDs"),
    Row(Buffering, "", "", "N", "no buffer settings"),
    Row(BackendTLSOptions, "", "", "N", "ciphers and protocols towards the backend have no field"),
    Row(ForwardedHeaders, "", "", "N", "the Google load balancer appends the client address to X-Forwarded-For itself"),
    Row(Opaque, "", "", "N", "source settings without a model are not carried"),
)


class GkeEmitter(ImplEmitter):
    name = "gke"
    description = ("Gateway API plus GKE Gateway policies: GCPBackendPolicy per Service (Cloud Armor security "
                   "policy for IP lists, rate limits and WAF or by name; session affinity; timeout; draining; IAP; "
                   "logging), HealthCheckPolicy, GCPTrafficDistributionPolicy (load balancing), GCPAuthzPolicy on the "
                   "Gateway (external auth through an authz extension), GCPGatewayPolicy (SSL policy) and the "
                   "Gateway's named address")
    target = "gke"
    kinds = (
        ObjectKind("GCPBackendPolicy", "backend", "service"),
        ObjectKind("GCPTrafficDistributionPolicy", "traffic", "service", service_ref="targetRefs"),
        ObjectKind("GCPAuthzPolicy", "authz", "gateway"),
        ObjectKind("HealthCheckPolicy", "healthcheck", "service"),
        ObjectKind("GCPGatewayPolicy", "gateway", "gateway"),
    )
    rows = ROWS

    def emit(self, ir: IR, ctx: EmitContext) -> list[Manifest]:
        return gateway_policies(self, ir, super().emit(ir, ctx), ctx)

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        return read_policies(manifests)


# -- reading back --------------------------------------------------------------------------------------------


def _routes(manifests: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [m for m in manifests if m.get("kind") in ("HTTPRoute", "GRPCRoute")]


def _service_targets(manifests: Sequence[Mapping[str, Any]], ns: str, service: str) -> list[PolicyTarget]:
    """Every route rule sending to the Service (the route, when all its rules do)."""
    out: list[PolicyTarget] = []
    for m in _routes(manifests):
        rules = m["spec"].get("rules") or ()
        hit = [i for i in range(len(rules)) if (ns, service) in backend_services(m, i)]
        meta = m["metadata"]
        if hit and len(hit) == len(rules):
            out.append(PolicyTarget(m["kind"], meta["namespace"], meta["name"]))
        else:
            out += [PolicyTarget(m["kind"], meta["namespace"], meta["name"], rules[i]["name"])
                    for i in hit if rules[i].get("name")]
    return out


def _istio_to(to: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GCPAuthzPolicy ``to`` as Istio-style operations (for :func:`covered_rules`)."""
    def pattern(m: Mapping[str, Any]) -> str:
        t, v = m.get("type"), str(m.get("value", ""))
        return v + "*" if t == "Prefix" else "*" + v if t == "Suffix" else v

    not_paths = [pattern(p) for op in to.get("notOperations") or () for p in op.get("paths") or ()]
    out: list[dict[str, Any]] = []
    operations_: Sequence[Mapping[str, Any]] = to.get("operations") or ({},)
    for op in operations_:
        o: dict[str, Any] = {}
        for key in ("hosts", "paths"):
            if op.get(key):
                o[key] = [pattern(x) for x in op[key]]
        if op.get("methods"):
            o["methods"] = list(op["methods"])
        if not_paths:
            o["notPaths"] = not_paths
        out.append({"operation": o})
    return out


def read_policies(manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
    """Cloud Armor protections (from the GCPBackendPolicy annotations) on every route rule to
    the Service, and external auth of the GCPAuthzPolicies on the rules they cover."""
    out: list[AttachedPolicy] = []
    for obj in manifests:
        kind = obj.get("kind")
        if kind not in ("GCPBackendPolicy", "GCPAuthzPolicy"):  # (most objects: routes, ...)
            continue
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        try:
            if kind == "GCPBackendPolicy" and (spec.get("targetRef") or {}).get("kind") == "Service":
                records = read_armor(meta.get("annotations") or {})
                targets = _service_targets(manifests, ns, str(spec["targetRef"]["name"]))
                for intent in _armor_intents(records, obj):
                    out += [AttachedPolicy(t, intent, f"GCPBackendPolicy {ns}/{name}") for t in targets]
            elif kind == "GCPAuthzPolicy" and spec.get("action") == "CUSTOM":
                raw = (meta.get("annotations") or {}).get(AUTHZ_ANNOTATION)
                if not raw:
                    continue
                record = json.loads(raw)
                intent = ExternalAuth(url=str(record["url"]), response_headers=tuple(record["upstreamHeaders"]),
                                      provenance=provenance_of(obj, "spec.customProviders"))
                gateways = {str(r.get("name")) for r in spec.get("targetRefs") or () if r.get("kind") == "Gateway"}
                rules: Sequence[Mapping[str, Any]] = spec.get("rules") or ({},)
                for m in gateway_routes(manifests, ns, gateways):
                    for rule in rules:
                        to = _istio_to(rule["to"]) if rule.get("to") else []
                        out += [AttachedPolicy(t, intent, f"GCPAuthzPolicy {ns}/{name}") for t in route_targets(m, to)]
        except (ValueError, KeyError, TypeError) as e:
            raise PolicyReadError(f"{kind} {ns}/{name}: its ing2gw annotations cannot be read ({e})") from e
    return out


def _armor_intents(records: Mapping[str, Mapping[str, Any]], obj: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    ip = records.get("ip-access")
    if ip is not None:
        out.append(IPAccess(allow=tuple(ip.get("allow") or ()), deny=tuple(ip.get("deny") or ()), order="deny-first",
                            client_address="peer", status=403, provenance=provenance_of(obj, ANNOTATIONS["ip-access"])))
    rl = records.get("rate-limit")
    if rl is not None:
        # the fixed interval admits the whole count at once: a burst of count - rate
        per = 10 if int(rl["intervalSec"]) == 10 else 1
        rate = max(1, int(rl["count"]) // per)
        out.append(RateLimit(rate=rate, unit="second" if per == 10 else "minute", burst=int(rl["count"]) - rate,
                             key="client-ip", status=int(rl["status"]), scope="global",
                             exempt=tuple(rl.get("exempt") or ()),
                             provenance=provenance_of(obj, ANNOTATIONS["rate-limit"])))
    return out


EMITTER = GkeEmitter()
