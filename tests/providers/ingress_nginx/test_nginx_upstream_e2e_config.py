"""The controller's e2e configuration assertions, replayed against the independent generator.

Every entry of ``docs/upstream/ingress-nginx/e2e-config-assertions.json`` (a substring the
e2e suite expects in, or absent from, a server block or the whole nginx.conf) becomes a test:
its Ingresses (in the helpers' compact form) and ConfigMap go through
:func:`~ing2gw.providers.ingress_nginx.nginxconf.generate` and the rendered configuration is
searched for the directives that decide routing -- ``server_name``, ``location``,
``rewrite``, ``return``, the app-root ``if``, ``allow``/``deny``, ``proxy_pass`` to the
balancer, ``X-Forwarded-Prefix`` and ``$proxy_upstream_name``. Directives about anything
else (buffers, timeouts, logging, ModSecurity, Lua, listen options, TLS settings ...) are
not rendered by the oracle: such checks are skipped with the directive named, as are
entries whose Ingresses the transcription could not complete.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support import SHARED

from ing2gw.providers.ingress_nginx.nginxconf import generate
from ing2gw.resources import build_resource_set
from ing2gw.yamlio import Document

TABLE = SHARED / "docs" / "upstream" / "ingress-nginx" / "e2e-config-assertions.json"
NAMESPACE = "e2e"
INCOMPLETE = ("ingress_incomplete", "ingress_untranscribed", "ingress_modified_after_creation_not_transcribed",
              "file_has_several_BeforeEach_setup_not_transcribed")
# e2e files whose setting is not an Ingress or a ConfigMap key the model reads
NOT_MODELLED = {
    "settings/disable_catch_all.go": "the controller runs with --disable-catch-all, a command-line flag",
    "settings/global_access_block.go": "the ConfigMap's global block-cidrs/block-user-agents are not modelled",
}
# directives the oracle renders as the controller does (a check starting with one is decided)
ROUTING = re.compile(r"\s*(server_name |location |rewrite |return 30[0-8] (?!\$redirect_to)|if \(\$uri = /\)|"
                     r"allow |deny |proxy_pass http://upstream_balancer;|proxy_set_header X-Forwarded-Prefix |"
                     r"set \$proxy_upstream_name )")


def _entries() -> list[Any]:
    if not TABLE.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared is not present"))]
    data = json.loads(TABLE.read_text())
    return [pytest.param(e, id=f"{e['test']}:{e['source'].rsplit(':', 1)[1]}:{i}")
            for i, e in enumerate(data["entries"])]


def _manifest(item: dict[str, Any]) -> dict[str, Any]:
    def backend(service: str, port: int) -> dict[str, Any]:
        return {"service": {"name": service, "port": {"number": port}}}

    spec: dict[str, Any] = {}
    if item.get("paths"):
        rule: dict[str, Any] = {"http": {"paths": [
            {"path": p["path"], "pathType": p.get("pathType", "Prefix"),
             "backend": backend(item["service"], item["port"])} for p in item["paths"]]}}
        if item.get("host"):
            rule["host"] = item["host"]
        spec["rules"] = [rule]
    if item.get("defaultBackend"):
        spec["defaultBackend"] = backend(item["defaultBackend"]["service"], item["defaultBackend"]["port"])
    if item.get("tls"):
        spec["tls"] = [{"hosts": t.get("hosts", [item["host"]]), "secretName": t.get("secretName", item["host"])}
                       for t in item["tls"]]
    annotations = {k: v.replace("${NAMESPACE}", NAMESPACE) for k, v in (item.get("annotations") or {}).items()
                   if isinstance(v, str)}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": item["name"], "namespace": NAMESPACE, "annotations": annotations}, "spec": spec}


def _configuration(entry: dict[str, Any]) -> str:
    live: dict[str, dict[str, Any]] = {}
    for item in entry["input"]["ingresses"]:
        live[item["name"]] = _manifest(item)  # UpdateIngress replaces the object of that name
    docs = [Document(m, f"<e2e>:{i + 1}") for i, m in enumerate(live.values())]
    config = {k: str(v) for k, v in (entry["input"].get("controller_configmap") or {}).items()}
    if any(k.endswith("-snippet") for m in live.values() for k in m["metadata"]["annotations"]):
        # the e2e suite switches snippets on wherever a test uses them
        config.update({"annotations-risk-level": "Critical", "allow-snippet-annotations": "true"})
    conf = generate(build_resource_set(docs), config)
    return conf.render(listen="80", upstream="upstream_balancer", prefix="/tmp").text


def _scope(text: str, scope: Any) -> str | None:
    if scope == "whole nginx.conf":
        return text
    if isinstance(scope, dict) and "server" in scope:
        start, end = f"## start server {scope['server']}\n", f"## end server {scope['server']}"
        if start not in text:
            return ""
        return text.split(start, 1)[1].split(end, 1)[0]
    return None


@pytest.mark.parametrize("entry", _entries())
def test_e2e_config_assertion(entry: dict[str, Any]) -> None:
    flags = entry.get("flags") or {}
    missing = [f for f in INCOMPLETE if f in flags]
    if missing:
        pytest.skip(f"the e2e test's Ingress set is not fully transcribed ({', '.join(missing)})")
    if not entry["input"]["ingresses"]:
        pytest.skip("the e2e test creates no transcribed Ingress before this assertion")
    if entry["test"] in NOT_MODELLED:
        pytest.skip(NOT_MODELLED[entry["test"]])
    scope = entry["expected"]["scope"]
    hosts = {item.get("host") or "_" for item in entry["input"]["ingresses"]}
    named = {m for c in entry["expected"]["checks"] for m in re.findall(r'server_name "([^"]+)"', str(c))}
    if flags.get("readiness_only") and (scope.get("server") if isinstance(scope, dict) else None) not in hosts | {
            "_", None} or (flags.get("readiness_only") and named - hosts):
        pytest.skip("waits for a server whose Ingress is outside the transcription")
    checks = [(("contains", c["contains"]) if "contains" in c else ("not_contains", c["not_contains"]))
              for c in entry["expected"]["checks"]]
    checks = [(kind, needle.replace("${NAMESPACE}", NAMESPACE)) for kind, needle in checks]
    decided = [(kind, needle) for kind, needle in checks if ROUTING.match(needle)]
    if not decided:
        directives = sorted({needle.strip().split(" ")[0] for _, needle in checks})
        if set(directives) & {"proxy_pass", "grpc_pass", "fastcgi_pass"}:
            pytest.skip(f"checks {', '.join(directives)} for a backend protocol: the oracle proxies every location "
                        "to one plain-HTTP echo server")
        pytest.skip(f"checks {', '.join(directives)}: not a routing directive, not rendered by the oracle")
    if entry["expected"].get("combine") == "any" and len(decided) != len(checks):
        pytest.skip("an either/or of routing and non-routing directives cannot be decided")
    text = _scope(_configuration(entry), entry["expected"]["scope"])
    if text is None:
        pytest.skip("an awk range of the full controller template, which the oracle does not reproduce")
    results = [(needle in text) == (kind == "contains") for kind, needle in decided]
    ok = any(results) if entry["expected"].get("combine") == "any" else all(results)
    failed = [f"{kind} {needle!r}" for (kind, needle), r in zip(decided, results, strict=True) if not r]
    assert ok, f"{failed} in:\n{text}"
