"""What a change to the manifests means after migration: objects and behaviour, dyff-style.

Each side (BASE, HEAD) is a set of documents: Ingresses are converted with the given
options, Gateway API objects are taken as written (a hand-written object wins over a
generated one with the same identity), so an Ingress side can also be compared with a
hand-migrated Gateway API side (a drift check).

* Objects are keyed by apiVersion/kind/namespace/name and reported as added, removed,
  renamed (same kind, namespace and ``ing2gw.io/source``) or changed, with field paths
  from deepdiff. Rules stay ordered; lists that are sets (hostnames, parentRefs, matches,
  backendRefs, listeners, ...) are compared as sets.
* Behaviour: boundary requests generated from both sides (plus ``--cases``) go through the
  reference router on BASE and HEAD; every request whose outcome changes is listed.
* Conversion notes that appear or disappear are listed too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from deepdiff import DeepDiff

from .convert import ConvertOptions, convert
from .emit.gateway import SOURCE_ANNOTATION
from .http import Request
from .notes import Note
from .plugins import Registry
from .probes import Probe, probes_for
from .resources import build_resource_set
from .yamlio import Document

__all__ = ["BehaviourChange", "DiffReport", "FieldChange", "ObjectChange", "Side", "build_side", "diff_sides",
           "incremental_sides"]

GATEWAY_GROUPS = ("gateway.networking.k8s.io/", "gateway.networking.x-k8s.io/")

# Lists compared as sets, by the key that identifies an element. Path patterns use "*"
# for any list index and match the field path from the object root.
_SET_FIELDS: dict[tuple[str, ...], str] = {
    ("spec", "hostnames"): "",
    ("spec", "parentRefs"): "json",
    ("spec", "listeners"): "name",
    ("spec", "rules", "*", "matches"): "json",
    ("spec", "rules", "*", "backendRefs"): "json",
    ("spec", "rules", "*", "matches", "*", "headers"): "json",
    ("spec", "rules", "*", "matches", "*", "queryParams"): "json",
    ("spec", "from"): "json",
    ("spec", "to"): "json",
    ("spec", "targetRefs"): "json",
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    change: str  # "added" | "removed" | "changed"
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class ObjectChange:
    change: str  # "added" | "removed" | "changed" | "renamed"
    key: str  # apiVersion/kind/namespace/name (HEAD's for renamed)
    kind: str
    namespace: str
    name: str
    old_name: str | None = None
    fields: tuple[FieldChange, ...] = ()
    sources: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "key": self.key,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "oldName": self.old_name,
            "sources": self.sources,
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclass(frozen=True, slots=True)
class BehaviourChange:
    request: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    what: tuple[str, ...]  # which parts changed: status, backend, redirect, path, host

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "before": self.before, "after": self.after, "changed": list(self.what)}


@dataclass(slots=True)
class Side:
    label: str
    manifests: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)
    ingresses: int = 0


@dataclass(frozen=True, slots=True)
class DiffReport:
    base: str
    head: str
    objects: tuple[ObjectChange, ...]
    behaviour: tuple[BehaviourChange, ...]
    notes_added: tuple[Note, ...]
    notes_removed: tuple[Note, ...]
    requests: int

    @property
    def has_differences(self) -> bool:
        return bool(self.objects or self.behaviour or self.notes_added or self.notes_removed)

    def summary(self) -> dict[str, int]:
        counts = {c: 0 for c in ("added", "removed", "changed", "renamed")}
        for o in self.objects:
            counts[o.change] += 1
        return {
            **counts,
            "requests": self.requests,
            "behaviourChanges": len(self.behaviour),
            "notesAdded": len(self.notes_added),
            "notesRemoved": len(self.notes_removed),
        }

    def verdict(self) -> str:
        if not self.has_differences:
            return "No differences: the Gateway API output and its behaviour are unchanged."
        s = self.summary()
        objects = s["added"] + s["removed"] + s["changed"] + s["renamed"]
        if self.behaviour:
            return (f"{len(self.behaviour)} of {self.requests} probed requests are served differently; "
                    f"{objects} object(s) change.")
        if objects:
            return f"{objects} object(s) change; no probed request is served differently."
        return "Only conversion notes change."

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "verdict": self.verdict(),
            "summary": self.summary(),
            "objects": [o.to_dict() for o in self.objects],
            "behaviour": [b.to_dict() for b in self.behaviour],
            "notes": {
                "added": [n.as_dict() for n in self.notes_added],
                "removed": [n.as_dict() for n in self.notes_removed],
            },
        }


# --- sides ----------------------------------------------------------------------------------


def _is_gateway_api(obj: Mapping[str, Any]) -> bool:
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.startswith(GATEWAY_GROUPS)


def _identity(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('apiVersion')}/{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name', '')}"


def build_side(label: str, docs: Sequence[Document], options: ConvertOptions, registry: Registry) -> Side:
    """Convert the side's Ingresses and merge its own Gateway API objects over them."""
    gateway_docs = [d.obj for d in docs if _is_gateway_api(d.obj)]
    other = [d for d in docs if not _is_gateway_api(d.obj)]
    rs = build_resource_set(other)
    result = convert(rs, options, registry) if rs.ingresses else None
    merged: dict[str, dict[str, Any]] = {}
    for m in result.manifests if result else []:
        merged[_identity(m)] = dict(m)
    for obj in gateway_docs:
        merged[_identity(obj)] = dict(obj)
    notes = list(result.notes) if result else list(rs.notes)
    return Side(label, [merged[k] for k in sorted(merged)], notes, len(rs.ingresses))


# Annotations whose effect reaches beyond the Ingress's own hosts: a change to an Ingress
# carrying one is diffed by converting everything.
_FAR_REACHING = ("from-to-www-redirect", "server-alias", "backend-protocol", "proxy-ssl-")


def _hosts_of(obj: Mapping[str, Any]) -> set[str] | None:
    """The rule hosts of a raw Ingress; None when it has host-less or wildcard rules, TLS,
    far-reaching annotations or a shape not worth reasoning about."""
    spec = obj.get("spec")
    meta = obj.get("metadata")
    if not isinstance(spec, Mapping) or not isinstance(meta, Mapping):
        return None
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, Mapping) or any(
            any(part in str(k) for part in _FAR_REACHING) for k in annotations):
        return None
    if spec.get("tls") or spec.get("defaultBackend") or spec.get("backend"):
        return None
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        return None
    hosts: set[str] = set()
    for rule in rules:
        host = rule.get("host") if isinstance(rule, Mapping) else None
        if not isinstance(host, str) or not host or "*" in host:
            return None
        hosts.add(host.lower())
    return hosts


def incremental_sides(base: tuple[str, Sequence[Document]], head: tuple[str, Sequence[Document]],
                      options: ConvertOptions, registry: Registry) -> tuple[Side, Side] | None:
    """Both sides converted from only what the change can affect, or None when that cannot be
    shown safe (then convert everything).

    When the two sides differ only in Ingresses with plain hosts (no TLS, default backend,
    wildcard, host-less rule, or annotation reaching other hosts) and the set of namespaces
    with Ingresses is the same, every other Ingress converts identically on both sides and
    the Gateways do not change: converting the Ingresses that share a host with a changed
    one (plus every wildcard and host-less one) on each side gives the same differences as
    converting everything -- at a fraction of the cost on large, mostly unchanged sets.
    """
    docs_b, docs_h = base[1], head[1]
    if any(_is_gateway_api(d.obj) for d in (*docs_b, *docs_h)):
        return None
    b = {_identity(d.obj): d.obj for d in docs_b}
    h = {_identity(d.obj): d.obj for d in docs_h}
    changed = {k for k in b.keys() | h.keys() if b.get(k) != h.get(k)}
    affected: set[str] = set()
    for key in changed:
        for obj in (b.get(key), h.get(key)):
            if obj is None:
                continue
            if obj.get("kind") != "Ingress":
                return None
            hosts = _hosts_of(obj)
            if hosts is None:
                return None
            affected |= hosts

    def namespaces(objs: Mapping[str, Mapping[str, Any]]) -> set[str]:
        return {str((o.get("metadata") or {}).get("namespace", ""))
                for o in objs.values() if o.get("kind") == "Ingress"}

    if namespaces(b) != namespaces(h):
        return None

    def keep(obj: Mapping[str, Any]) -> bool:
        hosts = _hosts_of(obj)
        return hosts is None or bool(hosts & affected)  # wildcard, TLS...: they may reach those hosts

    # The Gateways admit every namespace that has routes: one unchanged Ingress of each
    # namespace the kept ones miss keeps that list (and so the Gateways) as in full.
    def kept_namespaces(objs: Mapping[str, Mapping[str, Any]]) -> set[str]:
        return {str((o.get("metadata") or {}).get("namespace", ""))
                for o in objs.values() if o.get("kind") == "Ingress" and keep(o)}

    covered = kept_namespaces(b) & kept_namespaces(h)
    extra: set[str] = set()
    for key in sorted(b.keys() & h.keys()):
        obj = b[key]
        ns = str((obj.get("metadata") or {}).get("namespace", ""))
        if obj.get("kind") == "Ingress" and ns not in covered and key not in changed:
            covered.add(ns)
            extra.add(key)

    def relevant(docs: Sequence[Document]) -> list[Document]:
        return [d for d in docs if d.obj.get("kind") != "Ingress" or keep(d.obj) or _identity(d.obj) in extra]

    return (build_side(base[0], relevant(docs_b), options, registry),
            build_side(head[0], relevant(docs_h), options, registry))


# --- object diff --------------------------------------------------------------------------


def _set_key(path: tuple[str, ...]) -> str | None:
    for pattern, key in _SET_FIELDS.items():
        if len(pattern) == len(path) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True)):
            return key
    return None


def _canonical(value: Any, path: tuple[str, ...] = ()) -> Any:
    """Sort the set-like lists so that element order does not count as a change."""
    if isinstance(value, Mapping):
        return {k: _canonical(v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v, (*path, "*")) for v in value]
        key = _set_key(path)
        if key is not None:
            if key == "":
                items.sort(key=str)
            elif key == "json":
                items.sort(key=lambda v: json.dumps(v, sort_keys=True))
            else:
                items.sort(key=lambda v: str(v.get(key, "")) if isinstance(v, Mapping) else str(v))
        return items
    return value


def _path_text(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    a = _canonical({k: v for k, v in old.items() if k != "status"})
    b = _canonical({k: v for k, v in new.items() if k != "status"})
    changes: list[FieldChange] = []
    # Rules are ordered, but a rule inserted or removed should read as that, not as every
    # later rule changing: align them first (difflib), then diff the pairs.
    rules_a = (a.get("spec") or {}).pop("rules", None) if isinstance(a.get("spec"), dict) else None
    rules_b = (b.get("spec") or {}).pop("rules", None) if isinstance(b.get("spec"), dict) else None
    if rules_a is not None or rules_b is not None:
        changes += _rule_changes(rules_a or [], rules_b or [])
    changes += _deep(a, b, ())
    return tuple(sorted(changes, key=lambda c: (_sort_path(c.path), c.change)))


def _sort_path(path: str) -> list[Any]:
    """Field paths in document order: list indices compare as numbers."""
    out: list[Any] = []
    for token in path.replace("]", "").replace("[", ".#").split("."):
        out.append((0, int(token[1:]), "") if token.startswith("#") and token[1:].isdigit() else (1, 0, token))
    return out


def _rule_changes(old: list[Any], new: list[Any]) -> list[FieldChange]:
    keys_a = [json.dumps(r, sort_keys=True) for r in old]
    keys_b = [json.dumps(r, sort_keys=True) for r in new]
    out: list[FieldChange] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                out += [replace(c, path=c.path.replace(f"spec.rules[{i}]", f"spec.rules[{j}]", 1))
                        for c in _deep(old[i], new[j], ("spec", "rules", i))]
            continue
        out += [FieldChange(f"spec.rules[{i}]", "removed", old[i], None) for i in range(i1, i2)]
        out += [FieldChange(f"spec.rules[{j}]", "added", None, new[j]) for j in range(j1, j2)]
    return out


def _deep(a: Any, b: Any, prefix: tuple[Any, ...]) -> list[FieldChange]:
    dd = DeepDiff(a, b, verbose_level=2)
    changes: list[FieldChange] = []
    kinds = {
        "dictionary_item_added": "added",
        "iterable_item_added": "added",
        "dictionary_item_removed": "removed",
        "iterable_item_removed": "removed",
        "values_changed": "changed",
        "type_changes": "changed",
    }
    for dd_kind, change in kinds.items():
        for item in dd.tree.get(dd_kind, []):
            parts = [*prefix, *item.path(output_format="list")]
            t1 = None if change == "added" else item.t1
            t2 = None if change == "removed" else item.t2
            changes.append(FieldChange(_path_text(parts), change, t1, t2))
    return changes


def _content_key(obj: Mapping[str, Any]) -> str:
    """Kind, namespace and content without name and source annotation."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("name", None)
    annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items() if k != SOURCE_ANNOTATION}
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return json.dumps([obj.get("kind"), meta, annotations, _canonical(body)], sort_keys=True)


def _object_changes(base: Side, head: Side) -> list[ObjectChange]:
    old = {_identity(m): m for m in base.manifests}
    new = {_identity(m): m for m in head.manifests}
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    changes: list[ObjectChange] = []

    def parts(key: str, m: Mapping[str, Any]) -> tuple[str, str, str, str]:
        meta = m.get("metadata") or {}
        src = (meta.get("annotations") or {}).get(SOURCE_ANNOTATION, "")
        return str(m.get("kind")), str(meta.get("namespace", "")), str(meta.get("name", "")), src

    # Renames: a removed and an added object of the same kind and namespace made from the
    # same source objects.
    by_source: dict[tuple[str, str, str], list[str]] = {}
    for key in added:
        kind, ns, _, src = parts(key, new[key])
        if src:
            by_source.setdefault((kind, ns, src), []).append(key)
    renamed_to: dict[str, str] = {}
    for key in removed:
        kind, ns, _, src = parts(key, old[key])
        candidates = by_source.get((kind, ns, src)) if src else None
        if candidates:
            renamed_to[key] = candidates.pop(0)
    # Then objects whose content is identical apart from name and source (a renamed Ingress).
    taken = set(renamed_to.values())
    by_content: dict[str, list[str]] = {}
    for key in added:
        if key not in taken:
            by_content.setdefault(_content_key(new[key]), []).append(key)
    for key in removed:
        if key not in renamed_to:
            candidates = by_content.get(_content_key(old[key]))
            if candidates:
                renamed_to[key] = candidates.pop(0)
    for key in removed:
        kind, ns, name, src = parts(key, old[key])
        if key in renamed_to:
            target = renamed_to[key]
            o = dict(old[key], metadata={**old[key].get("metadata", {}), "name": ""})
            n = dict(new[target], metadata={**new[target].get("metadata", {}), "name": ""})
            _, _, new_name, _ = parts(target, new[target])
            changes.append(ObjectChange("renamed", target, kind, ns, new_name, name, _fields(o, n), src))
        else:
            changes.append(ObjectChange("removed", key, kind, ns, name, sources=src))
    for key in added:
        if key in renamed_to.values():
            continue
        kind, ns, name, src = parts(key, new[key])
        changes.append(ObjectChange("added", key, kind, ns, name, sources=src))
    for key in sorted(set(old) & set(new)):
        if old[key] == new[key]:
            continue
        f = _fields(old[key], new[key])
        if f:
            kind, ns, name, src = parts(key, new[key])
            changes.append(ObjectChange("changed", key, kind, ns, name, fields=f, sources=src))
    order = {"removed": 0, "renamed": 1, "changed": 2, "added": 3}
    return sorted(changes, key=lambda c: (c.kind, c.namespace, c.name, order[c.change]))


# --- behaviour diff -----------------------------------------------------------------------


def _summary(outcome: Any) -> dict[str, Any]:
    up = outcome.upstream
    redirect = outcome.redirect
    return {
        "status": outcome.status,
        "backend": outcome.backend,
        "weights": {k: round(v, 2) for k, v in sorted(outcome.weights.items())} if outcome.served else {},
        "path": up.path if up is not None and outcome.served else None,
        "host": up.host if up is not None and outcome.served else None,
        "redirect": f"{redirect.status_code} {redirect.location}" if redirect is not None else None,
    }


def _request_of(p: Probe) -> Request:
    return Request.build(host=p.host, path=p.path, scheme=p.scheme, headers=list(p.headers))


def _affected_hosts(base: Side, head: Side) -> set[str] | None:
    """Hostnames whose routing can differ between the sides; ``None`` means any host.

    Routing for a host depends on the routes whose hostnames match it, the Gateways and
    the references (grants, Services). When only routes with exact hostnames changed, only
    those hosts need probing; anything else (Gateways, grants, wildcard or host-less
    routes) can move every host.
    """
    old = {_identity(m): m for m in base.manifests}
    new = {_identity(m): m for m in head.manifests}
    hosts: set[str] = set()
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        for m in (a, b):
            if m is None:
                continue
            if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
                return None
            names = (m.get("spec") or {}).get("hostnames") or []
            if not names or any(str(h).startswith("*") for h in names):
                return None
            hosts.update(str(h) for h in names)
    return hosts


def _behaviour(base: Side, head: Side, extra: Iterable[Request]) -> tuple[list[BehaviourChange], int]:
    from .router import Router

    hosts = _affected_hosts(base, head)
    extra = list(extra)
    if hosts is not None:
        hosts |= {r.hostname for r in extra}

    def serves(m: Mapping[str, Any]) -> bool:
        """Could this route answer a request for one of ``hosts``?"""
        if hosts is None or m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            return True
        names = (m.get("spec") or {}).get("hostnames") or []
        return not names or any(
            n in hosts or (n.startswith("*.") and any(h.endswith(n[1:]) for h in hosts)) for n in names
        )

    def changed_routes(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if hosts is None:
            return manifests
        return [m for m in manifests if m.get("kind") not in ("HTTPRoute", "GRPCRoute")
                or set((m.get("spec") or {}).get("hostnames") or []) & hosts]

    probes = sorted(set(probes_for(changed_routes(base.manifests))) | set(probes_for(changed_routes(head.manifests))),
                    key=lambda p: (p.scheme, p.host, p.path, p.headers))
    requests = [_request_of(p) for p in probes] + extra
    # Only objects that can take part in routing these hosts are compiled.
    r_old = Router.from_manifests([m for m in base.manifests if serves(m)])
    r_new = Router.from_manifests([m for m in head.manifests if serves(m)])
    out: list[BehaviourChange] = []
    for req in requests:
        a = _summary(r_old.route(req))
        b = _summary(r_new.route(req))
        if a != b:
            what = tuple(k for k in a if a[k] != b[k])
            described = {"method": req.method, "url": f"{req.scheme}://{req.host}{req.target}",
                         "headers": req.headers.as_dict()}
            out.append(BehaviourChange(described, a, b, what))
    out.sort(key=lambda c: (c.request["url"], json.dumps(c.request["headers"], sort_keys=True), c.request["method"]))
    return out, len(requests)


def _note_key(n: Note) -> tuple[str, str, str, str]:
    return (n.code, n.subject, n.field, n.message)


def diff_sides(base: Side, head: Side, extra_requests: Iterable[Request] = ()) -> DiffReport:
    objects = _object_changes(base, head)
    behaviour, count = _behaviour(base, head, extra_requests)
    old_notes = {_note_key(n): n for n in base.notes}
    new_notes = {_note_key(n): n for n in head.notes}
    return DiffReport(
        base=base.label,
        head=head.label,
        objects=tuple(objects),
        behaviour=tuple(behaviour),
        notes_added=tuple(new_notes[k] for k in sorted(set(new_notes) - set(old_notes))),
        notes_removed=tuple(old_notes[k] for k in sorted(set(old_notes) - set(new_notes))),
        requests=count,
    )
