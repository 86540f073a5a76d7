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

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ing2gw.notes import Fidelity, Level, Note, Notes, Scope
from ing2gw.resources import Ingress, IngressBackend, IngressPath

from .actions import (
    Action,
    Condition,
    Redirect,
    TargetGroup,
    Transform,
    parse_action,
    parse_conditions,
    parse_transforms,
)
from .annotations import PREFIX
from .groups import Group, Member
from .paths import path_values, pattern_matches, sort_paths

__all__ = ["Alb", "AlbListener", "AlbRule", "build_alb", "covers", "is_infinite_redirect", "is_superset", "overlaps"]

_NOT_FOUND = Action("fixed-response", fixed=None)


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
    inbound_cidrs: tuple[str, ...] = ()  # empty: open to every client

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


def _certificates(m: Member) -> tuple[str, ...]:
    from_params = _params_list(m.params, "certificateArn")
    if from_params:
        return from_params
    return tuple(m.annotations.get("certificate-arn") or ())


def _listen_ports(m: Member) -> tuple[tuple[str, int], ...]:
    ports = m.annotations.get("listen-ports")
    if ports:
        return tuple(ports)
    listeners = m.params.get("listeners")
    if isinstance(listeners, list) and listeners:
        return tuple((str(x.get("protocol") or "HTTP"), int(x.get("port") or 80))
                     for x in listeners if isinstance(x, Mapping))
    return (("HTTPS", 443),) if _certificates(m) else (("HTTP", 80),)


def _ssl_redirect(members: list[Member], notes: Notes) -> tuple[int | None, Member | None]:
    found: dict[int, Member] = {}
    for m in members:
        raw = m.params.get("sslRedirectPort")
        port = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else m.annotations.get("ssl-redirect")
        if port is not None:
            found.setdefault(int(port), m)
    if len(found) > 1:
        first = members[0].ingress
        _note(notes, first, "SSL-REDIRECT-CONFLICT", Level.ERROR,
              f"conflicting sslRedirect port: {sorted(found)}", f"{PREFIX}/ssl-redirect",
              instead=f"the controller rejects the group; using {min(found)}", aspects=("status", "redirect"))
    if not found:
        return None, None
    port = min(found)
    return port, found[port]


def _inbound(members: list[Member], port: int, ports: dict[str, tuple[tuple[str, int], ...]]) -> tuple[str, ...]:
    """The CIDRs admitted on ``port``: the union of what its members set (IngressClassParams
    inboundCIDRs wins over the annotation); empty when none sets any (open)."""
    out: list[str] = []
    for m in members:
        if port not in (p for _, p in ports[m.ingress.ref]):
            continue
        cidrs = _params_list(m.params, "inboundCIDRs") or tuple(str(n) for n in m.annotations.get("inbound-cidrs")
                                                                   or ())
        out += [c for c in cidrs if c not in out]
    return tuple(out)


def backend_action(m: Member, backend: IngressBackend, notes: Notes, fld: str, scope: Scope) -> Action | None:
    """The action of one Ingress backend: ``actions.<name>`` for a ``use-annotation`` port, else
    a forward to the Service port. None (with an error note) when the controller fails."""
    ing = m.ingress
    if backend.service is None:
        _note(notes, ing, "BACKEND-RESOURCE", Level.ERROR, "a resource backend has no ALB form", fld,
              instead="path skipped", fidelity=Fidelity.UNSUPPORTED, aspects=("status", "backend"), scope=scope)
        return None
    if backend.port_name == "use-annotation":
        key = f"{PREFIX}/actions.{backend.service}"
        raw = ing.annotations.get(key)
        if raw is None:
            _note(notes, ing, "ACTION-MISSING", Level.ERROR, f"missing actions.{backend.service} configuration",
                  key, instead="path skipped (the controller fails the whole group)",
                  aspects=("status", "backend"), scope=scope)
            return None
        try:
            return parse_action(json.loads(raw))
        except (ValueError, TypeError) as exc:
            _note(notes, ing, "ACTION-INVALID", Level.ERROR, f"invalid action: {exc}", key,
                  instead="path skipped (the controller fails the whole group)", aspects=("status", "backend"),
                  scope=scope)
            return None
    port: int | str | None = backend.port_number if backend.port_number is not None else backend.port_name
    return Action("forward", (TargetGroup(service=backend.service, port=port),))


def _extras(m: Member, name: str, notes: Notes, scope: Scope) -> tuple[tuple[Condition, ...], tuple[Transform, ...]]:
    ing = m.ingress
    conditions: tuple[Condition, ...] = ()
    transforms: tuple[Transform, ...] = ()
    for family in ("conditions", "transforms"):
        key = f"{PREFIX}/{family}.{name}"
        raw = ing.annotations.get(key)
        if raw is None:
            continue
        try:
            if family == "conditions":
                conditions = parse_conditions(json.loads(raw))
            else:
                transforms = parse_transforms(json.loads(raw))
        except (ValueError, TypeError) as exc:
            _note(notes, ing, f"{family.upper()}-INVALID", Level.ERROR, f"invalid {family}: {exc}", key,
                  instead=f"{family} ignored (the controller fails the whole group)",
                  aspects=("status", "backend"), scope=scope)
    return conditions, transforms


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


def _member_rules(m: Member, notes: Notes) -> list[AlbRule]:
    ing = m.ingress
    use_regex = bool(m.annotations.get("use-regex-path-match"))
    out: list[AlbRule] = []
    for rule in ing.rules:
        for path in sort_paths(rule.paths):
            scope: Scope = ((rule.host, path.path or "/"),)
            action = backend_action(m, path.backend, notes, path.field + ".backend", scope)
            if action is None:
                continue
            name = path.backend.service or ""
            extra, transforms = _extras(m, name, notes, scope)
            try:
                conditions = rule_conditions(rule.host, path, extra, use_regex)
            except ValueError as exc:
                _note(notes, ing, "PATH-INVALID", Level.ERROR, str(exc), path.field, instead="path skipped",
                      aspects=("status", "backend"), scope=scope)
                continue
            out.append(AlbRule(conditions, action, transforms, ing, rule.host, path.path or "/", path.field, name))
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


def build_alb(group: Group, notes: Notes) -> Alb:
    members = group.members
    ports = {m.ingress.ref: _listen_ports(m) for m in members}
    protocols: dict[int, str] = {}
    for m in members:
        for proto, port in ports[m.ingress.ref]:
            if protocols.setdefault(port, proto) != proto:
                _note(notes, m.ingress, "LISTEN-PORT-CONFLICT", Level.ERROR,
                      f"port {port} is {protocols[port]} for another member of group {group.key}",
                      f"{PREFIX}/listen-ports", instead=f"kept {protocols[port]}", aspects=("status", "tls"))
    redirect_port, redirect_from = _ssl_redirect(members, notes)
    if redirect_port is not None and protocols.get(redirect_port) != "HTTPS" and redirect_from is not None:
        _note(notes, redirect_from.ingress, "SSL-REDIRECT-PORT", Level.ERROR,
              f"ssl-redirect port {redirect_port} is not an HTTPS listen port", f"{PREFIX}/ssl-redirect",
              instead="no redirect (the controller rejects the group)", aspects=("status", "redirect"))
        redirect_port = None
    rules_of = {m.ingress.ref: _member_rules(m, notes) for m in members}
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
        default = backend_action(m, m.ingress.default_backend, notes, "spec.defaultBackend", (("", ""),))
        default_ing = m.ingress if default is not None else None
    listeners: list[AlbListener] = []
    for port in sorted(protocols):
        proto = protocols[port]
        on_port = [m for m in members if port in (p for _, p in ports[m.ingress.ref])]
        certs: list[str] = []
        tls_hosts: list[str] = []
        if proto == "HTTPS":
            for m in on_port:
                certs += [c for c in _certificates(m) if c not in certs]
                tls_hosts += [h for t in m.ingress.tls for h in t.hosts if h not in tls_hosts]
        cidrs = _inbound(members, port, ports)
        if proto == "HTTP" and redirect_port is not None:
            action = Action("redirect", redirect=Redirect(protocol="HTTPS", port=str(redirect_port), status=301))
            listeners.append(AlbListener(proto, port, (), action, None, (), (), redirect_port, cidrs))
            continue
        rules = [r for m in on_port for r in rules_of[m.ingress.ref]]
        kept, dropped = optimize(rules, port, proto)
        for rule, why in dropped:
            _note(notes, rule.ingress, "RULE-DROPPED", Level.WARNING,
                  f"the controller drops the rule for {rule.host or '*'} {rule.path} on {proto}:{port}: {why}",
                  rule.field, instead="not converted (the ALB never serves it)", fidelity=Fidelity.EXACT)
        listeners.append(AlbListener(proto, port, tuple(kept), default, default_ing, tuple(certs), tuple(tls_hosts),
                                     None, cidrs))
    return Alb(group.key, group.explicit, tuple(members), tuple(listeners))


def with_rules(listener: AlbListener, rules: tuple[AlbRule, ...]) -> AlbListener:
    return replace(listener, rules=rules)


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


def _patterns_meet(a: str, b: str) -> bool:
    """Whether some path may match both patterns (conservative: True when unsure)."""
    if "*" not in a and "?" not in a:
        return pattern_matches(b, a)
    if "*" not in b and "?" not in b:
        return pattern_matches(a, b)
    la, lb = _literal(a), _literal(b)
    return la.startswith(lb) or lb.startswith(la)


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
    if pa is not None and pb is not None and not pa.regex_values and not pb.regex_values:
        if not any(_patterns_meet(x, y) for x in pa.values for y in pb.values):
            return False
    for fld in ("http-request-method",):
        ma, mb = a.condition(fld), b.condition(fld)
        if ma is not None and mb is not None and not set(ma.values) & set(mb.values):
            return False
    return True
