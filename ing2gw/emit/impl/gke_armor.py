"""Cloud Armor for the ``gke`` emitter: the security policy a GCPBackendPolicy names.

GKE's GCPBackendPolicy only *names* a Cloud Armor security policy (``spec.default.securityPolicy``);
the policy and its rules are Google Cloud resources, created outside Kubernetes. For each
protection the emitter writes the rules the user must create -- exact ``gcloud`` commands in
the note -- and records them on the GCPBackendPolicy in one annotation per protection
(``ing2gw.io/cloud-armor-ip-access``, ``-rate-limit``, ``-waf``), which ``read_policies``
reads back. The policy's name is derived from the rules, so routes asking the same of one
Service share it and routes asking differently conflict (and are refused).

Rule priorities (first match wins in Cloud Armor): WAF 100+, denied addresses 1000+, rate-limit
exemptions 1500+, the rate limit 2000+ (scoped to the allow list when there is one, so it never
admits an address the list refuses), allowed addresses 3000+, then the default rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...intents import IPAccess, RateLimit, Waf
from ...names import short_hash

__all__ = ["ANNOTATIONS", "armor_rules", "commands", "policy_name", "read_armor"]

ANNOTATIONS = {"ip-access": "ing2gw.io/cloud-armor-ip-access", "rate-limit": "ing2gw.io/cloud-armor-rate-limit",
               "waf": "ing2gw.io/cloud-armor-waf"}
# Cloud Armor's preconfigured OWASP CRS rule sets (evaluatePreconfiguredWaf) closest to the CRS
WAF_RULESETS = ("sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
                "methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable",
                "sessionfixation-v33-stable")
_RANGES_PER_RULE = 10
_DEFAULT = 2147483647


def _compact(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def armor_rules(intents: Sequence[object]) -> dict[str, dict[str, Any]]:
    """The Cloud Armor records of a rule's protections, by annotation kind, or a string
    entry ``{"why": ...}`` for a protection Cloud Armor cannot hold."""
    out: dict[str, dict[str, Any]] = {}
    ip = next((i for i in intents if isinstance(i, IPAccess)), None)
    for i in intents:
        if isinstance(i, IPAccess):
            out["ip-access"] = {"allow": list(i.allow), "deny": list(i.deny)}
        elif isinstance(i, RateLimit):
            if i.unit == "connections":
                out["rate-limit"] = {"why": "Cloud Armor limits requests, not concurrent connections"}
                continue
            if i.exempt and ip is not None and ip.allow:
                out["rate-limit"] = {"why": "exempt addresses and an allow list together have no Cloud Armor order"}
                continue
            count, interval = (i.rate * 10, 10) if i.unit == "second" else (i.rate, 60)
            out["rate-limit"] = {"count": count, "intervalSec": interval, "status": 429, "exempt": list(i.exempt)}
        elif isinstance(i, Waf):
            enforce = bool(i.rules and "secruleengine on" in " ".join(i.rules.lower().split()))
            out["waf"] = {"preview": not enforce, "rulesets": list(WAF_RULESETS)}
    return out


def policy_name(records: Mapping[str, Mapping[str, Any]]) -> str:
    """The security policy's name: the same rules give the same name."""
    return f"ing2gw-armor-{short_hash(_compact(records), 10)}"


def _chunks(cidrs: Sequence[str]) -> list[str]:
    return [",".join(cidrs[i:i + _RANGES_PER_RULE]) for i in range(0, len(cidrs), _RANGES_PER_RULE)]


def commands(name: str, records: Mapping[str, Mapping[str, Any]], kind: str) -> list[str]:
    """The gcloud commands creating the rules of one protection (``kind``) of policy ``name``."""
    rule = f"gcloud compute security-policies rules create {{p}} --security-policy={name}"
    out: list[str] = [f"gcloud compute security-policies create {name}"]
    ip = records.get("ip-access") or {}
    allow = list(ip.get("allow") or ())
    if kind == "ip-access":
        out += [rule.format(p=1000 + n) + f" --src-ip-ranges={c} --action=deny-403"
                for n, c in enumerate(_chunks(ip.get("deny") or ()))]
        out += [rule.format(p=3000 + n) + f" --src-ip-ranges={c} --action=allow" for n, c in enumerate(_chunks(allow))]
        if allow:
            out.append(f"gcloud compute security-policies rules update {_DEFAULT} --security-policy={name} "
                       "--action=deny-403")
    elif kind == "rate-limit":
        rl = records["rate-limit"]
        out += [rule.format(p=1500 + n) + f" --src-ip-ranges={c} --action=allow"
                for n, c in enumerate(_chunks(rl.get("exempt") or ()))]
        sources = _chunks(allow) or ["*"]
        out += [rule.format(p=2000 + n) + f" --src-ip-ranges={c} --action=throttle "
                f"--rate-limit-threshold-count={rl['count']} --rate-limit-threshold-interval-sec={rl['intervalSec']} "
                f"--conform-action=allow --exceed-action=deny-{rl['status']} --enforce-on-key=IP"
                for n, c in enumerate(sources)]
    elif kind == "waf":
        waf = records["waf"]
        out += [rule.format(p=100 + n) + f" --expression=\"evaluatePreconfiguredWaf('{r}')\" --action=deny-403"
                + (" --preview" if waf["preview"] else "") for n, r in enumerate(waf["rulesets"])]
    return out


def read_armor(annotations: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The Cloud Armor records of a GCPBackendPolicy's annotations (raises ValueError)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, key in ANNOTATIONS.items():
        if key in annotations:
            value = json.loads(annotations[key])
            if not isinstance(value, dict):
                raise ValueError(f"{key} is not a JSON object")
            out[kind] = value
    return out
