"""haproxy-ingress blue/green (providers/haproxy_ingress/bluegreen.py): the annotation values
read as the controller reads them, and one error note per backend Service giving each pod
group's share and the Services (with backendRef weights) to build instead."""

from __future__ import annotations

import pytest
from support import TESTDATA

from ing2gw.providers.haproxy_ingress.bluegreen import Group, Selector, parse_balance, parse_selector

CASE = TESTDATA / "convert" / "haproxy-ingress" / "blue-green" / "input.yaml"


def test_balance_is_read_and_clamped_as_the_controller_does() -> None:
    assert parse_balance("group=blue=1, group=green=4") == (Group("group", "blue", 1), Group("group", "green", 4))
    assert parse_balance("v=a=300,v=b=-2") == (Group("v", "a", 256), Group("v", "b", 0))
    for bad in ("group=blue", "group=blue=x", "=blue=1", "a=b=1,"):
        with pytest.raises(ValueError):
            parse_balance(bad)
    assert parse_selector("X-Server:group") == Selector("X-Server", "group")
    with pytest.raises(ValueError):
        parse_selector("X-Server")


def _errors(ing2gw) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    r = ing2gw(["convert", "-f", str(CASE)])
    assert r.exit_code == 1  # the split is lost unless the user builds the Services: an error
    out: dict[str, list[str]] = {}
    for line in r.stderr.splitlines():
        if line.startswith("error: HAPROXY-INGRESS-BLUE-GREEN: "):
            subject = line.split(": ")[2].split(" [")[0]
            out.setdefault(subject, []).append(line)
    return out


def test_one_note_per_backend_service_with_shares_and_services(ing2gw) -> None:  # type: ignore[no-untyped-def]
    errors = _errors(ing2gw)
    assert sorted(errors) == ["Ingress shop/api", "Ingress shop/shop"]  # shop/broken: ignored, as the controller does
    app, assets = errors["Ingress shop/shop"]
    assert "Service shop/app" in app and "Service shop/assets" in assets
    assert "group=blue → 20%, group=green → 80%" in app
    assert "app-blue (the selector of app plus group: blue), backendRef weight 1" in app
    assert "app-green (the selector of app plus group: green), backendRef weight 4" in app
    assert "matching header X-Server: <value>" in app
    (api,) = errors["Ingress shop/api"]
    assert "(mode pod)" in api and "version=v1 weight 100 per pod" in api
    assert "api-v2 (the selector of api plus version: v2), backendRef weight 0 × its replicas" in api
    assert "no Gateway API match" in api  # the cookie selector
