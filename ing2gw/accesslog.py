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
That inference is left to where the line is replayed (a :class:`LogLine`, decided by
:func:`decide`), so that a forked replay worker does it rather than the process reading the log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from .errors import InputError
from .http import DEFAULT_PORTS
from .resources import ResourceSet

__all__ = ["LogEntry", "LogLine", "SchemeChooser", "decide", "log_requests", "origin"]

_LINE = re.compile(
    r'^(?P<addr>\S+) \S+ \S+ \[(?P<time>[^\]]*)\] "(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" '
    r'(?P<status>\d{3}) \S+(?: "[^"\\]*(?:\\.[^"\\]*)*" "[^"\\]*(?:\\.[^"\\]*)*")?'
    r'(?: \S+ \S+ \[(?P<upstream>[^\]]*)\] \[(?P<alternative>[^\]]*)\])?'
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A log line as a scheme is inferred for it (:data:`SchemeChooser`)."""

    line: int
    method: str
    scheme: str
    host: str  # "" when the log does not say
    path: str  # with query
    status: int
    upstream: str  # ingress-nginx's proxy_upstream_name ("" when absent)
    alternative: str  # the canary upstream, if the request went there
    scheme_recorded: bool = False  # the line gives the scheme (an absolute-form target)


def _parse(text: str) -> tuple[str, str, str, str, int, str, str] | str | None:
    """(method, scheme recorded or "", host recorded or "", path with query, status,
    upstream, alternative) of one log line, None for a blank line, else why it is none."""
    m = _LINE.match(text)
    if m is None:
        return None if not text.strip() else "not in ingress-nginx or combined log format"
    request, status, upstream, alternative = m.group("request", "status", "upstream", "alternative")
    parts = request.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return f"request line {request[:60]!r} is not METHOD TARGET HTTP/x"
    method, path, _ = parts
    scheme = host = ""
    if "://" in path:
        u = urlsplit(path)
        scheme, host = u.scheme.lower() or "http", u.netloc
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    if not path.startswith("/"):
        path = "/" + path
    return (method, scheme, host, path, int(status), upstream.strip("-") if upstream else "",
            alternative.strip("-") if alternative else "")


# (entry, host) -> (scheme to replay with, why the recorded status contradicts the replay or "")
SchemeChooser = Callable[[LogEntry, str], tuple[str, str]]


class LogLine(NamedTuple):
    """A log line to replay: plain values (cheap to send to a worker), made a probe where it
    is replayed (its scheme by :func:`decide`)."""

    file: str
    line: int
    method: str
    host: str  # from the URL or the upstream name
    path: str  # with query
    status: int
    upstream: str
    alternative: str
    scheme: str = ""  # recorded (an absolute-form target, lower case), else "": to infer


def origin(line: int, status: int, scheme: str, inferred: bool, problem: str) -> str:
    """Where a replayed request came from: ``access log line N (status S[, SCHEME inferred])``
    and, when the replay contradicts the recorded status, why."""
    text = f"access log line {line} (status {status}" + (f", {scheme} inferred)" if inferred else ")")
    return text + (f"; {problem}" if problem else "")


def decide(line: LogLine, choose: SchemeChooser | None) -> tuple[str, str]:
    """(the scheme to replay ``line`` with: the recorded one, else the one ``choose`` infers,
    else http; why the recorded status contradicts the inferred scheme's replay, or "").
    Depends on the line only through its method, host, path, status, upstream, alternative
    and recorded scheme (what a replay worker remembers it by)."""
    if line.scheme or choose is None:
        return line.scheme or "http", ""
    entry = LogEntry(line.line, line.method, "http", "", line.path, line.status, line.upstream, line.alternative)
    scheme, problem = choose(entry, line.host)
    return scheme.lower(), problem


def log_requests(path: str, rs: ResourceSet, skipped: list[str]) -> Iterator[tuple[LogLine, str]]:
    """The requests of an access log, streamed, as :class:`LogLine` (origin "": made where
    they are replayed); the host comes from the URL or the upstream name. Lines that cannot
    be replayed go into ``skipped`` with the reason."""
    upstream_hosts: dict[str, str] = {}
    for ing in sorted(rs.ingresses, key=lambda i: i.ref):
        for rule in ing.rules:
            for p in rule.paths:
                b = p.backend
                port = b.port_number if b.port_number is not None else b.port_name
                key = f"{ing.namespace}-{b.service}-{port}"
                if rule.host and not rule.host.startswith("*") and key not in upstream_hosts:
                    upstream_hosts[key] = rule.host
    errors: list[tuple[int, str]] = []  # unparsable lines (the first 20), listed after the others
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, 1):
            fields = _parse(raw.rstrip("\n"))
            if fields is None:
                continue
            if isinstance(fields, str):
                if len(errors) < 20:
                    errors.append((number, fields))
                continue
            method, scheme, host, target, status, upstream, alternative = fields
            host = host or upstream_hosts.get(upstream, "")
            if not host:
                if len(skipped) < 20:
                    skipped.append(f"{path}:{number}: no Host recorded and upstream {upstream or '-'} "
                                   "names no Ingress host")
                continue
            if scheme and scheme not in DEFAULT_PORTS:
                skipped.append(f"{path}:{number}: unsupported scheme {scheme!r} (use http or https)")
                continue
            yield LogLine(path, number, method, host, target, status, upstream, alternative, scheme), ""
    skipped.extend(f"{path}:{line}: {reason}" for line, reason in errors)
