"""GKE Ingress URL maps: how ingress-gce turns one Ingress into a Google Cloud URL map, and how
the load balancer matches a request against it (facts: ``docs/upstream/gke/README.md``).

Every Ingress is its own load balancer with its own URL map:

* each Ingress rule becomes one host rule (host ``*`` when the rule has none); **a later rule
  with the same host replaces the earlier one entirely**, and within one host the last of two
  equal paths wins;
* ``Exact`` ``/p`` is the literal path; ``Prefix`` ``/p`` (or ``/p/``) is the two paths ``/p``
  and ``/p/*`` (``/`` is ``/*``); ``ImplementationSpecific`` is the raw GCLB path, so ``/p`` is
  an *exact* path and ``/p/*`` matches below ``/p/`` but not ``/p`` itself; an empty path is
  ``/*``. ``*`` is allowed only as the last character, after ``/``; there is no regex;
* a path whose Service does not exist is dropped (its host keeps its host rule);
* the longest matching path wins whatever the order (an exact path before a prefix of the same
  length); a request no path of its host matches -- or of no host rule -- goes to the Ingress's
  ``spec.defaultBackend``, else to the system default backend (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ing2gw.resources import Ingress, IngressBackend, ResourceSet

__all__ = ["HostRule", "PathRule", "UrlMap", "gclb_paths", "path_matches", "select", "url_map"]


@dataclass(frozen=True, slots=True)
class PathRule:
    """One GCLB path of a host rule and where it came from."""

    path: str  # "/foo" (exact) or "/foo/*" (everything below /foo/)
    backend: IngressBackend
    field: str  # the Ingress path, e.g. "spec.rules[0].http.paths[1]"


@dataclass(frozen=True, slots=True)
class HostRule:
    host: str  # "*" = every host
    paths: tuple[PathRule, ...]
    field: str  # the Ingress rule that won the host


@dataclass(frozen=True, slots=True)
class UrlMap:
    """One Ingress's URL map, the translation errors ingress-gce counts, and the Ingress paths
    that do not reach it (field -> why)."""

    ingress: Ingress
    default: IngressBackend | None  # spec.defaultBackend; None = the system default backend (404)
    hosts: tuple[HostRule, ...]
    errors: tuple[tuple[str, str], ...] = ()  # (field, problem)
    dropped: tuple[tuple[str, str], ...] = ()  # (field, why): replaced by a later rule or path

    def host_rule(self, hostname: str) -> HostRule | None:
        """The host rule a request's host selects: its own (case-insensitive; ``*.x`` matches
        any subdomain of ``x``), else the ``*`` rule."""
        hostname = hostname.lower().rstrip(".")
        star: HostRule | None = None
        wildcard: HostRule | None = None
        for rule in self.hosts:
            host = rule.host.lower()
            if host == "*":
                star = rule
            elif host == hostname:
                return rule
            elif host.startswith("*.") and hostname.endswith(host[1:]) and (
                    wildcard is None or len(host) > len(wildcard.host)):
                wildcard = rule
        return wildcard or star


def gclb_paths(path: str, path_type: str) -> list[str]:
    """The URL-map paths of one Ingress path; ``ValueError`` when ingress-gce (or the Compute
    API) rejects it."""
    if path_type == "Exact":
        if not path or "*" in path:
            raise ValueError("an Exact path must be set and must not contain *")
        return [path]
    if path_type == "Prefix":
        if not path or "*" in path:
            raise ValueError("a Prefix path must be set and must not contain *")
        base = path[:-1] if path.endswith("/") else path
        return ["/*"] if not base else [base, base + "/*"]
    if path_type in ("ImplementationSpecific", ""):
        if not path:
            return ["/*"]
        if not path.startswith("/"):
            raise ValueError("a path must start with /")
        if "*" in path and (path.index("*") != len(path) - 1 or not path.endswith("/*")):
            raise ValueError("GCLB allows * only as the last character, after /")
        return [path]
    raise ValueError(f"unknown pathType {path_type!r}")


def _exists(resources: ResourceSet, namespace: str, backend: IngressBackend) -> bool:
    """Does the backend's Service (and named port) exist? Unknown when no Service was given."""
    if not resources.has_services:
        return True
    svc = resources.services.get((namespace, backend.service or ""))
    if svc is None:
        return False
    if backend.port_name is not None:
        return any(p.name == backend.port_name for p in svc.ports)
    return not svc.ports or any(p.port == backend.port_number for p in svc.ports)


def url_map(ingress: Ingress, resources: ResourceSet) -> UrlMap:
    """The URL map ingress-gce builds for ``ingress``."""
    errors: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    default = ingress.default_backend
    if default is not None and (default.service is None or not _exists(resources, ingress.namespace, default)):
        errors.append(("spec.defaultBackend", "the default backend's Service does not exist"))
    hosts: dict[str, HostRule] = {}
    for rule in ingress.rules:
        host = rule.host or "*"
        previous = hosts.pop(host, None)
        if previous is not None:
            dropped += [(p.field, f"a later rule ({rule.field}) for host {host} replaces this one")
                        for p in previous.paths]
        paths: dict[str, PathRule] = {}
        for p in rule.paths:
            if p.backend.service is None:
                errors.append((p.field, "the path names no Service backend"))
                continue
            try:
                gclb = gclb_paths(p.path, p.path_type)
            except ValueError as exc:
                errors.append((p.field, str(exc)))
                continue
            if not _exists(resources, ingress.namespace, p.backend):
                errors.append((p.field, f"Service {ingress.namespace}/{p.backend.service} (port "
                                        f"{p.backend.port_number or p.backend.port_name}) does not exist"))
                continue
            for g in gclb:
                old = paths.pop(g, None)
                if old is not None and old.field != p.field:
                    dropped.append((old.field, f"GCLB path {g} is replaced by the later {p.field}"))
                paths[g] = PathRule(g, p.backend, p.field)
        hosts[host] = HostRule(host, tuple(paths.values()), rule.field)
    return UrlMap(ingress, default, tuple(hosts.values()), tuple(errors), tuple(dropped))


def path_matches(pattern: str, path: str) -> bool:
    """Does a GCLB path match a request path (no query)?"""
    if pattern.endswith("/*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def select(paths: Iterable[PathRule], path: str) -> PathRule | None:
    """The path rule the load balancer picks: the longest match, exact before prefix."""
    best: PathRule | None = None
    best_key = (-1, -1)
    for rule in paths:
        if not path_matches(rule.path, path):
            continue
        exact = not rule.path.endswith("*")
        key = (len(rule.path.rstrip("*")), int(exact))
        if key > best_key:
            best, best_key = rule, key
    return best
