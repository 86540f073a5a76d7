"""Preflight checks of a dry run: can the cluster take these manifests at all?

* the Gateway API CRDs are installed, serve the versions used, and their schema (bundle
  version, channel) has every field the manifests set;
* each GatewayClass the Gateways name exists, is Accepted and lists in
  ``status.supportedFeatures`` the features the routes use;
* no hostname is already claimed by another Gateway or route;
* every target namespace exists.

Each finding is a :class:`~.model.Check`; only reads are sent to the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..kube import Cluster, RequestFailed
from ..schema import bundle_version, kind_info, requires_experimental
from .features import features_used
from .model import Check, describe, ident, is_gateway_api, listed, metadata

__all__ = ["crd_schema", "preflight", "uncovered"]

BUNDLE_ANNOTATION = "gateway.networking.k8s.io/bundle-version"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"


def uncovered(schema: Mapping[str, Any], value: Any, path: str, found: list[str]) -> None:
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
                uncovered(props[key], item, sub_path, found)
            elif isinstance(extra, Mapping):
                uncovered(extra, item, sub_path, found)
            elif props is not None or extra is False:
                found.append(sub_path)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            uncovered(schema["items"], item, f"{path}[{index}]", found)


def crd_schema(crd: Mapping[str, Any], version: str) -> Mapping[str, Any] | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version and v.get("served"):
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, Mapping) else {}
    return None


class CrdReader:
    """Reads CustomResourceDefinitions for a preflight. After the first 403 it stops asking
    (``forbidden``): the caller falls back to API discovery, which shows only whether a kind
    is served."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.forbidden = False

    def get(self, name: str) -> dict[str, Any] | None:
        """The CRD ``name``; None when it is not installed or cannot be read (``forbidden``)."""
        if self.forbidden:
            return None
        try:
            return self.cluster.get("apiextensions.k8s.io/v1", "customresourcedefinitions", name)
        except RequestFailed as exc:
            if exc.status.code != 403:
                raise
            self.forbidden = True
            return None


def _check_crds(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    used: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for m in manifests:
        if is_gateway_api(m):
            used.setdefault((str(m["apiVersion"]), str(m["kind"])), []).append(m)
    if not used:
        return []
    ours = bundle_version()
    problems: list[str] = []
    installed: set[str] = set()
    crds = CrdReader(cluster)
    for (api_version, kind), objs in sorted(used.items()):
        group, _, version = api_version.rpartition("/")
        info = kind_info(kind, "experimental") or kind_info(kind, "standard")
        plural = info.plural if info else kind.lower() + "s"
        crd_name = f"{plural}.{group}"
        crd = crds.get(crd_name)
        if crds.forbidden:
            if cluster.resource(api_version, kind) is None:
                problems.append(f"{api_version} {kind} is not served (CRD {crd_name} not installed)")
            continue
        if crd is None:
            problems.append(f"CRD {crd_name} is not installed (install Gateway API {ours}, "
                            f"{'experimental' if any(requires_experimental(o) for o in objs) else 'standard'} "
                            "channel)")
            continue
        annotations = metadata(crd).get("annotations") or {}
        bundle = str(annotations.get(BUNDLE_ANNOTATION, "unknown version"))
        channel = str(annotations.get(CHANNEL_ANNOTATION, "unknown"))
        installed.add(f"{bundle} {channel}")
        schema = crd_schema(crd, version)
        if schema is None:
            problems.append(f"CRD {crd_name} ({bundle}, {channel} channel) does not serve {api_version}")
            continue
        for obj in objs:
            missing: list[str] = []
            uncovered(schema, {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")},
                       "", missing)
            if missing:
                experimental = {e.path for e in requires_experimental(obj)}
                hint = (" (experimental-channel fields; install the experimental channel or convert without "
                        "--experimental)") if experimental and channel != "experimental" else ""
                problems.append(f"{describe(obj)} uses {listed(missing)}, which the installed CRD "
                                f"{crd_name} ({bundle}, {channel} channel) does not have{hint}")
    if problems:
        return [Check("crds", "error", p) for p in problems]
    if crds.forbidden:
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
        if m.get("kind") == "Gateway" and is_gateway_api(m):
            name = str((m.get("spec") or {}).get("gatewayClassName", ""))
            classes.setdefault(name, [])
    if not classes:
        return []
    needed: dict[str, list[str]] = {}
    for m in manifests:
        if is_gateway_api(m):
            for feature in features_used(m):
                needed.setdefault(feature, []).append(describe(m))
    emitted = {str(metadata(m).get("name")) for m in manifests if m.get("kind") == "GatewayClass"}
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
                                f"supportedFeatures; features used, unchecked: {listed(sorted(needed))}"))
            continue
        missing = sorted(set(needed) - supported)
        if missing:
            for feature in missing:
                users = sorted(set(needed[feature]))
                checks.append(Check("gatewayclass", "error", f"GatewayClass {name} does not support {feature}, "
                                    f"used by {listed(users)}"))
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
    identities = {ident(m) for m in manifests}
    for m in manifests:
        family = families.get(str(m.get("kind")))
        if family and is_gateway_api(m):
            for host in _hostnames(m):
                ours.setdefault(family, {}).setdefault(host, []).append(describe(m))
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
            if ident(obj) in identities:
                continue  # the object this output updates
            for host in sorted(_hostnames(obj) & set(ours[family])):
                problems.append(f"hostname {host} of {listed(sorted(set(ours[family][host])))} is already "
                                f"claimed by {describe(obj)}")
    checks = [Check("hostnames", "error", p) for p in problems]
    if unreadable:
        checks.append(Check("hostnames", "warning", f"cannot list {', '.join(unreadable)}: hostnames not checked"))
    if not checks:
        count = sum(len(h) for h in ours.values())
        checks.append(Check("hostnames", "ok", f"none of the {count} hostname(s) is claimed by another object"))
    return checks


def _check_namespaces(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    wanted = sorted({str(metadata(m).get("namespace")) for m in manifests if metadata(m).get("namespace")})
    emitted = {str(metadata(m).get("name")) for m in manifests if m.get("kind") == "Namespace"}
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


def preflight(manifests: Sequence[Mapping[str, Any]], cluster: Cluster) -> list[Check]:
    """Every preflight check, in a fixed order."""
    return [
        *_check_crds(manifests, cluster),
        *_check_gateway_classes(manifests, cluster),
        *_check_hostnames(manifests, cluster),
        *_check_namespaces(manifests, cluster),
    ]
