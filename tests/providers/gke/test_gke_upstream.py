"""ingress-gce's own tests (``docs/upstream/gke/cases.json``) as tests of the GKE provider and model.

Every case the provider or the model can decide runs: the Ingress -> URL map translation (the
URL map, its translation errors, and each expected path routed by the model to its backend),
path validation, FrontendConfig redirects and SSL policies, which BackendConfig a Service port
gets and what its fields ask for (compared with the backend-service state each test expects to
need or not need an update), the Service annotations, and which Ingresses ingress-gce takes.
The cases that test Google Cloud API plumbing the provider does not model are skipped with the
reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest
from support import SHARED

from ing2gw import intents as i
from ing2gw.http import Request
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.providers.gke import provider as gke
from ing2gw.providers.gke.annotations import app_protocols, parse_backend_config
from ing2gw.providers.gke.configs import backend_config, backend_settings, frontend_settings
from ing2gw.providers.gke.model import GkeModel
from ing2gw.providers.gke.translator import ingress_class
from ing2gw.providers.gke.urlmap import url_map
from ing2gw.resources import IngressBackend, ResourceSet, build_resource_set
from ing2gw.yamlio import Document

CASES = json.loads((SHARED / "docs" / "upstream" / "gke" / "cases.json").read_text())
_BC = APIKind("cloud.google.com", "v1", "BackendConfig", selectable=False)
_FC = APIKind("networking.gke.io", "v1beta1", "FrontendConfig", selectable=False)


def _of(test: str) -> list[dict[str, Any]]:
    return [c for c in CASES if c["source"]["test"] == test]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{c['id']} {c['name'].split(': ', 1)[-1]}" for c in cases]


def _resources(objects: list[Mapping[str, Any]]) -> ResourceSet:
    docs = [Document(dict(o), f"<upstream>:{n + 1}") for n, o in enumerate(objects) if o and o.get("metadata")]
    return build_resource_set(docs, kinds=gke.PROVIDER.kinds)


def _object(kind: APIKind, body: Mapping[str, Any] | None, namespace: str = "default", name: str = "cfg"
            ) -> KubeObject:
    return KubeObject(kind, namespace, name, {}, {}, {"spec": (body or {}).get("spec") or {}}, "<upstream>")


def _backend(b: IngressBackend | None, namespace: str) -> dict[str, Any] | None:
    if b is None:
        return None
    port = {"number": b.port_number} if b.port_number is not None else {"name": b.port_name}
    return {"service": {"namespace": namespace, "name": b.service}, "port": port}


# --- Ingress -> URL map ----------------------------------------------------------------------------

_TRANSLATE = _of("TestTranslateIngress") + [c for c in _of("TestPathValidation") if c["expected"]["valid"]]


@pytest.mark.parametrize("case", _TRANSLATE, ids=_ids(_TRANSLATE))
def test_translate_ingress(case: dict[str, Any]) -> None:
    rs = _resources(case["input"])
    if not rs.ingresses:  # refused as invalid input, as the API server refuses it
        assert [n.code for n in rs.notes] == ["INPUT-INVALID-OBJECT"]
        if case["expected"]["gceURLMap"]["hostRules"]:
            pytest.skip("a path without a backend is refused by the API server (networking.k8s.io/v1 requires "
                        "one); ing2gw refuses the whole Ingress as invalid input where ingress-gce drops the path")
        return  # no rules and no default backend: nothing is routed, everything gets the 404 default
    ing = rs.ingresses[0]
    m = url_map(ing, rs)
    system = case["args"].get("systemDefaultBackend") or {
        "service": {"namespace": "kube-system", "name": "default-http-backend"}, "port": {"name": "http"}}
    default_broken = any(f == "spec.defaultBackend" for f, _ in m.errors)
    got = {
        "defaultBackend": None if default_broken else _backend(m.default, ing.namespace) or system,
        "hostRules": [] if default_broken else [
            {"hostname": h.host, "paths": [{"path": p.path, "backend": _backend(p.backend, ing.namespace)}
                                           for p in h.paths]} for h in m.hosts],
    }
    assert got == case["expected"]["gceURLMap"]
    if "errorCount" in case["expected"]:
        assert len(m.errors) == case["expected"]["errorCount"]
    # the model routes each path of the map to its backend, and everything else to the default
    model = GkeModel.from_resources(rs)
    for h in got["hostRules"]:
        host = "anything.example" if h["hostname"] == "*" else h["hostname"]
        for p in h["paths"]:
            path = p["path"][:-1] + "x/y" if p["path"].endswith("*") else p["path"]
            b = p["backend"]
            out = model.route(Request.from_url(f"http://{host}{path}"))
            assert out.backend == f"{b['service']['namespace']}/{b['service']['name']}:{b['port']['number']}", path
    if not got["hostRules"] and got["defaultBackend"] is not None and got["defaultBackend"] != system:
        b = got["defaultBackend"]
        out = model.route(Request.from_url("http://any.example/some/path"))
        assert out.backend == f"{b['service']['namespace']}/{b['service']['name']}:{b['port']['number']}"


_INVALID = [c for c in _of("TestPathValidation") if not c["expected"]["valid"]]


@pytest.mark.parametrize("case", _INVALID, ids=_ids(_INVALID))
def test_invalid_paths_are_translation_errors(case: dict[str, Any]) -> None:
    rs = _resources(case["input"])
    m = url_map(rs.ingresses[0], rs)
    assert m.errors and all(not h.paths for h in m.hosts)


def test_a_repeated_host_replaces_and_the_last_equal_path_wins() -> None:
    (case,) = _of("TestGCEURLMap")
    steps = case["args"]["steps"]
    rules = []
    for n, step in enumerate(steps):
        put = step["put"]
        rules.append({"host": put["host"], "http": {"paths": [
            {"path": p["path"], "pathType": "ImplementationSpecific",
             "backend": {"service": {"name": f"svc-{p['nodePort']}", "port": {"number": 80}}}} for p in put["paths"]]}})
        ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "m", "namespace": "default"}, "spec": {"rules": list(rules)}}
        rs = _resources([ing])
        m = url_map(rs.ingresses[0], rs)
        paths = {(h.host, p.path): p.backend.service for h in m.hosts for p in h.paths}
        for check, want in case["expected"][f"after step {n + 1}"].items():
            name, args = check.split("(", 1)
            host, _, rest = args.partition(", ")
            if name == "HostExists":
                assert any(h.host == host.rstrip(")") for h in m.hosts) == want
            elif check.endswith(".nodePort"):
                assert paths[(host, rest.split(")")[0])] == f"svc-{want}"
            else:
                assert ((host, rest.rstrip(")")) in paths) == want


@pytest.mark.parametrize("case", _of("TestToComputeURLMap"), ids=_ids(_of("TestToComputeURLMap")))
def test_compute_url_map(case: dict[str, Any]) -> None:
    pytest.skip("Compute API object names (k8s-um-*, path matcher hashes) are plumbing the provider does not model")


# --- FrontendConfig ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _of("TestToRedirectUrlMap"), ids=_ids(_of("TestToRedirectUrlMap")))
def test_redirect_to_https(case: dict[str, Any]) -> None:
    objects = [_object(_FC, o, name="fc") for o in case["input"] if o is not None]
    fc = frontend_settings(objects, "default", "fc")
    want = case["expected"]["urlMap"]
    if want is None:
        assert fc.redirect_code is None
    else:
        code = want["defaultUrlRedirect"].get("redirectResponseCode", "MOVED_PERMANENTLY_DEFAULT")
        assert fc.redirect_code == {"MOVED_PERMANENTLY_DEFAULT": 301}[code]


@pytest.mark.parametrize("case", _of("TestSslPolicyLink"), ids=_ids(_of("TestSslPolicyLink")))
def test_ssl_policy(case: dict[str, Any]) -> None:
    objects = [_object(_FC, o, name="fc") for o in case["input"] if o is not None]
    fc = frontend_settings(objects, "default", "fc")
    want = case["expected"]["want"]
    if not want:  # none, or "" (the link cleared): no policy to carry
        assert fc.ssl_policy is None
    else:
        assert want.endswith(f"/sslPolicies/{fc.ssl_policy}")


# --- BackendConfig fields -> backend service ------------------------------------------------------


def _desired(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The backend-service fields the provider's reading of a BackendConfig asks for."""
    if spec is None:
        return {}
    s = backend_settings(_object(_BC, {"spec": spec}))
    out: dict[str, Any] = {}
    for x in s.intents:
        if isinstance(x, i.Timeouts) and x.request_ms is not None:
            out["timeoutSec"] = x.request_ms // 1000
        elif isinstance(x, i.ConnectionDraining):
            out["connectionDraining"] = {"drainingTimeoutSec": x.timeout_s}
        elif isinstance(x, i.SessionAffinity):
            out["sessionAffinity"] = "GENERATED_COOKIE"
            if x.max_age_s is not None:
                out["affinityCookieTtlSec"] = x.max_age_s
        elif isinstance(x, i.LoadBalancing):
            out["sessionAffinity"] = "CLIENT_IP"
    affinity = spec.get("sessionAffinity") or {}
    if "affinityCookieTtlSec" in affinity and "affinityCookieTtlSec" not in out:
        out["affinityCookieTtlSec"] = affinity["affinityCookieTtlSec"]  # a TTL alone (no cookie type)
    if affinity.get("affinityType") == "NONE":
        out["sessionAffinity"] = "NONE"
    if s.request_headers or (spec.get("customRequestHeaders") or {}).get("headers"):
        out["customRequestHeaders"] = [f"{k}:{v}" for k, v in s.request_headers] or list(
            spec["customRequestHeaders"]["headers"])
    if (spec.get("customResponseHeaders") or {}).get("headers"):
        out["customResponseHeaders"] = list(spec["customResponseHeaders"]["headers"])
    return out


def _needs_update(desired: Mapping[str, Any], be: Mapping[str, Any], fields: tuple[str, ...]) -> bool:
    for f in fields:
        if f not in desired:
            continue
        want, have = desired[f], be.get(f)
        if isinstance(want, dict):
            if any((have or {}).get(k) != v for k, v in want.items()):
                return True
        elif want != have:
            return True
    return False


_ENSURE = {
    "TestEnsureTimeout": ("timeoutSec",),
    "TestEnsureDraining": ("connectionDraining",),
    "TestEnsureAffinity": ("sessionAffinity", "affinityCookieTtlSec"),
    "TestEnsureCustomRequestHeaders": ("customRequestHeaders",),
}
_ENSURE_CASES = [c for t in _ENSURE for c in _of(t)]


@pytest.mark.parametrize("case", _ENSURE_CASES, ids=_ids(_ENSURE_CASES))
def test_backend_config_fields(case: dict[str, Any]) -> None:
    spec = case["input"][0].get("spec") if case["input"][0] else None
    desired = _desired(spec)
    be = case["args"]["be"]
    fields = _ENSURE[case["source"]["test"]]
    if spec is None or not any(f in desired for f in fields):
        assert not case["expected"]["updateExpected"]  # nothing asked: nothing to carry, nothing to update
        return
    assert _needs_update(desired, be, fields) == case["expected"]["updateExpected"]


_RESPONSE_HEADERS = _of("TestEnsureCustomResponseHeaders")


@pytest.mark.parametrize("case", _RESPONSE_HEADERS, ids=_ids(_RESPONSE_HEADERS))
def test_custom_response_headers(case: dict[str, Any]) -> None:
    spec = case["input"][0].get("spec") if case["input"][0] else None
    s = backend_settings(_object(_BC, {"spec": spec or {}}))
    asked = list(((spec or {}).get("customResponseHeaders") or {}).get("headers") or [])
    # ingress-gce sets the list the BackendConfig holds (none = none): an update when it differs
    assert (asked != list(case["args"]["be"].get("customResponseHeaders") or [])) == case["expected"]["updateExpected"]
    # the provider carries the fixed values and notes those with load-balancer variables
    assert len(s.response_headers) + sum("uses a load-balancer variable" in p for p in s.problems) == len(asked)


@pytest.mark.parametrize("case", _of("TestEnsureLogging"), ids=_ids(_of("TestEnsureLogging")))
def test_logging(case: dict[str, Any]) -> None:
    spec = case["input"][0].get("spec") or {}
    s = backend_settings(_object(_BC, {"spec": spec}))
    logs = [x for x in s.intents if isinstance(x, i.AccessLog)]
    if "logging" not in spec:
        assert not logs and not case["expected"]["expectUpdate"]
        return
    (log,) = logs
    have = case["args"]["be"].get("logConfig") or {}
    if not log.enabled:  # logging off: the sample rate is 0 whatever the BackendConfig says
        assert log.sample_rate is None
        update = have.get("enable") is not False or (have.get("sampleRate") or 0.0) != 0.0
    else:
        update = have.get("enable") is not True or (log.sample_rate is None and "sampleRate" not in have) or (
            log.sample_rate is not None and have.get("sampleRate") != log.sample_rate)
    assert update == case["expected"]["expectUpdate"]


@pytest.mark.parametrize("case", _of("TestEnsureIAP"), ids=_ids(_of("TestEnsureIAP")))
def test_iap(case: dict[str, Any]) -> None:
    spec = case["input"][0].get("spec") or {}
    s = backend_settings(_object(_BC, {"spec": spec}))
    iaps = [x for x in s.intents if isinstance(x, i.IdentityAwareProxy)]
    want = case["expected"]["wantBE"]["iap"]
    if "iap" not in spec:
        assert not iaps
        return
    creds = spec["iap"].get("oauthclientCredentials") or {}
    if want.get("enabled"):
        (iap,) = iaps
        assert iap.client_id == want.get("oauth2ClientId") or case["expected"].get("expectErr")
    else:
        assert not iaps  # IAP off: no sign-in to carry
    if creds.get("clientSecret") and spec["iap"].get("enabled"):  # inline secrets are noted, never copied
        assert any("never copies secret values" in p for p in s.problems)
        have = case["args"]["be"].get("iap") or {}
        same = hashlib.sha256(creds["clientSecret"].encode()).hexdigest() == have.get("oauth2ClientSecretSha256")
        assert (not same or have.get("oauth2ClientId") != creds.get("clientID")
                or have.get("enabled") != spec["iap"].get("enabled")) == case["expected"]["updateExpected"]


@pytest.mark.parametrize("case", _of("TestEnsureSecurityPolicy"), ids=_ids(_of("TestEnsureSecurityPolicy")))
def test_security_policy(case: dict[str, Any]) -> None:
    spec = case["input"][0].get("spec") if case["input"][0] else None
    regional = case["args"]["currentBackendService"]["scope"] == "regional"
    s = backend_settings(_object(_BC, {"spec": spec or {}}), regional=regional)
    refs = [x for x in s.intents if isinstance(x, i.SecurityPolicyRef)]
    if case["expected"].get("expectError"):
        assert not refs and any("invalid" in p for p in s.problems)
        return
    name = ((spec or {}).get("securityPolicy") or {}).get("name")
    assert [r.name for r in refs] == ([name] if name else [])
    assert all(r.vendor == "cloud-armor" and r.security is not None for r in refs)


@pytest.mark.parametrize("case", _of("TestValidateIAP") + _of("TestValidateSessionAffinity"),
                         ids=_ids(_of("TestValidateIAP") + _of("TestValidateSessionAffinity")))
def test_validation(case: dict[str, Any]) -> None:
    if "init" in case["args"] and "secret" in case["name"]:
        pytest.skip("decided by the OAuth Secret's data (client_id, client_secret keys), which ing2gw never reads")
    spec = case["input"][0]["spec"]
    regional = bool((case["args"].get("servicePort") or {}).get("l7XLBRegionalEnabled"))
    s = backend_settings(_object(_BC, {"spec": spec}), regional=regional)
    refused = any("is invalid" in p for p in s.problems)
    assert refused == case["expected"]["expectError"]


# --- Service annotations -----------------------------------------------------------------------


@pytest.mark.parametrize("case", _of("TestGetBackendConfigForServicePort"),
                         ids=_ids(_of("TestGetBackendConfigForServicePort")))
def test_backend_config_for_port(case: dict[str, Any]) -> None:
    if "failed to retrieve" in case["name"]:
        pytest.skip("an API client error has no counterpart in files")
    ns, name = case["args"]["svc"].split(" ", 1)[1].split("/")
    meta = {"namespace": ns, "name": name, "annotations": (case["input"][0].get("metadata") or {}).get(
        "annotations") or {}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
           "spec": {"ports": [{"port": p.get("port", 80), **({"name": p["name"]} if "name" in p else {})}
                              for p in case["input"][0]["spec"]["ports"]]}}
    rs = _resources([svc])
    exists = "not exist" not in case["name"]
    objects = [_object(_BC, {}, "test", "config-test")] if exists else []
    port = case["args"].get("svcPort") or {}
    backend = IngressBackend(service=name, port_name=port.get("name"), port_number=port.get("port")
                             if "name" not in port else None)
    obj, why = backend_config(rs, objects, ns, backend)
    want = case["expected"].get("expectedConfig")
    if want is not None:
        assert obj is not None
        assert (obj.namespace, obj.name) == (want["metadata"]["namespace"], want["metadata"]["name"])
    elif "expectedErr" in case["expected"] and "not exist" in case["name"]:
        assert obj is None and "is not in the input" in why
    else:
        assert obj is None and not why  # no BackendConfig for this port: nothing applies


@pytest.mark.parametrize("case", _of("TestBackendConfigs"), ids=_ids(_of("TestBackendConfigs")))
def test_backend_config_annotation(case: dict[str, Any]) -> None:
    raw = ((case["input"][0] or {}).get("metadata") or {}).get("annotations", {}).get("cloud.google.com/backend-config")
    want = case["expected"]
    if raw is None:
        assert "expectedErr" in want
        return
    if "expectedErr" in want:
        with pytest.raises(ValueError):
            parse_backend_config(raw)
        return
    got = parse_backend_config(raw)
    assert {k: v for k, v in got.items() if v} == want["expectedConfigs"]


@pytest.mark.parametrize("case", _of("TestService"), ids=_ids(_of("TestService")))
def test_app_protocols(case: dict[str, Any]) -> None:
    annotations = ((case["input"][0] or {}).get("metadata") or {}).get("annotations") or {}
    want = case["expected"]
    if "appProtocols" not in want:
        with pytest.raises(ValueError):
            app_protocols(annotations)
        return
    assert app_protocols(annotations) == want["appProtocols"]


# --- which Ingresses ingress-gce takes ---------------------------------------------------------------


@pytest.mark.parametrize("case", _of("TestIsGCEIngress") + _of("TestIsGCEL7ILBIngress"),
                         ids=_ids(_of("TestIsGCEIngress") + _of("TestIsGCEL7ILBIngress")))
def test_class(case: dict[str, Any]) -> None:
    if any(k.endswith("Flag") for k in case["args"]):
        pytest.skip("decided by an ingress-gce command-line flag, not by the Ingress")
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "x", "namespace": "default", **(case["input"][0].get("metadata") or {})},
            "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                     **(case["input"][0].get("spec") or {})}}
    ing = _resources([body]).ingresses[0]
    cls = ingress_class(ing)
    if case["source"]["test"] == "TestIsGCEL7ILBIngress":
        assert (cls == "gce-internal") == case["expected"]["expected"]
    else:
        assert (cls in gke.PROVIDER.class_names) == case["expected"]["expected"]


@pytest.mark.parametrize("case", _of("TestCalculateDiff"), ids=_ids(_of("TestCalculateDiff")))
def test_health_check_fields(case: dict[str, Any]) -> None:
    """Each BackendConfig healthCheck field that drives an update is carried into the intent."""
    for row in case["expected"]["table"]:
        hc = row["backendConfigHealthCheck"]
        if not hc:
            continue
        s = backend_settings(_object(_BC, {"spec": {"healthCheck": hc}}))
        (check,) = [x for x in s.intents if isinstance(x, i.HealthCheck)]
        fields = {"checkIntervalSec": check.interval_s, "timeoutSec": check.timeout_s,
                  "healthyThreshold": check.healthy, "unhealthyThreshold": check.unhealthy,
                  "requestPath": check.path, "port": check.port}
        for k, v in hc.items():
            assert fields[k] == v, k


def test_ingress_annotations(ing2gw, tmp_path) -> None:
    """TestIngress: both static IPs on an internal Ingress are refused; the others parse."""
    for case in _of("TestIngress"):
        meta = (case["input"][0] or {}).get("metadata") or {}
        body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "x", "namespace": "default", **meta},
                "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}
        f = tmp_path / f"{case['id']}.yaml"
        f.write_text(json.dumps(body))
        r = ing2gw(["convert", "-f", str(f), "--provider", "gke", "--fail-on", "never"])
        assert r.exit_code == 0, r.stderr
        assert ("GKE-STATIC-IP-CONFLICT" in r.stderr) == bool(case["expected"].get("wantErr"))
        if meta.get("annotations", {}).get("kubernetes.io/ingress.allow-http") == "false":
            assert "sectionName: http\n" not in r.stdout
