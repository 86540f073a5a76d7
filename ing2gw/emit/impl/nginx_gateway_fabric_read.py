"""Read NGINX Gateway Fabric policies and filters back into intents with NGF's semantics (the
``read_policies`` side of the ``nginx-gateway-fabric`` emitter, :mod:`ing2gw.policy`).

RateLimitPolicy (nginx ``limit_req``: burst, reject code), ClientSettingsPolicy (body limit,
``0`` = none), ProxySettingsPolicy (timeouts), AuthenticationFilter (basic auth, every hash
format) and the snippets this emitter writes (``allow``/``deny``, ``auth_request`` with its
internal location in the Gateway's SnippetsPolicy, ``proxy_next_upstream``). Filters apply to
the rules that list them. Every other kind is ignored; a malformed own object raises
PolicyReadError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...intents import BasicAuth, BodyLimit, ExternalAuth, Intent, IPAccess, RateLimit, Retries, Timeouts
from ...policy import AttachedPolicy, PolicyReadError, PolicyTarget, provenance_of
from .base import filter_users, policy_targets
from .values import duration_ms

__all__ = ["read_policies"]

GROUP = "gateway.nginx.org"
_SIZE = re.compile(r"^(\d+)([kmg]?)$")
_LOCATION = re.compile(r"location = (\S+) \{.*?proxy_pass (\S+);", re.S)


def _bytes(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not an nginx size: {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2)]


def read_policies(manifests: Sequence[Mapping[str, Any]]) -> list[AttachedPolicy]:
    own = [m for m in manifests if str(m.get("apiVersion", "")).split("/")[0] == GROUP]
    if not own:
        return []
    locations: dict[str, str] = {}
    for m in own:
        if m.get("kind") == "SnippetsPolicy":
            for s in (m.get("spec") or {}).get("snippets") or ():
                locations.update(_LOCATION.findall(str(s.get("value", ""))))
    users = {kind: filter_users(manifests, GROUP, kind) for kind in ("AuthenticationFilter", "SnippetsFilter")}
    out: list[AttachedPolicy] = []
    for obj in own:
        kind = str(obj.get("kind"))
        meta = obj.get("metadata") or {}
        label = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '')}"
        try:
            if kind in users:
                targets = list(dict.fromkeys(PolicyTarget(k, ns, name, rule) for k, ns, name, rule
                                             in users[kind].get((meta["namespace"], meta["name"]), ())))
                found = _basic(obj) if kind == "AuthenticationFilter" else _snippets(obj, locations)
            elif kind in _POLICIES:
                targets = [PolicyTarget(k, ns, name, section) for k, ns, name, section in policy_targets(obj)]
                if not targets:
                    raise ValueError("no targetRefs")
                found = _POLICIES[kind](obj)
            else:
                continue
            for intent in found:
                # nginx limit_req admits burst + 1 requests at one instant, not rate + burst
                capacity = intent.burst + 1 if isinstance(intent, RateLimit) else None
                out.extend(AttachedPolicy(t, intent, label, capacity=capacity) for t in targets)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise PolicyReadError(f"{label}: cannot read it back: {e}") from e
    return out


def _basic(obj: Mapping[str, Any]) -> Iterator[Intent]:
    basic = obj["spec"]["basic"]
    yield BasicAuth(scheme="basic", secret=f"{obj['metadata']['namespace']}/{basic['secretRef']['name']}",
                    realm=basic.get("realm"), provenance=provenance_of(obj, "spec.basic"))


def _snippets(obj: Mapping[str, Any], locations: Mapping[str, str]) -> Iterator[Intent]:
    for snippet in obj["spec"]["snippets"]:
        if snippet["context"] != "http.server.location":
            continue
        lines = [line.strip().rstrip(";") for line in str(snippet["value"]).splitlines() if line.strip()]
        allow = [line.split()[1] for line in lines if line.startswith("allow ")]
        deny = [line.split()[1] for line in lines if line.startswith("deny ") and line != "deny all"]
        if allow or deny:
            first = next(line for line in lines if line.startswith(("allow ", "deny ")))
            yield IPAccess(allow=tuple(allow), deny=tuple(deny),
                           order="allow-first" if first.startswith("allow") else "deny-first",
                           provenance=provenance_of(obj, "spec.snippets"))
        auth = [line.split()[1] for line in lines if line.startswith("auth_request ")]
        if auth:
            headers = tuple(line.split()[1] for line in lines if line.startswith("proxy_set_header ")
                            and line.split()[2].startswith("$auth_"))
            yield ExternalAuth(url=locations[auth[0]], response_headers=headers,
                               provenance=provenance_of(obj, "spec.snippets"))
        retry = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("proxy_next_upstream")}
        if "proxy_next_upstream" in retry:
            budget = retry.get("proxy_next_upstream_timeout", ["0"])[0]
            yield Retries(on=tuple(retry["proxy_next_upstream"]),
                          attempts=int(retry.get("proxy_next_upstream_tries", ["0"])[0]),
                          budget_ms=duration_ms(budget) if budget != "0" else None,
                          provenance=provenance_of(obj, "spec.snippets"))


def _rate_limit(obj: Mapping[str, Any]) -> Iterator[Intent]:
    limit = obj["spec"]["rateLimit"]
    for rule in limit["local"]["rules"]:
        rate, _, unit = rule["rate"].partition("r/")
        yield RateLimit(rate=int(rate), unit="second" if unit == "s" else "minute", burst=int(rule.get("burst", 0)),
                        key="client-ip" if rule["key"] in ("$binary_remote_addr", "$remote_addr") else rule["key"],
                        status=int(limit.get("rejectCode", 503)), provenance=provenance_of(obj, "spec.rateLimit"))


def _client(obj: Mapping[str, Any]) -> Iterator[Intent]:
    size = (obj["spec"].get("body") or {}).get("maxSize")
    if size is not None:
        yield BodyLimit(max_bytes=_bytes(size) or None, provenance=provenance_of(obj, "spec.body.maxSize"))


def _proxy(obj: Mapping[str, Any]) -> Iterator[Intent]:
    t = obj["spec"].get("timeout")
    if t:
        ms = {k: duration_ms(v) for k, v in t.items()}
        yield Timeouts(connect_ms=ms.get("connect"), read_ms=ms.get("read"), send_ms=ms.get("send"),
                       provenance=provenance_of(obj, "spec.timeout"))


_POLICIES = {"RateLimitPolicy": _rate_limit, "ClientSettingsPolicy": _client, "ProxySettingsPolicy": _proxy}
