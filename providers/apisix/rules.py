"""What one APISIX route's plugins and upstream settings add to its Gateway API rules, shared by
the Ingress translator and the ApisixRoute converter.

:func:`finish_rule` takes the route's matches and backends and the converted plugins
(:mod:`.plugins`) and gives the rule: method lists multiply the matches, the ``regex_uri``
rewrite becomes ReplacePrefixMatch when it only swaps a prefix, timeouts and retries become
intents (the read timeout also ``timeouts.backendRequest``). :func:`https_split` gives the
HTTP-listener redirect rule of ``http_to_https``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import (
    BackendRef,
    Filter,
    PathModifier,
    Provenance,
    RequestRedirect,
    RouteMatch,
    Rule,
    Timeouts,
    URLRewrite,
)
from ing2gw.notes import Fidelity, Level, Security

from .plugins import Converted

__all__ = ["MAX_MATCHES", "NoteFn", "finish_rule", "prefix_swap", "redirect_rule"]

MAX_MATCHES = 64
NoteFn = Callable[..., None]  # (code, level, message, *, fidelity, instead, aspects)


def prefix_swap(regex: str, template: str) -> tuple[str, str] | None:
    """``(old prefix, new prefix)`` when ``regex_uri`` = [regex, template] only replaces a path
    prefix (``^/api/(.*)`` -> ``/backend/$1``); None otherwise."""
    m = re.fullmatch(r"\^((?:/[A-Za-z0-9._~-]+)+)/\(\.\*\)\$?", regex)
    t = re.fullmatch(r"((?:/[A-Za-z0-9._~-]+)*)/\$1", template)
    if m and t:
        return m.group(1), t.group(1) or "/"
    m = re.fullmatch(r"\^((?:/[A-Za-z0-9._~-]+)+)\(/\.\*\)\$?", regex)
    t = re.fullmatch(r"((?:/[A-Za-z0-9._~-]+)*)\$1", template)
    if m and t:
        return m.group(1), t.group(1) or "/"
    return None


def _with_methods(matches: Sequence[RouteMatch], methods: Sequence[str]) -> list[RouteMatch]:
    if not methods:
        return list(matches)
    out: list[RouteMatch] = []
    for m in matches:
        if m.method is not None:
            out += [m] if m.method in methods else []
        else:
            out += [replace(m, method=x) for x in methods]
    return out


def finish_rule(matches: Sequence[RouteMatch], backends: tuple[BackendRef, ...], conv: Converted,
                prov: Provenance, note: NoteFn, timeouts: tuple[int, int, int] | None = None,
                retries: int = 0, extra: Sequence[i.Intent] = ()) -> list[Rule]:
    """The rules for one APISIX route: one, or one per match when a prefix rewrite needs it
    (ReplacePrefixMatch takes exactly one match); none when no match is left."""
    ms = _with_methods(matches, conv.allowed_methods)
    if conv.allowed_methods:
        note("METHODS-405", Level.INFO, f"methods other than {', '.join(conv.allowed_methods)} get 405 from "
             "APISIX (fault-injection)", fidelity=Fidelity.APPROXIMATE,
             instead="one match per allowed method: other methods get 404", aspects=("status",))
    if not ms:
        return []
    if len(ms) > MAX_MATCHES:
        note("TOO-MANY-MATCHES", Level.ERROR, f"the route needs {len(ms)} matches; a rule holds {MAX_MATCHES}",
             fidelity=Fidelity.UNSUPPORTED, instead=f"only the first {MAX_MATCHES} kept", aspects=("status", "backend"))
        ms = ms[:MAX_MATCHES]
    filters = conv.filters(prov)
    rewrite = conv.rewrite
    if conv.regex_rewrite is not None and conv.redirect is None:
        regex, template = conv.regex_rewrite
        swap = prefix_swap(regex, template)
        paths = {m.path for m in ms}
        if swap is not None and len(paths) == 1 and (p := next(iter(paths))) is not None \
                and p.type == "PathPrefix" and p.value == swap[0]:
            rewrite = URLRewrite(hostname=rewrite.hostname if rewrite else None,
                                 path=PathModifier("ReplacePrefixMatch", swap[1]))
            filters = [f for f in filters if f.type != "URLRewrite"] + [Filter("URLRewrite", rewrite, prov)]
            note("REWRITE-REGEX-PREFIX", Level.INFO, f"regex_uri {regex} -> {template} replaces the prefix "
                 f"{swap[0]}/ (the path {swap[0]} itself is left as it is)", fidelity=Fidelity.APPROXIMATE,
                 instead=f"ReplacePrefixMatch {swap[1]} (also rewrites {swap[0]} itself)", aspects=("path",))
        else:
            note("REWRITE-REGEX", Level.WARNING, f"regex_uri {regex} -> {template} is not a plain prefix swap of the "
                 "route's PathPrefix match", fidelity=Fidelity.UNSUPPORTED,
                 instead="not converted: the path reaches the backend unchanged", aspects=("path",))
    intents: list[i.Intent] = list(conv.intents) + list(extra)
    rule_timeouts = None
    if timeouts is not None:
        connect, send, read = timeouts
        intents.append(i.Timeouts(connect_ms=connect * 1000, send_ms=send * 1000, read_ms=read * 1000,
                                  provenance=prov))
        rule_timeouts = Timeouts(backend_request=f"{read}s")
    if retries > 0:
        intents.append(i.Retries(on=("error", "timeout"), attempts=retries + 1, provenance=prov))
    rule = Rule(matches=tuple(ms), backends=() if conv.redirect is not None else backends, filters=tuple(filters),
                timeouts=None if conv.redirect is not None else rule_timeouts,
                intents=tuple(intents), provenance=(prov,))
    prefix_rewrite = any(f.type == "URLRewrite" and isinstance(f.value, URLRewrite) and f.value.path is not None
                         and f.value.path.type == "ReplacePrefixMatch" for f in filters)
    if prefix_rewrite and len(ms) > 1:
        return [replace(rule, matches=(m,)) for m in ms]
    return [rule]


def redirect_rule(rule: Rule, prov: Provenance) -> Rule:
    """The HTTP-listener form of a rule under ``http_to_https``: a scheme redirect (301). The
    authentication intents stay: APISIX runs its auth plugins before ``redirect``."""
    return Rule(matches=rule.matches, filters=(Filter("RequestRedirect", RequestRedirect(scheme="https",
                                                                                        status_code=301), prov),),
                intents=tuple(x for x in rule.intents if x.security is Security.AUTHENTICATION),
                provenance=rule.provenance)
