"""Certificates, not hosts, make HTTPS listeners: which listener serves each TLS host.

ing2gw never reads Secrets, so what a Secret's certificate covers is decided from the Ingress
TLS sections that name it. A Secret is taken to be a wildcard certificate for ``*.D`` when

* some Ingress lists it for ``*.D`` itself, or
* it is listed for two or more hosts, every one a single-label child of the same domain
  ``D`` (``a.D``, ``b.D``; not ``D`` itself, not ``x.a.D``, not a host elsewhere).

Its hosts that are single-label children of ``D`` then share one HTTPS listener ``*.D``
instead of one listener each. When the wildcard was inferred (no Ingress listed ``*.D``),
the listener also accepts connections for subdomains of ``D`` no Ingress named: a warning
note (``EMIT-LISTENER-WILDCARD``, aspect ``tls``) says so, and ``verify`` probes such a
sibling host. Two Secrets that would both claim ``*.D`` make no wildcard listener (a
Gateway cannot have two listeners with one hostname); a host whose own Secret differs keeps
its own, more specific listener. Every other host keeps one listener per hostname.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..ir import Certificate
from ..notes import Fidelity, Level, Note

__all__ = ["CertListener", "certificate_listeners", "child_of", "wildcard_domain", "wildcard_note"]


@dataclass(frozen=True, slots=True)
class CertListener:
    """One HTTPS listener: its hostname, the certificate it presents, the certificate
    hostnames (TLS hosts) it serves, and whether its wildcard was inferred."""

    hostname: str
    certificate: Certificate  # the Secret (the first TLS host's entry, for its provenance)
    hosts: tuple[str, ...]
    sources: frozenset[str]  # the objects whose TLS sections name these hosts
    inferred: bool = False


def child_of(host: str) -> str | None:
    """``D`` when ``host`` is a single-label child ``x.D`` (``D`` with at least one dot is
    not required: ``a.local`` is a child of ``local``); None for wildcards and bare labels."""
    if host.startswith("*.") or "." not in host:
        return None
    return host.split(".", 1)[1]


def wildcard_domain(hosts: Iterable[str]) -> str | None:
    """``D`` when every one of ``hosts`` (two or more, distinct) is a single-label child of
    ``D``, else None."""
    distinct = set(hosts)
    if len(distinct) < 2:
        return None
    parents = {child_of(h) for h in distinct}
    if len(parents) != 1:
        return None
    (parent,) = parents
    return parent


def certificate_listeners(certs: Sequence[Certificate]) -> list[CertListener]:
    """The HTTPS listeners for one Gateway's certificates (one per hostname in ``certs``;
    the first entry of a hostname wins), sorted by listener hostname."""
    by_secret: dict[tuple[str, str], list[Certificate]] = {}
    for c in certs:
        by_secret.setdefault((c.secret_namespace, c.secret_name), []).append(c)
    # The wildcard each Secret would serve, and whether it was inferred.
    claims: dict[str, list[tuple[tuple[str, str], bool]]] = {}
    for key, entries in by_secret.items():
        hosts = [c.hostname for c in entries]
        listed = sorted(h[2:] for h in hosts if h.startswith("*."))
        for domain in listed:
            claims.setdefault(domain, []).append((key, False))
        guess = None if listed else wildcard_domain(hosts)
        if guess is not None:
            claims.setdefault(guess, []).append((key, True))
    # A listed wildcard belongs to the Secret listed for it (certs hold one entry per hostname),
    # an inferred one only to a Secret no other claims it with.
    owner: dict[tuple[str, str], dict[str, bool]] = {}
    for domain, claimants in claims.items():
        listed_by = [k for k, inferred in claimants if not inferred]
        if listed_by:
            owner.setdefault(listed_by[0], {})[domain] = False
        elif len(claimants) == 1:
            owner.setdefault(claimants[0][0], {})[domain] = True
    out: list[CertListener] = []
    for key, entries in by_secret.items():
        domains = owner.get(key, {})
        folded: dict[str, list[Certificate]] = {}
        for c in entries:
            parent = child_of(c.hostname)
            target = "*." + parent if parent is not None and parent in domains else c.hostname
            if c.hostname.startswith("*.") and c.hostname[2:] in domains:
                target = c.hostname
            folded.setdefault(target, []).append(c)
        for hostname, group in folded.items():
            inferred = hostname.startswith("*.") and domains.get(hostname[2:], False)
            out.append(CertListener(hostname, group[0], tuple(c.hostname for c in group),
                                    frozenset(c.source.subject for c in group), inferred))
    return sorted(out, key=lambda x: x.hostname)


def wildcard_note(cl: CertListener, gateway: str) -> Note:
    """The note on an inferred wildcard listener: which hosts it folds, and that it accepts
    other subdomains too (aspect ``tls``, scope its wildcard host, for ``verify``)."""
    c = cl.certificate
    hosts = sorted(cl.hosts)
    shown = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    domain = cl.hostname[2:]
    return Note(
        "EMIT-LISTENER-WILDCARD", Level.WARNING,
        f"Secret {c.secret_namespace}/{c.secret_name} serves {len(hosts)} hosts that are all single-label "
        f"subdomains of {domain} ({shown}), so it is taken for a wildcard certificate: one HTTPS listener "
        f"{cl.hostname} on Gateway {gateway} serves them all, and it also accepts TLS connections for other "
        f"subdomains of {domain}, which the Ingresses did not list (they get 404 from the Gateway with this "
        "certificate instead of the controller's default certificate)",
        subject=f"Secret {c.secret_namespace}/{c.secret_name}", fidelity=Fidelity.APPROXIMATE,
        instead=f"one listener {cl.hostname} instead of {len(hosts)}; if the Secret is not a wildcard "
                "certificate, give each host its own Secret",
        aspects=frozenset({"tls"}), scope=((cl.hostname, ""),))
