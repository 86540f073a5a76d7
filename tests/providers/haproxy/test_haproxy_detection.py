"""The two HAProxy controllers share the class name ``haproxy`` and the ``ingress.kubernetes.io``
prefix: each Ingress goes to the provider its IngressClass controller or its own annotations
name, and an Ingress nothing decides is not converted."""

from __future__ import annotations

import json

import yaml


def _ingress(name: str, annotations: dict[str, str]) -> dict:  # type: ignore[type-arg]
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "web", "annotations": annotations},
            "spec": {"ingressClassName": "haproxy",
                     "rules": [{"host": f"{name}.example.com", "http": {"paths": [path]}}]}}


def test_shared_class_name_is_decided_by_annotations(ing2gw, tmp_path) -> None:  # type: ignore[no-untyped-def]
    docs = [_ingress("tech", {"haproxy.org/set-host": "x"}),
            _ingress("community", {"haproxy-ingress.github.io/hsts": "false"}),
            _ingress("both", {"ingress.kubernetes.io/ssl-redirect": "false"})]
    path = tmp_path / "in.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    r = ing2gw(["convert", "-f", str(path), "--fail-on", "never", "--report", str(tmp_path / "r.json"),
                "--report-format", "json"])
    report = json.loads((tmp_path / "r.json").read_text())
    providers = {i["ingress"]: (i["provider"], i["status"]) for i in report["ingresses"]}
    assert providers == {"web/tech": ("haproxy-tech", "converted"),
                         "web/community": ("haproxy-ingress", "converted"),
                         "web/both": (None, "not converted")}  # ingress.kubernetes.io is read by both
    assert "INGRESS-CONTROLLER-AMBIGUOUS: Ingress web/both" in r.stderr
