"""The ``kgateway`` emitter: Gateway API objects plus kgateway v2.4 policies.

Route-level intents become one ``TrafficPolicy`` per route (or per rule, by ``sectionName``,
when the rules differ); external auth adds the ``GatewayExtension`` it points at; per-backend
settings (connect timeout, cookie affinity) become a ``BackendConfigPolicy`` on the Service,
shared by every route that uses it. The mapping table (:data:`KgatewayEmitter.rows`) says
what each intent becomes and what changes for a client; ``docs/emitters/kgateway.md`` is
generated from it. :meth:`KgatewayEmitter.read_policies` reads the policies back with
kgateway's own semantics (429, one token bucket shared by every client, SHA-1-only
htpasswd, longest-prefix ACLs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import (
    BackendTLSOptions,
    BasicAuth,
    BodyLimit,
    ClientCertAuth,
    Cors,
    ExternalAuth,
    Intent,
    IPAccess,
    RateLimit,
    Retries,
    SessionAffinity,
    Timeouts,
)
from ...ir import IR
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from ..objects import Manifest, meta, ordered
from ..registry import EmitContext
from . import ipranges, readvalues
from .authparts import client_cert_gaps, htpasswd_layout, split_ref
from .authparts import cors_differences as _cors
from .base import ImplEmitter, ObjectKind, Piece, Row, Site, policy_targets, reference_grant
from .values import auth_url, duration, quantity

__all__ = ["EMITTER", "KgatewayEmitter"]

GROUP = "gateway.kgateway.dev"
HASHES = frozenset({"sha"})
_ON_NGINX = {"error": ("connect-failure", "reset"), "timeout": ("reset",)}
_STATUS = {"http_500": 500, "http_502": 502, "http_503": 503, "http_504": 504, "http_403": 403, "http_404": 404,
           "http_429": 429}


class KgatewayEmitter(ImplEmitter):
    name = "kgateway"
    description = ("Gateway API plus kgateway v2.4 policies: TrafficPolicy (auth, ACL, rate limit, body size, "
                   "timeouts, retries), GatewayExtension (external auth), BackendConfigPolicy (per Service)")
    target = "kgateway"
    kinds = (ObjectKind("TrafficPolicy", "policy", "targetRefs", sections=True),
             ObjectKind("ListenerPolicy", "client-certs", "listener"))

    def __init__(self) -> None:
        # per emit run: (namespace, Service) -> BackendConfigPolicy spec; GatewayExtension names
        self._backend: dict[tuple[str, str], tuple[dict[str, Any], set[str]]] = {}
        self._extensions: dict[tuple[str, str], str] = {}
        self._auth_backends: dict[tuple[str, str, str, int], str] = {}  # static Backends of auth hosts
        self._verified: set[tuple[str, str]] = set()  # Services with a BackendTLSPolicy
        self.rows = (
            Row(ExternalAuth, "TrafficPolicy", "extAuth.extensionRef -> GatewayExtension extAuth.httpService", "A",
                "kgateway's HTTP ext-auth prefixes the client's path with the URL's path (the source called exactly "
                "the auth URL) and sends only Host, Method, Path, Content-Length, Authorization and Cookie (the "
                "source sent every client header); the auth service sees the client's method (the source used GET); "
                "a non-2xx auth answer reaches the client as it is (the source made every answer but 401/403 a 500)",
                "an auth host outside the cluster (or https://) is reached through a static Backend; statusOnError "
                "is set to 500 like the source", self._ext_auth),
            Row(BasicAuth, "TrafficPolicy", "basicAuth.secretRef", "A",
                "kgateway accepts only SHA-1 ({SHA}) htpasswd entries: apr1, bcrypt and crypt users are locked out; "
                "the realm is kgateway's", "re-create the htpasswd entries with htpasswd -s", self._basic_auth),
            Row(BasicAuth, "TrafficPolicy", "(digest)", "N", "kgateway has no digest authentication"),
            Row(IPAccess, "TrafficPolicy", "acl", "E", "",
                "the ACL matches the longest prefix, not the first entry: allowed blocks inside denied ones are left "
                "out so the answer is the source's; forwarded client addresses need ListenerPolicy httpSettings "
                "xffNumTrustedHops / xffTrustedCIDRs", self._ip_access),
            Row(RateLimit, "TrafficPolicy", "rateLimit.local.tokenBucket", "A",
                "nginx counts per client IP and refuses with 503; kgateway's local limit is one token bucket per "
                "policy target shared by every client (one client can use up everyone's budget), counted per Envoy "
                "replica, refusing with 429",
                "per-client limits need rateLimit.global with a RemoteAddress descriptor and a rate-limit service",
                self._rate_limit),
            Row(RateLimit, "TrafficPolicy", "(limit-connections)", "N", "kgateway limits requests, not connections"),
            Row(BodyLimit, "TrafficPolicy", "buffer.maxRequestSize", "A",
                "kgateway's buffer filter holds the whole request body before proxying (nginx streamed it and only "
                "checked its size); bodies over the limit still get 413", "", self._body_limit),
            Row(Timeouts, "TrafficPolicy", "timeouts.streamIdle + BackendConfigPolicy connectTimeout", "A",
                "kgateway has one idle timeout for both directions of a stream (nginx separates send and read); the "
                "connect timeout is set on the Service, for every route that uses it", "", self._timeouts),
            Row(Retries, "TrafficPolicy", "retry", "A",
                "Envoy retries any method, where nginx does not resend a non-idempotent request once sent; the time "
                "budget for retrying (proxy-next-upstream-timeout) has no kgateway field", "", self._retries),
            Row(ClientCertAuth, "ListenerPolicy", "default.clientCertificateValidation", "A",
                "kgateway verifies client certificates per HTTPS listener (every host of the listener) and the whole "
                "chain; a missing or bad certificate fails the TLS handshake instead of nginx's 400 page",
                "the ListenerPolicy is in the Gateway's namespace; a CA Secret elsewhere needs the ReferenceGrant "
                "emitted with it", self._client_cert),
            Row(Cors, "HTTPRoute", "CORS filter", "A",
                "the standard CORS filter carries the settings; Envoy answers every preflight itself", "",
                _cors),
            Row(BackendTLSOptions, "BackendConfigPolicy", "tls.parameters", "E", "",
                "for a Service without a BackendTLSPolicy (ingress-nginx's default: no verification), with "
                "insecureSkipVerify", self._backend_tls),
            Row(SessionAffinity, "BackendConfigPolicy", "loadBalancer.ringHash.hashPolicies[].cookie", "A",
                "kgateway hashes the cookie onto a ring: clients move when endpoints are added or removed (nginx's "
                "persistent mode keeps them), the cookie's Domain cannot be set, and the policy holds for every "
                "route to the Service", "", self._affinity),
        )

    # -- emitting --------------------------------------------------------------------------

    def emit(self, ir: IR, ctx: EmitContext) -> list[Manifest]:
        self._backend, self._extensions, self._auth_backends = {}, {}, {}
        self._verified = {(t.namespace, t.service) for t in ir.backend_tls}
        out = super().emit(ir, ctx)
        extra = [{"apiVersion": self.api("BackendConfigPolicy"), "kind": "BackendConfigPolicy",
                  "metadata": meta(f"{svc}-backend", ns, sources),
                  "spec": {"targetRefs": [{"group": "", "kind": "Service", "name": svc}], **spec}}
                 for (ns, svc), (spec, sources) in sorted(self._backend.items())]
        return ordered(out + extra) if extra else out

    def _ext_auth(self, intent: ExternalAuth, site: Site) -> Piece | str:
        url = auth_url(intent.url, site.namespace)
        if isinstance(url, str):
            return url
        sources = {intent.provenance.subject}
        extra: list[Manifest] = []
        words = []
        backend: dict[str, Any]
        if url.service is not None and url.namespace is not None and url.scheme == "http":
            backend = {"name": url.service, "port": url.port}
            if url.namespace != site.namespace:
                backend["namespace"] = url.namespace
                extra.append(reference_grant(f"{GROUP}/v1alpha1", "GatewayExtension", site.namespace, "Service",
                                             url.namespace, url.service, sources))
        else:  # a host outside the cluster, or TLS: a static Backend (and its TLS settings)
            where = (site.namespace, url.scheme, url.host, url.port)
            name = self._auth_backends.setdefault(where, f"{site.name}-auth-{len(self._auth_backends) + 1}")
            backend = {"group": GROUP, "kind": "Backend", "name": name}
            extra.append({"apiVersion": self.api("Backend"), "kind": "Backend",
                          "metadata": meta(name, site.namespace, sources),
                          "spec": {"type": "Static", "static": {"hosts": [{"host": url.host, "port": url.port}]}}})
            words.append(f"the auth host {url.host} is reached through the static Backend {site.namespace}/{name}")
            if url.scheme == "https":
                extra.append({"apiVersion": self.api("BackendConfigPolicy"), "kind": "BackendConfigPolicy",
                              "metadata": meta(f"{name}-tls", site.namespace, sources),
                              "spec": {"targetRefs": [{"group": GROUP, "kind": "Backend", "name": name}],
                                       "tls": {"insecureSkipVerify": True, "sni": url.host}}})
                words.append(f"over TLS without verifying its certificate, as ingress-nginx does (BackendConfigPolicy "
                             f"{site.namespace}/{name}-tls)")
        http: dict[str, Any] = {"backendRef": backend}
        path = url.path.rstrip("/")
        if path:
            http["pathPrefix"] = path
        response: dict[str, Any] = {"headersToClientOnSuccess": ["set-cookie"]}
        if intent.response_headers:
            response["headersToBackend"] = list(intent.response_headers)
        if intent.always_set_cookie:
            response["headersToClient"] = ["set-cookie"]
        http["authorizationResponse"] = response
        spec = {"type": "ExtAuth", "extAuth": {"httpService": http, "headersToForward": ["cookie"],
                                               "statusOnError": 500}}
        key = (site.namespace, json.dumps(spec, sort_keys=True))
        if key not in self._extensions:
            taken = set(self._extensions.values())
            candidate, n = f"{site.name}-ext-auth", 2
            while candidate in taken:
                candidate, n = f"{site.name}-ext-auth-{n}", n + 1
            self._extensions[key] = candidate
        extension = self._extensions[key]
        extra.append({"apiVersion": self.api("GatewayExtension"), "kind": "GatewayExtension",
                      "metadata": meta(extension, site.namespace, sources), "spec": spec})
        if path:
            words.append(f"the auth service is asked for {path}/<client path> (pathPrefix), not {path}: an auth "
                         f"service that answers only on {path} itself refuses every request")
        if intent.method and intent.method != "GET":
            words.append(f"the source's auth method {intent.method} is not kept")
        if intent.signin_url:
            words.append(f"a 401 reaches the client instead of a redirect to {intent.signin_url}")
        if intent.request_headers_from:
            words.append(f"the extra headers of ConfigMap {intent.request_headers_from} are not sent")
        return Piece({"extAuth": {"extensionRef": {"name": extension}}}, "; ".join(words), extra=tuple(extra))

    def _basic_auth(self, intent: BasicAuth, site: Site) -> Piece | str:
        if intent.scheme != "basic":
            return "kgateway has no digest authentication"
        if intent.secret is None:
            return "no credentials Secret is named"
        name, key, note = htpasswd_layout(intent, site.namespace, "kgateway", "auth", HASHES, same_namespace=False)
        ns = intent.secret.rpartition("/")[0] or site.namespace
        ref: dict[str, Any] = {"name": name, "key": key}
        if ns != site.namespace:
            ref["namespace"] = ns
        return Piece({"basicAuth": {"secretRef": ref}}, secret=note)

    def _ip_access(self, intent: IPAccess, site: Site) -> Piece | str:
        allow, deny = ipranges.decisive(intent)
        rules = []
        if allow:
            rules.append({"action": "allow", "cidrs": ipranges.texts(allow)})
        if deny:
            rules.append({"action": "deny", "cidrs": ipranges.texts(deny)})
        if any(len(r["cidrs"]) > 256 for r in rules):
            return "an ACL rule holds at most 256 blocks"
        acl: dict[str, Any] = {"defaultAction": "deny" if allow else "allow", "rules": rules}
        if intent.status != 403:
            acl["denyResponse"] = {"statusCode": intent.status}
        dropped = len(intent.allow) + len(intent.deny) - len(allow) - len(deny)
        words = []
        if dropped:
            words.append(f"{dropped} block(s) that never decide anything under the source's order are left out, so "
                         "kgateway's longest-prefix match gives the same answers")
        if intent.client_address == "forwarded":
            words.append("the source checked the forwarded client address: set ListenerPolicy httpSettings "
                         "xffNumTrustedHops (or xffTrustedCIDRs) to the proxies in front, or kgateway checks theirs")
        return Piece({"acl": acl}, "; ".join(words), exact=intent.client_address == "peer")

    def _rate_limit(self, intent: RateLimit, site: Site) -> Piece | str:
        if intent.unit == "connections":
            return "kgateway limits requests, not concurrent connections"
        # nginx's limit_req burst=B nodelay admits B + 1 requests at once: the bucket's size
        bucket = {"maxTokens": intent.burst + 1, "tokensPerFill": intent.rate,
                  "fillInterval": "1s" if intent.unit == "second" else "1m"}
        return Piece({"rateLimit": {"local": {"tokenBucket": bucket}}}, readvalues.limit_differences(intent, 429))

    def _body_limit(self, intent: BodyLimit, site: Site) -> Piece | str:
        if intent.max_bytes is None:
            return Piece({}, "no limit, and kgateway sets none by default: nothing to emit", exact=True)
        if intent.max_bytes >= 4 << 30:
            return "kgateway's buffer limit must be below 4Gi"
        return Piece({"buffer": {"maxRequestSize": quantity(intent.max_bytes)}})

    def _timeouts(self, intent: Timeouts, site: Site) -> Piece | str:
        spec: dict[str, Any] = {}
        words: list[str] = []
        idle = max((t for t in (intent.send_ms, intent.read_ms) if t is not None), default=None)
        if idle is not None:
            spec["streamIdle"] = duration(idle)
        if intent.request_ms is not None:
            spec["request"] = duration(intent.request_ms)
        if intent.idle_ms is not None:
            words.append("the idle timeout of client connections is not carried (ListenerPolicy)")
        if intent.connect_ms is not None:
            ok, where = self._service_spec(site, {"connectTimeout": duration(intent.connect_ms)}, intent)
            if not ok:
                return where
            words.append(f"connect timeout on {where}")
        return Piece({"timeouts": spec} if spec else {}, "; ".join(words))

    def _retries(self, intent: Retries, site: Site) -> Piece | str:
        retry_on: list[str] = []
        codes: list[int] = []
        ignored: list[str] = []
        for cond in intent.on:
            if cond in _ON_NGINX:
                retry_on.extend(c for c in _ON_NGINX[cond] if c not in retry_on)
            elif cond in _STATUS:
                codes.append(_STATUS[cond])
            elif cond != "off":
                ignored.append(cond)
        if "off" in intent.on or (not retry_on and not codes):
            return "retries are off" if "off" in intent.on else f"no retry condition of {', '.join(intent.on)} maps"
        retry: dict[str, Any] = {"attempts": max(intent.attempts - 1, 1) if intent.attempts else 10}
        if retry_on:
            retry["retryOn"] = retry_on
        if codes:
            retry["statusCodes"] = sorted(codes)
        words = []
        if ignored:
            words.append(f"the condition(s) {', '.join(ignored)} are not retried")
        if not intent.attempts:
            words.append("unlimited tries become 10 retries")
        return Piece({"retry": retry}, "; ".join(words))

    def _affinity(self, intent: SessionAffinity, site: Site) -> Piece | str:
        cookie: dict[str, Any] = {"name": intent.cookie, "httpOnly": True}
        if intent.path:
            cookie["path"] = intent.path
        life = intent.max_age_s if intent.max_age_s is not None else intent.expires_s
        cookie["ttl"] = duration(life * 1000) if life else "0s"
        if intent.secure:
            cookie["secure"] = True
        if intent.same_site:
            cookie["sameSite"] = intent.same_site.capitalize()
        ok, where = self._service_spec(site, {"loadBalancer": {"ringHash": {"hashPolicies": [{"cookie": cookie}]}}},
                                       intent)
        if not ok:
            return where
        words = [f"on {where}"]
        if intent.domain:
            words.append(f"the cookie's Domain {intent.domain} is not set")
        return Piece({}, "; ".join(words))

    def _backend_tls(self, intent: BackendTLSOptions, site: Site) -> Piece | str:
        services = {(b.namespace, b.name) for b in site.rule.backends if b.kind == "Service" and not b.group}
        verified = sorted(services & self._verified)
        if verified:
            return (f"Service {verified[0][0]}/{verified[0][1]} has a BackendTLSPolicy, which a BackendConfigPolicy "
                    "tls would replace")
        if intent.client_cert:
            return "a client certificate needs the BackendConfigPolicy's secretRef, which also verifies the backend"
        parameters: dict[str, Any] = {}
        versions = sorted(p.removeprefix("TLSv") for p in intent.protocols if p.startswith("TLSv1."))
        if versions:
            parameters["minVersion"], parameters["maxVersion"] = versions[0], versions[-1]
        if intent.ciphers:
            parameters["cipherSuites"] = [c for c in intent.ciphers.split(":") if c and not c.startswith("!")]
        if not parameters:
            return "nothing kgateway can set"
        ok, where = self._service_spec(site, {"tls": {"insecureSkipVerify": True, "parameters": parameters}}, intent)
        if not ok:
            return where
        words = [f"on {where}, without verifying the backend's certificate (as the source)"]
        if intent.verify_depth is not None:
            words.append("the verify depth is not carried")
        return Piece({}, "; ".join(words))

    def _client_cert(self, intent: ClientCertAuth, site: Site) -> Piece | str:
        if intent.mode == "off":
            return Piece({}, "verification is off: nothing to emit", exact=True)
        if intent.mode not in ("on", "optional"):
            return f"kgateway cannot request a certificate without verifying it ({intent.mode})"
        if intent.match_cn:
            return f"kgateway cannot check the certificate subject against {intent.match_cn}"
        listeners = site.listeners()
        if not listeners:
            return "the route attaches to no Gateway listener"
        gateway_ns = listeners[0][0]
        ns, name = split_ref(intent.ca_secret, site.namespace)
        ref: dict[str, Any] = {"group": "", "kind": "Secret", "name": name}
        extra: tuple[Manifest, ...] = ()
        if ns != gateway_ns:
            ref["namespace"] = ns
            extra = (reference_grant(self.api("ListenerPolicy"), "ListenerPolicy", gateway_ns, "Secret", ns, name,
                                     [intent.provenance.subject]),)
        words = client_cert_gaps(intent, "kgateway's is the x-forwarded-client-cert header of ListenerPolicy "
                                         "httpSettings.forwardClientCertDetails")
        validation = {"caCertificateRefs": [ref], "mode": "Require" if intent.mode == "on" else "Optional"}
        return Piece({"default": {"clientCertificateValidation": validation}}, "; ".join(words), extra=extra,
                     secret=f"kgateway reads the CA bundle from key ca.crt of Secret {ns}/{name}, as the source does")

    def _service_spec(self, site: Site, part: Mapping[str, Any], intent: Intent) -> tuple[bool, str]:
        """Merge ``part`` into the BackendConfigPolicy of every Service of the rule: whether it
        could, and the policies' names or why not (no Service, or another route wants another
        value)."""
        services = [(b.namespace, b.name) for b in site.rule.backends if b.kind == "Service" and not b.group]
        if not services:
            return False, "the rule has no Service backend"
        for key in services:
            spec = self._backend.get(key, ({}, set()))[0]
            for field_name, value in part.items():
                if field_name in spec and spec[field_name] != value:
                    return False, f"Service {key[0]}/{key[1]} already has another {field_name} from another route"
        for key in services:
            spec, sources = self._backend.setdefault(key, ({}, set()))
            spec.update(part)
            sources.add(intent.provenance.subject)
        return True, ", ".join(f"BackendConfigPolicy {ns}/{svc}-backend" for ns, svc in sorted(set(services)))

    # -- reading back ----------------------------------------------------------------------

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        """kgateway's behaviour for each TrafficPolicy and ListenerPolicy this emitter writes."""
        extensions = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in manifests
                      if m.get("kind") == "GatewayExtension" and str(m.get("apiVersion", "")).startswith(GROUP)}
        out: list[AttachedPolicy] = []
        for m in manifests:
            if m.get("kind") not in ("TrafficPolicy", "ListenerPolicy") or not str(m.get("apiVersion", "")).startswith(
                    GROUP):
                continue
            label = f"{m['kind']} {m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
            intents = (_read_traffic(m, extensions, manifests, label) if m["kind"] == "TrafficPolicy"
                       else _read_listener(m, label))
            for kind, ns, name, section in policy_targets(m):
                if kind not in ("HTTPRoute", "GRPCRoute", "Gateway"):
                    continue
                target = PolicyTarget(kind, ns, name, section)
                for intent in intents:
                    out.append(AttachedPolicy(target, intent, label,
                                              HASHES if isinstance(intent, BasicAuth) else frozenset()))
        return out


def _read_listener(m: Mapping[str, Any], label: str) -> list[Intent]:
    """Client-certificate validation of a ListenerPolicy (verified by the listener, per port)."""
    validation = ((m.get("spec") or {}).get("default") or {}).get("clientCertificateValidation")
    if not validation:
        return []
    try:
        ref = validation["caCertificateRefs"][0]
        ns = ref.get("namespace") or m["metadata"].get("namespace", "")
        mode = {"Require": "on", "Optional": "optional"}[validation["mode"]]
    except (KeyError, IndexError, TypeError) as e:
        raise PolicyReadError(f"{label}: cannot read {e}") from e
    return [ClientCertAuth(ca_secret=f"{ns}/{ref['name']}", mode=mode, depth=100,
                           provenance=provenance_of(m, "spec.default.clientCertificateValidation"))]


def _read_traffic(m: Mapping[str, Any], extensions: Mapping[tuple[str, str], Mapping[str, Any]],
                  manifests: Sequence[Mapping[str, Any]], label: str) -> list[Intent]:
    spec = m.get("spec") or {}
    ns = str(m["metadata"].get("namespace", ""))
    out: list[Intent] = []
    try:
        if "acl" in spec:
            acl = spec["acl"]
            rules = [(r["action"] == "allow", n) for r in acl.get("rules", ()) for n in ipranges.networks(r["cidrs"])]
            ok = ipranges.longest_prefix(acl["defaultAction"], rules)
            status = int((acl.get("denyResponse") or {}).get("statusCode", 403))
            prov = provenance_of(m, "spec.acl")
            if ipranges.cover_everything(ok):
                pass  # admits everyone: nothing to enforce
            elif acl["defaultAction"] == "allow":
                out.append(IPAccess(deny=tuple(ipranges.texts(_complement(ok))), status=status, provenance=prov))
            else:
                out.append(IPAccess(allow=tuple(ipranges.texts(ok)), deny=() if ok else ("0.0.0.0/0", "::/0"),
                                    status=status, provenance=prov))
        if "basicAuth" in spec and "secretRef" in spec["basicAuth"]:
            ref = spec["basicAuth"]["secretRef"]
            out.append(BasicAuth(scheme="basic", secret=f"{ref.get('namespace', ns)}/{ref['name']}",
                                 provenance=provenance_of(m, "spec.basicAuth")))
        if "rateLimit" in spec and "local" in spec["rateLimit"]:
            bucket = spec["rateLimit"]["local"]["tokenBucket"]
            every = readvalues.parse_duration(bucket["fillInterval"])
            tokens = int(bucket.get("tokensPerFill", 1))
            per_second = every <= 1000 and 1000 % every == 0
            rate = tokens * (1000 if per_second else 60_000) // every
            # the router's bucket holds rate + burst: the bucket's size is maxTokens
            out.append(RateLimit(rate=rate, unit="second" if per_second else "minute",
                                 burst=max(int(bucket["maxTokens"]) - rate, 0),
                                 key="route", status=429,
                                 provenance=provenance_of(m, "spec.rateLimit.local")))
        if "buffer" in spec and "maxRequestSize" in spec["buffer"]:
            out.append(BodyLimit(max_bytes=readvalues.parse_quantity(spec["buffer"]["maxRequestSize"]),
                                 provenance=provenance_of(m, "spec.buffer")))
        if spec.get("timeouts"):
            t = spec["timeouts"]
            idle = readvalues.parse_duration(t["streamIdle"]) if "streamIdle" in t else None
            out.append(Timeouts(read_ms=idle, send_ms=idle,
                                request_ms=readvalues.parse_duration(t["request"]) if "request" in t else None,
                                provenance=provenance_of(m, "spec.timeouts")))
        if "extAuth" in spec and "extensionRef" in spec["extAuth"]:
            ref = spec["extAuth"]["extensionRef"]
            ext = extensions.get((ref.get("namespace", ns), ref["name"]))
            if ext is None:
                raise PolicyReadError(f"{label}: extAuth names GatewayExtension {ref['name']}, which is not in the "
                                      "manifests")
            out.append(_read_ext_auth(ext, manifests))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, PolicyReadError):
            raise
        raise PolicyReadError(f"{label}: cannot read {e}") from e
    return out


def _complement(nets: Sequence[ipranges.Network]) -> list[ipranges.Network]:
    return ipranges.longest_prefix("allow", [(False, n) for n in nets]) if nets else list(ipranges.EVERYWHERE)


def _read_ext_auth(ext: Mapping[str, Any], manifests: Sequence[Mapping[str, Any]]) -> ExternalAuth:
    """The auth call kgateway makes: the Service or static Backend, the path prefix (the
    client's path is appended), the response headers copied upstream."""
    http = ext["spec"]["extAuth"]["httpService"]
    ref = http["backendRef"]
    ns = ref.get("namespace") or ext["metadata"].get("namespace", "")
    if ref.get("kind", "Service") == "Backend":
        found = [m for m in manifests if m.get("kind") == "Backend" and m["metadata"]["name"] == ref["name"]
                 and m["metadata"].get("namespace", "") == ns]
        if not found:
            raise PolicyReadError(f"GatewayExtension {ns}/{ext['metadata']['name']} names Backend {ref['name']}, "
                                  "which is not in the manifests")
        host = found[0]["spec"]["static"]["hosts"][0]
        tls = any(m.get("kind") == "BackendConfigPolicy" and "tls" in (m.get("spec") or {})
                  and {"kind": "Backend", "name": ref["name"]}.items() <= (m["spec"]["targetRefs"][0]).items()
                  for m in manifests if m["metadata"].get("namespace", "") == ns)
        url = f"{'https' if tls else 'http'}://{host['host']}:{host['port']}{http.get('pathPrefix', '')}"
    else:
        url = f"http://{ref['name']}.{ns}:{ref['port']}{http.get('pathPrefix', '')}"
    headers = tuple((http.get("authorizationResponse") or {}).get("headersToBackend") or ())
    return ExternalAuth(url=url, response_headers=headers, provenance=provenance_of(ext, "spec.extAuth"))


EMITTER = KgatewayEmitter()
