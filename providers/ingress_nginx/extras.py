"""ingress-nginx features that stand alone: snippet annotations (and what the controller
does with Ingresses that carry them), ``mirror-target`` and SSL passthrough.

Snippets are raw nginx configuration. With the controller's default settings
(``annotations-risk-level: High``) an Ingress carrying one is refused as a whole, so it
serves nothing today; the conversion leaves it out too and says so. Where the controller
allows them, the snippet itself cannot be converted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ing2gw.emit.standard import cluster_service
from ing2gw.ir import BackendRef, Filter, GatewayRef, Passthrough, Provenance, RequestMirror
from ing2gw.names import host_slug
from ing2gw.notes import ASPECTS, Fidelity, Level
from ing2gw.resources import Ingress

from . import validation
from .annotations import SNIPPET_KEYS
from .model.settings import blocked_word, failed_config_test

if TYPE_CHECKING:
    from .context import ExtrasContext

__all__ = ["mirror_filter", "note_denied", "passthrough", "refused_for_invalid", "refused_for_snippets"]


def note_denied(tr: ExtrasContext, ing: Ingress) -> None:
    """Note an Ingress whose locations the controller turns into ``return 503`` for an
    annotation value it cannot use (:mod:`.validation`)."""
    prefix = tr.prefix + "/"
    short = {k[len(prefix):]: v for k, v in ing.annotations.items() if k.startswith(prefix)}
    denied = validation.verdict(short).denied
    if denied is not None:
        tr.note(ing, "LOCATIONS-DENIED", Level.WARNING,
                f"ingress-nginx answers every path of this Ingress with 503 ({denied}); the Gateway routes them",
                fidelity=Fidelity.APPROXIMATE,
                instead="converted as if the annotation were valid (fix the value before migrating)",
                aspects=("status", "backend", "auth"))


def refused_for_snippets(tr: ExtrasContext, ing: Ingress) -> bool:
    """Note what the controller does with the Ingress's snippets; True when it refuses it."""
    ann = tr.annotations(ing)
    present = sorted(k for k in SNIPPET_KEYS if k in ann)
    if not present:
        return False
    config = tr.settings
    if config.annotations_risk_level.lower() != "critical":
        tr.note_ann(ing, present[0], "SNIPPET-INGRESS-REFUSED", Level.WARNING,
                    f"{', '.join(present)} is a Critical-risk annotation; with annotations-risk-level "
                    f"{config.annotations_risk_level} (the default is High) ingress-nginx refuses the whole "
                    "Ingress, so it serves nothing today",
                    fidelity=Fidelity.UNSUPPORTED,
                    instead="Ingress not converted (pass the controller's ConfigMap with --controller-config "
                    "if it allows snippets)",
                    aspects=ASPECTS)
        return True
    for key in present:
        if config.allow_snippet_annotations:
            tr.note_ann(ing, key, "SNIPPET", Level.WARNING,
                        "raw nginx configuration has no Gateway API form", fidelity=Fidelity.UNSUPPORTED,
                        instead="not converted; re-create its effect with filters or an implementation policy",
                        aspects=ASPECTS)
        else:
            tr.note_ann(ing, key, "SNIPPET-IGNORED", Level.INFO,
                        "allow-snippet-annotations is false, so ingress-nginx drops the snippet text and "
                        "serves the Ingress without it", instead="nothing to convert")
    return False


def refused_for_invalid(tr: ExtrasContext, ing: Ingress) -> bool:
    """True when the controller refuses the Ingress for an annotation value its parser rejects
    (:mod:`.validation`): it serves nothing today, so nothing is converted."""
    prefix = tr.prefix + "/"
    short = {k[len(prefix):]: v for k, v in ing.annotations.items() if k.startswith(prefix)}
    blocked = blocked_word(short, tr.settings)
    if blocked is not None:
        tr.note(ing, "INGRESS-REFUSED-INVALID", Level.WARNING, f"ingress-nginx refuses the whole Ingress: {blocked}",
                fidelity=Fidelity.UNSUPPORTED, instead="Ingress not converted",
                aspects=("status", "backend", "weights", "redirect", "path", "host", "headers", "cors", "auth"))
        return True
    verdict = validation.verdict(short)
    key = verdict.dropped
    if key is None:
        failed = failed_config_test(short, tr.prefix, verdict.ignored)
        if failed is not None:
            tr.note(ing, "INGRESS-REFUSED-INVALID", Level.WARNING, f"ingress-nginx refuses the whole Ingress: {failed}",
                    fidelity=Fidelity.UNSUPPORTED, instead="Ingress not converted", aspects=ASPECTS)
        return failed is not None
    tr.note_ann(ing, key, "INGRESS-REFUSED-INVALID", Level.WARNING,
                f"ingress-nginx refuses the whole Ingress: {validation.raw(short, key)!r} fails the controller's "
                "check for this annotation, so it serves nothing today",
                fidelity=Fidelity.UNSUPPORTED, instead="Ingress not converted",
                aspects=ASPECTS)
    return True


def mirror_filter(tr: ExtrasContext, ing: Ingress, prov: Provenance) -> Filter | None:
    """``mirror-target`` naming an in-cluster Service -> RequestMirror; otherwise a note."""
    ann = tr.annotations(ing)
    target = ann.get("mirror-target")
    if target is None:
        return None
    text = str(target).removesuffix("$request_uri")  # "mirror the request as received": RequestMirror's way
    url = urlsplit(text)
    service = cluster_service(url.hostname or "")
    if "$" in text or service is None or url.scheme != "http":
        tr.note_ann(ing, "mirror-target", "MIRROR-EXTERNAL", Level.WARNING,
                    f"mirror target {target} is not an in-cluster Service URL (or uses nginx variables); "
                    "RequestMirror can only copy requests to a Service",
                    fidelity=Fidelity.EXTENSION, instead="not mirrored")
        return None
    port = url.port or 80
    svc, ns = service[0], service[1] or ing.namespace
    if url.path not in ("", "/") or url.query:
        tr.note_ann(ing, "mirror-target", "MIRROR-PATH", Level.INFO,
                    f"the mirror target's path {url.path!r} is not kept: RequestMirror sends the original request",
                    fidelity=Fidelity.APPROXIMATE, instead=f"mirrored to Service {ns}/{svc}:{port}")
    if ann.get("mirror-host"):
        tr.note_ann(ing, "mirror-host", "MIRROR-HOST", Level.INFO,
                    "the mirror's Host header cannot be set", fidelity=Fidelity.APPROXIMATE,
                    instead="the mirror receives the original Host")
    return Filter("RequestMirror", RequestMirror(BackendRef(svc, ns, port)), prov)


def passthrough(tr: ExtrasContext, ingresses: Sequence[Ingress]) -> list[Passthrough]:
    """``ssl-passthrough``: for each host where any Ingress sets it, TLS goes unterminated to
    the backend of the host's ``/`` path (ingress-nginx ignores the other paths on 443)."""
    hosts: dict[tuple[GatewayRef, str], Ingress] = {}
    for ing in ingresses:
        if tr.annotations(ing).get("ssl-passthrough"):
            for rule in ing.rules:
                if rule.host:
                    hosts.setdefault((tr.ctx.gateway_for(ing), rule.host), ing)
    out: list[Passthrough] = []
    for (gw, host), marker in sorted(hosts.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        root = next(((ing, p) for ing in ingresses for rule in ing.rules if rule.host == host
                     and tr.ctx.gateway_for(ing) == gw for p in rule.paths
                     if (p.path or "/") == "/" and p.path_type != "Exact"), None)
        if root is None:
            tr.note_ann(marker, "ssl-passthrough", "SSL-PASSTHROUGH-NO-ROOT", Level.WARNING,
                        f"host {host} has no / path, whose backend ingress-nginx would pass TLS to",
                        fidelity=Fidelity.UNSUPPORTED, instead="no passthrough for this host",
                        aspects=("status", "backend", "redirect"))
            continue
        ing, path = root
        backend = tr.resolve_backend(ing, path.backend, path.field + ".backend")
        if backend is None:
            continue
        tr.note_ann(marker, "ssl-passthrough", "SSL-PASSTHROUGH", Level.INFO,
                    f"TLS for {host} is passed to {backend.namespace}/{backend.name}:{backend.port} by SNI; "
                    "ingress-nginx does so only when started with --enable-ssl-passthrough, and sends the "
                    "host's other paths nowhere on 443; plain HTTP on port 80 is served by the host's routes "
                    "without an HTTPS redirect",
                    fidelity=Fidelity.APPROXIMATE,
                    instead="a TLS listener in Passthrough mode and a TLSRoute (no HTTPS listener for the host)",
                    aspects=("status", "backend", "redirect"))
        prov = Provenance("Ingress", ing.namespace, ing.name, path.field, ing.origin)
        out.append(Passthrough(gw, host, ing.namespace, f"{ing.name}-{host_slug(host)}", backend, prov))
    return out
