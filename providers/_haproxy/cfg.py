"""The parts of an haproxy.cfg both HAProxy controllers render alike, written for the oracle.

A provider's renderer decides how a request finds its entry (map files and ``set-var``
lookups ending in ``var(txn.entry)``, the entry's id) and calls :func:`document` with them;
this module writes the rest the way the controllers do: ``global``/``defaults``, the
frontend's binds, each entry's ``http-request`` rules in haproxy's rule order under
``{ var(txn.entry) -m str ID }`` (CORS preflights and the body limit answered by
``http-request return``, as the controllers' Lua services and ``return`` rules answer them),
its ``http-response`` rules and CORS ``http-after-response`` rules, one backend per Service port
(each proxying to the echo server and naming itself in ``X-Ing2gw-Backend``) and the 404
default backend. Nothing here consults the model: haproxy itself evaluates every match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .model import Entry
from .policy import Cors, HaproxyPolicy
from .process import BACKEND_HEADER

__all__ = ["backend_id", "document", "entry_rules", "quote"]

ORACLE_USER = ("ing2gw", "ing2gw")  # the one user every oracle userlist accepts
FRONTEND_ANSWER = "txn.frontend_answer"  # set when haproxy-ingress's frontend redirects (no CORS there)


def quote(text: str) -> str:
    """A configuration word: spaces and quotes escaped."""
    return re.sub(r'([\s"\'\\#])', r"\\\1", text)


def backend_id(name: str | None) -> str:
    return "be_" + re.sub(r"[^A-Za-z0-9]", "_", name) if name else "be_unavailable"


def _networks(nets: Sequence[object]) -> str:
    return " ".join(str(n) for n in nets)


def _header_rules(kind: str, remove: Sequence[str], set_: Sequence[tuple[str, str]],
                  add: Sequence[tuple[str, str]], on: str) -> list[str]:
    return ([f"{kind} del-header {name} if {on}" for name in remove]
            + [f"{kind} set-header {name} {quote(value)} if {on}" for name, value in set_]
            + [f"{kind} add-header {name} {quote(value)} if {on}" for name, value in add])


_TOO_LARGE = "<html><body><h1>413 Request Entity Too Large</h1>The request is too large.</body></html>"


def _cors_rules(c: Cors, on: str) -> list[str]:
    """``http-after-response`` rules adding the CORS headers (every answer of the entry, haproxy's
    own preflight answer included) when the Origin is allowed."""
    if c.any_origin:
        allowed = "{ var(txn.origin) -m found }"
    else:
        tests = []
        if c.listed:
            tests.append(f"{{ var(txn.origin) -m str {' '.join(quote(o) for o in c.listed)} }}")
        if c.patterns:
            tests.append(f"{{ var(txn.origin) -m reg {' '.join(quote(p) for p in c.patterns)} }}")
        allowed = " || ".join(tests)
    after = "http-after-response set-header"
    value = "%[var(txn.origin)]" if c.echo_origin or not c.any_origin else "*"
    out = [f"{after} Access-Control-Allow-Origin {value} if {on} {a}" for a in allowed.split(" || ")]
    for name, text, var in (("Methods", c.methods_text, "txn.cors_method"), ("Headers", c.headers_text,
                                                                           "txn.cors_headers")):
        if c.echo_requested and text == "*":
            out += [f"{after} Access-Control-Allow-{name} %[var({var})] if {on} {a} {{ var({var}) -m found }}"
                    for a in allowed.split(" || ")]
        elif text:
            out += [f"{after} Access-Control-Allow-{name} {quote(text)} if {on} {a}" for a in allowed.split(" || ")]
    if c.credentials:
        out += [f"{after} Access-Control-Allow-Credentials true if {on} {a}" for a in allowed.split(" || ")]
    if c.expose_text:
        out += [f"{after} Access-Control-Expose-Headers {quote(c.expose_text)} if {on} {a}"
                for a in allowed.split(" || ")]
    if not c.max_age_preflight_only:
        out += [f"{after} Access-Control-Max-Age {c.max_age} if {on} {a}" for a in allowed.split(" || ")]
    if c.vary_origin and c.listed:
        out += [f"{after} Vary Origin if {on} {a}" for a in allowed.split(" || ")]
    return out


def _redirect_rules(e: Entry, on: str, https_port_default: int | None) -> list[str]:
    """The entry's redirects in the controller's order (see ``HaproxyPolicy.redirects_first``)."""
    pol = e.policy
    https: list[str] = []
    wanted = pol.ssl_redirect if pol.ssl_redirect is not None else e.tls
    if wanted:
        skip = "".join(f" !{{ path_beg {p} }}" for p in pol.ssl_redirect_exempt)
        port = pol.ssl_redirect_port if pol.ssl_redirect_port is not None else https_port_default
        where = f":{port}" if port not in (None, 443) else ""
        https.append(f"http-request redirect location https://%[req.hdr(host),field(1,:),lower]{where}"
                     f"%[capture.req.uri] code {pol.ssl_redirect_code} if {on} !{{ ssl_fc }}{skip}")
    root: list[str] = []
    if pol.app_root is not None:
        root.append(f"http-request redirect location {pol.app_root} code 302 if {on} {{ path / }}")
    other: list[str] = []
    red = pol.redirect
    if red is not None:
        if red.location is not None:
            other.append(f"http-request redirect location {red.location} code {red.code} if {on}")
        else:
            scheme = red.scheme or "%[ssl_fc,iif(https,http)]"
            host = red.hostname or "%[req.hdr(host),field(1,:),lower]"
            authority = f"{host}:{red.port}" if red.port is not None else host
            other.append(f"http-request redirect location {scheme}://{authority}%[capture.req.uri] code {red.code} "
                         f"if {on}")
    if not pol.redirects_first:
        return https + root + other
    root_https = [f"{line} {{ path / }}" for line in https] if root else []  # / goes to HTTPS before app-root
    # haproxy-ingress answers these in its frontend, before any backend: its CORS rules (the
    # backend's http-after-response) never see them; the mark keeps this file's CORS rules off.
    marked = [rule for line in root_https + root + other
              for rule in (f"http-request set-var({FRONTEND_ANSWER}) bool(true) if {line.partition(' if ')[2]}", line)]
    return marked + https


def entry_rules(e: Entry, rid: str, https_port_default: int | None) -> tuple[list[str], list[str], list[str]]:
    """(http-request lines, http-response lines, extra sections) for one entry."""
    pol: HaproxyPolicy = e.policy
    on = f"{{ var(txn.entry) -m str {rid} }}"
    req: list[str] = []
    resp: list[str] = []
    extra: list[str] = []
    if pol.redirects_first:
        req += _redirect_rules(e, on, https_port_default)
    if pol.client_header:
        req.append(f"http-request set-src req.hdr({pol.client_header}) if {on}")
    if pol.deny:
        req.append(f"http-request deny deny_status 403 if {on} {{ src {_networks(pol.deny)} }}")
    if pol.allow:
        req.append(f"http-request deny deny_status 403 if {on} !{{ src {_networks(pol.allow)} }}")
    if pol.basic_auth is not None:
        extra += [f"userlist ul_{rid}", f"    user {ORACLE_USER[0]} insecure-password {ORACLE_USER[1]}", ""]
        skip = " !METH_OPTIONS" if pol.cors is not None and pol.cors.options_skip_auth else ""
        req.append(f"http-request auth realm {quote(pol.basic_auth[1])} if {on}{skip} !{{ http_auth(ul_{rid}) }}")
    rl = pol.rate_limit
    if rl is not None:
        extra += [f"backend st_{rid}",
                  f"    stick-table type ip size 100k expire {max(rl.period_ms, 1000)}ms "
                  f"store http_req_rate({rl.period_ms}ms)", ""]
        exempt = f" !{{ src {_networks(rl.exempt)} }}" if rl.exempt else ""
        req.append(f"http-request track-sc0 src table st_{rid} if {on}{exempt}")
        req.append(f"http-request deny deny_status {rl.status} if {on}{exempt} "
                   f"{{ sc_http_req_rate(0,st_{rid}) gt {rl.requests} }}")
    if not pol.redirects_first:
        req += _redirect_rules(e, on, https_port_default)
    c = pol.cors
    if c is not None and c.preflight:
        age = f" hdr Access-Control-Max-Age {c.max_age}" if c.max_age_preflight_only else ""
        req.append(f"http-request return status 204 content-type text/plain{age} if {on} METH_OPTIONS")
    if pol.body_limit is not None:
        req.append(f"http-request return status 413 content-type text/html string {quote(_TOO_LARGE)} "
                   f"hdr Cache-Control no-cache if {on} {{ req.body_size,sub({pol.body_limit}) gt 0 }}")
    req += _header_rules("http-request", pol.request_remove, pol.request_set, pol.request_add, on)
    if pol.set_host is not None:
        req.append(f"http-request set-header Host {quote(pol.set_host)} if {on}")
    if pol.rewrite is not None:
        for pattern, fmt in pol.rewrite.rules:
            req.append(f"http-request replace-path {quote(pattern)} {quote(fmt)} if {on}")
    if pol.rewrite_target is not None:
        target = pol.rewrite_target
        glue = "/?" if target.endswith("/") else ""
        req.append(f"http-request replace-path (?i)^{re.escape(e.path)}{glue}(.*) {quote(target)}\\1 if {on}")
    resp += _header_rules("http-response", pol.response_remove, pol.response_set, pol.response_add, on)
    if pol.hsts:
        resp.append(f"http-response set-header Strict-Transport-Security {quote(pol.hsts)} if {on} {{ ssl_fc }}")
    if pol.cors is not None:
        resp += _cors_rules(pol.cors, f"{on} !{{ var({FRONTEND_ANSWER}) -m bool }}" if pol.redirects_first else on)
    return req, resp, extra


def document(entries: Sequence[Entry], lookup: Sequence[str], https_port_default: int | None = None) -> str:
    """The whole haproxy.cfg: ``lookup`` are the frontend lines that set ``txn.entry``."""
    rids = {id(e): f"r{i}" for i, e in enumerate(entries)}
    req: list[str] = []
    resp: list[str] = []
    extra: list[str] = []
    for e in entries:
        r, s, x = entry_rules(e, rids[id(e)], https_port_default)
        req += r
        resp += s
        extra += x
    backends = sorted({e.backend for e in entries if e.backend})
    lines = [
        "global", "    maxconn 512", "",
        "defaults", "    mode http", "    timeout connect 5s", "    timeout client 30s", "    timeout server 30s", "",
        "frontend fe", "    bind @HTTP@", "    bind @HTTPS@ ssl crt @DIR@/crt.pem",
        "    http-request set-var(txn.origin) req.hdr(origin)",
        "    http-request set-var(txn.cors_method) req.fhdr(Access-Control-Request-Method)",
        "    http-request set-var(txn.cors_headers) req.fhdr(Access-Control-Request-Headers)",
        *[f"    {line}" for line in lookup],
        *[f"    {line}" for line in req],
        *[f"    {line}" for line in resp],
        *[f"    use_backend {backend_id(e.backend)} if {{ var(txn.entry) -m str {rids[id(e)]} }}" for e in entries],
        "    default_backend be_default404", "",
        "backend be_default404", "    http-request return status 404", "",
        "backend be_unavailable", "    http-request return status 503", "",
    ]
    for b in backends:
        lines += [f"backend {backend_id(b)}", f"    http-request set-header {BACKEND_HEADER} {b}",
                  "    server echo @ECHO@", ""]
    return "\n".join(lines + extra) + "\n"


def entry_ids(entries: Sequence[Entry]) -> dict[int, str]:
    """The id :func:`document` gives each entry (by object identity)."""
    return {id(e): f"r{i}" for i, e in enumerate(entries)}
