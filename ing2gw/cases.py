"""Case files: requests with expected outcomes, and the judge that compares them.

This module knows nothing about any particular router. It reads a case file
(``docs/case-format.md``: YAML or JSON, a list or ``{cases: [...]}``), turns each case's
``request`` into an :class:`~ing2gw.http.Request`, and compares an outcome -- the JSON form
every router produces (``status``, ``backend``, ``weights``, ``upstream``, ``redirect``,
``responseHeaders`` ...) -- with the case's ``expect``. An ``expect`` field checks only
what it names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .enforce.timeouts import format_seconds, parse_duration
from .errors import InputError
from .http import DEFAULT_PORTS, Headers, MeshSource, Request, split_host_port
from .yamlio import Document, parse_documents, read_text

__all__ = [
    "Case",
    "CaseClock",
    "CaseResult",
    "compare",
    "format_results_text",
    "load_cases",
    "parse_cases",
    "request_of",
    "results_json",
    "run_cases",
]

CASE_FIELDS = frozenset({"name", "request", "expect", "repeat"})
REQUEST_FIELDS = frozenset({
    "method", "scheme", "host", "port", "path", "headers", "gateway", "sni", "responseHeaders", "client", "at",
    "mesh",
    "backendDelay",
})
MAX_REPEAT = 100_000
EXPECT_FIELDS = frozenset({
    "status", "reason", "backend", "path", "host", "method", "headers", "absentHeaders",
    "redirect", "responseHeaders", "absentResponseHeaders", "weights", "grpcStatus", "mirrors", "policy",
})
REDIRECT_FIELDS = frozenset({"scheme", "host", "port", "path", "statusCode"})
WEIGHT_TOLERANCE = 0.5  # percentage points


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    request: Mapping[str, Any]
    expect: Mapping[str, Any]
    origin: str  # "file:line"
    built: Request | None = field(default=None, compare=False, repr=False)  # set by parse_cases
    repeat: int = 1  # the request is sent this many times at once; expect judges the last answer
    at: float | None = None  # seconds on the case file's clock (None: the previous case's time)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    request: Mapping[str, Any]  # the request with every default filled in
    outcome: Mapping[str, Any]
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "request": dict(self.request),
            "outcome": dict(self.outcome),
            "pass": self.passed,
            "failures": list(self.failures),
        }


# -- reading ------------------------------------------------------------------------------

def _case_items(docs: Sequence[Document]) -> list[tuple[Any, str]]:
    items: list[tuple[Any, str]] = []
    for doc in docs:
        if set(doc.obj) == {"cases"}:
            cases = doc.obj["cases"]
            if not isinstance(cases, list):
                raise InputError(f"{doc.origin}: 'cases' must be a list")
            items.extend((c, doc.origin) for c in cases)
        else:
            items.append((doc.obj, doc.origin))
    return items


def parse_cases(text: str, path: str) -> list[Case]:
    """Cases from the text of a case file (``path`` names it in errors)."""
    if not text.strip():
        return []
    cases: list[Case] = []
    for index, (item, origin) in enumerate(_case_items(parse_documents(text, path))):
        where = f"{origin}: case {index + 1}"
        if not isinstance(item, Mapping):
            raise InputError(f"{where}: a case must be a mapping")
        unknown = item.keys() - CASE_FIELDS
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        name = item.get("name", f"case {index + 1}")
        request = item.get("request")
        expect = item.get("expect") if item.get("expect") is not None else {}
        if not isinstance(request, Mapping):
            raise InputError(f"{where} ({name}): 'request' must be a mapping")
        if not isinstance(expect, Mapping):
            raise InputError(f"{where} ({name}): 'expect' must be a mapping")
        for label, fields, given in (("request", REQUEST_FIELDS, request),
                                     ("expect", EXPECT_FIELDS, expect)):
            bad = given.keys() - fields
            if bad:
                raise InputError(f"{where} ({name}): unknown {label} field(s) "
                                 f"{', '.join(sorted(map(str, bad)))}")
        if not isinstance(request.get("host"), str) or not request["host"]:
            raise InputError(f"{where} ({name}): request.host is required")
        redirect = expect.get("redirect")
        if redirect is not None and (
            not isinstance(redirect, Mapping) or set(redirect) - REDIRECT_FIELDS
        ):
            raise InputError(f"{where} ({name}): expect.redirect takes "
                             f"{', '.join(sorted(REDIRECT_FIELDS))}")
        repeat = item.get("repeat", 1)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            raise InputError(f"{where} ({name}): repeat must be a whole number from 1 to {MAX_REPEAT}")
        at = request.get("at")
        if at is not None and (isinstance(at, bool) or not isinstance(at, int | float) or at < 0):
            raise InputError(f"{where} ({name}): request.at must be a number of seconds, 0 or more")
        if at is not None and cases and at < _time(cases):
            raise InputError(f"{where} ({name}): request.at {at} is before the previous case's time "
                             f"{_time(cases)}: the case file's clock never goes back")
        case = Case(str(name), request, expect, origin, repeat=repeat, at=at)
        # validates field types now, with the case's origin; kept, so it is built once
        cases.append(Case(case.name, request, expect, origin, request_of(case), repeat, at))
    return cases


def _time(cases: Sequence[Case]) -> float:
    """The case file's clock at the last of ``cases``."""
    return next((c.at for c in reversed(cases) if c.at is not None), 0.0)


class CaseClock:
    """The case file's clock: seconds since the first case, moved by each case's ``at``
    (rate limits count requests on it)."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def load_cases(path: str) -> list[Case]:
    """Read a case file (``-`` is not supported: stdin carries the resources)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_cases(read_text(data, path), path)


def _header_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InputError(f"{where} must be a mapping of header names to values")
    pairs: list[tuple[str, str]] = []
    for name, v in value.items():
        values = v if isinstance(v, list) else [v]
        pairs.extend((str(name), "" if x is None else str(x)) for x in values)
    return pairs


def request_of(case: Case, gateway: str | None = None) -> Request:
    """The case's request with defaults: GET, http, the scheme's port, ``/``, no headers.
    ``gateway`` (from the command line) applies when the case names none."""
    r = case.request
    if case.built is not None:
        if gateway is None or r.get("gateway") or case.built.mesh is not None:
            return case.built
        return replace(case.built, gateway=gateway)
    where = f"{case.origin}: case {case.name!r}: request"
    port = r.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise InputError(f"{where}.port must be an integer")
    for key in ("method", "scheme", "path", "gateway", "sni"):
        if r.get(key) is not None and not isinstance(r[key], str):
            raise InputError(f"{where}.{key} must be a string")
    headers = _header_pairs(r.get("headers"), f"{where}.headers")
    host = str(r["host"])
    mesh = _mesh_of(r.get("mesh"), host, where)
    if mesh is not None and r.get("gateway"):
        raise InputError(f"{where}: a mesh request goes to a Service, not to a gateway (drop one of them)")
    if mesh is not None:  # host names the Service dialled; a Host header may say otherwise
        host = next((v for k, v in headers if k.lower() == "host"), host)
        headers = [(k, v) for k, v in headers if k.lower() != "host"]
    client = r.get("client")
    if client is not None:
        try:
            client = str(ipaddress.ip_address(str(client)))
        except ValueError:
            raise InputError(f"{where}.client: {client!r} is not an IP address") from None
    delay = _delay(r.get("backendDelay"), f"{where}.backendDelay")
    try:
        return Request.build(
            host=host,
            path=r.get("path") or "/",
            method=r.get("method") or "GET",
            scheme=r.get("scheme") or "http",
            port=port,
            headers=headers,
            sni=r.get("sni"),
            gateway=r.get("gateway") or (gateway if mesh is None else None),
            response_headers=(
                Headers(_header_pairs(r["responseHeaders"], f"{where}.responseHeaders"))
                if r.get("responseHeaders") is not None else None
            ),
            client=client,
            mesh=mesh,
            backend_delay=delay,
        )
    except InputError:
        raise
    except Exception as exc:  # UsageError from Request.build: bad scheme and the like
        raise InputError(f"{where}: {exc}") from None


def _mesh_of(value: Any, host: str, where: str) -> MeshSource | None:
    """``mesh: {namespace: CLIENT_NS}``: an east-west request from that namespace to the
    Service ``host`` names."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"namespace"} or not isinstance(
            value.get("namespace"), str) or not value["namespace"]:
        raise InputError(f"{where}.mesh must be {{namespace: CLIENT_NAMESPACE}}")
    return MeshSource(value["namespace"], host)


def _delay(value: Any, where: str) -> float | None:
    """``backendDelay``: a GEP-2257 duration (``1500ms``) or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, int | float):
        seconds = float(value) if value >= 0 else None
    else:
        seconds = parse_duration(str(value))
    if seconds is None:
        raise InputError(f"{where}: {value!r} is not a duration (e.g. 1500ms, 2s) or a number of seconds")
    return seconds


def request_dict(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "scheme": request.scheme,
        "host": request.host,
        "port": request.port,
        "path": request.target,
        "headers": request.headers.as_dict(),
        "gateway": request.gateway,
        "sni": request.sni,
        **({"client": request.client} if request.client else {}),
        **({"mesh": {"namespace": request.mesh.namespace, "service": request.mesh.service}}
           if request.mesh is not None else {}),
        **({"backendDelay": format_seconds(request.backend_delay)} if request.backend_delay is not None else {}),
    }


# -- judging ------------------------------------------------------------------------------

def _lower_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k).lower(): str(v) for k, v in value.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _redirect_failures(got: Any, want: Mapping[str, Any]) -> list[str]:
    if not isinstance(got, Mapping):
        return ["redirect: expected a redirect, got none"]
    failures: list[str] = []
    location = str(got.get("location") or "")
    parts = urlsplit(location)
    scheme = parts.scheme
    try:
        port = parts.port
    except ValueError:
        port = None
    if "scheme" in want and want["scheme"] is not None and scheme != str(want["scheme"]).lower():
        failures.append(f"redirect.scheme: expected {want['scheme']}, got {scheme}")
    if want.get("host") is not None and (parts.hostname or "") != str(want["host"]).lower():
        failures.append(f"redirect.host: expected {want['host']}, got {parts.hostname}")
    if "port" in want:
        if want["port"] is None:
            if port is not None and port != DEFAULT_PORTS.get(scheme):
                failures.append(f"redirect.port: expected the default port, got {port}")
        elif (port if port is not None else DEFAULT_PORTS.get(scheme)) != want["port"]:
            failures.append(f"redirect.port: expected {want['port']}, got {port}")
    if want.get("path") is not None:
        expected = str(want["path"])
        actual = parts.path + (f"?{parts.query}" if "?" in expected and parts.query else "")
        if actual != expected:
            failures.append(f"redirect.path: expected {expected}, got {actual}")
    if "statusCode" in want and got.get("statusCode") != want["statusCode"]:
        failures.append(f"redirect.statusCode: expected {want['statusCode']}, "
                        f"got {got.get('statusCode')}")
    return failures


def compare(outcome: Mapping[str, Any], expect: Mapping[str, Any]) -> list[str]:
    """Failures of ``outcome`` (the JSON form) against ``expect``; empty when it passes."""
    failures: list[str] = []
    upstream = outcome.get("upstream")
    up = upstream if isinstance(upstream, Mapping) else None
    for key in ("status", "reason", "grpcStatus", "policy"):
        if key in expect and outcome.get(key) != expect[key]:
            failures.append(f"{key}: expected {expect[key]}, got {outcome.get(key)}")
    if "backend" in expect:
        want = expect["backend"]
        weights = outcome.get("weights") or {}
        got = outcome.get("backend")
        if want is None:
            if got is not None:
                failures.append(f"backend: expected none, got {got}")
        elif got is None:
            failures.append(f"backend: expected {want}, got none")
        elif len([w for w in weights.values() if w]) > 1:
            if not weights.get(str(want)):
                failures.append(f"backend: expected {want} to get a share of the traffic, "
                                f"shares are {dict(weights)}")
        elif got != str(want):
            failures.append(f"backend: expected {want}, got {got}")
    if "weights" in expect:
        want_w = expect["weights"] if isinstance(expect["weights"], Mapping) else {}
        got_w = outcome.get("weights") or {}
        for name in sorted(set(map(str, want_w)) | {k for k, v in got_w.items() if v}):
            w = float(want_w.get(name, 0) or 0)
            g = float(got_w.get(name, 0) or 0)
            if abs(w - g) > WEIGHT_TOLERANCE:
                failures.append(f"weights[{name}]: expected {w:g}, got {g:g}")
    needs_upstream = [k for k in ("path", "host", "method", "headers", "absentHeaders")
                      if k in expect]
    if needs_upstream and up is None:
        failures.append(f"{', '.join(needs_upstream)}: expected a request to a backend, "
                        "none was sent")
    elif up is not None:
        if "path" in expect and up.get("path") != expect["path"]:
            failures.append(f"path: expected {expect['path']}, got {up.get('path')}")
        if "method" in expect and up.get("method") != str(expect["method"]).upper():
            failures.append(f"method: expected {expect['method']}, got {up.get('method')}")
        if expect.get("host") is not None:
            want_host = str(expect["host"]).lower()
            got_host = str(up.get("host") or "").lower()
            if split_host_port(want_host)[1] is None:
                got_host = split_host_port(got_host)[0]
            if got_host != want_host:
                failures.append(f"host: expected {expect['host']}, got {up.get('host')}")
        if expect.get("headers") or expect.get("absentHeaders"):
            got_headers = _lower_map(up.get("headers"))
            for name, value in (expect.get("headers") or {}).items():
                actual = got_headers.get(str(name).lower())
                if actual != _text(value):
                    failures.append(f"headers[{name}]: expected {_text(value)!r}, got {actual!r}")
            for name in expect.get("absentHeaders") or ():
                if str(name).lower() in got_headers:
                    failures.append(f"absentHeaders: {name} is present")
    if "redirect" in expect:
        if expect["redirect"] is None:
            if outcome.get("redirect") is not None:
                failures.append("redirect: expected none, got "
                                f"{outcome['redirect'].get('location')}")
        else:
            failures.extend(_redirect_failures(outcome.get("redirect"), expect["redirect"]))
    if expect.get("responseHeaders") or expect.get("absentResponseHeaders"):
        response = _lower_map(outcome.get("responseHeaders"))
        for name, value in (expect.get("responseHeaders") or {}).items():
            actual = response.get(str(name).lower())
            if actual != _text(value):
                failures.append(f"responseHeaders[{name}]: expected {_text(value)!r}, got {actual!r}")
        for name in expect.get("absentResponseHeaders") or ():
            if str(name).lower() in response:
                failures.append(f"absentResponseHeaders: {name} is present")
    if "mirrors" in expect:
        want_m = sorted(str(m) for m in expect["mirrors"] or ())
        got_m = sorted(str(m.get("backend")) for m in outcome.get("mirrors") or ()
                       if isinstance(m, Mapping) and not m.get("problem"))
        if want_m != got_m:
            failures.append(f"mirrors: expected {want_m}, got {got_m}")
    return failures


def run_cases(
    cases: Iterable[Case],
    route: Callable[[Request], Mapping[str, Any]],
    gateway: str | None = None,
    clock: CaseClock | None = None,
) -> list[CaseResult]:
    """Route every case with ``route`` (request -> outcome JSON form) and judge it; a case
    with ``repeat`` is routed that many times and its last answer judged. ``clock`` is set to
    each case's time before it is routed."""
    results: list[CaseResult] = []
    for case in cases:
        request = request_of(case, gateway)
        if clock is not None and case.at is not None:
            clock.now = float(case.at)
        for _ in range(case.repeat - 1):
            route(request)
        outcome = route(request)
        results.append(CaseResult(case.name, request_dict(request), outcome,
                                  tuple(compare(outcome, case.expect))))
    return results


def results_json(results: Sequence[CaseResult]) -> dict[str, Any]:
    passed = sum(1 for r in results if r.passed)
    return {
        "results": [r.to_dict() for r in results],
        "summary": {"cases": len(results), "passed": passed, "failed": len(results) - passed},
    }


def format_results_text(results: Sequence[CaseResult]) -> str:
    lines: list[str] = []
    for r in results:
        o = r.outcome
        got = f"{o.get('status')} {o.get('backend') or ''}".rstrip()
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.name}  ({got})")
        lines.extend(f"      {f}" for f in r.failures)
    passed = sum(1 for r in results if r.passed)
    lines.append(f"{len(results)} cases, {passed} passed, {len(results) - passed} failed")
    return "\n".join(lines) + "\n"
