"""The protections the F5 NGINX model enforces as its NGINX does -- ``client_max_body_size``
(annotation, controller ConfigMap, VirtualServer upstream, NGINX's 1m), ``limit-req-rate`` and
Policy ``rateLimit`` with their reject codes, annotation and Policy basic auth -- through
``route --as f5-nginx --cases`` and through ``verify``'s policy probes (real nginx agreeing on
the same limits: ``test_f5_oracle.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from support import ROOT

DIR = ROOT / "testdata" / "convert" / "f5-nginx" / "protections"
VERIFY = ROOT / "testdata" / "verify" / "f5-nginx-protections" / "input.yaml"


def _htpasswd() -> list[str]:
    users = str(DIR / "users.htpasswd")
    return ["--htpasswd", f"files/api-users={users}", "--htpasswd", f"shop/members-htpasswd={users}"]


def test_every_case_passes(ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["route", "-f", str(DIR / "input.yaml"), "--as", "f5-nginx", *_htpasswd(),
                "--cases", str(DIR / "cases.yaml")])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "22 cases, 22 passed, 0 failed" in r.stdout


def test_controller_config_flag_replaces_the_configmap(ing2gw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {client-max-body-size: 1k}\n")

    def status(*extra: str) -> str:
        r = ing2gw(["route", "-f", str(DIR / "input.yaml"), "--as", "f5-nginx", "-X", "POST", "-H",
                    "Content-Length: 2048", "http://www.example.com/", *extra])
        assert r.exit_code == 0, r.stderr
        return str(r.stdout.split()[0])

    assert status() == "200"  # the input's ConfigMap: 4m
    assert status("--controller-config", str(config)) == "413"


def test_verify_probes_each_limit(ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["verify", "-f", str(VERIFY), "-o", "json", "-q", "--fail-on", "never", "--allow-unprotected"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["unexplained"] == 0
    bodies = {d["request"]["url"]: d for d in report["differences"]
              if d["origin"].startswith("policy probe: body sizes")}
    # over each limit the model answers 413, the standard Gateway (no body-limit policy) 200
    for url, limit in (("http://files.example.com/upload", 20 << 20), ("http://www.example.com/", 4 << 20),
                       ("http://shop.example.com/media", 8 << 20), ("http://shop.example.com/cart", 512 << 10)):
        d = bodies[url]
        assert d["request"]["headers"]["content-length"] == str(limit + 1)
        assert (d["source"]["status"], d["gateway"]["status"]) == (413, 200)
        assert "INTENT-NOT-EMITTED" in {e["code"] for e in d["explainedBy"]}
    bursts = {d["origin"]: d for d in report["differences"] if "burst of" in d["origin"]}
    # limit-req-rate 5r/s burst 2: the 4th request gets the annotation's 429; Policy rateLimit
    # 10r/s burst 3: the 5th gets the Policy's default rejectCode 503
    api = next(d for o, d in bursts.items() if "api.example.com" in o)
    shop = next(d for o, d in bursts.items() if "shop.example.com/cart" in o)
    assert (api["request"]["sequence"], api["source"]["status"], api["gateway"]["status"]) == (4, 429, 200)
    assert (shop["request"]["sequence"], shop["source"]["status"], shop["gateway"]["status"]) == (5, 503, 200)
    for d in (api, shop):
        assert "PROTECTION-LOST" in {e["code"] for e in d["explainedBy"]}
