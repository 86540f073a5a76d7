"""Every shell example of README.md and docs/*.md runs, exactly as written.

The fenced ``sh`` blocks are parsed; each line runs with ``bash`` in a workspace holding the
files the examples name, made from the shipped examples (``testdata/examples/``): Ingresses
(``ingresses/``, ``in.yaml``, ``ingresses.yaml``), their conversion (``gateway.yaml``), case
files, an access log, diff sides and a git repository with an ``origin/main``. Examples that
read a cluster run against ``tests/kube_emulator.py`` through ``KUBECONFIG``. Each line has
an expected exit code in :data:`EXPECTED` (a new example without one fails), or a stated
reason to be skipped in :data:`SKIPPED`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support import ROOT, SHARED, TESTDATA

EXAMPLES = TESTDATA / "examples"
BIN = Path(sys.executable).parent

# command as written (comment stripped) -> (exit code, why that code)
EXPECTED: dict[str, tuple[int, str]] = {
    "ing2gw convert -f testdata/examples/shop.yaml": (0, "converts without error notes"),
    "ing2gw convert -f ingresses/ -R": (0, "converts"),
    "kubectl get ingress,ingressclass,service -A -o yaml | ing2gw convert -f -":
        (0, "converts what kubectl lists (Services resolve named ports)"),
    "ing2gw convert -A": (0, "converts the cluster's Ingresses"),
    "ing2gw convert -f in.yaml --output-dir gateway/": (0, "writes the folder"),
    "ing2gw convert -f in.yaml --report report.md --report-format markdown --fail-on unsupported":
        (0, "the shop example has nothing unsupported"),
    "ing2gw verify -f ingresses/": (1, "the example has (explained) differences: verify exits 1 on any"),
    "ing2gw verify -f ingresses/ --access-log access.log": (1, "as above"),
    "ing2gw verify -f ingresses/ --cases cases.yaml --oracle nginx --via-proxy -o markdown": (1, "as above"),
    "ing2gw route -f gateway.yaml https://shop.example.com/api/x -H 'x-canary: always'": (0, "routed"),
    "ing2gw route -f gateway.yaml --cases cases.yaml -o json": (0, "every case passes"),
    "ing2gw route -f ingresses.yaml --as ingress-nginx http://shop.example.com/API": (0, "routed"),
    "ing2gw diff base/ head/": (0, "no --exit-code"),
    "ing2gw diff --git origin/main HEAD -o markdown --exit-code -- deploy/": (1, "the branch changes a route"),
    "ing2gw convert -f ingresses.yaml > gw.yaml": (0, "converts"),
    "ing2gw serve -f gw.yaml --echo-backends": (0, "serves until stopped; the curl after it gets the echo"),
    "ing2gw dry-run -A --gateway-class eg": (0, "the emulated cluster has GatewayClass eg and the namespaces"),
    "ing2gw serve -f testdata/router/mesh/input.yaml --mesh frontend --echo-backends --listen 9080=80":
        (0, "serves a frontend client's sidecar until stopped; the curl after it gets the consumer route's echo"),
}
# serve examples: what the echo backend that answers the curl of the comment reports (path, service, namespace)
SERVE_ECHO: dict[str, tuple[str, str, str]] = {
    "ing2gw serve -f gw.yaml --echo-backends": ("/api", "api", "shop"),
    "ing2gw serve -f testdata/router/mesh/input.yaml --mesh frontend --echo-backends --listen 9080=80":
        ("/v2/items", "reviews-beta", "frontend"),
}
EXPECTED.update({
    "ing2gw route -f testdata/convert/aws-alb/groups/input.yaml --as aws-alb http://api.example.com/v1":
        (0, "routed by the group's first rule, the host-less /"),
    "ing2gw providers haproxy-tech": (0, "prints the table"),
    "ing2gw verify -f testdata/verify-kong-expressions/input.yaml --controller-config "
    "testdata/verify-kong-expressions/controller-config.yaml -q":
        (1, "the expressions router's route priorities differ (explained): verify exits 1 on any difference"),
    "ing2gw route -f testdata/verify-haproxy/haproxy-ingress-routing/input.yaml --as haproxy-ingress "
    "http://shop.example.com/APPx": (0, "routed by the begin path /app"),
    "ing2gw verify -f testdata/verify-haproxy/haproxy-tech-routing/input.yaml --oracle haproxy -q":
        (1, "verify exits 1 on any difference; here all are explained and haproxy agrees with the model"),
    "ing2gw convert -f testdata/convert/protection/allowlist-lost/input.yaml --allow-unprotected -q":
        (0, "the lost allow-list is accepted explicitly"),
    "ing2gw emitters standard": (0, "lists the emitter"),
    "ing2gw plan -f testdata/examples/shop.yaml -o markdown": (0, "writes the plan"),
    "ing2gw convert -f testdata/convert/topology/existing-gateway-listenerset/input.yaml --gateway infra/public "
    "--gateway-file testdata/convert/topology/existing-gateway-listenerset/gateway.yaml":
        (0, "routes attach to the existing Gateway; its missing HTTPS listeners become a ListenerSet"),
    "ing2gw convert -f testdata/convert/traefik/ingress-routing/input.yaml -q": (0, "no error notes"),
    "ing2gw verify -f testdata/convert/traefik/ingress-routing/input.yaml -q":
        (1, "Traefik's rule-length priority and character prefixes differ (explained): verify exits 1"),
    "ing2gw route -f testdata/convert/traefik/ingress-routing/input.yaml --as traefik http://shop.example.com/exact":
        (0, "routed by the Traefik model"),
    "ing2gw convert -f testdata/emit/envoy-gateway/rate-limit/input.yaml --emitter envoy-gateway --validate -q":
        (0, "the rate limit becomes a valid BackendTrafficPolicy"),
    "ing2gw convert -f testdata/emit/istio/ip-allowlist/input.yaml --emitter istio --validate -q":
        (0, "the allow list becomes a valid DENY AuthorizationPolicy scoped to the route"),
    "ing2gw convert -f testdata/emit/traefik/ip-allow-deny/input.yaml --emitter traefik --validate -q":
        (0, "the deny list is folded into a valid ipAllowList Middleware"),
    "ing2gw convert -f testdata/emit/gke/gke-ingress/input.yaml --emitter gke -q":
        (0, "BackendConfig, FrontendConfig and the static IP become valid GKE policies"),
    "ing2gw route -f testdata/convert/gke/routing/input.yaml --as gke http://shop.example.com/api":
        (0, "GKE's /api/* does not match /api: the default backend answers"),
    "ing2gw route -f testdata/convert/agic/routing/input.yaml --as agic https://shop.example.com/api/admin":
        (0, "the first listed path /api* wins over the later /api/admin"),
    "ing2gw verify -f testdata/verify/agic-routing/input.yaml -q":
        (1, "character prefixes and the empty default pool differ (explained): verify exits 1 on any difference"),
    "ing2gw verify -f testdata/verify/gke-routing/input.yaml -q":
        (1, "path normalisation differs (explained): verify exits 1 on any difference"),
    "ing2gw convert -f testdata/convert/contour/httpproxy-includes/input.yaml -q":
        (1, "the include of a missing HTTPProxy is an error note (Contour answers 502 there)"),
    "ing2gw route -f testdata/convert/contour/httpproxy-includes/input.yaml --as contour "
    "https://shop.example.com/blogx": (0, "routed by the Contour model: /blog is a character prefix"),
    "ing2gw verify -f testdata/convert/contour/ingress/input.yaml -q --allow-unprotected":
        (1, "Contour's host-less fallthrough and character prefixes differ (explained): verify exits 1"),
    "ing2gw verify -f testdata/verify/apisix-ingress/input.yaml -q --allow-unprotected":
        (1, "APISIX's Prefix URIs, character prefixes and method 405s differ (explained): verify exits 1"),
    "ing2gw verify -f testdata/verify/apisix-apisixroute/input.yaml -q --allow-unprotected --fail-on unexplained":
        (0, "ApisixRoute-only input: every difference is explained by a note"),
    "ing2gw route -f testdata/convert/kong/streams/expected.yaml tls://redis.example.com:9443":
        (0, "a TLS listener in Terminate mode and its TLSRoute take the SNI"),
    "ing2gw route -f testdata/convert/kong/streams/expected.yaml tls://mq.example.com:9443":
        (0, "refused (no listener for the SNI) is an answer"),
    "ing2gw route -f testdata/convert/kong/streams/input.yaml --as kong tls://mq.example.com:9443":
        (0, "Kong's stream model serves it with its default certificate"),
    "ing2gw verify -f testdata/verify/kong-streams/input.yaml -q --fail-on unexplained":
        (0, "TCPIngresses, a UDPIngress and an Ingress: every difference is explained by a note"),
    "ing2gw route -f testdata/convert/apisix/apisixroute/input.yaml --as apisix -H 'X-Env: prod' "
    "http://shop.example.com/api/x": (0, "routed by the APISIX model"),
    "ing2gw route -f testdata/convert/kong/protocols/input.yaml --as kong http://secure.example.com/":
        (0, "Kong's 426 answer is a routing decision"),
    "ing2gw route -f testdata/convert/f5-nginx/routing/input.yaml --as f5-nginx https://cafe.example.com/teapot":
        (0, "routed: /tea is a character prefix"),
    "ing2gw verify -f testdata/verify/f5-nginx-policies/input.yaml --allow-unprotected --fail-on unexplained -q":
        (0, "VirtualServer-only input with Policy objects: every difference is explained"),
    "ing2gw route -f testdata/convert/f5-nginx/protections/input.yaml --as f5-nginx --cases "
    "testdata/convert/f5-nginx/protections/cases.yaml --htpasswd "
    "files/api-users=testdata/convert/f5-nginx/protections/users.htpasswd --htpasswd "
    "shop/members-htpasswd=testdata/convert/f5-nginx/protections/users.htpasswd":
        (0, "every case of the F5 model's body limits, rate limits and basic auth passes"),
    "ing2gw convert -f testdata/convert/istio/virtualservice-order/input.yaml -q": (0, "converts; the notes say "
        "where Istio's first-match order cannot be kept"),
    "ing2gw route -f testdata/convert/istio/virtualservice-order/input.yaml --as istio "
    "http://shop.example.com/api/v1/legacy/x -H 'x-canary: always'": (0, "Istio's first route answers"),
    "ing2gw verify -f testdata/verify/istio-ingress/input.yaml -q --fail-on unexplained":
        (0, "every difference is explained (path normalisation)"),
    "ing2gw convert -f testdata/convert/istio/grpc/input.yaml -q": (0, "gRPC VirtualServices become GRPCRoutes"),
    "ing2gw validate -f gateway.yaml": (0, "the converted example is valid"),
    "ing2gw validate -f testdata/validate/objects.yaml --crd testdata/validate/policy-crd.yaml":
        (1, "the sample objects break a CEL rule of the CRD, a built-in CEL rule and the schema"),
    "ing2gw convert -f in.yaml --validate": (0, "the converter's output is valid"),
    "ing2gw route -f testdata/router/shop.yaml --cases cases.yaml": (0, "the documented sample cases pass"),
    "ing2gw verify -f testdata/verify/policies/ingresses.yaml --emitter envoy-gateway --htpasswd "
    "shop/users=testdata/verify/policies/users.htpasswd --htpasswd shop/users-htpasswd=testdata/verify/policies/"
    "users.htpasswd --credentials alice:alice-pw --credentials bob:bob-pw --allow-unprotected":
        (1, "the targets' explained differences (503 -> 429, apr1 locked out): verify exits 1 on any"),
    "ing2gw convert -f testdata/verify/policies/ingresses.yaml --emitter envoy-gateway --allow-unprotected -q "
    "> eg.yaml": (0, "converts"),
    "ing2gw route -f eg.yaml --htpasswd shop/users-htpasswd=testdata/verify/policies/users.htpasswd "
    "http://basic.example.com/ -H 'Authorization: Basic YWxpY2U6YWxpY2UtcHc='": (0, "routed (and refused: 401)"),
    "ing2gw route -f eg.yaml --client 10.1.2.3 http://guarded.example.com/ -H 'Content-Length: 9000'":
        (0, "routed (and refused: 413)"),
    "ing2gw route -f testdata/router/shop.yaml 'https://shop.example.com/api/x?a=1' -H 'x-canary: always' -o json":
        (0, "routed"),
    "ing2gw route -f testdata/convert/cilium/routing/input.yaml --as cilium http://docs.example.com/guide/intro":
        (0, "routed by the Cilium model (shared load balancer, force-https disabled)"),
    "ing2gw convert --openapi testdata/convert/openapi/petstore/openapi.yaml --host api.example.com --backend "
    "shop/pets:8080": (0, "the petstore's operations become one HTTPRoute"),
    "ing2gw route -f testdata/router/mesh/input.yaml --mesh frontend http://reviews.shop/api/items":
        (0, "routed east-west by the consumer route"),
    "ing2gw route -f testdata/router/mesh/input.yaml --cases testdata/router/mesh/cases.yaml":
        (0, "the GAMMA golden cases pass"),
    "ing2gw route -f testdata/verify/timeouts/ingresses.yaml --as ingress-nginx http://reads.example.com/ "
    "--backend-delay 6s": (0, "routed (and timed out: 504)"),
})
SKIPPED: dict[str, str] = {
    "pip install -e '.[test]' && pytest -n 2": "it is this test suite",
}
# Lines whose first command only installs: the rest of the line runs (installing needs the
# package index; the CLI under test is installed already).
_INSTALL = re.compile(r"^pip install \S+ && ")


def _blocks() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(?:sh|bash|shell|console)\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            commands = [c for c in m.group(1).splitlines() if c.strip() and not c.lstrip().startswith("#")]
            found.append((f"{doc.name}:{line}", commands))
    return found


BLOCKS = _blocks()


def _split(line: str) -> tuple[str, str]:
    """(command, trailing comment)."""
    m = re.match(r"^(.*?)\s+#\s(.*)$", line)
    return (m.group(1).strip(), m.group(2).strip()) if m else (line.strip(), "")


def test_every_example_has_an_expectation() -> None:
    commands = [_split(c)[0] for _, block in BLOCKS for c in block]
    assert commands, "no examples found"
    missing = [c for c in commands if c not in EXPECTED and c not in SKIPPED and _INSTALL.sub("", c) not in EXPECTED]
    assert not missing, f"examples without an expected exit code in this test: {missing}"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A kubeconfig for an emulated cluster holding the shop example, or None without the CRDs."""
    if not (SHARED / "gateway-api" / "crds").is_dir():
        yield None
        return
    from kube_emulator import Emulator

    with Emulator() as em:
        em.add(*(d for d in yaml.safe_load_all((EXAMPLES / "shop.yaml").read_text()) if d))
        em.add(*({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                 for ns in ("shop", "marketing", "gateway-system")))
        em.add({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
                "spec": {"controllerName": "example.com/gateway"},
                "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}})
        yield em.kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("examples")
    shop = EXAMPLES / "shop.yaml"
    (ws / "ingresses").mkdir()
    for target in (ws / "ingresses" / "shop.yaml", ws / "in.yaml", ws / "ingresses.yaml"):
        shutil.copy(shop, target)
    shutil.copytree(TESTDATA, ws / "testdata", ignore=shutil.ignore_patterns("shared"))
    shutil.copy(EXAMPLES / "shop-cases.yaml", ws / "cases.yaml")
    shutil.copy(EXAMPLES / "access.log", ws / "access.log")
    gateway = subprocess.run([str(BIN / "ing2gw"), "convert", "-f", str(shop)], capture_output=True, check=True)
    (ws / "gateway.yaml").write_bytes(gateway.stdout)
    case = TESTDATA / "diff" / "added-path"
    shutil.copytree(case / "base", ws / "base")
    shutil.copytree(case / "head", ws / "head")
    if shutil.which("git"):
        (ws / "deploy").mkdir()
        _git(ws, "init", "-q", "-b", "work")
        _git(ws, "config", "user.email", "t@example.com")
        _git(ws, "config", "user.name", "t")
        shutil.copy(case / "base" / "app.yaml", ws / "deploy" / "app.yaml")
        _git(ws, "add", "deploy")
        _git(ws, "commit", "-qm", "base")
        _git(ws, "update-ref", "refs/remotes/origin/main", "HEAD")
        shutil.copy(case / "head" / "app.yaml", ws / "deploy" / "app.yaml")
        _git(ws, "commit", "-qam", "head")
    return ws


def _env(kubeconfig: Path | None) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("NO_COLOR", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def _needs(command: str, kubeconfig: Path | None) -> str | None:
    """Why this command cannot run here, or None."""
    if re.search(r"\bkubectl\b", command) and not shutil.which("kubectl"):
        return "kubectl is not installed"
    cluster_read = " -f " not in f" {command} " and re.match(r"ing2gw (convert|dry-run|verify)\b", command)
    if (cluster_read or "kubectl" in command) and kubeconfig is None:
        return "the emulated cluster needs the Gateway API CRDs (../shared)"
    if "--oracle nginx" in command and not shutil.which("nginx"):
        return "nginx is not installed"
    if "--git" in command and not shutil.which("git"):
        return "git is not installed"
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _serve(command: str, then: str, ws: Path, env: dict[str, str]) -> None:
    """Start the server as written, run the command of its comment, stop the server."""
    ports = [int(p) for p in re.findall(r"--listen (\d+)=", command)] or [8080, 8443]
    if not all(_port_free(p) for p in ports):
        pytest.skip(f"ports {ports} are taken on this machine")
    with subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ws, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if "press Ctrl-C to stop" in line:
                    break
            assert proc.poll() is None, "serve exited"
            assert then.startswith("then: "), then
            got = subprocess.run(["bash", "-c", then.removeprefix("then: ")], cwd=ws, env=env,
                                 capture_output=True, text=True, timeout=60)
            assert got.returncode == 0, got.stderr
            echo = yaml.safe_load(got.stdout)  # the echo backend's JSON
            assert (echo["path"], echo["service"], echo["namespace"]) == SERVE_ECHO[command], echo
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=30)
    assert proc.returncode in (0, 130, -signal.SIGINT)


def _doc_block(name: str, lang: str, index: int = 0) -> str:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)[index]


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_example_block_runs(where: str, block: list[str], workspace: Path, cluster: Path | None,
                            tmp_path: Path) -> None:
    env = _env(cluster)
    if where.startswith("case-format.md"):  # "with the cases above in cases.yaml"
        workspace = Path(shutil.copytree(workspace, tmp_path / "ws", symlinks=True))
        (workspace / "cases.yaml").write_text(_doc_block("case-format.md", "yaml"), encoding="utf-8")
    skipped: list[str] = []
    for line in block:
        command, comment = _split(line)
        if command in SKIPPED:
            skipped.append(f"{command}: {SKIPPED[command]}")
            continue
        command = _INSTALL.sub("", command)
        why = _needs(command, cluster)
        if why:
            skipped.append(f"{command}: {why}")
            continue
        code, reason = EXPECTED[command]
        if command.startswith("ing2gw serve"):
            _serve(command, comment, workspace, env)
            continue
        run = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=workspace, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == code, f"{where}: {command}: exit {run.returncode}, expected {code} ({reason})\n" \
                                       f"{run.stderr[-2000:]}"
        assert "Traceback" not in run.stderr and "Internal error" not in run.stderr, run.stderr
        produced = run.stdout.strip() or ">" in command or "--output-dir" in command
        assert produced, f"{command}: printed nothing"
    if skipped and len(skipped) == len(block):
        pytest.skip("; ".join(skipped))


def test_documented_outcome_is_what_route_prints(workspace: Path) -> None:
    """docs/case-format.md's JSON outcome is the output of the command it names."""
    import json

    command = next(c for c in (b for _, block in BLOCKS for b in block) if "-o json" in c and "testdata/router" in c)
    run = subprocess.run(["bash", "-c", command], cwd=workspace, env=_env(None), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(_doc_block("case-format.md", "json"))


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the test suite exactly as the README tells a contributor to."""
    (command,) = [c for c in SKIPPED if SKIPPED[c] == "it is this test suite"]
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
