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
from .listeners import ROUTE_KINDS, ListenerSpec, admits, effective_hostnames, listener_set_parent, listener_specs
from .mesh import MeshBuilder, MeshTable, is_service_parent
from .model import Gateway, Group, InfoParts, Listener, Match, Rule, info_parts, new_entry, new_matched, new_rule_info
from .outcome import AuthFilter
from .precedence import NEWEST, Head, MatchKey
from .rules import DropRule, Template, compile_template, rule_name

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
    # id of a tuple of matches -> (it, which of them takes a path: the matcher's memo, by path -- None when
    # one reads more than the path)
    match_memos: dict[int, tuple[tuple[Match, ...], dict[str, int] | None]] = field(default_factory=dict, compare=False)
    mesh: MeshTable = field(default_factory=MeshTable)  # routes with a Service parent (GAMMA)
    # the matcher's last plan found, as [(hostname, scheme, SNI, port, gateway, the plan)]
    last: list[tuple[Any, ...]] = field(default_factory=lambda: [(None,) * 6], compare=False)



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


_MALFORMED: Any = ("malformed",)  # (a value no key part equals)


def _template_key(rule: Mapping[str, Any]) -> Any:
    """The key of a rule's template among its route kind's and namespace's (see compile_table):
    its filter, backendRef and match mappings by identity (most lists hold one: its id alone),
    its timeouts, retry and sessionPersistence by value; None (not kept) for a malformed rule,
    whose compilation says what is wrong."""
    get = rule.get
    filters, refs, matches = get("filters"), get("backendRefs"), get("matches")
    if ((filters is not None and type(filters) is not list) or (refs is not None and type(refs) is not list)
            or (matches is not None and type(matches) is not list)):
        return None
    limits = None
    timeouts, retry, persistence = get("timeouts"), get("retry"), get("sessionPersistence")
    if timeouts is not None or retry is not None or persistence is not None:  # (most rules: none)
        limits = (_by_value(timeouts), _by_value(retry), _by_value(persistence))
        if _MALFORMED in limits:
            return None
    return (None if filters is None else id(filters[0]) if len(filters) == 1 else tuple(map(id, filters)),
            None if refs is None else id(refs[0]) if len(refs) == 1 else tuple(map(id, refs)),
            None if matches is None else id(matches[0]) if len(matches) == 1 else tuple(map(id, matches)),
            limits)


def _by_value(value: Any) -> Any:
    """A timeouts, retry or sessionPersistence mapping in a template's key (see compile_table): by value, strings,
    else the identity of the value (kept with the rule); None when absent; :data:`_MALFORMED` when not a mapping."""
    if value is None:
        return None
    if type(value) is not dict:
        return _MALFORMED
    return tuple((k, v if type(v) is str else id(v)) for k, v in value.items())


# What the table keeps of a rule template (rules compiled alike share one): the template
# -- kept, so its id stays its own --, its Rule, its matches (interned: equal matches are one object) with the first
# fields of their keys, the notes of its backends and its ExternalAuth filters
_Derived = tuple[Template, Rule, tuple[tuple[Head, Match], ...], tuple[str, ...], tuple[AuthFilter, ...], InfoParts]


def _derived(template: Template, interned: dict[Match, Match], memo: dict[int, _Derived]) -> _Derived:
    """What the table keeps of ``template``, worked out once (``memo`` keeps it by the template's id)."""
    rule = template[0]
    found = memo[id(template)] = (
        template, rule, tuple((head, interned.setdefault(match, match)) for head, match in template[1]),
        tuple(n for b in rule.backends for n in b.notes), tuple(f.auth for f in rule.filters if f.auth is not None),
        info_parts(rule))
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
    memo: dict[Any, Any] = {}  # compile_template's (the manifests live while the table is compiled)
    # The templates of the rules (what each compiles to apart from its route, index and name), by the route's kind
    # and namespace, then by the identity of the rule's filter, backendRef and match mappings (the lists' items;
    # most lists hold one: its id alone, no tuple) and the values of its timeouts, retry and session persistence:
    # emitted routes share those mappings (one dict for every equal match, filter list or backendRef), so
    # thousands of rules compile to one template (one Rule). Each template keeps its rule, so no other mapping
    # takes the ids of its key; only what compiled without error is kept (a malformed rule fails where it first
    # appears, as before).
    templates: dict[tuple[str, str], dict[Any, tuple[Mapping[str, Any], _Derived]]] = {}
    by_name: dict[tuple[str, str], dict[str, list[ListenerSpec]]] = {}  # a parent's listeners by name
    derived: dict[int, _Derived] = {}  # _derived's
    # what a parentRef object names, by its identity and the route's namespace (emitted routes share their
    # parentRef mappings): None for a Service (GAMMA), else whether it names a Gateway or ListenerSet and then
    # its "ns/name" and the listeners it may attach to (by sectionName and port). The mapping is kept, so its
    # id stays its own.
    parents: dict[tuple[int, str], tuple[Mapping[str, Any], _Parent | None]] = {}
    refs: dict[int, tuple[ListenerSpec, str]] = {}  # a listener's Gateway "ns/name", by the listener's id
    # whether a listener takes the routes of a kind and namespace (admits: the same for each such route), by the
    # listener's id, the kind and the namespace: None if not, else the notes of attaching there, as entries hold them
    admitted: dict[tuple[int, str, str], tuple[str, ...] | None] = {}
    for o in routes:
        spec = o.body.get("spec")
        if type(spec) is not dict:
            spec = map_of(o, spec, "spec")
        names = spec.get("hostnames")
        if type(names) is list and len(names) == 1 and type(names[0]) is str:  # (most routes: one hostname)
            hostnames = [names[0].lower().rstrip(".")]
        else:
            hostnames = [str(h).lower().rstrip(".") for h in seq_of(o, names, "spec.hostnames")]
        kind, ref = o.kind, o.ref
        created = o.created or NEWEST  # (the same for each rule)
        # each rule kept: its index, what the table keeps of its template, its name, its matches with their keys
        compiled: list[tuple[int, _Derived, str | None, tuple[tuple[MatchKey, Match], ...]]] = []
        scope = (kind, o.namespace)
        kept = templates.get(scope)
        if kept is None:
            kept = templates[scope] = {}
        for i, rule in enumerate(maps_of(o, spec.get("rules"), "spec.rules")):
            key = _template_key(rule)
            known_template = None if key is None else kept.get(key)
            if known_template is not None:
                known_rule = known_template[1]
            else:
                try:
                    template = compile_template(o, i, rule, inv, False, memo)
                except DropRule as exc:
                    notes.add(f"{kind} {ref}: rule {i} dropped: {exc}")
                    continue
                known_rule = derived.get(id(template)) or _derived(template, interned, derived)
                if key is not None:
                    kept[key] = (rule, known_rule)
            name = rule.get("name")
            if name is not None and type(name) is not str:
                name = rule_name(o, i, rule)
            heads = known_rule[2]
            if len(heads) == 1:  # (most rules: no comprehension to run)
                head, match = heads[0]
                compiled.append((i, known_rule, name, ((head + (created, ref, i, 0), match),)))  # (a key each)
            else:
                compiled.append((i, known_rule, name, tuple((head + (created, ref, i, j), match)
                                                            for j, (head, match) in enumerate(heads))))
            for n in known_rule[1].notes:
                notes.add(f"{kind} {ref} rule {i}: {n}; that match never matches")
        attached: dict[int, tuple[ListenerSpec, list[str | None], tuple[str, ...]]] = {}
        namespace = o.namespace
        for k, pref in enumerate(maps_of(o, spec.get("parentRefs"), "spec.parentRefs")):
            pkey = (id(pref), namespace)
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
                akey = (id(ls), kind, namespace)
                if akey in admitted:
                    enotes = admitted[akey]
                else:
                    anotes = admits(kind, namespace, ls, inv)
                    enotes = admitted[akey] = None if anotes is None else tuple(filter(None, anotes))
                if enotes is None:
                    continue
                effective = effective_hostnames(ls.hostname, hostnames)
                if not effective:
                    continue
                found = True
                attached.setdefault(id(ls), (ls, effective, enotes))
            if not found:
                notes.add(f"{kind} {ref}: parentRef {k} ({gw_ref}) attaches to no listener")
        if not compiled:
            continue
        grpc = kind == "GRPCRoute"
        for ls, effective, enotes in attached.values():
            lists = []
            index = ls.routes
            for eff in effective:
                group = index.setdefault(eff, Group)
                lists.append(group.grpc if grpc else group.http)
            known_ref = refs.get(id(ls))
            if known_ref is None:
                known_ref = refs[id(ls)] = (ls, ls.gateway.ref)
            gateway_ref = known_ref[1]
            listener_name = ls.name
            for i, (_, rule_obj, _, bnotes, auths, parts), name, keyed in compiled:
                info = new_rule_info(new_matched(gateway_ref, listener_name, kind, ref, i, name), *parts, auths)
                entry_notes = enotes + bnotes if bnotes else enotes
                simple = rule_obj.simple
                for key, match in keyed:
                    entry = new_entry(key, match, rule_obj, info, simple, entry_notes)
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

