"""The upstream ingress-nginx e2e cases, through the conversion and the reference router.

For every case whose behaviour Gateway API can express, the converted objects must answer
the case's request the way ingress-nginx does (status, backend, upstream path, redirect
Location, headers). A case is skipped -- with its reason -- when the model cannot decide it,
or when the conversion says (by a note) that the feature it exercises is not carried over
exactly: an extension, an unsupported annotation, or an approximation.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from test_nginx_model import (
    _case_manifests,
    _case_request,
    _case_skips,
    _judge,
    e2e_cases,
    resources,  # noqa: I001  (shared builder)
)

from ing2gw.convert import ConvertOptions, convert
from ing2gw.explain import route_sources
from ing2gw.plugins import discover
from ing2gw.provider import ConversionOptions
from ing2gw.router import Router
from ing2gw.schema import validate

_NOT_EXACT = ("approximate", "extension", "unsupported")


def _convert(case: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    rs = resources(_case_manifests(case))
    options = ConvertOptions(provider="ingress-nginx",  # class-less cases too: other providers are installed
                             conversion=ConversionOptions(controller_config=case.get("controller_config") or {}))
    result = convert(rs, options, discover())
    return result.manifests, list(result.notes)


@pytest.mark.parametrize("case", e2e_cases(), ids=lambda c: c["id"])
def test_e2e_case_through_conversion(case: dict[str, Any]) -> None:
    skips = _case_skips(case)
    decidable = [k for k in case["expect"] if k not in skips and k != "config_contains"]
    if not decidable:
        pytest.skip("; ".join(sorted(set(skips.values()))) or "nothing the router can decide")
    manifests, notes = _convert(case)
    for m in manifests:
        assert validate(m) == [], (m["kind"], m["metadata"]["name"], validate(m))
    lossy = sorted({f"{n.code} {n.field}".strip() for n in notes if str(n.fidelity) in _NOT_EXACT})
    router = Router.from_manifests(yaml.safe_load(yaml.safe_dump(manifests)))
    outcome = router.route(_case_request(case)).to_dict()
    # The gateway names the route it matched; the case names the Ingress: map through the
    # route's ing2gw.io/source annotation.
    matched = outcome.get("matched") or {}
    sources = route_sources(manifests).get(str(matched.get("route")), ())
    outcome["matched"] = {**matched, "ingress": sources[0] if sources else None}
    # config_contains is about nginx's configuration text: not the Gateway's concern.
    judged = {**case, "expect": {k: v for k, v in case["expect"].items() if k != "config_contains"}}
    failures = _judge(judged, outcome, None, skips)  # type: ignore[arg-type]
    if failures and lossy:
        pytest.skip(f"converted with noted losses ({'; '.join(lossy)}): {failures}")
    assert not failures, f"{case['id']}: {failures}\noutcome: {outcome}"
