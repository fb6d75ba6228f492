"""govgate's Directus extension bundle, shipped inside the package, and its installation.

`extensions/directus/build.sh` builds the bundle from its sources and copies what Directus loads
(package.json, dist/app.js, dist/api.js) into `bundle/` beside this module; those built files are
committed and part of the wheel. `install` writes them into a Directus EXTENSIONS_PATH folder as
FOLDER/govgate/, replacing a previous govgate bundle there whole: the new copy is written to a
temporary folder beside it and renamed into place, so Directus (which reads its extensions when
it starts) finds the old bundle or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import BadInput, EnvironmentFault

FOLDER_NAME = "govgate"  # the bundle's folder under EXTENSIONS_PATH
PACKAGE_NAME = "govgate-directus"  # package.json "name"
FILES = ("package.json", "dist/app.js", "dist/api.js")


@dataclass(frozen=True)
class InstallResult:
    """Where the bundle was written, which one, and for which Directus versions."""

    path: str  # FOLDER/govgate
    name: str
    version: str
    host: str  # package.json directus:extension.host: the Directus versions it is tested on
    files: tuple[str, ...]
    replaced: bool  # a previous govgate bundle was there

    def lines(self) -> list[str]:
        what = "replaced the previous bundle" if self.replaced else "new"
        return [
            f"installed {self.name} {self.version} in {self.path} ({what})",
            f"for Directus {self.host}: restart Directus to load it",
        ]


def shipped() -> dict[str, bytes]:
    """The built bundle's files inside this package, by their path in the bundle."""
    root = resources.files(__package__).joinpath("bundle")
    try:
        return {name: root.joinpath(*name.split("/")).read_bytes() for name in FILES}
    except OSError as exc:
        raise EnvironmentFault(
            f"this govgate has no built Directus extension ({exc.strerror or exc})",
            hint="reinstall govgate, or run extensions/directus/build.sh in its source tree",
        ) from exc


def manifest(package_json: bytes) -> tuple[str, str, str]:
    """(name, version, host range) from the bundle's package.json."""
    data = json.loads(package_json)
    return data["name"], data["version"], data["directus:extension"]["host"]


def install(folder: str | os.PathLike) -> InstallResult:
    """Write the shipped bundle into FOLDER (Directus's EXTENSIONS_PATH) as FOLDER/govgate/.

    BadInput when FOLDER does not exist or is not a folder, or when FOLDER/govgate holds
    something that is not a govgate bundle; EnvironmentFault when it cannot be written.
    """
    base = Path(folder)
    if not base.is_dir():
        state = "does not exist" if not base.exists() else "is not a folder"
        raise BadInput(
            f"{base} {state}; nothing was written",
            hint="name Directus's extensions folder, its EXTENSIONS_PATH (/directus/extensions)",
        )
    files = shipped()
    name, version, host = manifest(files["package.json"])
    target = base / FOLDER_NAME
    replaced = _previous(target)
    try:
        fresh = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-new-", dir=base))
        try:
            for path, data in files.items():
                (fresh / path).parent.mkdir(parents=True, exist_ok=True)
                (fresh / path).write_bytes(data)
            fresh.chmod(0o755)
            _swap(fresh, target, replaced)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)  # gone already unless something failed
    except OSError as exc:
        raise EnvironmentFault(
            f"cannot write the Directus extension to {target}: {exc.strerror or exc}"
        ) from exc
    return InstallResult(str(target), name, version, host, FILES, replaced)


def _previous(target: Path) -> bool:
    """True when TARGET is a govgate bundle to replace; False when it is free."""
    if not os.path.lexists(target):
        return False
    try:
        ours = target.is_dir() and not target.is_symlink()
        ours = ours and manifest((target / "package.json").read_bytes())[0] == PACKAGE_NAME
    except (OSError, ValueError, KeyError, TypeError):
        ours = False
    if not ours:
        raise BadInput(
            f"{target} exists and is not govgate's Directus extension; nothing was written",
            hint=f"govgate installs its bundle as {target}: move what is there away first",
        )
    return True


def _swap(fresh: Path, target: Path, replaced: bool) -> None:
    """Move FRESH to TARGET; a previous TARGET is moved aside first and removed after."""
    if not replaced:
        fresh.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}-old-", dir=target.parent))
    aside = old / FOLDER_NAME
    target.rename(aside)
    try:
        fresh.rename(target)
    except OSError:
        aside.rename(target)  # put the previous bundle back
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)
