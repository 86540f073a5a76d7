"""Glue shared by commands: turning parsed options into library inputs, printing notes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from ..convert import ConvertOptions
from ..emit.gateway import EmitOptions
from ..errors import InputError, UsageError
from ..notes import Level, Note
from ..provider import ConversionOptions
from ..resources import LabelSelector, ResourceSet, build_resource_set
from ..sources import read_paths

__all__ = ["load_resources", "make_convert_options", "print_notes"]

_COLORS = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "cyan"}


def load_resources(
    filenames: Sequence[str], recursive: bool, namespace: str | None, all_namespaces: bool, selector: str | None
) -> ResourceSet:
    if not filenames:
        raise UsageError("no input: pass -f FILE, -f FOLDER or -f - (stdin)")
    if namespace and all_namespaces:
        raise UsageError("-n/--namespace and -A/--all-namespaces cannot be used together")
    sel = LabelSelector.parse(selector) if selector else None
    docs = read_paths(filenames, recursive=recursive)
    return build_resource_set(docs, namespace=namespace, selector=sel)


def _controller_config(path: str | None, rs: ResourceSet) -> dict[str, str]:
    if path is None:
        return {}
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
            controller_config=_controller_config(params.get("controller_config"), rs),
        ),
        emit=EmitOptions(
            topology=params.get("topology") or "shared",
            gateway_namespace=params.get("gateway_namespace") or "gateway-system",
            gateway_controller=params.get("gateway_controller"),
            listener_sets=bool(params.get("listener_sets")),
        ),
    )


def print_notes(notes: Iterable[Note], color: bool | None = None) -> None:
    use_color = sys.stderr.isatty() if color is None else color
    for n in notes:
        line = n.line()
        click.echo(click.style(line, fg=_COLORS.get(n.level)) if use_color else line, err=True)
