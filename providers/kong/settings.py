"""What KIC reads from an Ingress and a Service: the route and service settings of Kong.

:func:`route_settings` reads an Ingress's ``konghq.com/*`` annotations (the ``headers.*``
family included, and ``ingress.kubernetes.io/force-ssl-redirect``) into :class:`RouteSettings`
with KIC's defaults; :func:`service_settings` reads a Service's into
:class:`ServiceSettings`, with the ``upstream`` part of a KongIngress (``konghq.com/override``)
and a KongUpstreamPolicy (``konghq.com/upstream-policy``). Both the translator and the data
plane model start from these, so the annotation table's parsers are the one reading of each
key. Problems are noted through the table (invalid values keep Kong's default, as KIC does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ing2gw.kinds import APIKind, KubeObject
from ing2gw.notes import Fidelity, Level, Note, Notes, Scope
from ing2gw.provider import Annotations

from .annotations import HEADER_KEY, PREFIX, SERVICE_KEYS, TABLE

__all__ = ["FORCE_SSL", "KONG_INGRESS", "KONG_UPSTREAM_POLICY", "SHARED_PREFIX", "RouteSettings", "ServiceSettings",
           "route_settings", "service_settings"]

KONG_INGRESS = APIKind("configuration.konghq.com", "v1", "KongIngress", selectable=False)
KONG_UPSTREAM_POLICY = APIKind("configuration.konghq.com", "v1beta1", "KongUpstreamPolicy", selectable=False)
SHARED_PREFIX = "ingress.kubernetes.io"  # read by several controllers; KIC reads one key of it
FORCE_SSL = f"{SHARED_PREFIX}/force-ssl-redirect"


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """A Kong route's settings from its Ingress (KIC's defaults when not annotated)."""

    strip_path: bool = False
    preserve_host: bool = True
    protocols: tuple[str, ...] = ("http", "https")
    https_redirect_code: int = 426
    methods: tuple[str, ...] = ()
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (lower-case name, values)
    regex_priority: int = 0
    regex_marker: str = "/~"
    path_handling: str = "v0"
    host_aliases: tuple[str, ...] = ()
    snis: tuple[str, ...] = ()
    rewrite: str | None = None  # KIC's form: $(uri_captures[N]) for captures
    plugins: tuple[str, ...] = ()
    request_buffering: bool | None = None
    response_buffering: bool | None = None
    annotations: Annotations | None = None

    @property
    def https_only(self) -> bool:
        return "https" in self.protocols and "http" not in self.protocols


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """A Kong service's settings from its Kubernetes Service."""

    path: str = "/"
    host_header: str | None = None
    protocol: str = "http"
    connect_timeout: int | None = None
    read_timeout: int | None = None
    write_timeout: int | None = None
    retries: int | None = None
    plugins: tuple[str, ...] = ()
    upstream: Mapping[str, Any] | None = None  # KongUpstreamPolicy spec (or a KongIngress upstream)
    upstream_source: KubeObject | None = None
    annotations: Annotations | None = None


def _items(annotations: Mapping[str, str], subject: str, origin: str, notes: Notes, on_service: bool
           ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    pfx = PREFIX + "/"
    items: list[tuple[str, str, str]] = []
    headers: list[tuple[str, str, str]] = []
    for full in sorted(annotations):
        if not full.startswith(pfx):
            continue
        key = full[len(pfx):]
        if key.startswith("headers.") and not on_service:
            headers.append((full, key[len("headers."):].lower(), annotations[full]))
            continue
        wrong = (key in SERVICE_KEYS) != on_service and key not in ("plugins", "override", "tags")
        if wrong and key in TABLE.specs:
            where, other = ("Service", "Ingress") if on_service else ("Ingress", "Service")
            notes.add(Note(code="KONG-ANNOTATION-WRONG-OBJECT", level=Level.WARNING, subject=subject, field=full,
                           message=f"KIC reads {full} from the {other}, not from the {where}", origin=origin,
                           fidelity=Fidelity.UNSUPPORTED, instead="ignored, as KIC ignores it"))
            continue
        items.append((full, key, annotations[full]))
    return items, headers


def route_settings(annotations: Mapping[str, str], subject: str, origin: str, scope: Scope,
                   notes: Notes) -> RouteSettings:
    """The route settings of one Ingress."""
    items, header_items = _items(annotations, subject, origin, notes, on_service=False)
    for key in sorted(annotations):
        if key.startswith(SHARED_PREFIX + "/") and key != FORCE_SSL:
            notes.add(Note(code="KONG-ANNOTATION-NOT-READ", level=Level.WARNING, subject=subject, field=key,
                           message=f"KIC reads only {FORCE_SSL} of the {SHARED_PREFIX}/* annotations", origin=origin,
                           fidelity=Fidelity.UNSUPPORTED, instead="ignored, as KIC ignores it"))
    ann = TABLE.parse(items, notes, subject, origin, scope)
    separator = str(ann.get("headers-separator") or ",")
    spec = TABLE.specs[HEADER_KEY]
    headers: list[tuple[str, tuple[str, ...]]] = []
    for full, name, text in header_items:
        values = tuple(v.strip() for v in text.split(separator) if v.strip())
        if not name or not values:
            notes.add(Note(code="KONG-ANNOTATION-INVALID", level=Level.WARNING, subject=subject, field=full,
                           message=f"invalid value {text!r}: a header name and at least one value are needed",
                           origin=origin, instead="ignored", aspects=TABLE.aspects(spec), scope=scope))
            continue
        if name != "host":  # KIC never matches Host through headers
            headers.append((name, values))
    protocols = tuple(ann.get("protocols") or ("http", "https"))
    code = int(ann.get("https-redirect-status-code"))
    force = annotations.get(FORCE_SSL, "").strip().lower() == "true"
    if force:
        protocols = tuple("grpcs" if p == "grpc" else "https" if p == "http" else p for p in protocols
                          if not (p == "http" and "https" in protocols)) or ("https",)
        if "https-redirect-status-code" not in ann:
            code = 302
    return RouteSettings(
        strip_path=bool(ann.get("strip-path")),
        preserve_host=bool(ann.get("preserve-host")),
        protocols=tuple(dict.fromkeys(protocols)),
        https_redirect_code=code,
        methods=tuple(ann.get("methods") or ()),
        headers=tuple(sorted(headers)),
        regex_priority=int(ann.get("regex-priority")),
        regex_marker=str(ann.get("regex-prefix")),
        path_handling=str(ann.get("path-handling")),
        host_aliases=tuple(ann.get("host-aliases") or ()),
        snis=tuple(ann.get("snis") or ()),
        rewrite=ann.get("rewrite") if "rewrite" in ann else None,
        plugins=tuple(ann.get("plugins") or ()),
        request_buffering=ann.get("request-buffering"),
        response_buffering=ann.get("response-buffering"),
        annotations=ann,
    )


def _find(objects: Sequence[KubeObject], kind: str, namespace: str, name: str) -> KubeObject | None:
    return next((o for o in objects if o.kind.kind == kind and o.namespace == namespace and o.name == name), None)


def service_settings(annotations: Mapping[str, str], namespace: str, subject: str, origin: str, scope: Scope,
                     objects: Sequence[KubeObject], notes: Notes) -> ServiceSettings:
    """The service settings of one Kubernetes Service (``objects``: the claimed Kong objects)."""
    items, _ = _items(annotations, subject, origin, notes, on_service=True)
    ann = TABLE.parse(items, notes, subject, origin, scope)
    upstream: Mapping[str, Any] | None = None
    source: KubeObject | None = None
    policy = ann.get("upstream-policy")
    if policy:
        source = _find(objects, "KongUpstreamPolicy", namespace, str(policy))
        if source is None:
            notes.add(Note(code="KONG-UPSTREAM-POLICY-MISSING", level=Level.WARNING, subject=subject,
                           field=f"{PREFIX}/upstream-policy", origin=origin,
                           message=f"KongUpstreamPolicy {namespace}/{policy} is not in the input",
                           instead="not converted (add it to the input)", aspects=frozenset({"backend"})))
        else:
            upstream = source.spec
    override = ann.get("override")
    if override:
        kong_ingress = _find(objects, "KongIngress", namespace, str(override))
        if kong_ingress is None:
            notes.add(Note(code="KONG-OVERRIDE-MISSING", level=Level.WARNING, subject=subject,
                           field=f"{PREFIX}/override", origin=origin,
                           message=f"KongIngress {namespace}/{override} is not in the input",
                           instead="not converted (add it to the input)", aspects=frozenset({"backend"})))
        else:
            upstream, source = _kong_ingress(kong_ingress, upstream, source, notes)
    return ServiceSettings(
        path=str(ann.get("path") or "/"),
        host_header=ann.get("host-header"),
        protocol=str(ann.get("protocol") or "http").strip().lower(),
        connect_timeout=ann.get("connect-timeout"),
        read_timeout=ann.get("read-timeout"),
        write_timeout=ann.get("write-timeout"),
        retries=ann.get("retries"),
        plugins=tuple(ann.get("plugins") or ()),
        upstream=upstream,
        upstream_source=source,
        annotations=ann,
    )


def _kong_ingress(obj: KubeObject, upstream: Mapping[str, Any] | None, source: KubeObject | None, notes: Notes
                  ) -> tuple[Mapping[str, Any] | None, KubeObject | None]:
    """KIC 3 reads only the ``upstream`` section of a KongIngress; ``proxy`` and ``route`` are
    rejected (their annotations replace them)."""
    for section in ("proxy", "route"):
        if isinstance(obj.body.get(section), Mapping):
            notes.add(Note(code="KONG-KONGINGRESS-SECTION-IGNORED", level=Level.WARNING, subject=obj.subject,
                           field=section, origin=obj.origin, fidelity=Fidelity.UNSUPPORTED,
                           message=f"KIC 3 no longer applies the KongIngress {section} section",
                           instead="ignored, as KIC ignores it (use the konghq.com/* annotations)"))
    raw = obj.body.get("upstream")
    if not isinstance(raw, Mapping):
        return upstream, source
    if upstream is not None:
        return upstream, source  # a KongUpstreamPolicy wins
    hash_on = raw.get("hash_on")
    spec: dict[str, Any] = {}
    if isinstance(raw.get("algorithm"), str):
        spec["algorithm"] = raw["algorithm"]
    if hash_on == "header" and raw.get("hash_on_header"):
        spec["hashOn"] = {"header": raw["hash_on_header"]}
    elif hash_on == "cookie" and raw.get("hash_on_cookie"):
        spec["hashOn"] = {"cookie": raw["hash_on_cookie"], "cookiePath": raw.get("hash_on_cookie_path", "/")}
    elif isinstance(hash_on, str) and hash_on != "none":
        spec["hashOn"] = {"input": hash_on}
    if isinstance(raw.get("healthchecks"), Mapping):
        spec["healthchecks"] = raw["healthchecks"]
    return spec, obj
