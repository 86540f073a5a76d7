"""The ``traefik`` emitter: Gateway API objects plus Traefik v3.7 Middlewares.

Traefik reaches a Middleware only through an HTTPRoute ``ExtensionRef`` filter (group
``traefik.io``; the kubernetesCRD provider must be enabled), and one Middleware does one
thing, so each intent family gets its own Middleware per route (``<route>-basic-auth``,
``<route>-ip-allowlist`` ...), listed on the rules that need it in nginx's phase order: rate
limits, then the address check, then authentication. A rule that names a Middleware that is
missing or invalid answers **500** while the route still reports Accepted: apply the
Middlewares before the routes. Address lists become the exact set of admitted blocks
(Traefik has no deny list). :meth:`TraefikEmitter.read_policies` reads the Middlewares back
with Traefik's semantics (429, per client address, the htpasswd formats it verifies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ...intents import BasicAuth, BodyLimit, Cors, ExternalAuth, Intent, IPAccess, RateLimit, Retries
from ...ir import CORS, IR, Route, Rule
from ...notes import Fidelity, Level, Note
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from ..objects import Manifest
from ..registry import EmitContext
from . import ipranges, readvalues
from .authparts import cors_differences, hash_note, signin_url, split_ref
from .base import ImplEmitter, ObjectKind, Piece, Row, Site, filter_users
from .values import duration

__all__ = ["EMITTER", "TraefikEmitter"]

GROUP = "traefik.io"
# htpasswd formats Traefik's basicAuth verifies: MD5 ($apr1$, $1$), SHA-1, bcrypt
HASHES = frozenset({"apr1", "md5-crypt", "sha", "bcrypt"})
# The order nginx decides in: CORS preflights (rewrite), limit_req/limit_conn (preaccess),
# allow/deny, auth_basic, auth_request (access), then the body size when the body is read.
_PHASE = ("headers", "rateLimit", "inFlightReq", "ipAllowList", "basicAuth", "digestAuth", "forwardAuth", "buffering",
          "retry")
_STATUS = {"http_500": "500", "http_502": "502", "http_503": "503", "http_504": "504", "http_403": "403",
           "http_404": "404", "http_429": "429"}


@dataclass(frozen=True, slots=True)
class CorsFilter(Intent):
    """A rule's standard CORS filter, which Traefik v3.7 does not implement: the emitter moves
    it into a headers Middleware (an intent of this emitter only, never of a provider)."""

    cors: CORS
    kind: ClassVar[str] = "cors-filter"

    def summary(self) -> str:
        return f"CORS filter (origins {', '.join(self.cors.allow_origins) or 'none'})"


def _origin_pattern(origin: str) -> str:
    """A Gateway API CORS origin with ``*`` labels as a Go regular expression."""
    return "^" + re.escape(origin).replace(r"\*", "[^/]+") + "$"


def _cors_filter(intent: CorsFilter, site: Site) -> Piece | str:
    c = intent.cors
    headers: dict[str, Any] = {}
    exact = [o for o in c.allow_origins if "*" not in o or o == "*"]
    wild = [_origin_pattern(o) for o in c.allow_origins if "*" in o and o != "*"]
    if exact:
        headers["accessControlAllowOriginList"] = exact
    if wild:
        headers["accessControlAllowOriginListRegex"] = wild
    if c.allow_methods:
        headers["accessControlAllowMethods"] = list(c.allow_methods)
    if c.allow_headers:
        headers["accessControlAllowHeaders"] = list(c.allow_headers)
    if c.expose_headers:
        headers["accessControlExposeHeaders"] = list(c.expose_headers)
    if c.allow_credentials:
        headers["accessControlAllowCredentials"] = True
    if c.max_age is not None:
        headers["accessControlMaxAge"] = c.max_age
    return Piece({"headers": headers})


def _route_hosts(site: Site) -> list[str]:
    return [str(h) for h in site.manifest["spec"].get("hostnames", ())]


def _ext_auth(intent: ExternalAuth, site: Site) -> Piece | str:
    if "$" in intent.url:
        return f"auth URL {intent.url} uses source variables"
    parts = urlsplit(intent.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"auth URL {intent.url} is not an http:// or https:// URL"
    fwd: dict[str, Any] = {"address": intent.url}
    if intent.response_headers:
        fwd["authResponseHeaders"] = list(intent.response_headers)
    words = []
    if intent.signin_url:
        signin, lost = signin_url(intent, _route_hosts(site), "https" in site.route.sections, "Traefik")
        if signin:
            fwd["authSigninURL"] = signin
        words.append(lost)
    if intent.method and intent.method != "GET":
        words.append(f"the auth request is a GET, not {intent.method} (Traefik sends GET or the client's method)")
    if intent.request_headers_from:
        words.append(f"the extra headers of ConfigMap {intent.request_headers_from} are not sent")
    if intent.always_set_cookie:
        words.append("the auth service's Set-Cookie does not reach a refused client")
    return Piece({"forwardAuth": fwd}, "; ".join(words))


def _secret_note(intent: BasicAuth, site: Site, what: str) -> tuple[str, str]:
    """The Secret name the Middleware names, and the layout note."""
    assert intent.secret is not None
    ns, name = split_ref(intent.secret, site.namespace)
    if intent.secret_layout == "map" or ns != site.namespace:
        why = ("holds one key per user" if intent.secret_layout == "map"
               else f"is in namespace {ns}; Traefik reads Secrets of the Middleware's namespace")
        return f"{name}-{what}", (f"create Secret {site.namespace}/{name}-{what} with exactly one key holding one "
                                  f"line per user ({'user:realm:hash' if what == 'htdigest' else 'user:hash'}); the "
                                  f"source Secret {ns}/{name} {why}")
    return name, (f"Traefik reads the {what} lines from the only key of Secret {ns}/{name}: it must hold the key "
                  "'auth' and no other key")


def _basic_auth(intent: BasicAuth, site: Site) -> Piece | str:
    if intent.secret is None:
        return "no credentials Secret is named"
    if intent.scheme == "digest":
        name, note = _secret_note(intent, site, "htdigest")
        spec: dict[str, Any] = {"secret": name}
        if intent.realm:
            spec["realm"] = intent.realm
        return Piece({"digestAuth": spec}, exact=True, secret=note)
    name, note = _secret_note(intent, site, "htpasswd")
    note += hash_note("Traefik", HASHES)
    spec = {"secret": name}
    if intent.realm:
        spec["realm"] = intent.realm
    return Piece({"basicAuth": spec}, secret=note)


def _ip_access(intent: IPAccess, site: Site) -> Piece | str:
    ok = ipranges.admitted(intent)
    if ipranges.cover_everything(ok):
        return Piece({}, "every address is admitted: nothing to emit", exact=True)
    if not ok:
        return "it refuses every address, which an ipAllowList cannot say"
    if len(ok) > 256:
        return f"the admitted addresses take {len(ok)} blocks"
    allow: dict[str, Any] = {"sourceRange": ipranges.texts(ok)}
    if intent.status != 403:
        allow["rejectStatusCode"] = intent.status
    words = []
    if intent.deny:
        words.append("Traefik has no deny list: the Middleware lists exactly the blocks the source admits")
    if intent.client_address == "forwarded":
        allow["ipStrategy"] = {"depth": 1}
        words.append("the source checked the forwarded client address; Traefik checks the last X-Forwarded-For "
                     "entry (ipStrategy.depth 1): the entryPoint's forwardedHeaders.trustedIPs must name the proxies "
                     "in front")
    return Piece({"ipAllowList": allow}, "; ".join(words), exact=intent.client_address == "peer")


def _rate_limit(intent: RateLimit, site: Site, unit: str) -> Piece | str:
    if intent.unit != unit:
        return f"this Middleware carries limits per {unit}"
    # Traefik's burst is the bucket size; nginx's limit_req burst=B nodelay admits B + 1 at once
    limit = {"average": intent.rate, "period": "1s" if unit == "second" else "1m", "burst": intent.burst + 1}
    return Piece({"rateLimit": limit}, readvalues.limit_differences(intent, 429))


def _in_flight(intent: RateLimit, site: Site) -> Piece | str:
    if intent.unit != "connections":
        return "inFlightReq limits concurrent requests only"
    return Piece({"inFlightReq": {"amount": intent.rate}}, readvalues.limit_differences(intent, 429))


def _body_limit(intent: BodyLimit, site: Site) -> Piece | str:
    if intent.max_bytes is None:
        return Piece({}, "no limit, and Traefik sets none by default: nothing to emit", exact=True)
    return Piece({"buffering": {"maxRequestBodyBytes": intent.max_bytes}})


def _retries(intent: Retries, site: Site) -> Piece | str:
    if "off" in intent.on:
        return "retries are off"
    retry: dict[str, Any] = {"attempts": intent.attempts or 10}
    codes = sorted({_STATUS[c] for c in intent.on if c in _STATUS})
    if codes:
        retry["status"] = codes
    if "error" not in intent.on and "timeout" not in intent.on:
        retry["disableRetryOnNetworkError"] = True
    if intent.budget_ms:
        retry["timeout"] = duration(intent.budget_ms)
    if "non_idempotent" in intent.on:
        retry["retryNonIdempotentMethod"] = True
    others = [c for c in intent.on if c not in _STATUS and c not in ("error", "timeout", "non_idempotent")]
    words = [f"the condition(s) {', '.join(others)} are not retried"] if others else []
    if not intent.attempts:
        words.append("unlimited tries become 10")
    return Piece({"retry": retry}, "; ".join(words))


def _mw(job: str) -> ObjectKind:
    return ObjectKind("Middleware", job, "extensionRef", key=f"Middleware {job}")


class TraefikEmitter(ImplEmitter):
    name = "traefik"
    description = ("Gateway API plus Traefik v3.7 Middlewares as ExtensionRef filters (forwardAuth, basicAuth, "
                   "digestAuth, ipAllowList, rateLimit, inFlightReq, buffering, retry)")
    target = "traefik"
    kinds = tuple(_mw(k) for k in ("cors", "ext-auth", "basic-auth", "ip-allowlist", "rate-limit", "rate-limit-minute",
                                   "in-flight", "body-limit", "retry"))
    rows = (
        Row(ExternalAuth, "Middleware ext-auth", "forwardAuth", "A",
            "Traefik calls exactly the auth URL with every client header (the original URI in X-Forwarded-Uri, "
            "where nginx sent X-Original-URL); any non-2xx auth answer reaches the client as it is (nginx made every "
            "answer but 401/403 a 500)", "", _ext_auth),
        Row(BasicAuth, "Middleware basic-auth", "basicAuth / digestAuth", "A",
            "Traefik verifies apr1, MD5-crypt, SHA-1 and bcrypt entries: crypt, {SSHA} and SHA-256/512-crypt users "
            "are locked out; the Secret must hold exactly one key, in the route's namespace",
            "digest authentication (digestAuth) is exact", _basic_auth),
        Row(IPAccess, "Middleware ip-allowlist", "ipAllowList", "E", "",
            "the deny list is folded into the allowed blocks (Traefik has no deny list); Traefik refuses with 403",
            _ip_access),
        Row(RateLimit, "Middleware rate-limit", "rateLimit", "A",
            "Traefik's token bucket counts per client address and per Traefik replica like nginx, but refuses with "
            "429 (nginx: 503), and its burst is the bucket size where nginx lets a burst through above the rate", "",
            lambda i, s: _rate_limit(i, s, "second")),
        Row(RateLimit, "Middleware rate-limit-minute", "rateLimit (per minute)", "A",
            "as above, with a one-minute period", "", lambda i, s: _rate_limit(i, s, "minute")),
        Row(RateLimit, "Middleware in-flight", "inFlightReq", "A",
            "Traefik limits concurrent requests per client address (nginx: connections) and refuses with 429 "
            "(nginx: 503)", "", _in_flight),
        Row(BodyLimit, "Middleware body-limit", "buffering.maxRequestBodyBytes", "A",
            "Traefik buffers the request body (in memory, then on disk) before proxying; nginx streamed it and "
            "only checked its size; bodies over the limit still get 413", "", _body_limit),
        Row(Retries, "Middleware retry", "retry", "A",
            "Traefik retries network errors (connect, reset, timeouts alike) and the listed statuses; attempts "
            "counts every try as nginx's tries do; non-idempotent requests are not retried, as in nginx", "",
            _retries),
        Row(CorsFilter, "Middleware cors", "headers.accessControl*", "A",
            "Traefik v3.7 does not implement the HTTPRoute CORS filter: a headers Middleware answers preflight "
            "requests itself and adds the CORS headers to the other answers", "", _cors_filter),
        Row(Cors, "Middleware cors", "headers", "A", "the headers Middleware answers every preflight itself", "",
            cors_differences),
        Row(IPAccess, "Middleware", "(deny list alone, beyond 256 blocks)", "N", "no deny-list middleware"),
    )

    def emit(self, ir: IR, ctx: EmitContext) -> list[Manifest]:
        moved, pairs = _cors_filters(ir)
        out = super().emit(moved, ctx)
        for new, old in pairs:  # what the emitter consumed on the copies counts for the source's rules
            for intent in old.intents:
                if ctx.consumed(new, intent):
                    ctx.consume(old, intent)
            for intent in new.intents:
                if isinstance(intent, CorsFilter) and not ctx.consumed(new, intent):
                    p = intent.provenance
                    ctx.notes.add(Note(code="TRAEFIK-CORS-LOST", level=Level.WARNING, subject=p.subject,
                                       field=p.field, origin=p.origin,
                                       message=f"{intent.summary()} is dropped: Traefik does not implement the "
                                               "CORS filter and no headers Middleware could carry it"))
        _note_unimplemented(out, ctx)
        middlewares = sum(1 for m in out if m.get("kind") == "Middleware")
        if middlewares:
            ctx.notes.add(Note(code="TRAEFIK-EXTENSIONREF", level=Level.INFO, subject="emitter traefik",
                               message=f"the routes list {middlewares} Middleware(s) as ExtensionRef filters: Traefik "
                                       "needs its kubernetesCRD provider enabled, and a rule whose Middleware is "
                                       "missing or invalid answers 500 while its route still reports Accepted, so "
                                       "apply the Middlewares before (or with) the routes"))
        rank = {(m["metadata"].get("namespace", ""), m["metadata"]["name"]):
                min((_PHASE.index(k) for k in m["spec"] if k in _PHASE), default=len(_PHASE))
                for m in out if m.get("kind") == "Middleware"}
        for m in out:
            if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
                continue
            ns = m["metadata"].get("namespace", "")
            for rule in m["spec"].get("rules", ()):
                filters = rule.get("filters")
                if not filters:
                    continue
                mine = [f for f in filters if _is_middleware(f)]
                mine.sort(key=lambda f: rank.get((ns, f["extensionRef"]["name"]), len(_PHASE)))
                rest = [f for f in filters if not _is_middleware(f)]
                rule["filters"] = mine + rest
        return out

    def read_policies(self, manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
        """Traefik's behaviour for each Middleware this emitter writes, on every rule that
        lists it (the whole route when every rule does)."""
        middlewares = [m for m in manifests
                       if m.get("kind") == "Middleware" and str(m.get("apiVersion", "")).startswith(GROUP)]
        if not middlewares:  # (other emitters' output: no need to index thousands of routes)
            return []
        users = filter_users(manifests, GROUP, "Middleware")
        rules_of = {(str(m["kind"]), m["metadata"].get("namespace", ""), m["metadata"]["name"]):
                    len((m.get("spec") or {}).get("rules") or ()) for m in manifests
                    if m.get("kind") in ("HTTPRoute", "GRPCRoute")}
        out: list[AttachedPolicy] = []
        for m in middlewares:
            ns, name = m["metadata"].get("namespace", ""), m["metadata"]["name"]
            label = f"Middleware {ns}/{name}"
            try:
                intent = _read(m)
            except (KeyError, TypeError, ValueError) as e:
                raise PolicyReadError(f"{label}: cannot read {e}") from e
            if intent is None:
                continue
            used = users.get((ns, name), [])
            by_route: dict[tuple[str, str, str], list[str | None]] = {}
            for kind, rns, rname, rule in used:
                by_route.setdefault((kind, rns, rname), []).append(rule)
            for (kind, rns, rname), rules in sorted(by_route.items()):
                if len(rules) == rules_of.get((kind, rns, rname), -1):
                    targets = [PolicyTarget(kind, rns, rname)]
                elif None in rules:
                    raise PolicyReadError(f"{label}: {kind} {rns}/{rname} lists it on a rule without a name")
                else:
                    targets = [PolicyTarget(kind, rns, rname, r) for r in rules]
                for t in targets:
                    out.append(AttachedPolicy(t, intent, label,
                                              HASHES if isinstance(intent, BasicAuth) and intent.scheme == "basic"
                                              else frozenset()))
        return out


# Rule fields of the Gateway API that Traefik v3.7.9 does not declare as supported features
# (pkg/provider/kubernetes/gateway/features.go): what the Gateway does with them instead.
_UNIMPLEMENTED = {
    "timeouts": "the rule's timeouts are not applied (ServersTransport forwardingTimeouts, reached through a "
                "TraefikService, is Traefik's own form)",
    "retry": "the rule's retry is not applied (a retry Middleware is Traefik's form)",
    "sessionPersistence": "the rule's sessionPersistence is not applied (a TraefikService sticky cookie is "
                          "Traefik's form)",
}


def _note_unimplemented(out: Sequence[Manifest], ctx: EmitContext) -> None:
    """A warning per route rule field Traefik v3.7 leaves unapplied."""
    for m in out:
        if m.get("kind") != "HTTPRoute":
            continue
        subject = f"HTTPRoute {m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
        for i, rule in enumerate(m["spec"].get("rules", ())):
            for field_name, what in _UNIMPLEMENTED.items():
                if field_name in rule:
                    ctx.notes.add(Note(code="TRAEFIK-UNSUPPORTED-FIELD", level=Level.WARNING, subject=subject,
                                       field=f"spec.rules[{i}].{field_name}",
                                       message=f"Traefik v3.7 does not implement HTTPRoute {field_name}: {what}",
                                       fidelity=Fidelity.APPROXIMATE))


def _cors_filters(ir: IR) -> tuple[IR, list[tuple[Rule, Rule]]]:
    """``ir`` with every HTTPRoute CORS filter turned into a :class:`CorsFilter` intent of its
    rule, and the (new rule, source rule) pairs."""
    pairs: list[tuple[Rule, Rule]] = []
    routes: list[Route] = []
    for route in ir.routes:
        rules: list[Rule] = []
        for rule in route.rules:
            cors = [f for f in rule.filters if f.type == "CORS" and isinstance(f.value, CORS)]
            if route.kind != "HTTPRoute" or not cors:
                rules.append(rule)
                continue
            extra = tuple(CorsFilter(cors=f.value, provenance=f.provenance or route.sources[0])  # type: ignore[arg-type]
                          for f in cors)
            new = replace(rule, filters=tuple(f for f in rule.filters if f not in cors),
                          intents=(*rule.intents, *extra))
            pairs.append((new, rule))
            rules.append(new)
        routes.append(replace(route, rules=tuple(rules)) if rules != list(route.rules) else route)
    return (replace(ir, routes=tuple(routes)) if pairs else ir), pairs


def _is_middleware(f: Mapping[str, Any]) -> bool:
    ref = f.get("extensionRef") or {}
    return bool(f.get("type") == "ExtensionRef" and ref.get("group") == GROUP and ref.get("kind") == "Middleware")


def _read(m: Mapping[str, Any]) -> Intent | None:
    spec = m.get("spec") or {}
    ns = str(m["metadata"].get("namespace", ""))
    if "forwardAuth" in spec:
        fa = spec["forwardAuth"]
        return ExternalAuth(url=fa["address"], response_headers=tuple(fa.get("authResponseHeaders") or ()),
                            signin_url=fa.get("authSigninURL"), provenance=provenance_of(m, "spec.forwardAuth"))
    for key, scheme in (("basicAuth", "basic"), ("digestAuth", "digest")):
        if key in spec:
            return BasicAuth(scheme=scheme, secret=f"{ns}/{spec[key]['secret']}",  # type: ignore[arg-type]
                             realm=spec[key].get("realm"), provenance=provenance_of(m, f"spec.{key}"))
    if "ipAllowList" in spec:
        allow = spec["ipAllowList"]
        return IPAccess(allow=tuple(allow["sourceRange"]), status=int(allow.get("rejectStatusCode") or 403),
                        client_address="forwarded" if "ipStrategy" in allow else "peer",
                        provenance=provenance_of(m, "spec.ipAllowList"))
    if "rateLimit" in spec:
        limit = spec["rateLimit"]
        period = readvalues.parse_duration(str(limit.get("period", "1s")))
        unit = "second" if period == 1000 else "minute" if period == 60_000 else None
        if unit is None:
            raise ValueError(f"rate limit period {limit.get('period')!r}")
        rate, size = int(limit["average"]), int(limit.get("burst", 1))
        return RateLimit(rate=rate, unit=unit, burst=max(size - rate, 0),  # type: ignore[arg-type]
                         key="client-ip", status=429, provenance=provenance_of(m, "spec.rateLimit"))
    if "inFlightReq" in spec:
        return RateLimit(rate=int(spec["inFlightReq"]["amount"]), unit="connections", key="client-ip", status=429,
                         provenance=provenance_of(m, "spec.inFlightReq"))
    if "buffering" in spec and spec["buffering"].get("maxRequestBodyBytes"):
        return BodyLimit(max_bytes=int(spec["buffering"]["maxRequestBodyBytes"]),
                         provenance=provenance_of(m, "spec.buffering"))
    headers = spec.get("headers") or {}
    if any(k.startswith("accessControl") for k in headers):
        # the headers Middleware answers preflights itself (200) and sends * for a * origin list
        origins = [*(headers.get("accessControlAllowOriginList") or ()),
                   *(_origin_of(r) for r in headers.get("accessControlAllowOriginListRegex") or ())]
        settings = CORS(allow_origins=tuple(origins),
                        allow_methods=tuple(headers.get("accessControlAllowMethods") or ()),
                        allow_headers=tuple(headers.get("accessControlAllowHeaders") or ()),
                        expose_headers=tuple(headers.get("accessControlExposeHeaders") or ()),
                        allow_credentials=bool(headers.get("accessControlAllowCredentials")),
                        max_age=headers.get("accessControlMaxAge"))
        return Cors(preflight_status=200, echo_wildcard=True, settings=settings,
                    provenance=provenance_of(m, "spec.headers"))
    return None


def _origin_of(pattern: str) -> str:
    """The CORS origin that :func:`_origin_pattern` wrote as ``pattern``."""
    body = pattern.removeprefix("^").removesuffix("$").replace("[^/]+", "*")
    return re.sub(r"\\(.)", r"\1", body)


EMITTER = TraefikEmitter()
