"""Existing Gateways the converted routes attach to: ``--gateway NS/NAME``, ``--gateway-file``,
or the cluster.

The platform's Gateways are read, never written: from ``--gateway-file`` files (Gateway,
ListenerSet, ReferenceGrant and Namespace objects; other kinds are ignored), or, when only
``--gateway`` names them, from the cluster of the current kubeconfig context with the same
read-only client and RBAC as cluster mode (:func:`ing2gw.kube.read_gateways`). Each Gateway
and ListenerSet is checked against the Gateway API CRD schema first: a malformed one stops
the run with one line naming the file, the line of the field, the object and the problem
(exit 3), as does a ``--gateway`` that names no Gateway of the input; a badly written
``--gateway`` value is a usage error (exit 2).

The result, :class:`Existing`, is plain data the emitter (:mod:`ing2gw.emit.existing`)
attaches routes to and ``ing2gw plan`` reads addresses from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError, UsageError
from .ir import CertificateRef
from .notes import Note
from .yamlio import Document

__all__ = ["Existing", "ExistingGateway", "ExistingListener", "Grant", "from_documents", "parse_refs"]

GROUP = "gateway.networking.k8s.io"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_KINDS = ("Gateway", "ListenerSet", "ReferenceGrant", "Namespace")


@dataclass(frozen=True, slots=True)
class ExistingListener:
    """One listener of an existing Gateway or ListenerSet, as routes see it."""

    owner_kind: str  # "Gateway" | "ListenerSet"
    owner_namespace: str
    owner_name: str
    name: str
    port: int
    protocol: str
    hostname: str  # "" = any
    tls_mode: str | None
    certificates: tuple[CertificateRef, ...]
    allowed_from: str  # Same | All | Selector
    selector: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    kinds: tuple[str, ...] = ()  # allowedRoutes.kinds; () = the protocol's defaults


@dataclass(frozen=True, slots=True)
class ExistingGateway:
    namespace: str
    name: str
    gateway_class: str
    listeners: tuple[ExistingListener, ...]  # its own, then those of its attached ListenerSets
    listeners_from: str = "None"  # spec.allowedListeners.namespaces.from
    listeners_selector: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    addresses: tuple[str, ...] = ()  # status.addresses values
    origin: str = ""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Grant:
    """A ReferenceGrant, reduced to what certificate references need."""

    namespace: str
    froms: tuple[tuple[str, str, str], ...]  # (group, kind, namespace)
    tos: tuple[tuple[str, str, str], ...]  # (group, kind, name or "" for every name)

    def allows(self, from_kind: str, from_ns: str, to_kind: str, to_name: str) -> bool:
        return (any(g == GROUP and k == from_kind and n == from_ns for g, k, n in self.froms)
                and any(g == "" and k == to_kind and (not n or n == to_name) for g, k, n in self.tos))


@dataclass(frozen=True, slots=True)
class Existing:
    gateways: tuple[ExistingGateway, ...]
    grants: tuple[Grant, ...] = ()
    namespaces: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False, hash=False)
    source: str = ""  # where they were read: the files, or the cluster
    notes: tuple[Note, ...] = ()  # what could not be read (a forbidden ListenerSet list ...)
    # the objects read (Gateways, ListenerSets, ReferenceGrants, Namespaces), for the router
    objects: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, hash=False)

    def granted(self, from_kind: str, from_ns: str, ref: CertificateRef) -> bool:
        return any(g.namespace == ref.namespace and g.allows(from_kind, from_ns, ref.kind, ref.name)
                   for g in self.grants)


def parse_refs(values: Iterable[str]) -> list[tuple[str, str]]:
    """``--gateway`` values as ``(namespace, name)``; a bad one is a usage error."""
    out: list[tuple[str, str]] = []
    for v in values:
        ns, sep, name = v.partition("/")
        if not sep or not _NAME.match(ns) or not _NAME.match(name):
            raise UsageError(f"--gateway {v!r}: expected NAMESPACE/NAME of an existing Gateway (e.g. infra/public)")
        if (ns, name) not in out:
            out.append((ns, name))
    return out


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _listener(owner: tuple[str, str, str], raw: Mapping[str, Any]) -> ExistingListener:
    tls = raw.get("tls") or {}
    allowed = raw.get("allowedRoutes") or {}
    namespaces = allowed.get("namespaces") or {}
    certs = tuple(CertificateRef(_str(c.get("namespace")) or owner[1], _str(c.get("name")),
                                 _str(c.get("kind")) or "Secret", _str(c.get("group")))
                  for c in tls.get("certificateRefs") or [])
    protocol = _str(raw.get("protocol"))
    mode = _str(tls.get("mode")) or ("Terminate" if protocol in ("HTTPS", "TLS") and tls else None)
    return ExistingListener(owner[0], owner[1], owner[2], _str(raw.get("name")), int(raw.get("port") or 0), protocol,
                            _str(raw.get("hostname")), mode or None, certs,
                            _str(namespaces.get("from")) or "Same", namespaces.get("selector") or {},
                            tuple(sorted(_str(k.get("kind")) for k in allowed.get("kinds") or [])))


def _check(doc: Document) -> None:
    """A malformed Gateway or ListenerSet stops the run, naming file, line, object, field."""
    from .schema import validate

    obj = doc.obj
    meta = obj.get("metadata") or {}
    what = f"{obj.get('kind')} {meta.get('namespace') or 'default'}/{meta.get('name')}"
    if not str(obj.get("apiVersion", "")).startswith(GROUP + "/"):
        raise InputError(f"{doc.where('apiVersion')}: {what}: apiVersion must be {GROUP}/v1")
    errors = validate(obj, channel="experimental")
    if errors:
        first = errors[0]
        raise InputError(f"{doc.where(first.path)}: {what}: {first}")


def from_documents(docs: Sequence[Document], wanted: Sequence[tuple[str, str]], source: str) -> Existing:
    """The Gateways ``wanted`` names (every Gateway in ``docs`` when empty), with the
    ListenerSets attached to them, the ReferenceGrants and the Namespaces' labels."""
    gateways: dict[tuple[str, str], tuple[Document, dict[str, Any]]] = {}
    sets: list[tuple[Document, dict[str, Any]]] = []
    grants: list[Grant] = []
    namespaces: dict[str, Mapping[str, str]] = {}
    for doc in docs:
        obj = doc.obj
        kind = obj.get("kind")
        if kind not in _KINDS:
            continue
        meta = obj.get("metadata") or {}
        ns = _str(meta.get("namespace")) or "default"
        if kind == "Namespace":
            name = _str(meta.get("name"))
            namespaces[name] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": name}
            continue
        _check(doc)
        spec = obj.get("spec") or {}
        if kind == "Gateway":
            gateways.setdefault((ns, _str(meta.get("name"))), (doc, obj))
        elif kind == "ListenerSet":
            sets.append((doc, obj))
        else:
            grants.append(Grant(ns, tuple((_str(f.get("group")), _str(f.get("kind")), _str(f.get("namespace")))
                                          for f in spec.get("from") or []),
                                tuple((_str(t.get("group")), _str(t.get("kind")), _str(t.get("name")))
                                      for t in spec.get("to") or [])))
    names = list(wanted) or sorted(gateways)
    if not names:
        raise InputError(f"{source}: no Gateway object to attach routes to")
    out: list[ExistingGateway] = []
    for ns, name in names:
        found = gateways.get((ns, name))
        if found is None:
            held = ", ".join(f"{a}/{b}" for a, b in sorted(gateways)) or "none"
            raise InputError(f"{source}: Gateway {ns}/{name} (--gateway) is not there (Gateways found: {held})")
        doc, obj = found
        spec = obj.get("spec") or {}
        own = [_listener(("Gateway", ns, name), raw) for raw in spec.get("listeners") or []]
        for ls in sorted((o for _, o in sets), key=lambda o: (str(o["metadata"].get("namespace")),
                                                             str(o["metadata"].get("name")))):
            parent = (ls.get("spec") or {}).get("parentRef") or {}
            ls_meta = ls.get("metadata") or {}
            ls_ns = _str(ls_meta.get("namespace")) or "default"
            if _str(parent.get("name")) == name and (_str(parent.get("namespace")) or ls_ns) == ns:
                own += [_listener(("ListenerSet", ls_ns, _str(ls_meta.get("name"))), raw)
                        for raw in (ls.get("spec") or {}).get("listeners") or []]
        allowed = (spec.get("allowedListeners") or {}).get("namespaces") or {}
        addresses = tuple(_str(a.get("value")) for a in (obj.get("status") or {}).get("addresses") or []
                          if isinstance(a, Mapping) and a.get("value"))
        out.append(ExistingGateway(ns, name, _str(spec.get("gatewayClassName")), tuple(own),
                                   _str(allowed.get("from")) or "None", allowed.get("selector") or {},
                                   addresses, doc.origin))
    objects = tuple(d.obj for d in docs if d.obj.get("kind") in _KINDS)
    return Existing(tuple(out), tuple(grants), namespaces, source, objects=objects)
