"""Real nginx as ground truth for the F5 NGINX model (``verify --oracle nginx``).

nginx (the system binary, on loopback ports, through ingress-nginx's
:class:`~ing2gw.providers.ingress_nginx.oracle.NginxOracle` harness) serves the configuration
:mod:`.nginxconf` writes from the Ingresses and the VirtualServers (:mod:`.vsconf`);
:func:`disagreement` compares one request's model
answer with nginx's: status, redirect Location, the location and Service that answered (for
``splits``, one of the shares), the URI and Host sent upstream, and the HSTS header. Undecided:
a request with a body on a route with ``splits`` (nginx picks the share, and with it the body
limit, at random), and Basic credentials when ``--htpasswd`` files are given (nginx knows only
its own user).
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from typing import Any

from ing2gw.resources import ResourceSet

from ..ingress_nginx.oracle import Answer, NginxOracle, nginx_binary
from .nginxconf import F5Conf, generate

__all__ = ["ORACLE_CREDENTIALS", "F5Oracle", "F5OracleSession", "disagreement", "send_to"]

ORACLE_CREDENTIALS = "Basic aW5nMmd3OmluZzJndw=="  # ing2gw:ing2gw, the one user of the oracle's htpasswd


class F5Oracle:
    """nginx serving :mod:`.nginxconf`'s configuration for one Ingress set."""

    def __init__(self, resources: ResourceSet, nginx: NginxOracle | None = None,
                 config: Mapping[str, str] | None = None, rate_limits: bool = False,
                 ports: Mapping[int, int] | None = None) -> None:
        """``ports``: the loopback port nginx listens on for each ``listen-ports`` port."""
        self.conf: F5Conf = generate(resources, config, rate_limits)
        self.ports = dict(ports or {})
        self.conf.ports = {port: f"127.0.0.1:{local}" for port, local in self.ports.items()}
        if nginx is None:
            self.nginx = NginxOracle(self.conf.render, https=True)
        else:
            self.nginx = nginx
            nginx.reload(self.conf.render)

    @property
    def locations(self) -> Mapping[str, Mapping[str, Any]]:
        return self.conf.locations

    def stop(self) -> None:
        self.nginx.stop()


def send_to(local: int, method: str, host: str, target: str, headers: Mapping[str, str] | None,
            scheme: str) -> Answer:
    """One request to nginx on the loopback port ``local`` (a ``listen-ports`` address)."""
    conn: http.client.HTTPConnection
    if scheme == "https":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", local, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", local, timeout=10)
    try:
        conn.request(method, target, headers={"Host": host, **dict(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        got = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    echo = json.loads(body) if got.get("content-type") == "application/json" else None
    return Answer(resp.status, got, echo)


def disagreement(model: Any, oracle: F5Oracle, method: str, host: str, target: str,
                 headers: Mapping[str, str] | None = None, scheme: str = "http", port: int | None = None
                 ) -> list[str]:
    """Where the model and nginx answer one request differently (``port``: the port the client
    dials, for servers with ``listen-ports``)."""
    from ing2gw.http import Request

    nginx = oracle.nginx
    local = nginx.https_port if scheme == "https" else nginx.port
    if port is not None and port not in (80, 443):
        local = oracle.ports.get(port)
    if local is None:
        return []
    outcome = model.route(Request.build(host=host, path=target, method=method, scheme=scheme, port=port,
                                        headers=dict(headers or {}), client="127.0.0.1")).to_dict()
    answer = nginx.send(method, host, target, headers, scheme=scheme) if local in (nginx.port, nginx.https_port) \
        else send_to(local, method, host, target, headers, scheme)
    problems: list[str] = []
    if outcome["status"] != answer.status:
        problems.append(f"status: model {outcome['status']}, nginx {answer.status}")
    if outcome["redirect"] is not None and outcome["redirect"]["location"] != answer.headers.get("location"):
        problems.append(f"Location: model {outcome['redirect']['location']}, nginx {answer.headers.get('location')}")
    mine = {k.lower(): v for k, v in (outcome.get("responseHeaders") or {}).items()}
    hsts = answer.headers.get("strict-transport-security")
    if outcome["status"] == answer.status and mine.get("strict-transport-security") != hsts:
        problems.append(f"HSTS: model {mine.get('strict-transport-security')}, nginx {hsts}")
    if answer.echo is not None:
        got = answer.echo["headers"]
        where = dict(oracle.locations[got["x-ing2gw-location"]])
        matched = outcome["matched"] or {}
        if {k: matched.get(k) for k in where} != where:
            problems.append(f"location: model {matched}, nginx {where}")
        split = len(outcome.get("weights") or {}) > 1  # split_clients picks one of the shares at random
        if (got["x-ing2gw-backend"] not in (outcome.get("weights") or {})) if split else (
                outcome["backend"] != got["x-ing2gw-backend"]):
            problems.append(f"backend: model {outcome['backend']}, nginx {got['x-ing2gw-backend']}")
        upstream = outcome["upstream"]
        if upstream is None:
            problems.append("nginx proxied, the model answered itself")
        else:
            if upstream["path"] != answer.echo["path"]:
                problems.append(f"upstream URI: model {upstream['path']}, nginx {answer.echo['path']}")
            if upstream["host"] != got.get("host"):
                problems.append(f"upstream Host: model {upstream['host']}, nginx {got.get('host')}")
    elif outcome["upstream"] is not None:
        problems.append("model proxies upstream, nginx answered itself")
    return problems


class F5OracleSession:
    """``verify --oracle nginx`` for F5 NGINX conversions."""

    name = "nginx"

    def __init__(self, model: Any) -> None:
        if nginx_binary() is None:
            from ing2gw.errors import UsageError

            raise UsageError("--oracle nginx needs the nginx binary (Debian package nginx)")
        self.model = model
        self.oracle = F5Oracle(model.resources, config=model.config.data)

    def check(self, request: Any) -> list[str] | None:
        if request.scheme == "https" and self.oracle.nginx.https_port is None:
            return None
        headers = dict(request.headers.as_dict())
        if any(k.lower() == "content-length" for k in headers) and len(self.model.route(request).weights) > 1:
            return None  # split_clients picks a share at random, and the shares' body limits may differ
        auth = next((k for k in headers if k.lower() == "authorization"), None)
        if auth is not None and headers[auth].lower().startswith("basic "):
            enforcement = getattr(self.model, "enforcement", None)
            if enforcement is not None and enforcement.credentials:
                return None  # the model checks the --htpasswd files; nginx knows only its own user: undecided
            headers[auth] = ORACLE_CREDENTIALS  # the model checks presence only: nginx gets its own user's
        return disagreement(self.model, self.oracle, request.method, request.host, request.target, headers,
                            request.scheme, request.port)

    def stop(self) -> None:
        self.oracle.stop()
