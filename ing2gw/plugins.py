"""Plugin discovery: the built-ins plus third-party entry points, checked and isolated.

Built-ins come from a static map (:mod:`ing2gw.providers` for providers); third-party
plugins from an entry-point group (``ing2gw.providers``; emitters use the same loader with
``ing2gw.emitters``, :mod:`ing2gw.emit.registry`). Every loaded object is checked against the
:class:`~ing2gw.provider.Provider` contract. A plugin that fails to load or is malformed is
recorded with its reason and reported as a warning; it becomes an error (exit 5) only when
the user asks for it. A third-party name that collides with a built-in is refused.

:meth:`Registry.claims` says which provider reads each claimed API kind: what files and the
cluster reader keep, and whose ``to_ir`` receives it. A kind claimed by two providers goes
to the first by name (built-ins first) and the other claim is reported.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from .dataplane import DataPlane, data_plane_of
from .errors import PluginError
from .kinds import CORE_KINDS, APIKind
from .notes import Level, Note
from .provider import SUPPORTED_API_VERSIONS, AnnotationTable, Provider, kinds_of

__all__ = ["ENTRY_POINT_GROUP", "PluginEntry", "Registry", "discover", "load_plugins", "lookup"]

ENTRY_POINT_GROUP = "ing2gw.providers"

_REQUIRED = ("name", "api_version", "controllers", "class_names", "annotations", "to_ir")


@dataclass(frozen=True, slots=True)
class PluginEntry:
    name: str
    plugin: Any  # the checked plugin object; None when it failed to load
    distribution: str
    version: str
    builtin: bool
    error: str | None = None
    data_plane: DataPlane | None = None  # what verify replays against (ing2gw.dataplane)

    @property
    def provider(self) -> Provider | None:
        return self.plugin  # type: ignore[no-any-return]


def _check(obj: Any, name: str) -> Provider:
    missing = [attr for attr in _REQUIRED if not hasattr(obj, attr)]
    if missing:
        raise TypeError(f"missing {', '.join(missing)}")
    if obj.api_version not in SUPPORTED_API_VERSIONS:
        speaks = " and ".join(str(v) for v in SUPPORTED_API_VERSIONS)
        raise TypeError(f"written for provider API {obj.api_version!r}, this ing2gw speaks {speaks}")
    if obj.api_version >= 2:
        kinds = getattr(obj, "kinds", None)
        if not isinstance(kinds, tuple) or not all(isinstance(k, APIKind) for k in kinds):
            raise TypeError("kinds is not a tuple of ing2gw.kinds.APIKind")
        for k in kinds:
            if k.group == "" and k.kind == "Secret":
                raise TypeError("it claims Secrets, which ing2gw never reads")
            if (k.group, k.kind) in CORE_KINDS:
                raise TypeError(f"it claims {k.kind}, which ing2gw reads for every provider (ctx.resources)")
    if not isinstance(obj.annotations, AnnotationTable):
        raise TypeError("annotations is not an ing2gw.provider.AnnotationTable")
    prefixes = getattr(obj, "annotation_prefixes", ())
    if not isinstance(prefixes, tuple) or not all(isinstance(p, str) and p.strip("/") for p in prefixes):
        raise TypeError("annotation_prefixes is not a tuple of non-empty strings")
    if not callable(obj.to_ir):
        raise TypeError("to_ir is not callable")
    if obj.name != name:
        raise TypeError(f"registered as {name!r} but calls itself {obj.name!r}")
    data_plane_of(obj)
    return obj  # type: ignore[no-any-return]


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class Registry:
    """The providers available in this installation."""

    def __init__(self, entries: Iterable[PluginEntry]) -> None:
        self.entries: dict[str, PluginEntry] = {}
        self.rejected: list[PluginEntry] = []  # third-party plugins refused (name collisions)
        for e in entries:
            if e.name in self.entries:
                self.rejected.append(e)
            else:
                self.entries[e.name] = e

    def names(self) -> list[str]:
        return sorted(self.entries)

    def providers(self) -> list[Provider]:
        return [e.provider for _, e in sorted(self.entries.items()) if e.provider is not None]

    def get(self, name: str) -> Provider:
        return lookup(self.entries, name, "provider")  # type: ignore[no-any-return]

    def claims(self) -> dict[APIKind, Provider]:
        """Each claimed kind and the provider that reads it (the first by name; built-ins
        first, as entries are ordered)."""
        out: dict[tuple[str, str], tuple[APIKind, Provider]] = {}
        builtin_first = sorted(self.entries.values(), key=lambda e: (not e.builtin, e.name))
        for e in builtin_first:
            if e.provider is None:
                continue
            for k in kinds_of(e.provider):
                out.setdefault((k.api_version, k.kind), (k, e.provider))
        return {k: p for k, p in sorted(out.values(), key=lambda kp: kp[0])}

    def data_plane(self, name: str) -> DataPlane | None:
        """The data plane provider ``name`` declares, if any."""
        return self.entries[name].data_plane if name in self.entries else None

    def load_notes(self) -> list[Note]:
        owners = self.claims()
        taken = {(k.api_version, k.kind): p.name for k, p in owners.items()}
        conflicts = [
            Note(
                code="PLUGIN-KIND-CONFLICT",
                level=Level.WARNING,
                message=f"providers {taken[(k.api_version, k.kind)]!r} and {p.name!r} both read {k}",
                subject=f"plugin {p.name}",
                instead=f"{k} objects go to {taken[(k.api_version, k.kind)]!r}; "
                        f"--disable-provider chooses the other",
            )
            for p in self.providers() for k in kinds_of(p)
            if taken.get((k.api_version, k.kind), p.name) != p.name
        ]
        return conflicts + [
            Note(
                code="PLUGIN-LOAD-FAILED",
                level=Level.WARNING,
                message=f"provider plugin {e.name!r} from {e.distribution} {e.version} failed to load: {e.error}",
                subject=f"plugin {e.name}",
                instead="plugin skipped",
            )
            for e in sorted([*self.entries.values(), *self.rejected], key=lambda e: (e.name, e.distribution))
            if e.error is not None
        ]


def lookup(entries: Mapping[str, PluginEntry], name: str, what: str) -> Any:
    """The loaded plugin called ``name``; a :class:`PluginError` (exit 5) naming the closest
    known name, or why it failed to load."""
    entry = entries.get(name)
    if entry is None:
        known = sorted(entries)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(known)}."
        raise PluginError(f"no {what} named {name!r}.{hint}")
    if entry.plugin is None:
        raise PluginError(f"{what} {name!r} ({entry.distribution}) failed to load: {entry.error}")
    return entry.plugin


def load_plugins(
    group: str, builtins: Mapping[str, str], check: Callable[[Any, str], Any], what: str,
    disabled: Iterable[str] = (), entry_points: Iterable[Any] | None = None,
) -> list[PluginEntry]:
    """Built-ins (``name -> "module:attr"``) and the entry points of ``group``, each passed
    through ``check`` (which raises on a malformed plugin). A plugin that fails is kept with
    its reason; one whose name collides with a built-in is refused."""
    from . import __version__

    blocked = set(disabled)
    entries: list[PluginEntry] = []
    for name, target in sorted(builtins.items()):
        if name in blocked:
            continue
        entries.append(PluginEntry(name, check(_load(target), name), "ing2gw", __version__, True))
    eps = entry_points if entry_points is not None else metadata.entry_points(group=group)
    for ep in sorted(eps, key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        dist_name = getattr(dist, "name", None) or "unknown distribution"
        dist_version = getattr(dist, "version", None) or "?"
        if ep.name in blocked:
            continue
        if ep.name in builtins:
            entries.append(PluginEntry(
                ep.name, None, dist_name, dist_version, False,
                f"name collides with the built-in {what} {ep.name!r} (from ing2gw)",
            ))
            continue
        try:
            plugin = check(ep.load(), ep.name)
        except Exception as exc:  # a broken plugin must not take the tool down
            entries.append(PluginEntry(ep.name, None, dist_name, dist_version, False, f"{type(exc).__name__}: {exc}"))
            continue
        entries.append(PluginEntry(ep.name, plugin, dist_name, dist_version, False))
    return entries


def discover(disabled: Iterable[str] = (), entry_points: Iterable[Any] | None = None) -> Registry:
    """Load built-ins and entry-point providers; ``entry_points`` overrides discovery (tests)."""
    from .providers import BUILTIN

    entries = load_plugins(ENTRY_POINT_GROUP, BUILTIN, _check, "provider", disabled, entry_points)
    return Registry([replace(e, data_plane=data_plane_of(e.plugin)) if e.plugin is not None else e for e in entries])
