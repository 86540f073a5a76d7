"""``verify --oracle haproxy``: real haproxy serving the configuration the controller would
write for the model's entries (rendered by the provider, independently of the model's
lookup), asked every replayed request; :func:`disagreement` lists what the model and haproxy
answer differently."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Sequence

from ing2gw.errors import UsageError
from ing2gw.http import Request

from .model import Entry, HaproxyModel
from .process import HaproxyAnswer, HaproxyProcess, haproxy_binary

__all__ = ["HaproxyOracle", "disagreement"]


def disagreement(model: HaproxyModel, process: HaproxyProcess, request: Request) -> tuple[list[str], HaproxyAnswer]:
    """What the model and haproxy (already serving the model's entries) disagree on for
    ``request``: status, backend, redirect location, the path, Host and set headers the
    backend got, and the response headers the configuration adds (every CORS header haproxy
    sends, also where the model has none). haproxy sees the test's loopback address as the
    client, so the model is asked with it too."""
    request = Request.build(host=request.host, path=request.target, method=request.method, scheme=request.scheme,
                            headers=request.headers, client="127.0.0.1")
    out = model.route(request)
    got = process.send(request.method, request.host, request.target, request.headers.as_dict(),
                       https=request.scheme == "https")
    problems: list[str] = []
    if out.status != got.status:
        problems.append(f"status: model {out.status}, haproxy {got.status}")
    if out.backend != got.backend:
        problems.append(f"backend: model {out.backend}, haproxy {got.backend}")
    if out.redirect is not None and out.redirect.location != got.headers.get("location"):
        problems.append(f"location: model {out.redirect.location}, haproxy {got.headers.get('location')}")
    if out.upstream is not None and got.upstream is not None:
        seen = got.upstream["headers"]
        if out.upstream.path != got.upstream["target"]:
            problems.append(f"upstream path: model {out.upstream.path}, haproxy {got.upstream['target']}")
        if out.upstream.host != seen.get("host"):
            problems.append(f"upstream host: model {out.upstream.host}, haproxy {seen.get('host')}")
        for name in out.upstream.headers:
            value = out.upstream.headers.get(name)
            if name.lower() != "host" and seen.get(name.lower()) != value:
                problems.append(f"upstream {name}: model {value}, haproxy {seen.get(name.lower())}")
    for name in out.response_headers:
        if got.headers.get(name.lower()) != out.response_headers.get(name):
            problems.append(f"response {name}: model {out.response_headers.get(name)}, "
                            f"haproxy {got.headers.get(name.lower())}")
    for name, value in got.headers.items():  # CORS headers haproxy adds where the model has none
        if name.startswith("access-control-") and out.response_headers.get(name) is None:
            problems.append(f"response {name}: model None, haproxy {value}")
    return problems, got


class HaproxyOracle:
    """A :class:`~ing2gw.dataplane.Checker` backed by real haproxy."""

    name = "haproxy"

    def __init__(self, model: HaproxyModel,
                 render: Callable[[Sequence[Entry]], tuple[str, dict[str, str]]]) -> None:
        if haproxy_binary() is None:
            raise UsageError("--oracle haproxy needs the haproxy binary (Debian package haproxy)")
        self.model = model
        self.process = HaproxyProcess()
        try:
            self.process.load(*render(model.entries))
        except Exception:
            self.process.stop()
            raise

    def check(self, request: Request) -> list[str] | None:
        if request.scheme == "https" and self.process.https_port is None:
            return None  # no openssl, so no HTTPS listener
        try:
            return disagreement(self.model, self.process, request)[0]
        except (OSError, http.client.HTTPException) as exc:
            # every request gets an answer (a body-limit probe's announced body is sent, see
            # process.send): a request haproxy leaves unanswered is a disagreement, not a shrug
            return [f"haproxy gave no HTTP answer: {type(exc).__name__}: {exc}"]

    def stop(self) -> None:
        self.process.stop()
