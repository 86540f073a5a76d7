"""One ALB rule -> one HTTPRoute rule: conditions to hostnames and matches, the action to
backends or filters, and what cannot be carried to notes and intents.

* ``host-header`` values -> route hostnames (``*.x`` kept; other wildcards and regexes have no
  Gateway form: the rule is not converted);
* ``path-pattern``: a Prefix pair ``/p`` + ``/p/*`` -> PathPrefix ``/p`` (exact), ``/*`` ->
  PathPrefix ``/``, a pattern without wildcards -> Exact, ``/p/*`` alone -> PathPrefix ``/p``
  (also matches ``/p``: noted), other wildcards -> RegularExpression (noted), ``regexValues`` ->
  RegularExpression (dialect noted);
* ``http-header`` / ``query-string`` values -> Exact matches (ALB compares ignoring case:
  noted) or case-insensitive RegularExpressions for wildcards; ``http-request-method`` ->
  method; each alternative multiplies the matches;
* ``source-ip`` -> an ip-access intent (ALB tries the next rule for other clients; noted);
* forward -> weighted backendRefs (target groups by ARN or name have no Gateway form);
  redirect -> RequestRedirect (ALB writes the port into Location: noted); fixed-response ->
  a rule without backends plus an opaque intent (no Gateway API form);
* ``transforms.<name>`` -> one URLRewrite filter where the replacement is a Host, full-path or
  prefix rewrite (:mod:`.transforms`), noted where it is not exactly one.
"""

from __future__ import annotations

import itertools
import json
import re

from ing2gw import intents as i
from ing2gw.ir import (
    BackendRef,
    Filter,
    HeaderMatch,
    PathMatch,
    PathModifier,
    Provenance,
    QueryMatch,
    RequestRedirect,
    RouteMatch,
    Rule,
    SessionPersistence,
    URLRewrite,
)
from ing2gw.notes import Fidelity, Level, Note, Scope
from ing2gw.provider import ProviderContext
from ing2gw.resources import Ingress

from .actions import Action, Condition, TargetGroup
from .annotations import PREFIX
from .paths import gateway_path, pattern_regex
from .protections import auth_intent
from .stack import Alb, AlbListener, AlbRule
from .transforms import host_rewrite, path_rewrite

__all__ = ["RuleConverter", "rank"]

_MAX_MATCHES = 64
_HOSTNAME = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII)
_MAX_VALUES = 5  # condition values per ALB rule


def _full_regex(expr: str) -> str:
    """An ALB regular expression (found anywhere unless anchored) as a full-match one."""
    body = expr[1:] if expr.startswith("^") else ".*" + expr
    if body.endswith("$") and not body.endswith("\\$"):
        return body[:-1]
    return body + ".*"


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


def rank(rule: AlbRule) -> tuple[int, ...]:
    """How a Gateway would rank the rule's best match (higher wins): hostname (exact, then
    wildcard, by length), path (Exact, PathPrefix by length, RegularExpression), method,
    header and query matches."""
    host = rule.condition("host-header")
    host_rank = (0, 0)
    if host is not None and host.values:
        exact = [h for h in host.values if not _wild(h)]
        host_rank = (2, max(len(h) for h in exact)) if exact else (1, max(len(h) for h in host.values))
    path = rule.condition("path-pattern")
    path_rank = (2, 1)
    if path is not None and path.values:
        best = (0, 0)
        for v in path.values:
            pm, _ = gateway_path(v)
            r = {"Exact": (3, len(v)), "PathPrefix": (2, len(pm.value)), "RegularExpression": (1, 0)}[pm.type]
            best = max(best, r)
        path_rank = best
    elif path is not None:
        path_rank = (1, 0)
    method = 1 if rule.condition("http-request-method") else 0
    headers = sum(1 for c in rule.conditions if c.field == "http-header")
    query = sum(1 for c in rule.conditions if c.field == "query-string")
    return (*host_rank, *path_rank, method, headers, query)


class RuleConverter:
    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.notes = ctx.notes

    def note(self, rule_or_ing: AlbRule | Ingress, code: str, level: Level, message: str, fld: str, *,
             fidelity: Fidelity | None = None, instead: str = "", aspects: tuple[str, ...] = (),
             scope: Scope | None = None) -> None:
        ing = rule_or_ing.ingress if isinstance(rule_or_ing, AlbRule) else rule_or_ing
        sc = scope if scope is not None else (rule_or_ing.scope if isinstance(rule_or_ing, AlbRule) else ())
        self.notes.add(Note(code=f"ALB-{code}", level=level, message=message, subject=ing.subject, field=fld,
                            fidelity=fidelity, instead=instead, origin=ing.origin, aspects=frozenset(aspects),
                            scope=sc))

    def convert(self, rule: AlbRule, ls: AlbListener, alb: Alb) -> tuple[tuple[str, ...], Rule] | None:
        prov = Provenance("Ingress", rule.ingress.namespace, rule.ingress.name, rule.field, rule.ingress.origin)
        hostnames = self._hostnames(rule)
        if hostnames is None:
            return None
        values = sum(len(c.values) + len(c.regex_values) + len(c.query) for c in rule.conditions)
        if values > _MAX_VALUES:
            self.note(rule, "CONDITION-LIMIT", Level.WARNING,
                      f"the rule has {values} condition values; an ALB rule holds {_MAX_VALUES} (a Prefix path "
                      "counts 2), so the controller fails to create it", rule.field,
                      instead="converted as written (Gateway API has no such limit)")
        alternatives: list[list[RouteMatch]] = [self._paths(rule)]
        intents: list[i.Intent] = []
        for c in rule.conditions:
            if c.field == "http-header":
                alternatives.append(self._headers(rule, c))
            elif c.field == "query-string":
                alternatives.append(self._query(rule, c))
            elif c.field == "http-request-method":
                alternatives.append([RouteMatch(method=m) for m in c.values])
            elif c.field == "source-ip":
                intents.append(i.IPAccess(allow=c.values, status=403, provenance=Provenance(
                    "Ingress", rule.ingress.namespace, rule.ingress.name, f"{PREFIX}/conditions.{rule.name}",
                    rule.ingress.origin)))
                self.note(rule, "SOURCE-IP", Level.WARNING,
                          f"source-ip condition {', '.join(c.values)}: ALB tries the next rule for other clients",
                          f"{PREFIX}/conditions.{rule.name}", fidelity=Fidelity.EXTENSION,
                          instead="an ip-access intent that refuses other clients with 403",
                          aspects=("status", "backend"))
        matches: list[RouteMatch] = []
        for combo in itertools.product(*[a for a in alternatives if a]):
            m = RouteMatch()
            for part in combo:
                m = RouteMatch(path=part.path or m.path, headers=m.headers + part.headers,
                               query=m.query + part.query, method=part.method or m.method)
            matches.append(m)
        if len(matches) > _MAX_MATCHES:
            self.note(rule, "TOO-MANY-MATCHES", Level.ERROR,
                      f"the conditions' alternatives make {len(matches)} matches; a Gateway API rule holds "
                      f"{_MAX_MATCHES}", rule.field, fidelity=Fidelity.UNSUPPORTED,
                      instead=f"only the first {_MAX_MATCHES} kept", aspects=("status", "backend"))
            matches = matches[:_MAX_MATCHES]
        backends, filters, more, session = self._action(rule, rule.action, ls, prov)
        intents += more
        auth = auth_intent(rule)
        if auth is not None:
            intents.append(auth)
        if rule.transforms and rule.action.type == "forward":
            rewrite = self._transforms(rule, hostnames, matches, prov)
            if rewrite is not None:
                filters.append(rewrite)
        return hostnames, Rule(matches=tuple(matches), backends=tuple(backends), filters=tuple(filters),
                               intents=tuple(intents), provenance=(prov,), session_persistence=session)

    # --- conditions -----------------------------------------------------------------------

    def _hostnames(self, rule: AlbRule) -> tuple[str, ...] | None:
        c = rule.condition("host-header")
        if c is None:
            return ()
        bad = list(c.regex_values) + [h for h in c.values
                                      if not _HOSTNAME.fullmatch(h.lower()) or "*" in h.lstrip("*.")]
        if bad:
            self.note(rule, "HOST-PATTERN", Level.ERROR,
                      f"host condition {', '.join(bad)} has no Gateway API hostname form (only a leading *. "
                      "wildcard is)", rule.field, fidelity=Fidelity.UNSUPPORTED, instead="rule not converted",
                      aspects=("status", "backend"))
            return None
        return tuple(dict.fromkeys(h.lower() for h in c.values))

    def _paths(self, rule: AlbRule) -> list[RouteMatch]:
        c = rule.condition("path-pattern")
        if c is None:
            return [RouteMatch(path=PathMatch("PathPrefix", "/"))]
        out: list[PathMatch] = []
        if c.regex_values:
            for r in c.regex_values:
                out.append(PathMatch("RegularExpression", _full_regex(r)))
            self.note(rule, "PATH-REGEX", Level.INFO,
                      f"ALB regular expression {', '.join(c.regex_values)} (ALB's dialect, found anywhere unless "
                      "anchored)", rule.field, fidelity=Fidelity.APPROXIMATE,
                      instead="RegularExpression (full match; the dialect is the implementation's)",
                      aspects=("status", "backend"))
        values = list(c.values)
        for v in values:
            if v.endswith("/*") and v[:-2] in values:
                continue  # the Prefix pair /p + /p/*: PathPrefix /p below
            if v + "/*" in values:
                out.append(PathMatch("PathPrefix", v))
                continue
            pm, how = gateway_path(v)
            out.append(pm)
            if how == "widened":
                self.note(rule, "PATH-WILDCARD-PREFIX", Level.INFO,
                          f"ALB pattern {v} does not match {pm.value} itself", rule.field,
                          fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {pm.value}, which also matches "
                          f"{pm.value}", aspects=("status", "backend"),
                          scope=((rule.host or "*", "~^" + re.escape(pm.value) + "$"),))
            elif how == "regex":
                self.note(rule, "PATH-WILDCARD-REGEX", Level.INFO,
                          f"ALB pattern {v} (* any characters including /, ? one character)", rule.field,
                          fidelity=Fidelity.APPROXIMATE,
                          instead=f"RegularExpression {pm.value} (regular expressions are implementation-specific)",
                          aspects=("status", "backend"))
        return [RouteMatch(path=p) for p in dict.fromkeys(out)]

    def _headers(self, rule: AlbRule, c: Condition) -> list[RouteMatch]:
        out = [RouteMatch(headers=(HeaderMatch(c.header, "(?i)" + pattern_regex(v), "RegularExpression"),))
               if _wild(v) else RouteMatch(headers=(HeaderMatch(c.header, v),)) for v in c.values]
        out += [RouteMatch(headers=(HeaderMatch(c.header, _full_regex(r), "RegularExpression"),))
                for r in c.regex_values]
        if any(not _wild(v) for v in c.values):
            self.note(rule, "HEADER-CASE", Level.INFO, f"ALB compares header {c.header} ignoring case",
                      f"{PREFIX}/conditions.{rule.name}", fidelity=Fidelity.APPROXIMATE,
                      instead="Exact header matches compare case-sensitively", aspects=("status", "backend"))
        return out

    def _query(self, rule: AlbRule, c: Condition) -> list[RouteMatch]:
        out: list[RouteMatch] = []
        for key, value in c.query:
            if key is None or _wild(key):
                self.note(rule, "QUERY-ANY-KEY", Level.WARNING,
                          f"query-string value {value} {'under any key' if key is None else 'under key ' + key} "
                          "has no Gateway API form", f"{PREFIX}/conditions.{rule.name}",
                          fidelity=Fidelity.UNSUPPORTED, instead="this alternative is dropped",
                          aspects=("status", "backend"))
                continue
            if _wild(value):
                out.append(RouteMatch(query=(QueryMatch(key, "(?i)" + pattern_regex(value), "RegularExpression"),)))
            else:
                out.append(RouteMatch(query=(QueryMatch(key, value),)))
                self.note(rule, "QUERY-CASE", Level.INFO, f"ALB compares query parameter {key} ignoring case",
                          f"{PREFIX}/conditions.{rule.name}", fidelity=Fidelity.APPROXIMATE,
                          instead="Exact query matches compare case-sensitively", aspects=("status", "backend"))
        return out

    def _transforms(self, rule: AlbRule, hostnames: tuple[str, ...], matches: list[RouteMatch], prov: Provenance
                    ) -> Filter | None:
        """The rule's transforms as one URLRewrite filter (None: nothing carried)."""
        host: str | None = None
        path: PathModifier | None = None
        for t in rule.transforms:
            if t.type == "host-header-rewrite":
                rw = host_rewrite(t, hostnames)
                host = rw.hostname or host
                what, aspect = "Host", "host"
            else:
                paths = [m.path for m in matches if m.path is not None]
                rw = path_rewrite(t, paths) if len(matches) == 1 or all(p.type == "Exact" for p in paths) else \
                    path_rewrite(t, [])
                path = rw.path or path
                what, aspect = "path", "path"
            if rw.fidelity == "exact":
                continue
            self.note(rule, "TRANSFORM", Level.WARNING if rw.fidelity == "unsupported" else Level.INFO,
                      f"{t.type} {t.regex} -> {t.replace} rewrites the {what} the target sees: {rw.why}",
                      f"{PREFIX}/transforms.{rule.name}",
                      fidelity=Fidelity.UNSUPPORTED if rw.fidelity == "unsupported" else Fidelity.APPROXIMATE,
                      instead="not converted" if rw.fidelity == "unsupported" else
                      f"URLRewrite {rw.path.type if rw.path else ''} {rw.path.value if rw.path else ''}".rstrip(),
                      aspects=(aspect,))
        if host is None and path is None:
            return None
        return Filter("URLRewrite", URLRewrite(hostname=host, path=path), prov)

    # --- actions --------------------------------------------------------------------------

    def backend(self, ing: Ingress, tg: TargetGroup, fld: str, scope: Scope) -> BackendRef | None:
        if tg.service is None:
            self.note(ing, "TARGET-GROUP", Level.WARNING,
                      f"target group {tg.arn or tg.name} is an AWS target group, not a Service", fld,
                      fidelity=Fidelity.UNSUPPORTED, instead="backend dropped (AWS LBC Gateway: a TargetGroupName "
                      "backendRef)", aspects=("status", "backend", "weights"), scope=scope)
            return None
        port = tg.port
        if isinstance(port, str):
            svc = self.ctx.resources.services.get((ing.namespace, tg.service))
            resolved = next((p.port for p in svc.ports if p.name == port), None) if svc else None
            if resolved is None:
                self.note(ing, "BACKEND-NAMED-PORT-UNRESOLVED", Level.ERROR,
                          f"port name {port!r} of Service {ing.namespace}/{tg.service} cannot be resolved", fld,
                          instead="backend dropped; requests get 500", aspects=("status", "backend"), scope=scope)
                return None
            port = resolved
        return BackendRef(name=tg.service, namespace=ing.namespace, port=port,
                          weight=tg.weight if tg.weight is not None else 1)

    def _action(self, rule: AlbRule, action: Action, ls: AlbListener, prov: Provenance
                ) -> tuple[list[BackendRef], list[Filter], list[i.Intent], SessionPersistence | None]:
        fld = f"{PREFIX}/actions.{rule.name}"
        if action.type == "forward":
            refs = [b for tg in action.targets if (b := self.backend(rule.ingress, tg, fld, rule.scope)) is not None]
            session = None
            more: list[i.Intent] = []
            if action.stickiness_seconds is not None and len(action.targets) > 1:
                seconds = action.stickiness_seconds
                if self.ctx.options.experimental:
                    session = SessionPersistence(session_name="AWSALBTG", absolute_timeout=f"{seconds}s")
                else:
                    more.append(i.SessionAffinity(cookie="AWSALBTG", max_age_s=seconds, provenance=prov))
                self.note(rule, "STICKINESS", Level.INFO,
                          f"target group stickiness for {seconds}s (ALB cookie AWSALBTG)", fld,
                          fidelity=Fidelity.APPROXIMATE if session else Fidelity.EXTENSION,
                          instead="HTTPRoute sessionPersistence (experimental)" if session
                          else "a session-affinity intent (--experimental: HTTPRoute sessionPersistence)",
                          aspects=("backend",))
            return refs, [], more, session
        if action.type == "redirect":
            r = action.redirect
            assert r is not None
            scheme = None if r.protocol == "#{protocol}" else r.protocol.lower()
            host = None if r.host == "#{host}" else r.host
            port = None if r.port == "#{port}" else int(r.port) if r.port.isdigit() else None
            if port is None and r.port == "#{port}" and scheme is not None and scheme != ls.protocol.lower():
                port = ls.port
            path = None if r.path == "/#{path}" else r.path
            if path is not None and "#{" in path:
                self.note(rule, "REDIRECT-PATH", Level.WARNING, f"redirect path {r.path} uses placeholders", fld,
                          fidelity=Fidelity.UNSUPPORTED, instead="the request path is kept",
                          aspects=("redirect",))
                path = None
            if r.query not in ("#{query}",):
                self.note(rule, "REDIRECT-QUERY", Level.WARNING, f"redirect query {r.query!r} replaces the query",
                          fld, fidelity=Fidelity.UNSUPPORTED, instead="the request's query is kept (AWS LBC Gateway: "
                          "ListenerRuleConfiguration)", aspects=("redirect",))
            self.note(rule, "REDIRECT-PORT", Level.INFO, "ALB writes the port into every redirect Location "
                      "(https://host:443/...)", fld, fidelity=Fidelity.APPROXIMATE,
                      instead="a Gateway leaves the scheme's default port out", aspects=("redirect",))
            redirect = RequestRedirect(scheme=scheme, hostname=host, port=port,
                                       path=PathModifier("ReplaceFullPath", path) if path else None,
                                       status_code=r.status)
            return [], [Filter("RequestRedirect", redirect, prov)], [], None
        fixed = action.fixed
        assert fixed is not None
        self.note(rule, "FIXED-RESPONSE", Level.WARNING,
                  f"fixed-response {fixed.status} ({fixed.content_type or 'no content type'}) has no Gateway API form",
                  fld, fidelity=Fidelity.UNSUPPORTED, instead="a rule without backends (the Gateway answers 500) and "
                  "an opaque intent (AWS LBC Gateway: ListenerRuleConfiguration fixed-response)",
                  aspects=("status", "backend"))
        raw = json.dumps({"statusCode": fixed.status, "contentType": fixed.content_type,
                          "messageBody": fixed.body}, sort_keys=True)
        return [], [], [i.Opaque(vendor="aws-alb", key="fixed-response", raw=raw, affects=("status",),
                                 provenance=prov)], None
