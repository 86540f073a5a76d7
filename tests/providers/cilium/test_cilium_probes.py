"""Cilium tries a host's regular-expression paths before its prefixes; Gateway API prefers the
prefix. ``verify`` reaches that difference with a path each regular expression takes
(:func:`ing2gw.probes.regex_sample`, offered by the Cilium data plane's ``probe_paths``)."""

from __future__ import annotations

import json
import re

import pytest
from support import TESTDATA

from ing2gw.probes import regex_sample


@pytest.mark.parametrize("regex", ["/api/v[0-9]+/items", "/service/[^/]+/.*", "^/a(b|c)+d?$", r"/x/\d{3}/y",
                                   "/a{2,5}", "(?i)/Foo/.*", "/(en|de)/docs/[a-z0-9-]+"])
def test_the_sample_is_matched_whole(regex: str) -> None:
    sample = regex_sample(regex)
    assert sample is not None and re.fullmatch(regex, sample), sample


@pytest.mark.parametrize("regex", ["/a(?=b)b", r"/(a)\1", "/(?i)late-flag", "/[^\\x00-\\U0010ffff]"])
def test_no_sample_where_the_walk_cannot_build_one(regex: str) -> None:
    assert regex_sample(regex) is None


def test_verify_reaches_the_regex_before_prefix_difference(ing2gw) -> None:
    r = ing2gw(["verify", "-f", str(TESTDATA / "verify" / "cilium-routing" / "input.yaml"), "-o", "json", "-q",
                "--fail-on", "unexplained"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    found = [d for d in report["differences"] if d["request"]["url"] == "https://shop.example.com/api/v0/items"]
    assert found, "no probe takes the regular expression /api/v[0-9]+/items"
    d = found[0]
    assert (d["source"]["backend"], d["gateway"]["backend"]) == ("shop/items:8080", "shop/api:8080")
    assert "CILIUM-REGEX-BEFORE-PREFIX" in {n["code"] for n in d["explainedBy"]}
