"""A third-party provider package (tests/plugins/toy) plugged in through its entry point only:
it claims a CRD kind with its own listener ports, and ``ing2gw convert`` turns its objects
into Gateways with those listeners and the right route kinds, from files and from a cluster.

The package is a plain folder with a ``.dist-info`` (METADATA + entry_points.txt), found by
``importlib.metadata`` once the folder is on the import path, exactly as an installed wheel is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import ROOT, SHARED, TESTDATA, UPDATE_GOLDEN

PLUGIN = ROOT / "tests" / "plugins" / "toy"
CASE = TESTDATA / "plugins" / "toy"


def _notes(stderr: str) -> list[dict[str, str]]:
    out = []
    for line in stderr.splitlines():
        level, code, rest = line.split(": ", 2)
        out.append({"level": level, "code": code, "subject": rest.partition(": ")[0]})
    return out


@pytest.fixture
def toy_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(PLUGIN))
    yield
    sys.modules.pop("ing2gw_toy", None)


def test_not_installed_means_not_read(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(CASE / "input.yaml"), "--fail-on", "never"])
    assert r.exit_code == 0 and "ToyRoute" not in r.stdout
    assert "ing2gw_toy" not in sys.modules


def test_converts_end_to_end_from_files(ing2gw, toy_installed: None) -> None:
    r = ing2gw(["convert", "-f", str(CASE / "input.yaml")])
    assert r.exit_code == 1  # the broken ToyRoute is an error note; the rest converts
    if UPDATE_GOLDEN:
        (CASE / "expected.yaml").write_text(r.stdout)
        (CASE / "expected-notes.json").write_text(json.dumps(_notes(r.stderr), indent=2) + "\n")
    assert r.stdout == (CASE / "expected.yaml").read_text()
    assert _notes(r.stderr) == json.loads((CASE / "expected-notes.json").read_text())
    docs = list(yaml.safe_load_all(r.stdout))
    listeners = {(d["metadata"]["name"], x["name"]): (x["port"], x["protocol"], x.get("tls", {}).get("mode"))
                 for d in docs if d["kind"] == "Gateway" for x in d["spec"]["listeners"]}
    assert listeners[("toy", "tcp-9000")] == (9000, "TCP", None)
    assert listeners[("toy", "tls-8443-mqtt-example-com")] == (8443, "TLS", "Passthrough")
    assert listeners[("toy", "tls-8443-telemetry-example-com")] == (8443, "TLS", "Terminate")
    assert listeners[("resolver", "udp-53")] == (53, "UDP", None)
    assert listeners[("nginx", "http")] == (80, "HTTP", None)  # the Ingress beside them is unaffected
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("TCPRoute", "postgres"), ("TLSRoute", "mqtt"), ("TLSRoute", "grpc-edge"), ("UDPRoute", "dns"),
            ("HTTPRoute", "metrics"), ("HTTPRoute", "reviews-canary")} <= kinds
    mesh = next(d for d in docs if d["metadata"]["name"] == "reviews-canary")
    assert mesh["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "reviews", "port": 8080}]


def test_the_report_lists_claimed_objects(ing2gw, toy_installed: None, tmp_path: Path) -> None:
    for fmt in ("json", "text", "markdown"):
        ing2gw(["convert", "-f", str(CASE / "input.yaml"), "--report", str(tmp_path / fmt), "--report-format", fmt])
    model = json.loads((tmp_path / "json").read_text())
    assert model["summary"]["claimed"] == {"ToyRoute": 7} and model["summary"]["ingresses"] == 1
    status = {o["object"]: (o["provider"], o["status"]) for o in model["objects"]}
    assert status["ToyRoute data/postgres"] == ("toy", "converted")
    assert status["ToyRoute data/broken"] == ("toy", "not converted")
    assert "NOT CONVERTED  ToyRoute data/broken (toy)" in (tmp_path / "text").read_text()
    assert "| ToyRoute iot/mqtt | toy | converted | 0 |" in (tmp_path / "markdown").read_text()


def test_per_namespace_gateways_carry_the_listeners_their_routes_use(ing2gw, toy_installed: None) -> None:
    from ing2gw.schema import validate

    r = ing2gw(["convert", "-f", str(CASE / "input.yaml"), "--topology", "per-namespace", "--fail-on", "never"])
    docs = list(yaml.safe_load_all(r.stdout))
    gateways = {(d["metadata"]["namespace"], d["metadata"]["name"]): [x["name"] for x in d["spec"]["listeners"]]
                for d in docs if d["kind"] == "Gateway"}
    assert gateways == {
        ("data", "toy"): ["tcp-9000"],
        ("infra", "resolver"): ["udp-53"],
        ("infra", "toy"): ["http-9100-metrics-example-com"],
        ("iot", "toy"): ["tls-8443-mqtt-example-com", "tls-8443-telemetry-example-com"],
        ("shop", "nginx"): ["http"],
    }
    assert not [d for d in docs if d["kind"] == "ReferenceGrant"]  # the Secret is in the Gateway's namespace
    assert all(validate(d) == [] for d in docs)


def test_output_does_not_depend_on_document_order(ing2gw, toy_installed: None, tmp_path: Path) -> None:
    docs = (CASE / "input.yaml").read_text().split("\n---\n")
    (tmp_path / "reversed.yaml").write_text("\n---\n".join(reversed(docs)))
    r = ing2gw(["convert", "-f", str(tmp_path / "reversed.yaml"), "--fail-on", "never"])
    assert r.stdout == (CASE / "expected.yaml").read_text()


def test_expected_output_is_valid_against_the_crds() -> None:
    from ing2gw.schema import validate

    docs = list(yaml.safe_load_all((CASE / "expected.yaml").read_text()))
    assert docs
    for doc in docs:
        assert validate(doc) == [], doc["metadata"]["name"]


def test_a_separate_process_finds_it_through_the_entry_point_alone() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "ing2gw", "convert", "-f", str(CASE / "input.yaml"),
                           "--fail-on", "never"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (CASE / "expected.yaml").read_text()
    listed = subprocess.run([sys.executable, "-m", "ing2gw", "providers"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert "toy  ok  (ing2gw-toy 0.1.0)" in listed.stdout and "reads: example.com/v1 ToyRoute" in listed.stdout
    one = subprocess.run([sys.executable, "-m", "ing2gw", "providers", "toy", "-o", "json"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert json.loads(one.stdout)["kinds"] == ["example.com/v1 ToyRoute"]


# --- from a cluster ---------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(not (SHARED / "gateway-api" / "crds").is_dir(), reason="../shared is not present")


def _input_objects() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((CASE / "input.yaml").read_text()) if d]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    from kube_emulator import Emulator

    with Emulator() as em:
        yield em, em.kubeconfig(tmp_path / "config")


@needs_shared
def test_converts_the_same_from_a_cluster(ing2gw, toy_installed: None, cluster: tuple[Any, Path]) -> None:
    em, config = cluster
    em.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    em.add(*_input_objects())
    r = ing2gw(["convert", "-A", "--kubeconfig", str(config)])
    assert r.exit_code == 1, r.stderr
    assert r.stdout == (CASE / "expected.yaml").read_text()
    assert "error: TOY-INVALID: ToyRoute data/broken: cluster/emulator:ToyRoute/data/broken:" in r.stderr
    assert all(req.method == "GET" for req in em.requests)
    assert not any("/secrets" in req.path for req in em.requests)


@needs_shared
def test_a_cluster_without_the_crd_has_none(ing2gw, toy_installed: None, cluster: tuple[Any, Path]) -> None:
    em, config = cluster
    em.add(*[d for d in _input_objects() if d["kind"] != "ToyRoute"])
    r = ing2gw(["convert", "-A", "--kubeconfig", str(config)])
    assert r.exit_code == 0, r.stderr
    assert "ToyRoute" not in r.stdout and "kind: HTTPRoute" in r.stdout
    assert ("info: CLUSTER-KIND-NOT-INSTALLED: cluster/emulator: the API server does not serve example.com/v1 "
            "ToyRoute (its CRD is not installed) (no ToyRoute objects read)") in r.stderr.splitlines()


@needs_shared
def test_a_forbidden_claimed_kind_exits_4_with_one_line(ing2gw, toy_installed: None,
                                                        cluster: tuple[Any, Path]) -> None:
    em, config = cluster
    em.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    em.add(*_input_objects())
    em.forbid("list", "toyroutes")
    r = ing2gw(["convert", "-n", "data", "--kubeconfig", str(config)])
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr == ("Error: cluster/emulator: forbidden listing toyroutes (example.com/v1) in namespace data, "
                        "which an installed provider reads: grant get/list on toyroutes.example.com\n")


@needs_shared
def test_the_api_server_would_accept_every_object(ing2gw, toy_installed: None, cluster: tuple[Any, Path]) -> None:
    """dry-run through the emulated API server, which validates Gateway API objects against the CRDs."""
    em, config = cluster
    em.install_crd("example.com/v1", "ToyRoute", "toyroutes")
    em.add(*[d for d in _input_objects() if d["metadata"]["name"] != "broken"])
    em.add(*({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
             for ns in ("data", "gateway-system", "infra", "iot", "shop")))
    r = ing2gw(["dry-run", "-A", "--kubeconfig", str(config), "-o", "json", "-q"])
    report = json.loads(r.stdout)
    outcomes = {(o["kind"], o["name"]): o["outcome"] for o in report["objects"]}
    assert set(outcomes.values()) == {"create"}, outcomes  # none rejected
    assert {("TCPRoute", "postgres"), ("UDPRoute", "dns"), ("TLSRoute", "mqtt"), ("Gateway", "toy")} <= set(outcomes)
