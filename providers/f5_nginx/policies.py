"""F5 NGINX ``Policy`` objects (``k8s.nginx.org/v1``) referenced by VirtualServers and
VirtualServerRoutes -> Gateway API filters and typed policy intents.

A VirtualServer's ``spec.policies`` apply to all its routes; a route's ``policies`` replace
the VirtualServer's policies of the same type, and a VirtualServerRoute subroute's replace
those of the route that hands the path over (and of the VirtualServer). A reference is
``{name, namespace}`` (namespace: the referencing object's). Each Policy holds one type:

* ``accessControl`` (``allow`` or ``deny``; several policies merge into one list) -> IP access
  (403);
* ``rateLimit`` (``rate`` ``Nr/s``/``Nr/m``, ``key``, ``burst``, ``rejectCode`` default 503; every
  referenced one applies) -> rate limit;
* ``basicAuth`` (htpasswd Secret, ``realm``) -> basic auth; ``ingressMTLS`` (CA Secret,
  ``verifyClient``, ``verifyDepth``; only in ``spec.policies``) -> client certificates;
  ``waf`` (``enable``, ``apPolicy``) -> WAF; ``jwt``, ``oidc``, ``apiKey``, ``externalAuth`` ->
  opaque authentication (no typed form: a protection kept whole, never dropped);
* ``egressMTLS`` -> backend TLS options (client certificate, ciphers, protocols, depth);
* ``cors`` -> the standard CORS filter; ``cache``, ``hsts`` -> opaque (not protections).

For the other types only the first referenced policy counts (the controller ignores the rest
and says so). A reference to a Policy missing from the input, or one holding no known type,
makes the controller answer 500 on the route: the rule loses its backends (the Gateway
answers 500 too) and an error note says why. Every protection becomes an intent, so losing
one fails the run unless ``--allow-unprotected`` accepts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ing2gw import intents as i
from ing2gw.ir import CORS, Filter, Provenance
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.notes import Fidelity, Level, Note, Security

__all__ = ["POLICY", "PolicyRefs", "Resolved", "access_lists", "in_force_specs", "parse_rate", "references", "resolve"]

POLICY = APIKind("k8s.nginx.org", "v1", "Policy", selectable=False)
_TYPES = ("accessControl", "rateLimit", "apiKey", "basicAuth", "jwt", "ingressMTLS", "egressMTLS", "oidc",
          "oidcNative", "cache", "cors", "waf", "externalAuth", "hsts")
_MERGED = ("accessControl", "rateLimit")  # every referenced policy of these types applies
_OPAQUE_AUTH = ("jwt", "oidc", "oidcNative", "apiKey", "externalAuth")
_RATE = re.compile(r"(\d+)r/([sm])")

# policy type -> the references (``ns/name``) in force at one level, in order
PolicyRefs = dict[str, tuple[str, ...]]


@dataclass(slots=True)
class Resolved:
    """What the policies in force on one rule become."""

    filters: list[Filter] = field(default_factory=list)
    intents: list[i.Intent] = field(default_factory=list)
    broken: bool = False  # a missing or invalid policy: the controller answers 500


def references(obj: KubeObject, refs: Any, fld: str, notes: list[Note], scope: tuple[tuple[str, str], ...],
               policies: Mapping[tuple[str, str], KubeObject], inherited: PolicyRefs | None = None
               ) -> tuple[PolicyRefs, list[str]]:
    """The policies in force after ``refs`` (a ``policies`` list of ``obj`` at ``fld``) replace
    ``inherited`` type by type (``inherited`` None: ``refs`` is a VirtualServer's
    ``spec.policies``); and the references that name no usable Policy."""
    out: PolicyRefs = dict(inherited or {})
    mine: dict[str, list[str]] = {}
    missing: list[str] = []
    for n, ref in enumerate(refs if isinstance(refs, list) else []):
        if not isinstance(ref, Mapping) or not ref.get("name"):
            missing.append(f"{fld}[{n}]")
            continue
        key = f"{ref.get('namespace') or obj.namespace}/{ref['name']}"
        policy = policies.get(tuple(key.split("/", 1)))  # type: ignore[arg-type]
        kinds = [t for t in _TYPES if isinstance(policy.spec.get(t), Mapping)] if policy is not None else []
        if len(kinds) != 1:
            why = "is not in the input" if policy is None else (
                "holds no known policy type" if not kinds else f"holds several policy types ({', '.join(kinds)})")
            notes.append(Note("F5-POLICY-INVALID", Level.ERROR, f"Policy {key} {why}; the controller answers 500 "
                              "on the routes that reference it", subject=obj.subject, field=f"{fld}[{n}]",
                              origin=obj.origin, instead="the rule answers 500 (no backends)",
                              aspects=frozenset({"status", "backend"}), scope=scope))
            missing.append(key)
            continue
        if kinds[0] == "ingressMTLS" and inherited is not None:
            notes.append(Note("F5-POLICY-MTLS-ROUTE", Level.WARNING, f"Policy {key}: ingressMTLS applies in a "
                              "VirtualServer's spec.policies only; the controller ignores it on a route",
                              subject=obj.subject, field=f"{fld}[{n}]", origin=obj.origin,
                              fidelity=Fidelity.EXACT, instead="ignored, as the controller does", scope=scope))
            continue
        mine.setdefault(kinds[0], []).append(key)
    out.update((kind, tuple(keys)) for kind, keys in mine.items())
    return out, missing


def resolve(obj: KubeObject, in_force: PolicyRefs, missing: Sequence[str], fld: str, notes: list[Note],
            scope: tuple[tuple[str, str], ...], policies: Mapping[tuple[str, str], KubeObject]) -> Resolved:
    """The filters and intents of the policies ``in_force`` on one rule of ``obj``."""
    out = Resolved(broken=bool(missing))
    prov = Provenance(obj.kind.kind, obj.namespace, obj.name, fld, obj.origin)

    def note(code: str, level: Level, message: str, key: str, fidelity: Fidelity | None = None,
             instead: str = "", aspects: Sequence[str] = ()) -> None:
        notes.append(Note(f"F5-POLICY-{code}", level, f"Policy {key}: {message}", subject=obj.subject, field=fld,
                          origin=obj.origin, fidelity=fidelity, instead=instead, aspects=frozenset(aspects),
                          scope=scope))

    for kind in sorted(in_force):
        keys = in_force[kind]
        if kind not in _MERGED and len(keys) > 1:
            note("IGNORED", Level.WARNING, f"the controller uses only the first {kind} policy; "
                 f"{', '.join(keys[1:])} {'is' if len(keys) == 2 else 'are'} ignored", keys[0])
            keys = keys[:1]
        specs = [(key, policies[tuple(key.split("/", 1))].spec[kind]) for key in keys]  # type: ignore[index]
        try:
            _convert(kind, specs, prov, out, note)
        except (KeyError, TypeError, ValueError) as exc:
            notes.append(Note("F5-POLICY-INVALID", Level.ERROR, f"{kind} policy {', '.join(keys)}: {exc}; the "
                              "controller answers 500 on the routes that reference it", subject=obj.subject,
                              field=fld, origin=obj.origin, instead="the rule answers 500 (no backends)",
                              aspects=frozenset({"status", "backend"}), scope=scope))
            out.broken = True
    return out


def access_lists(specs: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The one allow list or deny list several ``accessControl`` policies merge into (allow
    lists win over deny lists)."""
    allow = tuple(str(a) for s in specs for a in s.get("allow") or [])
    deny = tuple(str(d) for s in specs for d in s.get("deny") or [])
    if not allow and not deny:
        raise ValueError("needs allow or deny")
    return (allow, ()) if allow else ((), deny)


def parse_rate(text: Any) -> tuple[int, Literal["second", "minute"]]:
    """A rateLimit ``rate`` (``10r/s``, ``600r/m``): (rate, ``second``/``minute``)."""
    m = _RATE.fullmatch(str(text or "").strip())
    if m is None:
        raise ValueError(f"rate {text!r} is not Nr/s or Nr/m")
    return int(m.group(1)), "second" if m.group(2) == "s" else "minute"


def in_force_specs(in_force: PolicyRefs, kind: str, policies: Mapping[tuple[str, str], KubeObject]
                   ) -> list[Mapping[str, Any]]:
    """The ``kind`` sections of the policies in force (every one for merged types, else the first)."""
    keys = in_force.get(kind, ())
    keys = keys if kind in _MERGED else keys[:1]
    return [policies[tuple(k.split("/", 1))].spec[kind] for k in keys]  # type: ignore[index]


def _secret(ns: str, name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must name a Secret")
    return name if "/" in name else f"{ns}/{name}"


def _convert(kind: str, specs: list[tuple[str, Any]], prov: Provenance, out: Resolved, note: Any) -> None:
    key, spec = specs[0]
    ns = key.split("/", 1)[0]
    at = Provenance(prov.kind, prov.namespace, prov.name, f"{prov.field} (Policy {key} {kind})", prov.origin)
    if kind == "accessControl":
        allow, deny = access_lists([s for _, s in specs])
        if any(s.get("deny") for _, s in specs) and allow:
            note("ACCESS-MIXED", Level.WARNING, "allow and deny policies together: the controller keeps the allow "
                 "list only", key, Fidelity.EXACT, "the allow list", ("status",))
        out.intents.append(i.IPAccess(allow=allow, deny=deny, provenance=at))
    elif kind == "rateLimit":
        for k, s in specs:
            rate, unit = parse_rate(s.get("rate"))
            if s.get("dryRun"):
                note("RATE-DRY-RUN", Level.INFO, "dryRun counts requests but never refuses one", k, Fidelity.EXACT,
                     "nothing to carry")
                continue
            out.intents.append(i.RateLimit(
                rate=rate, unit=unit,
                burst=int(s.get("burst") or 0), key=str(s.get("key") or "${binary_remote_addr}"),
                status=int(s.get("rejectCode") or 503), provenance=at))
    elif kind == "basicAuth":
        out.intents.append(i.BasicAuth(scheme="basic", secret=_secret(ns, spec.get("secret"), "basicAuth.secret"),
                                       secret_layout="htpasswd", realm=spec.get("realm"), provenance=at))
    elif kind == "ingressMTLS":
        out.intents.append(i.ClientCertAuth(
            ca_secret=_secret(ns, spec.get("clientCertSecret"), "ingressMTLS.clientCertSecret"),
            mode=str(spec.get("verifyClient") or "on"), depth=int(spec.get("verifyDepth") or 1), provenance=at))
    elif kind == "egressMTLS":
        protocols = tuple(str(spec.get("protocols") or "").split())
        out.intents.append(i.BackendTLSOptions(
            ciphers=spec.get("ciphers"), protocols=protocols, verify_depth=spec.get("verifyDepth"),
            client_cert=_secret(ns, spec["tlsSecret"], "egressMTLS.tlsSecret") if spec.get("tlsSecret") else None,
            provenance=at))
        if spec.get("verifyServer"):
            note("EGRESS-VERIFY", Level.WARNING, "verifyServer checks the upstream's certificate against "
                 f"{spec.get('trustedCertSecret')}", key, Fidelity.UNSUPPORTED,
                 "not verified: a BackendTLSPolicy needs the CA in a ConfigMap and the upstream's hostname",
                 ("status",))
    elif kind == "waf":
        if spec.get("enable"):
            out.intents.append(i.Waf(engine="nginx-app-protect", rules=spec.get("apPolicy"), provenance=at))
    elif kind == "cors":
        origins = spec.get("allowOrigin") or []
        out.filters.append(Filter("CORS", CORS(
            allow_origins=tuple(map(str, origins if isinstance(origins, list) else [origins])),
            allow_methods=tuple(map(str, spec.get("allowMethods") or ())),
            allow_headers=tuple(map(str, spec.get("allowHeaders") or ())),
            expose_headers=tuple(map(str, spec.get("exposeHeaders") or ())),
            allow_credentials=spec.get("allowCredentials"), max_age=spec.get("maxAge")), at))
    else:  # jwt, oidc, apiKey (authentication without a typed form), cache
        protection = Security.AUTHENTICATION if kind in _OPAQUE_AUTH else None
        out.intents.append(i.Opaque(vendor="f5-nginx", key=f"Policy.{kind}", raw=json.dumps(spec, sort_keys=True),
                                    protection=protection,
                                    affects=("status", "auth") if protection else ("status", "headers"),
                                    provenance=at))
