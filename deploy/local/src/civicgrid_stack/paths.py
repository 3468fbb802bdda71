"""Where the local stack keeps its files: ``<project root>/.run/`` by default."""

from __future__ import annotations

import os
from pathlib import Path

RUN_DIR_ENV = "CIVICGRID_RUN_DIR"


def _is_workspace_root(directory: Path) -> bool:
    pyproject = directory / "pyproject.toml"
    try:
        return "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8")
    except OSError:
        return False


def project_root() -> Path:
    """The uv workspace root: searched upward from the cwd, then from this package."""
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start, *start.parents):
            if _is_workspace_root(directory):
                return directory
    return Path.cwd()


def default_run_dir() -> Path:
    """``$CIVICGRID_RUN_DIR`` or ``<project root>/.run``."""
    override = os.environ.get(RUN_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return project_root() / ".run"


class RunLayout:
    """File layout inside a run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir).absolute()

    @property
    def pg_data(self) -> Path:
        return self.run_dir / "pgdata"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def supervisor_log(self) -> Path:
        return self.log_dir / "stack.log"

    def log(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    def ensure(self) -> None:
        """Create the run and log directories; keep them out of git (``.gitignore: *``)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.run_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# civicgrid local stack state, logs and database\n*\n")
