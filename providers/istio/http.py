"""One Istio HTTP route (``VirtualService.http[]``) as Gateway API pieces: its matches and its
action (backends, filters, timeouts, intents).

Matches: ``uri`` exact -> Exact, prefix -> PathPrefix (Istio's prefix of a hand-written
VirtualService is a character prefix: :func:`prefix_problem` says how the Gateway's differs),
regex -> RegularExpression; ``ignoreUriCase`` -> a ``(?i)`` regular expression; header and
query ``exact`` -> Exact, ``prefix`` and ``regex`` -> RegularExpression (a regex ``*``, which
RE2 refuses, is a presence match in Istio: ``.*``); ``method`` exact. Conditions Gateway API
has no form for (``authority``, ``scheme``, ``withoutHeaders``, a non-exact method) make the
match unusable: it is left out with a note (the requests it took reach later routes).
``gateways``, ``port``, ``sourceNamespace`` and ``sourceLabels`` choose the parents the match
applies on (:class:`Match`; a client namespace: the GAMMA consumer route of that namespace,
:mod:`.meshplan`; workload labels: the Gateways whose selector carries them -- no GAMMA route
selects client pods by labels).

Actions: ``route[]`` -> weighted backendRefs (hosts naming Services; per-destination headers
as backendRef filters), ``redirect`` -> RequestRedirect (Istio's default code 301 written
out), ``rewrite`` -> URLRewrite (``uri`` replaces the matched prefix, or the whole path of an
exact or regex match), ``headers`` -> header modifiers, ``mirror(s)`` -> RequestMirror,
``corsPolicy`` -> CORS, ``timeout`` -> timeouts.request, ``retries`` -> the retries intent
(Istio retries twice on connect failures unless ``attempts: 0``: an implicit intent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import (
    CORS,
    BackendRef,
    Filter,
    HeaderMatch,
    HeaderModifier,
    PathMatch,
    PathModifier,
    Provenance,
    QueryMatch,
    RequestMirror,
    RequestRedirect,
    RouteMatch,
    Rule,
    Timeouts,
    URLRewrite,
)
from ing2gw.resources import ResourceSet

from .objects import as_map, service_host, spec_list, str_list

__all__ = ["Action", "Match", "action_of", "duration_ms", "gateway_duration", "match_of", "prefix_problem",
           "rule_for"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
DEFAULT_RETRY_ON = ("connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes")
_UNUSABLE = ("authority", "scheme", "withoutHeaders")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_MS = {"h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0, "us": 0.001, "µs": 0.001, "ns": 0.000001}


def duration_ms(text: Any) -> int | None:
    """An Istio (protobuf or Go) duration in milliseconds; None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    return round(total) if pos == len(text) else None


def gateway_duration(ms: int) -> str:
    """Milliseconds as a Gateway API duration (``10s``, ``1500ms``)."""
    if ms == 0:
        return "0s"
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def prefix_problem(value: str) -> str | None:
    """How Istio's character prefix differs from the Gateway's PathPrefix (None: it does not)."""
    if value == "/":
        return None
    if value.endswith("/"):
        return (f"Istio's prefix {value} does not match {value.rstrip('/')}; the Gateway's PathPrefix ignores the "
                "trailing slash and does")
    return (f"Istio's prefix {value} is a character prefix: it also matches {value}x; the Gateway's PathPrefix "
            f"matches {value} and {value}/... only")


@dataclass(frozen=True, slots=True)
class Match:
    """One Istio match as Gateway API sees it: the match, and where it applies."""

    match: RouteMatch
    gateways: tuple[str, ...] = ()  # only on these gateways ("ns/name" or "mesh"); () = everywhere
    port: int | None = None  # only on this port
    source_namespace: str | None = None  # only for sidecars of clients in this namespace
    source_labels: tuple[tuple[str, str], ...] = ()  # only for proxies of workloads with these labels


def _value(sm: Any) -> tuple[str, str] | None:
    """A StringMatch for a header or query parameter as (type, value)."""
    if not isinstance(sm, Mapping) or not sm:
        return ("RegularExpression", ".*")  # an empty match: the header is present
    if "exact" in sm:
        return ("Exact", str(sm["exact"]))
    if "prefix" in sm:
        return ("RegularExpression", re.escape(str(sm["prefix"])) + ".*")
    if "regex" in sm:
        rx = str(sm["regex"])
        return ("RegularExpression", ".*" if rx == "*" else rx)
    return None


def match_of(m: Mapping[str, Any], namespace: str) -> tuple[Match | None, list[str]]:
    """An Istio HTTPMatchRequest as a Gateway match (None: unusable), and what the conversion
    could not keep exactly."""
    problems: list[str] = []
    for key in _UNUSABLE:
        if m.get(key):
            return None, [f"{key} has no Gateway API match"]
    path: PathMatch | None = None
    uri = m.get("uri")
    if isinstance(uri, Mapping) and uri:
        fold = bool(m.get("ignoreUriCase"))
        if "exact" in uri:
            value = str(uri["exact"])
            path = PathMatch("RegularExpression", "(?i)" + re.escape(value)) if fold else PathMatch("Exact", value)
        elif "prefix" in uri:
            value = str(uri["prefix"])
            if fold:
                path = PathMatch("RegularExpression", "(?i)" + re.escape(value) + ".*")
            else:
                path = PathMatch("PathPrefix", value)
                why = prefix_problem(value)
                if why:
                    problems.append(why)
        elif "regex" in uri:
            path = PathMatch("RegularExpression", ("(?i)" if fold else "") + str(uri["regex"]))
        else:
            return None, ["uri names no exact, prefix or regex"]
    method = None
    meth = m.get("method")
    if isinstance(meth, Mapping) and meth:
        if "exact" not in meth or str(meth["exact"]).upper() not in METHODS:
            return None, [f"method {dict(meth)} is not one exact HTTP method"]
        method = str(meth["exact"]).upper()
    headers: list[HeaderMatch] = []
    for name, sm in sorted(as_map(m.get("headers")).items()):
        v = _value(sm)
        if v is None:
            return None, [f"header {name}: no exact, prefix or regex"]
        headers.append(HeaderMatch(str(name), v[1], v[0]))  # type: ignore[arg-type]
    query: list[QueryMatch] = []
    for name, sm in sorted(as_map(m.get("queryParams")).items()):
        v = _value(sm)
        if v is None:
            return None, [f"query parameter {name}: no exact, prefix or regex"]
        query.append(QueryMatch(str(name), v[1], v[0]))  # type: ignore[arg-type]
    gateways = tuple(g if "/" in g or g == "mesh" else f"{namespace}/{g}" for g in str_list(m.get("gateways")))
    port = m.get("port") if isinstance(m.get("port"), int) and m.get("port") else None
    rm = RouteMatch(path=path, headers=tuple(headers), query=tuple(query), method=method)
    source_ns = str(m["sourceNamespace"]) if m.get("sourceNamespace") else None
    labels = tuple(sorted((str(k), str(v)) for k, v in as_map(m.get("sourceLabels")).items()))
    return Match(rm, gateways, port, source_ns, labels), problems


@dataclass(frozen=True, slots=True)
class Action:
    """What one Istio route does, before a match decides its path rewrite."""

    backends: tuple[BackendRef, ...] = ()
    filters: tuple[Filter, ...] = ()
    rewrite_uri: str | None = None
    rewrite_host: str | None = None
    rewrite_regex: tuple[str, str] | None = None  # uriRegexRewrite (match, rewrite)
    timeouts: Timeouts | None = None
    intents: tuple[i.Intent, ...] = ()
    answers: bool = True  # False: Istio answers itself (directResponse) or nothing usable is left
    problems: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)  # (code, field, message)


def _modifier(spec: Any) -> HeaderModifier | None:
    if not isinstance(spec, Mapping):
        return None
    set_ = tuple(sorted((str(k), str(v)) for k, v in (spec.get("set") or {}).items()))
    add = tuple(sorted((str(k), str(v)) for k, v in (spec.get("add") or {}).items()))
    remove = tuple(str_list(spec.get("remove")))
    return HeaderModifier(set_, add, remove) if set_ or add or remove else None


def _header_filters(spec: Any, prov: Provenance) -> list[Filter]:
    out = []
    if isinstance(spec, Mapping):
        req, resp = _modifier(spec.get("request")), _modifier(spec.get("response"))
        if req:
            out.append(Filter("RequestHeaderModifier", req, prov))
        if resp:
            out.append(Filter("ResponseHeaderModifier", resp, prov))
    return out


def backend_of(dest: Any, namespace: str, rs: ResourceSet, weight: int, prov: Provenance,
               problems: list[tuple[str, str, str]], fld: str) -> BackendRef | None:
    """A destination (host naming a Service, port) as a backendRef."""
    if not isinstance(dest, Mapping) or not dest.get("host"):
        problems.append(("DESTINATION-INVALID", fld, "destination names no host"))
        return None
    svc = service_host(str(dest["host"]), namespace)
    if svc is None:
        problems.append(("DESTINATION-EXTERNAL", fld, f"host {dest['host']} is no Kubernetes Service (a "
                         "ServiceEntry or external name): Gateway API backendRefs name Services"))
        return None
    if dest.get("subset"):
        problems.append(("SUBSET", fld, f"subset {dest['subset']} selects pods by DestinationRule labels; the "
                         "backendRef sends to every pod of the Service"))
    port = as_map(dest.get("port")).get("number")
    if not isinstance(port, int):
        found = rs.services.get((svc.namespace, svc.name))
        if found is not None and len(found.ports) == 1:
            port = found.ports[0].port
        else:
            problems.append(("DESTINATION-PORT", fld, f"destination {dest['host']} names no port and the Service "
                             "is not in the input with exactly one port (a backendRef to a Service needs one): "
                             "backend dropped, include the Service"))
            return None
    return BackendRef(svc.name, svc.namespace, port, weight)


def _cors(spec: Mapping[str, Any], problems: list[tuple[str, str, str]], fld: str) -> CORS:
    origins: list[str] = [str(o) for o in str_list(spec.get("allowOrigin"))]
    for sm in spec_list(spec.get("allowOrigins")):
        if "exact" in sm:
            origins.append(str(sm["exact"]))
        elif sm.get("regex") in (".*", "*") or sm.get("prefix") in ("", "*"):
            origins.append("*")
        else:
            problems.append(("CORS-ORIGIN", fld + ".allowOrigins", f"origin match {dict(sm)} is not an exact "
                             "origin: the CORS filter takes exact origins and * wildcards"))
    max_age = duration_ms(spec.get("maxAge"))
    credentials = spec.get("allowCredentials")
    return CORS(tuple(origins), tuple(str_list(spec.get("allowMethods"))), tuple(str_list(spec.get("allowHeaders"))),
                tuple(str_list(spec.get("exposeHeaders"))), credentials if isinstance(credentials, bool) else None,
                max_age // 1000 if max_age is not None else None)


def _mirrors(route: Mapping[str, Any], namespace: str, rs: ResourceSet, prov: Provenance,
             problems: list[tuple[str, str, str]], fld: str) -> list[Filter]:
    targets: list[tuple[Any, Any, str]] = []
    if isinstance(route.get("mirror"), Mapping):
        pct = route.get("mirrorPercentage")
        value = pct.get("value") if isinstance(pct, Mapping) else route.get("mirrorPercent")
        targets.append((route["mirror"], value, fld + ".mirror"))
    for n, m in enumerate(spec_list(route.get("mirrors"))):
        pct = m.get("percentage")
        targets.append((m.get("destination"), pct.get("value") if isinstance(pct, Mapping) else None,
                        f"{fld}.mirrors[{n}]"))
    out = []
    for dest, value, where in targets:
        ref = backend_of(dest, namespace, rs, 1, prov, problems, where)
        if ref is None:
            continue
        percent = None
        if isinstance(value, (int, float)) and value < 100:
            percent = round(value)
            if percent != value:
                problems.append(("MIRROR-FRACTION", where, f"mirror percentage {value} rounded to {percent}"))
        out.append(Filter("RequestMirror", RequestMirror(ref, percent), prov))
    return out


def action_of(route: Mapping[str, Any], namespace: str, rs: ResourceSet, prov: Provenance, fld: str) -> Action:
    """What an Istio HTTP route does, as Gateway API pieces (path rewrites wait for the match)."""
    problems: list[tuple[str, str, str]] = []
    filters: list[Filter] = []
    intents: list[i.Intent] = []
    backends: list[BackendRef] = []
    answers = True
    dests = spec_list(route.get("route"))
    for n, d in enumerate(dests):
        raw = d.get("weight")
        weight = raw if isinstance(raw, int) else (100 if len(dests) == 1 else 0)
        ref = backend_of(d.get("destination"), namespace, rs, weight, prov, problems, f"{fld}.route[{n}]")
        if ref is not None:
            extra = tuple(_header_filters(d.get("headers"), prov))
            backends.append(replace(ref, weight=weight if len(dests) > 1 else 1, filters=extra))
    redirect = route.get("redirect")
    if isinstance(redirect, Mapping):
        code = redirect.get("redirectCode") or 301
        if code not in (301, 302, 303, 307, 308):
            problems.append(("REDIRECT-CODE", fld + ".redirect.redirectCode", f"redirect code {code} is not one "
                             "Gateway API allows (301, 302, 303, 307, 308)"))
            code = 301
        port = redirect.get("port") if isinstance(redirect.get("port"), int) else None
        path = PathModifier("ReplaceFullPath", str(redirect["uri"])) if redirect.get("uri") else None
        filters.append(Filter("RequestRedirect", RequestRedirect(
            scheme=str(redirect["scheme"]) if redirect.get("scheme") else None,
            hostname=str(redirect["authority"]) if redirect.get("authority") else None,
            port=port, path=path, status_code=int(code)), prov))
    if isinstance(route.get("directResponse"), Mapping):
        status = route["directResponse"].get("status")
        problems.append(("DIRECT-RESPONSE", fld + ".directResponse", f"Istio answers {status} itself; Gateway API "
                         "has no fixed response"))
        answers = False
    rewrite = as_map(route.get("rewrite"))
    regex_rewrite = None
    if rewrite.get("uriRegexRewrite"):
        rx = as_map(rewrite["uriRegexRewrite"])
        pattern, substitution = rx.get("match"), rx.get("rewrite")
        if not isinstance(pattern, str) or not pattern or not isinstance(substitution, str) or \
                regex_rewrite_path(pattern, substitution, "/") is None:
            problems.append(("REWRITE-REGEX", fld + ".rewrite.uriRegexRewrite", "the regex rewrite needs a valid "
                             "match pattern and a rewrite (Istio rejects the VirtualService)"))
        else:
            regex_rewrite = (pattern, substitution)
    filters += _header_filters(route.get("headers"), prov)
    filters += _mirrors(route, namespace, rs, prov, problems, fld)
    if isinstance(route.get("corsPolicy"), Mapping):
        filters.append(Filter("CORS", _cors(route["corsPolicy"], problems, fld + ".corsPolicy"), prov))
        problems.append(("CORS", fld + ".corsPolicy", "Envoy answers a preflight from an allowed origin with the "
                         "allowed methods and headers comma-joined and no max-age unless set, and passes "
                         "preflights from other origins to the backend; the Gateway's CORS filter answers every "
                         "preflight itself"))
    timeout = duration_ms(route.get("timeout"))
    retries = route.get("retries") if isinstance(route.get("retries"), Mapping) else None
    per_try = duration_ms(retries.get("perTryTimeout")) if retries else None
    timeouts = None
    if timeout or per_try:
        timeouts = Timeouts(request=gateway_duration(timeout) if timeout else None,
                            backend_request=gateway_duration(per_try) if per_try else None)
    if retries is None:
        if backends:
            intents.append(i.Retries(on=DEFAULT_RETRY_ON, attempts=3, provenance=prov, implicit=True))
    elif isinstance(retries.get("attempts"), int) and retries["attempts"] > 0:
        on = tuple(s.strip() for s in str(retries.get("retryOn") or ",".join(DEFAULT_RETRY_ON)).split(",") if s)
        intents.append(i.Retries(on=on, attempts=retries["attempts"] + 1, provenance=replace(
            prov, field=fld + ".retries")))
    return Action(tuple(backends), tuple(filters), str(rewrite["uri"]) if rewrite.get("uri") else None,
                  str(rewrite["authority"]) if rewrite.get("authority") else None, regex_rewrite, timeouts,
                  tuple(intents), answers, tuple(problems))


def regex_rewrite_path(pattern: str, substitution: str, path: str) -> str | None:
    """``path`` after Envoy's regex_rewrite (every match of ``pattern`` replaced, ``\\N`` naming
    group N); None when the pattern or the substitution is not valid."""
    try:
        return re.sub(pattern, re.sub(r"\\(\d)", r"\\g<\1>", substitution), path)
    except (re.error, IndexError):
        return None


def _regex_modifier(pattern: str, substitution: str, matches: Sequence[RouteMatch]) -> PathModifier | None:
    """The Gateway path modifier doing what a uriRegexRewrite does to every request of
    ``matches``, or None when there is none: ``/.*`` -> a fixed path and an exact path rewrite
    to one path (ReplaceFullPath); ``^PREFIX(.*)`` -> ``NEW\\1`` on a PathPrefix PREFIX is ReplacePrefixMatch
    NEW (a PREFIX ending in / with a NEW ending in /, or neither, NEW not /)."""
    if re.fullmatch(r"\^?/\.\*\$?", pattern) and substitution.startswith("/") and "\\" not in substitution:
        return PathModifier("ReplaceFullPath", substitution)  # the whole path, whatever it is
    if len(matches) != 1 or matches[0].path is None:
        return None
    path = matches[0].path
    if path.type == "Exact":
        out = regex_rewrite_path(pattern, substitution, path.value)
        return PathModifier("ReplaceFullPath", out) if out and out.startswith("/") else None
    if path.type != "PathPrefix":
        return None
    m = re.fullmatch(r"\^((?:[A-Za-z0-9_~/-]|\\\.)*)\(\.\*\)\$?", pattern)
    sub = re.fullmatch(r"(/[A-Za-z0-9_.~/-]*)\\1", substitution)
    if m is None or sub is None:
        return None
    prefix, new = m.group(1).replace("\\.", "."), sub.group(1)
    if prefix != path.value or prefix == "/" or prefix.endswith("/") != new.endswith("/") or new == "/":
        return None
    return PathModifier("ReplacePrefixMatch", new.rstrip("/") or "/")


def rule_for(matches: Sequence[RouteMatch], action: Action,
             provenance: tuple[Provenance, ...]) -> tuple[Rule, str, str]:
    """The Gateway API rule for ``matches`` (all of one path kind) doing ``action``, and the
    code and message of what differs about its path rewrite ("" when nothing): REWRITE-ROOT
    (a slash more), REWRITE-REGEX (a regex rewrite with no Gateway form, left out)."""
    filters = list(action.filters)
    problem = code = ""
    if action.rewrite_regex is not None:
        regex_mod = _regex_modifier(*action.rewrite_regex, matches)
        if regex_mod is None:
            code = "REWRITE-REGEX"
            problem = (f"Istio rewrites the path by the regex {action.rewrite_regex[0]} -> "
                       f"{action.rewrite_regex[1]}; Gateway API has no regex rewrite and no ReplacePrefixMatch or "
                       "ReplaceFullPath does the same for these matches")
        if regex_mod is not None or action.rewrite_host is not None:
            prov = provenance[0] if provenance else None
            filters.insert(0, Filter("URLRewrite", URLRewrite(action.rewrite_host, regex_mod), prov))
    elif action.rewrite_uri is not None or action.rewrite_host is not None:
        modifier = None
        if action.rewrite_uri is not None:
            path = matches[0].path if matches else None
            if path is not None and path.type == "PathPrefix":
                modifier = PathModifier("ReplacePrefixMatch", action.rewrite_uri)
                if path.value == "/" and not action.rewrite_uri.endswith("/"):
                    problem = (f"Istio puts {action.rewrite_uri} in place of the leading / (/x -> "
                               f"{action.rewrite_uri}x); the Gateway inserts a slash")
            elif path is None:
                matches = [replace(m, path=PathMatch("PathPrefix", "/")) for m in matches]
                modifier = PathModifier("ReplacePrefixMatch", action.rewrite_uri)
                if not action.rewrite_uri.endswith("/"):
                    problem = (f"Istio puts {action.rewrite_uri} in place of the leading / (/x -> "
                               f"{action.rewrite_uri}x); the Gateway inserts a slash")
            else:
                modifier = PathModifier("ReplaceFullPath", action.rewrite_uri)
        prov = provenance[0] if provenance else None
        filters.insert(0, Filter("URLRewrite", URLRewrite(action.rewrite_host, modifier), prov))
    rule = Rule(matches=tuple(matches), backends=action.backends, filters=tuple(filters), timeouts=action.timeouts,
                intents=action.intents, provenance=provenance)
    return rule, code or ("REWRITE-ROOT" if problem else ""), problem
