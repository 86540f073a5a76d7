"""What a valid Ingress looks like beyond its YAML: known fields and acceptable hostnames.

The Kubernetes API server refuses an Ingress with a field its schema lacks (kubectl's strict
field validation), with no rules and no default backend, or with a host that is not a
lowercase DNS name (one leading ``*.`` label at most); the Gateway API refuses the same
hostnames. :func:`unknown_field` and :func:`host_problem` find these so that the reason,
with a "did you mean" for typos, names the field -- and such a host is never emitted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["host_problem", "unknown_field"]

# A field -> its known sub-fields; None: anything below is free-form (labels, annotations...).
Fields = Mapping[str, "Fields | None"]

_META: Fields = {k: None for k in (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields")}
_RESOURCE: Fields = {"apiGroup": None, "kind": None, "name": None}
_BACKEND: Fields = {"service": {"name": None, "port": {"name": None, "number": None}}, "resource": _RESOURCE}
_LEGACY_BACKEND: Fields = {"serviceName": None, "servicePort": None, "resource": _RESOURCE}


def _ingress(backend: Fields, default_backend: str) -> Fields:
    return {
        "apiVersion": None, "kind": None, "metadata": _META, "status": None,
        "spec": {
            "ingressClassName": None,
            default_backend: backend,
            "tls": {"hosts": None, "secretName": None},
            "rules": {"host": None, "http": {"paths": {"path": None, "pathType": None, "backend": backend}}},
        },
    }


_V1 = _ingress(_BACKEND, "defaultBackend")
_V1BETA1 = _ingress({**_LEGACY_BACKEND, **_BACKEND}, "backend")


def _walk(value: Any, fields: Fields, path: str) -> tuple[str, str] | None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _walk(item, fields, f"{path}[{i}]")
            if found:
                return found
        return None
    if not isinstance(value, Mapping):
        return None  # a wrong type is reported by the reader with its expected type
    for key, item in value.items():
        if key not in fields:
            where = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(fields)})"
            return where, f"{where}: unknown field{hint}"
        sub = fields[key]
        if sub is not None and isinstance(item, (list, Mapping)):  # a leaf: nothing to look at
            found = _walk(item, sub, f"{path}.{key}" if path else str(key))
            if found:
                return found
    return None


def _known(value: Any, fields: Fields) -> bool:
    """Whether every field under ``value`` is known (plain dicts and lists; anything else
    answers False and :func:`_walk` looks): the common case, without building paths."""
    t = type(value)
    if t is dict:
        if not value.keys() <= fields.keys():
            return False
        for key, item in value.items():
            sub = fields[key]
            if sub is not None and not _known(item, sub):
                return False
        return True
    if t is list:
        for item in value:
            if not _known(item, fields):
                return False
        return True
    return not isinstance(value, Mapping)


def unknown_field(obj: Mapping[str, Any], legacy: bool) -> tuple[str, str] | None:
    """``(field path, reason)`` of the first field an Ingress's schema does not have, in
    document order; ``legacy`` for the ``v1beta1`` forms."""
    fields = _V1BETA1 if legacy else _V1
    if _known(obj, fields):
        return None
    return _walk(obj, fields, "")


_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}\Z")
# a hostname every check below accepts (but for its length and IPv4 form), in one match
_GOOD = re.compile(r"(?:\*\.)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*\Z")


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a hostname Kubernetes and the Gateway API accept (lowercase letters,
    digits, ``-`` and ``.``; at most one leading ``*.``; no IP address), or None."""
    name = host[2:] if host.startswith("*.") else host
    if _GOOD.match(host) and len(name) <= 253 and not _IPV4.match(name):
        return None  # the common case: a well-formed name, in one match
    return _problem(host)


def _problem(host: str) -> str | None:
    """:func:`host_problem` worked out check by check."""
    name = host[2:] if host.startswith("*.") else host
    if host != host.lower():
        return "has uppercase letters (hostnames are lowercase)"
    if "*" in name:
        return "has a wildcard that is not one whole leftmost label (only *.example.com is allowed)"
    if _IPV4.match(name) or ":" in name:
        return "is an IP address, not a DNS name"
    if len(name) > 253:
        return "is longer than 253 characters"
    bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-."))})
    if bad:
        return f"has {', '.join(repr(c) for c in bad)} (only a-z, 0-9, '-' and '.' are allowed)"
    if not all(_LABEL.match(label) for label in name.split(".")):
        return "has an empty label or one that starts or ends with '-' or is longer than 63 characters"
    return None
