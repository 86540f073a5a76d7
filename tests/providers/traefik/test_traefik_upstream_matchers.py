"""Traefik's own muxer tests (``../shared/docs/upstream/traefik/matcher-cases.json``) against
the rule parser and evaluator of ``providers/traefik/rules.py``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support import SHARED

from ing2gw.providers.traefik import rules
from ing2gw.providers.traefik.dynamic import strict_prefix_rule

FILE = SHARED / "docs" / "upstream" / "traefik" / "matcher-cases.json"
CASES: list[dict[str, Any]] = json.loads(FILE.read_text()) if FILE.is_file() else []
# Traefik tries routers of equal priority by provider: kubernetesgateway, kubernetescrd, kubernetes,
# kubernetesingressnginx, then any other.
PROVIDER_ORDER = ["kubernetesgateway", "kubernetescrd", "kubernetes", "kubernetesingressnginx"]


def _query(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True)


def _request(url: str, **over: Any) -> rules.RuleRequest:
    parts = urlsplit(url)
    fields: dict[str, Any] = {"method": "GET", "host": parts.netloc, "path": parts.path or "/", "headers": {},
                              "query": _query(parts.query)}
    fields.update(over)
    return rules.RuleRequest(**fields)


def _decide(name: str, rule: rules.Node, key: str) -> bool:
    if name.startswith("TestMethodMatcher"):
        return rules.matches(rule, _request("http://example.com/", method=key))
    if name.startswith("TestClientIPMatcher"):
        return rules.matches(rule, _request("http://example.com/", client=key))
    if name.startswith(("TestHeaderMatcher", "TestHeaderRegexpMatcher")):
        return rules.matches(rule, _request("http://example.com/", headers=json.loads(key)))
    return rules.matches(rule, _request(key))


@pytest.mark.skipif(not CASES, reason="../shared/docs/upstream/traefik is not present")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_upstream_matcher_case(case: dict[str, Any]) -> None:
    name, f = case["name"], case["fields"]
    if name.startswith("Test_addRoutePriority"):
        def rank(c: dict[str, Any]) -> tuple[int, int]:
            provider = c.get("providerName", "kubernetes")
            order = PROVIDER_ORDER.index(provider) if provider in PROVIDER_ORDER else len(PROVIDER_ORDER)
            return (-rules.priority_of(c["rule"], c.get("priority", 0)), order)
        winner = next(c for c in sorted(f["cases"], key=rank)
                      if rules.matches(rules.parse(c["rule"]), _request("http://localhost" + f["path"])))
        assert winner["xFrom"] == f["expected"]
    elif name.startswith("TestParseDomains"):
        if f.get("errorExpected"):
            with pytest.raises(rules.RuleError):
                rules.hosts_of(f["expression"])
        else:
            assert rules.hosts_of(f["expression"]) == f.get("domain", []) or f.get("domain") is None
    elif name.startswith("TestGetRulePriority"):
        assert rules.priority_of(f["rule"]) == f["expected"]
    elif name.startswith("TestRoutingPath"):
        assert rules.routing_path(f["path"]) == f["expectedRoutingPath"]
    elif name.startswith("TestStrictPrefixMatchingRule"):
        rule = rules.parse(strict_prefix_rule(f["ingress_path"]))
        assert rules.matches(rule, _request("http://h" + f["request_path"])) is f["match"]
    elif name.startswith("TestEmptyHost"):
        line, _, rest = f["request"].partition("\r\n")
        url = line.split(" ")[1]
        header_host = rest.split("Host: ", 1)[1].split("\r\n")[0]
        url_host = urlsplit(url).netloc.lstrip("@")
        req = _request(url.replace("@", ""), host=url_host or header_host)
        status = 200 if rules.matches(rules.parse(f["rule"]), req) else 404
        assert status == f["expected"]
    elif f.get("expectedError"):
        with pytest.raises(rules.RuleError):
            rules.parse(f.get("rule", ""))
    else:
        rule = rules.parse(f["rule"])
        got = {key: 200 if _decide(name, rule, key) else 404 for key in f["expected"]}
        assert got == f["expected"]
