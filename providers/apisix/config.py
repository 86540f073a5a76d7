"""The APISIX routes the Ingress controller writes, as plain values: one :class:`ApisixEntry`
per Ingress path and per ApisixRoute ``http[]`` rule.

This follows the controller's translator (2.x): an Ingress path becomes a route whose URIs
are the path (``Exact``, ``ImplementationSpecific``), the path and ``<path without trailing
/>/*`` (``Prefix``), or ``/*`` with the variable check ``uri ~~ <path>`` (``ImplementationSpecific``
under ``use-regex``); its hosts are the rule's host; its plugins those of the
``plugin-config-name`` ApisixPluginConfig overridden by the annotation plugins. An ApisixRoute
rule keeps its ``match`` (paths, hosts, methods, exprs, remoteAddrs, filter_func) and
``priority``; its plugins are the ApisixPluginConfig's, then its own, then the
``authentication`` plugin. Backends carry their weights (default 100). The data-plane model
(:mod:`.model`) routes on these; the converters read the same sources with notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ing2gw.kinds import KubeObject
from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .annotations import PREFIX, ingress_plugins
from .crds import Crds, as_map, plugin_list, service_port
from .exprs import Expr, ExprError, parse_exprs

__all__ = ["DEFAULT_WEIGHT", "ApisixEntry", "Backend", "build", "ingress_uris", "route_plugins", "sni_lookup",
           "ssl_certificates"]

DEFAULT_WEIGHT = 100


@dataclass(frozen=True, slots=True)
class Backend:
    namespace: str
    service: str
    port: int | None
    weight: int = DEFAULT_WEIGHT

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}" if self.port is not None else \
            f"{self.namespace}/{self.service}"


@dataclass(frozen=True, slots=True)
class ApisixEntry:
    """One APISIX route."""

    name: str
    kind: str  # "Ingress" | "ApisixRoute"
    source: str  # namespace/name
    rule: str  # the Ingress path, or the ApisixRoute rule name
    hosts: tuple[str, ...]
    uris: tuple[str, ...]
    methods: tuple[str, ...] = ()
    exprs: tuple[Expr, ...] = ()
    priority: int = 0
    remote_addrs: tuple[str, ...] = ()
    filter_func: str = ""
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    backends: tuple[Backend, ...] = ()
    order: int = 0


def ingress_uris(path: IngressPath, use_regex: bool) -> tuple[tuple[str, ...], tuple[Expr, ...]]:
    """The URIs (and variable checks) the controller writes for one Ingress path."""
    value = path.path
    if path.path_type == "Prefix":
        return (value, value.removesuffix("/") + "/*"), ()
    if path.path_type == "ImplementationSpecific" and use_regex:
        return ("/*",), (Expr("Path", "", "RegexMatch", (value,)),)
    return (value,), ()


def route_plugins(crds: Crds, namespace: str, config_name: str, own: Mapping[str, Mapping[str, Any]]
                  ) -> dict[str, Mapping[str, Any]]:
    """An ApisixPluginConfig's enabled plugins, overridden by ``own`` (same name)."""
    out: dict[str, Mapping[str, Any]] = {}
    if config_name:
        found = crds.plugin_config(namespace, config_name)
        if found is not None:
            out.update(found[0])
    out.update(own)
    return out


def _ingress_entries(ing: Ingress, rs: ResourceSet, crds: Crds) -> list[ApisixEntry]:
    raw = ing.annotations
    use_regex = raw.get(f"{PREFIX}/use-regex") == "true"
    svc_ns = raw.get(f"{PREFIX}/svc-namespace") or ing.namespace
    plugins = route_plugins(crds, ing.namespace, raw.get(f"{PREFIX}/plugin-config-name", ""), ingress_plugins(raw))
    out: list[ApisixEntry] = []
    for i, rule in enumerate(ing.rules):
        for j, p in enumerate(rule.paths):
            b = p.backend
            if not b.service:
                continue
            port = b.port_number if b.port_number is not None else service_port(rs, svc_ns, b.service, b.port_name)
            uris, exprs = ingress_uris(p, use_regex)
            out.append(ApisixEntry(
                name=f"{ing.namespace}_{ing.name}_{i}-{j}", kind="Ingress", source=ing.ref, rule=p.path or "/",
                hosts=(rule.host.lower(),) if rule.host else (), uris=uris, exprs=exprs, plugins=plugins,
                backends=(Backend(svc_ns, b.service, port, 1),)))
    return out


def authentication_plugin(auth: Any) -> tuple[str, dict[str, Any]] | None:
    """The plugin an ApisixRoute rule's ``authentication`` adds."""
    if not isinstance(auth, Mapping) or auth.get("enable") is not True:
        return None
    kind = auth.get("type")
    names = {"keyAuth": "key-auth", "basicAuth": "basic-auth", "wolfRBAC": "wolf-rbac", "jwtAuth": "jwt-auth",
             "hmacAuth": "hmac-auth", "ldapAuth": "ldap-auth"}
    sections = {"keyAuth": "keyAuth", "jwtAuth": "jwtAuth", "ldapAuth": "ldapAuth"}
    name = names.get(str(kind), "basic-auth")
    section = auth.get(sections.get(str(kind), ""))
    return name, dict(section) if isinstance(section, Mapping) else {}


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def route_rule_entry(obj: KubeObject, n: int, rule: Mapping[str, Any], rs: ResourceSet, crds: Crds) -> ApisixEntry:
    """One ``spec.http[]`` rule; raises :class:`ExprError` for expressions the controller refuses."""
    match = as_map(rule.get("match"))
    exprs = tuple(parse_exprs(match.get("exprs")))
    own, _ = plugin_list(rule.get("plugins"))
    pc_ns = str(rule.get("plugin_config_namespace") or obj.namespace)
    plugins = route_plugins(crds, pc_ns, str(rule.get("plugin_config_name") or ""), own)
    auth = authentication_plugin(rule.get("authentication"))
    if auth is not None:
        plugins = {**plugins, auth[0]: auth[1]}
    backends: list[Backend] = []
    for b in rule.get("backends") or []:
        if isinstance(b, Mapping) and b.get("serviceName"):
            w = b.get("weight")
            backends.append(Backend(obj.namespace, str(b["serviceName"]),
                                    service_port(rs, obj.namespace, str(b["serviceName"]), b.get("servicePort")),
                                    w if isinstance(w, int) and not isinstance(w, bool) else DEFAULT_WEIGHT))
    prio = rule.get("priority")
    return ApisixEntry(
        name=f"{obj.namespace}_{obj.name}_{rule.get('name') or n}", kind="ApisixRoute", source=obj.ref,
        rule=str(rule.get("name") or n), hosts=tuple(h.lower() for h in _strings(match.get("hosts"))),
        uris=_strings(match.get("paths")), methods=tuple(m.upper() for m in _strings(match.get("methods"))),
        exprs=exprs, priority=prio if isinstance(prio, int) and not isinstance(prio, bool) else 0,
        remote_addrs=_strings(match.get("remoteAddrs")), filter_func=str(match.get("filter_func") or ""),
        plugins=plugins, backends=tuple(backends))


def build(resources: ResourceSet, ingresses: Sequence[Ingress], objects: Sequence[KubeObject]) -> list[ApisixEntry]:
    """Every APISIX route of the claimed Ingresses and ApisixRoutes (an ApisixRoute the
    controller refuses contributes none)."""
    crds = Crds(objects)
    entries: list[ApisixEntry] = []
    for ing in sorted(ingresses, key=lambda x: (x.namespace, x.name)):
        entries += _ingress_entries(ing, resources, crds)
    for obj in crds.all("ApisixRoute"):
        rules = obj.spec.get("http")
        try:
            entries += [route_rule_entry(obj, n, r, resources, crds)
                        for n, r in enumerate(rules if isinstance(rules, list) else []) if isinstance(r, Mapping)]
        except ExprError:
            continue
    return [ApisixEntry(**{**{f: getattr(e, f) for f in e.__dataclass_fields__}, "order": n})
            for n, e in enumerate(entries)]


T = TypeVar("T")


def sni_lookup(certificates: Mapping[str, T], sni: str) -> T | None:
    """What APISIX finds for ``sni`` among SSL objects by host (lower case): the exact host,
    else the wildcard ``*.`` one label above it (its certificate matcher refuses a wildcard
    match of more than one label); None: no SSL object, the handshake fails."""
    sni = sni.lower()
    if sni in certificates:
        return certificates[sni]
    parent = sni.split(".", 1)[1] if "." in sni else ""
    return certificates.get(f"*.{parent}") if parent else None


def ssl_certificates(ingresses: Sequence[Ingress], objects: Sequence[KubeObject]) -> dict[str, str]:
    """The SNIs APISIX has a certificate for and the Secret (``ns/name``) it holds: Ingress
    ``tls`` hosts with a secret, then ApisixTls hosts (the first object listing an SNI keeps it)."""
    out: dict[str, str] = {}
    for ing in ingresses:
        for t in ing.tls:
            for h in t.hosts if t.secret_name else ():
                out.setdefault(h.lower(), f"{ing.namespace}/{t.secret_name}")
    for obj in Crds(objects).all("ApisixTls"):
        secret = as_map(obj.spec.get("secret"))
        name = f"{secret.get('namespace') or obj.namespace}/{secret.get('name') or ''}"
        for h in obj.spec.get("hosts") or []:
            out.setdefault(str(h).lower(), name)
    return out
