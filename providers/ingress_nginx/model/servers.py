"""nginx servers built from Ingresses, canary attachments, and server selection by Host.

:func:`build_topology` mirrors the controller's ``createServers``/``getBackendServers``
(semantics doc section 1 and 4): one server per distinct host, created by the oldest
Ingress naming it (which lends the implicit root its ``spec.defaultBackend`` and its
annotations), host-less rules in the catch-all server ``_`` (whose root is the oldest
rule-less Ingress with a default backend, else the controller's 404 backend), server
aliases from the oldest Ingress that sets them, a www/non-www twin server for
``from-to-www-redirect``, and canary Ingresses attached to their primary's upstream. An
Ingress whose paths would produce two identical static locations is refused as the
admission webhook would refuse it (youngest first) and the servers are built again.

:func:`select_server` is nginx's server_name lookup: exact names, then leading and
trailing wildcard aliases (longest first), then regular expressions in configuration order,
then ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ing2gw.making import maker
from ing2gw.notes import Level, Note, Notes
from ing2gw.resources import Ingress, IngressBackend

from .locations import Location, PathEntry, build_locations, merge_entries, with_builtins
from .settings import CanaryPolicy, Policy

__all__ = ["DEFAULT_SERVER", "Alternative", "Server", "Topology", "backend_name", "build_topology", "select_server"]

DEFAULT_SERVER = "_"


def backend_name(namespace: str, backend: IngressBackend | None) -> str | None:
    """``ns/svc:port`` of a Service backend; None for a resource backend or none."""
    if backend is None or backend.service is None:
        return None
    port = backend.port_number if backend.port_number is not None else backend.port_name
    return f"{namespace}/{backend.service}:{port}"


def host_regex(host: str) -> str:
    """The server_name the controller writes for a ``*.`` host (one extra label only)."""
    rest = host[2:].replace(".", "\\.")
    return f"~^(?<subdomain>[\\w-]+)\\.{rest}$"


@dataclass(frozen=True, slots=True)
class Server:
    name: str  # the Ingress host as written, "_" for the catch-all server
    locations: tuple[Location, ...]
    regex_mode: bool = False
    aliases: tuple[str, ...] = ()
    tls: bool = False  # some Ingress with a rule for the host has a TLS section
    owner: str | None = None  # the oldest Ingress naming the host
    redirect_to: str | None = None  # a from-to-www twin: the canonical host
    app_root: str | None = None
    name_pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_SERVER

    @property
    def server_names(self) -> tuple[str, ...]:
        """The ``server_name`` arguments, as nginx.conf gets them."""
        first = host_regex(self.name) if self.name.startswith("*.") else self.name
        return (first, *self.aliases)


@dataclass(frozen=True, slots=True)
class Alternative:
    """A canary upstream attached to a primary upstream."""

    backend: str
    policy: CanaryPolicy
    ingress: str


@dataclass(frozen=True, slots=True)
class Topology:
    servers: tuple[Server, ...]  # sorted by name; "_" last
    alternatives: Mapping[str, Alternative]  # primary backend -> canary
    rejected: Mapping[str, str]  # Ingress ref -> why the controller refuses it
    deleted: frozenset[str] = frozenset()  # ordinary upstreams a canary merge deleted: their locations answer 503

    def server(self, name: str) -> Server | None:
        for s in self.servers:
            if s.name == name:
                return s
        return None


_PATH_ENTRY = maker(PathEntry)  # PathEntry(...), every field given in order (one per Ingress path and host)
_SERVER = maker(Server)  # Server(...), the same (one per host)


def _path_entry(ref: str, pol: Policy, path: str, path_type: str, backend: str) -> PathEntry:
    """The entry of path ``path`` of the Ingress ``ref``."""
    return _PATH_ENTRY(path or "/", "Exact" if path_type == "Exact" else "Prefix", backend, pol, ref, False, ref)


@dataclass(slots=True)
class _Host:
    owner: tuple[Ingress, Policy] | None
    root: PathEntry
    candidates: list[PathEntry] = field(default_factory=list)
    aliases: tuple[str, ...] = ()
    tls: bool = False


def _note(notes: Notes, subject: str, code: str, message: str, level: Level = Level.WARNING) -> None:
    notes.add(Note(code=code, level=level, message=message, subject=subject))


def catch_all_policy(pol: Policy) -> Policy:
    """The annotations the catch-all root keeps: ``createServers`` applies the Ingress's
    annotations to the default server's root but restores its (empty) redirect and rewrite
    settings, so permanent/temporal redirects, from-to-www, rewrite-target, use-regex,
    app-root and the HTTPS-redirect flags do nothing there."""
    return replace(pol, redirect=None, rewrite_target=None, use_regex=False, app_root=None, from_to_www=False,
                   ssl_redirect=False, force_ssl_redirect=False, preserve_trailing_slash=False)


def _build(
    items: Sequence[tuple[Ingress, Policy]], notes: Notes
) -> tuple[Topology, list[tuple[Location, Location]], dict[str, list[PathEntry]]]:
    primaries = [(i, p) for i, p in items if p.canary is None]
    canaries = [(i, p) for i, p in items if p.canary is not None]
    # createUpstreams: the first path referencing a Service port decides whether its upstream is
    # a canary one -- but every spec.defaultBackend re-creates its upstream, so the last one does
    # (and the traffic policy of a canary upstream is that Ingress's)
    first_is_canary: dict[str, bool] = {}
    shaping: dict[str, CanaryPolicy] = {}
    backends: list[str | None] = []  # every Ingress path's backend name, in the order of items (read again below)
    for ing, pol in items:
        namespace, canary = ing.namespace, pol.canary
        default = backend_name(namespace, ing.default_backend)
        if default is not None:
            first_is_canary[default] = canary is not None
            if canary is not None:
                shaping[default] = canary
        for rule in ing.rules:
            for path in rule.paths:
                ref = backend_name(namespace, path.backend)
                backends.append(ref)
                if ref is not None and ref not in first_is_canary:
                    first_is_canary[ref] = canary is not None
                    if canary is not None:
                        shaping[ref] = canary

    catch_all = next(((i, p) for i, p in primaries if i.default_backend is not None and not i.rules
                      and backend_name(i.namespace, i.default_backend) is not None), None)
    default_root = PathEntry(
        "/", "Prefix",
        backend_name(catch_all[0].namespace, catch_all[0].default_backend) if catch_all else None,
        catch_all_policy(catch_all[1]) if catch_all else None,
        catch_all[0].ref if catch_all else None,
        implicit=True,
    )
    hosts: dict[str, _Host] = {DEFAULT_SERVER: _Host(catch_all, default_root)}
    # createServers: one server per host, owned by the oldest primary Ingress naming it
    for ing, pol in primaries:
        for rule in ing.rules:
            name = rule.host or DEFAULT_SERVER
            host = hosts.get(name)
            if host is None:
                root = _PATH_ENTRY("/", "Prefix", backend_name(ing.namespace, ing.default_backend), pol, ing.ref,
                                   True, None)
                host = hosts[name] = _Host((ing, pol), root)
            if name != DEFAULT_SERVER and ing.tls:
                host.tls = True
            if not host.aliases and pol.server_aliases:  # host-less rules give "_" aliases too
                host.aliases = pol.server_aliases
    # getBackendServers: every Ingress's paths, canaries included (a canary path whose
    # upstream is an ordinary one becomes an ordinary location; an unknown host means "_")
    named = iter(backends)
    for ing, pol in items:
        ref = ing.ref  # (read once per Ingress: it is worked out at each read)
        for rule in ing.rules:
            name = rule.host or DEFAULT_SERVER
            host = hosts.get(name)
            if host is None:
                name, host = DEFAULT_SERVER, hosts[DEFAULT_SERVER]
            for path, backend in zip(rule.paths, named, strict=False):  # (paths first: no name taken too many)
                if backend is None:
                    continue  # resource backends are skipped by the controller
                if first_is_canary.get(backend):
                    if pol.canary is None:
                        _note(notes, ing.subject, "NGINX-MODEL-PATH-DROPPED",
                              f"path {path.path or '/'} of host {name} goes to {backend}, whose upstream an older "
                              "canary Ingress created; the controller drops the path")
                    continue
                if pol.canary is not None:
                    _note(notes, ing.subject, "NGINX-MODEL-CANARY-AS-LOCATION",
                          f"canary path {path.path or '/'} goes to {backend}, an ordinary upstream of an older "
                          f"Ingress; the controller serves it as a normal location of server {name}")
                host.candidates.append(_path_entry(ref, pol, path.path, path.path_type, backend))

    real_names = set(hosts)
    servers: list[Server] = []
    conflicts: list[tuple[Location, Location]] = []
    kept_entries: dict[str, list[PathEntry]] = {}
    for name, host in hosts.items():
        kept, ignored = merge_entries(host.root, host.candidates)
        kept_entries[name] = kept
        for entry in ignored:
            _note(notes, f"Ingress {entry.created_by}", "NGINX-MODEL-PATH-SHADOWED",
                  f"{entry.path_type} path {entry.path} of host {name} is already defined by an older Ingress; "
                  "the controller ignores this one", Level.INFO)
        locations, regex_mode, clash = build_locations(kept)
        conflicts.extend(clash)
        for loc in locations:
            if loc.modifier == "~*" and loc.pattern is None and not loc.copy:
                _note(notes, f"Ingress {loc.entry.ingress}", "NGINX-MODEL-REGEX-UNMODELLED",
                      f"location {loc.directive} of host {name} uses regex syntax the model cannot evaluate "
                      f"({loc.regex_error}); requests are routed as if it never matched, with a note")
        if name == DEFAULT_SERVER:
            locations = with_builtins(locations)
        aliases = tuple(a for a in host.aliases if a != name and a not in real_names) if host.aliases else ()
        app_root = _app_root(locations)
        pattern = None
        if name.startswith("*."):
            pattern = re.compile(r"(?P<subdomain>[\w-]+)\." + re.escape(name[2:]), re.ASCII)
        servers.append(_SERVER(name, locations, regex_mode, aliases, host.tls,
                               host.owner[0].ref if host.owner else None, None, app_root, pattern))

    # BuildRedirects: a twin is skipped only for a real host of that name -- an alias of
    # another host does not stop it, and the twin's server block (written first) then wins
    twins: list[Server] = []
    taken = set(real_names)
    for s in servers:
        if s.is_default or not _www_redirected(s.locations):
            continue
        twin = s.name[4:] if s.name.startswith("www.") else "www." + s.name
        if twin not in taken:
            taken.add(twin)
            twins.append(Server(twin, (), tls=s.tls, redirect_to=s.name))
    servers.extend(twins)
    servers.sort(key=lambda s: (s.is_default, s.name))

    alternatives: dict[str, Alternative] = {}

    def attach(ing: Ingress, pol: Policy, primary: str, backend: str) -> None:
        assert pol.canary is not None
        if primary in alternatives:
            if alternatives[primary].ingress != ing.ref:
                _note(notes, ing.subject, "NGINX-MODEL-CANARY-UNUSED",
                      f"{primary} already has a canary ({alternatives[primary].ingress}); only the first is used")
        else:
            # an ordinary upstream taken as an alternative has no traffic policy: it never gets traffic
            idle = CanaryPolicy(None, None, None, None, 0, 100)
            alternatives[primary] = Alternative(backend, shaping.get(backend, idle), ing.ref)

    # mergeAlternativeBackends: a canary upstream none of whose candidate locations take it
    # (for any one of the canary's paths) is deleted -- and with it the canary everywhere
    deleted: dict[str, str] = {}
    for ing, pol in canaries:
        targets: list[tuple[str, str, tuple[str, str] | None]] = []  # (canary upstream, server, path key)
        own_default = backend_name(ing.namespace, ing.default_backend)
        if own_default is not None:
            targets.append((own_default, DEFAULT_SERVER, None))  # joins every upstream of the catch-all server
        for rule in ing.rules:
            for path in rule.paths:
                backend = backend_name(ing.namespace, path.backend)
                if backend is not None:
                    path_key = (path.path or "/", "Exact" if path.path_type == "Exact" else "Prefix")
                    targets.append((backend, rule.host or DEFAULT_SERVER, path_key))
        for backend, name, key in targets:
            if backend in deleted or name not in kept_entries or backend not in first_is_canary:
                continue
            same = merged = False
            for e in kept_entries[name]:
                if e.backend is None:
                    continue  # the controller's default upstream never takes a canary
                same = e.backend == backend
                if same:
                    break
                if not first_is_canary.get(e.backend) and (key is None or (e.path, e.path_type) == key):
                    attach(ing, pol, e.backend, backend)
                    merged = True
            if not same and not merged:
                what = f"host {name} path {key[0]} ({key[1]})" if key else "the catch-all server"
                deleted[backend] = what
                if first_is_canary.get(backend):
                    _note(notes, ing.subject, "NGINX-MODEL-CANARY-UNUSED",
                          f"no primary Ingress serves {what} with another Service, so the controller deletes the "
                          f"canary upstream {backend}: the canary does nothing anywhere")
                else:
                    _note(notes, ing.subject, "NGINX-MODEL-UPSTREAM-DELETED",
                          f"the canary's {backend} is an ordinary upstream and no location of {what} takes it, so "
                          "the controller deletes that upstream: every location proxying to it answers 503")
    alternatives = {p: a for p, a in alternatives.items() if a.backend not in deleted}
    dead = frozenset(deleted)  # a location still naming one (a root on a canary's default backend) answers 503
    return Topology(tuple(servers), alternatives, {}, dead), conflicts, kept_entries


def _app_root(locations: Sequence[Location]) -> str | None:
    """The first ``app-root`` of the locations' annotations."""
    for loc in locations:  # (loops, as below: once per server, where a generator costs twice as much)
        pol = loc.entry.policy
        if pol is not None and pol.app_root:
            return pol.app_root
    return None


def _www_redirected(locations: Sequence[Location]) -> bool:
    """Does a location (not an implicit root) have ``from-to-www-redirect``?"""
    for loc in locations:
        entry = loc.entry
        if entry.policy is not None and entry.policy.from_to_www and not entry.implicit:
            return True
    return False


def build_topology(items: Sequence[tuple[Ingress, Policy]], notes: Notes, validate: bool = True) -> Topology:
    """Servers for the accepted Ingresses (oldest first), refusing the ones that break nginx.conf.

    With ``validate`` false nothing is refused (the servers may then hold duplicate locations:
    the configuration nginx would fail to load, for rendering only)."""
    rejected: dict[str, str] = {}
    while True:
        active = [(i, p) for i, p in items if i.ref not in rejected] if rejected else items
        scratch = Notes()
        topo, conflicts, _ = _build(active, scratch)
        if not conflicts or not validate:
            for note in scratch:
                notes.add(note)
            return Topology(topo.servers, topo.alternatives, rejected, topo.deleted)
        first, second = conflicts[0]
        owners = [r for r in (first.entry.created_by, second.entry.created_by) if r is not None]
        order = {ing.ref: index for index, (ing, _) in enumerate(items)}  # (rare: a clash)
        youngest = max(owners, key=lambda r: order.get(r, -1))
        other = next((r for r in owners if r != youngest), youngest)
        reason = (f"its location {second.directive} duplicates one of {other} on the same server "
                  "(nginx -t fails: duplicate location)")
        rejected[youngest] = reason
        notes.add(Note(code="NGINX-MODEL-INGRESS-REJECTED", level=Level.ERROR, subject=f"Ingress {youngest}",
                       message=reason, instead="Ingress left out, as the admission webhook would refuse it"))


def _leading_wildcard(alias: str, host: str) -> int:
    if alias.startswith("*."):
        suffix = alias[1:]
        return len(suffix) if host.endswith(suffix) and len(host) > len(suffix) else -1
    if alias.startswith("."):
        return len(alias) if host == alias[1:] or host.endswith(alias) else -1
    return -1


def _trailing_wildcard(alias: str, host: str) -> int:
    if alias.endswith(".*"):
        head = alias[:-1]
        return len(head) if host.startswith(head) and len(host) > len(head) else -1
    return -1


@dataclass(frozen=True, slots=True)
class _Index:
    """Lookups nginx's server choice needs, built once per topology (a request must not
    scan every server)."""

    exact: Mapping[str, Server]  # server names (not "*." ones), first server wins
    plain: Mapping[str, Server]  # plain aliases
    wild: tuple[Server, ...]  # servers with "*.x", ".x" or "x.*" aliases
    patterned: tuple[Server, ...]  # servers with a name pattern or "~regex" aliases
    default: Server
    tls_names: frozenset[str]


_INDEXES: dict[int, tuple[Topology, _Index]] = {}


def _index(topology: Topology) -> _Index:
    hit = _INDEXES.get(id(topology))
    if hit is not None and hit[0] is topology:
        return hit[1]
    servers = [s for s in topology.servers if not s.is_default]
    # nginx.conf order: the www twins first, then the servers by host name (bytes, "_" included);
    # a name two servers claim belongs to the first
    in_conf_order = sorted(topology.servers, key=lambda s: (s.redirect_to is None, s.name.encode()))
    exact: dict[str, Server] = {}
    plain: dict[str, Server] = {}
    for s in servers:
        if not s.name.startswith("*."):
            exact.setdefault(s.name, s)
    for s in in_conf_order:
        for a in s.aliases:
            if not a.startswith(("~", ".")) and "*" not in a:
                plain.setdefault(a.lower(), s)
    default = topology.server(DEFAULT_SERVER)
    assert default is not None
    index = _Index(
        exact=exact,
        plain=plain,
        wild=tuple(s for s in in_conf_order if any(a.startswith(("*.", ".")) or a.endswith(".*") for a in s.aliases)),
        patterned=tuple(s for s in in_conf_order
                        if s.name_pattern is not None or any(a.startswith("~") for a in s.aliases)),
        default=default,
        tls_names=frozenset(s.name for s in servers if s.tls and s.redirect_to is None),
    )
    if len(_INDEXES) > 64:
        _INDEXES.clear()
    _INDEXES[id(topology)] = (topology, index)
    return index


def has_certificate(topology: Topology, host: str) -> bool:
    """Does the host (or its ``*.parent``) have a TLS server?"""
    names = _index(topology).tls_names
    parent = host.partition(".")[2]
    return host in names or (bool(parent) and f"*.{parent}" in names)


def select_server(topology: Topology, hostname: str) -> Server:
    """The server nginx picks for a Host (lower-case, without port)."""
    host = hostname.lower().rstrip(".")
    index = _index(topology)
    hit = index.exact.get(host) or index.plain.get(host)
    if hit is not None:
        return hit
    for scorer in (_leading_wildcard, _trailing_wildcard):
        best: tuple[int, Server] | None = None
        for s in index.wild:
            for a in s.aliases:
                score = scorer(a.lower(), host)
                if score >= 0 and (best is None or score > best[0]):
                    best = (score, s)
        if best is not None:
            return best[1]
    for s in index.patterned:
        if s.name_pattern is not None and s.name_pattern.fullmatch(host):
            return s
        for a in s.aliases:
            if a.startswith("~"):
                try:
                    if re.search(a[1:], host):
                        return s
                except re.error:
                    continue
    return index.default
