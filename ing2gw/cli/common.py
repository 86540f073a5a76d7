"""Glue shared by commands: turning parsed options into library inputs, printing notes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

import click

from ..convert import ConvertOptions, ConvertResult, unprotected
from ..emit.gateway import EmitOptions
from ..errors import ClusterError, InputError, UsageError
from ..gateways import Existing, from_documents, parse_refs
from ..notes import Level, Note, lost_protection
from ..provider import ConversionOptions
from ..resources import APIKind, LabelSelector, ResourceSet, build_resource_set
from ..sources import read_paths

if TYPE_CHECKING:
    from ..kube import Cluster
    from ..plugins import Registry

__all__ = ["load_resources", "make_convert_options", "print_notes", "wants_color"]

_COLORS = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "cyan"}


def load_resources(
    filenames: Sequence[str], recursive: bool, namespace: str | None, all_namespaces: bool, selector: str | None,
    *, kubeconfig: str | None = None, context: str | None = None, cluster: Cluster | None = None,
    kinds: Sequence[APIKind] = (),
) -> ResourceSet:
    """Read Ingresses and what goes with them from ``-f`` inputs, or from the cluster.

    ``kinds`` are the API kinds the installed providers claim (``Registry.claims()``): their
    objects are kept too, and listed from the cluster.
    Without ``-f`` the current kubeconfig context is read (``--kubeconfig``/``--context``,
    taken from the running click command when not passed), or ``cluster`` when given.
    Files default to every namespace; the cluster to the context's namespace unless ``-A``.
    """
    if namespace and all_namespaces:
        raise UsageError("-n/--namespace and -A/--all-namespaces cannot be used together")
    sel = LabelSelector.parse(selector) if selector else None
    params = click.get_current_context(silent=True)
    given = params.params if params is not None else {}
    if filenames:
        skipped: list[Note] | None = [] if given.get("skip_non_kubernetes") else None
        docs = read_paths(filenames, recursive=recursive, skipped=skipped)
        rs = build_resource_set(docs, namespace=namespace, selector=sel, kinds=kinds)
        missing = missing_services(rs)
        if missing and given.get("lookup_services"):
            from .. import kube

            read = kube.read_services(kube.connect(kubeconfig or given.get("kubeconfig"),
                                                   context or given.get("context")), missing)
            rs = build_resource_set([*docs, *read.documents], namespace=namespace, selector=sel, kinds=kinds)
            rs.notes.extend(read.notes)
        rs.notes.extend(skipped or ())
        return rs

    from .. import kube

    if cluster is None:
        cluster = kube.connect(kubeconfig or given.get("kubeconfig"), context or given.get("context"))
    scope = None if all_namespaces else (namespace or cluster.namespace)
    shown: dict[str, int] = {}

    def progress(plural: str, count: int) -> None:
        shown[plural] = count
        text = ", ".join(f"{n} {p}" for p, n in shown.items())
        click.echo(f"\rreading {cluster.label}: {text}", nl=False, err=True)

    tty = sys.stderr.isatty()
    read = kube.read_documents(cluster, scope, selector, progress=progress if tty else None, kinds=kinds)
    if tty and shown:
        click.echo("", err=True)
    rs = build_resource_set(read.documents, namespace=scope, selector=sel, default_namespace=cluster.namespace,
                            kinds=kinds)
    rs.notes.extend(read.notes)
    return rs


def convert_params(params: dict[str, Any], registry: Registry) -> tuple[ResourceSet, ConvertOptions, ConvertResult]:
    """Read the input a command's options name and convert it with ``registry``'s providers
    (convert, plan)."""
    from ..convert import convert

    rs = load_resources(params["filenames"] + params["files"], params["recursive"], params["namespace"],
                        params["all_namespaces"], params["selector"],
                        kubeconfig=params.get("kubeconfig"), context=params.get("context"),
                        kinds=list(registry.claims()))
    options = make_convert_options(params, rs)
    return rs, options, convert(rs, options, registry)


def missing_services(rs: ResourceSet) -> list[tuple[str, str]]:
    """``(namespace, name)`` of the Services whose named ports Ingress backends use and the
    input does not hold."""
    out: set[tuple[str, str]] = set()
    for ing in rs.ingresses:
        backends = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            backends.append(ing.default_backend)
        for b in backends:
            if b.service and b.port_name and (ing.namespace, b.service) not in rs.services:
                out.add((ing.namespace, b.service))
    return sorted(out)


def existing_gateways(params: dict[str, Any]) -> Existing | None:
    """The existing Gateways routes attach to: ``--gateway-file`` files (``--gateway``
    choosing among them), else the ``--gateway`` ones read from the cluster; None without
    either option."""
    refs = parse_refs(params.get("gateways") or ())
    files = tuple(params.get("gateway_files") or ())
    if files:
        return from_documents(read_paths(files), refs, ", ".join(files))
    if not refs:
        return None
    from .. import kube

    try:
        cluster = kube.connect(params.get("kubeconfig"), params.get("context"))
        read = kube.read_gateways(cluster, refs)
    except ClusterError as exc:
        raise ClusterError(f"--gateway {', '.join(f'{a}/{b}' for a, b in refs)}: cannot read it from the cluster: "
                           f"{exc} (or pass --gateway-file FILE)") from None
    existing = from_documents(read.documents, refs, cluster.label)
    return replace(existing, notes=tuple(read.notes))


def read_controller_config(path: str) -> dict[str, str]:
    """The data of the first ConfigMap in ``path`` (``--controller-config``)."""
    from ..yamlio import parse_documents, read_text

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    for doc in parse_documents(read_text(data, path), path):
        if doc.obj.get("kind") == "ConfigMap":
            raw = doc.obj.get("data") or {}
            if not isinstance(raw, dict):
                raise InputError(f"{doc.origin}: ConfigMap data must be a mapping")
            return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    raise InputError(f"{path}:1: no ConfigMap in --controller-config file")


def make_convert_options(params: dict[str, Any], rs: ResourceSet) -> ConvertOptions:
    return ConvertOptions(
        provider=params.get("provider"),
        ingress_class=params.get("ingress_class"),
        conversion=ConversionOptions(
            gateway_class=params.get("gateway_class"),
            annotation_prefix=params.get("annotations_prefix"),
            experimental=bool(params.get("experimental")),
            controller_config=read_controller_config(params["controller_config"])
            if params.get("controller_config") else {},
        ),
        emit=EmitOptions(
            topology=params.get("topology") or "shared",
            gateway_namespace=params.get("gateway_namespace") or "gateway-system",
            gateway_controller=params.get("gateway_controller"),
            listener_sets=bool(params.get("listener_sets")),
            experimental=bool(params.get("experimental")),
            existing=existing_gateways(params),
        ),
        emitter=params.get("emitter") or "standard",
        allow_unprotected=bool(params.get("allow_unprotected")),
    )


def wants_color(stream: TextIO, color: bool | None) -> bool:
    """``--color``/``--no-color`` when given; else colour only on a terminal, and never when
    ``NO_COLOR`` is set to anything non-empty (https://no-color.org)."""
    if color is not None:
        return color
    return stream.isatty() and not os.environ.get("NO_COLOR")


def fails_unprotected(notes: Iterable[Note], allowed: bool, shown: bool, color: bool | None = None) -> bool:
    """Does a lost protection fail the run? When it does and the notes were not printed
    (``-q``, or a command that does not print them), the notes that say why are printed:
    an exit 1 always comes with its reason."""
    notes = list(notes)
    if not unprotected(notes, allowed):
        return False
    if not shown:
        print_notes([n for n in notes if lost_protection(n) or n.code == "UNPROTECTED"], color)
    return True


def print_notes(notes: Iterable[Note], color: bool | None = None) -> None:
    use_color = wants_color(sys.stderr, color)
    for n in notes:
        line = n.line()
        click.echo(click.style(line, fg=_COLORS.get(n.level)) if use_color else line, err=True)
