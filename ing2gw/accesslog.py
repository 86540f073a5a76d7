"""Read access logs as requests to replay: ingress-nginx's default format and nginx's
``combined`` format, streamed line by line (a million-line log is never held in memory).

ingress-nginx's default ``log-format-upstream``::

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name]
    [$proxy_alternative_upstream_name] $upstream_addr ...

nginx ``combined``: the same up to ``"$http_user_agent"``. Neither records the Host header;
it comes from an absolute-form request target when there is one, else from the
``upstream`` name (``namespace-service-port``) the caller can map back to hosts, else it is
left empty for the caller to fill in. Neither records the scheme either: unless the target
is absolute, the caller infers it (:data:`SchemeChooser`; ``verify`` replays both schemes
through the source model and keeps the one that gives the recorded status and upstream).
That inference may be left to where the line is replayed (a :class:`LogLine`, decided by
:func:`decide`), so that a forked replay worker does it rather than the process reading the log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from .errors import InputError
from .http import DEFAULT_PORTS
from .probes import Probe
from .resources import ResourceSet

__all__ = ["LogEntry", "LogLine", "SchemeChooser", "decide", "log_requests", "origin", "parse_access_log"]

_LINE = re.compile(
    r'^(?P<addr>\S+) \S+ \S+ \[(?P<time>[^\]]*)\] "(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" '
    r'(?P<status>\d{3}) \S+(?: "[^"\\]*(?:\\.[^"\\]*)*" "[^"\\]*(?:\\.[^"\\]*)*")?'
    r'(?: \S+ \S+ \[(?P<upstream>[^\]]*)\] \[(?P<alternative>[^\]]*)\])?'
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    line: int
    method: str
    scheme: str
    host: str  # "" when the log does not say
    path: str  # with query
    status: int
    upstream: str  # ingress-nginx's proxy_upstream_name ("" when absent)
    alternative: str  # the canary upstream, if the request went there
    scheme_recorded: bool = False  # the line gives the scheme (an absolute-form target)


def parse_access_log(lines: Iterable[str], errors: list[tuple[int, str]] | None = None) -> Iterator[LogEntry]:
    """Yield one entry per request line; unparsable lines go into ``errors`` as
    ``(line, reason)`` (at most 20 kept) and are skipped."""
    for number, raw in enumerate(lines, 1):
        text = raw.rstrip("\n")
        if not text.strip():
            continue
        m = _LINE.match(text)
        reason = ""
        parts: list[str] = []
        if m is None:
            reason = "not in ingress-nginx or combined log format"
        else:
            parts = m.group("request").split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                reason = f"request line {m.group('request')[:60]!r} is not METHOD TARGET HTTP/x"
        if reason or m is None:
            if errors is not None and len(errors) < 20:
                errors.append((number, reason))
            continue
        method, target, _ = parts
        scheme, host, path = "http", "", target
        if "://" in target:
            u = urlsplit(target)
            scheme, host = u.scheme or "http", u.netloc
            path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        yield LogEntry(
            line=number,
            method=method,
            scheme=scheme,
            host=host,
            path=path if path.startswith("/") else "/" + path,
            status=int(m.group("status")),
            upstream=(m.group("upstream") or "").strip("-"),
            alternative=(m.group("alternative") or "").strip("-"),
            scheme_recorded="://" in target,
        )


# (entry, host) -> (scheme to replay with, why the recorded status contradicts the replay or "")
SchemeChooser = Callable[[LogEntry, str], tuple[str, str]]


class LogLine(NamedTuple):
    """A log line whose scheme is still to be inferred: plain values (cheap to send to a
    worker), made a probe where it is replayed (its scheme by :func:`decide`)."""

    file: str
    line: int
    method: str
    host: str  # from the upstream name
    path: str  # with query
    status: int
    upstream: str
    alternative: str


def origin(line: int, status: int, scheme: str, inferred: bool, problem: str) -> str:
    """Where a replayed request came from: ``access log line N (status S[, SCHEME inferred])``
    and, when the replay contradicts the recorded status, why."""
    text = f"access log line {line} (status {status}" + (f", {scheme} inferred)" if inferred else ")")
    return text + (f"; {problem}" if problem else "")


def decide(line: LogLine, choose: SchemeChooser) -> tuple[str, str]:
    """(the scheme ``choose`` infers for ``line``, lower case; why the recorded status
    contradicts its replay, or ""). Depends on the line only through its method, host, path,
    status, upstream and alternative (what a replay worker remembers it by)."""
    entry = LogEntry(line.line, line.method, "http", "", line.path, line.status, line.upstream, line.alternative)
    scheme, problem = choose(entry, line.host)
    return scheme.lower(), problem


def log_requests(path: str, rs: ResourceSet, skipped: list[str], choose: SchemeChooser | None = None,
                 contradicted: list[str] | None = None, defer: bool = False) -> Iterator[tuple[Probe | LogLine, str]]:
    """Requests from an access log, streamed, in their light form (built where they are
    replayed); the host comes from the URL or the upstream name. A line without a scheme
    (ingress-nginx logs none) gets the one ``choose`` infers, and a recorded status the replay
    contradicts goes into ``contradicted`` (``file:line: why``, at most 50); lines that cannot
    be replayed go into ``skipped`` with the reason. With ``defer`` (and ``choose``), such a
    line is yielded as a :class:`LogLine` (origin "") for the replay to :func:`decide`: the
    contradictions are then the replay's to collect."""
    upstream_hosts: dict[str, str] = {}
    for ing in sorted(rs.ingresses, key=lambda i: i.ref):
        for rule in ing.rules:
            for p in rule.paths:
                b = p.backend
                port = b.port_number if b.port_number is not None else b.port_name
                key = f"{ing.namespace}-{b.service}-{port}"
                if rule.host and not rule.host.startswith("*") and key not in upstream_hosts:
                    upstream_hosts[key] = rule.host
    errors: list[tuple[int, str]] = []
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for entry in parse_access_log(fh, errors):
            host = entry.host or upstream_hosts.get(entry.upstream, "")
            if not host:
                if len(skipped) < 20:
                    skipped.append(f"{path}:{entry.line}: no Host recorded and upstream {entry.upstream or '-'} "
                                   "names no Ingress host")
                continue
            scheme, problem = entry.scheme, ""
            if not entry.scheme_recorded and choose is not None:
                if defer:
                    yield LogLine(path, entry.line, entry.method, host, entry.path, entry.status, entry.upstream,
                                  entry.alternative), ""
                    continue
                scheme, problem = choose(entry, host)
            scheme = scheme.lower()
            if scheme not in DEFAULT_PORTS:
                skipped.append(f"{path}:{entry.line}: unsupported scheme {scheme!r} (use http or https)")
                continue
            if problem and contradicted is not None and len(contradicted) < 50:
                contradicted.append(f"{path}:{entry.line}: {problem}")
            yield (Probe(scheme, host, entry.path, method=entry.method.upper(), client=None),
                   origin(entry.line, entry.status, scheme, not entry.scheme_recorded, problem))
    skipped.extend(f"{path}:{line}: {reason}" for line, reason in errors)
