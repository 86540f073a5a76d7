"""Talking to a Kubernetes API server: the only module that imports the ``kubernetes`` client.

The official client is used for what it does best and nothing else: reading kubeconfig
files (``--kubeconfig``, ``KUBECONFIG`` as a colon-separated merge list, ``~/.kube/config``),
choosing the context, the in-cluster service account as a fallback, and every kind of
authentication (tokens, client certificates, exec plugins, OIDC). Requests go through the
client's own connection pool (TLS settings, proxies) as plain JSON, without the generated
models, so 50 000 Ingresses stay cheap and nothing is lost in translation.

* :func:`connect` -> :class:`Cluster` (context name, its default namespace, the server).
* :meth:`Cluster.list` pages through a collection (``limit``/``continue``), filling in the
  ``kind``/``apiVersion`` the API server leaves out of list items.
* :func:`read_documents` reads what a conversion needs -- Ingresses, IngressClasses,
  Services, Namespaces and the ingress-nginx controller ConfigMap when one is found, plus
  every kind the installed providers claim (found through discovery, CRDs included), never
  Secrets -- as :class:`~ing2gw.yamlio.Document` records whose origin reads
  ``cluster/<context>:Ingress/ns/name``. A forbidden optional read becomes a warning note; a
  claimed kind the server does not serve (its CRD is not installed) is read as "none of that
  kind", with a note; a forbidden claimed kind is an error, since its objects could change
  what the conversion must carry over.
* :func:`read_gateways` reads the existing Gateways routes attach to (``--gateway``), with
  the ListenerSets, ReferenceGrants and Namespaces their checks need; :func:`read_services`
  the Services named ports need when the input lacks them (``--lookup-services``).
* :meth:`Cluster.dry_run_apply` is the only request that is not a read: a server-side apply
  with ``dryRun=All``; there is no way to send a real write from here.

Failures (unreachable server, 401, 403, a resource the server does not serve) raise
:class:`~ing2gw.errors.ClusterError` with one line naming the context and the resource.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from .errors import ClusterError
from .kinds import APIKind
from .notes import Level, Note
from .yamlio import Document

__all__ = [
    "APIResource",
    "APIStatus",
    "ApplyResult",
    "Cluster",
    "ClusterRead",
    "FIELD_MANAGER",
    "NGINX_CONFIGMAPS",
    "NGINX_STREAM_CONFIGMAPS",
    "PAGE_SIZE",
    "Progress",
    "RequestFailed",
    "connect",
    "read_documents",
    "read_gateways",
    "read_services",
]

FIELD_MANAGER = "ing2gw"
PAGE_SIZE = 500
IN_CLUSTER = "in-cluster"
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
# Where ingress-nginx installs keep the controller ConfigMap (manifests, Helm release
# "ingress-nginx", minikube addon, older manifests), in the order they are tried.
NGINX_CONFIGMAPS: tuple[tuple[str, str], ...] = (
    ("ingress-nginx", "ingress-nginx-controller"),
    ("ingress-nginx", "nginx-configuration"),
    ("kube-system", "ingress-nginx-controller"),
    ("kube-system", "nginx-load-balancer-conf"),
    ("nginx-ingress", "nginx-ingress-controller"),
)

# Where ingress-nginx installs keep its TCP and UDP services ConfigMaps (--tcp-services-configmap,
# --udp-services-configmap: static manifests, Helm release "ingress-nginx"), tried in order.
NGINX_STREAM_CONFIGMAPS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("ingress-nginx", "tcp-services"), ("ingress-nginx", "ingress-nginx-tcp")),
    (("ingress-nginx", "udp-services"), ("ingress-nginx", "ingress-nginx-udp")),
)

Progress = Callable[[str, int], None]  # (plural, objects read so far)
_Send = Callable[[str, str, bytes | None, Mapping[str, str]], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class APIResource:
    """One entry of API discovery: a resource a group/version serves."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool


@dataclass(frozen=True, slots=True)
class APIStatus:
    """A ``Status`` the API server answered with (or what stands for one)."""

    code: int
    reason: str  # "NotFound", "Forbidden", "Invalid", ...
    message: str
    causes: tuple[tuple[str, str], ...] = ()  # (field, message)

    @classmethod
    def parse(cls, code: int, raw: bytes) -> APIStatus:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict) or body.get("kind") != "Status":
            text = raw.decode("utf-8", "replace").strip().splitlines()
            return cls(code, _REASONS.get(code, "Unknown"), text[0][:300] if text else _REASONS.get(code, ""))
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        causes = tuple(
            (str(c.get("field", "")), str(c.get("message", "")))
            for c in (details or {}).get("causes") or [] if isinstance(c, dict)
        )
        return cls(int(body.get("code") or code), str(body.get("reason") or _REASONS.get(code, "Unknown")),
                   str(body.get("message") or ""), causes)


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
            500: "InternalError", 503: "ServiceUnavailable"}


class RequestFailed(ClusterError):
    """The API server refused a request; ``status`` says how."""

    def __init__(self, message: str, status: APIStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The answer to a dry-run apply: 201 (would create), 200 (would update) or an error."""

    code: int
    obj: dict[str, Any] | None  # the object as the server would store it (2xx)
    status: APIStatus | None  # why it was refused (otherwise)


@dataclass(frozen=True, slots=True)
class ClusterRead:
    documents: list[Document]
    notes: list[Note] = field(default_factory=list)


def _plural_kind(plural: str) -> str:
    return {"ingresses": "Ingresses", "ingressclasses": "IngressClasses", "services": "Services",
            "namespaces": "Namespaces", "configmaps": "ConfigMaps"}.get(plural, plural)


class Cluster:
    """A connection to one API server through one kubeconfig context."""

    def __init__(self, context: str, namespace: str, server: str, send: _Send) -> None:
        self.context = context
        self.namespace = namespace
        self.server = server
        self._send = send
        self._discovery: dict[str, dict[str, APIResource] | None] = {}

    @property
    def label(self) -> str:
        """``cluster/<context>``: how messages and origins name this cluster."""
        return f"cluster/{self.context}"

    # -- plumbing ------------------------------------------------------------------

    def request(self, method: str, path: str, query: Mapping[str, str] | None = None,
                body: bytes | None = None, content_type: str | None = None) -> tuple[int, bytes]:
        url = self.server.rstrip("/") + path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": "application/json", "User-Agent": "ing2gw"}
        if content_type:
            headers["Content-Type"] = content_type
        return self._send(method, url, body, headers)

    def _fail(self, code: int, raw: bytes, doing: str) -> RequestFailed:
        status = APIStatus.parse(code, raw)
        if code == 401:
            text = (f"{self.label}: the API server rejected the credentials (401 Unauthorized) {doing}; "
                    "log in again or refresh the credentials")
        elif code == 403:
            text = f"{self.label}: forbidden {doing}: {status.message or 'access denied (403)'}"
        elif code == 404:
            text = f"{self.label}: the API server does not serve this resource ({doing})"
        else:
            text = f"{self.label}: {doing} failed ({code} {status.reason}): {status.message}"
        return RequestFailed(text, status)

    def _get_json(self, path: str, query: Mapping[str, str] | None, doing: str) -> dict[str, Any]:
        code, raw = self.request("GET", path, query)
        if code != 200:
            raise self._fail(code, raw, doing)
        try:
            data = json.loads(raw)
        except ValueError:
            raise ClusterError(f"{self.label}: {doing}: the API server sent something that is not JSON") from None
        if not isinstance(data, dict):
            raise ClusterError(f"{self.label}: {doing}: unexpected answer from the API server")
        return data

    # -- discovery -------------------------------------------------------------------

    def resources(self, api_version: str) -> dict[str, APIResource] | None:
        """Kinds served by ``api_version`` (``v1``, ``networking.k8s.io/v1``), or None when the
        server does not serve that group/version (e.g. Gateway API CRDs not installed)."""
        if api_version not in self._discovery:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            code, raw = self.request("GET", path)
            if code == 404:
                self._discovery[api_version] = None
            elif code != 200:
                raise self._fail(code, raw, f"discovering {api_version}")
            else:
                data = json.loads(raw)
                found: dict[str, APIResource] = {}
                for r in data.get("resources") or []:
                    name = str(r.get("name", ""))
                    if "/" in name:
                        continue  # subresources: status, scale, ...
                    found[str(r.get("kind"))] = APIResource(api_version, str(r.get("kind")), name,
                                                            bool(r.get("namespaced")))
                self._discovery[api_version] = found
        return self._discovery[api_version]

    def resource(self, api_version: str, kind: str) -> APIResource | None:
        served = self.resources(api_version)
        return served.get(kind) if served else None

    # -- reads -----------------------------------------------------------------------

    @staticmethod
    def path(api_version: str, plural: str, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        return base

    def list(self, api_version: str, plural: str, namespace: str | None = None, selector: str | None = None,
             page_size: int = PAGE_SIZE, progress: Progress | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a collection (one namespace, or all), page by page."""
        where = f"in namespace {namespace}" if namespace else "in all namespaces"
        doing = f"listing {plural} ({api_version}) {where}"
        query: dict[str, str] = {"limit": str(page_size)}
        if selector:
            query["labelSelector"] = selector
        count = 0
        while True:
            try:
                page = self._get_json(self.path(api_version, plural, namespace), query, doing)
            except RequestFailed as exc:
                if exc.status.code == 410 and "continue" in query:
                    raise ClusterError(f"{self.label}: {doing}: the list changed too much while it was read "
                                       "(continue token expired); run again") from None
                raise
            kind = str(page.get("kind", ""))
            kind = kind[:-4] if kind.endswith("List") else kind
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    item.setdefault("apiVersion", api_version)
                    item.setdefault("kind", kind)
                    count += 1
                    yield item
            if progress is not None:
                progress(plural, count)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = str(token)

    def get(self, api_version: str, plural: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """One object, or None when it does not exist."""
        where = f"{namespace}/{name}" if namespace else name
        code, raw = self.request("GET", self.path(api_version, plural, namespace, name))
        if code == 404:
            return None
        if code != 200:
            raise self._fail(code, raw, f"reading {plural} {where} ({api_version})")
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    # -- the one write, always a dry run -------------------------------------------------

    def dry_run_apply(self, manifest: Mapping[str, Any], plural: str, namespaced: bool) -> ApplyResult:
        """Server-side apply of ``manifest`` with ``dryRun=All``: nothing is persisted."""
        meta = manifest.get("metadata") or {}
        namespace = str(meta.get("namespace") or "") if namespaced else None
        path = self.path(str(manifest["apiVersion"]), plural, namespace or None, str(meta.get("name", "")))
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All", "force": "true", "fieldValidation": "Strict"}
        body = json.dumps(manifest, sort_keys=False).encode()  # JSON is YAML
        code, raw = self.request("PATCH", path, query, body, "application/apply-patch+yaml")
        if code in (401, 403) or code >= 500:
            raise self._fail(code, raw, f"applying {manifest.get('kind')} {meta.get('name')} (dry run)")
        if 200 <= code < 300:
            data = json.loads(raw)
            return ApplyResult(code, data if isinstance(data, dict) else None, None)
        return ApplyResult(code, None, APIStatus.parse(code, raw))


# --------------------------------------------------------------------------- connecting


def _kubeconfig_paths(kubeconfig: str | None, env: Mapping[str, str]) -> str:
    if kubeconfig:
        return kubeconfig
    return env.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")


def _any_exists(paths: str) -> bool:
    return any(p and os.path.exists(os.path.expanduser(p)) for p in paths.split(os.pathsep))


def _reason(exc: BaseException) -> str:
    """The useful part of a urllib3 connection error, on one line."""
    inner: BaseException = exc
    while getattr(inner, "reason", None) is not None and isinstance(inner.reason, BaseException):  # type: ignore[attr-defined]
        inner = inner.reason  # type: ignore[attr-defined]
    text = str(inner)
    m = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if m:
        return m.group(1).strip()
    m = re.search(r"(certificate verify failed[^'\")]*)", text)
    if m:
        return m.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200] if text else type(inner).__name__


def connect(kubeconfig: str | None = None, context: str | None = None,
            env: Mapping[str, str] | None = None, timeout: float = 30.0) -> Cluster:
    """Connect as kubectl would: ``--kubeconfig``, else ``$KUBECONFIG`` (a merge list), else
    ``~/.kube/config``; ``--context`` or the current context; the in-cluster service account
    when there is no kubeconfig at all. Nothing is sent yet."""
    import importlib

    import urllib3
    from kubernetes.client import Configuration
    from kubernetes.client.rest import RESTClientObject
    from kubernetes.config.config_exception import ConfigException

    kconfig: Any = importlib.import_module("kubernetes.config")  # untyped functions
    environ = os.environ if env is None else env
    paths = _kubeconfig_paths(kubeconfig, environ)
    cfg = Configuration()
    namespace = "default"
    if kubeconfig and not _any_exists(kubeconfig):
        raise ClusterError(f"{kubeconfig}: kubeconfig file not found")
    if _any_exists(paths):
        try:
            contexts, current = kconfig.list_kube_config_contexts(config_file=paths)
            chosen = context or (current or {}).get("name")
            if not chosen:
                raise ClusterError(f"{paths}: the kubeconfig has no current context; pass --context")
            entry = next((c for c in contexts or [] if c.get("name") == chosen), None)
            if entry is None:
                raise ClusterError(f"{paths}: context {chosen!r} not found in the kubeconfig")
            namespace = (entry.get("context") or {}).get("namespace") or "default"
            kconfig.load_kube_config(config_file=paths, context=chosen, client_configuration=cfg,
                                     persist_config=False)
        except ConfigException as exc:
            where = f"context {context!r}" if context else "the current context"
            raise ClusterError(f"{paths}: cannot use {where}: {str(exc).splitlines()[0]}") from None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ClusterError(f"{paths}: cannot read the kubeconfig: {exc}") from None
        name = str(chosen)
    elif environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kconfig.load_incluster_config(client_configuration=cfg)
        except ConfigException as exc:
            raise ClusterError(f"cluster/{IN_CLUSTER}: cannot use the service account: {exc}") from None
        try:
            with open(SERVICE_ACCOUNT_NAMESPACE, encoding="utf-8") as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            pass
        name = IN_CLUSTER
    else:
        raise ClusterError(f"no kubeconfig found ({paths}) and not running inside a cluster; "
                           "pass -f FILE to read manifests, or --kubeconfig")

    cfg.retries = False
    rest = RESTClientObject(cfg)
    pool = rest.pool_manager
    retry = urllib3.Retry(total=2, connect=2, read=0, redirect=0, status=0, other=0, backoff_factor=0.1)
    label = f"cluster/{name}"
    http_timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)

    def send(method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> tuple[int, bytes]:
        all_headers = dict(headers)
        try:
            settings: Mapping[str, Any] = cfg.auth_settings()
            for auth in settings.values():
                if auth.get("in") == "header" and auth.get("value"):
                    all_headers[str(auth["key"])] = str(auth["value"])
        except ConfigException as exc:  # an exec plugin / OIDC refresh that failed
            raise ClusterError(f"{label}: cannot get credentials: {str(exc).splitlines()[0]}") from None
        try:
            resp = pool.request(method, url, body=body, headers=all_headers, retries=retry,
                                timeout=http_timeout, preload_content=True)
        except urllib3.exceptions.HTTPError as exc:
            raise ClusterError(f"{label}: cannot reach the API server at {cfg.host}: {_reason(exc)}") from None
        return int(resp.status), bytes(resp.data or b"")

    return Cluster(name, namespace, str(cfg.host), send)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Read:
    api_version: str
    kind: str
    plural: str
    namespaced: bool
    required: bool


_READS = (
    _Read("networking.k8s.io/v1", "Ingress", "ingresses", True, True),
    _Read("networking.k8s.io/v1", "IngressClass", "ingressclasses", False, False),
    _Read("v1", "Service", "services", True, False),
)


def _origin(cluster: Cluster, obj: Mapping[str, Any], kind: str) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    ident = f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))
    return f"{cluster.label}:{kind}/{ident}"


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop server bookkeeping nobody converts (managedFields can be most of the bytes)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def _read_claimed(cluster: Cluster, kind: APIKind, namespace: str | None, selector: str | None,
                  page_size: int, progress: Progress | None) -> tuple[list[Document], list[Note]]:
    """The objects of one claimed kind; a kind the server does not serve is none, noted."""
    if kind.kind == "Secret" and not kind.group:
        raise ClusterError(f"{cluster.label}: a provider claims Secrets; ing2gw never reads Secrets")
    res = cluster.resource(kind.api_version, kind.kind)
    if res is None:
        return [], [Note(
            code="CLUSTER-KIND-NOT-INSTALLED", level=Level.INFO,
            message=f"the API server does not serve {kind} (its CRD is not installed)",
            subject=cluster.label, instead=f"no {kind.kind} objects read",
        )]
    ns = namespace if res.namespaced else None
    try:
        items = cluster.list(res.api_version, res.plural, ns, selector=selector if kind.selectable else None,
                             page_size=page_size, progress=progress)
        return [Document(_strip(obj), _origin(cluster, obj, kind.kind)) for obj in items], []
    except RequestFailed as exc:
        if exc.status.code != 403:
            raise
        where = f"in namespace {ns}" if ns else "in all namespaces"
        group = f"{res.plural}.{kind.group}" if kind.group else res.plural
        raise ClusterError(f"{cluster.label}: forbidden listing {res.plural} ({kind.api_version}) {where}, which "
                           f"an installed provider reads: grant get/list on {group}") from None


def read_documents(cluster: Cluster, namespace: str | None, selector: str | None = None,
                   progress: Progress | None = None, page_size: int = PAGE_SIZE,
                   kinds: Iterable[APIKind] = ()) -> ClusterRead:
    """What a conversion reads, as documents. ``namespace`` None = every namespace.

    Ingresses must be readable; IngressClasses, Services, Namespaces and the ingress-nginx
    controller ConfigMap and TCP/UDP services ConfigMaps are optional: when forbidden (or not
    served) they are left out with a warning.
    ``kinds`` (claimed by providers) are read when served, none when not; forbidden is an
    error. Secrets are never requested.
    """
    docs: list[Document] = []
    notes: list[Note] = []

    def skipped(what: str, exc: RequestFailed) -> None:
        why = "forbidden" if exc.status.code == 403 else f"{exc.status.code} {exc.status.reason}"
        notes.append(Note(
            code="CLUSTER-OPTIONAL-UNREADABLE", level=Level.WARNING,
            message=f"cannot read {what} ({why}): {exc.status.message or exc.message}",
            subject=cluster.label, instead=f"converted without {what}",
        ))

    for read in _READS:
        ns = namespace if read.namespaced else None
        try:
            items = cluster.list(read.api_version, read.plural, ns,
                                 selector=selector if read.kind == "Ingress" else None,
                                 page_size=page_size, progress=progress)
            docs.extend(Document(_strip(obj), _origin(cluster, obj, read.kind)) for obj in items)
        except RequestFailed as exc:
            if read.required or exc.status.code not in (403, 404):
                if exc.status.code == 404:
                    raise ClusterError(f"{cluster.label}: the API server does not serve {read.api_version} "
                                       f"{read.kind} ({read.plural})") from None
                raise
            skipped(f"{_plural_kind(read.plural)} ({read.api_version})", exc)

    try:
        if namespace:
            found = cluster.get("v1", "namespaces", namespace)
            if found is not None:
                found.setdefault("apiVersion", "v1")
                found.setdefault("kind", "Namespace")
                docs.append(Document(_strip(found), _origin(cluster, found, "Namespace")))
        else:
            docs.extend(Document(_strip(obj), _origin(cluster, obj, "Namespace"))
                        for obj in cluster.list("v1", "namespaces", page_size=page_size, progress=progress))
    except RequestFailed as exc:
        if exc.status.code not in (403, 404):
            raise
        skipped("Namespaces", exc)

    forbidden = False
    for places in (NGINX_CONFIGMAPS, *NGINX_STREAM_CONFIGMAPS):
        for cm_ns, cm_name in places if not forbidden else ():
            try:
                cm = cluster.get("v1", "configmaps", cm_name, cm_ns)
            except RequestFailed as exc:
                if exc.status.code != 403:
                    raise
                skipped("the ingress-nginx controller ConfigMap", exc)
                forbidden = True  # the same RBAC answers for the other places and ConfigMaps
                break
            if cm is not None:
                cm.setdefault("apiVersion", "v1")
                cm.setdefault("kind", "ConfigMap")
                docs.append(Document(_strip(cm), _origin(cluster, cm, "ConfigMap")))
                break

    for kind in sorted(set(kinds)):
        claimed, why = _read_claimed(cluster, kind, namespace, selector, page_size, progress)
        docs.extend(claimed)
        notes.extend(why)
    return ClusterRead(docs, notes)


def read_gateways(cluster: Cluster, refs: Iterable[tuple[str, str]]) -> ClusterRead:
    """The Gateways ``refs`` names (``get``; a missing one is simply absent), every ListenerSet
    and ReferenceGrant, and the Namespaces, for attaching routes to existing Gateways. Only
    the Gateways are required; the rest, when forbidden or not served, is left out with a
    warning (its checks are then skipped)."""
    docs: list[Document] = []
    notes: list[Note] = []
    api = "gateway.networking.k8s.io/v1"
    for ns, name in refs:
        try:
            found = cluster.get(api, "gateways", name, ns)
        except RequestFailed as exc:
            if exc.status.code == 404:  # the Gateway API is not installed
                raise ClusterError(f"{cluster.label}: the API server does not serve {api} Gateways") from None
            raise
        if found is not None:
            found.setdefault("apiVersion", api)
            found.setdefault("kind", "Gateway")
            docs.append(Document(_strip(found), _origin(cluster, found, "Gateway")))
    for api_version, plural, kind in ((api, "listenersets", "ListenerSet"), (api, "referencegrants", "ReferenceGrant"),
                                      ("v1", "namespaces", "Namespace")):
        try:
            docs.extend(Document(_strip(obj), _origin(cluster, obj, kind)) for obj in cluster.list(api_version, plural))
        except RequestFailed as exc:
            if exc.status.code not in (403, 404):
                raise
            notes.append(Note(code="CLUSTER-OPTIONAL-UNREADABLE", level=Level.WARNING,
                              message=f"cannot read {kind}s ({exc.status.code} {exc.status.reason})",
                              subject=cluster.label, instead=f"existing Gateways checked without {kind}s"))
    return ClusterRead(docs, notes)


def read_services(cluster: Cluster, refs: Iterable[tuple[str, str]]) -> ClusterRead:
    """The Services ``refs`` names (``get``, read-only), for named ports the input cannot
    resolve. A missing Service is absent; a forbidden read is a warning note."""
    docs: list[Document] = []
    notes: list[Note] = []
    for ns, name in sorted(set(refs)):
        try:
            found = cluster.get("v1", "services", name, ns)
        except RequestFailed as exc:
            if exc.status.code != 403:
                raise
            notes.append(Note(code="CLUSTER-OPTIONAL-UNREADABLE", level=Level.WARNING,
                              message=f"cannot read Service {ns}/{name} (forbidden): {exc.status.message}",
                              subject=cluster.label, instead="its named ports stay unresolved"))
            continue
        if found is not None:
            found.setdefault("apiVersion", "v1")
            found.setdefault("kind", "Service")
            docs.append(Document(_strip(found), _origin(cluster, found, "Service")))
    return ClusterRead(docs, notes)
