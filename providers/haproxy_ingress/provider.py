"""HAProxy Ingress (jcmoraisjr/haproxy-ingress, ``haproxy-ingress.github.io/*`` and the older
``ingress.kubernetes.io/*``): the provider object ing2gw discovers (``PROVIDER``), its
translator and its data plane.

Routing semantics (see :mod:`.lookup`): ImplementationSpecific paths follow the ``path-type``
annotation, default ``begin`` -- a case-insensitive character prefix, which Gateway
``PathPrefix`` narrows; ``regex`` is anchored at the start only. A named host without a
matching path falls back to a wildcard host's paths (``strict-host`` false) and then to the
host-less rules, as Gateway API precedence does. Hosts with TLS redirect plain HTTP with 302
(``ssl-redirect``, default true) except ACME challenges, and answer HTTPS with HSTS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ing2gw.ir import IR, HeaderMatch, PathMatch, RouteMatch
from ing2gw.notes import Fidelity, Level, Notes
from ing2gw.provider import Annotations, AnnotationTable, ProviderContext
from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .._common.ingress import PathContext
from .._haproxy.dataplane import Flavour, HaproxyDataPlane
from .._haproxy.model import Entry, Lookup
from .._haproxy.plugin import HaproxyProvider
from .._haproxy.policy import HaproxyPolicy, read_annotations
from .._haproxy.translate import HaproxyTranslator
from .annotations import PREFIXES, TABLE
from .bluegreen import blue_green_message
from .haproxycfg import render
from .lookup import IngressLookup
from .policy import policy_of

__all__ = ["PROVIDER", "HaproxyIngressProvider"]

NAME = "haproxy-ingress"
_ASPECTS = ("status", "backend", "path", "redirect")


def path_kind(path: IngressPath, ann_type: str | None) -> str:
    """The controller's match kind: the spec's pathType wins over the path-type annotation."""
    if path.path_type == "Exact":
        return "exact"
    if path.path_type == "Prefix":
        return "prefix"
    return ann_type or "begin"


class IngressTranslator(HaproxyTranslator):
    code = "HAPROXY-INGRESS"
    controller = "haproxy-ingress"
    prefixes = PREFIXES
    auth_key = "auth-secret"
    allow_key = "allowlist-source-range"
    deny_key = "denylist-source-range"
    rate_limit_key = "limit-rps"
    client_header_key = "allowlist-source-header"

    def __init__(self, ctx: ProviderContext, table: AnnotationTable) -> None:
        super().__init__(ctx, table)
        self._ann: dict[str, Annotations] = {}

    def policy_of(self, ingress: Ingress, ann: Annotations) -> HaproxyPolicy:
        self._ann[ingress.ref] = ann
        return policy_of(ingress, ann, self.ctx.options.controller_config)

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        ir = super().translate(ingresses)
        for ing in self.ordered(ingresses):
            self._blue_green(ing)
        return ir

    def _blue_green(self, ing: Ingress) -> None:
        """One note per backend Service of an Ingress with a blue/green balance or selector."""
        self.policy(ing)
        ann = self._ann[ing.ref]
        groups = ann.get("blue-green-balance") or ()
        header, cookie = ann.get("blue-green-header"), ann.get("blue-green-cookie")
        if not groups and header is None and cookie is None:
            return
        key = "blue-green-balance" if groups else "blue-green-header" if header is not None else "blue-green-cookie"
        backends: dict[str, set[tuple[str, str]]] = {}
        for rule in ing.rules:
            for path in rule.paths:
                if path.backend.service is not None:
                    backends.setdefault(f"{ing.namespace}/{path.backend.service}", set()).add(
                        (rule.host, path.path or "/"))
        if ing.default_backend is not None and ing.default_backend.service is not None:
            scope = {(r.host, "") for r in ing.rules} or {("", "")}
            backends.setdefault(f"{ing.namespace}/{ing.default_backend.service}", set()).update(scope)
        for service, scope in sorted(backends.items()):
            message, instead = blue_green_message(service, groups, ann.get("blue-green-mode"), header, cookie)
            self.note(ing, "BLUE-GREEN", Level.ERROR, message, fidelity=Fidelity.UNSUPPORTED, instead=instead,
                      fld=self.fld(key), aspects=("weights", "backend") if header or cookie else ("weights",),
                      scope=tuple(sorted(scope)))

    def redirects_https(self, ingress: Ingress, host: str, has_tls: bool) -> bool:
        return has_tls and self.policy(ingress).ssl_redirect is not False

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        self.policy(pc.ingress)
        ann = self._ann[pc.ingress.ref]
        value = pc.path.path or "/"
        kind = path_kind(pc.path, ann.get("path-type") if "path-type" in ann else None)
        headers = tuple(HeaderMatch(n, v) for n, v in ann.get("http-header-match") or ())
        headers += tuple(HeaderMatch(n, v, "RegularExpression") for n, v in ann.get("http-header-match-regex") or ())
        if kind == "exact":
            return [RouteMatch(path=PathMatch("Exact", value), headers=headers)]
        if kind == "regex":
            pattern = value if value.startswith("^") else "^" + value
            self.note(pc, "PATH-REGEX", Level.INFO,
                      f"haproxy-ingress matches regex path {value} as a POSIX extended regular expression anchored at "
                      "the start only; Gateway RegularExpression matching is implementation-specific (often a "
                      "full match)", fidelity=Fidelity.APPROXIMATE, instead=f"RegularExpression {pattern}.*",
                      fld=pc.path.field + ".path", aspects=_ASPECTS)
            return [RouteMatch(path=PathMatch("RegularExpression", pattern + ".*"), headers=headers)]
        if kind == "begin" and value != "/":
            self.note(pc, "PATH-BEGIN", Level.INFO,
                      f"haproxy-ingress matches path {value} with path-type begin: a case-insensitive character "
                      f"prefix (it also takes {value.upper()} and {value.rstrip('/')}x); Gateway PathPrefix is "
                      "case-sensitive and matches whole segments",
                      fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {value}", fld=pc.path.field + ".pathType",
                      aspects=_ASPECTS, scope=((pc.host, f"~(?i)^{re.escape(value)}"),))
        return [RouteMatch(path=PathMatch("PathPrefix", value), headers=headers)]


def _policy(ing: Ingress, config: Mapping[str, str]) -> HaproxyPolicy:
    return policy_of(ing, read_annotations(TABLE, ing, Notes(), PREFIXES), config)


def _match(ing: Ingress, path: IngressPath, pol: HaproxyPolicy) -> str | None:
    ann = read_annotations(TABLE, ing, Notes(), PREFIXES)
    return path_kind(path, ann.get("path-type") if "path-type" in ann else None)


def _tls(resources: ResourceSet) -> Callable[[Ingress, str], bool]:
    hosts = {h.lower() for ing in resources.ingresses for t in ing.tls for h in t.hosts}

    def tls(ing: Ingress, host: str) -> bool:
        return host in hosts
    return tls


def _lookup(entries: Sequence[Entry], config: Mapping[str, str]) -> Lookup:
    return IngressLookup(entries, config)


FLAVOUR = Flavour(NAME, "HAPROXY-INGRESS", _policy, _match, _tls, _lookup, render, "begin")


class HaproxyIngressProvider(HaproxyProvider):
    name = NAME
    controllers = ("haproxy-ingress.github.io/controller",)
    annotation_prefixes = PREFIXES
    annotations = TABLE
    description = ("jcmoraisjr/haproxy-ingress (HAProxy Ingress): annotations haproxy-ingress.github.io/* or "
                   "ingress.kubernetes.io/*")
    data_plane = HaproxyDataPlane(FLAVOUR)
    translator = IngressTranslator


PROVIDER = HaproxyIngressProvider()
