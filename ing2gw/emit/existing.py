"""Attaching routes to Gateways that already exist (``--gateway``, ``--gateway-file``).

No Gateway is emitted. Each listener the routes need (the ``http`` listener, one HTTPS
listener per certificate, TLS passthrough and explicit listeners, as :mod:`.listeners`
derives them) is looked for on every existing Gateway, among its own listeners and those of
the ListenerSets attached to it: same port and protocol, a hostname that covers the needed
one (none, the same, or a wildcard over it). Routes attach to the listener found, by its
section name. What is checked, with a note each:

* ``allowedRoutes`` of every listener used: namespaces (``Same``, ``All``, ``Selector`` on
  the Namespace labels of the input, or only ``kubernetes.io/metadata.name`` when they are
  absent) and kinds, against the namespaces and kinds of the routes that attach;
* certificates: an existing listener that presents another Secret than the Ingress named
  (info), and one referring to a Secret in another namespace that no ReferenceGrant of the
  input allows (error: the listener will not resolve its certificate);
* listeners the Gateway lacks: emitted as a ListenerSet when the Gateway's
  ``allowedListeners`` admits one (in the Gateway's namespace if it may, else in the first
  route namespace it admits); otherwise an error note lists the exact listeners to add as the
  required change, and routes already name them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..gateways import Existing, ExistingGateway, ExistingListener
from ..ir import Listener
from ..notes import Level, Note, Notes
from ..router.listeners import _label_selector_matches as selector_matches
from .limits import MAX_LISTENERS

__all__ = ["Need", "Placement", "attach_existing"]

# What a route the Gateway does not take changes for requests (verify): they get no answer or 404.
_REFUSED = frozenset({"status", "backend", "redirect", "tls", "headers"})
# The route kinds a listener admits when allowedRoutes.kinds is empty.
_DEFAULT_KINDS = {"HTTP": ("GRPCRoute", "HTTPRoute"), "HTTPS": ("GRPCRoute", "HTTPRoute"), "TLS": ("TLSRoute",),
                  "TCP": ("TCPRoute",), "UDP": ("UDPRoute",)}


@dataclass(slots=True)
class Need:
    """A listener the routes need: its node, key, section name, and who attaches."""

    node: Listener
    key: str
    section: str
    namespaces: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    sources: frozenset[str] = frozenset()
    hosts: dict[str, set[str]] = field(default_factory=dict)  # route namespace -> its hostnames here

    def scope(self, namespaces: Iterable[str]) -> tuple[tuple[str, str], ...]:
        """The note scope of the routes of ``namespaces`` attaching here (for verify)."""
        return tuple(sorted({(h, "") for ns in namespaces for h in self.hosts.get(ns, ()) or {"*"}}))


@dataclass(slots=True)
class Placement:
    """Where a need landed: the owner's kind, namespace and name, the section, and whether the
    owner is emitted (a new ListenerSet) or exists already."""

    gateway: ExistingGateway
    kind: str
    namespace: str
    name: str
    section: str
    emitted: bool
    need: Need
    present: bool = False  # the listener exists already (else: emitted, or a required change)


def _covers(have: str, want: str) -> bool:
    """Does a listener hostname ``have`` ("" = any) admit every request ``want`` admits?"""
    if not have or have == want:
        return True
    if not want or not have.startswith("*."):
        return False
    return want.endswith(have[1:]) and len(want) > len(have) - 1


def _fits(lst: ExistingListener, node: Listener) -> bool:
    if lst.port != node.port or lst.protocol != node.protocol or not _covers(lst.hostname, node.hostname):
        return False
    return node.protocol != "TLS" or (lst.tls_mode or "Terminate") == (node.tls_mode or "Terminate")


def _most_specific(found: Sequence[ExistingListener]) -> ExistingListener:
    return max(found, key=lambda x: (len(x.hostname), x.owner_kind == "Gateway", x.name))


def _labels(existing: Existing, namespace: str) -> Mapping[str, str]:
    return existing.namespaces.get(namespace) or {"kubernetes.io/metadata.name": namespace}


def _selects(existing: Existing, selector: Mapping[str, Any], namespace: str) -> bool | None:
    """Does a label selector select ``namespace``? None when its labels are unknown."""
    known = namespace in existing.namespaces
    keys = set((selector.get("matchLabels") or {}).keys()) | {
        str(e.get("key")) for e in selector.get("matchExpressions") or [] if isinstance(e, Mapping)}
    if not known and keys - {"kubernetes.io/metadata.name"}:
        return None
    return selector_matches(selector, _labels(existing, namespace))


def _admits(existing: Existing, lst: ExistingListener, namespace: str) -> bool | None:
    if lst.allowed_from == "All":
        return True
    if lst.allowed_from == "Same":
        return namespace == lst.owner_namespace
    if lst.allowed_from == "Selector":
        return _selects(existing, lst.selector, namespace)
    return False


def _set_namespace(existing: Existing, gw: ExistingGateway, candidates: Sequence[str]) -> str | None:
    """The namespace a new ListenerSet may live in: the Gateway's, else a route namespace."""
    if gw.listeners_from in ("Same", "All"):
        return gw.namespace
    if gw.listeners_from == "Selector":
        for ns in [gw.namespace, *candidates]:
            if _selects(existing, gw.listeners_selector, ns):
                return ns
    return None


def _selector_text(selector: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    parts += [f"{e.get('key')} {e.get('operator')} ({', '.join(map(str, e.get('values') or []))})"
              for e in selector.get("matchExpressions") or [] if isinstance(e, Mapping)]
    return "{" + ", ".join(parts) + "}"


def _describe(node: Listener) -> str:
    text = f"{node.protocol} port {node.port} hostname {node.hostname or '*'}"
    if node.certificates:
        text += " certificate " + ", ".join(f"Secret {c.namespace}/{c.name}" for c in node.certificates)
    if node.tls_mode == "Passthrough":
        text += " mode Passthrough"
    return text


class _Attacher:
    def __init__(self, existing: Existing, notes: Notes):
        self.existing = existing
        self.notes = notes

    def check_listener(self, gw: ExistingGateway, lst: ExistingListener, need: Need) -> None:
        owner = f"{lst.owner_kind} {lst.owner_namespace}/{lst.owner_name}"
        kinds = lst.kinds or _DEFAULT_KINDS.get(lst.protocol, ())
        for kind in sorted(need.kinds - set(kinds)):
            self.notes.add(Note("EMIT-EXISTING-KIND-NOT-ALLOWED", Level.ERROR,
                                f"listener {lst.name} does not admit {kind}s (allowedRoutes.kinds: "
                                f"{', '.join(kinds) or 'none'}), which the converted routes need",
                                subject=owner, instead=f"required change: add {kind} to allowedRoutes.kinds"))
        for ns in sorted(need.namespaces):
            ok = _admits(self.existing, lst, ns)
            if ok:
                continue
            rule = lst.allowed_from + (f" {_selector_text(lst.selector)}" if lst.allowed_from == "Selector" else "")
            if ok is None:
                self.notes.add(Note("EMIT-EXISTING-NAMESPACE-UNKNOWN", Level.WARNING,
                                    f"cannot tell whether listener {lst.name} admits routes from namespace {ns}: its "
                                    f"allowedRoutes selector reads labels of Namespace {ns}, which is not in the input",
                                    subject=owner, instead="assumed admitted; add the Namespace to --gateway-file "
                                                           "to check"))
                continue
            self.notes.add(Note("EMIT-EXISTING-ROUTES-NOT-ALLOWED", Level.ERROR,
                                f"listener {lst.name} does not admit routes from namespace {ns} "
                                f"(allowedRoutes.namespaces.from: {rule})",
                                subject=owner,
                                instead="routes attached anyway; required change: admit the namespace in "
                                        "allowedRoutes (from: All, or a Selector matching it)",
                                aspects=_REFUSED, scope=need.scope([ns])))
        wanted = {(c.namespace, c.name) for c in need.node.certificates}
        have = {(c.namespace, c.name) for c in lst.certificates}
        if wanted and have and wanted != have:
            self.notes.add(Note("EMIT-EXISTING-CERTIFICATE", Level.INFO,
                                f"listener {lst.name} ({lst.hostname or '*'}) serves {need.node.hostname or '*'} with "
                                f"{', '.join(f'Secret {a}/{b}' for a, b in sorted(have))}, where the Ingress named "
                                f"{', '.join(f'Secret {a}/{b}' for a, b in sorted(wanted))}",
                                subject=owner, instead="the Gateway's certificate is used"))
        for ref in lst.certificates:
            if ref.namespace != lst.owner_namespace and not self.existing.granted(lst.owner_kind, lst.owner_namespace,
                                                                                  ref):
                self.notes.add(Note("EMIT-EXISTING-GRANT-MISSING", Level.ERROR,
                                    f"listener {lst.name} refers to {ref.kind} {ref.namespace}/{ref.name} in another "
                                    f"namespace and no ReferenceGrant in {self.existing.source} allows it",
                                    subject=owner, instead=f"required change: a ReferenceGrant in {ref.namespace} "
                                                           f"from {lst.owner_kind}s of {lst.owner_namespace}"))

    def attach(self, gw: ExistingGateway, needs: Sequence[Need]) -> list[Placement]:
        out: list[Placement] = []
        missing: list[Need] = []
        for need in needs:
            found = [x for x in gw.listeners if _fits(x, need.node)]
            if not found:
                missing.append(need)
                continue
            lst = _most_specific(found)
            self.check_listener(gw, lst, need)
            out.append(Placement(gw, lst.owner_kind, lst.owner_namespace, lst.owner_name, lst.name, False, need, True))
        subject = f"Gateway {gw.namespace}/{gw.name}"
        self.notes.add(Note("EMIT-EXISTING-GATEWAY", Level.INFO,
                            f"routes attach to the existing Gateway (class {gw.gateway_class or '?'}): "
                            f"{len(needs) - len(missing)} of the {len(needs)} listeners they need are there",
                            subject=subject, instead="no Gateway emitted"))
        if not missing:
            return out
        namespaces = sorted({ns for m in missing for ns in m.namespaces})
        set_ns = _set_namespace(self.existing, gw, namespaces)
        if set_ns is None:
            lines = "; ".join(f"{m.section}: {_describe(m.node)}" for m in missing)
            self.notes.add(Note("EMIT-EXISTING-LISTENERS-REQUIRED", Level.ERROR,
                                f"the Gateway lacks {len(missing)} listener(s) the routes need and admits no "
                                f"ListenerSet (spec.allowedListeners.namespaces.from: {gw.listeners_from}); "
                                f"required change: add {lines}",
                                subject=subject,
                                instead="routes name these listeners; they are not Accepted until the listeners exist "
                                        "(or allowedListeners admits a ListenerSet: convert again)",
                                aspects=_REFUSED, scope=tuple(sorted({x for m in missing
                                                                      for x in m.scope(m.namespaces)}))))
            return out + [Placement(gw, "Gateway", gw.namespace, gw.name, m.section, False, m) for m in missing]
        chunks = [missing[i:i + MAX_LISTENERS] for i in range(0, len(missing), MAX_LISTENERS)]
        for i, chunk in enumerate(chunks):
            name = f"{gw.name}-ing2gw" + ("" if i == 0 else f"-{i + 1}")
            out += [Placement(gw, "ListenerSet", set_ns, name, m.section, True, m) for m in chunk]
        self.notes.add(Note("EMIT-EXISTING-LISTENERSET", Level.INFO,
                            f"the Gateway lacks {len(missing)} listener(s) the routes need "
                            f"({', '.join(m.section for m in missing[:5])}{' ...' if len(missing) > 5 else ''}); "
                            f"they are emitted as ListenerSet {set_ns}/{gw.name}-ing2gw"
                            f"{' (and more)' if len(chunks) > 1 else ''}, which the Gateway's allowedListeners admits",
                            subject=subject))
        return out


def attach_existing(existing: Existing, needs: Sequence[Need], notes: Notes) -> list[Placement]:
    """Every need placed on every existing Gateway (routes attach to each)."""
    attacher = _Attacher(existing, notes)
    out: list[Placement] = []
    for gw in existing.gateways:
        out += attacher.attach(gw, needs)
    return out
