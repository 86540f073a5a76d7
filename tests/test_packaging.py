"""The built wheel installs providers and templates inside ``ing2gw`` -- never as bare
top-level ``providers``/``templates`` packages -- and contains every one of them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy of what the wheel is made of: setuptools writes build/ and *.egg-info
    # beside pyproject.toml, which must not be the checkout (tests run in parallel; a build/
    # left over from an older tree must not fill in missing files).
    out = tmp_path_factory.mktemp("wheel")
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    for name in ("ing2gw", "providers", "templates"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(tree)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"wheel build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    (whl,) = out.glob("ing2gw-*.whl")
    return zipfile.ZipFile(whl)


def test_every_provider_package_is_inside_ing2gw(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for init in sorted((ROOT / "providers").rglob("__init__.py")):
        rel = init.relative_to(ROOT / "providers").as_posix()
        assert f"ing2gw/providers/{rel}" in names, f"provider package {rel} missing from the wheel"
    for py in sorted((ROOT / "providers").rglob("*.py")):
        rel = py.relative_to(ROOT / "providers").as_posix()
        assert f"ing2gw/providers/{rel}" in names


def test_every_template_is_inside_ing2gw(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    templates = sorted((ROOT / "templates").glob("*.j2"))
    assert templates
    for t in templates:
        assert f"ing2gw/templates/{t.name}" in names


def test_provider_templates_are_inside_ing2gw(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    templates = sorted((ROOT / "providers").rglob("templates/*.j2"))
    assert templates  # ingress-nginx's nginx.conf.j2
    for t in templates:
        assert f"ing2gw/providers/{t.relative_to(ROOT / 'providers').as_posix()}" in names


def test_no_bare_top_level_packages(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    assert "providers" not in tops and "templates" not in tops
    assert tops <= {"ing2gw"} | {t for t in tops if t.endswith(".dist-info")}


def test_wheel_has_console_scripts_and_data(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    (ep,) = [n for n in names if n.endswith("entry_points.txt")]
    text = wheel.read(ep).decode()
    assert "ing2gw = ing2gw.cli:main" in text and "kubectl-ing2gw = ing2gw.cli:main" in text
    assert "ing2gw/py.typed" in names
    assert any(n.startswith("ing2gw/data/crds/") for n in names)


def test_bare_providers_is_not_importable_from_elsewhere(tmp_path: Path) -> None:
    code = (
        "import importlib.util as u, ing2gw.providers as p, ing2gw.templates as t;"
        "print(u.find_spec('providers') is None, u.find_spec('templates') is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
