"""govgate installs as an operator installs it: a wheel, the runtime lock, deploy/install.sh.

Everything here runs the real tools: pip builds the wheel (offline, with the dev lock's
setuptools), deploy/install.sh makes a venv from it with `pip install --require-hashes`, and the
installed `govgate` runs the demo. Only pip's and uv's caches and the package registry are shared
with the rest of the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

import govgate

from support.constants import NO_CONFIG

ROOT = Path(__file__).resolve().parents[1]
INSTALL_SH = ROOT / "deploy" / "install.sh"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
# What only tests, lint, the bench or the locking need: none of it belongs in production's venv.
DEV_ONLY = {
    "pytest", "hypothesis", "httpx", "httpcore", "pytest-timeout", "selenium", "trio",
    "trio-websocket", "outcome", "sortedcontainers", "pysocks", "websocket-client", "urllib3",
    "certifi", "iniconfig", "pluggy", "ruff", "uv", "setuptools",
}  # fmt: skip


def run(cmd, *, timeout=300, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **NO_CONFIG, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **kw.pop("env", {})}
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def locked(path: Path) -> dict[str, tuple[str, list[str], str | None]]:
    """name → (version, hashes, marker) for each requirement of a lock file."""
    entries: dict[str, tuple[str, list[str], str | None]] = {}
    text = re.sub(r"\\\n", " ", path.read_text())  # join continuation lines
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split(" --hash=")
        requirement, _, marker = spec.partition(";")
        name, sep, version = requirement.strip().partition("==")
        assert sep, f"{path.name}: {line!r} is not pinned with =="
        hashes = [o.strip() for o in options]
        entries[canonicalize_name(name)] = (version, hashes, marker.strip() or None)
    return entries


def here(marker: str | None) -> bool:
    return marker is None or Marker(marker).evaluate()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of this tree, built by pip from a copy (the work tree gets no build/ folder)."""
    tree = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    built = run([*pip_wheel, "--no-build-isolation", "--wheel-dir", dist, tree], timeout=120)
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("govgate-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """deploy/install.sh run as on a server, into a scratch prefix and unit folder."""
    base = tmp_path_factory.mktemp("server")
    prefix, units = base / "opt" / "govgate", base / "systemd"
    done = run(
        [INSTALL_SH, "--from", wheel, "--prefix", prefix, "--unit-dir", units]
        + ["--python", sys.executable]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return prefix, units, done


def venv_packages(venv: Path) -> dict[str, str]:
    listed = run([venv / "bin" / "python", "-m", "pip", "list", "--format=json"])
    assert listed.returncode == 0, listed.stderr
    return {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}


def test_pyproject_and_the_package_agree_on_the_version():
    assert govgate.__version__ == VERSION


def test_the_wheel_carries_the_mit_licence_its_templates_migrations_and_directus_bundle(wheel):
    assert wheel.name == f"govgate-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"govgate-{VERSION}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        licence = archive.read(f"{dist_info}/licenses/LICENSE").decode()
    assert licence == (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    assert "License-Expression: MIT" in metadata.splitlines()
    for name in (
        "govgate/data/oneroof-authmodel.yaml",
        "govgate/web/templates/status.html",
        "govgate/web/static/refresh.js",
        "govgate/db/migrations/script.py.mako",
        "govgate/db/migrations/versions/v1_baseline.py",
        "govgate/directus/bundle/package.json",
        "govgate/directus/bundle/dist/app.js",
    ):
        assert name in names, name


def test_both_locks_pin_every_package_with_hashes():
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        entries = locked(lock)
        assert entries, lock
        for name, (version, hashes, _) in entries.items():
            assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), (lock.name, name, version)
            assert hashes and all(h.startswith("sha256:") for h in hashes), (lock.name, name)


def test_the_runtime_lock_holds_no_test_lint_or_build_tool():
    runtime = locked(RUNTIME_LOCK)
    assert DEV_ONLY.isdisjoint(runtime), DEV_ONLY & set(runtime)
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = canonicalize_name(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in runtime, name


def test_the_dev_lock_is_the_runtime_lock_plus_the_test_and_lint_tools():
    runtime, dev = locked(RUNTIME_LOCK), locked(DEV_LOCK)
    for name, (version, _, _) in runtime.items():
        assert dev[name][0] == version, f"{name}: runtime {version}, dev {dev[name][0]}"
    for tool in ("pytest", "hypothesis", "httpx", "pytest-timeout", "selenium", "ruff", "uv"):
        assert tool in dev, tool


def test_install_sh_makes_the_venv_from_the_wheel_and_exactly_the_runtime_lock(installed):
    prefix, _, done = installed
    packages = venv_packages(prefix / "venv")
    assert packages.pop("govgate") == VERSION
    packages.pop("pip")
    packages.pop("setuptools", None)  # what `python -m venv` brings on 3.11, not the lock's
    expected = {name: v for name, (v, _, marker) in locked(RUNTIME_LOCK).items() if here(marker)}
    assert packages == expected
    assert f"Installed govgate {VERSION} into {prefix / 'venv'}" in done.stdout


def test_the_installed_govgate_prints_its_version(installed):
    prefix, _, _ = installed
    shown = run([prefix / "venv" / "bin" / "govgate", "--version"])
    assert (shown.returncode, shown.stdout.strip()) == (0, f"govgate {VERSION}")


def test_the_installed_govgate_builds_the_demo_and_its_gate_is_blocked_with_a_gap_of_210(
    installed, tmp_path
):
    prefix, _, _ = installed
    govgate_bin = prefix / "venv" / "bin" / "govgate"
    demo = run([govgate_bin, "demo", tmp_path / "demo.db"], cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "gap 210" in demo.stdout, demo.stdout
    # As `make demo` goes on: the configuration the demo wrote beside its database.
    config = {"GOVGATE_CONFIG": str(tmp_path / "govgate.toml")}
    status = run([govgate_bin, "status"], cwd=tmp_path, env=config)
    assert (status.returncode, status.stdout) == (0, "BLOCKED\n"), status.stderr
    gap = run([govgate_bin, "gap"], cwd=tmp_path, env=config)
    assert gap.returncode == 0, gap.stderr
    assert gap.stdout.startswith("ownership gap: 210 of 210 slots uncovered"), gap.stdout


def test_install_sh_installs_the_unit_running_the_venv_it_made(installed):
    prefix, units, _ = installed
    unit = (units / "govgate-agent.service").read_text()
    assert f"ExecStart={prefix}/venv/bin/govgate agent --interval 5" in unit.splitlines()
    assert f"Documentation=file://{prefix}/deploy/README.md" in unit.splitlines()
    assert (prefix / "deploy" / "README.md").read_text() == (ROOT / "deploy/README.md").read_text()
    # Everything else is the repository's unit, unchanged.
    original = (ROOT / "deploy" / "govgate-agent.service").read_text()
    assert unit == original.replace("/opt/govgate/", f"{prefix}/")


def test_install_sh_run_again_upgrades_in_place_and_with_no_systemd_writes_no_unit(
    installed, wheel, tmp_path
):
    prefix, _, _ = installed
    units = tmp_path / "systemd"
    again = run(
        [INSTALL_SH, "--from", wheel, "--prefix", prefix, "--unit-dir", units, "--no-systemd"]
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert not units.exists()
    assert f"{prefix}/venv/bin/govgate --db OWNER_URL upgrade" in again.stdout
    shown = run([prefix / "venv" / "bin" / "govgate", "--version"])
    assert shown.stdout.strip() == f"govgate {VERSION}"


def test_install_sh_refuses_an_unknown_argument_and_a_missing_wheel(tmp_path):
    unknown = run([INSTALL_SH, "--prefx", tmp_path])
    assert unknown.returncode == 2 and "unknown argument '--prefx'" in unknown.stderr
    missing = run([INSTALL_SH, "--from", tmp_path / "nope.whl", "--prefix", tmp_path])
    assert missing.returncode == 2 and "no such wheel or directory" in missing.stderr
    assert not (tmp_path / "venv").exists()


def test_uv_tool_install_of_the_wheel_with_the_runtime_lock_gives_a_working_govgate(
    wheel, tmp_path
):
    uv = Path(sys.executable).parent / "uv"
    env = {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    done = run(
        [uv, "tool", "install", "--python", sys.executable, "-c", RUNTIME_LOCK, wheel], env=env
    )
    assert done.returncode == 0, done.stderr
    shown = run([tmp_path / "bin" / "govgate", "--version"])
    assert (shown.returncode, shown.stdout.strip()) == (0, f"govgate {VERSION}")
    tool_python = tmp_path / "tools" / "govgate" / "bin" / "python"
    listing = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.name: d.version for d in m.distributions()}))"
    )
    found = run([tool_python, "-c", listing])
    versions = {canonicalize_name(n): v for n, v in json.loads(found.stdout).items()}
    expected = {name: v for name, (v, _, marker) in locked(RUNTIME_LOCK).items() if here(marker)}
    assert versions == {**expected, "govgate": VERSION}
