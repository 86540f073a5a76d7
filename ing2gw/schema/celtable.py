"""The table of every CEL rule message in the vendored CRDs and its hand translation (or
why it is skipped)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .celfast import (
    _GRPC_METHOD,
    _GRPC_SERVICE,
    _HOSTNAME,
    _PATH_CHARS,
    _absolute_timeout,
    _address_hostname,
    _ca_either,
    _ca_not_both,
    _cookie_config_type,
    _field_needs_protocol,
    _field_requires_type,
    _filter_field_nil,
    _filter_field_set,
    _filter_not_repeated,
    _fraction,
    _grpc_exact,
    _grpc_service_or_method,
    _hostnames_not_ip,
    _hostnames_rfc1123,
    _hostnames_wildcard,
    _https_terminates,
    _keys_form,
    _keys_prefix_length,
    _listener_combination_unique,
    _listener_names_unique,
    _match_path,
    _mirror_percent_or_fraction,
    _no_hostname_for_l4,
    _no_star_with_others,
    _no_tls_for_plain,
    _path_type_requires,
    _per_port_unique,
    _prefix_replace_needs_prefix_match,
    _protocol_needs,
    _redirect_or_rewrite,
    _redirect_without_backends,
    _rule_names_unique,
    _san_forbids,
    _san_requires,
    _section_specified,
    _section_unique,
    _service_port,
    _terminate_has_certificates,
    _timeouts,
    _tls_has_mode,
    _total_matches,
    _unique_address,
)
from .common import _Cel, _matches


@dataclass(frozen=True, slots=True)
class CelRule:
    """One ``x-kubernetes-validations`` message of the CRDs and what ing2gw does about it.

    ``check`` is the Python translation (None: deliberately skipped, ``note`` says why)."""

    kinds: tuple[str, ...]
    message: str
    check: _Cel | None
    note: str = ""

    @property
    def implemented(self) -> bool:
        return self.check is not None


_ROUTES = ("GRPCRoute", "HTTPRoute", "TCPRoute", "TLSRoute", "UDPRoute")
_GRPC_HTTP = ("GRPCRoute", "HTTPRoute")
_LISTENERS = ("Gateway", "ListenerSet")
_PATH_RULE = "when type one of ['Exact', 'PathPrefix']"
_REPLACE_PREFIX = "with path.replacePrefixMatch, exactly one PathPrefix match must be specified"


def _filter_rules() -> list[CelRule]:
    """The per-filter-type rules: 'X cannot be repeated', 'filter.x must be nil/specified'."""
    rules = []
    for kinds, filter_type in ((_GRPC_HTTP, "RequestHeaderModifier"),
                               (_GRPC_HTTP, "ResponseHeaderModifier"),
                               (("HTTPRoute",), "RequestRedirect"),
                               (("HTTPRoute",), "URLRewrite"),
                               (("HTTPRoute",), "CORS")):
        rules.append(CelRule(kinds, f"{filter_type} filter cannot be repeated",
                             _filter_not_repeated(filter_type)))
    for kinds, field, filter_type in ((_GRPC_HTTP, "requestHeaderModifier",
                                       "RequestHeaderModifier"),
                                      (_GRPC_HTTP, "responseHeaderModifier",
                                       "ResponseHeaderModifier"),
                                      (_GRPC_HTTP, "requestMirror", "RequestMirror"),
                                      (_GRPC_HTTP, "extensionRef", "ExtensionRef"),
                                      (("HTTPRoute",), "requestRedirect", "RequestRedirect"),
                                      (("HTTPRoute",), "urlRewrite", "URLRewrite"),
                                      (("HTTPRoute",), "cors", "CORS"),
                                      (("HTTPRoute",), "externalAuth", "ExternalAuth")):
        rules.append(CelRule(
            kinds, f"filter.{field} must be nil if the filter.type is not {filter_type}",
            _filter_field_nil(field, filter_type)))
        rules.append(CelRule(
            kinds, f"filter.{field} must be specified for {filter_type} filter.type",
            _filter_field_set(field, filter_type)))
    return rules


def _lacks(part: str) -> Callable[[str], bool]:
    return lambda value: part not in value


def _not_ending(end: str) -> Callable[[str], bool]:
    return lambda value: not value.endswith(end)


def _path_match_rules() -> list[CelRule]:
    h = ("HTTPRoute",)
    return [
        CelRule(h, f"value must be an absolute path and start with '/' {_PATH_RULE}",
                _match_path(lambda v: v.startswith("/"))),
        *(CelRule(h, f"must not contain '{bad}' {_PATH_RULE}", _match_path(_lacks(bad)))
          for bad in ("//", "/./", "/../", "%2f", "%2F", "#")),
        *(CelRule(h, f"must not end with '{end}' {_PATH_RULE}", _match_path(_not_ending(end)))
          for end in ("/..", "/.")),
        CelRule(h, "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
                lambda p: p.get("type") in ("Exact", "PathPrefix", "RegularExpression")),
        CelRule(h, f"must only contain valid characters (matching {_PATH_CHARS}) for types "
                "['Exact', 'PathPrefix']", _match_path(lambda v: _matches(_PATH_CHARS, v))),
    ]


_X_KINDS = "an x-k8s.io experimental kind that ing2gw never emits"

CEL_RULES: tuple[CelRule, ...] = (
    # BackendTLSPolicy
    CelRule(("BackendTLSPolicy",), "sectionName must be specified when targetRefs includes 2 "
            "or more references to the same target", _section_specified(False, False)),
    CelRule(("BackendTLSPolicy",), "sectionName must be unique when targetRefs includes 2 or "
            "more references to the same target", _section_unique(False, False)),
    CelRule(("BackendTLSPolicy", "XBackend"),
            "must not contain both CACertificateRefs and WellKnownCACertificates", _ca_not_both),
    CelRule(("BackendTLSPolicy", "XBackend"),
            "must specify either CACertificateRefs or WellKnownCACertificates", _ca_either),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must contain Hostname, "
            "if Type is set to Hostname", _san_requires("Hostname", "hostname")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must not contain "
            "Hostname, if Type is not set to Hostname", _san_forbids("Hostname", "hostname")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must contain URI, if "
            "Type is set to URI", _san_requires("URI", "uri")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must not contain URI, "
            "if Type is not set to URI", _san_forbids("URI", "uri")),
    # GatewayClass (and XMesh)
    CelRule(("GatewayClass", "XMesh"), "Value is immutable", None,
            "transition rule (self == oldSelf): only evaluated on update, never on create"),
    # Gateway
    CelRule(("Gateway",), "IPAddress values must be unique", _unique_address("IPAddress")),
    CelRule(("Gateway",), "Hostname values must be unique", _unique_address("Hostname")),
    CelRule(("Gateway",), "Hostname value must be empty or contain only valid characters "
            f"(matching {_HOSTNAME})", _address_hostname),
    CelRule(("Gateway",), "Hostname value must only contain valid characters (matching "
            f"{_HOSTNAME})", None, "on status.addresses, which the controller writes; the API "
            "server drops status on create and validate() ignores it"),
    CelRule(("Gateway",), "Annotation keys must be in the form of an optional DNS subdomain "
            "prefix followed by a required name segment of up to 63 characters.", _keys_form),
    CelRule(("Gateway",), "If specified, the annotation key's prefix must be a DNS subdomain "
            "not longer than 253 characters in total.", _keys_prefix_length),
    CelRule(("Gateway",), "Label keys must be in the form of an optional DNS subdomain prefix "
            "followed by a required name segment of up to 63 characters.", _keys_form),
    CelRule(("Gateway",), "If specified, the label key's prefix must be a DNS subdomain not "
            "longer than 253 characters in total.", _keys_prefix_length),
    CelRule(_LISTENERS, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
            _no_tls_for_plain),
    CelRule(_LISTENERS, "tls mode must be Terminate for protocol HTTPS", _https_terminates),
    CelRule(_LISTENERS, "tls mode must be set for protocol TLS", _tls_has_mode),
    CelRule(_LISTENERS, "hostname must not be specified for protocols ['TCP', 'UDP']",
            _no_hostname_for_l4),
    CelRule(_LISTENERS, "Listener name must be unique within the Gateway",
            _listener_names_unique),
    CelRule(_LISTENERS, "Combination of port, protocol and hostname must be unique for each "
            "listener", _listener_combination_unique,
            "ListenerSet's variant skips listeners without a port; Gateway requires the port"),
    CelRule(_LISTENERS, "certificateRefs or options must be specified when mode is Terminate",
            _terminate_has_certificates),
    CelRule(("Gateway",), "Port for TLS configuration must be unique within the Gateway",
            _per_port_unique),
    # Routes
    CelRule(_ROUTES, "sectionName must be specified when parentRefs includes 2 or more "
            "references to the same parent", _section_specified(False),
            "standard channel wording"),
    CelRule(_ROUTES, "sectionName must be unique when parentRefs includes 2 or more "
            "references to the same parent", _section_unique(False)),
    CelRule(_ROUTES, "sectionName or port must be specified when parentRefs includes 2 or "
            "more references to the same parent", _section_specified(True),
            "experimental channel (ParentRef port)"),
    CelRule(_ROUTES, "sectionName or port must be unique when parentRefs includes 2 or more "
            "references to the same parent", _section_unique(True)),
    CelRule(_ROUTES, "Rule name must be unique within the route", _rule_names_unique),
    CelRule(_ROUTES, "Must have port for Service reference", _service_port),
    CelRule(_GRPC_HTTP, "While 16 rules and 64 matches per rule are allowed, the total number "
            "of matches across all rules in a route must be less than 128", _total_matches,
            "the CEL allows 128 (<= 128) despite the wording"),
    *_filter_rules(),
    CelRule(_GRPC_HTTP, "Only one of percent or fraction may be specified in "
            "HTTPRequestMirrorFilter", _mirror_percent_or_fraction),
    CelRule(_GRPC_HTTP, "numerator must be less than or equal to denominator", _fraction),
    CelRule(("GRPCRoute", "HTTPRoute", "XBackendTrafficPolicy"), "AbsoluteTimeout must be "
            "specified when cookie lifetimeType is Permanent", _absolute_timeout),
    CelRule(("GRPCRoute", "HTTPRoute", "XBackendTrafficPolicy"),
            "cookieConfig can only be set with type Cookie", _cookie_config_type),
    # GRPCRoute
    CelRule(("GRPCRoute",), "One or both of 'service' or 'method' must be specified",
            _grpc_service_or_method),
    CelRule(("GRPCRoute",), f"service must only contain valid characters (matching "
            f"{_GRPC_SERVICE})", _grpc_exact("service", _GRPC_SERVICE)),
    CelRule(("GRPCRoute",), f"method must only contain valid characters (matching "
            f"{_GRPC_METHOD})", _grpc_exact("method", _GRPC_METHOD)),
    # HTTPRoute
    CelRule(("HTTPRoute",), "RequestRedirect filter must not be used together with "
            "backendRefs", _redirect_without_backends),
    CelRule(("HTTPRoute",), f"When using RequestRedirect filter {_REPLACE_PREFIX}",
            _prefix_replace_needs_prefix_match("requestRedirect", False)),
    CelRule(("HTTPRoute",), f"When using URLRewrite filter {_REPLACE_PREFIX}",
            _prefix_replace_needs_prefix_match("urlRewrite", False)),
    CelRule(("HTTPRoute",), f"Within backendRefs, when using RequestRedirect filter "
            f"{_REPLACE_PREFIX}", _prefix_replace_needs_prefix_match("requestRedirect", True)),
    CelRule(("HTTPRoute",), f"Within backendRefs, When using URLRewrite filter "
            f"{_REPLACE_PREFIX}", _prefix_replace_needs_prefix_match("urlRewrite", True)),
    CelRule(("HTTPRoute",), "May specify either httpRouteFilterRequestRedirect or "
            "httpRouteFilterRequestRewrite, but not both", _redirect_or_rewrite),
    CelRule(("HTTPRoute",), "AllowHeaders cannot contain '*' alongside other methods",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "AllowMethods cannot contain '*' alongside other methods",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "AllowOrigins cannot contain '*' alongside other origins",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "replaceFullPath must be specified when type is set to "
            "'ReplaceFullPath'", _path_type_requires("ReplaceFullPath", "replaceFullPath")),
    CelRule(("HTTPRoute",), "type must be 'ReplaceFullPath' when replaceFullPath is set",
            _field_requires_type("replaceFullPath", "ReplaceFullPath")),
    CelRule(("HTTPRoute",), "replacePrefixMatch must be specified when type is set to "
            "'ReplacePrefixMatch'", _path_type_requires("ReplacePrefixMatch",
                                                        "replacePrefixMatch")),
    CelRule(("HTTPRoute",), "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
            _field_requires_type("replacePrefixMatch", "ReplacePrefixMatch")),
    *_path_match_rules(),
    CelRule(("HTTPRoute",), "backendRequest timeout cannot be longer than request timeout",
            _timeouts),
    CelRule(("HTTPRoute",), "grpc must be specified when protocol is set to 'GRPC'",
            _protocol_needs("GRPC", "grpc")),
    CelRule(("HTTPRoute",), "protocol must be 'GRPC' when grpc is set",
            _field_needs_protocol("grpc", "GRPC")),
    CelRule(("HTTPRoute",), "http must be specified when protocol is set to 'HTTP'",
            _protocol_needs("HTTP", "http")),
    CelRule(("HTTPRoute",), "protocol must be 'HTTP' when http is set",
            _field_needs_protocol("http", "HTTP")),
    # TLSRoute
    CelRule(("TLSRoute",), "Hostnames cannot contain an IP", _hostnames_not_ip),
    CelRule(("TLSRoute",), "Hostnames must be valid based on RFC-1123", _hostnames_rfc1123),
    CelRule(("TLSRoute",), "Wildcards on hostnames must be the first label, and the rest of "
            "hostname must be valid based on RFC-1123", _hostnames_wildcard),
    # x-k8s.io kinds
    CelRule(("XBackend",), "externalHostname must be set when type is ExternalHostname and "
            "must be unset otherwise", None, _X_KINDS),
    CelRule(("XBackend",), "hostname must not be an IP address or end with .cluster.local",
            None, _X_KINDS),
    CelRule(("XBackend",), "Name must be a valid DNS label", None, _X_KINDS),
    CelRule(("XBackend",), "clientCertificateRef must be set if and only if mode is "
            "ClientAndServer", None, _X_KINDS),
    CelRule(("XBackendTrafficPolicy",), "interval cannot be greater than one hour or less "
            "than one second", None, _X_KINDS),
    CelRule(("XBackendTrafficPolicy",), "interval cannot be greater than one hour", None,
            _X_KINDS),
)

# sha256 of the sorted "kind<TAB>message<TAB>rule" lines of every x-kubernetes-validations
# entry in the CRDs CEL_RULES was reviewed against (both channels, all served versions);
# tests/schema/test_schema.py recomputes it, so a changed rule text forces a new review.
CEL_RULES_SHA256 = "4ba24401c32f72bd9007709354a401b053c256bdaa808453b7afcb9786197288"

_CEL_BY_MESSAGE: dict[str, _Cel] = {
    rule.message: rule.check for rule in CEL_RULES if rule.check is not None
}


def cel_for(schema: Mapping[str, Any]) -> tuple[tuple[str, _Cel], ...]:
    """The implemented CEL rules of one schema node, in the CRD's order."""
    found = []
    for entry in schema.get("x-kubernetes-validations") or ():
        message = entry.get("message", "")
        check = _CEL_BY_MESSAGE.get(message)
        if check is not None:
            found.append((message, check))
    return tuple(found)


def untranslated_rules(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, message) of the CEL rules in ``schema`` the fast path cannot check: no hand
    translation, not a transition rule (``oldSelf``) and not under ``status`` (dropped on
    create)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            return
        for entry in node.get("x-kubernetes-validations") or ():
            message = entry.get("message", "")
            if message not in _CEL_BY_MESSAGE and "oldSelf" not in entry.get("rule", ""):
                found.append((path, message))
        for name, sub in (node.get("properties") or {}).items():
            if not (path == "" and name == "status"):
                walk(sub, f"{path}.{name}" if path else name)
        walk(node.get("items"), f"{path}[]")
        walk(node.get("additionalProperties"), f"{path}{{}}")

    walk(schema, "")
    return found
