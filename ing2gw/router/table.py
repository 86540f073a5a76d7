"""Compile Gateway API manifests into per-listener match tables.

Input: plain Kubernetes objects (Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, Service,
Namespace, Secret, ...). Output: a :class:`Table` of :class:`~.model.Gateway` values whose
listeners hold every attached route match under its effective hostname, sorted by
precedence (:mod:`.precedence`).

The table assembles what its helpers compile (``docs/case-format.md`` and the spec
summary describe the rules): :mod:`.inventory` holds the input objects and resolves
references, :mod:`.listeners` the listeners and attachment, :mod:`.rules` the rules.

* listeners: HTTP and HTTPS only; conflicted listeners are left out; an HTTPS listener
  needs a resolvable certificate (or it answers nothing);
* ListenerSets the parent Gateway's ``allowedListeners`` admits add their listeners to it
  (a route may name the set as its parent);
* attachment: parentRefs (``sectionName``, ``port``), ``allowedRoutes`` (namespaces
  Same/All/Selector, kinds) and hostname intersection; parentRefs to a Service go to
  :mod:`.mesh` (GAMMA);
* references: backends, mirrors, certificates and ExtensionRefs are resolved, with
  ReferenceGrants for cross-namespace references. A *kind* absent from the input
  altogether is assumed to exist (and every outcome that relies on it says so) unless
  ``strict_refs`` is set.

Objects that are not well-formed (a ``spec`` that is not a mapping, a list where a
mapping belongs) raise :class:`~ing2gw.errors.InputError` naming the file, line and
object. Values the API server would refuse (an unknown filter type, a redirect together
with a rewrite) drop the rule, with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .hostnames import HostIndex
from .inventory import GATEWAY_GROUP, Inventory, Obj, map_of, maps_of, parent_target, seq_of, to_objects
from .listeners import ROUTE_KINDS, ListenerSpec, attach, listener_set_parent, listener_specs
from .mesh import MeshBuilder, MeshTable, is_service_parent
from .model import Gateway, Group, Listener, Match, Rule, new_entry, new_info
from .outcome import AuthFilter
from .precedence import NEWEST, MatchKey
from .rules import DropRule, compile_rule

__all__ = ["GATEWAY_GROUP", "Table", "compile_table"]


@dataclass(frozen=True, slots=True)
class Table:
    gateways: Mapping[str, Gateway]  # "ns/name" -> compiled Gateway
    by_port: Mapping[int, tuple[Gateway, ...]]  # port -> Gateways listening, by name
    notes: tuple[str, ...]  # compile-time findings, sorted
    # (gateway, port, scheme, SNI -- True when the hostname's --) -> hostname -> the matcher's
    # plan for such requests (the Gateways they go to, each one's listener or failure and route
    # groups; filled by the matcher as requests come: all of it is path-independent)
    plans: dict[tuple[str | None, int, str, str | bool | None], dict[str, Any]] = field(
        default_factory=dict, compare=False)
    # port -> the matcher's index of which Gateways on it have listeners and routes for a hostname,
    # and of the Gateways a request for a hostname may go to
    port_hosts: dict[int, Any] = field(default_factory=dict, compare=False)
    mesh: MeshTable = field(default_factory=MeshTable)  # routes with a Service parent (GAMMA)



def protocols_differ(own: Iterable[ListenerSpec], ls: ListenerSpec) -> bool:
    """Would ``ls`` put a second protocol on a port of the Gateway's own listeners?"""
    return any(o.port == ls.port and o.protocol != ls.protocol and {o.protocol, ls.protocol} != {"HTTPS", "TLS"}
               for o in own)


def _named(own: list[ListenerSpec], parent: tuple[str, str], section: str,
           index: dict[tuple[str, str], dict[str, list[ListenerSpec]]]) -> list[ListenerSpec]:
    """The listeners of ``own`` (``parent``'s, in order) named ``section``; ``index`` keeps each
    parent's by name (a Gateway may have thousands of listeners, each route names one)."""
    named = index.get(parent)
    if named is None:
        named = index[parent] = {}
        for ls in own:
            named.setdefault(ls.name, []).append(ls)
    return named.get(section, [])


# (the rule -- kept, so its id stays its own --, the notes of its backends, its ExternalAuth filters)
_Derived = tuple[Rule, tuple[str, ...], tuple[AuthFilter, ...]]


def _derived(rule: Rule, memo: dict[int, _Derived]) -> _Derived:
    """The notes of ``rule``'s backends and its ExternalAuth filters, worked out once per Rule
    (routes' rules compiled alike share one), kept in ``memo`` by its id."""
    found = memo[id(rule)] = (rule, tuple(n for b in rule.backends for n in b.notes),
                              tuple(f.auth for f in rule.filters if f.auth is not None))
    return found


# What a route's parentRef names (see compile_table's ``parents``): the parent's "ns/name" and the listeners the
# route may attach to, or None for them when the parent is neither a Gateway nor a ListenerSet
_Parent = tuple[str, "list[ListenerSpec] | None"]


def _parent(o: Obj, k: int, pref: Mapping[str, Any], listeners: dict[str, list[ListenerSpec]],
            set_listeners: dict[str, list[ListenerSpec]],
            by_name: dict[tuple[str, str], dict[str, list[ListenerSpec]]]) -> _Parent | None:
    """What ``pref`` (route ``o``'s parentRef ``k``) names: None for a Service (:mod:`.mesh`)."""
    if is_service_parent(pref):
        return None
    parent_kind = pref.get("kind") or "Gateway"
    if (pref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP or parent_kind not in ("Gateway", "ListenerSet"):
        return "", None
    gw_ref, section, port = parent_target(o, pref, f"spec.parentRefs[{k}]")
    own = (listeners if parent_kind == "Gateway" else set_listeners).get(gw_ref, [])
    named = own if section is None else _named(own, (parent_kind, gw_ref), section, by_name)
    return gw_ref, [ls for ls in named if port is None or ls.port == port]


def compile_table(
    manifests: Iterable[tuple[Mapping[str, Any], str]], strict_refs: bool = False
) -> Table:
    """Compile ``(object, origin)`` pairs; ``origin`` ("file:line") names it in errors."""
    inv = Inventory(to_objects(manifests), strict_refs)
    notes: set[str] = set()
    listeners: dict[str, list[ListenerSpec]] = {}
    for gw in inv.of_kind(GATEWAY_GROUP, "Gateway"):
        listeners[gw.ref] = listener_specs(gw, inv, notes)
    # ListenerSets the parent Gateway admits: their listeners join the Gateway's (the
    # Gateway's own listener wins a port and hostname both claim); routes name the set.
    set_listeners: dict[str, list[ListenerSpec]] = {}
    set_parent: dict[str, str] = {}
    for lset in inv.of_kind(GATEWAY_GROUP, "ListenerSet"):
        parent_ref = listener_set_parent(lset, inv, notes)
        if parent_ref is None:
            continue
        set_listeners[lset.ref] = listener_specs(lset, inv, notes)
        set_parent[lset.ref] = parent_ref
    routes = [o for kind in ROUTE_KINDS for o in inv.of_kind(GATEWAY_GROUP, kind)]
    mesh = MeshBuilder(inv)
    interned: dict[Match, Match] = {}
    # the interned match of each Match object met (the templates' matches are shared objects: hashing one
    # by its fields, in Python, costs more than finding it by identity); the object kept, so its id stays its own
    interned_by_id: dict[int, tuple[Match, Match]] = {}
    memo: dict[Any, Any] = {}  # compile_rule's (the manifests live while the table is compiled)
    by_name: dict[tuple[str, str], dict[str, list[ListenerSpec]]] = {}  # a parent's listeners by name
    derived: dict[int, _Derived] = {}  # _derived's
    # what a parentRef object names, by its identity and the route's namespace (emitted routes share their
    # parentRef mappings): None for a Service (GAMMA), else whether it names a Gateway or ListenerSet and then
    # its "ns/name" and the listeners it may attach to (by sectionName and port). The mapping is kept, so its
    # id stays its own.
    parents: dict[tuple[int, str], tuple[Mapping[str, Any], _Parent | None]] = {}
    refs: dict[int, tuple[ListenerSpec, str]] = {}  # a listener's Gateway "ns/name", by the listener's id
    for o in routes:
        spec = o.body.get("spec")
        if type(spec) is not dict:
            spec = map_of(o, spec, "spec")
        hostnames = [
            str(h).lower().rstrip(".")
            for h in seq_of(o, spec.get("hostnames"), "spec.hostnames")
        ]
        kind, ref = o.kind, o.ref
        ident = (o.created or NEWEST, ref)  # (the same for each rule)
        compiled: list[tuple[int, Rule, str | None, list[tuple[MatchKey, Match]]]] = []
        for i, rule in enumerate(maps_of(o, spec.get("rules"), "spec.rules")):
            try:
                compiled.append((i, *compile_rule(o, i, rule, inv, False, memo, ident)))
            except DropRule as exc:
                notes.add(f"{kind} {ref}: rule {i} dropped: {exc}")
        for i, rule_obj, _, _ in compiled:
            for n in rule_obj.notes:
                notes.add(f"{kind} {ref} rule {i}: {n}; that match never matches")
        attached: dict[int, tuple[ListenerSpec, list[str | None], list[str]]] = {}
        parent_refs = maps_of(o, spec.get("parentRefs"), "spec.parentRefs")
        for k, pref in enumerate(parent_refs):
            pkey = (id(pref), o.namespace)
            known = parents.get(pkey)
            if known is None:
                known = parents[pkey] = (pref, _parent(o, k, pref, listeners, set_listeners, by_name))
            parent = known[1]
            if parent is None:
                mesh.attach(o, k, pref, notes)
                continue
            gw_ref, candidates = parent
            if candidates is None:
                notes.add(f"{kind} {ref}: parentRef {k} is not a Gateway or ListenerSet; ignored")
                continue
            found = False
            for ls in candidates:
                result = attach(o, ls, hostnames, inv)
                if result is None:
                    continue
                found = True
                attached.setdefault(id(ls), (ls, result[0], result[1]))
            if not found:
                notes.add(f"{kind} {ref}: parentRef {k} ({gw_ref}) attaches to no listener")
        if not compiled:
            continue
        grpc = kind == "GRPCRoute"
        for ls, effective, anotes in attached.values():
            enotes = tuple(filter(None, anotes)) if anotes else ()
            lists = []
            for eff in effective:
                group = ls.routes.setdefault(eff, Group)
                lists.append(group.grpc if grpc else group.http)
            known_ref = refs.get(id(ls))
            if known_ref is None:
                known_ref = refs[id(ls)] = (ls, ls.gateway.ref)
            gateway_ref = known_ref[1]
            listener_name = ls.name
            for i, rule_obj, name, matches in compiled:
                _, bnotes, auths = derived.get(id(rule_obj)) or _derived(rule_obj, derived)
                info = new_info(gateway_ref, listener_name, kind, ref, i, name, rule_obj, auths)
                entry_notes = enotes + bnotes if bnotes else enotes
                for key, match in matches:
                    seen = interned_by_id.get(id(match))
                    if seen is None:
                        seen = interned_by_id[id(match)] = (match, interned.setdefault(match, match))
                    entry = new_entry(key, seen[1], rule_obj, info, rule_obj.simple, entry_notes)
                    if len(lists) == 1:
                        lists[0].append(entry)
                    else:
                        for entries in lists:
                            entries.append(entry)
    gateways: dict[str, Gateway] = {}
    shared: dict[tuple[int, ...], tuple[Match, ...]] = {}  # equal match tuples of the groups, made one
    for gw_ref, own in listeners.items():
        specs = list(own)
        claimed = {(ls.port, ls.hostname) for ls in own}
        for set_ref in sorted(r for r, p in set_parent.items() if p == gw_ref):
            for ls in set_listeners[set_ref]:
                if (ls.port, ls.hostname) in claimed or protocols_differ(own, ls):
                    notes.add(f"ListenerSet {set_ref} listener {ls.name}: conflicts with Gateway {gw_ref}; left out")
                    continue
                claimed.add((ls.port, ls.hostname))
                specs.append(ls)
        ports: dict[int, HostIndex[Listener]] = {}
        protocols: dict[int, str] = {}
        for ls in specs:
            protocols[ls.port] = ls.protocol
            for group in ls.routes.values():
                group.seal(shared)
            listener = Listener(gw_ref, ls.name, ls.port, ls.protocol, ls.hostname, ls.routes,
                                ls.problem, tuple(ls.notes))
            ports.setdefault(ls.port, HostIndex()).put(ls.hostname, listener)
        gateways[gw_ref] = Gateway(gw_ref, ports, protocols)
    by_port: dict[int, list[Gateway]] = {}
    for _, gw_obj in sorted(gateways.items()):
        for port in gw_obj.ports:
            by_port.setdefault(port, []).append(gw_obj)
    return Table(gateways, {p: tuple(g) for p, g in by_port.items()},
                 tuple(sorted(notes | inv.notes)), mesh=mesh.build())

