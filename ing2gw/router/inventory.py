"""The input objects of a router table: each manifest as an :class:`Obj` (group, kind,
namespace, name, body, origin), an :class:`Inventory` that resolves references between them
(with ReferenceGrants, and the "a kind absent from the input is assumed" rule), and typed
accessors that turn a malformed field into a one-line :class:`~ing2gw.errors.InputError`
naming the file, line and object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ing2gw.errors import InputError
from ing2gw.making import maker

__all__ = ["CLUSTER_SCOPED", "GATEWAY_GROUP", "Inventory", "Obj", "int_of", "map_of",
           "maps_of", "parent_target", "seq_of", "str_of", "to_objects"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
CLUSTER_SCOPED = frozenset({"Namespace", "GatewayClass", "ClusterRole", "Node"})


@dataclass(frozen=True, slots=True)
class Obj:
    group: str
    kind: str
    namespace: str
    name: str
    body: Mapping[str, Any]
    origin: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def created(self) -> str:
        meta = self.body.get("metadata")
        ts = meta.get("creationTimestamp") if type(meta) is dict or isinstance(meta, Mapping) else None
        return str(ts) if ts is not None else ""

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.origin}: {self.kind} {self.ref}: {message}")


# -- small typed accessors that turn malformed input into one-line errors ------------------

def map_of(o: Obj, value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is dict:  # the common case, without the abstract-class check
        return value
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise o.fail(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def seq_of(o: Obj, value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise o.fail(f"{where} must be a list, not {type(value).__name__}")
    return value


def maps_of(o: Obj, value: Any, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if type(value) is list:
        for item in value:
            if type(item) is not dict:
                break
        else:
            return value  # (as it is: no item's place to name, and callers only read it)
    return [map_of(o, item, f"{where}[{i}]") for i, item in enumerate(seq_of(o, value, where))]


def str_of(o: Obj, value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise o.fail(f"{where} must be a string, not {type(value).__name__}")
    return value


def int_of(o: Obj, value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise o.fail(f"{where} must be an integer, not {type(value).__name__}")
    return value


# -- the inventory of input objects -------------------------------------------------------

# A ReferenceGrant's entries (Inventory._entries): froms, tos, and the tos as sets (named, unnamed)
_GrantEntries = tuple[list[tuple[Any, Any, Any]], list[tuple[Any, Any, Any]],
                      "tuple[set[tuple[Any, Any, Any]], set[tuple[Any, Any]]] | None"]


_UNINDEXED: Any = object()  # (Inventory._grants_from: a grant's entries are read one by one)


class Inventory:
    def __init__(self, objects: list[Obj], strict: bool) -> None:
        self.strict = strict
        self.by_key: dict[tuple[str, str, str, str], Obj] = {}
        self.kinds: set[tuple[str, str]] = set()
        self.notes: set[str] = set()
        for o in objects:
            key = (o.group, o.kind, o.namespace, o.name)
            first = self.by_key.get(key)
            if first is not None:
                if first.body != o.body:
                    raise InputError(
                        f"{o.origin}: {o.kind} {o.ref} is defined twice, differently "
                        f"(first at {first.origin})"
                    )
                continue
            self.by_key[key] = o
            self.kinds.add((o.group, o.kind))
        self._labels: dict[str, tuple[Mapping[str, str] | None, str | None]] = {}
        self.grants: dict[str, list[Obj]] = {}
        # a grant's from and to entries as plain tuples, read at its first use (a route or
        # listener per reference asks; a namespace's grant may list many objects), with its
        # to entries indexed (see _entries)
        self._grant_entries: dict[tuple[str, str], _GrantEntries] = {}
        # what the grants of a namespace let objects of a group, kind and namespace use (see _grants_from), by
        # (from group, kind, namespace, to namespace): a route or listener per reference asks
        self._granting: dict[tuple[str, str, str, str], Any] = {}
        self._by_kind: dict[tuple[str, str], list[Obj]] = {}  # (group, kind) -> objects, by namespace/name
        for (group, kind, ns, _), o in sorted(self.by_key.items()):
            self._by_kind.setdefault((group, kind), []).append(o)
            if group == GATEWAY_GROUP and kind == "ReferenceGrant":
                self.grants.setdefault(ns, []).append(o)

    def of_kind(self, group: str, kind: str) -> list[Obj]:
        """The objects of a kind, by namespace and name."""
        return list(self._by_kind.get((group, kind), ()))

    def resolve(self, group: str, kind: str, namespace: str, name: str) -> tuple[bool, str | None]:
        """``(exists, assumption note)`` for a referenced object."""
        if (group, kind, namespace, name) in self.by_key:
            return True, None
        if (group, kind) not in self.kinds and not self.strict:
            what = f"{group}/{kind}" if group else kind
            note = f"assumed {what} {namespace}/{name} exists (no {what} objects in the input)"
            self.notes.add(f"no {what} objects in the input: referenced ones are assumed to exist")
            return True, note
        return False, None

    def namespace_labels(self, namespace: str) -> tuple[Mapping[str, str] | None, str | None]:
        """Labels of a Namespace; ``(None, note)`` when Namespaces are absent and assumed
        (worked out once per namespace: every route of it asks)."""
        found = self._labels.get(namespace)
        if found is None:
            found = self._labels[namespace] = self._namespace_labels(namespace)
        return found

    def _namespace_labels(self, namespace: str) -> tuple[Mapping[str, str] | None, str | None]:
        o = self.by_key.get(("", "Namespace", "", namespace))
        if o is not None:
            meta = map_of(o, o.body.get("metadata"), "metadata")
            labels = map_of(o, meta.get("labels"), "metadata.labels")
            return {str(k): str(v) for k, v in labels.items()}, None
        if ("", "Namespace") not in self.kinds and not self.strict:
            self.notes.add(
                "no Namespace objects in the input: allowedRoutes namespace selectors are "
                "assumed to select every route namespace"
            )
            return None, f"assumed Namespace {namespace} matches the listener's selector"
        return {}, None

    def granted(
        self, from_group: str, from_kind: str, from_ns: str,
        to_group: str, to_kind: str, to_ns: str, to_name: str,
    ) -> bool:
        key = (from_group, from_kind, from_ns, to_ns)
        found = self._granting.get(key)
        if found is None:
            found = self._granting[key] = self._grants_from(from_group, from_kind, from_ns, to_ns)
        if found is not _UNINDEXED:
            return (to_group, to_kind, to_name) in found[0] or (to_group, to_kind) in found[1]
        for grant in self.grants.get(to_ns, ()):
            froms, tos, sets = self._entries(grant)
            if (from_group, from_kind, from_ns) not in froms:  # (tuples compared item by item, in C)
                continue
            if sets is not None:
                if (to_group, to_kind, to_name) in sets[0] or (to_group, to_kind) in sets[1]:
                    return True
            elif any(g == to_group and k == to_kind and (not n or n == to_name) for g, k, n in tos):
                return True
        return False

    def _grants_from(self, from_group: str, from_kind: str, from_ns: str,
                     to_ns: str) -> tuple[set[tuple[Any, Any, Any]], set[tuple[Any, Any]]] | Any:
        """What the ReferenceGrants of ``to_ns`` let objects of ``from_ns`` (of that group and kind) use,
        together: the ``(group, kind, name)`` of the objects they name and the ``(group, kind)`` of those
        naming none (every object of the kind); :data:`_UNINDEXED` when an entry cannot go in a set
        (``granted`` reads the grants one by one then)."""
        named: set[tuple[Any, Any, Any]] = set()
        kinds: set[tuple[Any, Any]] = set()
        for grant in self.grants.get(to_ns, ()):
            froms, _, sets = self._entries(grant)
            if (from_group, from_kind, from_ns) not in froms:
                continue
            if sets is None:
                return _UNINDEXED
            named |= sets[0]
            kinds |= sets[1]
        return named, kinds

    def _entries(self, grant: Obj) -> _GrantEntries:
        """A ReferenceGrant's ``(group, kind, namespace)`` froms and ``(group, kind, name)`` tos,
        and the tos as sets: those naming an object, and the ``(group, kind)`` of those naming
        none (every object of the kind); None when a value cannot go in a set (the tos are read
        one by one then)."""
        found = self._grant_entries.get((grant.namespace, grant.name))
        if found is None:
            spec = map_of(grant, grant.body.get("spec"), "spec")
            froms = maps_of(grant, spec.get("from"), "spec.from")
            tos = [(t.get("group") or "", t.get("kind"), t.get("name"))
                   for t in maps_of(grant, spec.get("to"), "spec.to")]
            sets: tuple[set[tuple[Any, Any, Any]], set[tuple[Any, Any]]] | None
            try:
                sets = {(g, k, n) for g, k, n in tos if n}, {(g, k) for g, k, n in tos if not n}
            except TypeError:  # (an unhashable value in a malformed entry)
                sets = None
            found = ([(f.get("group") or "", f.get("kind"), f.get("namespace")) for f in froms], tos, sets)
            self._grant_entries[(grant.namespace, grant.name)] = found
        return found


_new_obj = maker(Obj)  # (one per input object: Obj(...) without its frozen __init__)


def to_objects(manifests: Iterable[tuple[Mapping[str, Any], str]]) -> list[Obj]:
    objects: list[Obj] = []
    groups: dict[str, str] = {}  # apiVersion -> its group (the input has a few)
    for body, origin in manifests:
        api, kind, meta = body.get("apiVersion"), body.get("kind"), body.get("metadata")
        if not isinstance(api, str) or not isinstance(kind, str):
            raise InputError(f"{origin}: object without apiVersion and kind")
        if not (type(meta) is dict or isinstance(meta, Mapping)) or not isinstance(meta.get("name"), str):
            raise InputError(f"{origin}: {kind} without metadata.name")
        ns = meta.get("namespace")
        if ns is not None and not isinstance(ns, str):
            raise InputError(f"{origin}: {kind} {meta['name']}: metadata.namespace must be a string")
        group = groups.get(api)
        if group is None:
            group = groups[api] = api.split("/", 1)[0] if "/" in api else ""
        objects.append(_new_obj(group, kind, "" if kind in CLUSTER_SCOPED else (ns or "default"), meta["name"], body,
                                origin))
    return objects


def parent_target(o: Obj, pref: Mapping[str, Any], where: str) -> tuple[str, str | None, int | None]:
    """``("ns/name", sectionName, port)`` of a route's Gateway or ListenerSet parentRef at
    ``where`` (the namespace defaults to the route's)."""
    ns, name, section, port = pref.get("namespace"), pref.get("name"), pref.get("sectionName"), pref.get("port")
    if ((ns is None or type(ns) is str) and (name is None or type(name) is str)
            and (section is None or type(section) is str) and (port is None or type(port) is int)):
        return f"{ns or o.namespace}/{name or ''}", section, port  # well-formed: nothing to name
    ref = f"{str_of(o, pref.get('namespace'), where + '.namespace') or o.namespace}/" \
          f"{str_of(o, pref.get('name'), where + '.name') or ''}"
    return ref, str_of(o, pref.get("sectionName"), f"{where}.sectionName"), int_of(o, pref.get("port"), f"{where}.port")
