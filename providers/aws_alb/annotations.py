"""The AWS Load Balancer Controller annotation table: every ``alb.ingress.kubernetes.io/*`` key
of the controller's current annotation reference.

One :class:`~ing2gw.provider.AnnotationSpec` per key, with the parser that reads the value the
way the controller does, what it becomes and how faithfully. Keys with a variable part stand
for a family: ``actions.<name>``, ``conditions.<name>`` and ``transforms.<name>`` (the
``<name>`` is the backend service name of a path whose port name is ``use-annotation``),
``listener-attributes.<protocol>-<port>`` and ``target-control-port.<service>.<port>``;
:func:`row_key` maps a real key to its row. Annotations the Gateway API cannot carry name what
the target implementation needs instead (for the AWS Load Balancer Controller's Gateway mode:
``LoadBalancerConfiguration``, ``TargetGroupConfiguration``, ``ListenerRuleConfiguration``).
``ing2gw providers aws-alb`` prints the table; ``docs/providers/aws-alb.md`` is generated from it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from .._common.values import parse_cidrs, parse_comma_list

__all__ = [
    "FAMILY_KEYS",
    "PREFIX",
    "TABLE",
    "parse_group_name",
    "parse_group_order",
    "parse_json",
    "parse_listen_ports",
    "parse_string_map",
    "row_key",
]

PREFIX = "alb.ingress.kubernetes.io"

_GROUP_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", re.ASCII)
# rows standing for keys with a variable part: key prefix -> row key
FAMILY_KEYS = {
    "actions.": "actions.<name>",
    "conditions.": "conditions.<name>",
    "transforms.": "transforms.<name>",
    "listener-attributes.": "listener-attributes.<protocol>-<port>",
    "target-control-port.": "target-control-port.<service>.<port>",
}


def row_key(key: str) -> str:
    """The table row of an annotation key (without the prefix)."""
    for start, row in FAMILY_KEYS.items():
        if key.startswith(start) and len(key) > len(start):
            return row
    return key


def parse_group_name(text: str) -> str:
    """An IngressGroup name: at most 63 lower-case alphanumerics, '-' or '.', alphanumeric at both ends."""
    if len(text) > 63:
        raise ValueError("groupName must be no more than 63 characters")
    if not _GROUP_NAME.fullmatch(text):
        raise ValueError("groupName must consist of lower case alphanumeric characters, '-' or '.', and must "
                         "start and end with an alphanumeric character")
    return text


def parse_group_order(text: str) -> int:
    """``group.order``: an integer from -1000 to 1000."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("not an integer") from None
    if not -1000 <= value <= 1000:
        raise ValueError(f"explicit group order must be within [-1000:1000], order: {value}")
    return value


def parse_listen_ports(text: str) -> tuple[tuple[str, int], ...]:
    """``[{"HTTP": 80}, {"HTTPS": 443}]``: (protocol, port) pairs, duplicates dropped."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError("not a non-empty JSON list")
    out: list[tuple[str, int]] = []
    for item in raw:
        if not isinstance(item, dict) or not item:
            raise ValueError("each entry must be an object like {\"HTTP\": 80}")
        for proto, port in item.items():
            if proto not in ("HTTP", "HTTPS"):
                raise ValueError(f"listen port protocol must be HTTP or HTTPS, got {proto!r}")
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"listen port must be within [1, 65535]: {port!r}")
            if (proto, port) not in out:
                out.append((proto, port))
    return tuple(out)


def parse_json(text: str) -> Any:
    """A JSON value (actions, conditions, transforms, auth settings); its shape is checked where used."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None


def parse_string_map(text: str) -> tuple[tuple[str, str], ...]:
    """``k1=v1,k2=v2`` (attributes, tags, node labels)."""
    out: list[tuple[str, str]] = []
    for item in parse_comma_list(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not key=value")
        out.append((key.strip(), value.strip()))
    return tuple(out)


def _ssl_redirect(text: str) -> int:
    try:
        port = int(text.strip())
    except ValueError:
        raise ValueError("not a port number") from None
    if not 1 <= port <= 65535:
        raise ValueError("port out of range")
    return port


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ValueError("not true or false")
    return value == "true"


def _choice(*allowed: str) -> Any:
    def parse(text: str) -> str:
        if text.strip() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text.strip()
    return parse


def _S(key: str, fidelity: Fidelity, family: str, doc: str, **kw: Any) -> AnnotationSpec:
    return AnnotationSpec(key=key, fidelity=fidelity, family=family, doc=doc, **kw)


A, E, X, U = Fidelity.APPROXIMATE, Fidelity.EXACT, Fidelity.EXTENSION, Fidelity.UNSUPPORTED
LBC = "AWS LBC Gateway: "
_LB = LBC + "LoadBalancerConfiguration"
_TG = LBC + "TargetGroupConfiguration"
_LR = LBC + "ListenerRuleConfiguration"

_SPECS = [
    # --- grouping, listeners, routing ----------------------------------------------------------
    _S("group.name", E, "routing", "IngressGroup: Ingresses with the same name share one ALB (one Gateway)",
       parse=parse_group_name, target="one Gateway per group", noted_by_feature=True),
    _S("group.order", E, "routing", "order of the Ingress's rules inside its group (-1000..1000, default 0; "
       "lower first, then namespace/name)", parse=parse_group_order, default=0,
       target="rule order (Gateway API precedence; differences noted as ALB-RULE-ORDER)", noted_by_feature=True),
    _S("listen-ports", E, "listeners", "the ALB listeners of the Ingress, e.g. [{\"HTTP\":80},{\"HTTPS\":443}] "
       "(default HTTP:80, HTTPS:443 with a certificate); merged across a group", parse=parse_listen_ports,
       target="Gateway listeners (port, protocol); routes attach by sectionName", noted_by_feature=True),
    _S("ssl-redirect", E, "listeners", "every HTTP listener answers 301 to HTTPS on this port (written out as "
       ":443 in Location) and its rules are dropped; group-wide", parse=_ssl_redirect,
       target="an HTTP redirect route (scheme https, port, 301); routes on HTTPS listeners only",
       noted_by_feature=True, changes_answer=True),
    _S("certificate-arn", A, "tls", "ACM certificate ARNs of the HTTPS listeners (first = default); ACM "
       "certificates are not Secrets", parse=parse_comma_list,
       target="HTTPS listener certificateRefs to a Secret the target needs (AWS LBC Gateway: the ARN in "
       "LoadBalancerConfiguration listenerConfigurations)", noted_by_feature=True),
    _S("ssl-policy", U, "tls", "TLS security policy of the HTTPS listeners (default ELBSecurityPolicy-2016-08); "
       f"the target needs its own TLS settings ({_LB} listenerConfigurations sslPolicy)",
       target=_LB + " sslPolicy"),
    _S("actions.<name>", E, "routing", "actions.NAME: the action of paths whose backend is service NAME, port "
       "use-annotation: forward (weighted target groups), redirect or fixed-response", parse=parse_json,
       target="backendRefs with weights, RequestRedirect filter, or a fixed response (no Gateway API form)",
       noted_by_feature=True, changes_answer=True),
    _S("conditions.<name>", E, "routing", "conditions.NAME: extra conditions of paths whose backend is service "
       "NAME: host-header and path-pattern are ORed with the rule's own host and path; http-header, "
       "http-request-method, query-string and source-ip are ANDed", parse=parse_json,
       target="hostnames, path, header, method and query matches; source-ip as an ip-access intent",
       noted_by_feature=True, changes_answer=True),
    _S("transforms.<name>", A, "rewrite", "transforms.NAME: url-rewrite and host-header-rewrite (regex and "
       "replacement) of paths whose backend is service NAME", parse=parse_json,
       target="URLRewrite hostname / ReplaceFullPath / ReplacePrefixMatch where the replacement is one",
       noted_by_feature=True,
       changes_answer=True),
    _S("use-regex-path-match", A, "routing", "ImplementationSpecific paths are ALB regular expressions (the "
       "path minus its first /)", parse=_bool, default=False,
       target="RegularExpression path match (dialect differences noted)", noted_by_feature=True),
    # --- access and protections --------------------------------------------------------------
    _S("inbound-cidrs", X, "access", "client CIDRs the ALB's security group admits (default 0.0.0.0/0, ::/0)",
       parse=parse_cidrs, intent=i.IPAccess, target="ip-access intent on the Gateway (a protection)",
       noted_by_feature=True, changes_answer=True),
    _S("security-groups", U, "access", "security groups of the ALB (the inbound rules are in AWS, not in the "
       f"Ingress); the target needs the same network rules ({_LB} securityGroups)", parse=parse_comma_list,
       target=_LB + " securityGroups"),
    _S("security-group-prefix-lists", U, "access", "managed prefix lists admitted by the ALB security group; the "
       f"target needs the same network rules ({_LB} securityGroupPrefixes)", parse=parse_comma_list,
       target=_LB + " securityGroupPrefixes"),
    _S("manage-backend-security-group-rules", U, "infrastructure", "let the controller manage the backend "
       f"security group rules; the target needs its own ({_LB} manageBackendSecurityGroupRules)", parse=_bool,
       target=_LB),
    _S("wafv2-acl-arn", X, "waf", "AWS WAFv2 web ACL attached to the ALB (a protection); the target needs it "
       f"({_LB} wafV2)", intent=i.Waf, target="waf intent", noted_by_feature=True),
    _S("wafv2-acl-name", X, "waf", "AWS WAFv2 web ACL by name (a protection); the target needs it "
       f"({_LB} wafV2)", intent=i.Waf, target="waf intent", noted_by_feature=True),
    _S("waf-acl-id", X, "waf", "AWS WAF Classic web ACL (a protection); migrate to WAFv2 first", intent=i.Waf,
       target="waf intent", noted_by_feature=True),
    _S("web-acl-id", X, "waf", "AWS WAF Classic web ACL, deprecated spelling of waf-acl-id", intent=i.Waf,
       target="waf intent", alias_of="waf-acl-id", noted_by_feature=True),
    _S("shield-advanced-protection", U, "infrastructure", "AWS Shield Advanced on the ALB; the target's load "
       f"balancer needs it enabled ({_LB} shieldConfiguration)", parse=_bool, target=_LB),
    _S("mutual-authentication", X, "tls", "frontend mutual TLS per listener port (off, passthrough, verify "
       "with a trust store ARN); verify is a protection", parse=parse_json, intent=i.ClientCertAuth,
       target="client-cert-auth intent", noted_by_feature=True),
    _S("auth-type", X, "auth", "ALB authentication: none, oidc or cognito (a protection)",
       parse=_choice("none", "oidc", "cognito"), default="none", intent=i.Opaque,
       target=_LR + " authenticate action", noted_by_feature=True, changes_answer=True),
    _S("auth-idp-cognito", X, "auth", "Cognito user pool of auth-type cognito", parse=parse_json,
       intent=i.Opaque, target=_LR, noted_by_feature=True),
    _S("auth-idp-oidc", X, "auth", "OIDC provider of auth-type oidc (client secret in a Secret)", parse=parse_json,
       intent=i.Opaque, target=_LR, noted_by_feature=True),
    _S("auth-on-unauthenticated-request", X, "auth", "authenticate (default), allow or deny",
       parse=_choice("authenticate", "allow", "deny"), default="authenticate", intent=i.Opaque, target=_LR,
       noted_by_feature=True),
    _S("auth-scope", X, "auth", "OIDC scopes (default openid)", intent=i.Opaque, target=_LR,
       noted_by_feature=True),
    _S("auth-session-cookie", X, "auth", "session cookie name (default AWSELBAuthSessionCookie)",
       intent=i.Opaque, target=_LR, noted_by_feature=True),
    _S("auth-session-timeout", X, "auth", "session lifetime in seconds (default 604800)", intent=i.Opaque,
       target=_LR, noted_by_feature=True),
    _S("jwt-validation", X, "auth", "ALB JWT validation (issuer, JWKS endpoint, claims): a protection",
       parse=parse_json, intent=i.Opaque, target=_LR + " jwt-validation action", noted_by_feature=True,
       changes_answer=True),
    # --- load balancer (infrastructure) --------------------------------------------------------
    _S("scheme", U, "infrastructure", "internal (default) or internet-facing ALB; the target's Gateway needs "
       f"the same exposure ({_LB} scheme, or its infrastructure annotations)",
       parse=_choice("internal", "internet-facing"), default="internal", target=_LB + " scheme"),
    _S("load-balancer-name", U, "infrastructure", f"the ALB's name; the target names its own ({_LB} "
       "loadBalancerName)", target=_LB + " loadBalancerName"),
    _S("ip-address-type", U, "infrastructure", "ipv4 (default), dualstack or dualstack-without-public-ipv4; the "
       f"target needs the same address family ({_LB} ipAddressType)",
       parse=_choice("ipv4", "dualstack", "dualstack-without-public-ipv4"), target=_LB + " ipAddressType"),
    _S("subnets", U, "infrastructure", f"subnets of the ALB; the target needs them ({_LB} loadBalancerSubnets)",
       parse=parse_comma_list, target=_LB + " loadBalancerSubnets"),
    _S("customer-owned-ipv4-pool", U, "infrastructure", "Outposts customer-owned address pool; the target "
       f"needs it ({_LB} customerOwnedIpv4Pool)", target=_LB),
    _S("ipam-ipv4-pool-id", U, "infrastructure", f"IPAM pool of the ALB's addresses ({_LB} ipv4IPAMPoolId)",
       target=_LB),
    _S("load-balancer-attributes", U, "infrastructure", "ALB attributes (idle_timeout.timeout_seconds, "
       "access_logs.*, deletion_protection.enabled, routing.http.*); the target needs them "
       f"({_LB} loadBalancerAttributes)", parse=parse_string_map, target=_LB + " loadBalancerAttributes"),
    _S("listener-attributes.<protocol>-<port>", U, "infrastructure", "attributes of one listener (e.g. "
       f"routing.http.response.server.enabled); the target needs them ({_LB} listenerConfigurations)",
       parse=parse_string_map, target=_LB + " listenerAttributes"),
    _S("minimum-load-balancer-capacity", U, "infrastructure", "reserved LCU capacity; the target needs it "
       f"({_LB} minimumLoadBalancerCapacity)", parse=parse_string_map, target=_LB),
    _S("tags", U, "infrastructure", "AWS tags of the ALB and its target groups (no effect on traffic)",
       parse=parse_string_map, target=_LB + " tags"),
    # --- target groups (Ingress or Service) ------------------------------------------------------
    _S("target-type", U, "infrastructure", "instance (default; NodePort Services) or ip (pod addresses); the "
       f"target needs to reach the same endpoints ({_TG} targetType)", parse=_choice("instance", "ip"),
       default="instance", target=_TG + " targetType"),
    _S("backend-protocol", U, "backend", "HTTP (default) or HTTPS to the targets; ALB does not verify target "
       "certificates, a BackendTLSPolicy would (the target needs TLS to the backend without verification: "
       f"{_TG} protocol)", parse=_choice("HTTP", "HTTPS"), default="HTTP", target=_TG + " protocol"),
    _S("backend-protocol-version", U, "backend", "HTTP1 (default), HTTP2 or GRPC to the targets; the target "
       f"needs the same (appProtocol on the Service port, or {_TG} protocolVersion)",
       parse=_choice("HTTP1", "HTTP2", "GRPC"), default="HTTP1", target=_TG + " protocolVersion"),
    _S("target-group-attributes", U, "backend", "target group attributes (stickiness, deregistration delay, slow "
       f"start, algorithm); the target needs them ({_TG} targetGroupAttributes)", parse=parse_string_map,
       target=_TG),
    _S("target-node-labels", U, "infrastructure", f"nodes registered as instance targets ({_TG} nodeSelector)",
       parse=parse_string_map, target=_TG),
    _S("target-control-port.<service>.<port>", U, "infrastructure", "target control port of one service port "
       f"({_TG})", target=_TG),
    _S("multi-cluster-target-group", U, "infrastructure", "the target group is shared with other clusters "
       f"({_TG} enableMultiCluster)", parse=_bool, target=_TG),
    _S("healthcheck-port", U, "health", "health check port (default traffic-port); the target needs its own "
       f"health checks ({_TG} healthCheckConfig)", target=_TG + " healthCheckConfig"),
    _S("healthcheck-protocol", U, "health", f"health check protocol HTTP or HTTPS ({_TG} healthCheckConfig)",
       parse=_choice("HTTP", "HTTPS"), target=_TG + " healthCheckConfig"),
    _S("healthcheck-path", U, "health", f"health check path (default /) ({_TG} healthCheckConfig)",
       target=_TG + " healthCheckConfig"),
    _S("healthcheck-interval-seconds", U, "health", f"health check interval (default 15) ({_TG} "
       "healthCheckConfig)", target=_TG + " healthCheckConfig"),
    _S("healthcheck-timeout-seconds", U, "health", f"health check timeout (default 5) ({_TG} healthCheckConfig)",
       target=_TG + " healthCheckConfig"),
    _S("healthy-threshold-count", U, "health", f"successes before healthy (default 2) ({_TG} "
       "healthCheckConfig)", target=_TG + " healthCheckConfig"),
    _S("unhealthy-threshold-count", U, "health", f"failures before unhealthy (default 2) ({_TG} "
       "healthCheckConfig)", target=_TG + " healthCheckConfig"),
    _S("success-codes", U, "health", f"health check success codes (default 200) ({_TG} healthCheckConfig)",
       target=_TG + " healthCheckConfig"),
    # --- frontend NLB --------------------------------------------------------------------------
    _S("enable-frontend-nlb", U, "infrastructure", "an NLB in front of the ALB; no Gateway API form (build it "
       "separately)", parse=_bool, target="none"),
    *[_S(f"frontend-nlb-{k}", U, "infrastructure", f"frontend NLB {k.replace('-', ' ')}; no Gateway API form",
         target="none")
      for k in ("scheme", "subnets", "security-groups", "listener-port-mapping", "healthcheck-port",
                "healthcheck-protocol", "healthcheck-path", "healthcheck-interval-seconds",
                "healthcheck-timeout-seconds", "healthcheck-healthy-threshold-count",
                "healthcheck-unhealthy-threshold-count", "healthcheck-success-codes", "tags", "eip-allocations",
                "attributes")],
]

FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect", "weights"}),
    "listeners": frozenset({"status", "redirect", "tls"}),
    "rewrite": frozenset({"path", "host"}),
    "access": frozenset({"status"}),
    "waf": frozenset({"status"}),
    "auth": frozenset({"status", "auth", "redirect"}),
    "tls": frozenset({"tls", "status"}),
}

TABLE = AnnotationTable(PREFIX, "ALB", _SPECS, FAMILY_ASPECTS)
