"""Locate (or, as root on Debian, install) the PostgreSQL server binaries.

Search order:

1. ``$CIVICGRID_PG_BIN`` (a directory holding ``pg_ctl``, or the ``pg_ctl`` file itself);
2. ``/usr/lib/postgresql/<highest version>/bin`` (Debian/Ubuntu packages);
3. ``pg_ctl`` on ``PATH`` (symlinks resolved);
4. the binaries bundled in the ``pgserver`` wheel (``pgserver/pginstall/bin``);
5. as root on Debian: ``apt-get update && apt-get install -y postgresql``, then 2. again.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from civicgrid_stack.errors import BinaryNotFoundError

ENV_VAR = "CIVICGRID_PG_BIN"
_REQUIRED = ("pg_ctl", "initdb", "postgres", "psql")


def _complete(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / name, os.X_OK) for name in _REQUIRED)


def _from_env() -> Path | None:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if path.is_file():
        path = path.parent
    if not _complete(path):
        raise BinaryNotFoundError(
            f"{ENV_VAR}={raw} does not contain {', '.join(_REQUIRED)}: "
            "point it at a PostgreSQL bin directory or unset it"
        )
    return path


def _debian_versions() -> Path | None:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    candidates = []
    for entry in root.iterdir():
        match = re.fullmatch(r"(\d+)(?:\.(\d+))?", entry.name)
        if match and _complete(entry / "bin"):
            candidates.append(((int(match[1]), int(match[2] or 0)), entry / "bin"))
    if not candidates:
        return None
    return max(candidates)[1]


def _from_path() -> Path | None:
    found = shutil.which("pg_ctl")
    if found is None:
        return None
    bin_dir = Path(found).resolve().parent
    return bin_dir if _complete(bin_dir) else None


def _from_pgserver() -> Path | None:
    try:
        spec = importlib.util.find_spec("pgserver")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bin_dir = Path(location) / "pginstall" / "bin"
        if _complete(bin_dir):
            return bin_dir
    return None


def _apt_install(echo: Callable[[str], None]) -> bool:
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        return False
    if shutil.which("apt-get") is None:
        return False
    echo("PostgreSQL not found: installing Debian package 'postgresql' (apt-get) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        echo("  $ " + " ".join(argv))
        # Output goes straight to the terminal so the user sees apt's progress.
        result = subprocess.run(argv, env=env, stdout=sys.stderr, check=False)
        if result.returncode != 0:
            echo(f"  {argv[0]} {argv[1]} failed with exit code {result.returncode}")
            return False
    return True


def find_pg_bin(
    *, install: bool = True, echo: Callable[[str], None] | None = None
) -> Path:
    """Directory holding ``pg_ctl``, ``initdb``, ``postgres`` and ``psql``.

    Raises :class:`BinaryNotFoundError` (saying what to install) when none is found.
    """
    say = echo or (lambda msg: print(msg, file=sys.stderr))
    for finder in (_from_env, _debian_versions, _from_path, _from_pgserver):
        found = finder()
        if found is not None:
            return found
    if install and _apt_install(say):
        found = _debian_versions()
        if found is not None:
            return found
    raise BinaryNotFoundError(
        "PostgreSQL server binaries not found. Install them (Debian/Ubuntu: "
        "'sudo apt-get install postgresql'; or 'uv pip install pgserver'), "
        f"or set {ENV_VAR} to a directory containing pg_ctl, initdb, postgres and psql."
    )


def server_major_version(bin_dir: Path) -> int:
    """Major version of the ``postgres`` binary in ``bin_dir`` (e.g. 15)."""
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if match is None:
        raise BinaryNotFoundError(f"cannot parse PostgreSQL version from {out!r}")
    return int(match[1])
