"""What the auth and CORS intents need on every target: the htpasswd formats a target accepts,
the Secret layout note the user acts on, a sign-in URL a target can redirect to, the CORS
differences of a target that answers every preflight itself, what an Envoy-based target's
client-certificate validation leaves out.

Secrets are referenced, never read: when a target reads credentials differently from the
source (another key, one file instead of one key per user, SHA-1 hashes only), the note says
exactly which Secret, which key and which hash format to create.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote, urlsplit

from ...intents import BasicAuth, ClientCertAuth, Cors, ExternalAuth
from ...policy import HASH_SCHEMES
from .base import Piece

__all__ = ["SCHEME_NAMES", "client_cert_gaps", "cors_differences", "hash_note", "htpasswd_layout", "rejected_schemes",
           "signin_url", "split_ref"]

_VARIABLE = re.compile(r"\$\{?([a-z_]+)\}?")

# How a user recognises each htpasswd format (the names ing2gw.policy.hash_scheme gives).
SCHEME_NAMES = {
    "apr1": "$apr1$ (the htpasswd default)",
    "bcrypt": "bcrypt $2y$",
    "crypt": "DES crypt",
    "md5-crypt": "$1$",
    "plain": "{PLAIN}",
    "sha": "{SHA} (htpasswd -s)",
    "sha256-crypt": "$5$",
    "sha512-crypt": "$6$",
    "ssha": "{SSHA}",
}


def rejected_schemes(accepted: Iterable[str]) -> list[str]:
    """The formats nginx accepts and the target does not, in words."""
    ok = set(accepted)
    return [SCHEME_NAMES[s] for s in HASH_SCHEMES if s not in ok]


def hash_note(target: str, accepted: Iterable[str]) -> str:
    """``; <target> accepts only ... entries, so users whose entries are ... cannot log in``,
    or "" when the target accepts every format nginx does."""
    formats = sorted(set(accepted))
    rejected = rejected_schemes(formats)
    if not rejected:
        return ""
    return (f"; {target} accepts only {', '.join(SCHEME_NAMES[s] for s in formats)} entries, so users whose entries "
            f"are {', '.join(rejected)} cannot log in: re-create their entries in an accepted format")


def client_cert_gaps(intent: ClientCertAuth, forwarded: str) -> list[str]:
    """What a target validating client certificates the way Envoy does (the whole chain, no
    subject pattern, no error page) does not carry of ``intent``; ``forwarded``: how the target
    hands the certificate to the backend instead of nginx's ssl-client-cert header."""
    gaps = []
    if intent.pass_to_upstream:
        gaps.append(f"the certificate is not passed upstream in ssl-client-cert ({forwarded})")
    if intent.match_cn:
        gaps.append(f"the subject pattern {intent.match_cn} is not checked")
    if intent.depth > 1:
        gaps.append(f"the chain depth limit {intent.depth} is not carried (Envoy verifies the whole chain)")
    if intent.error_page:
        gaps.append(f"there is no redirect to {intent.error_page} on failure")
    return gaps


def split_ref(ref: str, namespace: str) -> tuple[str, str]:
    """``(namespace, name)`` of ``ns/name`` or ``name`` (in ``namespace``)."""
    ns, _, name = ref.rpartition("/")
    return ns or namespace, name


def htpasswd_layout(intent: BasicAuth, route_namespace: str, target: str, key: str,
                    accepted: Iterable[str], *, same_namespace: bool) -> tuple[str, str, str]:
    """``(Secret name, key, note)`` for a target that reads an htpasswd file from ``key`` of a
    Secret (in the route's namespace when ``same_namespace``). The source's ``auth`` key of an
    htpasswd Secret is used as it is when the target can read it; a one-key-per-user
    (``auth-map``) Secret, or one in another namespace, needs a new Secret ``<name>-htpasswd``."""
    assert intent.secret is not None
    ns, name = split_ref(intent.secret, route_namespace)
    locked = hash_note(target, accepted)
    moved = same_namespace and ns != route_namespace
    if intent.secret_layout == "map" or moved:
        new_ns = route_namespace if same_namespace else ns
        why = ("holds one key per user" if intent.secret_layout == "map"
               else f"is in namespace {ns}, and {target} reads Secrets of the route's namespace only")
        note = (f"create Secret {new_ns}/{name}-htpasswd with one key '{key}' holding one 'user:hash' line per user "
                f"(the source Secret {ns}/{name} {why}){locked}")
        return f"{name}-htpasswd", key, note
    if key == "auth" and not locked:
        return name, key, ""
    note = f"{target} reads the htpasswd lines from key '{key}' of Secret {ns}/{name}"
    note += " (the key ingress-nginx uses)" if key == "auth" else "; copy them there from key 'auth'"
    return name, key, note + locked


def cors_differences(intent: Cors, site: object) -> Piece:
    """The source's CORS behaviour beyond what the standard CORS filter says, on a target
    whose CORS handling answers every preflight itself (a builder: nothing to emit)."""
    words = []
    if intent.preflight_status:
        words.append(f"preflight requests are answered 200, not {intent.preflight_status}, and from any origin")
    if intent.echo_wildcard:
        words.append("with credentials the request's origin is echoed instead of *")
    return Piece({}, "; ".join(words))


def signin_url(intent: ExternalAuth, hosts: Sequence[str], https: bool, target: str) -> tuple[str | None, str]:
    """A fixed sign-in URL for a route with ``hosts``, and what it loses. ingress-nginx
    redirects a 401 to the sign-in URL with the escaped request URL in ``rd`` (its nginx
    variables filled in per request); a target with a fixed URL can only return the client to
    the route's host, and only when the route has one host."""
    assert intent.signin_url is not None
    host = hosts[0] if len(hosts) == 1 and not hosts[0].startswith("*") else None
    scheme = "https" if https else "http"
    url = intent.signin_url
    names = set(_VARIABLE.findall(url))
    if names - {"host", "http_host", "scheme", "escaped_request_uri", "request_uri"} or (names and host is None):
        return None, f"the sign-in URL {url} uses source variables: a 401 reaches the client instead of a redirect"
    url = _VARIABLE.sub(lambda m: {"host": host or "", "http_host": host or "", "scheme": scheme,
                                   "escaped_request_uri": "%2F", "request_uri": "/"}[m.group(1)], url)
    param = intent.signin_redirect_param or "rd"
    if f"{param}=" not in (urlsplit(url).query or ""):
        if host is None:
            return url, (f"the sign-in redirect to {url} carries no {param}= return address ({target}'s sign-in URL "
                         "is fixed and the route has several hosts)")
        url = f"{url}{'&' if urlsplit(url).query else '?'}{param}={quote(f'{scheme}://{host}/', safe='')}"
    return url, (f"after signing in the client returns to {scheme}://{host}/ ({target}'s sign-in URL is fixed), not "
                 "to the URL it asked for")
