"""Read Envoy Gateway policies back into intents with Envoy Gateway's semantics (the
``read_policies`` side of the ``envoy-gateway`` emitter, :mod:`ing2gw.policy`).

SecurityPolicy (basic auth: SHA hashes only; external auth; authorization as an IP list),
BackendTrafficPolicy (local rate limit: 429, a bucket of one unit's requests, no burst; request
buffer limit; timeouts; retries) and ClientTrafficPolicy (client certificates on a listener).
Every other kind is ignored; a malformed object of these kinds raises PolicyReadError.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from ...intents import (
    BasicAuth,
    BodyLimit,
    ClientCertAuth,
    ExternalAuth,
    Intent,
    IPAccess,
    RateLimit,
    Retries,
    Timeouts,
)
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from .base import policy_targets
from .values import duration_ms, quantity_bytes

__all__ = ["read_policies"]

GROUP = "gateway.envoyproxy.io"
_UNITS: dict[str, Literal["second", "minute"]] = {"Second": "second", "Minute": "minute"}


def read_policies(manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
    out: list[AttachedPolicy] = []
    backends = {(str(m["metadata"].get("namespace", "")), str(m["metadata"]["name"])): m for m in manifests
                if m.get("kind") == "Backend" and str(m.get("apiVersion", "")).startswith(GROUP + "/")}
    for obj in manifests:
        if str(obj.get("apiVersion", "")).split("/")[0] != GROUP:
            continue
        reader = _READERS.get(str(obj.get("kind")))
        if reader is None:
            continue
        meta = obj.get("metadata") or {}
        label = f"{obj['kind']} {meta.get('namespace', '')}/{meta.get('name', '')}"
        try:
            spec = obj["spec"]
            targets = [PolicyTarget(k, ns, name, section) for k, ns, name, section in policy_targets(obj)]
            if not targets:
                raise ValueError("no targetRefs")
            for intent, schemes in reader(obj, spec, backends):
                out.extend(AttachedPolicy(t, intent, label, schemes) for t in targets)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise PolicyReadError(f"{label}: cannot read it back: {e}") from e
    return out


Found = Iterator[tuple[Intent, frozenset[str]]]
Backends = Mapping[tuple[str, str], Mapping[str, Any]]


def _security(obj: Mapping[str, Any], spec: Mapping[str, Any], backends: Backends) -> Found:
    ns = obj["metadata"]["namespace"]
    if "basicAuth" in spec:
        users = spec["basicAuth"]["users"]
        yield (BasicAuth(scheme="basic", secret=f"{users.get('namespace', ns)}/{users['name']}",
                         provenance=provenance_of(obj, "spec.basicAuth")), frozenset({"sha"}))
    if "extAuth" in spec:
        http = spec["extAuth"]["http"]
        ref = (http.get("backendRefs") or [http.get("backendRef")])[0]
        path = http.get("pathOverride") or http.get("path") or "/"
        if ref.get("kind", "Service") == "Backend":
            backend = backends[(ref.get("namespace", ns), ref["name"])]["spec"]
            fqdn = backend["endpoints"][0]["fqdn"]
            url = f"{'https' if backend.get('tls') else 'http'}://{fqdn['hostname']}:{fqdn['port']}{path}"
        else:
            url = f"http://{ref['name']}.{ref.get('namespace', ns)}.svc.cluster.local:{ref['port']}{path}"
        yield (ExternalAuth(url=url, response_headers=tuple(http.get("headersToBackend") or ()),
                            provenance=provenance_of(obj, "spec.extAuth")), frozenset())
    if "authorization" in spec:
        yield _authorization(obj, spec["authorization"]), frozenset()


def _authorization(obj: Mapping[str, Any], authz: Mapping[str, Any]) -> IPAccess:
    allow: list[str] = []
    deny: list[str] = []
    order: Literal["deny-first", "allow-first"] | None = None
    for rule in authz.get("rules") or ():
        cidrs = rule["principal"]["clientCIDRs"]
        if rule["action"] == "Allow":
            allow.extend(cidrs)
            order = order or "allow-first"
        else:
            deny.extend(cidrs)
            order = order or "deny-first"
    if authz.get("defaultAction", "Deny") == "Allow" and allow:
        raise ValueError("Allow rules under defaultAction Allow are not an address list")
    if authz.get("defaultAction", "Deny") == "Deny" and not allow:
        deny = ["0.0.0.0/0", "::/0"]  # every client is refused
    return IPAccess(allow=tuple(allow), deny=tuple(deny), order=order or "deny-first", status=403,
                    provenance=provenance_of(obj, "spec.authorization"))


def _traffic(obj: Mapping[str, Any], spec: Mapping[str, Any], backends: Backends) -> Found:
    local = (spec.get("rateLimit") or {}).get("local")
    if local:
        seen: set[tuple[int, str, tuple[str, ...]]] = set()
        for rule in local["rules"]:
            limit = rule["limit"]
            selectors = rule.get("clientSelectors") or ()
            cidrs = [s["sourceCIDR"] for s in selectors if "sourceCIDR" in s]
            per_client = any(c.get("type") == "Distinct" for c in cidrs)
            exempt = tuple(c["value"] for c in cidrs if c.get("invert"))
            key = (int(limit["requests"]), limit["unit"], exempt)
            if key in seen:
                continue  # the IPv6 twin of an IPv4 rule
            seen.add(key)
            yield (RateLimit(rate=int(limit["requests"]), unit=_UNITS[limit["unit"]], burst=0,
                             key="client-ip" if per_client else "route", status=429, exempt=exempt,
                             provenance=provenance_of(obj, "spec.rateLimit.local")), frozenset())
    if "requestBuffer" in spec:
        yield (BodyLimit(max_bytes=quantity_bytes(spec["requestBuffer"]["limit"]),
                         provenance=provenance_of(obj, "spec.requestBuffer")), frozenset())
    if "timeout" in spec:
        t = spec["timeout"]
        connect = (t.get("tcp") or {}).get("connectTimeout")
        http = t.get("http") or {}
        idle = http.get("streamIdleTimeout")
        yield (Timeouts(connect_ms=duration_ms(connect) if connect else None,
                        read_ms=duration_ms(idle) if idle else None, send_ms=duration_ms(idle) if idle else None,
                        request_ms=duration_ms(http["requestTimeout"]) if http.get("requestTimeout") else None,
                        provenance=provenance_of(obj, "spec.timeout")), frozenset())
    if "retry" in spec:
        r = spec["retry"]
        on = tuple(r.get("retryOn", {}).get("triggers") or ()) + tuple(
            f"http_{c}" for c in r.get("retryOn", {}).get("httpStatusCodes") or ())
        yield (Retries(on=on, attempts=int(r.get("numRetries", 2)) + 1,
                       provenance=provenance_of(obj, "spec.retry")), frozenset())


def _client(obj: Mapping[str, Any], spec: Mapping[str, Any], backends: Backends) -> Found:
    validation = (spec.get("tls") or {}).get("clientValidation")
    if validation:
        ref = validation["caCertificateRefs"][0]
        ns = ref.get("namespace", obj["metadata"]["namespace"])
        mode = "on" if validation.get("mode", "RequireAndVerify") in ("RequireAndVerify", "RequireAny") else "optional"
        yield (ClientCertAuth(ca_secret=f"{ns}/{ref['name']}", mode=mode, depth=100,
                              provenance=provenance_of(obj, "spec.tls.clientValidation")), frozenset())


_READERS = {"SecurityPolicy": _security, "BackendTrafficPolicy": _traffic, "ClientTrafficPolicy": _client}
