"""The ingress-nginx controller ConfigMap: its global settings, read and noted like annotations.

:data:`SETTINGS` is a table of the same rows as the annotation table (key, fidelity, doc,
parser, default, family, target, intent): reading the ConfigMap through it notes every key
that does not convert exactly, every invalid value and every key it does not know
(``NGINX-SETTING-*``). :func:`global_intents` turns the global protections and limits into
policy intents -- for each rule (global external auth and the global allow/deny lists, which
an Ingress's own annotations replace) or for each Gateway (``block-cidrs``, blocked user
agents and referers, ModSecurity, the body-size limit with its 1m default, forwarded-header
trust, listener TLS options) -- so a global protection the output does not carry fails the
run like an annotation's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ing2gw import intents as i
from ing2gw.ir import Provenance
from ing2gw.notes import Fidelity, Level, Note, Notes, Security
from ing2gw.provider import Annotations, AnnotationSpec, AnnotationTable, ProviderContext
from ing2gw.resources import ResourceSet

from . import parsers as p
from .annotations import DEFAULT_PROXY_BODY_SIZE, FAMILY_ASPECTS

__all__ = ["CONTROLLER_CONFIGMAPS", "SETTINGS", "ConfigSource", "GlobalPolicy", "config_source", "controller_config_of",
           "read_settings"]

EXACT = Fidelity.EXACT
APPROX = Fidelity.APPROXIMATE
EXT = Fidelity.EXTENSION
UNSUP = Fidelity.UNSUPPORTED

_NO_AUTH_LOCATIONS = ("/.well-known/acme-challenge",)


def _locations(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _user_agents(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


_ROWS = [
    # --- global external authentication (applies to every Ingress without its own auth-url,
    # unless the Ingress sets enable-global-auth: "false")
    AnnotationSpec("global-auth-url", EXT, "External authentication service asked before every request of "
                   "every Ingress", p.parse_url_with_variables, None, "auth", "extension: external-auth",
                   intent=i.ExternalAuth),
    AnnotationSpec("global-auth-method", EXT, "HTTP method of the global authentication subrequest",
                   p.parse_http_method, None, "auth", "extension: external-auth", intent=i.ExternalAuth),
    AnnotationSpec("global-auth-signin", EXT, "Where clients go when global authentication answers 401",
                   p.parse_location, None, "auth", "extension: external-auth", intent=i.ExternalAuth),
    AnnotationSpec("global-auth-signin-redirect-param", EXT, "Query parameter carrying the original URL to "
                   "global-auth-signin", p.parse_header_name, "rd", "auth", "extension: external-auth",
                   intent=i.ExternalAuth),
    AnnotationSpec("global-auth-response-headers", EXT, "Headers copied from the global authentication answer "
                   "upstream", p.parse_header_list, (), "auth", "extension: external-auth", intent=i.ExternalAuth),
    AnnotationSpec("global-auth-request-redirect", EXT, "X-Auth-Request-Redirect sent to the global "
                   "authentication service", p.parse_location, None, "auth", "extension: external-auth",
                   intent=i.ExternalAuth),
    AnnotationSpec("global-auth-cache-key", EXT, "Cache key of global authentication answers", p.parse_text,
                   None, "auth", "extension: external-auth (cache)", intent=i.ExternalAuth),
    AnnotationSpec("global-auth-cache-duration", EXT, "How long global authentication answers are cached",
                   p.parse_auth_cache_duration, None, "auth", "extension: external-auth (cache)",
                   intent=i.ExternalAuth),
    AnnotationSpec("global-auth-always-set-cookie", EXT, "Passes the global authentication service's "
                   "Set-Cookie to the client on failure too", p.parse_bool, False, "auth",
                   "extension: external-auth", intent=i.ExternalAuth),
    AnnotationSpec("global-auth-snippet", UNSUP, "Raw nginx configuration for the global authentication "
                   "location", p.parse_snippet, None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("no-auth-locations", EXT, "Paths exempt from global authentication", _locations,
                   _NO_AUTH_LOCATIONS, "auth", "extension: external-auth", intent=i.ExternalAuth),
    # --- access control
    AnnotationSpec("whitelist-source-range", EXT, "Client CIDRs allowed on every Ingress without its own "
                   "allowlist; all others get 403", p.parse_cidrs, (), "access", "extension: ip-allowlist",
                   intent=i.IPAccess),
    AnnotationSpec("denylist-source-range", EXT, "Client CIDRs refused (403) on every Ingress without its own "
                   "denylist", p.parse_cidrs, (), "access", "extension: ip-denylist", intent=i.IPAccess),
    AnnotationSpec("block-cidrs", EXT, "Client CIDRs refused (403) by every server, whatever the Ingress says",
                   p.parse_cidrs, (), "access", "extension: ip-denylist", intent=i.IPAccess),
    AnnotationSpec("block-user-agents", EXT, "User-Agent values (or ~regexes) refused (403) by every server",
                   _user_agents, (), "access", "extension: request block list", intent=i.Opaque),
    AnnotationSpec("block-referers", EXT, "Referer values (or ~regexes) refused (403) by every server",
                   _user_agents, (), "access", "extension: request block list", intent=i.Opaque),
    AnnotationSpec("limit-req-status-code", EXT, "Status answered when a request rate limit is exceeded",
                   p.parse_int, 503, "ratelimit", "extension: rate-limit", intent=i.RateLimit),
    AnnotationSpec("limit-conn-status-code", EXT, "Status answered when a connection limit is exceeded",
                   p.parse_int, 503, "ratelimit", "extension: rate-limit", intent=i.RateLimit),
    # --- WAF
    AnnotationSpec("enable-modsecurity", EXT, "Turns ModSecurity on for every location", p.parse_bool, False,
                   "waf", "extension: waf", intent=i.Waf),
    AnnotationSpec("enable-owasp-modsecurity-crs", EXT, "Loads the OWASP Core Rule Set for every location",
                   p.parse_bool, False, "waf", "extension: waf", intent=i.Waf),
    AnnotationSpec("modsecurity-snippet", UNSUP, "Raw ModSecurity rules for every location", p.parse_snippet,
                   None, "snippet", "not expressible; review by hand"),
    # --- raw configuration
    AnnotationSpec("server-snippet", UNSUP, "Raw nginx configuration added to every server block",
                   p.parse_snippet, None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("http-snippet", UNSUP, "Raw nginx configuration added to the http block", p.parse_snippet,
                   None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("location-snippet", UNSUP, "Raw nginx configuration added to every location",
                   p.parse_snippet, None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("main-snippet", UNSUP, "Raw nginx configuration added to the main block", p.parse_snippet,
                   None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("stream-snippet", UNSUP, "Raw nginx configuration added to the stream block",
                   p.parse_snippet, None, "snippet", "not expressible; review by hand"),
    AnnotationSpec("allow-snippet-annotations", EXACT, "Whether snippet annotations are honoured",
                   p.parse_bool, False, "snippet", "decides whether snippet Ingresses are converted"),
    AnnotationSpec("annotations-risk-level", EXACT, "Highest annotation risk the controller accepts (Critical "
                   "allows snippets)", p.parse_text, "High", "snippet",
                   "decides whether snippet Ingresses are converted"),
    # --- request handling
    AnnotationSpec("proxy-body-size", EXT, "Largest request body accepted (413 above it) where an Ingress sets "
                   "none; 1m when unset, 0 = no limit", p.parse_body_size, DEFAULT_PROXY_BODY_SIZE, "proxy",
                   "extension: request-size limit", intent=i.BodyLimit),
    AnnotationSpec("proxy-connect-timeout", EXT, "Default upstream connect timeout, in seconds", p.parse_seconds,
                   p.Duration.of_seconds(5), "timeout", "extension: timeouts", intent=i.Timeouts),
    AnnotationSpec("proxy-send-timeout", EXT, "Default pause allowed between writes upstream, in seconds",
                   p.parse_seconds, p.Duration.of_seconds(60), "timeout", "extension: timeouts", intent=i.Timeouts),
    AnnotationSpec("proxy-read-timeout", EXT, "Default pause allowed between reads from upstream, in seconds",
                   p.parse_seconds, p.Duration.of_seconds(60), "timeout", "extension: timeouts", intent=i.Timeouts),
    # --- client addresses
    AnnotationSpec("use-forwarded-headers", EXT, "Trusts X-Forwarded-For/-Proto/-Host from any client (the "
                   "client address of allow lists and rate limits comes from them)", p.parse_bool, False,
                   "proxy", "extension: forwarded-headers trust", intent=i.ForwardedHeaders),
    AnnotationSpec("forwarded-for-header", EXT, "Header the client address is read from", p.parse_header_name,
                   "X-Forwarded-For", "proxy", "extension: forwarded-headers trust", intent=i.ForwardedHeaders),
    AnnotationSpec("proxy-real-ip-cidr", EXT, "Proxies whose forwarded headers are trusted", p.parse_cidrs, (),
                   "proxy", "extension: forwarded-headers trust", intent=i.ForwardedHeaders),
    AnnotationSpec("use-proxy-protocol", EXT, "Reads the client address from the PROXY protocol", p.parse_bool,
                   False, "proxy", "extension: forwarded-headers trust", intent=i.ForwardedHeaders),
    AnnotationSpec("compute-full-forwarded-for", EXT, "Appends the peer to X-Forwarded-For instead of "
                   "replacing it", p.parse_bool, False, "proxy", "extension: forwarded-headers trust",
                   intent=i.ForwardedHeaders),
    # --- TLS and HSTS
    AnnotationSpec("ssl-protocols", EXT, "TLS versions offered by every HTTPS server", p.parse_ssl_protocols,
                   ("TLSv1.2", "TLSv1.3"), "tls", "extension: listener TLS options", intent=i.Opaque),
    AnnotationSpec("ssl-ciphers", EXT, "TLS cipher list offered by every HTTPS server", p.parse_ciphers, None,
                   "tls", "extension: listener TLS options", intent=i.Opaque),
    AnnotationSpec("ssl-prefer-server-ciphers", EXT, "Makes the server's cipher order win", p.parse_bool, True,
                   "tls", "extension: listener TLS options", intent=i.Opaque),
    AnnotationSpec("hsts", EXACT, "Adds Strict-Transport-Security to HTTPS responses (on by default)",
                   p.parse_bool, True, "headers", "ResponseHeaderModifier on the HTTPS routes"),
    AnnotationSpec("hsts-max-age", EXACT, "max-age of the HSTS header, in seconds", p.parse_int, 31_536_000,
                   "headers", "ResponseHeaderModifier on the HTTPS routes"),
    AnnotationSpec("hsts-include-subdomains", EXACT, "includeSubDomains in the HSTS header", p.parse_bool, True,
                   "headers", "ResponseHeaderModifier on the HTTPS routes"),
    AnnotationSpec("hsts-preload", EXACT, "preload in the HSTS header", p.parse_bool, False, "headers",
                   "ResponseHeaderModifier on the HTTPS routes"),
    # --- redirects the conversion already follows
    AnnotationSpec("ssl-redirect", EXACT, "Default of the ssl-redirect annotation", p.parse_bool, True,
                   "redirect", "HTTPS redirect routes"),
    AnnotationSpec("force-ssl-redirect", EXACT, "Default of the force-ssl-redirect annotation", p.parse_bool,
                   False, "redirect", "HTTPS redirect routes"),
    AnnotationSpec("http-redirect-code", EXACT, "Status of the HTTPS redirect", p.parse_int, 308, "redirect",
                   "RequestRedirect statusCode"),
    AnnotationSpec("no-tls-redirect-locations", EXACT, "Paths the HTTPS redirect skips", _locations,
                   ("/.well-known/acme-challenge",), "redirect", "rules kept on the HTTP listener"),
    AnnotationSpec("preserve-trailing-slash", EXACT, "Default of the preserve-trailing-slash annotation",
                   p.parse_bool, False, "redirect", "Gateway API behaviour"),
    AnnotationSpec("use-port-in-redirects", APPROX, "Puts the port into redirects nginx builds", p.parse_bool,
                   False, "redirect", "RequestRedirect port"),
    AnnotationSpec("relative-redirects", UNSUP, "Relative Location headers in nginx's own redirects",
                   p.parse_bool, False, "redirect", "not expressible"),
    AnnotationSpec("allow-cross-namespace-resources", EXACT, "Whether annotations may name Secrets and ConfigMaps "
                   "of other namespaces", p.parse_bool, False, "auth", "decides which references are honoured"),
    AnnotationSpec("annotation-value-word-blocklist", EXACT, "Words that make the controller refuse an annotation "
                   "value", _locations, (), "snippet", "decides which annotations are honoured"),
    AnnotationSpec("enable-real-ip", EXT, "Takes the client address from forwarded-for-header (trusting "
                   "proxy-real-ip-cidr)", p.parse_bool, False, "proxy", "extension: forwarded-headers trust",
                   intent=i.ForwardedHeaders),
    # --- process and protocol tuning: no Gateway API form, and no effect on which requests pass
    AnnotationSpec("use-gzip", UNSUP, "Compresses responses with gzip", p.parse_bool, False, "proxy",
                   "not expressible (response compression)"),
    AnnotationSpec("enable-brotli", UNSUP, "Compresses responses with brotli", p.parse_bool, False, "proxy",
                   "not expressible (response compression)"),
    AnnotationSpec("log-format-upstream", UNSUP, "Access log format", p.parse_text, None, "observability",
                   "not expressible (the implementation's access log)"),
    AnnotationSpec("enable-opentelemetry", UNSUP, "OpenTelemetry tracing for every location", p.parse_bool, False,
                   "observability", "not expressible (the implementation's tracing)"),
    AnnotationSpec("worker-processes", UNSUP, "nginx worker processes", p.parse_text, "auto", "proxy",
                   "not expressible (proxy sizing)"),
    AnnotationSpec("keep-alive", UNSUP, "Client keepalive timeout, in seconds", p.parse_int, 75, "timeout",
                   "not expressible"),
    AnnotationSpec("keep-alive-requests", UNSUP, "Requests per client keepalive connection", p.parse_int, 1000,
                   "timeout", "not expressible"),
    AnnotationSpec("upstream-keepalive-connections", UNSUP, "Idle keepalive connections kept per upstream",
                   p.parse_int, 320, "backend", "not expressible"),
    AnnotationSpec("client-body-buffer-size", UNSUP, "Memory buffer for request bodies", p.parse_size, None,
                   "buffering", "not expressible"),
    AnnotationSpec("large-client-header-buffers", UNSUP, "Buffers for large request headers", p.parse_text,
                   "4 8k", "buffering", "not expressible (requests with larger headers get 400 under nginx)"),
    AnnotationSpec("proxy-buffer-size", EXT, "Buffer for the upstream response headers", p.parse_size,
                   p.Size("4k", 4096), "buffering", "extension: buffer tuning", intent=i.Buffering),
    AnnotationSpec("global-allowed-response-headers", EXACT, "Headers the custom-headers annotation may set",
                   _locations, (), "headers", "ResponseHeaderModifier (custom-headers)"),
]

SETTINGS = AnnotationTable("", "NGINX", _ROWS, FAMILY_ASPECTS)


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """Where the controller's settings come from (for notes and provenance)."""

    kind: str  # "ConfigMap", or "controller" when there is none (defaults)
    namespace: str
    name: str
    origin: str = ""

    def prov(self, key: str) -> Provenance:
        return Provenance(self.kind, self.namespace, self.name, key, self.origin)

    @property
    def subject(self) -> str:
        return self.prov("").subject


@dataclass(frozen=True, slots=True)
class GlobalPolicy:
    """The controller's global intents: per rule (replaced by an Ingress's own annotations)
    and per Gateway."""

    auth: i.ExternalAuth | None
    no_auth_locations: tuple[str, ...]
    allow: i.IPAccess | None
    deny: i.IPAccess | None
    gateway: tuple[i.Intent, ...]

    def rule_intents(self, ann: Annotations, path: str) -> list[i.Intent]:
        """The global intents a location of an Ingress with these annotations carries."""
        out: list[i.Intent] = []
        if (self.auth is not None and ann.get("auth-url") is None and ann.get("enable-global-auth")
                and not any(path.startswith(loc) for loc in self.no_auth_locations)):
            out.append(self.auth)
        if self.allow is not None and not ann.get("allowlist-source-range"):
            out.append(self.allow)
        if self.deny is not None and not ann.get("denylist-source-range"):
            out.append(self.deny)
        return out


def read_settings(config: Mapping[str, str], source: ConfigSource, notes: Notes) -> GlobalPolicy:
    """Read the ConfigMap through :data:`SETTINGS` (noting each key) and build the global intents."""
    items = [(k, k, config[k]) for k in sorted(config)]
    s = SETTINGS.parse(items, notes, source.subject, source.origin, (("*", ""),), noun="setting")
    forwarded = any(bool(s.get(k)) for k in ("use-forwarded-headers", "use-proxy-protocol", "enable-real-ip"))
    client: Literal["peer", "forwarded"] = "forwarded" if forwarded else "peer"
    auth = None
    url = s.get("global-auth-url")
    if url:
        auth = i.ExternalAuth(
            url=str(url),
            method=str(s.get("global-auth-method")).upper() if s.get("global-auth-method") else None,
            response_headers=tuple(s.get("global-auth-response-headers")),
            signin_url=s.get("global-auth-signin"),
            signin_redirect_param=s.get("global-auth-signin-redirect-param") if s.get("global-auth-signin") else None,
            request_redirect=s.get("global-auth-request-redirect"),
            cache_key=s.get("global-auth-cache-key"),
            cache_duration=s.raw.get("global-auth-cache-duration"),
            always_set_cookie=bool(s.get("global-auth-always-set-cookie")),
            provenance=source.prov("global-auth-url"),
        )
    allow = tuple(str(n) for n in s.get("whitelist-source-range"))
    deny = tuple(str(n) for n in s.get("denylist-source-range"))
    gateway: list[i.Intent] = []
    blocked = tuple(str(n) for n in s.get("block-cidrs"))
    if blocked:
        gateway.append(i.IPAccess(deny=blocked, client_address=client, scope="gateway",
                                  provenance=source.prov("block-cidrs")))
    for key in ("block-user-agents", "block-referers"):
        if s.get(key):
            gateway.append(i.Opaque(vendor="ingress-nginx", key=key, raw=s.raw[key],
                                    protection=Security.ACCESS_CONTROL, affects=("status",),
                                    provenance=source.prov(key)))
    if s.get("enable-modsecurity"):
        gateway.append(i.Waf(engine="modsecurity", core_rule_set=bool(s.get("enable-owasp-modsecurity-crs")),
                             provenance=source.prov("enable-modsecurity")))
    body: p.BodySizeLimit = s.get("proxy-body-size")
    gateway.append(i.BodyLimit(max_bytes=body.max_bytes, provenance=source.prov("proxy-body-size"),
                               implicit="proxy-body-size" not in s))
    if s.get("proxy-buffer-size") and "proxy-buffer-size" in s:
        size: p.Size = s.get("proxy-buffer-size")
        gateway.append(i.Buffering(response_header_bytes=size.bytes, provenance=source.prov("proxy-buffer-size")))
    if forwarded:
        key = next(k for k in ("use-forwarded-headers", "use-proxy-protocol", "enable-real-ip") if s.get(k))
        gateway.append(i.ForwardedHeaders(trust=True, header=str(s.get("forwarded-for-header")),
                                          trusted=tuple(str(n) for n in s.get("proxy-real-ip-cidr")),
                                          provenance=source.prov(key)))
    for key in ("ssl-protocols", "ssl-ciphers"):
        if key in s:
            gateway.append(i.Opaque(vendor="ingress-nginx", key=key, raw=s.raw[key], provenance=source.prov(key)))
    return GlobalPolicy(
        auth=auth,
        no_auth_locations=tuple(s.get("no-auth-locations")),
        allow=i.IPAccess(allow=allow, client_address=client, provenance=source.prov("whitelist-source-range"))
        if allow else None,
        deny=i.IPAccess(deny=deny, client_address=client, provenance=source.prov("denylist-source-range"))
        if deny else None,
        gateway=tuple(gateway),
    )


# Names the ingress-nginx controller ConfigMap has in its Helm chart and static manifests.
CONTROLLER_CONFIGMAPS = ("ingress-nginx-controller", "nginx-configuration", "nginx-ingress-controller")


def _found_configmaps(resources: ResourceSet) -> list[tuple[str, str]]:
    return sorted((ns, name) for ns, name in resources.config_maps
                  if name in CONTROLLER_CONFIGMAPS or name.endswith("-ingress-nginx-controller"))


def config_source(ctx: ProviderContext) -> ConfigSource:
    """Where the controller settings come from: --controller-config, a ConfigMap in the input,
    or nowhere (the controller's defaults)."""
    if ctx.options.controller_config:
        return ConfigSource("ConfigMap", "", "--controller-config")
    found = _found_configmaps(ctx.resources)
    if found:
        return ConfigSource("ConfigMap", found[0][0], found[0][1])
    return ConfigSource("controller", "", "ingress-nginx")


def controller_config_of(resources: ResourceSet, notes: Notes | None = None) -> Mapping[str, str]:
    """The controller ConfigMap found among the input objects (``--controller-config`` wins)."""
    found = _found_configmaps(resources)
    if not found:
        return {}
    if notes is not None:
        ns, name = found[0]
        notes.add(Note(code="NGINX-CONTROLLER-CONFIG", level=Level.INFO,
                       message="controller defaults read from this ConfigMap in the input",
                       subject=f"ConfigMap {ns}/{name}",
                       instead="pass --controller-config to use another" if len(found) == 1
                       else f"{len(found)} candidates; the first is used"))
    return resources.config_maps[found[0]]
