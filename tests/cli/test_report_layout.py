"""Conversion reports (text, Markdown): global notes, folded long lists, a closing summary."""

from __future__ import annotations

from pathlib import Path

import yaml


def _ingress(i: int) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": f"app{i:02d}", "namespace": "shop"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": f"app{i}.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
            ]}}]}}


def test_reports_have_global_notes_folded_lists_and_a_summary(ing2gw, tmp_path: Path) -> None:
    manifests = yaml.safe_dump_all([_ingress(i) for i in range(30)])
    for fmt in ("text", "markdown"):
        report = tmp_path / f"report.{fmt}"
        r = ing2gw(["convert", "-f", "-", "--report", str(report), "--report-format", fmt, "-q"], input=manifests)
        assert r.exit_code == 0, r.stderr
        text = report.read_text()
        # a note about no Ingress: the GatewayClass the Gateways expect
        global_part = text[text.index("Global notes"):text.index("app00")]
        assert "EMIT-GATEWAYCLASS-EXPECTED" in global_part and "GatewayClass nginx" in global_part
        last = text.rstrip().splitlines()[-1]
        assert "30 Ingress(es): 30 converted, 0 partial, 0 not converted" in last
        if fmt == "text":
            assert "CONVERTED without notes: 30 Ingresses: shop/app00, shop/app01" in text
            assert "and 10 more (the JSON report lists every one)" in text
            assert "CONVERTED  Ingress shop/app29" not in text  # folded into the line above
        else:
            assert "<details><summary>30 Ingresses</summary>" in text and text.count("| shop/app") == 30
    few = ing2gw(["convert", "-f", "-", "--report", str(tmp_path / "few.txt"), "-q"],
                 input=yaml.safe_dump(_ingress(1)))
    assert few.exit_code == 0
    assert "CONVERTED  Ingress shop/app01" in (tmp_path / "few.txt").read_text()  # short lists stay whole
