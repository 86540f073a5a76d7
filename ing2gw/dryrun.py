"""``dry-run``: would the cluster accept the converted manifests, and what would change?

:func:`dry_run` takes the manifests a conversion produced and a :class:`~ing2gw.kube.Cluster`:

1. **Preflight** (:class:`Check`): the Gateway API CRDs are installed, serve the versions
   used, and their schema (bundle version, channel) has every field the manifests set;
   each GatewayClass the Gateways name exists, is Accepted and lists in
   ``status.supportedFeatures`` the features the routes use; no hostname is already claimed
   by another Gateway or route; every target namespace exists.
2. **Per object** (:class:`ObjectResult`): a server-side apply with ``dryRun=All``
   (``fieldManager=ing2gw``, ``force=true``) says *would create* (201), *would change*
   (200; the field diff against the live object, from deepdiff), *unchanged* or *rejected*
   (the API server's ``Status`` message and field causes, with the ``ing2gw.io/source``
   Ingress the object came from).

:func:`render` lays the report out as text, Markdown or JSON. Nothing here writes to the
cluster: the only write :mod:`ing2gw.kube` can send is a dry run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff

from .emit.gateway import SOURCE_ANNOTATION
from .kube import APIStatus, Cluster, RequestFailed
from .schema import GATEWAY_API_GROUPS, bundle_version, kind_info, requires_experimental
from .yamlio import dump_json

__all__ = [
    "Check",
    "DryRunReport",
    "FieldChange",
    "ObjectResult",
    "Outcome",
    "dry_run",
    "features_used",
    "render",
]

Outcome = Literal["create", "change", "unchanged", "rejected"]
_OUTCOME_TEXT = {"create": "would create", "change": "would change", "unchanged": "unchanged",
                 "rejected": "rejected"}
BUNDLE_ANNOTATION = "gateway.networking.k8s.io/bundle-version"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"
# Server-kept metadata that says nothing about what was applied.
_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")
_MAX_LISTED = 5


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "spec.rules[0].matches[0].path.value"
    change: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None

    def line(self) -> str:
        if self.change == "added":
            return f"+ {self.path}: {_short(self.new)}"
        if self.change == "removed":
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} -> {_short(self.new)}"


@dataclass(frozen=True, slots=True)
class ObjectResult:
    api_version: str
    kind: str
    namespace: str
    name: str
    source: str  # the ing2gw.io/source annotation ("Ingress shop/web"), "" when absent
    outcome: Outcome
    changes: tuple[FieldChange, ...] = ()
    message: str = ""  # the API server's Status message when rejected
    causes: tuple[tuple[str, str], ...] = ()  # (field, message)

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "source": self.source, "outcome": self.outcome,
            "changes": [{"path": c.path, "change": c.change, "old": c.old, "new": c.new} for c in self.changes],
            "message": self.message,
            "causes": [{"field": f, "message": m} for f, m in self.causes],
        }


@dataclass(frozen=True, slots=True)
class Check:
    """One preflight check. ``level`` "error" fails the dry run; "warning" does not."""

    name: str  # "crds", "gatewayclass", "hostnames", "namespaces"
    level: Literal["ok", "warning", "error"]
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class DryRunReport:
    cluster: str  # "cluster/<context>"
    checks: tuple[Check, ...]
    objects: tuple[ObjectResult, ...]

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.level == "error")

    @property
    def ok(self) -> bool:
        return not self.failed_checks and all(o.outcome != "rejected" for o in self.objects)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(_OUTCOME_TEXT, 0)
        for o in self.objects:
            counts[o.outcome] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "ok": self.ok,
            "summary": {**self.counts(), "preflight_failed": len(self.failed_checks)},
            "preflight": [c.as_dict() for c in self.checks],
            "objects": [o.as_dict() for o in self.objects],
        }


# --------------------------------------------------------------------------- helpers


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _ident(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = _meta(obj)
    return str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def _describe(obj: Mapping[str, Any]) -> str:
    kind, ns, name = _ident(obj)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def _source(obj: Mapping[str, Any]) -> str:
    annotations = _meta(obj).get("annotations")
    return str(annotations.get(SOURCE_ANNOTATION, "")) if isinstance(annotations, Mapping) else ""


def _is_gateway_api(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] in GATEWAY_API_GROUPS


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


# --------------------------------------------------------------------------- features

_REDIRECT_CODES = {303: "HTTPRoute303RedirectStatusCode", 307: "HTTPRoute307RedirectStatusCode",
                   308: "HTTPRoute308RedirectStatusCode"}


def _filter_features(filters: Iterable[Any], backend: bool) -> set[str]:
    found: set[str] = set()
    mirrors = 0
    for f in filters:
        if not isinstance(f, Mapping):
            continue
        kind = f.get("type")
        if kind == "RequestHeaderModifier" and backend:
            found.add("HTTPRouteBackendRequestHeaderModification")
        elif kind == "ResponseHeaderModifier":
            found.add("HTTPRouteResponseHeaderModification")
        elif kind == "RequestRedirect":
            redirect = f.get("requestRedirect") or {}
            if "scheme" in redirect:
                found.add("HTTPRouteSchemeRedirect")
            if "port" in redirect:
                found.add("HTTPRoutePortRedirect")
            if "path" in redirect:
                found.add("HTTPRoutePathRedirect")
            code = redirect.get("statusCode")
            if code in _REDIRECT_CODES:
                found.add(_REDIRECT_CODES[code])
        elif kind == "URLRewrite":
            rewrite = f.get("urlRewrite") or {}
            if "hostname" in rewrite:
                found.add("HTTPRouteHostRewrite")
            if "path" in rewrite:
                found.add("HTTPRoutePathRewrite")
        elif kind == "RequestMirror":
            mirrors += 1
            found.add("HTTPRouteRequestMirror")
            mirror = f.get("requestMirror") or {}
            if "percent" in mirror or "fraction" in mirror:
                found.add("HTTPRouteRequestPercentageMirror")
        elif kind == "CORS":
            found.add("HTTPRouteCORS")
    if mirrors > 1:
        found.add("HTTPRouteRequestMultipleMirrors")
    return found


def features_used(manifest: Mapping[str, Any]) -> set[str]:
    """Gateway API conformance feature names an object needs its implementation to support
    (as listed in a GatewayClass's ``status.supportedFeatures``)."""
    kind = manifest.get("kind")
    spec = manifest.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    found: set[str] = set()
    if kind in ("Gateway", "ReferenceGrant", "GRPCRoute", "BackendTLSPolicy", "ListenerSet", "HTTPRoute"):
        found.add(str(kind))
    if kind == "Gateway":
        for listener in spec.get("listeners") or []:
            if isinstance(listener, Mapping) and listener.get("port") == 8080:
                found.add("GatewayPort8080")
    if kind not in ("HTTPRoute", "GRPCRoute"):
        return found
    prefix = "HTTPRoute" if kind == "HTTPRoute" else "GRPCRoute"
    if any(isinstance(ref, Mapping) and "port" in ref for ref in spec.get("parentRefs") or []):
        found.add(f"{prefix}ParentRefPort" if kind == "HTTPRoute" else "GRPCRoute")
    for rule in spec.get("rules") or []:
        if not isinstance(rule, Mapping):
            continue
        if rule.get("name"):
            found.add(f"{prefix}NamedRouteRule")
        if kind != "HTTPRoute":
            continue
        timeouts = rule.get("timeouts") or {}
        if "request" in timeouts:
            found.add("HTTPRouteRequestTimeout")
        if "backendRequest" in timeouts:
            found.add("HTTPRouteBackendTimeout")
        if "retry" in rule:
            found.add("HTTPRouteRetry")
        for match in rule.get("matches") or []:
            if isinstance(match, Mapping):
                if "method" in match:
                    found.add("HTTPRouteMethodMatching")
                if match.get("queryParams"):
                    found.add("HTTPRouteQueryParamMatching")
        found |= _filter_features(rule.get("filters") or [], backend=False)
        for ref in rule.get("backendRefs") or []:
            if isinstance(ref, Mapping):
                found |= _filter_features(ref.get("filters") or [], backend=True)
    return found


# --------------------------------------------------------------------------- schema coverage


def _uncovered(schema: Mapping[str, Any], value: Any, path: str, found: list[str]) -> None:
    """Field paths (and enum values) in ``value`` that ``schema`` (an installed CRD's) lacks."""
    enum = schema.get("enum")
    if isinstance(enum, list) and not isinstance(value, (Mapping, list)) and value not in enum:
        found.append(f"{path}={value}")
    if isinstance(value, Mapping):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub_path = f"{path}.{key}" if path else str(key)
            if isinstance(props, Mapping) and key in props:
                _uncovered(props[key], item, sub_path, found)
            elif isinstance(extra, Mapping):
                _uncovered(extra, item, sub_path, found)
            elif props is not None or extra is False:
                found.append(sub_path)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _uncovered(schema["items"], item, f"{path}[{index}]", found)


def _crd_schema(crd: Mapping[str, Any], version: str) -> Mapping[str, Any] | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version and v.get("served"):
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, Mapping) else {}
    return None


def _check_crds(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    used: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for m in manifests:
        if _is_gateway_api(m):
            used.setdefault((str(m["apiVersion"]), str(m["kind"])), []).append(m)
    if not used:
        return []
    ours = bundle_version()
    problems: list[str] = []
    installed: set[str] = set()
    readable = True
    for (api_version, kind), objs in sorted(used.items()):
        group, _, version = api_version.rpartition("/")
        info = kind_info(kind, "experimental") or kind_info(kind, "standard")
        plural = info.plural if info else kind.lower() + "s"
        crd_name = f"{plural}.{group}"
        if not readable:
            if cluster.resource(api_version, kind) is None:
                problems.append(f"{api_version} {kind} is not served (CRD {crd_name} not installed)")
            continue
        try:
            crd = cluster.get("apiextensions.k8s.io/v1", "customresourcedefinitions", crd_name)
        except RequestFailed as exc:
            if exc.status.code != 403:
                raise
            readable = False
            if cluster.resource(api_version, kind) is None:
                problems.append(f"{api_version} {kind} is not served (CRD {crd_name} not installed)")
            continue
        if crd is None:
            problems.append(f"CRD {crd_name} is not installed (install Gateway API {ours}, "
                            f"{'experimental' if any(requires_experimental(o) for o in objs) else 'standard'} "
                            "channel)")
            continue
        annotations = _meta(crd).get("annotations") or {}
        bundle = str(annotations.get(BUNDLE_ANNOTATION, "unknown version"))
        channel = str(annotations.get(CHANNEL_ANNOTATION, "unknown"))
        installed.add(f"{bundle} {channel}")
        schema = _crd_schema(crd, version)
        if schema is None:
            problems.append(f"CRD {crd_name} ({bundle}, {channel} channel) does not serve {api_version}")
            continue
        for obj in objs:
            missing: list[str] = []
            _uncovered(schema, {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")},
                       "", missing)
            if missing:
                experimental = {e.path for e in requires_experimental(obj)}
                hint = (" (experimental-channel fields; install the experimental channel or convert without "
                        "--experimental)") if experimental and channel != "experimental" else ""
                problems.append(f"{_describe(obj)} uses {_listed(missing)}, which the installed CRD "
                                f"{crd_name} ({bundle}, {channel} channel) does not have{hint}")
    if problems:
        return [Check("crds", "error", p) for p in problems]
    if not readable:
        return [Check("crds", "warning", "cannot read CustomResourceDefinitions (forbidden): every kind is "
                      "served, but versions and fields were not checked")]
    versions = ", ".join(sorted(installed))
    return [Check("crds", "ok", f"Gateway API CRDs installed ({versions}) cover every kind and field used")]


def _accepted(gc: Mapping[str, Any]) -> tuple[bool, str]:
    for cond in ((gc.get("status") or {}).get("conditions") or []):
        if isinstance(cond, Mapping) and cond.get("type") == "Accepted":
            text = f"{cond.get('reason', '')}: {cond.get('message', '')}".strip(": ")
            return cond.get("status") == "True", text
    return False, "no controller has accepted it yet (no Accepted condition)"


def _check_gateway_classes(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    classes: dict[str, list[Mapping[str, Any]]] = {}
    for m in manifests:
        if m.get("kind") == "Gateway" and _is_gateway_api(m):
            name = str((m.get("spec") or {}).get("gatewayClassName", ""))
            classes.setdefault(name, [])
    if not classes:
        return []
    needed: dict[str, list[str]] = {}
    for m in manifests:
        if _is_gateway_api(m):
            for feature in features_used(m):
                needed.setdefault(feature, []).append(_describe(m))
    emitted = {str(_meta(m).get("name")) for m in manifests if m.get("kind") == "GatewayClass"}
    checks: list[Check] = []
    for name in sorted(classes):
        if name in emitted:
            checks.append(Check("gatewayclass", "warning", f"GatewayClass {name} is part of this output: whether "
                                "its controller accepts it cannot be checked before it exists"))
            continue
        if cluster.resource("gateway.networking.k8s.io/v1", "GatewayClass") is None:
            checks.append(Check("gatewayclass", "error", f"GatewayClass {name} cannot exist: the GatewayClass "
                                "CRD is not installed"))
            continue
        try:
            gc = cluster.get("gateway.networking.k8s.io/v1", "gatewayclasses", name)
        except RequestFailed as exc:
            if exc.status.code != 403:
                raise
            checks.append(Check("gatewayclass", "warning", f"cannot read GatewayClass {name} (forbidden)"))
            continue
        if gc is None:
            checks.append(Check("gatewayclass", "error", f"GatewayClass {name} does not exist (pass "
                                "--gateway-class NAME for an existing one, or --gateway-controller to emit it)"))
            continue
        ok, why = _accepted(gc)
        if not ok:
            checks.append(Check("gatewayclass", "error", f"GatewayClass {name} is not Accepted: {why}"))
            continue
        published = (gc.get("status") or {}).get("supportedFeatures")
        supported = {str(f.get("name") if isinstance(f, Mapping) else f) for f in published or []}
        if not supported:
            checks.append(Check("gatewayclass", "warning", f"GatewayClass {name} is Accepted but publishes no "
                                f"supportedFeatures; features used, unchecked: {_listed(sorted(needed))}"))
            continue
        missing = sorted(set(needed) - supported)
        if missing:
            for feature in missing:
                users = sorted(set(needed[feature]))
                checks.append(Check("gatewayclass", "error", f"GatewayClass {name} does not support {feature}, "
                                    f"used by {_listed(users)}"))
        else:
            checks.append(Check("gatewayclass", "ok", f"GatewayClass {name} is Accepted and supports every "
                                f"feature used ({len(needed)})"))
    return checks


def _hostnames(obj: Mapping[str, Any]) -> set[str]:
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return set()
    if obj.get("kind") in ("Gateway", "ListenerSet"):
        return {str(li["hostname"]) for li in spec.get("listeners") or []
                if isinstance(li, Mapping) and li.get("hostname")}
    return {str(h) for h in spec.get("hostnames") or []}


def _check_hostnames(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    families = {"Gateway": "gateways", "HTTPRoute": "routes", "GRPCRoute": "routes"}
    ours: dict[str, dict[str, list[str]]] = {}  # family -> hostname -> our objects
    identities = {_ident(m) for m in manifests}
    for m in manifests:
        family = families.get(str(m.get("kind")))
        if family and _is_gateway_api(m):
            for host in _hostnames(m):
                ours.setdefault(family, {}).setdefault(host, []).append(_describe(m))
    if not ours:
        return []
    problems: list[str] = []
    unreadable: list[str] = []
    plurals = {"Gateway": "gateways", "HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes"}
    for kind, plural in plurals.items():
        family = families[kind]
        if family not in ours:
            continue
        try:
            if cluster.resource("gateway.networking.k8s.io/v1", kind) is None:
                continue  # not installed: nothing can claim a hostname
            existing = list(cluster.list("gateway.networking.k8s.io/v1", plural))
        except RequestFailed as exc:
            if exc.status.code not in (403, 404):
                raise
            unreadable.append(plural)
            continue
        for obj in existing:
            if _ident(obj) in identities:
                continue  # the object this output updates
            for host in sorted(_hostnames(obj) & set(ours[family])):
                problems.append(f"hostname {host} of {_listed(sorted(set(ours[family][host])))} is already "
                                f"claimed by {_describe(obj)}")
    checks = [Check("hostnames", "error", p) for p in problems]
    if unreadable:
        checks.append(Check("hostnames", "warning", f"cannot list {', '.join(unreadable)}: hostnames not checked"))
    if not checks:
        count = sum(len(h) for h in ours.values())
        checks.append(Check("hostnames", "ok", f"none of the {count} hostname(s) is claimed by another object"))
    return checks


def _check_namespaces(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    wanted = sorted({str(_meta(m).get("namespace")) for m in manifests if _meta(m).get("namespace")})
    emitted = {str(_meta(m).get("name")) for m in manifests if m.get("kind") == "Namespace"}
    checks: list[Check] = []
    for ns in wanted:
        if ns in emitted:
            continue
        try:
            found = cluster.get("v1", "namespaces", ns)
        except RequestFailed as exc:
            if exc.status.code != 403:
                raise
            checks.append(Check("namespaces", "warning", f"cannot read namespace {ns} (forbidden)"))
            continue
        if found is None:
            checks.append(Check("namespaces", "error", f"namespace {ns} does not exist (create it first)"))
    if not any(c.level == "error" for c in checks):
        checks.append(Check("namespaces", "ok", f"every target namespace exists ({', '.join(wanted)})"))
    return checks


# --------------------------------------------------------------------------- applying


def _normalized(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in _meta(obj).items() if k not in _VOLATILE_META}
    out["metadata"] = meta
    return out


def _path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def field_changes(live: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """What would change in ``live`` to make it ``new`` (server bookkeeping ignored)."""
    diff = DeepDiff(_normalized(live), _normalized(new), view="tree", verbose_level=2)
    changes: list[FieldChange] = []
    for category, items in diff.items():
        for item in items:
            path = _path(item.path(output_format="list"))
            if category in ("dictionary_item_added", "iterable_item_added", "attribute_added"):
                changes.append(FieldChange(path, "added", None, item.t2))
            elif category in ("dictionary_item_removed", "iterable_item_removed", "attribute_removed"):
                changes.append(FieldChange(path, "removed", item.t1, None))
            else:
                changes.append(FieldChange(path, "changed", item.t1, item.t2))
    return tuple(sorted(changes, key=lambda c: c.path))


def _apply_one(manifest: Mapping[str, Any], cluster: Cluster) -> ObjectResult:
    kind, ns, name = _ident(manifest)
    api_version = str(manifest.get("apiVersion", ""))
    source = _source(manifest)

    def rejected(message: str, causes: tuple[tuple[str, str], ...] = ()) -> ObjectResult:
        return ObjectResult(api_version, kind, ns, name, source, "rejected", message=message, causes=causes)

    resource = cluster.resource(api_version, kind)
    if resource is None:
        return rejected(f"the API server does not serve {api_version} {kind} (is its CRD installed?)")
    live = None
    try:
        live = cluster.get(api_version, resource.plural, name, ns if resource.namespaced else None)
    except RequestFailed as exc:
        if exc.status.code != 403:
            raise
    result = cluster.dry_run_apply(manifest, resource.plural, resource.namespaced)
    if result.status is not None or result.obj is None:
        status = result.status or APIStatus(result.code, "Unknown", "empty answer")
        return rejected(status.message or f"{status.code} {status.reason}", status.causes)
    if result.code == 201:
        return ObjectResult(api_version, kind, ns, name, source, "create")
    if live is None:  # it exists, but reading it was forbidden: no diff to show
        return ObjectResult(api_version, kind, ns, name, source, "change",
                            message="exists; the live object could not be read (forbidden), so no field diff")
    changes = field_changes(live, result.obj)
    return ObjectResult(api_version, kind, ns, name, source, "change" if changes else "unchanged", changes)


def dry_run(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> DryRunReport:
    """Preflight checks, then a dry-run server-side apply of every manifest, in order."""
    checks: list[Check] = []
    checks += _check_crds(manifests, cluster)
    checks += _check_gateway_classes(manifests, cluster)
    checks += _check_hostnames(manifests, cluster)
    checks += _check_namespaces(manifests, cluster)
    objects = tuple(_apply_one(m, cluster) for m in manifests)
    return DryRunReport(cluster.label, tuple(checks), objects)


# --------------------------------------------------------------------------- rendering

_MARK = {"ok": "ok", "warning": "WARN", "error": "FAIL"}


def _summary(report: DryRunReport) -> str:
    counts = report.counts()
    text = ", ".join(f"{n} {_OUTCOME_TEXT[k]}" for k, n in counts.items())
    failed = len(report.failed_checks)
    return f"{text}; {failed} preflight check(s) failed" if failed else text


def _render_text(report: DryRunReport) -> str:
    lines = [f"Dry run against {report.cluster} (server-side apply, dryRun=All, fieldManager=ing2gw)", "",
             "Preflight:"]
    lines += [f"  {_MARK[c.level]:<4}  {c.message}" for c in report.checks] or ["  (nothing to check)"]
    lines += ["", "Objects:"]
    for o in report.objects:
        origin = f" (from {o.source})" if o.source else ""
        lines.append(f"  {_OUTCOME_TEXT[o.outcome]:<12}  {o.subject}{origin}")
        lines += [f"      {c.line()}" for c in o.changes]
        if o.outcome == "change" and o.message:
            lines.append(f"      {o.message}")
        if o.outcome == "rejected":
            lines.append(f"      {o.message}")
            lines += [f"      - {f}: {m}" if f else f"      - {m}" for f, m in o.causes]
    if not report.objects:
        lines.append("  (no objects)")
    lines += ["", f"Summary: {_summary(report)}", ""]
    return "\n".join(lines)


def _md(text: Any) -> str:
    value = str(text)
    for ch in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        value = value.replace(ch, "\\" + ch)
    return value.replace("\n", " ")


def _render_markdown(report: DryRunReport) -> str:
    verdict = "everything would apply" if report.ok else "**would not apply cleanly**"
    lines = [f"## ing2gw dry run against `{report.cluster}`", "", f"{_summary(report)}: {verdict}.", "",
             "### Preflight", "", "| result | check | detail |", "| --- | --- | --- |"]
    lines += [f"| {_MARK[c.level]} | {c.name} | {_md(c.message)} |" for c in report.checks]
    lines += ["", "### Objects", "", "| outcome | object | from | detail |", "| --- | --- | --- | --- |"]
    for o in report.objects:
        if o.outcome == "rejected":
            detail = "; ".join([o.message] + [f"{f}: {m}" for f, m in o.causes])
        else:
            detail = "<br>".join(_md(c.line()) for c in o.changes)
            lines.append(f"| {_OUTCOME_TEXT[o.outcome]} | {_md(o.subject)} | {_md(o.source)} | {detail} |")
            continue
        lines.append(f"| {_OUTCOME_TEXT[o.outcome]} | {_md(o.subject)} | {_md(o.source)} | {_md(detail)} |")
    return "\n".join(lines) + "\n"


def render(report: DryRunReport, fmt: str = "text") -> str:
    """The report as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return dump_json(report.as_dict())
    if fmt == "markdown":
        return _render_markdown(report)
    return _render_text(report)

