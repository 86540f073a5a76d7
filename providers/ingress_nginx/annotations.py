"""The ingress-nginx annotation table: every ``nginx.ingress.kubernetes.io/*`` key it reads.

One :class:`~ing2gw.provider.AnnotationSpec` per key (136 keys plus the two deprecated
``whitelist`` spellings), each with its parser from :mod:`.parsers`, the controller's default,
a one-line description, the Gateway API construct it becomes and how faithfully
(:class:`~ing2gw.notes.Fidelity`). Feature code reads values through ``TABLE.read`` and the
constants below; ``ing2gw providers ingress-nginx`` prints the table. Where fidelity depends
on the value (``noted_by_feature``), the feature module that converts the key owes the note.
"""

from __future__ import annotations

from ing2gw import intents as i
from ing2gw.notes import Fidelity
from ing2gw.provider import AnnotationSpec, AnnotationTable

from . import parsers as p  # noqa: TID251 (relative import inside the provider package)

__all__ = [
    "DEFAULT_CANARY_WEIGHT_TOTAL",
    "DEFAULT_CORS_ALLOW_CREDENTIALS",
    "DEFAULT_CORS_ALLOW_HEADERS",
    "DEFAULT_CORS_ALLOW_METHODS",
    "DEFAULT_CORS_ALLOW_ORIGIN",
    "DEFAULT_CORS_EXPOSE_HEADERS",
    "DEFAULT_CORS_MAX_AGE",
    "DEFAULT_HTTP_REDIRECT_CODE",
    "DEFAULT_LIMIT_BURST_MULTIPLIER",
    "DEFAULT_LIMIT_REQ_STATUS_CODE",
    "DEFAULT_NO_TLS_REDIRECT_LOCATIONS",
    "DEFAULT_PERMANENT_REDIRECT_CODE",
    "DEFAULT_PROXY_BODY_SIZE",
    "DEFAULT_SESSION_COOKIE_NAME",
    "DEFAULT_TEMPORAL_REDIRECT_CODE",
    "FAMILIES",
    "PREFIX",
    "SNIPPET_KEYS",
    "TABLE",
]

PREFIX = "nginx.ingress.kubernetes.io"

# --- controller defaults feature code needs ---------------------------------------------

DEFAULT_HTTP_REDIRECT_CODE = 308  # ConfigMap http-redirect-code: ssl-redirect, from-to-www
DEFAULT_PERMANENT_REDIRECT_CODE = p.DEFAULT_PERMANENT_REDIRECT_CODE  # 301
DEFAULT_TEMPORAL_REDIRECT_CODE = p.DEFAULT_TEMPORAL_REDIRECT_CODE  # 302
DEFAULT_NO_TLS_REDIRECT_LOCATIONS = ("/.well-known/acme-challenge",)  # ConfigMap default

DEFAULT_CORS_ALLOW_ORIGIN = p.CorsOrigins(("*",))
DEFAULT_CORS_ALLOW_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
DEFAULT_CORS_ALLOW_HEADERS = (
    "DNT", "Keep-Alive", "User-Agent", "X-Requested-With", "If-Modified-Since",
    "Cache-Control", "Content-Type", "Range", "Authorization",
)
DEFAULT_CORS_EXPOSE_HEADERS: tuple[str, ...] = ()
DEFAULT_CORS_ALLOW_CREDENTIALS = True
DEFAULT_CORS_MAX_AGE = 1_728_000  # seconds (20 days)

DEFAULT_SESSION_COOKIE_NAME = "INGRESSCOOKIE"
DEFAULT_CANARY_WEIGHT_TOTAL = 100
DEFAULT_LIMIT_BURST_MULTIPLIER = 5
DEFAULT_LIMIT_REQ_STATUS_CODE = 503  # ConfigMap limit-req-status-code
DEFAULT_PROXY_BODY_SIZE = p.BodySizeLimit("1m", 1024 * 1024)

# The five Critical-risk annotations: with the default annotations-risk-level (High) the
# controller refuses the whole Ingress that carries any of them.
SNIPPET_KEYS = frozenset({
    "configuration-snippet",
    "server-snippet",
    "auth-snippet",
    "modsecurity-snippet",
    "stream-snippet",
})

FAMILIES = frozenset({
    "routing", "rewrite", "redirect", "tls", "backend", "canary", "auth", "mtls", "access",
    "ratelimit", "cors", "waf", "affinity", "loadbalancing", "mirror", "timeout", "retry",
    "buffering", "proxy", "headers", "backend-tls", "errors", "observability", "snippet",
})

EXACT = Fidelity.EXACT
APPROX = Fidelity.APPROXIMATE
EXT = Fidelity.EXTENSION
UNSUP = Fidelity.UNSUPPORTED

_on_off = p.parse_on_off

_SPECS = [
    # --- 3.1 routing, rewrite, redirect, TLS ---------------------------------------------
    AnnotationSpec(
        "use-regex", APPROX, "Treats the Ingress paths as case-insensitive, start-anchored "
        "regular expressions and switches every location of the host to regex matching",
        p.parse_bool, False, "routing",
        "HTTPRoute path match RegularExpression (implementation-specific dialect)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "rewrite-target", APPROX, "Replaces the whole request URI with the target, where $n are "
        "the path's capture groups; also turns on regex matching for the host",
        p.parse_rewrite_target, None, "rewrite",
        "HTTPRoute URLRewrite filter (ReplaceFullPath without captures, ReplacePrefixMatch "
        "for the P(/|$)(.*) -> /$2 form; other captures not expressible)",
        noted_by_feature=True,
        changes_answer=True,
    ),
    AnnotationSpec(
        "app-root", APPROX, "Answers a request for exactly / with a 302 to this path on the "
        "same scheme and host, dropping the query",
        p.parse_app_root, None, "redirect",
        "Exact / rule with RequestRedirect ReplaceFullPath (302); a query on / is usually kept "
        "by Gateway implementations",
    ),
    AnnotationSpec(
        "x-forwarded-prefix", EXACT, "Sends X-Forwarded-Prefix with this value upstream, but only "
        "on locations that rewrite-target actually rewrites",
        p.parse_simple_path, None, "headers",
        "RequestHeaderModifier set X-Forwarded-Prefix (only together with a rewrite)",
    ),
    AnnotationSpec(
        "permanent-redirect", APPROX, "Returns a redirect to this fixed URL for every request on "
        "the location; the request's path and query are not carried over",
        p.parse_permanent_redirect, None, "redirect",
        "HTTPRoute RequestRedirect (scheme, hostname, port, ReplaceFullPath); the request query "
        "is usually kept by Gateway implementations and a query in the URL is not expressible",
        changes_answer=True,
    ),
    AnnotationSpec(
        "permanent-redirect-code", EXACT, "Status code for permanent-redirect; values outside "
        "300-308 fall back to 301",
        p.parse_permanent_redirect_code, DEFAULT_PERMANENT_REDIRECT_CODE, "redirect",
        "RequestRedirect statusCode (301/302 core, 303/307/308 extended; 300/304/305/306 not "
        "expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "temporal-redirect", APPROX, "Like permanent-redirect with a temporary status, and wins "
        "when both are set; must be an absolute http(s) URL",
        p.parse_temporal_redirect, None, "redirect",
        "HTTPRoute RequestRedirect; request query usually kept by Gateway implementations",
        changes_answer=True,
    ),
    AnnotationSpec(
        "temporal-redirect-code", EXACT, "Status code for temporal-redirect; values outside "
        "300-307 fall back to 302",
        p.parse_temporal_redirect_code, DEFAULT_TEMPORAL_REDIRECT_CODE, "redirect",
        "RequestRedirect statusCode (301/302 core, 303/307 extended; 300/304/305/306 not "
        "expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "relative-redirects", UNSUP, "Makes redirects nginx generates itself keep a relative "
        "Location header (absolute_redirect off)",
        p.parse_bool, False, "redirect", "not expressible",
    ),
    AnnotationSpec(
        "use-port-in-redirects", APPROX, "Puts the listening port into the Location of "
        "redirects nginx builds, e.g. :443 in the HTTPS redirect",
        p.parse_bool, False, "redirect",
        "RequestRedirect port; Gateway API leaves the well-known ports 80/443 out of Location",
    ),
    AnnotationSpec(
        "from-to-www-redirect", APPROX, "Adds a server for the www/non-www twin of the host that "
        "redirects (308) to the host, with an explicit port and one trailing slash removed",
        p.parse_bool, False, "redirect",
        "extra HTTPRoute for the twin hostname with RequestRedirect hostname (308); the explicit "
        ":80/:443 and slash stripping are not reproduced",
    ),
    AnnotationSpec(
        "ssl-redirect", APPROX, "Redirects plain-HTTP requests to HTTPS (308) when the host has "
        "a certificate; on by default, false opts the location out",
        p.parse_bool, True, "redirect",
        "RequestRedirect scheme https on the HTTP listener (308); nginx strips one trailing "
        "slash from the URI, Gateway API keeps it",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "force-ssl-redirect", APPROX, "Redirects plain-HTTP requests to HTTPS even without a "
        "certificate, trusting X-Forwarded-Proto when forwarded headers are enabled",
        p.parse_bool, False, "redirect",
        "RequestRedirect scheme https on the HTTP listener (308); X-Forwarded-Proto is not "
        "consulted and the trailing slash is kept",
        noted_by_feature=True,
        changes_answer=True,
    ),
    AnnotationSpec(
        "preserve-trailing-slash", EXACT, "Keeps the URI's trailing slash in the HTTPS redirect "
        "(by default nginx removes it)",
        p.parse_bool, False, "redirect",
        "Gateway API behaviour (true); the default stripping is not expressible",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "ssl-passthrough", EXACT, "Hands the TLS stream for the host unterminated to the backend "
        "of its / path, chosen by SNI (needs the controller's --enable-ssl-passthrough)",
        p.parse_bool, False, "tls",
        "TLS listener mode Passthrough + TLSRoute",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "ssl-ciphers", EXT, "Sets the TLS cipher list offered for the host",
        p.parse_ciphers, None, "tls", "extension: listener TLS options (ciphers)",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "ssl-prefer-server-ciphers", EXT, "Makes the server's cipher order win for the host",
        p.parse_bool, None, "tls", "extension: listener TLS options",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "backend-protocol", APPROX, "Protocol spoken to the backend: HTTP, HTTPS, AUTO_HTTP "
        "(client's scheme), GRPC, GRPCS or FCGI",
        p.parse_backend_protocol, p.BackendProtocol.HTTP, "backend",
        "HTTPS/GRPCS: BackendTLSPolicy; GRPC: GRPCRoute or appProtocol kubernetes.io/h2c; "
        "AUTO_HTTP and FCGI not expressible",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "upstream-vhost", EXACT, "Host header sent to the backend instead of the client's",
        p.parse_hostname_or_variable, None, "proxy",
        "HTTPRoute URLRewrite hostname (nginx variables not expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "server-alias", EXACT, "Extra server names that serve every path of the host",
        p.parse_server_aliases, (), "routing",
        "extra HTTPRoute hostnames (nginx wildcard and regex names not expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "default-backend", UNSUP, "Service used when the path's Service has no endpoints, and "
        "for custom-http-errors",
        p.parse_service_name, None, "errors",
        "not expressible (no endpoint fail-over in Gateway API)",
        intent=i.ErrorPages,
    ),
    AnnotationSpec(
        "custom-http-errors", EXT, "Intercepts these upstream status codes and serves the "
        "response from the default backend instead",
        p.parse_custom_http_errors, (), "errors", "extension: custom error pages",
        intent=i.ErrorPages, changes_answer=True,
    ),
    AnnotationSpec(
        "disable-proxy-intercept-errors", UNSUP, "Keeps custom-http-errors configured but stops "
        "intercepting upstream errors",
        p.parse_bool, False, "errors", "not expressible",
        intent=i.ErrorPages,
    ),
    AnnotationSpec(
        "canary", EXACT, "Marks the Ingress as an alternative backend for the same host and path "
        "of another Ingress",
        p.parse_bool, False, "canary",
        "backendRef weights and extra header rules on the primary's HTTPRoute",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "canary-by-header", EXACT, "Header that sends a request to the canary when its value is "
        "always and to the primary when it is never",
        p.parse_header_name, None, "canary",
        "HTTPRoute header match (Exact always -> canary, never -> primary)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "canary-by-header-value", EXACT, "Exact header value that selects the canary (replaces "
        "always/never)",
        p.parse_text, None, "canary", "HTTPRoute header match Exact",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "canary-by-header-pattern", APPROX, "PCRE searched anywhere in the header value; a match "
        "selects the canary",
        p.parse_text, None, "canary",
        "HTTPRoute header match RegularExpression (implementation-specific dialect, unanchored "
        "search vs full match)",
    ),
    AnnotationSpec(
        "canary-by-cookie", APPROX, "Cookie whose value always or never forces the canary or the "
        "primary",
        p.parse_cookie_name, None, "canary",
        "RegularExpression match on the Cookie header (implementation-specific)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "canary-weight", EXACT, "Share of requests (out of canary-weight-total) sent to the canary",
        p.parse_canary_weight, 0, "canary", "backendRef weights",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "canary-weight-total", EXACT, "Denominator of canary-weight; totals up to 100 count as 100",
        p.parse_canary_weight_total, DEFAULT_CANARY_WEIGHT_TOTAL, "canary", "backendRef weights",
        noted_by_feature=True,
    ),
    # --- 3.2 authentication and access control -------------------------------------------
    AnnotationSpec(
        "auth-type", EXT, "Turns on HTTP basic or digest authentication for the location",
        p.parser_for_enum(p.AuthType, what="auth_type"), None, "auth",
        "extension: basic-auth (digest not expressible)",
        intent=i.BasicAuth, changes_answer=True,
    ),
    AnnotationSpec(
        "auth-secret", EXT, "Secret holding the users and password hashes for auth-type",
        p.parse_object_ref, None, "auth", "extension: basic-auth",
        intent=i.BasicAuth,
    ),
    AnnotationSpec(
        "auth-secret-type", EXT, "Layout of auth-secret: an htpasswd file (auth-file) or one key "
        "per user (auth-map)",
        p.parser_for_enum(p.AuthSecretType, what="auth_secret_type"), p.AuthSecretType.AUTH_FILE,
        "auth", "extension: basic-auth",
        intent=i.BasicAuth,
    ),
    AnnotationSpec(
        "auth-realm", EXT, "Realm named in the WWW-Authenticate challenge",
        p.parse_text, None, "auth", "extension: basic-auth",
        intent=i.BasicAuth,
    ),
    AnnotationSpec(
        "auth-url", EXT, "External authentication service asked before each request; a 2xx "
        "answer lets it through",
        p.parse_url_with_variables, None, "auth",
        "extension: external-auth (the Gateway API ExternalAuth filter is experimental)",
        intent=i.ExternalAuth, changes_answer=True,
    ),
    AnnotationSpec(
        "auth-method", EXT, "HTTP method of the external authentication subrequest",
        p.parse_http_method, None, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-signin", EXT, "Where to send the client (302 with ?rd=<original URL>) when "
        "external authentication answers 401",
        p.parse_location, None, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-signin-redirect-param", EXT, "Query parameter that carries the original URL to "
        "auth-signin (rd by default)",
        p.parse_header_name, "rd", "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-response-headers", EXT, "Headers copied from the authentication response into the "
        "upstream request",
        p.parse_header_list, (), "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-proxy-set-headers", EXT, "ConfigMap of extra headers sent to the authentication "
        "service",
        p.parse_object_ref, None, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-request-redirect", EXT, "Value of X-Auth-Request-Redirect sent to the "
        "authentication service",
        p.parse_location, None, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-cache-key", EXT, "Caches authentication answers under this nginx expression",
        p.parse_text, None, "auth", "extension: external-auth (cache)",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-cache-duration", EXT, "How long cached authentication answers stay valid, per "
        "status code",
        p.parse_auth_cache_duration, None, "auth", "extension: external-auth (cache)",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-keepalive", UNSUP, "Idle keepalive connections kept open to the authentication "
        "service",
        p.parse_non_negative_int, 0, "auth", "not expressible",
    ),
    AnnotationSpec(
        "auth-keepalive-share-vars", UNSUP, "Lets the authentication subrequest share nginx "
        "variables with the main request",
        p.parse_bool, False, "auth", "not expressible",
    ),
    AnnotationSpec(
        "auth-keepalive-requests", UNSUP, "Requests served per keepalive connection to the "
        "authentication service",
        p.parse_positive_int, 1000, "auth", "not expressible",
    ),
    AnnotationSpec(
        "auth-keepalive-timeout", UNSUP, "Idle timeout of keepalive connections to the "
        "authentication service",
        p.parse_seconds, p.Duration.of_seconds(60), "auth", "not expressible",
    ),
    AnnotationSpec(
        "auth-always-set-cookie", EXT, "Passes the authentication service's Set-Cookie to the "
        "client even on failed requests",
        p.parse_bool, False, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "auth-snippet", UNSUP, "Raw nginx configuration for the authentication location "
        "(Critical risk)",
        p.parse_snippet, None, "snippet", "not expressible; review by hand",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "enable-global-auth", EXT, "Applies the ConfigMap's global external authentication to "
        "this Ingress (true by default)",
        p.parse_bool, True, "auth", "extension: external-auth",
        intent=i.ExternalAuth,
    ),
    AnnotationSpec(
        "satisfy", EXT, "Whether all access checks (IP rules, basic, external auth) must pass "
        "or any one",
        p.parser_for_enum(p.Satisfy, what="satisfy"), p.Satisfy.ALL, "access",
        "extension: access policy combination",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "auth-tls-secret", APPROX, "CA Secret that turns on client-certificate verification for "
        "the host",
        p.parse_qualified_object_ref, None, "mtls",
        "Gateway tls.frontend client-certificate validation (per listener port, not per host)",
        noted_by_feature=True,
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "auth-tls-verify-client", EXT, "Client-certificate mode: on, off, optional or "
        "optional_no_ca",
        p.parser_for_enum(p.TLSVerifyClient, what="tls_verify_client"), p.TLSVerifyClient.ON,
        "mtls", "extension: client-certificate policy",
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "auth-tls-verify-depth", EXT, "Maximum length of the client-certificate chain",
        p.parse_non_negative_int, 1, "mtls", "extension: client-certificate policy",
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "auth-tls-error-page", UNSUP, "Redirect target for failed client-certificate checks "
        "instead of a 400",
        p.parse_location, None, "mtls", "not expressible",
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "auth-tls-pass-certificate-to-upstream", EXT, "Sends the URL-encoded client certificate "
        "upstream in the ssl-client-cert header",
        p.parse_bool, False, "mtls", "extension: client-certificate policy",
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "auth-tls-match-cn", EXT, "Regular expression the client certificate's subject must "
        "match, else 403",
        p.parse_text, None, "mtls", "extension: client-certificate policy",
        intent=i.ClientCertAuth,
    ),
    AnnotationSpec(
        "allowlist-source-range", EXT, "Client IPs/CIDRs allowed; all others get 403",
        p.parse_cidrs, (), "access", "extension: ip-allowlist",
        intent=i.IPAccess, changes_answer=True,
    ),
    AnnotationSpec(
        "whitelist-source-range", EXT, "Deprecated spelling of allowlist-source-range",
        p.parse_cidrs, (), "access", "extension: ip-allowlist",
        alias_of="allowlist-source-range",
        intent=i.IPAccess, changes_answer=True,
    ),
    AnnotationSpec(
        "denylist-source-range", EXT, "Client IPs/CIDRs refused with 403, checked before the "
        "allowlist",
        p.parse_cidrs, (), "access", "extension: ip-denylist",
        intent=i.IPAccess, changes_answer=True,
    ),
    AnnotationSpec(
        "limit-connections", EXT, "Concurrent connections allowed per client IP (per replica)",
        p.parse_non_negative_int, 0, "ratelimit", "extension: rate-limit",
        intent=i.RateLimit, changes_answer=True,
    ),
    AnnotationSpec(
        "limit-rps", EXT, "Requests per second allowed per client IP, with a burst of "
        "rps x limit-burst-multiplier",
        p.parse_non_negative_int, 0, "ratelimit", "extension: rate-limit",
        intent=i.RateLimit, changes_answer=True,
    ),
    AnnotationSpec(
        "limit-rpm", EXT, "Requests per minute allowed per client IP",
        p.parse_non_negative_int, 0, "ratelimit", "extension: rate-limit",
        intent=i.RateLimit, changes_answer=True,
    ),
    AnnotationSpec(
        "limit-burst-multiplier", EXT, "Burst size as a multiple of the rate limit",
        p.parse_positive_int, DEFAULT_LIMIT_BURST_MULTIPLIER, "ratelimit",
        "extension: rate-limit",
        intent=i.RateLimit,
    ),
    AnnotationSpec(
        "limit-rate", UNSUP, "Response bandwidth per connection, in KB/s",
        p.parse_non_negative_int, 0, "ratelimit", "not expressible (bandwidth limit)",
    ),
    AnnotationSpec(
        "limit-rate-after", UNSUP, "KB sent at full speed before limit-rate applies",
        p.parse_non_negative_int, 0, "ratelimit", "not expressible (bandwidth limit)",
    ),
    AnnotationSpec(
        "limit-allowlist", EXT, "Client IPs/CIDRs exempt from the rate limits",
        p.parse_cidrs, (), "ratelimit", "extension: rate-limit",
        intent=i.RateLimit,
    ),
    AnnotationSpec(
        "limit-whitelist", EXT, "Deprecated spelling of limit-allowlist",
        p.parse_cidrs, (), "ratelimit", "extension: rate-limit",
        alias_of="limit-allowlist",
        intent=i.RateLimit,
    ),
    AnnotationSpec(
        "enable-cors", APPROX, "Adds CORS response headers and answers OPTIONS from an allowed "
        "origin with 204 (with the default origin *, every OPTIONS request)",
        p.parse_bool, False, "cors",
        "HTTPRoute CORS filter (standard since v1.5); preflight handling and * echoing differ",
        noted_by_feature=True,
        changes_answer=True,
    ),
    AnnotationSpec(
        "cors-allow-origin", EXACT, "Origins allowed for CORS (comma list, * or *.domain "
        "wildcards)",
        p.parse_cors_origins, DEFAULT_CORS_ALLOW_ORIGIN, "cors", "CORS filter allowOrigins",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "cors-allow-methods", EXACT, "Methods listed in Access-Control-Allow-Methods",
        p.parse_cors_methods, DEFAULT_CORS_ALLOW_METHODS, "cors", "CORS filter allowMethods",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "cors-allow-headers", EXACT, "Headers listed in Access-Control-Allow-Headers",
        p.parse_cors_headers, DEFAULT_CORS_ALLOW_HEADERS, "cors", "CORS filter allowHeaders",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "cors-expose-headers", EXACT, "Headers listed in Access-Control-Expose-Headers",
        p.parse_cors_expose_headers, DEFAULT_CORS_EXPOSE_HEADERS, "cors",
        "CORS filter exposeHeaders",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "cors-allow-credentials", EXACT, "Whether Access-Control-Allow-Credentials: true is sent "
        "(true by default)",
        p.parse_bool, DEFAULT_CORS_ALLOW_CREDENTIALS, "cors", "CORS filter allowCredentials",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "cors-max-age", EXACT, "Seconds a browser may cache the preflight answer",
        p.parse_int, DEFAULT_CORS_MAX_AGE, "cors", "CORS filter maxAge",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "enable-modsecurity", EXT, "Turns on the ModSecurity web application firewall for the "
        "location",
        p.parse_bool, False, "waf", "extension: waf",
        intent=i.Waf,
    ),
    AnnotationSpec(
        "enable-owasp-core-rules", EXT, "Loads the OWASP Core Rule Set into ModSecurity",
        p.parse_bool, False, "waf", "extension: waf",
        intent=i.Waf,
    ),
    AnnotationSpec(
        "modsecurity-transaction-id", EXT, "nginx expression used as the ModSecurity "
        "transaction id",
        p.parse_nginx_variable, None, "waf", "extension: waf",
        intent=i.Waf,
    ),
    AnnotationSpec(
        "modsecurity-snippet", UNSUP, "Raw ModSecurity rules for the location (Critical risk)",
        p.parse_snippet, None, "snippet", "not expressible; review by hand",
        noted_by_feature=True,
    ),
    # --- 3.3 upstream selection, affinity, load balancing --------------------------------
    AnnotationSpec(
        "affinity", APPROX, "Sticky sessions by cookie for the Service port",
        p.parser_for_enum(p.Affinity, what="affinity"), None, "affinity",
        "HTTPRoute rule sessionPersistence (experimental channel, needs --experimental); "
        "rebalancing on scale-out and cookie attributes differ",
        noted_by_feature=True,
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "affinity-mode", EXT, "balanced re-spreads sessions when pods scale; persistent never "
        "moves them",
        p.parser_for_enum(p.AffinityMode, what="affinity_mode"), p.AffinityMode.BALANCED,
        "affinity", "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "affinity-canary-behavior", UNSUP, "Whether a canary inherits the primary's affinity "
        "(sticky) or not (legacy)",
        p.parser_for_enum(p.AffinityCanaryBehavior, what="affinity_canary_behavior"),
        p.AffinityCanaryBehavior.STICKY, "affinity", "not expressible",
    ),
    AnnotationSpec(
        "session-cookie-name", EXACT, "Name of the affinity cookie",
        p.parse_cookie_name, DEFAULT_SESSION_COOKIE_NAME, "affinity",
        "sessionPersistence sessionName (experimental)",
        noted_by_feature=True,
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-path", EXT, "Path attribute of the affinity cookie",
        p.parse_cookie_path, None, "affinity", "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-domain", EXT, "Domain attribute of the affinity cookie",
        p.parse_cookie_domain, None, "affinity", "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-expires", APPROX, "Lifetime of the affinity cookie in seconds (Expires)",
        p.parse_int, None, "affinity",
        "sessionPersistence absoluteTimeout + lifetimeType Permanent (experimental)",
        noted_by_feature=True,
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-max-age", EXT, "Max-Age attribute of the affinity cookie in seconds",
        p.parse_int, None, "affinity", "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-secure", EXT, "Always sets the Secure flag on the affinity cookie",
        p.parse_bool, False, "affinity", "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-samesite", EXT, "SameSite attribute of the affinity cookie",
        p.parser_for_enum(p.SameSite, case_sensitive=False, what="samesite"), None, "affinity",
        "extension: session affinity",
        intent=i.SessionAffinity,
    ),
    AnnotationSpec(
        "session-cookie-conditional-samesite-none", UNSUP, "Leaves SameSite=None out for "
        "browsers known to mishandle it",
        p.parse_bool, False, "affinity", "not expressible",
    ),
    AnnotationSpec(
        "session-cookie-change-on-failure", UNSUP, "Picks a new endpoint and reissues the cookie "
        "when the pinned one fails",
        p.parse_bool, False, "affinity", "not expressible",
    ),
    AnnotationSpec(
        "load-balance", EXT, "Load-balancing algorithm for the Service port",
        p.parser_for_enum(p.LoadBalance, what="load_balance"), None, "loadbalancing",
        "extension: load-balancing policy",
        intent=i.LoadBalancing,
    ),
    AnnotationSpec(
        "upstream-hash-by", EXT, "nginx expression used as consistent-hash key to pick the "
        "endpoint",
        p.parse_text, None, "loadbalancing", "extension: load-balancing policy (hash)",
        intent=i.LoadBalancing,
    ),
    AnnotationSpec(
        "upstream-hash-by-subset", EXT, "Hashes to a group of endpoints instead of one",
        p.parse_bool, False, "loadbalancing", "extension: load-balancing policy (hash)",
        intent=i.LoadBalancing,
    ),
    AnnotationSpec(
        "upstream-hash-by-subset-size", EXT, "Number of endpoints in each hash subset",
        p.parse_positive_int, 3, "loadbalancing", "extension: load-balancing policy (hash)",
        intent=i.LoadBalancing,
    ),
    AnnotationSpec(
        "service-upstream", EXT, "Proxies to the Service's cluster IP instead of its endpoints",
        p.parse_bool, False, "loadbalancing", "extension: backend addressing",
        intent=i.LoadBalancing,
    ),
    AnnotationSpec(
        "mirror-target", APPROX, "Copies every request to this URL and ignores the answer",
        p.parse_url_with_variables, None, "mirror",
        "HTTPRoute RequestMirror when the URL names an in-cluster Service; otherwise an extension",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "mirror-host", EXT, "Host header of the mirrored request",
        p.parse_hostname_or_variable, None, "mirror", "extension: request mirror",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "mirror-request-body", UNSUP, "Whether the mirrored request carries the body (on by "
        "default)",
        _on_off, True, "mirror", "not expressible (Gateway API mirrors always carry the body)",
    ),
    # --- 3.4 proxy tuning, timeouts, buffering, headers ----------------------------------
    AnnotationSpec(
        "proxy-connect-timeout", EXT, "Timeout for opening the upstream connection, in seconds",
        p.parse_seconds, p.Duration.of_seconds(5), "timeout",
        "extension: timeouts (Gateway timeouts are end-to-end, not per connect)",
        intent=i.Timeouts,
    ),
    AnnotationSpec(
        "proxy-send-timeout", EXT, "Longest pause between two writes to the upstream, in seconds",
        p.parse_seconds, p.Duration.of_seconds(60), "timeout", "extension: timeouts",
        intent=i.Timeouts,
    ),
    AnnotationSpec(
        "proxy-read-timeout", APPROX, "Longest pause between two reads from the upstream, in seconds",
        p.parse_seconds, p.Duration.of_seconds(60), "timeout",
        "HTTPRoute rule timeouts.backendRequest (a total time, where nginx's is an idle timeout)",
        noted_by_feature=True,
        intent=i.Timeouts,
    ),
    AnnotationSpec(
        "proxy-next-upstream", EXT, "Failures after which the request is retried on another "
        "endpoint",
        p.parse_proxy_next_upstream, ("error", "timeout"), "retry",
        "extension: retry (HTTPRoute retry is experimental)",
        intent=i.Retries,
    ),
    AnnotationSpec(
        "proxy-next-upstream-timeout", EXT, "Time budget for retrying on other endpoints, in "
        "seconds (0 = unlimited)",
        p.parse_seconds, p.Duration(0), "retry", "extension: retry",
        intent=i.Retries,
    ),
    AnnotationSpec(
        "proxy-next-upstream-tries", EXT, "Maximum number of endpoints tried",
        p.parse_non_negative_int, 3, "retry", "extension: retry",
        intent=i.Retries,
    ),
    AnnotationSpec(
        "proxy-request-buffering", UNSUP, "Whether the request body is read fully before "
        "proxying",
        _on_off, True, "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-buffering", UNSUP, "Whether upstream responses are buffered",
        _on_off, False, "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-buffers-number", UNSUP, "Number of buffers for an upstream response",
        p.parse_positive_int, 4, "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-buffer-size", EXT, "Buffer for the first part of the upstream response (its "
        "headers)",
        p.parse_size, p.Size("4k", 4096), "buffering",
        "extension: buffer tuning (large upstream headers)",
        intent=i.Buffering,
    ),
    AnnotationSpec(
        "proxy-busy-buffers-size", UNSUP, "Buffer space that may be busy sending to the client",
        p.parse_size, None, "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-max-temp-file-size", UNSUP, "Largest temporary file for buffered responses",
        p.parse_size, p.Size("1024m", 1024**3), "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-body-size", EXT, "Largest request body accepted (413 above it); 0 means no limit",
        p.parse_body_size, DEFAULT_PROXY_BODY_SIZE, "proxy", "extension: request-size limit",
        intent=i.BodyLimit,
    ),
    AnnotationSpec(
        "client-body-buffer-size", UNSUP, "Memory buffer for request bodies",
        p.parse_size, None, "buffering", "not expressible",
    ),
    AnnotationSpec(
        "proxy-http-version", UNSUP, "HTTP version spoken to the upstream (1.0 or 1.1)",
        p.parser_for_enum(p.ProxyHTTPVersion, what="proxy_http_version"),
        p.ProxyHTTPVersion.V1_1, "proxy", "not expressible",
    ),
    AnnotationSpec(
        "proxy-cookie-domain", EXT, "Rewrites the Domain of upstream Set-Cookie headers",
        p.parse_proxy_cookie_rewrite, None, "headers", "extension: response cookie rewrite",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "proxy-cookie-path", EXT, "Rewrites the Path of upstream Set-Cookie headers",
        p.parse_proxy_cookie_rewrite, None, "headers", "extension: response cookie rewrite",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "proxy-redirect-from", EXT, "Text replaced in upstream Location and Refresh headers",
        p.parse_text, None, "headers", "extension: response Location rewrite",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "proxy-redirect-to", EXT, "Replacement for proxy-redirect-from",
        p.parse_text, None, "headers", "extension: response Location rewrite",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "proxy-ssl-secret", APPROX, "Secret with the client certificate and CA used for TLS to "
        "the backend",
        p.parse_qualified_object_ref, None, "backend-tls",
        "BackendTLSPolicy caCertificateRefs; the client certificate needs Gateway backend "
        "client-certificate support or an extension",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "proxy-ssl-verify", APPROX, "Whether the backend certificate is verified (off by default)",
        _on_off, False, "backend-tls",
        "BackendTLSPolicy (Gateway API always verifies; off is not expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "proxy-ssl-verify-depth", UNSUP, "Maximum length of the backend certificate chain",
        p.parse_non_negative_int, 1, "backend-tls", "not expressible",
        intent=i.BackendTLSOptions,
    ),
    AnnotationSpec(
        "proxy-ssl-ciphers", EXT, "Cipher list for TLS to the backend",
        p.parse_ciphers, None, "backend-tls", "extension: backend TLS options",
        intent=i.BackendTLSOptions,
    ),
    AnnotationSpec(
        "proxy-ssl-protocols", EXT, "TLS versions allowed towards the backend",
        p.parse_ssl_protocols, ("TLSv1.2",), "backend-tls", "extension: backend TLS options",
        intent=i.BackendTLSOptions,
    ),
    AnnotationSpec(
        "proxy-ssl-name", EXACT, "Name checked in the backend certificate and sent as SNI",
        p.parse_hostname_or_variable, None, "backend-tls", "BackendTLSPolicy validation hostname",
    ),
    AnnotationSpec(
        "proxy-ssl-server-name", EXACT, "Whether SNI is sent to the backend (off by default)",
        _on_off, False, "backend-tls",
        "BackendTLSPolicy (always sends SNI; off is not expressible)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "connection-proxy-header", UNSUP, "Overrides the Connection header sent upstream",
        p.parse_text, None, "proxy", "not expressible",
    ),
    AnnotationSpec(
        "custom-headers", EXACT, "ConfigMap of headers added to every response (each must be "
        "allowed by the controller, else 503)",
        p.parse_object_ref, None, "headers", "HTTPRoute ResponseHeaderModifier set",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "fastcgi-index", UNSUP, "Index file name for FastCGI backends",
        p.parse_text, None, "backend", "not expressible",
    ),
    AnnotationSpec(
        "fastcgi-params-configmap", UNSUP, "ConfigMap of FastCGI parameters",
        p.parse_object_ref, None, "backend", "not expressible",
    ),
    AnnotationSpec(
        "http2-push-preload", UNSUP, "Turns Link: preload headers into HTTP/2 server push "
        "(obsolete)",
        p.parse_bool, False, "proxy", "not expressible",
    ),
    # --- 3.5 observability and raw configuration -----------------------------------------
    AnnotationSpec(
        "enable-access-log", EXT, "Whether requests to the location are access-logged (on by "
        "default)",
        p.parse_bool, True, "observability", "extension: access logging",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "enable-rewrite-log", UNSUP, "Writes nginx rewrite debugging to the error log",
        p.parse_bool, False, "observability", "not expressible",
    ),
    AnnotationSpec(
        "enable-opentelemetry", EXT, "Turns OpenTelemetry tracing on or off for the location",
        p.parse_bool, None, "observability", "extension: tracing",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "opentelemetry-trust-incoming-span", EXT, "Continues the caller's trace instead of "
        "starting a new one",
        p.parse_bool, True, "observability", "extension: tracing",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "opentelemetry-operation-name", EXT, "Name given to the location's spans",
        p.parse_text, None, "observability", "extension: tracing",
        intent=i.Opaque,
    ),
    AnnotationSpec(
        "configuration-snippet", UNSUP, "Raw nginx configuration added to each location "
        "(Critical risk)",
        p.parse_snippet, None, "snippet",
        "not expressible; review by hand (header and redirect directives may map to filters)",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "server-snippet", UNSUP, "Raw nginx configuration added to the host's server block "
        "(Critical risk)",
        p.parse_snippet, None, "snippet", "not expressible; review by hand",
        noted_by_feature=True,
    ),
    AnnotationSpec(
        "stream-snippet", UNSUP, "Raw nginx configuration added to the stream (TCP/UDP) block "
        "(Critical risk)",
        p.parse_snippet, None, "snippet", "not expressible; review by hand (TCPRoute/UDPRoute)",
        noted_by_feature=True,
    ),
]

# What an annotation of each family changes in a request's outcome, as verify compares it
# (ing2gw.notes.ASPECTS). Families absent here (logging, buffering, retries, load balancing,
# backend TLS, mirrors) change nothing verify sees: their notes explain nothing. Timeouts change
# the status a slow backend's request gets (verify's timeout probes: 504 or the answer).
FAMILY_ASPECTS: dict[str, frozenset[str]] = {
    "routing": frozenset({"status", "backend", "path", "redirect"}),
    "rewrite": frozenset({"status", "backend", "path", "redirect"}),
    "redirect": frozenset({"status", "redirect"}),
    "tls": frozenset({"status", "redirect"}),
    "backend": frozenset({"status", "backend"}),
    "canary": frozenset({"backend", "weights"}),
    "auth": frozenset({"auth"}),
    "mtls": frozenset({"auth"}),
    "access": frozenset({"auth"}),
    "waf": frozenset({"auth"}),
    "ratelimit": frozenset({"status"}),
    "timeout": frozenset({"status"}),
    "cors": frozenset({"cors"}),
    "affinity": frozenset({"headers"}),
    "headers": frozenset({"headers"}),
    "proxy": frozenset({"status", "host"}),
    "errors": frozenset({"status", "backend"}),
    "snippet": frozenset({"status", "backend", "weights", "redirect", "path", "host", "headers", "cors", "auth"}),
}

TABLE = AnnotationTable(PREFIX, "NGINX", _SPECS, FAMILY_ASPECTS)
