"""The ingress-nginx controller ConfigMap read like annotations: its table, its global intents."""

from __future__ import annotations

from support import TESTDATA

from ing2gw.notes import Fidelity, Notes
from ing2gw.providers.ingress_nginx.configmap import SETTINGS, ConfigSource, read_settings

SOURCE = ConfigSource("ConfigMap", "ingress-nginx", "ingress-nginx-controller")


def test_every_extension_setting_names_its_intent() -> None:
    assert not [s.key for s in SETTINGS if s.fidelity is Fidelity.EXTENSION and s.intent is None]


def test_default_body_limit_is_one_megabyte_and_zero_is_no_limit() -> None:
    policy = read_settings({}, ConfigSource("controller", "", "ingress-nginx"), Notes())
    (body,) = [i for i in policy.gateway if i.kind == "body-limit"]
    assert body.max_bytes == 1024 * 1024  # type: ignore[attr-defined]
    assert body.provenance.subject == "controller ingress-nginx"
    policy = read_settings({"proxy-body-size": "0"}, SOURCE, Notes())
    (body,) = [i for i in policy.gateway if i.kind == "body-limit"]
    assert body.max_bytes is None  # type: ignore[attr-defined]


def test_unknown_and_invalid_settings_are_noted() -> None:
    notes = Notes()
    read_settings({"worker-procesess": "4", "block-cidrs": "not-a-cidr"}, SOURCE, notes)
    codes = {n.code: n for n in notes}
    assert codes["NGINX-SETTING-UNKNOWN"].field == "worker-procesess"
    assert codes["NGINX-SETTING-INVALID"].field == "block-cidrs"


def test_global_auth_applies_unless_the_ingress_opts_out_or_has_its_own(ing2gw) -> None:
    case = TESTDATA / "convert" / "controller-config" / "global-protections-lost" / "input.yaml"
    r = ing2gw(["convert", "-f", str(case)])
    assert r.exit_code == 1
    lost = [line for line in r.stderr.splitlines() if "PROTECTION-LOST" in line and "[global-auth-url]" in line]
    assert len(lost) == 1 and "shop-shop-example-com" in lost[0] and "public-public" not in lost[0]
    # the Ingress with its own allowlist does not get the global one
    allow = [line for line in r.stderr.splitlines() if "PROTECTION-LOST" in line and "[whitelist-source-range]" in line]
    assert len(allow) == 1 and "public-public" not in allow[0]
    assert ing2gw(["convert", "-f", str(case), "--allow-unprotected"]).exit_code == 0
