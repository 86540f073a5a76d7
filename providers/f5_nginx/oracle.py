"""Real nginx as ground truth for the F5 NGINX model (``verify --oracle nginx``).

nginx (the system binary, on loopback ports, through ingress-nginx's
:class:`~ing2gw.providers.ingress_nginx.oracle.NginxOracle` harness) serves the configuration
:mod:`.nginxconf` writes from the Ingresses (a host a VirtualServer serves is not rendered: the
session leaves its requests undecided); :func:`disagreement` compares one request's model
answer with nginx's: status, redirect Location, the location and Service that answered, the
URI and Host sent upstream, and the HSTS header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ing2gw.resources import ResourceSet

from ..ingress_nginx.oracle import NginxOracle, nginx_binary
from .nginxconf import F5Conf, generate

__all__ = ["F5Oracle", "F5OracleSession", "disagreement"]


class F5Oracle:
    """nginx serving :mod:`.nginxconf`'s configuration for one Ingress set."""

    def __init__(self, resources: ResourceSet, nginx: NginxOracle | None = None,
                 config: Mapping[str, str] | None = None, rate_limits: bool = False) -> None:
        self.conf: F5Conf = generate(resources, config, rate_limits)
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


def disagreement(model: Any, oracle: F5Oracle, method: str, host: str, target: str,
                 headers: Mapping[str, str] | None = None, scheme: str = "http") -> list[str]:
    """Where the model and nginx answer one request differently."""
    from ing2gw.http import Request

    nginx = oracle.nginx
    port = nginx.https_port if scheme == "https" else nginx.port
    if port is None:
        return []
    outcome = model.route(Request.build(host=host, path=target, method=method, scheme=scheme,
                                        headers=dict(headers or {}))).to_dict()
    answer = nginx.send(method, host, target, headers, scheme=scheme)
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
        if outcome["backend"] != got["x-ing2gw-backend"]:
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
        if self.model.virtual_host(request.hostname):
            return None  # :mod:`.nginxconf` writes the Ingresses' servers only: undecided
        return disagreement(self.model, self.oracle, request.method, request.host, request.target,
                            dict(request.headers.as_dict()), request.scheme)

    def stop(self) -> None:
        self.oracle.stop()
