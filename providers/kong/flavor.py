"""Kong's router flavor, and what KIC's expression routes change.

Kong's ``router_flavor`` (kong.conf, ``KONG_ROUTER_FLAVOR``) is ``traditional_compatible`` by
default; KIC reads it from Kong and, with ``expressions``, writes one expression route per
(Ingress, host, backend) instead of routes with ``paths``. The user says which flavor they run
with ``router_flavor`` in the ``--controller-config`` ConfigMap; ``traditional`` (Kong's older
router, which orders routes its own way) is not modelled and is refused.

Under ``expressions`` (KIC ``ingress_atc.go``):

* a route's priority is one number for all its paths (:func:`expression_priority`): the match
  fields, the header count, only plain hosts, any regex path -- Prefix and Exact count as regex,
  since the other routers write them as ``~/p$`` -- and the *longest* of its paths, so a short
  path of a route with a long one outranks other routes' longer paths; ``regex_priority`` is
  not used; the default backend's route gets 0;
* header values compare case-sensitively (``http.headers.x == "v"``, ``~`` for ``~*`` values),
  where ``traditional_compatible`` lower-cases both sides.

Wildcard hosts are the same in every flavor: ``*.example.com`` is a suffix match over any
number of labels (KIC ``atc_utils.go`` writes ``http.host =^ ".example.com"``; Kong's
``traditional_compatible`` transform does the same and its ``traditional`` router a ``.+``
regex), as Gateway API hostnames are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ing2gw.errors import UsageError

from .paths import flatten_slashes, strip_regex_marker
from .settings import RouteSettings

__all__ = ["COMPATIBLE", "EXPRESSIONS", "expression_priority", "router_flavor"]

COMPATIBLE = "traditional_compatible"
EXPRESSIONS = "expressions"
KEY = "router_flavor"

# KIC's bit layout of an expression route's priority (EncodeToPriority)
_REGEX_BIT = 16
_PLAIN_HOST_BIT = 32
_HEADERS_SHIFT = 33
_FIELDS_SHIFT = 41
_INGRESS_KIND = 3 << 44
_MAX_PATH_LENGTH = (1 << 16) - 1
_MAX_HEADERS = 255


def router_flavor(config: Mapping[str, str] | None) -> str:
    """The flavor ``router_flavor`` in the controller config names (default
    ``traditional_compatible``)."""
    value = ((config or {}).get(KEY) or COMPATIBLE).strip()
    if value in (COMPATIBLE, EXPRESSIONS):
        return value
    if value == "traditional":
        raise UsageError(f"--controller-config: {KEY} traditional is not modelled (Kong's older router orders "
                         f"routes its own way); ing2gw models {COMPATIBLE} (Kong's default) and {EXPRESSIONS}")
    raise UsageError(f"--controller-config: {KEY} {value!r} is not a Kong router flavor "
                     f"({COMPATIBLE}, {EXPRESSIONS} or traditional)")


def _path_length(path: str, path_type: str, marker: str) -> tuple[int, bool]:
    """(length, regex) of one Ingress path in KIC's priority traits."""
    if path_type == "Exact":
        return 1 + len(path.lstrip("/")), True
    if path_type == "Prefix":
        base = path.strip("/")
        return (2 + len(base) if base else 1), True
    regex = strip_regex_marker(path, marker) if marker else None
    if regex is not None:
        return len(regex) - 1, True
    return len(path), False


def expression_priority(route: RouteSettings, host: str, paths: Sequence[tuple[str, str]],
                        default_backend: bool = False) -> int:
    """KIC's priority of the expression route of ``paths`` ((path, pathType) of one Ingress
    host and backend; an empty path is ``/``)."""
    if default_backend:
        return 0
    fields = 1 if paths else 0
    longest, regex = 0, False
    for path, path_type in paths:
        ptype = path_type or "ImplementationSpecific"
        length, is_regex = _path_length(flatten_slashes(path) or "/", ptype, route.regex_marker)
        longest, regex = max(longest, length), regex or is_regex
    hosts = ([host] if host else []) + list(route.host_aliases)
    plain = bool(hosts) and not any(h.startswith("*") for h in hosts)
    fields += (1 if hosts else 0) + (1 if route.headers else 0) + (1 if route.methods else 0) + (
        1 if route.snis else 0)
    return (min(longest, _MAX_PATH_LENGTH) + (regex << _REGEX_BIT) + (plain << _PLAIN_HOST_BIT)
            + (min(len(route.headers), _MAX_HEADERS) << _HEADERS_SHIFT) + (fields << _FIELDS_SHIFT) + _INGRESS_KIND)
