"""APISIX Ingresses -> IR, on the shared Ingress translator, with the controller's path rules.

* ``Exact`` stays Exact; ``Prefix`` is ``PATH`` plus ``PATH/*`` in APISIX, which is PathPrefix --
  except that a ``Prefix`` path ending in ``/`` does not match itself without the slash (noted).
* ``ImplementationSpecific`` is an APISIX URI (:mod:`.paths`: exact, or ``*`` wildcards), or, under
  ``use-regex``, a PCRE searched anywhere in the path (RegularExpression ``.*(?:PATH).*``).
* The annotations become APISIX plugins (:func:`~.annotations.ingress_plugins`) merged over the
  ``plugin-config-name`` ApisixPluginConfig, then filters and intents (:mod:`.plugins`);
  ``http-to-https`` splits a host's route into a redirect on the HTTP listener and the backends
  on HTTPS; ``upstream-*`` become timeouts and retries; ``svc-namespace`` moves the backends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ing2gw.ir import BackendRef, PathMatch, Provenance, Route, RouteMatch, Rule, Section
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope
from ing2gw.provider import ProviderContext, ingress_scope
from ing2gw.resources import Ingress, IngressBackend

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import PLUGIN_KEYS, PREFIX, TABLE, ingress_plugins, upstream_settings
from .config import route_plugins
from .crds import Crds
from .exprs import gateway_regex
from .paths import gateway_paths
from .plugins import Converted, Site, convert
from .rules import finish_rule, redirect_rule

__all__ = ["ApisixTranslator"]


def _set_by(raw: Mapping[str, str], plugin: str) -> str:
    """The annotation that made the controller write ``plugin``."""
    key = PLUGIN_KEYS.get(plugin, "")
    alternatives = {"http-to-https": ("http-redirect",), "rewrite-target": ("rewrite-target-regex",),
                    "http-allow-methods": ("http-block-methods",),
                    "allowlist-source-range": ("blocklist-source-range",)}
    for k in (key, *alternatives.get(key, ())):
        if raw.get(f"{PREFIX}/{k}"):
            return f"{PREFIX}/{k}"
    return f"{PREFIX}/{key}"


class ApisixTranslator(IngressTranslator):
    """The APISIX Ingress controller's reading of Ingresses."""

    code = "APISIX"
    wildcard_any_depth = True

    def __init__(self, ctx: ProviderContext, objects: Sequence[KubeObject]) -> None:
        super().__init__(ctx)
        self.crds = Crds(objects)
        self.converted: dict[str, Converted] = {}
        self.use_regex: dict[str, bool] = {}

    def prepare(self, ingresses: Sequence[Ingress]) -> None:
        for ing in ingresses:
            a = TABLE.read(ing, self.notes)
            raw = ing.annotations
            self.use_regex[ing.ref] = a.get("use-regex") is True
            scope = ingress_scope(ing)
            pc_name = raw.get(f"{PREFIX}/plugin-config-name", "")
            if pc_name and self.crds.plugin_config(ing.namespace, pc_name) is None:
                self.note(ing, "PLUGIN-CONFIG-MISSING", Level.WARNING,
                          f"ApisixPluginConfig {ing.namespace}/{pc_name} is not in the input (the controller "
                          "then runs the annotation plugins only)", fidelity=Fidelity.UNSUPPORTED,
                          instead="its plugins are not converted (add it to the input)",
                          fld=f"{PREFIX}/plugin-config-name", aspects=("status", "auth", "headers"))
            plugins = route_plugins(self.crds, ing.namespace, pc_name, ingress_plugins(raw))
            own = ingress_plugins(raw)
            fields = {name: _set_by(raw, name) for name in own}
            fields.update({name: f"{PREFIX}/plugin-config-name" for name in plugins if name not in own})
            site = Site(ing.subject, ing.origin, "", scope,
                        Provenance("Ingress", ing.namespace, ing.name, "metadata.annotations", ing.origin), fields)
            conv = convert(plugins, site)
            for note in conv.notes:
                self.notes.add(note)
            if raw.get(f"{PREFIX}/enable-csrf") == "true" and not raw.get(f"{PREFIX}/csrf-key"):
                self.note(ing, "CSRF-NO-KEY", Level.WARNING, "enable-csrf without csrf-key: the controller "
                          "leaves the csrf plugin out", instead="nothing to convert", fld=f"{PREFIX}/csrf-key")
            self.converted[ing.ref] = conv
            up = upstream_settings(raw)
            if up.scheme in ("https", "grpcs"):
                self.note(ing, "UPSTREAM-TLS", Level.WARNING,
                          f"upstream-scheme {up.scheme}: APISIX speaks TLS to the endpoints without verifying them",
                          fidelity=Fidelity.UNSUPPORTED, instead="no BackendTLSPolicy (it needs a CA and a "
                          "hostname): the backend is reached over plain HTTP", fld=f"{PREFIX}/upstream-scheme",
                          aspects=("status",))
            elif up.scheme == "grpc":
                self.note(ing, "UPSTREAM-GRPC", Level.INFO, "upstream-scheme grpc: APISIX speaks HTTP/2 to the "
                          "endpoints", fidelity=Fidelity.APPROXIMATE,
                          instead="an HTTPRoute rule: set appProtocol kubernetes.io/h2c on the Service port",
                          fld=f"{PREFIX}/upstream-scheme", aspects=("status",))

    # --- matches -------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        path, kind = pc.path.path or "/", pc.path.path_type
        if kind == "Exact":
            return [RouteMatch(path=PathMatch("Exact", path))]
        if kind == "Prefix":
            base = path.rstrip("/") or "/"
            if path != base:
                self.note(pc, "PREFIX-TRAILING-SLASH", Level.INFO,
                          f"APISIX serves Prefix {path} as the URIs {path} and {path}*: {base} itself is not matched",
                          fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {base}, which also matches {base}",
                          fld=pc.path.field + ".path", aspects=("status", "backend"),
                          scope=((pc.host, "~^" + re.escape(base) + "$"),))
            return [RouteMatch(path=PathMatch("PathPrefix", base))]
        if self.use_regex.get(pc.ingress.ref):
            regex = gateway_regex("~~", path)
            self.note(pc, "PATH-REGEX", Level.INFO, f"use-regex: APISIX searches the PCRE {path} anywhere in the "
                      "path", fidelity=Fidelity.APPROXIMATE,
                      instead=f"RegularExpression {regex} (full match; the dialect is the implementation's)",
                      fld=pc.path.field + ".path", aspects=("status", "backend"))
            return [RouteMatch(path=PathMatch("RegularExpression", regex))]
        out = []
        for gp in gateway_paths((path,)):
            if gp.problem:
                self.note(pc, gp.code, Level.INFO, gp.problem, fidelity=Fidelity.APPROXIMATE,
                          instead=f"{gp.match.type} {gp.match.value}", fld=pc.path.field + ".path",
                          aspects=("status", "backend"), scope=((pc.host, gp.scope),))
            out.append(RouteMatch(path=gp.match))
        return out

    def resolve_backend(self, ingress: Ingress, backend: IngressBackend, fld: str) -> BackendRef | None:
        ns = ingress.annotations.get(f"{PREFIX}/svc-namespace")
        if not ns or ns == ingress.namespace:
            return super().resolve_backend(ingress, backend, fld)
        moved = Ingress(**{**{f: getattr(ingress, f) for f in ingress.__dataclass_fields__}, "namespace": ns})
        ref = super().resolve_backend(moved, backend, fld)
        return ref

    # --- rules ---------------------------------------------------------------------------

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        conv = self.converted[pc.ingress.ref]
        up = upstream_settings(pc.ingress.annotations)

        def note(code: str, level: Level, message: str, **kw: Any) -> None:
            self.note(pc, code, level, message, fld="metadata.annotations", **kw)

        return finish_rule(matches, backends, conv, pc.provenance, note, up.timeouts, up.retries)

    # --- routes --------------------------------------------------------------------------

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        conv = self.converted[hr.ingress.ref]
        if not conv.https_redirect:
            return super().host_routes(hr, has_tls)
        scope: Scope = ((hr.host, ""),)
        self.notes.add(Note(code="APISIX-HTTPS-REDIRECT-308", level=Level.INFO, subject=hr.ingress.subject,
                            field=f"{PREFIX}/http-to-https", origin=hr.ingress.origin,
                            message="APISIX redirects GET and HEAD with 301, other methods with 308",
                            fidelity=Fidelity.APPROXIMATE, instead="RequestRedirect 301 for every method",
                            aspects=frozenset({"status", "redirect"}), scope=scope))
        routes = [self.make_route(hr, frozenset({"https"}))] if has_tls else []
        prov = Provenance("Ingress", hr.ingress.namespace, hr.ingress.name, f"{PREFIX}/http-to-https",
                          hr.ingress.origin)
        base = self.make_route(hr, frozenset({"http"}))
        name = f"{hr.ingress.name}-{host_slug(hr.host)}-https-redirect" if hr.host else f"{hr.ingress.name}-redirect"
        sections: frozenset[Section] = frozenset({"http"})
        routes.append(Route(kind="HTTPRoute", namespace=base.namespace, name=name, gateway=base.gateway,
                            hostnames=base.hostnames, sections=sections,
                            rules=tuple(redirect_rule(r, prov) for r in hr.rules), sources=base.sources))
        return routes
