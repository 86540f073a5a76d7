"""Match precedence: the sort key that orders every match of every route on a listener.

Hostname specificity, the first criterion of the spec, is not part of the key: a
listener's table keeps one list per hostname pattern and looks them up most specific
first (:class:`~ing2gw.router.hostnames.HostIndex`), so within one list the key below
decides. Smaller keys win.

HTTPRoute (after hostname): ``Exact`` path, then ``PathPrefix`` (longer prefix first,
counted without a trailing ``/``), then ``RegularExpression`` (longer pattern first; this
placement is implementation-defined in the spec and is ing2gw's documented choice); then a
match with a method; more header matches; more query-parameter matches; the older route
(``creationTimestamp``); ``namespace/name``; rule order; match order.

GRPCRoute (after hostname): more characters in the matched service, then in the method,
then more header matches; then age, ``namespace/name``, rule order, match order.
"""

from __future__ import annotations

__all__ = ["NEWEST", "Head", "MatchKey", "grpc_head", "http_head"]

# Objects without creationTimestamp sort as the newest (RFC 3339 strings compare in order).
NEWEST = "~"


# A match's precedence key: a plain tuple (made for every match of every route: a NamedTuple costs more to
# make, and nothing reads its fields by name), its fields in this order:
#   first    HTTP: path kind (0 Exact, 1 PathPrefix, 2 RegularExpression); gRPC: -service length
#   second   HTTP: -path length; gRPC: -method length
#   method   HTTP: 0 when the match names a method, else 1; gRPC: 0
#   headers  -number of header matches
#   query    -number of query-parameter matches
#   created  creationTimestamp of the route
#   route    "namespace/name"
#   rule     the rule's index
#   match    the match's index
MatchKey = tuple[int, int, int, int, int, str, str, int, int]


# The fields of a key that belong to the match alone (path kind and length, method, headers, query)
Head = tuple[int, int, int, int, int]


def http_head(path_kind: int, path_length: int, has_method: bool, headers: int, query: int) -> Head:
    """The first five fields of an HTTPRoute match's key (those of the match alone; the rest
    are the route's: ``head + (created or NEWEST, route, rule, match)``)."""
    return path_kind, -path_length, 0 if has_method else 1, -headers, -query


def grpc_head(service_length: int, method_length: int, headers: int) -> Head:
    """:func:`http_head` of a GRPCRoute match."""
    return -service_length, -method_length, 0, -headers, 0
