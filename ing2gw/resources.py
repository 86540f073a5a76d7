"""Typed views of the Kubernetes objects ing2gw reads, built from input documents.

:func:`build_resource_set` sorts documents into Ingresses (``networking.k8s.io/v1``; the
``extensions/v1beta1`` and ``networking.k8s.io/v1beta1`` forms are converted on load),
IngressClasses, Services, Namespaces and ConfigMaps, plus the objects of every kind a provider
claims (an :class:`APIKind`, CRDs included), kept as :class:`KubeObject` records for that
provider (both defined in :mod:`ing2gw.kinds`, and :class:`LabelSelector` in
:mod:`ing2gw.selector`, are re-exported here); every other kind is counted and skipped.
Secrets are never looked at beyond their identity. A document that cannot be identified (no
kind, no name) is an :class:`~ing2gw.errors.InputError`; an identifiable Ingress whose fields
have the wrong shape becomes an error note and is left out, so one bad object never sinks the
run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError
from .ingress_fields import host_problem, unknown_field
from .kinds import CORE_KINDS, APIKind, KubeObject
from .notes import Level, Note, Notes
from .selector import LabelSelector
from .yamlio import Document

__all__ = [
    "APIKind",
    "CORE_KINDS",
    "DEFAULT_CLASS_ANNOTATION",
    "Ingress",
    "IngressBackend",
    "IngressClass",
    "IngressPath",
    "IngressRule",
    "IngressTLS",
    "KubeObject",
    "LabelSelector",
    "ResourceSet",
    "Service",
    "ServicePort",
    "build_resource_set",
]

DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
INGRESS_API_VERSIONS = ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")



@dataclass(frozen=True, slots=True)
class IngressBackend:
    service: str | None = None
    port_number: int | None = None
    port_name: str | None = None
    resource: tuple[str, str, str] | None = None  # (apiGroup, kind, name)

    def describe(self) -> str:
        if self.resource:
            return f"{self.resource[1]} {self.resource[2]}"
        port = self.port_number if self.port_number is not None else self.port_name
        return f"{self.service}:{port}"


@dataclass(frozen=True, slots=True)
class IngressPath:
    path: str  # as written ("" when absent)
    path_type: str  # "Exact", "Prefix", "ImplementationSpecific" (absent -> ImplementationSpecific)
    backend: IngressBackend
    field: str  # "spec.rules[0].http.paths[1]"


@dataclass(frozen=True, slots=True)
class IngressRule:
    host: str  # "" = no host
    paths: tuple[IngressPath, ...]
    field: str


@dataclass(frozen=True, slots=True)
class IngressTLS:
    hosts: tuple[str, ...]
    secret_name: str


@dataclass(frozen=True, slots=True, eq=False)
class Ingress:
    namespace: str
    name: str
    annotations: Mapping[str, str]
    labels: Mapping[str, str]
    created: str  # metadata.creationTimestamp ("" when absent)
    class_name: str | None  # spec.ingressClassName
    rules: tuple[IngressRule, ...]
    tls: tuple[IngressTLS, ...]
    default_backend: IngressBackend | None
    origin: str
    load_balancer: tuple[str, ...] = ()  # status.loadBalancer.ingress: its IPs and host names

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def subject(self) -> str:
        return f"Ingress {self.namespace}/{self.name}"

    @property
    def legacy_class(self) -> str | None:
        value = self.annotations.get(LEGACY_CLASS_ANNOTATION)
        return value or None


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool
    origin: str
    parameters: tuple[str, str, str] | None = None  # spec.parameters: (apiGroup, kind, name)


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int
    target_port: int | str | None
    app_protocol: str | None
    protocol: str = "TCP"  # TCP, UDP or SCTP (the API's default TCP)


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    ports: tuple[ServicePort, ...]
    origin: str
    # its string-valued annotations (some controllers read them: Kong's konghq.com/*)
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class ResourceSet:
    ingresses: list[Ingress] = field(default_factory=list)
    ingress_classes: dict[str, IngressClass] = field(default_factory=dict)
    services: dict[tuple[str, str], Service] = field(default_factory=dict)
    namespaces: dict[str, Mapping[str, str]] = field(default_factory=dict)  # name -> labels
    config_maps: dict[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    # where each ConfigMap was read (its Document: the line of a data key, for notes)
    config_map_docs: dict[tuple[str, str], Document] = field(default_factory=dict, repr=False, compare=False)
    objects: dict[APIKind, list[KubeObject]] = field(default_factory=dict)  # claimed kinds, identity order
    skipped: Counter[str] = field(default_factory=Counter)  # kind -> count
    notes: Notes = field(default_factory=Notes)
    secrets: set[tuple[str, str]] = field(default_factory=set)  # (namespace, name) of Secrets given; no data

    @property
    def has_services(self) -> bool:
        return bool(self.services)

    def default_class(self) -> IngressClass | None:
        defaults = sorted((c for c in self.ingress_classes.values() if c.is_default), key=lambda c: c.name)
        return defaults[0] if defaults else None

    def claimed(self, kinds: Iterable[APIKind]) -> list[KubeObject]:
        """The objects of ``kinds``, by kind, namespace and name."""
        wanted = {(k.group, k.version, k.kind) for k in kinds}
        return [o for k in sorted(self.objects) if (k.group, k.version, k.kind) in wanted for o in self.objects[k]]


# --- building -----------------------------------------------------------------------------


class _Bad(Exception):
    """An identifiable object with a malformed field; the message starts with the field's path
    (``spec.rules[0].host ...``), which :meth:`field` gives back to find its line."""

    @property
    def field(self) -> str:
        return str(self).split(" ", 1)[0].rstrip(":")


def _host(value: Any, where: str, fixes: list[tuple[str, str]]) -> str:
    """A rule or TLS host, lowercased (with a note in ``fixes``); a host the API server and the
    Gateway API refuse is a :class:`_Bad` reason."""
    host = _str(value, where)
    if not host:
        return host
    problem = host_problem(host.lower())
    if problem:
        raise _Bad(f"{where} {host!r} {problem}: the API server refuses this host and no Gateway API "
                   "hostname can carry it")
    if host != host.lower():
        fixes.append((where, f"{where} {host!r} has uppercase letters (the API server refuses them); "
                             f"converted as {host.lower()!r}"))
    return host.lower()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Bad(f"{where} must be a mapping, found {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{where} must be a list, found {type(value).__name__}")
    return value


def _str(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Bad(f"{where} must be a string, found {type(value).__name__}")
    return str(value)


def _str_map(value: Any, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in _mapping(value, where).items():
        if isinstance(v, bool):
            raise _Bad(f"{where}.{k} must be a string, found bool (quote it: \"{str(v).lower()}\")")
        if v is None:
            v = ""
        if not isinstance(v, (str, int, float)):
            raise _Bad(f"{where}.{k} must be a string, found {type(v).__name__}")
        out[str(k)] = str(v)
    return out


def _backend(raw: Any, where: str, legacy: bool) -> IngressBackend:
    b = _mapping(raw, where)
    if legacy and ("serviceName" in b or "servicePort" in b):
        port = b.get("servicePort")
        if isinstance(port, bool):
            raise _Bad(f"{where}.servicePort must be a number or a name")
        return IngressBackend(
            service=_str(b.get("serviceName"), f"{where}.serviceName") or None,
            port_number=port if isinstance(port, int) else (int(port) if isinstance(port, str) and port.isdigit()
                                                             else None),
            port_name=port if isinstance(port, str) and not port.isdigit() else None,
        )
    if "resource" in b and b["resource"] is not None:
        r = _mapping(b["resource"], f"{where}.resource")
        return IngressBackend(
            resource=(
                _str(r.get("apiGroup"), f"{where}.resource.apiGroup"),
                _str(r.get("kind"), f"{where}.resource.kind"),
                _str(r.get("name"), f"{where}.resource.name"),
            )
        )
    svc = _mapping(b.get("service"), f"{where}.service")
    if not svc:
        raise _Bad(f"{where} names neither a service nor a resource")
    port = _mapping(svc.get("port"), f"{where}.service.port")
    number = port.get("number")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
        raise _Bad(f"{where}.service.port.number must be an integer")
    name = port.get("name")
    return IngressBackend(
        service=_str(svc.get("name"), f"{where}.service.name") or None,
        port_number=number,
        port_name=_str(name, f"{where}.service.port.name") or None if name is not None else None,
    )


def _ingress(obj: Mapping[str, Any], ns: str, name: str, origin: str,
             fixes: list[tuple[str, str]] | None = None) -> Ingress:
    """The typed Ingress; ``fixes`` collects ``(field, note)`` for what was corrected on the way."""
    fixes = [] if fixes is None else fixes
    legacy = obj.get("apiVersion") != "networking.k8s.io/v1"
    unknown = unknown_field(obj, legacy)
    if unknown:
        raise _Bad(unknown[1])
    meta = _mapping(obj.get("metadata"), "metadata")
    spec = _mapping(obj.get("spec"), "spec")
    if not spec.get("rules") and not spec.get("defaultBackend", spec.get("backend") if legacy else None):
        raise _Bad("spec has no rules and no defaultBackend: the Ingress routes nothing (the API server "
                   "refuses it)")
    rules: list[IngressRule] = []
    for i, raw_rule in enumerate(_list(spec.get("rules"), "spec.rules")):
        rf = f"spec.rules[{i}]"
        rule = _mapping(raw_rule, rf)
        http = _mapping(rule.get("http"), f"{rf}.http")
        paths: list[IngressPath] = []
        for j, raw_path in enumerate(_list(http.get("paths"), f"{rf}.http.paths")):
            pf = f"{rf}.http.paths[{j}]"
            p = _mapping(raw_path, pf)
            paths.append(
                IngressPath(
                    path=_str(p.get("path"), f"{pf}.path"),
                    path_type=_str(p.get("pathType"), f"{pf}.pathType", "ImplementationSpecific"),
                    backend=_backend(p.get("backend"), f"{pf}.backend", legacy),
                    field=pf,
                )
            )
        rules.append(IngressRule(_host(rule.get("host"), f"{rf}.host", fixes), tuple(paths), rf))
    tls_entries: list[IngressTLS] = []
    for i, raw_tls in enumerate(_list(spec.get("tls"), "spec.tls")):
        entry = _mapping(raw_tls, f"spec.tls[{i}]")
        hosts = _list(entry.get("hosts"), f"spec.tls[{i}].hosts")
        tls_entries.append(IngressTLS(
            hosts=tuple(_host(h, f"spec.tls[{i}].hosts[{k}]", fixes) for k, h in enumerate(hosts)),
            secret_name=_str(entry.get("secretName"), f"spec.tls[{i}].secretName"),
        ))
    tls = tuple(tls_entries)
    raw_default = spec.get("defaultBackend", spec.get("backend") if legacy else None)
    return Ingress(
        namespace=ns,
        name=name,
        annotations=_str_map(meta.get("annotations"), "metadata.annotations"),
        labels=_str_map(meta.get("labels"), "metadata.labels"),
        created=_str(meta.get("creationTimestamp"), "metadata.creationTimestamp"),
        class_name=_str(spec.get("ingressClassName"), "spec.ingressClassName") or None,
        rules=tuple(rules),
        tls=tls,
        default_backend=_backend(raw_default, "spec.defaultBackend", legacy) if raw_default else None,
        origin=origin,
        load_balancer=_load_balancer(obj.get("status")),
    )


def _parameters(raw: Any) -> tuple[str, str, str] | None:
    """An IngressClass's ``spec.parameters`` reference (apiGroup, kind, name); None when absent."""
    if not isinstance(raw, Mapping):
        return None
    return (str(raw.get("apiGroup") or ""), str(raw.get("kind") or ""), str(raw.get("name") or ""))


def _load_balancer(status: Any) -> tuple[str, ...]:
    """The addresses of ``status.loadBalancer.ingress`` (IP, else host name); what is not
    well-formed is left out (status is written by the controller, not the user)."""
    lb = status.get("loadBalancer") if isinstance(status, Mapping) else None
    items = lb.get("ingress") if isinstance(lb, Mapping) else None
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            value = item.get("ip") or item.get("hostname")
            if isinstance(value, str) and value and value not in out:
                out.append(value)
    return tuple(out)


def _service(obj: Mapping[str, Any], ns: str, name: str, origin: str) -> Service:
    spec = _mapping(obj.get("spec"), "spec")
    ports: list[ServicePort] = []
    for i, raw in enumerate(_list(spec.get("ports"), "spec.ports")):
        p = _mapping(raw, f"spec.ports[{i}]")
        port = p.get("port")
        if isinstance(port, bool) or not isinstance(port, int):
            raise _Bad(f"spec.ports[{i}].port must be an integer")
        target = p.get("targetPort")
        ports.append(
            ServicePort(
                name=_str(p.get("name"), f"spec.ports[{i}].name"),
                port=port,
                target_port=target if isinstance(target, (int, str)) and not isinstance(target, bool) else None,
                app_protocol=_str(p.get("appProtocol"), f"spec.ports[{i}].appProtocol") or None,
                protocol=_str(p.get("protocol"), f"spec.ports[{i}].protocol") or "TCP",
            )
        )
    meta = obj.get("metadata")
    raw = meta.get("annotations") if isinstance(meta, Mapping) else None
    annotations = {str(k): v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, Mapping) else {}
    return Service(ns, name, tuple(ports), origin, annotations)


def _identity(doc: Document) -> tuple[str, str, str, str]:
    obj = doc.obj
    kind = obj.get("kind")
    api = obj.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise InputError(f"{doc.origin}: object has no kind")
    if not isinstance(api, str) or not api:
        raise InputError(f"{doc.origin}: {kind} has no apiVersion")
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        raise InputError(f"{doc.origin}: {kind} has no metadata mapping")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{doc.where('metadata.name')}: {kind} has no metadata.name")
    ns = meta.get("namespace")
    if ns is not None and not isinstance(ns, str):
        raise InputError(f"{doc.where('metadata.namespace')}: {kind} {name}: metadata.namespace must be a string")
    return api, kind, ns or "", name


def _claimed(doc: Document, kind: APIKind, ns: str, name: str) -> KubeObject:
    meta = _mapping(doc.obj.get("metadata"), "metadata")
    return KubeObject(
        kind=kind,
        namespace=ns,
        name=name,
        labels=_str_map(meta.get("labels"), "metadata.labels"),
        annotations=_str_map(meta.get("annotations"), "metadata.annotations"),
        body=doc.obj,
        origin=doc.origin,
    )


def _dedupe(items: Iterable[Any], kind: str, notes: Notes) -> list[Any]:
    """One object per (namespace, name), in that order; a duplicate keeps the one read last in
    origin order (whatever the file order) and is reported."""
    by_ref: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        by_ref.setdefault((item.namespace, item.name), []).append(item)
    unique: list[Any] = []
    for ref, dupes in sorted(by_ref.items()):
        dupes.sort(key=lambda i: i.origin)
        if len(dupes) > 1:
            notes.add(
                Note(
                    code="INPUT-DUPLICATE-OBJECT",
                    level=Level.WARNING,
                    message=f"defined {len(dupes)} times ({', '.join(d.origin for d in dupes)})",
                    subject=f"{kind} {ref[0]}/{ref[1]}" if ref[0] else f"{kind} {ref[1]}",
                    instead=f"using the one at {dupes[-1].origin}",
                )
            )
        unique.append(dupes[-1])
    return unique


def build_resource_set(
    docs: Iterable[Document],
    namespace: str | None = None,
    selector: LabelSelector | None = None,
    default_namespace: str = "default",
    kinds: Iterable[APIKind] = (),
) -> ResourceSet:
    """Sort documents into a :class:`ResourceSet`.

    ``namespace`` keeps only objects of that namespace (objects without one are taken to be
    in it); otherwise objects without a namespace are in ``default_namespace``. ``selector``
    filters Ingresses (and selectable claimed kinds) by label, as ``kubectl get -l``.
    ``kinds`` are the kinds providers claim: their objects are kept in ``objects``; an object
    of a claimed kind in a version nobody claims is skipped with a warning.
    """
    rs = ResourceSet()
    home = namespace or default_namespace
    claims: dict[tuple[str, str], APIKind] = {}
    for k in sorted(kinds):
        claims.setdefault((k.api_version, k.kind), k)
    claimed_groups = {(k.group, k.kind): k for k in claims.values()}
    for doc in docs:
        api, kind, ns, name = _identity(doc)
        claim = claims.get((api, kind))
        if claim is not None and not claim.namespaced:
            ns = ""
        else:
            ns = ns or home
        try:
            if claim is not None:
                if (namespace and claim.namespaced and ns != namespace):
                    continue
                obj = _claimed(doc, claim, ns, name)
                if claim.selectable and selector and not selector.matches(obj.labels):
                    continue
                rs.objects.setdefault(claim, []).append(obj)
            elif kind == "Ingress" and api in INGRESS_API_VERSIONS:
                if namespace and ns != namespace:
                    continue
                fixes: list[tuple[str, str]] = []
                ing = _ingress(doc.obj, ns, name, doc.origin, fixes)
                if selector and not selector.matches(ing.labels):
                    continue
                rs.ingresses.append(ing)
                for where, message in fixes:
                    rs.notes.add(Note(code="INPUT-HOST-CASE", level=Level.WARNING,
                                      message=f"{doc.where(where)}: {message}", subject=ing.subject, field=where,
                                      instead="lowercased", origin=doc.where(where)))
            elif kind == "IngressClass" and api.startswith("networking.k8s.io/"):
                spec = _mapping(doc.obj.get("spec"), "spec")
                ann = _str_map(_mapping(doc.obj.get("metadata"), "metadata").get("annotations"), "metadata.annotations")
                rs.ingress_classes[name] = IngressClass(
                    name=name,
                    controller=_str(spec.get("controller"), "spec.controller"),
                    is_default=ann.get(DEFAULT_CLASS_ANNOTATION, "").lower() == "true",
                    origin=doc.origin,
                    parameters=_parameters(spec.get("parameters")),
                )
            elif kind == "Service" and api == "v1":
                rs.services[(ns, name)] = _service(doc.obj, ns, name, doc.origin)
            elif kind == "Namespace" and api == "v1":
                labels = _str_map(_mapping(doc.obj.get("metadata"), "metadata").get("labels"), "metadata.labels")
                rs.namespaces[name] = {**labels, "kubernetes.io/metadata.name": name}
            elif kind == "ConfigMap" and api == "v1":
                rs.config_maps[(ns, name)] = _str_map(doc.obj.get("data"), "data")
                rs.config_map_docs[(ns, name)] = doc
            else:
                rs.skipped[kind] += 1
                if kind == "Secret" and api == "v1":
                    rs.secrets.add((ns, name))  # identity only: a reference to it resolves
                other = claimed_groups.get((api.rpartition("/")[0], kind))
                if other is not None:
                    rs.notes.add(Note(
                        code="INPUT-KIND-VERSION-UNSUPPORTED",
                        level=Level.WARNING,
                        message=f"{doc.origin}: {api} {kind} is not read (the installed providers read "
                                f"{other.api_version})",
                        subject=f"{kind} {ns}/{name}" if ns else f"{kind} {name}",
                        instead="object skipped",
                        origin=doc.origin,
                    ))
        except _Bad as exc:
            subject = f"{kind} {ns}/{name}" if ns and kind not in ("IngressClass", "Namespace") else f"{kind} {name}"
            rs.notes.add(
                Note(
                    code="INPUT-INVALID-OBJECT",
                    level=Level.ERROR,
                    message=f"{doc.where(exc.field)}: {exc}",
                    subject=subject,
                    field=exc.field,
                    instead="object skipped",
                    origin=doc.where(exc.field),
                )
            )
    # Identity order, whatever the file order: (namespace, name); duplicates keep the last read
    # in a stable way (sorted by origin) and are reported.
    rs.ingresses = _dedupe(rs.ingresses, "Ingress", rs.notes)
    for claim in sorted(rs.objects):
        rs.objects[claim] = _dedupe(rs.objects[claim], claim.kind, rs.notes)
    rs.objects = dict(sorted(rs.objects.items()))
    return rs

