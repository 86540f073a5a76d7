"""The ALB the controller builds for one IngressGroup: listeners, their ordered rules and
default actions -- the configuration both the model and the translator read.

Per listener (the union of the members' ``listen-ports``; HTTP:80 by default, HTTPS:443 when
a certificate ARN is set), rules are numbered in member order, then Ingress rule order, then
path order (:func:`~.paths.sort_paths`). A rule's conditions: the ``conditions.<name>`` of its
backend (``http-header``, ``http-request-method``, ``query-string``, ``source-ip``), then
``host-header`` (the rule host ORed with the condition's hosts), then ``path-pattern`` (the
path's patterns ORed with the condition's); no condition at all becomes ``path-pattern /*``.
The action: ``actions.<name>`` for a ``use-annotation`` port, else a forward to the Service.

``ssl-redirect`` (annotation of any member, or IngressClassParams ``sslRedirectPort``) turns
every HTTP listener's default action into a 301 to HTTPS on that port and drops its rules.
The unmatched default is ``fixed-response 404`` unless a member has ``spec.defaultBackend``.
Finally the optimizer removes redirects that would redirect to the same URL, and every rule
after an unconditional redirect that covers it, as the controller does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ing2gw.notes import Fidelity, Level, Note, Notes, Scope
from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .actions import (
    Action,
    Condition,
    Redirect,
    Transform,
)
from .annotations import PREFIX
from .backend import AuthConfig, enhanced_backend
from .groups import Group, Member
from .paths import path_values, pattern_matches, sort_paths

__all__ = ["Alb", "AlbListener", "AlbRule", "build_alb", "covers", "is_infinite_redirect", "is_superset",
           "member_certificates", "overlaps", "optimize", "rule_conditions", "ssl_redirect_port"]

@dataclass(frozen=True, slots=True)
class AlbRule:
    """One listener rule, with the Ingress path it came from."""

    conditions: tuple[Condition, ...]
    action: Action
    transforms: tuple[Transform, ...]
    ingress: Ingress
    host: str  # the Ingress rule's host ("" none)
    path: str  # the Ingress path as written ("/" when empty)
    field: str  # spec.rules[i].http.paths[j]
    name: str = ""  # the backend service name (actions.<name> / conditions.<name>)
    auth: AuthConfig = AuthConfig()

    @property
    def scope(self) -> Scope:
        return ((self.host, self.path),)

    def condition(self, fld: str) -> Condition | None:
        return next((c for c in self.conditions if c.field == fld), None)


@dataclass(frozen=True, slots=True)
class AlbListener:
    protocol: str  # HTTP | HTTPS
    port: int
    rules: tuple[AlbRule, ...]
    default: Action | None  # None: fixed-response 404
    default_ingress: Ingress | None = None  # whose spec.defaultBackend the default forwards to
    certificates: tuple[str, ...] = ()  # ACM ARNs (the first is the default)
    tls_hosts: tuple[str, ...] = ()  # hosts whose certificates ACM discovery would find
    ssl_redirect: int | None = None
    inbound_cidrs: tuple[str, ...] = ()  # empty (and no prefix lists): open to every client
    prefix_lists: tuple[str, ...] = ()  # managed prefix lists admitted besides the CIDRs

    @property
    def name(self) -> str:
        return f"{self.protocol.lower()}-{self.port}"


@dataclass(frozen=True, slots=True)
class Alb:
    key: str
    explicit: bool
    members: tuple[Member, ...]
    listeners: tuple[AlbListener, ...]


def _note(notes: Notes, ing: Ingress, code: str, level: Level, message: str, fld: str, *, instead: str = "",
          fidelity: Fidelity | None = None, aspects: tuple[str, ...] = (), scope: Scope = ()) -> None:
    notes.add(Note(code=f"ALB-{code}", level=level, message=message, subject=ing.subject, field=fld,
                   fidelity=fidelity, instead=instead, origin=ing.origin, aspects=frozenset(aspects), scope=scope))


def _params_list(params: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = params.get(key)
    return tuple(str(x) for x in raw) if isinstance(raw, list) else ()


def member_certificates(m: Member) -> tuple[str, ...]:
    """The default certificate first, then the others once each (the default may repeat among them)."""
    arns = _params_list(m.params, "certificateArn") or tuple(m.annotations.get("certificate-arn") or ())
    return arns[:1] + tuple(dict.fromkeys(arns[1:]))


def _listen_ports(m: Member) -> tuple[tuple[str, int], ...]:
    ports = m.annotations.get("listen-ports")
    if ports:
        return tuple(ports)
    listeners = m.params.get("listeners")
    if isinstance(listeners, list) and listeners:
        return tuple((str(x.get("protocol") or "HTTP"), int(x.get("port") or 80))
                     for x in listeners if isinstance(x, Mapping))
    return (("HTTPS", 443),) if member_certificates(m) else (("HTTP", 80),)


def ssl_redirect_port(members: list[Member], protocols: Mapping[int, str]) -> int | None:
    """The group's ssl-redirect port (IngressClassParams sslRedirectPort wins over the
    annotation); ``ValueError`` with the controller's message when it rejects the group."""
    found: list[int] = []
    for m in members:
        raw = m.params.get("sslRedirectPort")
        port = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else m.annotations.get("ssl-redirect")
        if port is not None and int(port) not in found:
            found.append(int(port))
    if len(found) > 1:
        raise ValueError(f"conflicting sslRedirect port: [{' '.join(str(p) for p in sorted(found))}]")
    if not found:
        return None
    port = found[0]
    if port not in protocols:
        raise ValueError(f"listener does not exist for SSLRedirect port: {port}")
    if protocols[port] != "HTTPS":
        raise ValueError(f"listener protocol non-SSL for SSLRedirect port: {port}")
    return port


def _inbound(members: list[Member], port: int, ports: dict[str, tuple[tuple[str, int], ...]]
             ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CIDRs and managed prefix lists admitted on ``port``: the union of what its members set
    (IngressClassParams wins over the annotations); both empty when none sets any (open)."""
    cidrs: list[str] = []
    lists: list[str] = []
    for m in members:
        if port not in (p for _, p in ports[m.ingress.ref]):
            continue
        mine = _params_list(m.params, "inboundCIDRs") or tuple(str(n) for n in m.annotations.get("inbound-cidrs")
                                                                  or ())
        cidrs += [c for c in mine if c not in cidrs]
        pls = (_params_list(m.params, "prefixListsIDs") or _params_list(m.params, "PrefixListsIDs")
               or _params_list(m.params, "prefixListsIDsLegacy")
               or tuple(m.annotations.get("security-group-prefix-lists") or ()))
        lists += [p for p in pls if p not in lists]
    return tuple(cidrs), tuple(lists)


def rule_conditions(host: str, path: IngressPath | None, extra: tuple[Condition, ...], use_regex: bool
                    ) -> tuple[Condition, ...]:
    """The conditions of one rule, in the controller's order (``ValueError`` as it fails)."""
    hosts = [host] if host else []
    host_regex: list[str] = []
    values: list[str] = []
    regex: list[str] = []
    if path is not None and path.path:
        pv = path_values(path.path, path.path_type, use_regex)
        values += pv.values
        regex += pv.regex_values
    out: list[Condition] = []
    for c in extra:
        if c.field == "host-header":
            hosts += c.values
            host_regex += c.regex_values
        elif c.field == "path-pattern":
            values += c.values
            regex += c.regex_values
        else:
            out.append(c)
    if hosts and host_regex:
        raise ValueError(f"host condition must specify exactly one of Values and RegexValues, got both Values "
                         f"[{' '.join(hosts)}] and RegexValues [{' '.join(host_regex)}]")
    if values and regex:
        raise ValueError(f"path condition must specify exactly one of Values and RegexValues, got both Values "
                         f"[{' '.join(values)}] and RegexValues [{' '.join(regex)}]")
    if hosts or host_regex:
        out.append(Condition("host-header", tuple(hosts), tuple(host_regex)))
    if values or regex:
        out.append(Condition("path-pattern", tuple(values), tuple(regex)))
    if not out:
        out.append(Condition("path-pattern", ("/*",)))
    return tuple(out)


def _member_rules(m: Member, resources: ResourceSet, notes: Notes) -> list[AlbRule]:
    ing = m.ingress
    use_regex = bool(m.annotations.get("use-regex-path-match"))
    out: list[AlbRule] = []
    for rule in ing.rules:
        for path in sort_paths(rule.paths):
            scope: Scope = ((rule.host, path.path or "/"),)
            eb = enhanced_backend(ing, path.backend, resources, notes, path.field + ".backend", scope)
            if eb is None:
                continue
            try:
                conditions = rule_conditions(rule.host, path, eb.conditions, use_regex)
            except ValueError as exc:
                _note(notes, ing, "PATH-INVALID", Level.ERROR, str(exc), path.field,
                      instead="path skipped (the controller fails the whole group)", aspects=("status", "backend"),
                      scope=scope)
                continue
            out.append(AlbRule(conditions, eb.action, eb.transforms, ing, rule.host, path.path or "/", path.field,
                               path.backend.service or "", eb.auth))
    return out


def _uncovered(redirect: AlbRule, later: AlbRule) -> bool:
    return not is_superset(redirect.conditions, later.conditions)


def is_superset(lhs: tuple[Condition, ...], rhs: tuple[Condition, ...]) -> bool:
    """Every request ``rhs`` matches, ``lhs`` matches too (the controller's literal test)."""
    for c in lhs:
        other = [x for x in rhs if x.field == c.field]
        if c.field in ("host-header", "path-pattern") and not c.regex_values:
            if c.field == "path-pattern" and "/*" in c.values:
                continue
            if not other or other[0].regex_values or not set(other[0].values) <= set(c.values):
                return False
        elif c not in other:
            return False
    return True


def is_infinite_redirect(rule: AlbRule, port: int, protocol: str) -> bool:
    """A redirect that sends a request to the very URL it came from."""
    r = rule.action.redirect
    if rule.action.type != "redirect" or r is None:
        return False
    hosts = rule.condition("host-header")
    paths = rule.condition("path-pattern")
    if paths is not None and paths.regex_values:
        return False
    same_host = r.host == "#{host}" or (hosts is not None and r.host in hosts.values)
    same_path = r.path == "/#{path}" or (paths is not None and r.path in paths.values)
    same_port = r.port in ("#{port}", str(port))
    same_proto = r.protocol in ("#{protocol}", protocol)
    return same_host and same_path and same_port and same_proto and r.query == "#{query}"


def optimize(rules: list[AlbRule], port: int, protocol: str) -> tuple[list[AlbRule], list[tuple[AlbRule, str]]]:
    """The rules the controller keeps, and those it drops with why."""
    kept: list[AlbRule] = []
    dropped: list[tuple[AlbRule, str]] = []
    for rule in rules:
        if is_infinite_redirect(rule, port, protocol):
            dropped.append((rule, "a redirect to the same URL"))
            continue
        if any(k.action.type == "redirect" and not _uncovered(k, rule) for k in kept):
            dropped.append((rule, "after a redirect that covers every request it matches"))
            continue
        kept.append(rule)
    return kept, dropped


def build_alb(group: Group, resources: ResourceSet, notes: Notes) -> Alb:
    members = group.members
    ports = {m.ingress.ref: _listen_ports(m) for m in members}
    protocols: dict[int, str] = {}
    for m in members:
        for proto, port in ports[m.ingress.ref]:
            if protocols.setdefault(port, proto) != proto:
                _note(notes, m.ingress, "LISTEN-PORT-CONFLICT", Level.ERROR,
                      f"port {port} is {protocols[port]} for another member of group {group.key}",
                      f"{PREFIX}/listen-ports", instead=f"kept {protocols[port]}", aspects=("status", "tls"))
    try:
        redirect_port = ssl_redirect_port(members, protocols)
    except ValueError as exc:
        _note(notes, members[0].ingress, "SSL-REDIRECT-INVALID", Level.ERROR, str(exc), f"{PREFIX}/ssl-redirect",
              instead="no redirect (the controller rejects the group)", aspects=("status", "redirect"))
        redirect_port = None
    rules_of = {m.ingress.ref: _member_rules(m, resources, notes) for m in members}
    default: Action | None = None
    default_ing: Ingress | None = None
    for m in members:
        if m.ingress.default_backend is None:
            continue
        if default_ing is not None:
            _note(notes, m.ingress, "DEFAULT-BACKEND-CONFLICT", Level.ERROR,
                  f"{default_ing.ref} already sets the group's default backend", "spec.defaultBackend",
                  instead="this default backend is not used (the controller rejects the group)",
                  aspects=("status", "backend"), scope=(("", ""),))
            continue
        eb = enhanced_backend(m.ingress, m.ingress.default_backend, resources, notes, "spec.defaultBackend",
                              (("", ""),))
        default = eb.action if eb is not None else None
        default_ing = m.ingress if eb is not None else None
    listeners: list[AlbListener] = []
    for port in sorted(protocols):
        proto = protocols[port]
        on_port = [m for m in members if port in (p for _, p in ports[m.ingress.ref])]
        certs: list[str] = []
        tls_hosts: list[str] = []
        if proto == "HTTPS":
            for m in on_port:
                certs += [c for c in member_certificates(m) if c not in certs]
                tls_hosts += [h for t in m.ingress.tls for h in t.hosts if h not in tls_hosts]
        cidrs, lists = _inbound(members, port, ports)
        if proto == "HTTP" and redirect_port is not None:
            action = Action("redirect", redirect=Redirect(protocol="HTTPS", port=str(redirect_port), status=301))
            listeners.append(AlbListener(proto, port, (), action, None, (), (), redirect_port, cidrs, lists))
            continue
        rules = [r for m in on_port for r in rules_of[m.ingress.ref]]
        kept, dropped = optimize(rules, port, proto)
        for rule, why in dropped:
            _note(notes, rule.ingress, "RULE-DROPPED", Level.WARNING,
                  f"the controller drops the rule for {rule.host or '*'} {rule.path} on {proto}:{port}: {why}",
                  rule.field, instead="not converted (the ALB never serves it)", fidelity=Fidelity.EXACT)
        listeners.append(AlbListener(proto, port, tuple(kept), default, default_ing, tuple(certs), tuple(tls_hosts),
                                     None, cidrs, lists))
    return Alb(group.key, group.explicit, tuple(members), tuple(listeners))


def _literal(pattern: str) -> str:
    cut = min((pattern.find(c) for c in "*?" if c in pattern), default=len(pattern))
    return pattern[:cut]


def _pattern_covers(outer: str, inner: str) -> bool:
    """Every path ``inner`` matches, ``outer`` matches too."""
    if outer == inner or outer == "/*":
        return True
    if "*" not in inner and "?" not in inner:
        return pattern_matches(outer, inner)
    return outer.endswith("*") and "?" not in outer and outer.count("*") == 1 and inner.startswith(outer[:-1])


def _regex_literal(expr: str) -> str | None:
    """The literal start every match of an ALB regex has (None: it is not anchored at the start)."""
    if not expr.startswith("^"):
        return None
    out = []
    for c in expr[1:]:
        if c in "\\^$.|?*+()[]{}":
            break
        out.append(c)
    if out and expr[1 + len(out):][:1] in ("?", "*", "{"):
        out.pop()  # a quantifier makes the last literal optional
    return "".join(out)


def _paths_meet(a: Condition, b: Condition) -> bool:
    """Whether one path may match both path conditions (conservative: True when unsure)."""
    if not a.regex_values and not b.regex_values:
        return any(_patterns_meet(x, y) for x in a.values for y in b.values)
    prefixes_a = [_regex_literal(r) for r in a.regex_values] + [_literal(v) for v in a.values]
    prefixes_b = [_regex_literal(r) for r in b.regex_values] + [_literal(v) for v in b.values]
    return any(x is None or y is None or x.startswith(y) or y.startswith(x) for x in prefixes_a for y in prefixes_b)


def _patterns_meet(a: str, b: str) -> bool:
    """Whether some path matches both ALB patterns (exact: a search over both patterns at once,
    ``*`` any run of characters, ``?`` one)."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            if meet(i + 1, j):
                return True
            return j < len(b) and (meet(i, j + 1) if b[j] != "*" else meet(i, j + 1) or meet(i + 1, j))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i == len(a) or j == len(b):
            return False
        return (a[i] == b[j] or a[i] == "?" or b[j] == "?") and meet(i + 1, j + 1)

    return meet(0, 0)


def covers(earlier: AlbRule, later: AlbRule) -> bool:
    """Every request ``later`` matches, ``earlier`` matches too (so the ALB never reaches ``later``)."""
    for c in earlier.conditions:
        other = later.condition(c.field)
        if c.field == "host-header":
            if c.regex_values or other is None or other.regex_values:
                if c != other:
                    return False
                continue
            if not all(any(pattern_matches(h, x, ignore_case=True) or h == x for h in c.values)
                       for x in other.values):
                return False
        elif c.field == "path-pattern":
            if "/*" in c.values:
                continue
            if c.regex_values or other is None or other.regex_values:
                if c != other:
                    return False
                continue
            if not all(any(_pattern_covers(p, x) for p in c.values) for x in other.values):
                return False
        elif c not in later.conditions:
            return False
    return True


def overlaps(a: AlbRule, b: AlbRule) -> bool:
    """Whether one request may match both rules (conservative: True when unsure)."""
    ha, hb = a.condition("host-header"), b.condition("host-header")
    if ha is not None and hb is not None and not ha.regex_values and not hb.regex_values:
        if not any(pattern_matches(x, y, ignore_case=True) or pattern_matches(y, x, ignore_case=True)
                   for x in ha.values for y in hb.values):
            return False
    pa, pb = a.condition("path-pattern"), b.condition("path-pattern")
    if pa is not None and pb is not None and not _paths_meet(pa, pb):
        return False
    for fld in ("http-request-method",):
        ma, mb = a.condition(fld), b.condition(fld)
        if ma is not None and mb is not None and not set(ma.values) & set(mb.values):
            return False
    return True
