"""OpenAPI 3 documents -> HTTPRoutes (``ing2gw convert --openapi FILE --host H --backend SVC:PORT``).

Every operation of the document's ``paths`` becomes a match: the path (prefixed with the path of
``servers[0].url``, server variables at their defaults) as an ``Exact`` match, or, when it is
templated (``/pets/{id}``, ``/files/{name}.json``), a ``RegularExpression`` in which each
``{param}`` matches one non-empty segment part (``[^/]+``) and the rest is literal; the
operation's method as the match's method. One rule per path, all to ``--backend``, in one
HTTPRoute for ``--host`` (the emitter splits it to the Gateway API limits: 16 rules per route,
64 matches per rule). What the document says and a route cannot (parameter schemas, required
query parameters and headers, security schemes) is noted.

A file that is not an OpenAPI 3 document stops the run with one line naming the file, the line
and what is wrong (exit 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InputError, UsageError
from .ir import IR, BackendRef, GatewayRef, PathMatch, Provenance, Route, RouteMatch, Rule
from .names import host_slug
from .notes import Fidelity, Level, Note, Notes
from .yamlio import parse_documents, read_text

__all__ = ["METHODS", "openapi_ir", "parse_backend", "template_regex"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_HOST = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_TEMPLATE = re.compile(r"\{([^{}/]+)\}")
_BACKEND = re.compile(r"(?:([a-z0-9][-a-z0-9]*)/)?([a-z0-9][-a-z0-9.]*):([0-9]+)")


def parse_backend(text: str, namespace: str) -> BackendRef:
    """``SVC:PORT`` or ``NS/SVC:PORT`` (``--backend``)."""
    m = _BACKEND.fullmatch(text)
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise UsageError(f"--backend {text!r}: expected SERVICE:PORT or NAMESPACE/SERVICE:PORT")
    return BackendRef(name=m.group(2), namespace=m.group(1) or namespace, port=int(m.group(3)))


def template_regex(path: str) -> str | None:
    """The full-match regular expression of a templated path, or None when it has no template."""
    if not _TEMPLATE.search(path):
        return None
    out, pos = [], 0
    for m in _TEMPLATE.finditer(path):
        out.append(re.escape(path[pos:m.start()]))
        out.append("[^/]+")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return "".join(out)


def _line_of(lines: list[str], key: str) -> int:
    """The line (1-based) where ``key`` is written as a mapping key (YAML or JSON), else 1."""
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith((f"{key}:", f'"{key}"', f"'{key}'")):
            return n
    return 1


def _load(file: str) -> tuple[Mapping[str, Any], list[str]]:
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror}") from None
    text = read_text(data, file)
    docs = parse_documents(text, file)
    if len(docs) != 1 or not isinstance(docs[0].obj, Mapping):
        raise InputError(f"{file}:1: an OpenAPI document must be one mapping")
    doc = docs[0].obj
    version = doc.get("openapi")
    if version is None and "swagger" in doc:
        raise InputError(f"{file}:1: a Swagger {doc.get('swagger')} document, not OpenAPI 3 (convert it first)")
    if not isinstance(version, str) or not version.startswith("3."):
        raise InputError(f"{file}:1: field openapi must be a 3.x version string, not {version!r}")
    paths = doc.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        raise InputError(f"{file}:1: OpenAPI document without paths")
    return doc, text.splitlines()


def _server_prefix(doc: Mapping[str, Any], file: str, notes: Notes, host: str) -> str:
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], Mapping):
        return ""
    server = servers[0]
    url = str(server.get("url") or "")
    raw_vars = server.get("variables")
    variables: Mapping[str, Any] = raw_vars if isinstance(raw_vars, Mapping) else {}
    for name, var in variables.items():
        default = var.get("default") if isinstance(var, Mapping) else None
        url = url.replace("{" + str(name) + "}", str(default if default is not None else ""))
    m = re.match(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//([^/]*)(.*)$", url)
    server_host, path = (m.group(1), m.group(2)) if m else ("", url)
    if server_host and server_host.split(":")[0].lower() != host:
        notes.add(Note(code="OPENAPI-SERVER-HOST", level=Level.INFO, subject=f"OpenAPI {file}", field="servers[0].url",
                       message=f"the document's server is {server_host}; the routes are for --host {host}",
                       origin=file))
    path = path.split("?")[0].rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def openapi_ir(file: str, host: str, backend: BackendRef, gateway: GatewayRef, notes: Notes) -> IR:
    """The HTTPRoute (as IR) for the operations of the OpenAPI 3 document in ``file``."""
    host = host.lower().rstrip(".")
    if not _HOST.fullmatch(host):
        raise UsageError(f"--host {host!r}: not a hostname")
    doc, lines = _load(file)
    prefix = _server_prefix(doc, file, notes, host)
    subject = f"OpenAPI {file}"
    rules: list[Rule] = []
    templated = schemas = False
    for raw_path, item in doc["paths"].items():
        path = str(raw_path)
        line = _line_of(lines, path)
        if not path.startswith("/"):
            raise InputError(f"{file}:{line}: path {path!r} must start with /")
        if not isinstance(item, Mapping):
            raise InputError(f"{file}:{line}: path {path}: a path item must be a mapping")
        if "$ref" in item:
            notes.add(Note(code="OPENAPI-PATH-REF", level=Level.WARNING, subject=subject, field=f"paths.{path}",
                           message=f"path {path} is a $ref to another document", fidelity=Fidelity.UNSUPPORTED,
                           instead="not converted", origin=f"{file}:{line}"))
            continue
        full = prefix + path if path != "/" or not prefix else prefix
        regex = template_regex(full)
        pm = PathMatch("RegularExpression", regex) if regex else PathMatch("Exact", full)
        templated = templated or regex is not None
        methods = [m for m in METHODS if isinstance(item.get(m), Mapping)]
        if not methods:
            notes.add(Note(code="OPENAPI-NO-OPERATIONS", level=Level.WARNING, subject=subject,
                           field=f"paths.{path}", message=f"path {path} has no operations",
                           instead="not converted", origin=f"{file}:{line}"))
            continue
        for m in methods:
            params = list(item.get("parameters") or []) + list(item[m].get("parameters") or [])
            schemas = schemas or any(isinstance(p, Mapping) and (p.get("required") and p.get("in") in
                                                                 ("query", "header")) for p in params)
        prov = Provenance("OpenAPI", "", Path(file).name, f"paths.{path}", f"{file}:{line}")
        rules.append(Rule(matches=tuple(RouteMatch(path=pm, method=m.upper()) for m in methods),
                          backends=(backend,), provenance=(prov,)))
    if not rules:
        raise InputError(f"{file}:1: no path of the document has an operation")
    if templated:
        notes.add(Note(code="OPENAPI-PATH-TEMPLATE", level=Level.INFO, subject=subject, field="paths",
                       message="templated paths match any non-empty text in place of each {parameter}; "
                               "parameter schemas (types, patterns) are not checked",
                       fidelity=Fidelity.APPROXIMATE, instead="RegularExpression path matches ([^/]+ per parameter)",
                       origin=file))
    if schemas:
        notes.add(Note(code="OPENAPI-REQUIRED-PARAMETERS", level=Level.INFO, subject=subject, field="parameters",
                       message="required query or header parameters are not enforced by a route",
                       fidelity=Fidelity.APPROXIMATE, instead="requests without them are routed too", origin=file))
    if doc.get("security") or any(isinstance(i, Mapping) and any(isinstance(i.get(m), Mapping) and
                                                                  i[m].get("security") for m in METHODS)
                                   for i in doc["paths"].values()):
        notes.add(Note(code="OPENAPI-SECURITY", level=Level.WARNING, subject=subject, field="security",
                       message="the document declares security requirements; routes carry no authentication",
                       fidelity=Fidelity.UNSUPPORTED, instead="not enforced by the route (the backend must)",
                       origin=file))
    raw_info = doc.get("info")
    info: Mapping[str, Any] = raw_info if isinstance(raw_info, Mapping) else {}
    title = str(info.get("title") or Path(file).stem)
    name = host_slug(title.lower()) or "openapi"
    source = Provenance("OpenAPI", "", Path(file).name, "", file)
    route = Route(kind="HTTPRoute", namespace=backend.namespace, name=name, gateway=gateway, hostnames=(host,),
                  sections=frozenset({"http"}), rules=tuple(rules), sources=(source,))
    return IR(routes=(route,))
