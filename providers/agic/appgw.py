"""The Application Gateway AGIC builds from a set of Ingresses: listeners, their URL path maps
and request routing rules (facts: ``docs/upstream/agic/README.md``), shared by the translator
and the model.

* **One gateway for all Ingresses.** Listeners are keyed by frontend port, protocol and host
  names; a rule with a host gives a *multi-site* listener (its host plus ``hostname-extension``),
  one without a *basic* listener. Identical listeners of several Ingresses are one listener.
* **Ports**: 80 for HTTP, 443 for HTTPS, or ``override-frontend-port``.
* **TLS**: a host with a ``spec.tls`` Secret gets an HTTPS listener and no HTTP one unless
  ``ssl-redirect`` adds an HTTP listener that redirects (301, path and query kept). A TLS Secret
  that does not exist leaves the host HTTP only. ``appgw-ssl-certificate`` names a certificate
  installed on the gateway instead.
* **Paths**: Exact ``/p`` is ``/p`` (trailing ``*`` removed), Prefix is ``/p*`` -- a character
  prefix --, ImplementationSpecific is kept as written; ``/`` and ``/*`` are catch-alls for every
  pathType and become the path map's default. **The first listed path that matches wins**: the
  paths of every Ingress sharing a listener join one map, in Ingress order (oldest first), each in
  spec order. No path: the catch-all, else the Ingress's ``spec.defaultBackend``, else the
  gateway's empty default pool (502).
* **Priorities** are generated: multi-site listeners from 19000, basic ones from 19500, in steps
  of 10 (lower first), unless ``rule-priority`` sets one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ing2gw.notes import Notes
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress, IngressBackend, IngressPath, ResourceSet

from .annotations import TABLE

__all__ = ["Entry", "Gateway", "Listener", "build", "catch_all", "covers", "host_matches", "matches", "pattern"]


def pattern(path: str, path_type: str) -> str:
    """The URL-path-map path of an Ingress path."""
    if path_type == "Exact":
        return path.rstrip("*") or "/"
    if path_type == "Prefix":
        return path if path.endswith("*") else path + "*"
    return path or "/*"


def catch_all(path: str) -> bool:
    """``/`` and ``/*`` are catch-alls whatever the pathType (an empty path is ``/``)."""
    return path in ("", "/", "/*")


def matches(pat: str, path: str) -> bool:
    return path.startswith(pat[:-1]) if pat.endswith("*") else path == pat


def covers(earlier: str, later: str) -> bool:
    """Does the earlier path pattern match every request the later one matches?"""
    if earlier.endswith("*"):
        return later.rstrip("*").startswith(earlier[:-1])
    return earlier == later


def host_matches(host: str, hostname: str) -> bool:
    host, hostname = host.lower(), hostname.lower().rstrip(".")
    return hostname.endswith(host[1:]) if host.startswith("*.") else host == hostname


@dataclass(frozen=True, slots=True)
class Entry:
    """One path rule of a URL path map."""

    pattern: str
    ingress: Ingress
    path: IngressPath
    host: str


@dataclass(slots=True)
class Listener:
    port: int
    protocol: str  # "http" | "https"
    hosts: tuple[str, ...]  # () = basic listener
    priority: int = 0
    redirect: bool = False  # HTTP listener of ssl-redirect: every request is redirected
    entries: list[Entry] = field(default_factory=list)
    default: tuple[Ingress, IngressBackend] | None = None  # catch-all or spec.defaultBackend
    default_field: str = ""

    @property
    def default_path(self) -> str:
        """The Ingress path of the default: the catch-all as written, or ``/`` for spec.defaultBackend."""
        if self.default is None or self.default_field == "spec.defaultBackend":
            return "/"
        ing = self.default[0]
        return next((p.path or "/" for r in ing.rules for p in r.paths if p.field == self.default_field), "/")
    explicit_priority: bool = False

    @property
    def multi_site(self) -> bool:
        return bool(self.hosts)

    def select(self, path: str) -> Entry | None:
        return next((e for e in self.entries if matches(e.pattern, path)), None)


@dataclass(slots=True)
class Gateway:
    listeners: list[Listener]
    annotations: dict[str, Annotations]  # Ingress ref -> its annotations
    tls_missing: dict[str, list[str]]  # Ingress ref -> Secret names that do not exist

    def candidates(self, port: int, protocol: str, hostname: str) -> list[Listener]:
        """The listeners a request may reach, in priority order."""
        found = [ls for ls in self.listeners if ls.port == port and ls.protocol == protocol
                 and (not ls.hosts or any(host_matches(h, hostname) for h in ls.hosts))]
        return sorted(found, key=lambda ls: ls.priority)


def _secret_exists(resources: ResourceSet, namespace: str, name: str) -> bool:
    return not resources.secrets or (namespace, name) in resources.secrets


def ordered(ingresses: Sequence[Ingress]) -> list[Ingress]:
    return sorted(ingresses, key=lambda i: (i.created or "~", i.namespace, i.name))


def build(ingresses: Sequence[Ingress], resources: ResourceSet, notes: Notes | None = None) -> Gateway:
    """The listeners AGIC writes for ``ingresses``."""
    notes = notes if notes is not None else Notes()
    listeners: dict[tuple[int, str, tuple[str, ...]], Listener] = {}
    annotations: dict[str, Annotations] = {}
    tls_missing: dict[str, list[str]] = {}

    def listener(port: int, protocol: str, hosts: tuple[str, ...], ann: Annotations) -> Listener:
        key = (port, protocol, hosts)
        if key not in listeners:
            listeners[key] = Listener(port, protocol, hosts)
        ls = listeners[key]
        if "rule-priority" in ann and not ls.explicit_priority:
            ls.priority, ls.explicit_priority = int(ann.get("rule-priority")), True
        return ls

    for ing in ordered(ingresses):
        ann = annotations[ing.ref] = TABLE.read(ing, notes)
        missing = [t.secret_name for t in ing.tls if t.secret_name and not _secret_exists(
            resources, ing.namespace, t.secret_name)]
        if missing:
            tls_missing[ing.ref] = missing
        extension = tuple(ann.get("hostname-extension") or ())
        rules = list(ing.rules)
        for rule in rules or ():
            hosts = tuple(dict.fromkeys(((rule.host,) if rule.host else ()) + extension))
            tls = any(t.secret_name and t.secret_name not in missing and (not t.hosts or rule.host in t.hosts)
                      for t in ing.tls) or bool(ann.get("appgw-ssl-certificate"))
            port_override = ann.get("override-frontend-port")
            main = listener(port_override or (443 if tls else 80), "https" if tls else "http", hosts, ann)
            if tls and ann.get("ssl-redirect"):
                listener(80, "http", hosts, ann).redirect = True
            for p in rule.paths:
                if catch_all(p.path):
                    if main.default is None:
                        main.default, main.default_field = (ing, p.backend), p.field
                    continue
                main.entries.append(Entry(pattern(p.path, p.path_type), ing, p, rule.host))
            if ing.default_backend is not None and main.default is None:
                main.default, main.default_field = (ing, ing.default_backend), "spec.defaultBackend"
        if not rules and ing.default_backend is not None:
            ls = listener(ann.get("override-frontend-port") or 80, "http", extension, ann)
            if ls.default is None:
                ls.default, ls.default_field = (ing, ing.default_backend), "spec.defaultBackend"
    multi = [ls for ls in listeners.values() if ls.multi_site and not ls.explicit_priority]
    basic = [ls for ls in listeners.values() if not ls.multi_site and not ls.explicit_priority]
    for n, ls in enumerate(multi):
        ls.priority = 19000 + 10 * n
    for n, ls in enumerate(basic):
        ls.priority = 19500 + 10 * n
    return Gateway(list(listeners.values()), annotations, tls_missing)
