"""BackendConfig and FrontendConfig: GKE's CRDs, read into what the translator and the model
both use.

A **BackendConfig** (``cloud.google.com/v1``) applies to a Service *port*: the Service
annotation ``cloud.google.com/backend-config`` names one per port (by name or number) and a
``default`` for the others. Its fields become, per rule sending to that port: request and
response header filters (``customRequestHeaders``/``customResponseHeaders``, unless a value
uses a load-balancer variable such as ``{client_region}``) and typed intents (``timeoutSec``,
``connectionDraining``, ``sessionAffinity``, ``securityPolicy``, ``iap``, ``healthCheck``,
``logging``). ``cdn`` has no GKE Gateway form in the vendored CRDs and is noted.

A **FrontendConfig** (``networking.gke.io/v1beta1``), named by the Ingress annotation
``networking.gke.io/v1beta1.FrontendConfig``, holds ``redirectToHttps`` (every plain-HTTP
request is redirected, 301 unless ``responseCodeName`` says otherwise) and ``sslPolicy``.

Invalid values are refused as ingress-gce's validation refuses them (an unknown affinity type,
a cookie TTL above 86400 s, IAP together with CDN): the whole BackendConfig is then not applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import Provenance
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.resources import IngressBackend, ResourceSet

from .annotations import BACKEND_CONFIG, BACKEND_CONFIG_BETA, parse_backend_config

__all__ = ["BACKEND_KINDS", "FRONTEND_KINDS", "KINDS", "BackendSettings", "FrontendSettings", "backend_config",
           "backend_settings", "frontend_settings"]

BACKEND_KINDS = (APIKind("cloud.google.com", "v1", "BackendConfig", selectable=False),
                 APIKind("cloud.google.com", "v1beta1", "BackendConfig", selectable=False))
FRONTEND_KINDS = (APIKind("networking.gke.io", "v1beta1", "FrontendConfig", selectable=False),
                  APIKind("networking.gke.io", "v1", "FrontendConfig", selectable=False))
KINDS = BACKEND_KINDS + FRONTEND_KINDS

REDIRECT_CODES = {"MOVED_PERMANENTLY_DEFAULT": 301, "FOUND": 302, "SEE_OTHER": 303, "TEMPORARY_REDIRECT": 307,
                  "PERMANENT_REDIRECT": 308}
AFFINITY_TYPES = ("NONE", "CLIENT_IP", "GENERATED_COOKIE")
MAX_COOKIE_TTL = 86400
_BACKEND_FIELDS = frozenset({"timeoutSec", "connectionDraining", "sessionAffinity", "securityPolicy", "iap",
                             "healthCheck", "customRequestHeaders", "customResponseHeaders", "logging", "cdn"})


@dataclass(frozen=True, slots=True)
class BackendSettings:
    """What one BackendConfig asks of the rules sending to its Service port."""

    config: str  # "ns/name"
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()
    intents: tuple[i.Intent, ...] = ()
    iap: bool = False
    # what is noted: a refused config, fields without a form, each with what it changes (notes.ASPECTS)
    problems: tuple[str, ...] = ()
    aspects: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class FrontendSettings:
    config: str
    redirect_code: int | None = None  # redirectToHttps enabled: the status
    ssl_policy: str | None = None
    problems: tuple[str, ...] = field(default=())


def _find(objects: Sequence[KubeObject], kinds: Sequence[APIKind], namespace: str, name: str) -> KubeObject | None:
    return next((o for o in objects if o.kind in kinds and o.namespace == namespace and o.name == name), None)


def backend_config(resources: ResourceSet, objects: Sequence[KubeObject], namespace: str,
                   backend: IngressBackend) -> tuple[KubeObject | None, str]:
    """The BackendConfig of a backend's Service port (``None`` with why, "" when the Service
    asks for none): the port's entry by name or number, else ``default``."""
    svc = resources.services.get((namespace, backend.service or ""))
    if svc is None:
        return None, ""
    raw = svc.annotations.get(BACKEND_CONFIG) or svc.annotations.get(BACKEND_CONFIG_BETA)
    if not raw:
        return None, ""
    try:
        parsed = parse_backend_config(raw)
    except ValueError as exc:
        return None, f"Service {namespace}/{svc.name}: {exc}"
    port = next((p for p in svc.ports if (backend.port_name is not None and p.name == backend.port_name)
                 or (backend.port_number is not None and p.port == backend.port_number)), None)
    keys = [k for k in ((port.name if port else backend.port_name), str(port.port) if port else
                        (str(backend.port_number) if backend.port_number is not None else None)) if k]
    name = next((parsed["ports"][k] for k in keys if k in parsed["ports"]), None) or parsed["default"]
    if not name:
        return None, ""
    obj = _find(objects, BACKEND_KINDS, namespace, name)
    if obj is None:
        return None, f"BackendConfig {namespace}/{name} named by Service {namespace}/{svc.name} is not in the input"
    return obj, ""


def _map(spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    v = spec.get(key)
    return v if isinstance(v, Mapping) else {}


def _int(spec: Mapping[str, Any], key: str) -> int | None:
    v = spec.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _headers(spec: Mapping[str, Any], key: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    section = spec.get(key)
    items = section.get("headers") if isinstance(section, Mapping) else None
    for item in items or ():
        name, sep, value = str(item).partition(":")
        if not sep or not name.strip():
            problems.append(f"{key} entry {item!r} is not Name:value")
        elif "{" in value:
            problems.append(f"{key} {name.strip()} uses a load-balancer variable ({value.strip()}) that Gateway API "
                            "header filters cannot fill in")
        else:
            out.append((name.strip(), value.strip()))
    return tuple(out)


def backend_settings(obj: KubeObject, regional: bool = False) -> BackendSettings:
    """What ``obj`` asks, or why it is refused (``problems`` with no intents)."""
    spec = obj.spec
    ref = f"{obj.namespace}/{obj.name}"
    errors: list[str] = []
    affinity = _map(spec, "sessionAffinity")
    kind = affinity.get("affinityType")
    ttl = _int(affinity, "affinityCookieTtlSec")
    if kind is not None and kind not in AFFINITY_TYPES:
        errors.append(f"sessionAffinity.affinityType {kind!r} is not one of {', '.join(AFFINITY_TYPES)}")
    if ttl is not None and not 0 <= ttl <= MAX_COOKIE_TTL:
        errors.append(f"sessionAffinity.affinityCookieTtlSec {ttl} is outside 0..{MAX_COOKIE_TTL}")
    iap = _map(spec, "iap")
    cdn = _map(spec, "cdn")
    if iap.get("enabled") is True and cdn.get("enabled") is True:
        errors.append("iap and cdn cannot both be enabled")
    if iap.get("enabled") is True and regional:
        errors.append("IAP is not available on regional load balancers")
    armor = _map(spec, "securityPolicy")
    if armor.get("name") and regional:
        errors.append("Cloud Armor security policies attach to global backend services only")
    if errors:
        return BackendSettings(ref, problems=tuple(f"BackendConfig {ref} is invalid ({e}); ingress-gce does not "
                                                   "apply it" for e in errors),
                               aspects=tuple(("status", "auth", "headers") for _ in errors))
    problems: list[str] = [f"BackendConfig {ref}: unknown field spec.{k}" for k in sorted(spec)
                           if k not in _BACKEND_FIELDS]
    intents: list[i.Intent] = []

    def p(fld: str) -> Provenance:
        return Provenance("BackendConfig", obj.namespace, obj.name, f"spec.{fld}", obj.origin)

    timeout = _int(spec, "timeoutSec")
    if timeout is not None:
        intents.append(i.Timeouts(request_ms=timeout * 1000, provenance=p("timeoutSec")))
    draining = _int(_map(spec, "connectionDraining"), "drainingTimeoutSec")
    if draining is not None:
        intents.append(i.ConnectionDraining(timeout_s=draining, provenance=p("connectionDraining")))
    if kind == "GENERATED_COOKIE":
        intents.append(i.SessionAffinity(cookie="GCLB", max_age_s=ttl or None, provenance=p("sessionAffinity")))
    elif kind == "CLIENT_IP":
        intents.append(i.LoadBalancing(algorithm="consistent-hash", hash_key="client-ip",
                                       provenance=p("sessionAffinity")))
    if armor.get("name"):  # an empty name removes the policy: nothing to carry
        intents.append(i.SecurityPolicyRef(vendor="cloud-armor", name=str(armor["name"]),
                                           provenance=p("securityPolicy")))
    if iap.get("enabled") is True:
        creds = _map(iap, "oauthclientCredentials")
        secret = creds.get("secretName")
        if creds.get("clientSecret"):
            problems.append(f"BackendConfig {ref}: iap.oauthclientCredentials.clientSecret is written inline; "
                            "ing2gw never copies secret values: put it in a Secret for the GKE Gateway")
        intents.append(i.IdentityAwareProxy(client_id=str(creds["clientID"]) if creds.get("clientID") else None,
                                            client_secret=f"{obj.namespace}/{secret}" if secret else None,
                                            provenance=p("iap")))
    health = _map(spec, "healthCheck")
    if health:
        intents.append(i.HealthCheck(
            protocol=str(health["type"]) if health.get("type") else None,
            path=str(health["requestPath"]) if health.get("requestPath") else None, port=_int(health, "port"),
            interval_s=_int(health, "checkIntervalSec"), timeout_s=_int(health, "timeoutSec"),
            healthy=_int(health, "healthyThreshold"), unhealthy=_int(health, "unhealthyThreshold"),
            provenance=p("healthCheck")))
    logging = spec.get("logging")
    if isinstance(logging, Mapping):  # present, even empty: ingress-gce then turns logging off
        rate = logging.get("sampleRate")
        enabled = logging.get("enable") is True
        intents.append(i.AccessLog(enabled=enabled,
                                   sample_rate=float(rate) if enabled and isinstance(rate, int | float) else None,
                                   provenance=p("logging")))
    if cdn.get("enabled") is True:
        problems.append(f"BackendConfig {ref}: Cloud CDN (spec.cdn) has no form in the GKE Gateway policies this "
                        "tool writes (GKE's GCPHTTPFilter)")
    request = _headers(spec, "customRequestHeaders", problems)
    response = _headers(spec, "customResponseHeaders", problems)
    aspects = tuple(("headers",) if "load-balancer variable" in p else () for p in problems)
    return BackendSettings(ref, request, response, tuple(intents), iap=iap.get("enabled") is True,
                           problems=tuple(problems), aspects=aspects)


def frontend_settings(objects: Sequence[KubeObject], namespace: str, name: str) -> FrontendSettings:
    ref = f"{namespace}/{name}"
    obj = _find(objects, FRONTEND_KINDS, namespace, name)
    if obj is None:
        return FrontendSettings(ref, problems=(f"FrontendConfig {ref} is not in the input",))
    spec = obj.spec
    redirect = _map(spec, "redirectToHttps")
    code: int | None = None
    problems: list[str] = []
    if redirect.get("enabled") is True:
        name_ = redirect.get("responseCodeName")
        if name_ is None:
            code = 301
        elif name_ in REDIRECT_CODES:
            code = REDIRECT_CODES[str(name_)]
        else:
            problems.append(f"FrontendConfig {ref}: unknown redirectToHttps.responseCodeName {name_!r}")
    policy = spec.get("sslPolicy")
    return FrontendSettings(ref, code, str(policy) if policy else None, tuple(problems))
