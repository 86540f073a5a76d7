"""The Service annotation ``service.middlewares`` is converted like ``router.middlewares``
(after them): exact middlewares become filters, protections become intents, so a basicAuth
middleware named by the Service is carried by an emitter that can, and otherwise fails the run."""

from __future__ import annotations

from support import ROOT

INPUT = ROOT / "tests" / "providers" / "traefik" / "service_middlewares.yaml"


def test_service_middlewares_become_filters_and_intents(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(INPUT)])
    assert r.exit_code == 1  # the basic auth is lost with the standard emitter
    assert "name: X-Svc" in r.stdout
    assert "PROTECTION-LOST: Service shop/web [traefik.ingress.kubernetes.io/service.middlewares]" in r.stderr


def test_service_basic_auth_carried_by_traefik_emitter(ing2gw) -> None:
    r = ing2gw(["convert", "-f", str(INPUT), "--emitter", "traefik"])
    assert r.exit_code == 0, r.stderr
    assert "basicAuth:" in r.stdout and "PROTECTION-LOST" not in r.stderr
