"""A small Kubernetes API server emulator for tests: real HTTPS, real clients.

It speaks enough of the API for ``ing2gw`` (through the official ``kubernetes`` client)
and ``kubectl get`` to work against it:

* HTTPS on 127.0.0.1 (an ephemeral port) with a throwaway CA and server certificate made
  with ``cryptography``; bearer-token authentication (a wrong token gets 401);
* discovery: ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``, ``/version``;
* list (namespaced and across namespaces) with ``limit``/``continue`` paging and
  ``labelSelector``; list items leave out ``kind``/``apiVersion``, as the real server does;
* get, and server-side apply (``PATCH`` with ``application/apply-patch+yaml``) answering as
  the API server does: 201 with the object when it would be created, 200 when it exists,
  ``Status`` bodies for 400/404/409/422. ``dryRun=All`` persists nothing. Gateway API objects
  are checked with :func:`ing2gw.schema.validate` against the installed channel (422 with the
  field causes; an undeclared field is a 400, as server-side apply answers) and defaulted
  with :func:`ing2gw.schema.defaulted`. The apply merge is simplified: the applied top-level
  fields replace the live ones, labels and annotations are merged, status is kept;
* Gateway API CRDs are loaded from ``../shared/gateway-api/crds/<channel>`` on request
  (optionally relabelled with another bundle version, or with some kinds left out); any
  other CRD (a provider's own kinds) with :meth:`Emulator.install_crd`;
* ``forbid(verb, plural)`` makes requests fail with 403, as missing RBAC would.

Every request is recorded (method, path, query, content type), so tests can assert that
``convert`` sends no writes and ``dry-run`` sends only dry-run applies.
"""

from __future__ import annotations

import base64
import copy
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from support import SHARED

from ing2gw.resources import LabelSelector
from ing2gw.schema import defaulted, validate
from ing2gw.schema.reference import reference_validator

__all__ = ["Emulator", "Recorded"]

CRDS = SHARED / "gateway-api" / "crds"
CRD_GROUP = "apiextensions.k8s.io"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    authorized: bool

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")

    @property
    def is_dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


@dataclass(frozen=True)
class _Res:
    api_version: str
    kind: str
    plural: str
    namespaced: bool
    short: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


_BUILTIN = (
    _Res("v1", "Namespace", "namespaces", False, ("ns",)),
    _Res("v1", "Service", "services", True, ("svc",)),
    _Res("v1", "ConfigMap", "configmaps", True, ("cm",)),
    _Res("v1", "Secret", "secrets", True),
    _Res("networking.k8s.io/v1", "Ingress", "ingresses", True, ("ing",)),
    _Res("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    _Res(f"{CRD_GROUP}/v1", "CustomResourceDefinition", "customresourcedefinitions", False, ("crd", "crds")),
)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CRD_CACHE: dict[str, list[dict[str, Any]]] = {}


def _crds(channel: str) -> list[dict[str, Any]]:
    """The channel's Gateway API CRDs as read from ../shared (parsed once per process)."""
    if channel not in _CRD_CACHE:
        found = []
        for path in sorted((CRDS / channel).glob("gateway.networking.k8s.io_*.yaml")):
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    found.append(doc)
        _CRD_CACHE[channel] = found
    return _CRD_CACHE[channel]


# --------------------------------------------------------------------------- certificates

_CERTS: tuple[bytes, bytes, bytes] | None = None


def _certificates() -> tuple[bytes, bytes, bytes]:
    """(CA cert PEM, server cert PEM, server key PEM), made once per process."""
    global _CERTS
    if _CERTS is not None:
        return _CERTS
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator-ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _CERTS = (
        ca.public_bytes(pem),
        cert.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return _CERTS


# --------------------------------------------------------------------------- the server


def _status(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = dict(details)
    return body


class _Reply(Exception):
    def __init__(self, code: int, body: Mapping[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.body = body


def _fail(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> _Reply:
    return _Reply(code, _status(code, reason, message, details))


class Emulator:
    """The fake API server. Use as a context manager, or call :meth:`start`/:meth:`stop`."""

    def __init__(self, token: str = "emulator-token", channel: str | None = "standard") -> None:
        self.token = token
        self.channel = channel or "standard"
        self.requests: list[Recorded] = []
        self.forbidden: set[tuple[str, str]] = set()  # (verb, plural); verb "*" = any
        self._res: dict[str, dict[str, _Res]] = {}
        self._store: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 1000
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="kube-emulator-")
        for res in _BUILTIN:
            self._register(res)
        if channel is not None:
            self.install_gateway_api(channel)

    # -- set-up ------------------------------------------------------------------------

    def _register(self, res: _Res) -> None:
        self._res.setdefault(res.api_version, {})[res.plural] = res
        self._store.setdefault((res.api_version, res.plural), {})

    def install_gateway_api(self, channel: str = "standard", bundle_version: str | None = None,
                            kinds: Iterable[str] | None = None) -> None:
        """Install the v1.6.1 CRDs of ``channel`` (only ``kinds`` when given), optionally
        announcing another ``bundle_version``."""
        self.channel = channel
        wanted = set(kinds) if kinds is not None else None
        for crd in _crds(channel):
            names = crd["spec"]["names"]
            if wanted is not None and names["kind"] not in wanted:
                continue
            if bundle_version:
                crd = {**crd, "metadata": copy.deepcopy(crd["metadata"])}
                crd["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] = bundle_version
            self._store_crd(crd)
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    self._register(_Res(f"{crd['spec']['group']}/{version['name']}", names["kind"],
                                        names["plural"], crd["spec"]["scope"] == "Namespaced",
                                        tuple(names.get("shortNames") or ())))

    def install_crd(self, api_version: str, kind: str, plural: str, namespaced: bool = True) -> None:
        """Install a CustomResourceDefinition serving ``api_version`` ``kind`` (no schema)."""
        group, _, version = api_version.rpartition("/")
        scope = "Namespaced" if namespaced else "Cluster"
        self._store_crd({
            "apiVersion": f"{CRD_GROUP}/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]},
        })
        self._register(_Res(api_version, kind, plural, namespaced))

    def install_crd_document(self, crd: Mapping[str, Any]) -> None:
        """Install a full CustomResourceDefinition (an implementation's policy CRD): its served
        versions are registered and objects of its kind are validated against its schema
        (OpenAPI and CEL, the reference validator)."""
        crd = copy.deepcopy(dict(crd))
        self._store_crd(crd)
        names = crd["spec"]["names"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                self._register(_Res(f"{crd['spec']['group']}/{version['name']}", names["kind"], names["plural"],
                                    crd["spec"]["scope"] == "Namespaced", tuple(names.get("shortNames") or ())))

    def _custom_schema(self, res: _Res) -> Mapping[str, Any] | None:
        """The schema of a kind installed with :meth:`install_crd_document` (None otherwise)."""
        crd = self._store[(f"{CRD_GROUP}/v1", "customresourcedefinitions")].get(("", f"{res.plural}.{res.group}"))
        if crd is None or res.group.endswith(".k8s.io"):
            return None
        version = res.api_version.rpartition("/")[2]
        for v in crd["spec"]["versions"]:
            schema = (v.get("schema") or {}).get("openAPIV3Schema") or {}
            if v["name"] == version and not schema.get("x-kubernetes-preserve-unknown-fields"):
                return schema  # type: ignore[no-any-return]
        return None

    def _store_crd(self, crd: dict[str, Any]) -> None:
        # CRDs are big and never modified: stored without the deep copy of :meth:`add`.
        obj = {**crd, "metadata": {**crd["metadata"], "uid": str(uuid.uuid4()), "generation": 1,
                                   "creationTimestamp": "2024-01-01T00:00:00Z", "resourceVersion": str(self._rv)}}
        self._store[(f"{CRD_GROUP}/v1", "customresourcedefinitions")][("", crd["metadata"]["name"])] = obj

    def forbid(self, verb: str, plural: str) -> None:
        """Answer ``verb`` (get, list, patch or *) on ``plural`` with 403 Forbidden."""
        self.forbidden.add((verb, plural))

    def _find(self, api_version: str, kind: str) -> _Res:
        for res in self._res.get(api_version, {}).values():
            if res.kind == kind:
                return res
        raise KeyError(f"{api_version} {kind} is not served by the emulator")

    def add(self, *objs: Mapping[str, Any]) -> None:
        """Store objects as if they had been created (uid, resourceVersion, timestamps)."""
        with self._lock:
            for raw in objs:
                obj = copy.deepcopy(dict(raw))
                res = self._find(obj["apiVersion"], obj["kind"])
                meta = obj.setdefault("metadata", {})
                ns = meta.get("namespace", "default") if res.namespaced else ""
                if res.namespaced:
                    meta["namespace"] = ns
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
                meta.setdefault("generation", 1)
                self._rv += 1
                meta["resourceVersion"] = str(self._rv)
                self._store[(res.api_version, res.plural)][(ns, meta["name"])] = obj

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        res = self._find(api_version, kind)
        return self._store[(api_version, res.plural)].get((namespace if res.namespaced else "", name))

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_write]

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Emulator:
        ca, cert, key = _certificates()
        tmp = Path(self._tmp.name)
        (tmp / "ca.crt").write_bytes(ca)
        (tmp / "tls.crt").write_bytes(cert)
        (tmp / "tls.key").write_bytes(key)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tmp / "tls.crt", tmp / "tls.key")
        emulator = self

        class Handler(_Handler):
            api = emulator

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="kube-emulator",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_file(self) -> str:
        return str(Path(self._tmp.name) / "ca.crt")

    def kubeconfig(self, path: Path, token: str | None = None, namespace: str | None = None,
                   context: str = "emulator", server: str | None = None) -> Path:
        """Write an ordinary kubeconfig (server, CA, token) for this emulator."""
        ctx: dict[str, Any] = {"cluster": context, "user": f"{context}-user"}
        if namespace:
            ctx["namespace"] = namespace
        ca = base64.b64encode(_certificates()[0]).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": server or self.url,
                                                       "certificate-authority-data": ca}}],
            "users": [{"name": f"{context}-user", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # -- request handling ------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        authorized = scheme.lower() == "bearer" and token.strip() == self.token  # the scheme is case-insensitive
        with self._lock:
            self.requests.append(Recorded(method, split.path, query, headers.get("content-type", ""), authorized))
        try:
            if not authorized:
                raise _fail(401, "Unauthorized", "Unauthorized")
            parts = [unquote(p) for p in split.path.strip("/").split("/") if p]
            with self._lock:
                return 200, self._route(method, parts, query, headers, body)
        except _Reply as reply:
            return reply.code, reply.body

    def _route(self, method: str, parts: list[str], query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Any:
        if parts == ["version"]:
            return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-emulator", "platform": "linux/amd64"}
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            return self._groups()
        if parts[:2] == ["api", "v1"]:
            api_version, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise _fail(404, "NotFound", "the server could not find the requested resource")
        served = self._res.get(api_version)
        if served is None:
            raise _fail(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._resource_list(api_version)
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = served.get(rest[0])
        if res is None or (namespace and not res.namespaced) or len(rest) > 2:
            raise _fail(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) == 2 else None
        verb = {"GET": "get" if name else "list", "PATCH": "patch"}.get(method, method.lower())
        self._authorize(verb, res, namespace)
        if method == "GET" and name is None:
            return self._list(res, namespace, query)
        if method == "GET":
            obj = self._store[(res.api_version, res.plural)].get((namespace, name))
            if obj is None:
                raise self._not_found(res, name)
            return obj
        if method == "PATCH" and name is not None:
            return self._apply(res, namespace, name, query, headers, body)
        raise _fail(405, "MethodNotAllowed", f"the emulator does not implement {method} here")

    def _authorize(self, verb: str, res: _Res, namespace: str) -> None:
        if (verb, res.plural) in self.forbidden or ("*", res.plural) in self.forbidden:
            group = f"{res.plural}.{res.group}" if res.group else res.plural
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            raise _fail(403, "Forbidden",
                        f'{group} is forbidden: User "system:serviceaccount:default:ing2gw" cannot {verb} '
                        f'resource "{res.plural}" in API group "{res.group}" {scope}',
                        {"kind": res.plural, "group": res.group})

    @staticmethod
    def _not_found(res: _Res, name: str) -> _Reply:
        group = f"{res.plural}.{res.group}" if res.group else res.plural
        return _fail(404, "NotFound", f'{group} "{name}" not found',
                     {"name": name, "group": res.group, "kind": res.plural})

    def _groups(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for api_version in self._res:
            if api_version != "v1":
                group, _, version = api_version.rpartition("/")
                groups.setdefault(group, []).append(version)
        out = []
        for group, versions in sorted(groups.items()):
            # Kubernetes order: GA before beta before alpha, newest first.
            ranked = sorted(versions, key=lambda v: ("alpha" in v, "beta" in v, -len(v), v), reverse=False)
            gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in ranked]
            out.append({"name": group, "versions": gv, "preferredVersion": gv[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}

    def _resource_list(self, api_version: str) -> dict[str, Any]:
        resources = []
        for res in sorted(self._res[api_version].values(), key=lambda r: r.plural):
            resources.append({"name": res.plural, "singularName": res.kind.lower(), "namespaced": res.namespaced,
                              "kind": res.kind, "shortNames": list(res.short),
                              "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources}

    def _list(self, res: _Res, namespace: str, query: Mapping[str, str]) -> dict[str, Any]:
        objs = [obj for (ns, _), obj in sorted(self._store[(res.api_version, res.plural)].items())
                if not namespace or ns == namespace]
        selector = query.get("labelSelector")
        if selector:
            sel = LabelSelector.parse(selector)
            objs = [o for o in objs if sel.matches((o.get("metadata") or {}).get("labels") or {})]
        start = 0
        token = query.get("continue")
        if token:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["start"])
            except (ValueError, KeyError, TypeError):
                raise _fail(400, "BadRequest", "continue key is not valid") from None
        limit = int(query.get("limit") or 0)
        end = len(objs) if limit <= 0 else min(len(objs), start + limit)
        meta: dict[str, Any] = {"resourceVersion": str(self._rv)}
        if end < len(objs):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end}).encode()).decode()
            meta["remainingItemCount"] = len(objs) - end
        items = []
        for obj in objs[start:end]:
            item = copy.deepcopy(obj)
            item.pop("kind", None)  # the real API server leaves these out of list items
            item.pop("apiVersion", None)
            items.append(item)
        return {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": meta, "items": items}

    def _apply(self, res: _Res, namespace: str, name: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Any:
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if ctype != "application/apply-patch+yaml":
            raise _fail(415, "UnsupportedMediaType", f"the emulator only implements server-side apply, not {ctype}")
        manager = query.get("fieldManager")
        if not manager:
            raise _fail(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                        "is required for apply patch")
        dry_run = query.get("dryRun")
        if dry_run not in (None, "All"):
            raise _fail(400, "BadRequest", f"unsupported dryRun value {dry_run!r}")
        try:
            obj = yaml.safe_load(body.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise _fail(400, "BadRequest", f"error decoding YAML: {exc}") from None
        if not isinstance(obj, dict):
            raise _fail(400, "BadRequest", "the body is not an object")
        if obj.get("apiVersion") != res.api_version or obj.get("kind") != res.kind:
            raise _fail(400, "BadRequest", f"the API version/kind of the object ({obj.get('apiVersion')}, "
                        f"{obj.get('kind')}) does not match the URL ({res.api_version}, {res.kind})")
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != name:
            raise _fail(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the name "
                        f"on the URL ({name})")
        if res.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise _fail(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                            "sent on the request")
            meta["namespace"] = namespace
            if ("", namespace) not in self._store[("v1", "namespaces")]:
                raise _fail(404, "NotFound", f'namespaces "{namespace}" not found',
                            {"name": namespace, "kind": "namespaces"})
        if res.group in ("gateway.networking.k8s.io", "gateway.networking.x-k8s.io"):
            obj = self._validate(res, name, obj)
        live = self._store[(res.api_version, res.plural)].get((namespace, name))
        if live is not None and query.get("force") != "true":
            others = [m["manager"] for m in (live["metadata"].get("managedFields") or [])
                      if m.get("manager") != manager]
            if others:
                raise _fail(409, "Conflict", f'Apply failed with 1 conflict: conflict with "{others[0]}": .spec',
                            {"causes": [{"reason": "FieldManagerConflict", "field": ".spec",
                                         "message": f'conflict with "{others[0]}"'}]})
        result = self._merge(live, obj, manager, res)
        if dry_run is None:
            self._rv += 1
            result["metadata"]["resourceVersion"] = str(self._rv)
            self._store[(res.api_version, res.plural)][(namespace, name)] = result
        if live is None:
            raise _Reply(201, result)
        return result

    def _validate(self, res: _Res, name: str, obj: dict[str, Any]) -> dict[str, Any]:
        custom = self._custom_schema(res)
        if custom is not None:
            errors = reference_validator(custom, res.kind, "Namespaced" if res.namespaced else "Cluster",
                                         True).validate(obj)
        else:
            errors = validate(obj, self.channel)
        unknown = [e for e in errors if e.message.startswith("unknown field")]
        if unknown:  # server-side apply refuses undeclared fields, whatever fieldValidation says
            raise _fail(400, "BadRequest", f"failed to create typed patch object ({res.api_version}, "
                        f"Kind={res.kind}): " + "; ".join(f".{e.path}: field not declared in schema"
                                                           for e in unknown))
        invalid = [e for e in errors if not e.message.startswith("unknown field")]
        if invalid:
            group = f"{res.kind}.{res.group}"
            shown = [f"{e.path}: {e.message}" if e.path else e.message for e in invalid]
            text = shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"
            causes = [{"reason": "FieldValueInvalid", "message": e.message, "field": e.path} for e in invalid]
            raise _fail(422, "Invalid", f'{group} "{name}" is invalid: {text}',
                        {"name": name, "group": res.group, "kind": res.kind, "causes": causes})
        return obj if custom is not None else defaulted(obj, self.channel)

    def _merge(self, live: dict[str, Any] | None, applied: dict[str, Any], manager: str,
               res: _Res) -> dict[str, Any]:
        entry = {"manager": manager, "operation": "Apply", "apiVersion": res.api_version, "fieldsType": "FieldsV1",
                 "time": "2024-06-01T00:00:00Z"}
        if live is None:
            out = copy.deepcopy(applied)
            meta = out["metadata"]
            meta.update({"uid": str(uuid.uuid4()), "creationTimestamp": "2024-06-01T00:00:00Z", "generation": 1,
                         "resourceVersion": str(self._rv), "managedFields": [entry]})
            return out
        out = copy.deepcopy(live)
        for key, value in applied.items():
            if key not in ("metadata", "status"):
                out[key] = copy.deepcopy(value)
        meta = out["metadata"]
        for key in ("labels", "annotations"):
            merged = {**(meta.get(key) or {}), **(applied["metadata"].get(key) or {})}
            if merged:
                meta[key] = merged
        if {k: v for k, v in out.items() if k not in ("metadata", "status")} != \
                {k: v for k, v in live.items() if k not in ("metadata", "status")}:
            meta["generation"] = int(meta.get("generation") or 1) + 1
        fields = [m for m in meta.get("managedFields") or [] if m.get("manager") != manager]
        meta["managedFields"] = [*fields, entry]
        return out


class _Handler(http.server.BaseHTTPRequestHandler):
    api: Emulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        code, payload = self.api.handle(self.command, self.path, headers, body)
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _serve
