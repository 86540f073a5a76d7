"""Small HTTP value types: case-insensitive multi-valued :class:`Headers` and :class:`Request`.

Both are immutable: routers and filters derive new values (``headers.set(...)``) rather
than editing in place, so one request can be routed many times without copies.

A :class:`Request` is what reaches a gateway (or, with ``mesh`` set, a Service inside the
mesh: east-west, GAMMA): the port the client dialled, the TLS server
name (for https), the Host header (``host``, which may carry its own port) and the request
target split into ``path`` and ``query``. ``hostname`` is the Host without its port,
lower-cased, which is what hostname matching uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import UsageError
from .making import maker

__all__ = ["DEFAULT_PORTS", "DeferredHeaders", "Headers", "MeshSource", "QueryParams", "Request", "plain_request",
           "split_host_port"]

DEFAULT_PORTS: Mapping[str, int] = {"http": 80, "https": 443}


class Headers:
    """An immutable, ordered, case-insensitive multimap of header names to values.

    ``get`` joins several values of one header with ``,`` (RFC 9110 list syntax), which
    is how header matches and case expectations compare them. Names keep the spelling
    of their first appearance.
    """

    __slots__ = ("_data",)

    _data: dict[str, tuple[str, tuple[str, ...]]]  # lower name -> (spelling, values)

    def __init__(
        self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    ) -> None:
        data: dict[str, tuple[str, tuple[str, ...]]] = {}
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for name, value in pairs:
                key = name.lower()
                old = data.get(key)
                if old is None:
                    data[key] = (name, (value,))
                else:
                    data[key] = (old[0], old[1] + (value,))
        self._data = data

    @classmethod
    def of_fields(cls, fields: Iterable[tuple[str, str]], drop: frozenset[str]) -> Headers:
        """The fields of a message, without those whose lower-case name is in ``drop``."""
        data: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, value in fields:
            key = name.lower()
            if key in drop:
                continue
            old = data.get(key)
            data[key] = (name, (value,)) if old is None else (old[0], old[1] + (value,))
        return cls._from(data)

    @classmethod
    def _from(cls, data: dict[str, tuple[str, tuple[str, ...]]]) -> Headers:
        new = cls.__new__(cls)
        new._data = data
        return new

    def get(self, name: str, default: str | None = None) -> str | None:
        data = self._data
        if not data:  # many requests carry no headers
            return default
        entry = data.get(name.lower())
        if entry is None:
            return default
        values = entry[1]
        return values[0] if len(values) == 1 else ",".join(values)

    def get_lower(self, key: str) -> str | None:
        """:meth:`get` of a name already in lower case (``"content-length"``)."""
        entry = self._data.get(key)
        if entry is None:
            return None
        values = entry[1]
        return values[0] if len(values) == 1 else ",".join(values)

    def get_all(self, name: str) -> tuple[str, ...]:
        entry = self._data.get(name.lower())
        return () if entry is None else entry[1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:
        return (spelling for spelling, _ in self._data.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return {k: v[1] for k, v in self._data.items()} == {
            k: v[1] for k, v in other._data.items()
        }

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, v[1]) for k, v in self._data.items())))

    def __repr__(self) -> str:
        return f"Headers({self.as_dict()!r})"

    def as_dict(self) -> dict[str, str]:
        """Name (first spelling) -> values joined with ``,``."""
        return {spelling: ",".join(values) for spelling, values in self._data.values()}

    def lower_items(self) -> list[tuple[str, str]]:
        """(lower-case name, values joined with ``,``) sorted by name: :meth:`as_dict`'s items
        ordered case-insensitively, with the names lower-cased."""
        data = self._data
        return [(key, ",".join(data[key][1])) for key in sorted(data)]

    def set(self, name: str, value: str) -> Headers:
        """Replace every value of ``name`` (keeping its position) or append it."""
        data = dict(self._data)
        key = name.lower()
        old = data.get(key)
        data[key] = (old[0] if old else name, (value,))
        return Headers._from(data)

    def set_many(self, pairs: Iterable[tuple[str, str]]) -> Headers:
        """:meth:`set` for several headers at once (one copy instead of one per header)."""
        data = dict(self._data)
        for name, value in pairs:
            key = name.lower()
            old = data.get(key)
            data[key] = (old[0] if old else name, (value,))
        return Headers._from(data)

    def add(self, name: str, value: str) -> Headers:
        """Append one value; an existing header becomes ``old,new``."""
        data = dict(self._data)
        key = name.lower()
        old = data.get(key)
        data[key] = (name, (value,)) if old is None else (old[0], old[1] + (value,))
        return Headers._from(data)

    def without(self, names: frozenset[str]) -> Headers:
        """:meth:`remove` of every lower-case name in ``names`` (one copy at most)."""
        data = self._data
        if not any(key in names for key in data):
            return self
        return Headers._from({k: v for k, v in data.items() if k not in names})

    def replaced(self, drop: frozenset[str], pairs: Iterable[tuple[str, str]]) -> Headers:
        """``self.without(drop).set_many(pairs)`` in one copy."""
        data = {k: v for k, v in self._data.items() if k not in drop} if self._data else {}
        for name, value in pairs:
            key = name.lower()
            old = data.get(key)
            data[key] = (old[0] if old else name, (value,))
        return Headers._from(data)

    def remove(self, name: str) -> Headers:
        key = name.lower()
        if key not in self._data:
            return self
        data = dict(self._data)
        del data[key]
        return Headers._from(data)


class DeferredHeaders(Headers):
    """Headers worked out when first read: a data plane's upstream headers, which a replay
    comparing outcomes never reads (``make(*args)`` runs once; the value is a plain
    :class:`Headers` in every respect, pickled as one)."""

    __slots__ = ("_args", "_make")

    def __init__(self, make: Callable[..., Headers], *args: Any) -> None:  # no super().__init__: _data comes when read
        self._make = make
        self._args = args

    def __getattr__(self, name: str) -> Any:
        if name != "_data":
            raise AttributeError(name)
        data = self._make(*self._args)._data
        self._data = data
        return data

    def __reduce__(self) -> tuple[Any, ...]:
        return Headers._from, (self._data,)


def split_host_port(authority: str) -> tuple[str, int | None]:
    """``"Foo.com:8080"`` -> ``("foo.com", 8080)``; IPv6 literals keep their brackets."""
    host, port = authority, None
    if authority.startswith("["):
        end = authority.find("]")
        if end != -1:
            host, rest = authority[: end + 1], authority[end + 1 :]
            if rest.startswith(":") and rest[1:].isdigit():
                port = int(rest[1:])
    elif authority.count(":") == 1:
        name, _, digits = authority.partition(":")
        if digits.isdigit():
            host, port = name, int(digits)
        elif digits == "":
            host = name
    return host.rstrip(".").lower(), port


_HOSTNAMES: dict[str, str] = {}  # Host value -> its hostname (split_host_port's first part)


def _hostname(host: str) -> str:
    """``split_host_port(host)[0]``, remembered in _HOSTNAMES (requests repeat a few hosts)."""
    hostname = split_host_port(host)[0]
    if len(_HOSTNAMES) >= 100_000:
        _HOSTNAMES.clear()
    _HOSTNAMES[host] = hostname
    return hostname


class QueryParams(Mapping[str, str]):
    """The first value of each query parameter, decoded when first looked at (most
    requests are routed without reading their query)."""

    __slots__ = ("_query", "_params")

    def __init__(self, query: str) -> None:
        self._query = query
        self._params: dict[str, str] | None = None

    def _parsed(self) -> dict[str, str]:
        if self._params is None:
            params: dict[str, str] = {}
            for name, value in parse_qsl(self._query, keep_blank_values=True):
                params.setdefault(name, value)
            self._params = params
        return self._params

    def __getitem__(self, name: str) -> str:
        return self._parsed()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return repr(self._parsed())


@dataclass(frozen=True, slots=True)
class MeshSource:
    """Where an east-west (mesh) request comes from and what it dials: the client's
    namespace, and the destination as the client named it (``name``, ``name.ns``,
    ``name.ns.svc``, ``name.ns.svc.cluster.local``, maybe with ``:port``), which picks the
    Service even when the Host header says something else."""

    namespace: str
    service: str


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as a gateway sees it. Build it with :meth:`build` or :meth:`from_url`."""

    method: str
    scheme: str  # "http" | "https"
    host: str  # the Host header (authority), possibly with a port
    port: int  # the port the client connected to (selects listeners)
    path: str  # without query
    query: str = ""  # raw query string, without "?"
    headers: Headers = field(default_factory=Headers)
    sni: str | None = None  # TLS server name (https); defaults to the hostname
    gateway: str | None = None  # "namespace/name" of the Gateway dialled, if known
    hostname: str = ""  # host without port, lower-case (filled in by build)
    query_params: Mapping[str, str] = field(default_factory=dict)  # first value per name
    response_headers: Headers | None = None  # what the backend answers with, if known
    client: str | None = None  # the client's address (allow/deny lists), if known
    mesh: MeshSource | None = None  # set: an east-west request to a Service (no Gateway)
    backend_delay: float | None = None  # seconds the backend waits before its response head (timeouts)

    @classmethod
    def build(
        cls,
        *,
        host: str,
        path: str = "/",
        method: str = "GET",
        scheme: str = "http",
        port: int | None = None,
        headers: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        sni: str | None = None,
        gateway: str | None = None,
        response_headers: Headers | Mapping[str, str] | None = None,
        client: str | None = None,
        mesh: MeshSource | None = None,
        backend_delay: float | None = None,
    ) -> Request:
        """``path`` may carry a query (``/a?x=1``). ``port`` defaults to the scheme's (for a
        mesh request, to the port the destination names, if it names one). ``backend_delay``:
        how long the backend takes to answer (seconds), for timeouts."""
        if scheme != "http" and scheme != "https":  # (the common spellings need no lower-casing)
            scheme = scheme.lower()
            if scheme not in DEFAULT_PORTS:
                raise UsageError(f"unsupported scheme {scheme!r} (use http or https)")
        if port is None and mesh is not None:
            port = split_host_port(mesh.service)[1]
        if port is None:
            port = DEFAULT_PORTS[scheme]
        if "?" in path:
            raw_path, _, query = path.partition("?")
        else:
            raw_path, query = path, ""
        if "#" in raw_path:
            raw_path = raw_path.partition("#")[0]
        if not raw_path.startswith("/"):
            raw_path = "/" + raw_path
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        hostname = _HOSTNAMES.get(host) or _hostname(host)
        if sni is not None:
            sni = sni.lower() or None
        elif scheme == "https":
            sni = hostname or None  # (already lower-case)
        params: Mapping[str, str] = QueryParams(query) if query else {}
        resp = (
            response_headers
            if response_headers is None or isinstance(response_headers, Headers)
            else Headers(response_headers)
        )
        return _request(method.upper(), scheme, host, port, raw_path, query, hdrs, sni,
                        gateway, hostname, params, resp, client, mesh, backend_delay)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        method: str = "GET",
        headers: Headers | Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        port: int | None = None,
        gateway: str | None = None,
        sni: str | None = None,
        mesh: str | None = None,
    ) -> Request:
        """``scheme://host[:port]/path?query``; the URL's port is the one dialled unless
        ``port`` says otherwise. A ``Host`` in ``headers`` overrides the URL's host.
        ``mesh`` (a client namespace) makes it an east-west request to the Service the
        URL's host names."""
        if "://" not in url:
            raise UsageError(f"URL {url!r} needs a scheme (http:// or https://)")
        parts = urlsplit(url)
        if not parts.netloc:
            raise UsageError(f"URL {url!r} has no host")
        try:
            url_port = parts.port
        except ValueError:
            raise UsageError(f"URL {url!r} has an invalid port") from None
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        host = hdrs.get("host") or parts.netloc.rpartition("@")[2]
        hdrs = hdrs.remove("host")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls.build(
            host=host,
            path=target,
            method=method,
            scheme=parts.scheme,
            port=port if port is not None else url_port,
            headers=hdrs,
            sni=sni,
            gateway=gateway,
            mesh=None if mesh is None else MeshSource(mesh, parts.netloc.rpartition("@")[2]),
        )

    def with_path(self, path: str) -> Request:
        """This request with another ``path`` (what ``dataclasses.replace`` gives, at a
        fraction of its cost: routers do it per request when they normalise the path)."""
        return _request(self.method, self.scheme, self.host, self.port, path, self.query, self.headers, self.sni,
                        self.gateway, self.hostname, self.query_params, self.response_headers, self.client, self.mesh,
                        self.backend_delay)

    @property
    def target(self) -> str:
        """The request target as sent upstream: path plus ``?query`` when there is one."""
        return f"{self.path}?{self.query}" if self.query else self.path


def plain_request(scheme: str, host: str, target: str, headers: Headers, method: str, client: str | None,
                  backend_delay: float | None = None) -> Request:
    """``Request.build(host=host, path=target, scheme=scheme, method=method, headers=headers,
    client=client, backend_delay=backend_delay)`` for a ``scheme`` spelled ``http`` or ``https``:
    the same request, without the keyword handling and the checks of what a plain request does
    not set (port, SNI, mesh, ...). ``verify`` builds one per generated request on each side
    (:mod:`ing2gw.verify`), and one per policy probe (:mod:`ing2gw.policyprobes`)."""
    if "?" in target or "#" in target or not target.startswith("/"):
        path, _, query = target.partition("?")
        if "#" in path:
            path = path.partition("#")[0]
        if not path.startswith("/"):
            path = "/" + path
    else:
        path, query = target, ""
    hostname = _HOSTNAMES.get(host) or _hostname(host)
    return _request(method.upper(), scheme, host, DEFAULT_PORTS[scheme], path, query, headers,
                    (hostname or None) if scheme == "https" else None, None, hostname,
                    QueryParams(query) if query else {}, None, client, None, backend_delay)


# Request(...) writes each of its 15 fields through object.__setattr__ (it is frozen); a replay
# builds a request per decision (on each side of verify): _request builds the same object
# without the __init__ (ing2gw.making), every field given in order.
_request = maker(Request)
