"""The hosts a conversion newly accepts: wildcard HTTPS listeners made from Secrets.

A Secret listed for several single-label subdomains of one domain becomes one ``*.D``
listener (:mod:`ing2gw.emit.certificates`). The Gateway then completes TLS with that
certificate for *every* subdomain of ``D``, where the source controller answered a host no
Ingress listed with its default certificate. ``verify`` shows this widened host set: for
each wildcard HTTPS listener whose hostname no Ingress TLS section lists, one sibling host
no Ingress names is sent through both sides, and the certificate each presents is compared
(the source's: the Secret the model says the controller presents for the host when it can tell
-- a route object's TLS, such as an ApisixTls, may list the wildcard itself -- else the Secret
of an Ingress TLS entry listing the host or its wildcard, else the controller's default; the
Gateway's: the certificateRefs of the most specific HTTPS listener matching the host). A
listener whose certificate the source presents for the host as well widens nothing. Such a
difference is in the ``tls`` aspect and is explained by the note whose scope is the listener's
wildcard (``EMIT-LISTENER-WILDCARD``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .explain import Explainer
from .http import Request
from .resources import Ingress
from .router.outcome import Outcome
from .verify import Difference, summarise

__all__ = ["PROBE_LABEL", "widened_differences", "widened_hosts", "widened_request", "widened_told"]

PROBE_LABEL = "ing2gw-unlisted"  # the sibling host probed: ing2gw-unlisted.<domain>
DEFAULT_CERTIFICATE = "the controller's default certificate (no Ingress lists this host)"


def _https_listeners(manifests: Iterable[Mapping[str, Any]], wildcards: bool = False) -> list[tuple[str, str]]:
    """``(hostname, certificate)`` of every HTTPS listener with a hostname (``wildcards``: a
    wildcard hostname)."""
    out: list[tuple[str, str]] = []
    for m in manifests:
        if m.get("kind") not in ("Gateway", "ListenerSet"):
            continue
        ns = (m.get("metadata") or {}).get("namespace", "")
        for lst in (m.get("spec") or {}).get("listeners") or []:
            if lst.get("protocol") != "HTTPS" or not lst.get("hostname") or (
                    wildcards and not str(lst["hostname"]).startswith("*.")):
                continue
            refs = ((lst.get("tls") or {}).get("certificateRefs")) or []
            cert = ", ".join(f"Secret {r.get('namespace') or ns}/{r.get('name')}" for r in refs)
            out.append((str(lst["hostname"]), f"{cert} (listener {lst['hostname']})"))
    return out


def _gateway_certificate(listeners: Sequence[tuple[str, str]], host: str) -> str | None:
    best: tuple[bool, int, str] | None = None  # an exact hostname first, then the longest wildcard
    for hostname, cert in listeners:
        exact = hostname == host
        wild = hostname.startswith("*.") and host.endswith(hostname[1:])
        if (exact or wild) and (best is None or (exact, len(hostname)) > best[:2]):
            best = (exact, len(hostname), cert)
    return best[2] if best else None


def _secrets(certificate: str) -> set[str]:
    """The ``Secret ns/name`` items of a listener's certificate description."""
    return set(re.findall(r"Secret [^\s,]+", certificate))


def _source_certificate(ingresses: Sequence[Ingress], host: str) -> str:
    parent = "*." + host.split(".", 1)[1] if "." in host else ""
    for wanted in (host, parent):
        for ing in ingresses:
            for tls in ing.tls:
                if wanted in tls.hosts:
                    return f"Secret {ing.namespace}/{tls.secret_name} (Ingress {ing.ref})"
    return DEFAULT_CERTIFICATE


def widened_hosts(manifests: Sequence[Mapping[str, Any]], ingresses: Sequence[Ingress]) -> list[str]:
    """The sibling hosts :func:`widened_differences` may send through both sides, in its order:
    what another process that holds the source side is asked about (:func:`widened_told`)."""
    return [host for _, host in _siblings(_https_listeners(manifests, wildcards=True), ingresses)]


def widened_differences(manifests: Sequence[Mapping[str, Any]], ingresses: Sequence[Ingress], explainer: Explainer,
                        source: Callable[[Request], Outcome], gateway: Callable[[Request], Outcome],
                        presented: Callable[[str], str | None] | None = None) -> list[Difference]:
    """One difference per wildcard HTTPS listener that accepts hosts no Ingress listed.
    ``presented``: the source model's own answer, when it has one, to which Secret (``ns/name``)
    the controller presents for an SNI (None: its default certificate)."""
    return _widened(manifests, ingresses, explainer, lambda request: summarise(source(request)), gateway, presented)


def widened_told(manifests: Sequence[Mapping[str, Any]], ingresses: Sequence[Ingress], explainer: Explainer,
                 told: Mapping[str, tuple[str | None, dict[str, Any]]], gateway: Callable[[Request], Outcome],
                 presents: bool) -> list[Difference]:
    """:func:`widened_differences` with the source side in another process: ``told`` gives,
    for each of :func:`widened_hosts`, the Secret the source model says it presents for the
    host (when it ``presents`` any: ``presented_certificate``) and the :func:`summarise` of its
    answer to the host's request (``https://HOST/``)."""
    return _widened(manifests, ingresses, explainer, lambda request: told[request.host][1], gateway,
                    (lambda host: told[host][0]) if presents else None)


def widened_request(host: str) -> Request:
    """The request a sibling host is probed with."""
    return Request.build(host=host, path="/", scheme="https")


def _siblings(listeners: Sequence[tuple[str, str]], ingresses: Sequence[Ingress]) -> list[tuple[str, str]]:
    """(wildcard listener hostname, its sibling host no Ingress names) for each wildcard HTTPS
    listener (``listeners``: :func:`_https_listeners` with ``wildcards``) whose hostname no
    Ingress TLS section lists."""
    wild = sorted(set(listeners))
    if not wild:  # (the usual case: no host set to collect)
        return []
    tls_hosts = {h for ing in ingresses for t in ing.tls for h in t.hosts}
    rule_hosts = {r.host for ing in ingresses for r in ing.rules}
    out = []
    for hostname, _ in wild:
        if hostname in tls_hosts:
            continue
        host = f"{PROBE_LABEL}.{hostname[2:]}"
        if host not in rule_hosts:
            out.append((hostname, host))
    return out


def _widened(manifests: Sequence[Mapping[str, Any]], ingresses: Sequence[Ingress], explainer: Explainer,
             source: Callable[[Request], dict[str, Any]], gateway: Callable[[Request], Outcome],
             presented: Callable[[str], str | None] | None) -> list[Difference]:
    """:func:`widened_differences`, ``source`` giving the summary of the source's answer."""
    siblings = _siblings(_https_listeners(manifests, wildcards=True), ingresses)
    if not siblings:
        return []
    listeners = _https_listeners(manifests)
    out: list[Difference] = []
    for hostname, host in siblings:
        ours = _gateway_certificate(listeners, host)
        theirs = _source_certificate(ingresses, host)
        if presented is not None:
            secret = presented(host)
            theirs = f"Secret {secret}" if secret else DEFAULT_CERTIFICATE
        if ours is None or ours == theirs or theirs in _secrets(ours):
            continue
        request = widened_request(host)
        a, b = source(request), gateway(request)
        served: list[tuple[frozenset[str], str, str | None]] = [(frozenset(), hostname, None)]
        found = explainer.explain(("tls",), request, served)
        # the notes about this very listener, when there are (not the controller's generic ones)
        notes = tuple(n for n in found if any(h == hostname for h, _ in n.scope)) or found
        owners = sorted({ing.ref for ing in ingresses for t in ing.tls for h in t.hosts
                         if h.endswith(hostname[1:]) and _gateway_certificate(listeners, h) == ours})
        out.append(Difference(
            request={"method": request.method, "url": f"https://{host}/", "headers": request.headers.as_dict()},
            source={**a, "certificate": theirs}, gateway={**summarise(b), "certificate": ours},
            aspects=("tls",), ingresses=tuple(owners), explained_by=notes,
            origin=f"generated: a subdomain of {hostname[2:]} no Ingress lists (the widened host set)"))
    return out
