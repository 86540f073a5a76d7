"""``nginx.org/listen-ports`` / ``listen-ports-ssl``: listeners on those ports, the host's routes
attached there only, the HTTPS redirect to the first SSL port, and ``verify`` probing the routes
on those ports (real nginx on the same ports: ``test_f5_oracle.py``)."""

from __future__ import annotations

import json

import yaml
from support import ROOT

CASE = ROOT / "testdata" / "verify" / "f5-nginx-listen-ports" / "input.yaml"


def test_routes_attach_to_listeners_on_the_ports(ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["convert", "-f", str(CASE), "-q"])
    assert r.exit_code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    ports = {ls["name"]: (ls["port"], ls["protocol"]) for ls in gateway["spec"]["listeners"]}
    assert ports["http-8080"] == (8080, "HTTP") and ports["http-8081"] == (8081, "HTTP")
    assert ports["https-8443-secure-example-com"] == (8443, "HTTPS")
    assert not any(port == 443 for port, _ in ports.values())  # both TLS hosts moved off 443
    sections = {d["metadata"]["name"]: sorted(p["sectionName"] for p in d["spec"]["parentRefs"])
                for d in docs if d["kind"] == "HTTPRoute"}
    assert sections["alt-alt-example-com"] == ["http-8080", "http-8081"]
    assert sections["secure-secure-example-com-https-redirect"] == ["http-8080"]
    assert sections["shop-cart-shop-example-com"] == ["https-9443-shop-example-com"]  # the master's ports
    assert sections["shop-shop-example-com-https-redirect"] == ["http"]
    redirect = next(d for d in docs if d["metadata"]["name"] == "secure-secure-example-com-https-redirect")
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"]["port"] == 8443


def test_verify_probes_the_ports(ing2gw) -> None:  # type: ignore[no-untyped-def]
    r = ing2gw(["verify", "-f", str(CASE), "-o", "json", "-q", "--fail-on", "never"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["summary"]["unexplained"] == 0
    urls = {d["request"]["url"]: d for d in report["differences"]}
    # the routes were probed on their ports: only the expected explained differences show there
    on_ports = [u for u in urls if any(f":{p}/" in u for p in (8080, 8081, 8443, 9443))]
    assert on_ports and all(urls[u]["explainedBy"] for u in on_ports)
    # a host no server names on a listen port reaches the first server there (nginx); 404 on the Gateway
    unknown = urls["http://unknown.ing2gw.invalid:8080/"]
    assert (unknown["source"]["status"], unknown["gateway"]["status"]) == (200, 404)
    assert {e["code"] for e in unknown["explainedBy"]} == {"F5-LISTEN-PORT-FIRST-SERVER"}
    assert report["summary"]["requests"] > report["summary"]["differ"]
