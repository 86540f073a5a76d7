"""Every ingress-nginx annotation row that names a policy intent really feeds it: set on an
Ingress, its value shows up in the intent of that class (and without it, it does not)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ing2gw.intents import Intent, Opaque
from ing2gw.ir import GatewayRef
from ing2gw.notes import Notes
from ing2gw.provider import Claimed, ConversionOptions, ProviderContext
from ing2gw.providers.ingress_nginx import PROVIDER
from ing2gw.providers.ingress_nginx.annotations import TABLE
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import parse_documents

# The annotation that switches each intent on (the others only shape it).
PRIMARY = {
    "external-auth": {"auth-url": "http://auth.auth.svc:80/check"},
    "basic-auth": {"auth-type": "basic"},
    "client-cert-auth": {"auth-tls-secret": "shop/ca"},
    "rate-limit": {"limit-rps": "10"},
    "waf": {"enable-modsecurity": "true"},
    "timeouts": {"proxy-connect-timeout": "7"},
    "session-affinity": {"affinity": "cookie"},
    "error-pages": {"custom-http-errors": "404"},
    "backend-tls": {"proxy-ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256"},
}
# A value other than the default for every row (and what else it needs to matter).
SAMPLE = {
    "auth-url": "http://auth2.auth.svc:80/other", "auth-method": "POST",
    "auth-signin": "https://login.example.com/start", "auth-signin-redirect-param": "next",
    "auth-response-headers": "X-User", "auth-proxy-set-headers": "auth-headers",
    "auth-request-redirect": "https://shop.example.com/back", "auth-cache-key": "$remote_user",
    "auth-cache-duration": "200 202 10m", "auth-always-set-cookie": "true",
    "auth-type": "digest", "auth-secret": "basic", "auth-secret-type": "auth-map", "auth-realm": "Private",
    "auth-tls-secret": "shop/other-ca", "auth-tls-verify-client": "optional", "auth-tls-verify-depth": "3",
    "auth-tls-error-page": "https://shop.example.com/cert-error", "auth-tls-pass-certificate-to-upstream": "true",
    "auth-tls-match-cn": "CN=client",
    "allowlist-source-range": "10.0.0.0/8", "whitelist-source-range": "10.0.0.0/8",
    "denylist-source-range": "10.1.0.0/16",
    "limit-connections": "5", "limit-rps": "20", "limit-rpm": "100", "limit-burst-multiplier": "2",
    "limit-allowlist": "10.0.0.0/8", "limit-whitelist": "10.0.0.0/8",
    "enable-modsecurity": "true", "enable-owasp-core-rules": "true", "modsecurity-transaction-id": "$request_id",
    "proxy-body-size": "8m",
    "proxy-connect-timeout": "9", "proxy-send-timeout": "30", "proxy-read-timeout": "120",
    "proxy-next-upstream": "error timeout http_502", "proxy-next-upstream-timeout": "10",
    "proxy-next-upstream-tries": "5",
    "load-balance": "ewma", "upstream-hash-by": "$request_uri", "upstream-hash-by-subset": "true",
    "upstream-hash-by-subset-size": "5", "service-upstream": "true",
    "affinity": "cookie", "affinity-mode": "persistent", "session-cookie-name": "S",
    "session-cookie-path": "/app", "session-cookie-domain": "example.com", "session-cookie-expires": "3600",
    "session-cookie-max-age": "3600", "session-cookie-secure": "true", "session-cookie-samesite": "Strict",
    "custom-http-errors": "503", "default-backend": "errors", "disable-proxy-intercept-errors": "true",
    "proxy-ssl-ciphers": "AES128-SHA", "proxy-ssl-protocols": "TLSv1.3", "proxy-ssl-verify-depth": "3",
    "proxy-buffer-size": "16k",
    "ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256", "ssl-prefer-server-ciphers": "true", "satisfy": "any",
    "mirror-host": "mirror.example.com", "proxy-cookie-domain": "a.example.com b.example.com",
    "proxy-cookie-path": "/a /b", "proxy-redirect-from": "http://a/", "proxy-redirect-to": "http://b/",
    "enable-access-log": "false", "enable-opentelemetry": "true", "opentelemetry-trust-incoming-span": "false",
    "opentelemetry-operation-name": "op",
}
NEEDS = {
    "auth-signin-redirect-param": {"auth-signin": "https://login.example.com/start"},
    "upstream-hash-by-subset": {"upstream-hash-by": "$request_uri"},
    "upstream-hash-by-subset-size": {"upstream-hash-by": "$request_uri", "upstream-hash-by-subset": "true"},
    "proxy-read-timeout": {"proxy-connect-timeout": "7"},
    "limit-burst-multiplier": {"limit-rps": "10"},
}
# Rows whose value feeds something else than the Ingress's own intent.
ELSEWHERE = {"enable-global-auth": "turns the controller's global external auth off for the Ingress "
                                   "(tests/providers/ingress_nginx/test_nginx_configmap.py)"}


def _intents(annotations: dict[str, str]) -> tuple[list[Intent], Notes]:
    doc = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "shop",
                     "annotations": {f"{TABLE.prefix}/{k}": v for k, v in annotations.items()}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "shop", "port": {"number": 80}}}}]}}]},
    }
    rs = build_resource_set(parse_documents(json.dumps(doc), "in.yaml"))
    notes = Notes()
    ctx = ProviderContext(rs, notes, ConversionOptions(), {i.ref: GatewayRef("nginx", "nginx") for i in rs.ingresses})
    ir = PROVIDER.to_ir(Claimed(tuple(rs.ingresses)), ctx)
    return [i for r in ir.routes for rule in r.rules for i in rule.intents], notes


def _of(intents: list[Intent], kind: str, key: str) -> list[dict[str, Any]]:
    return [i.params() for i in intents if i.kind == kind and (not isinstance(i, Opaque) or i.key == key)]


ROWS = [s for s in TABLE if s.intent is not None]


@pytest.mark.parametrize("spec", ROWS, ids=[s.key for s in ROWS])
def test_row_feeds_its_intent(spec: Any) -> None:
    if spec.key in ELSEWHERE:
        pytest.skip(ELSEWHERE[spec.key])
    kind = spec.intent.kind
    base = {**PRIMARY.get(kind, {}), **NEEDS.get(spec.key, {})}
    base.pop(spec.key, None)
    without, _ = _intents(base)
    with_it, notes = _intents({**base, spec.key: SAMPLE[spec.key]})
    assert not [n for n in notes if n.code.endswith("-INVALID")], [n.message for n in notes]
    got = _of(with_it, kind, spec.key)
    assert got, f"{spec.key} produced no {kind} intent"
    assert got != _of(without, kind, spec.key), f"{spec.key}={SAMPLE[spec.key]} did not change the {kind} intent"
