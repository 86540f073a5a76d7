"""Random Ingress sets (fixed seeds) through the model and through real nginx.

Each set mixes hosts (exact, www, wildcard, host-less), path types, regex paths and the
annotations whose interplay the controller decides (rewrite, regex mode, redirects,
app-root, HTTPS redirect, CORS, www twins, aliases, upstream-vhost, canaries, allow/deny,
default backends, TLS). nginx serves the configuration the independent generator writes
(one process, reloaded per set); every probe must get the same answer from both. This is
how the deleted-canary-upstream, last-default-backend-wins, aliases of ``_`` and
Lua-redirect-keeps-CORS rules of the controller were found.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from nginx_oracle import NginxOracle, ingress, nginx_binary, nginx_process, resources_of

from ing2gw.providers.ingress_nginx.model import NginxModel
from ing2gw.providers.ingress_nginx.oracle import Oracle, disagreement

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="the nginx binary is not installed")

PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/b", "/a/(.*)", "/x/[0-9]+", "/a.b"]
ANNOTATIONS: list[dict[str, str]] = [
    {}, {}, {"use-regex": "true"}, {"rewrite-target": "/$1"}, {"rewrite-target": "/"}, {"rewrite-target": "/a"},
    {"permanent-redirect": "/moved"}, {"app-root": "/a"}, {"force-ssl-redirect": "true"}, {"ssl-redirect": "false"},
    {"enable-cors": "true", "cors-allow-origin": "https://o.test"},
    {"x-forwarded-prefix": "/p", "rewrite-target": "/z"},
    {"from-to-www-redirect": "true"}, {"server-alias": "alias.test"}, {"upstream-vhost": "v.test"},
    {"canary": "true", "canary-by-header": "X-C"}, {"canary": "true", "canary-weight": "100"},
    {"allowlist-source-range": "127.0.0.1/32"}, {"denylist-source-range": "127.0.0.0/8"},
    {"relative-redirects": "true"},
]
HOSTS = ["h1.test", "h2.test", "www.h1.test", "", "*.w.test"]
PROBE_HOSTS = ["h1.test", "h2.test", "www.h1.test", "alias.test", "a.w.test", "other.test"]
PROBE_PATHS = ["/", "/a", "/a/", "/a/b", "/ab", "/A", "/b", "/x/12", "/a.b", "/axb", "/moved"]
SETS = 12


def _ingresses(rnd: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(rnd.randint(1, 5)):
        host = rnd.choice(HOSTS)
        paths = [(rnd.choice(PATHS), rnd.choice(["Prefix", "Exact", "ImplementationSpecific"]),
                  rnd.choice(["s1", "s2", "s3"])) for _ in range(rnd.randint(1, 3))]
        annotations = dict(rnd.choice(ANNOTATIONS))
        if rnd.random() < 0.3:
            annotations.update(rnd.choice(ANNOTATIONS))
        kw: dict[str, Any] = {}
        if rnd.random() < 0.2:
            kw["tls_hosts"] = [host or "x.test"]
        if rnd.random() < 0.15:
            kw["default_backend"] = ("s4", 80)
        if rnd.random() < 0.1:
            paths = []
        out.append(ingress(f"i{i}", host, paths, annotations, created=i, **kw))
    return out


@pytest.fixture(scope="module")
def process() -> Iterator[NginxOracle]:
    with nginx_process() as nginx:
        yield nginx


@pytest.mark.parametrize("seed", range(SETS))
def test_random_ingress_set_agrees_with_nginx(process: NginxOracle, seed: int) -> None:
    rnd = random.Random(seed)
    manifests = _ingresses(rnd)
    resources = resources_of(manifests)
    oracle = Oracle(resources, nginx=process)
    model = NginxModel.from_resources(resources)
    problems = []
    for host in PROBE_HOSTS:
        for path in PROBE_PATHS:
            for scheme in ("http", "https"):
                headers = rnd.choice([{}, {"X-C": "always"}, {"Origin": "https://o.test"}])
                method = rnd.choice(["GET", "OPTIONS"]) if "Origin" in headers else "GET"
                found = disagreement(model, oracle, method, host, path, "127.0.0.1", headers, scheme)
                if found:
                    problems.append(f"{method} {scheme}://{host}{path} {headers}: {'; '.join(found)}")
    assert not problems, "\n".join([*problems[:10], "Ingresses:", *(str(m) for m in manifests)])
