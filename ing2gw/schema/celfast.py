"""Hand translations of the Gateway API CRDs' CEL rules into Python (the fast path).

Each function below is a hand translation of one CEL rule of the CRDs. It receives the
(defaulted, structurally valid) value the rule's ``self`` names and returns True when the
rule holds. Where the CEL would raise (a field read without ``has()``), the function
returns False, since the API server reports a failed evaluation as a validation error.

"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from .common import _Cel, _matches


def _s(obj: Mapping[str, Any], key: str) -> str:
    """A string field, "" when absent (CEL: ``!has(x.f) || x.f == ''``)."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _size(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return len(value) if isinstance(value, (list, dict, str)) else None


def _unique(keys: Sequence[Any]) -> bool:
    return len(set(keys)) == len(keys)


# -- parentRefs / targetRefs --


def _parent(ref: Mapping[str, Any]) -> tuple[Any, ...]:
    return (ref.get("group"), ref.get("kind"), ref.get("name"), _s(ref, "namespace"))


def _section_specified(with_port: bool, with_namespace: bool = True) -> _Cel:
    """All refs to one parent set sectionName (and port) or all leave it empty."""

    def rule(refs: list[dict[str, Any]]) -> bool:
        shapes: dict[tuple[Any, ...], tuple[bool, bool]] = {}
        for ref in refs:
            parent = _parent(ref) if with_namespace else _parent(ref)[:3]
            shape = (not _s(ref, "sectionName"), with_port and not ref.get("port"))
            if shapes.setdefault(parent, shape) != shape:
                return False
        return True

    return rule


def _section_unique(with_port: bool, with_namespace: bool = True) -> _Cel:
    """No two refs to one parent with the same sectionName (and port)."""

    def rule(refs: list[dict[str, Any]]) -> bool:
        keys = []
        for ref in refs:
            parent = _parent(ref) if with_namespace else _parent(ref)[:3]
            port = (ref.get("port") or 0) if with_port else 0
            keys.append((parent, _s(ref, "sectionName"), port))
        return _unique(keys)

    return rule


# -- routes --


def _total_matches(rules: list[dict[str, Any]]) -> bool:
    return sum(len(rule.get("matches") or ()) for rule in rules[:16]) <= 128


def _service_port(ref: Mapping[str, Any]) -> bool:
    if "group" not in ref or "kind" not in ref:
        return False
    if ref["group"] == "" and ref["kind"] == "Service":
        return "port" in ref
    return True


def _filter_not_repeated(filter_type: str) -> _Cel:
    return lambda filters: sum(1 for f in filters if f.get("type") == filter_type) <= 1


def _filter_field_nil(field: str, filter_type: str) -> _Cel:
    return lambda f: not (field in f and f.get("type") != filter_type)


def _filter_field_set(field: str, filter_type: str) -> _Cel:
    return lambda f: not (field not in f and f.get("type") == filter_type)


def _redirect_or_rewrite(filters: list[dict[str, Any]]) -> bool:
    types = {f.get("type") for f in filters}
    return not ("RequestRedirect" in types and "URLRewrite" in types)


def _redirect_without_backends(rule: Mapping[str, Any]) -> bool:
    if rule.get("backendRefs"):
        return all("requestRedirect" not in f for f in rule.get("filters") or ())
    return True


def _uses_prefix_replace(filter_: Mapping[str, Any], field: str) -> bool:
    modifier = filter_.get(field)
    if not isinstance(modifier, Mapping) or not isinstance(modifier.get("path"), Mapping):
        return False
    path = modifier["path"]
    return path.get("type") == "ReplacePrefixMatch" and "replacePrefixMatch" in path


def _single_prefix_match(rule: Mapping[str, Any]) -> bool:
    matches = rule.get("matches")
    if not isinstance(matches, list):
        return False
    if len(matches) != 1 or not isinstance(matches[0].get("path"), Mapping):
        return False
    return bool(matches[0]["path"].get("type") == "PathPrefix")


def _prefix_replace_needs_prefix_match(field: str, in_backends: bool) -> _Cel:
    """``exists_one`` filter (or backendRef with one) doing ReplacePrefixMatch needs exactly
    one PathPrefix match."""

    def exactly_one_filter(filters: Any) -> bool:
        return sum(1 for f in filters or () if _uses_prefix_replace(f, field)) == 1

    def rule(rule_: Mapping[str, Any]) -> bool:
        if in_backends:
            triggered = sum(1 for b in rule_.get("backendRefs") or ()
                            if exactly_one_filter(b.get("filters"))) == 1
        else:
            triggered = exactly_one_filter(rule_.get("filters"))
        return _single_prefix_match(rule_) if triggered else True

    return rule


def _no_star_with_others(values: list[Any]) -> bool:
    return not ("*" in values and len(values) > 1)


def _path_type_requires(path_type: str, field: str) -> _Cel:
    return lambda p: field in p if p.get("type") == path_type else True


def _field_requires_type(field: str, path_type: str) -> _Cel:
    return lambda p: p.get("type") == path_type if field in p else True


_PATH_CHARS = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"


def _match_path(test: Callable[[str], bool]) -> _Cel:
    """A rule on ``matches[].path.value`` that applies to Exact and PathPrefix only."""

    def rule(path: Mapping[str, Any]) -> bool:
        if path.get("type") not in ("Exact", "PathPrefix"):
            return True
        value = path.get("value")
        return isinstance(value, str) and test(value)

    return rule


_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6),
                   "µs": Fraction(1, 10**6), "μs": Fraction(1, 10**6),
                   "ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60),
                   "h": Fraction(3600)}


def parse_duration(text: str) -> float | None:
    """Seconds in a Go duration string (``1h30m``, ``250ms``, ``0``), None if malformed.

    The same syntax CEL's ``duration()`` accepts."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        return None
    total = Fraction(0)
    pos = 0
    while pos < len(body):
        found = _DURATION_PART.match(body, pos)
        if not found or found.group(1) in ("", "."):
            return None
        total += Fraction(found.group(1)) * _DURATION_UNITS[found.group(2)]
        pos = found.end()
    return float(-total if text.startswith("-") else total)


def _timeouts(timeouts: Mapping[str, Any]) -> bool:
    if "request" not in timeouts or "backendRequest" not in timeouts:
        return True
    request = parse_duration(str(timeouts["request"]))
    backend = parse_duration(str(timeouts["backendRequest"]))
    if request is None or backend is None:
        return False
    return not (request != 0 and backend > request)


def _rule_names_unique(rules: list[dict[str, Any]]) -> bool:
    return _unique([r["name"] for r in rules if "name" in r])


def _protocol_needs(protocol: str, field: str) -> _Cel:
    return lambda auth: field in auth if auth.get("protocol") == protocol else True


def _field_needs_protocol(field: str, protocol: str) -> _Cel:
    return lambda auth: auth.get("protocol") == protocol if field in auth else True


def _absolute_timeout(persistence: Mapping[str, Any]) -> bool:
    cookie = persistence.get("cookieConfig")
    if not isinstance(cookie, Mapping) or cookie.get("lifetimeType") != "Permanent":
        return True
    return "absoluteTimeout" in persistence


def _cookie_config_type(persistence: Mapping[str, Any]) -> bool:
    return "cookieConfig" not in persistence or persistence.get("type") == "Cookie"


def _mirror_percent_or_fraction(mirror: Mapping[str, Any]) -> bool:
    return not ("percent" in mirror and "fraction" in mirror)


def _fraction(fraction: Mapping[str, Any]) -> bool:
    numerator, denominator = fraction.get("numerator"), fraction.get("denominator")
    if not isinstance(numerator, int) or not isinstance(denominator, int):
        return False
    return numerator <= denominator


# -- GRPCRoute --

_GRPC_SERVICE = r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"
_GRPC_METHOD = r"^[A-Za-z_][A-Za-z_0-9]*$"


def _grpc_service_or_method(match: Mapping[str, Any]) -> bool:
    return "service" in match or "method" in match if "type" in match else True


def _grpc_exact(field: str, pattern: str) -> _Cel:
    def rule(match: Mapping[str, Any]) -> bool:
        if match.get("type", "Exact") == "Exact" and field in match:
            return _matches(pattern, str(match[field]))
        return True

    return rule


# -- Gateway / ListenerSet --

_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_KEY_FORM = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
             r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


def _unique_address(address_type: str) -> _Cel:
    def rule(addresses: list[dict[str, Any]]) -> bool:
        values = [a["value"] for a in addresses
                  if a.get("type") == address_type and "value" in a]
        return _unique(values)

    return rule


def _address_hostname(address: Mapping[str, Any]) -> bool:
    if address.get("type") != "Hostname" or "value" not in address:
        return True
    return _matches(_HOSTNAME, str(address["value"]))


def _keys_form(mapping: Mapping[str, Any]) -> bool:
    return all(_matches(_KEY_FORM, key) for key in mapping)


def _keys_prefix_length(mapping: Mapping[str, Any]) -> bool:
    return all(len(key.split("/")[0]) < 253 for key in mapping)


def _no_tls_for_plain(listeners: list[dict[str, Any]]) -> bool:
    return all("tls" not in lis for lis in listeners
               if lis.get("protocol") in ("HTTP", "TCP", "UDP"))


def _https_terminates(listeners: list[dict[str, Any]]) -> bool:
    for lis in listeners:
        if lis.get("protocol") == "HTTPS" and "tls" in lis:
            tls = lis["tls"]
            if not isinstance(tls, Mapping) or tls.get("mode") not in ("", "Terminate"):
                return False
    return True


def _tls_has_mode(listeners: list[dict[str, Any]]) -> bool:
    for lis in listeners:
        if lis.get("protocol") == "TLS":
            tls = lis.get("tls")
            if not isinstance(tls, Mapping) or not _s(tls, "mode"):
                return False
    return True


def _no_hostname_for_l4(listeners: list[dict[str, Any]]) -> bool:
    return all(not _s(lis, "hostname") for lis in listeners
               if lis.get("protocol") in ("TCP", "UDP"))


def _listener_names_unique(listeners: list[dict[str, Any]]) -> bool:
    return _unique([lis.get("name") for lis in listeners])


_NO_HOSTNAME = object()


def _listener_combination_unique(listeners: list[dict[str, Any]]) -> bool:
    # ListenerSet skips listeners without a port; in a Gateway the port is required.
    keys = [(lis["port"], lis.get("protocol"), lis.get("hostname", _NO_HOSTNAME))
            for lis in listeners if "port" in lis]
    return len(set(map(_hashable_key, keys))) == len(keys)


def _hashable_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("\0absent" if part is _NO_HOSTNAME else part for part in key)


def _terminate_has_certificates(tls: Mapping[str, Any]) -> bool:
    if tls.get("mode") != "Terminate":
        return True
    return bool(_size(tls, "certificateRefs")) or bool(_size(tls, "options"))


def _per_port_unique(per_port: list[dict[str, Any]]) -> bool:
    return _unique([entry.get("port") for entry in per_port])


# -- TLSRoute --

_RFC1123 = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"


def _is_ip(text: str) -> bool:
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hostnames_not_ip(hostnames: list[str]) -> bool:
    return not any(_is_ip(h) for h in hostnames)


def _hostnames_rfc1123(hostnames: list[str]) -> bool:
    return all(_matches(_RFC1123, h) for h in hostnames if "*" not in h)


def _hostnames_wildcard(hostnames: list[str]) -> bool:
    return all(h.startswith("*.") and _matches(_RFC1123, h[2:]) for h in hostnames if "*" in h)


# -- BackendTLSPolicy --


def _ca_not_both(validation: Mapping[str, Any]) -> bool:
    return not (bool(validation.get("caCertificateRefs"))
                and bool(_s(validation, "wellKnownCACertificates")))


def _ca_either(validation: Mapping[str, Any]) -> bool:
    return bool(validation.get("caCertificateRefs")) or bool(
        _s(validation, "wellKnownCACertificates"))


def _san_requires(san_type: str, field: str) -> _Cel:
    return lambda san: not (san.get("type") == san_type and not _s(san, field))


def _san_forbids(san_type: str, field: str) -> _Cel:
    return lambda san: not (san.get("type") != san_type and bool(_s(san, field)))

