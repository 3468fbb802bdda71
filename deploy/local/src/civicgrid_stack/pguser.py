"""The operating-system user that runs PostgreSQL.

PostgreSQL refuses to run as root. When we are root, every server command runs as the
``postgres`` user through ``runuser -u postgres --`` (a system user ``civicgrid-pg`` is
created with ``useradd`` when no ``postgres`` user exists), the data directory is
chowned to that user, and parent directories get the "search" bit (``o+x``, not
listing) where that user could not otherwise reach the data directory.
As a normal user, commands run unchanged as that user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from civicgrid_stack.errors import StackError

FALLBACK_USER = "civicgrid-pg"


@dataclass(frozen=True)
class RunAs:
    """Who runs the PostgreSQL processes; ``wrap`` turns an argv into one for that user."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]
    via_runuser: bool

    def wrap(self, argv: Sequence[str]) -> list[str]:
        if not self.via_runuser:
            return list(argv)
        return ["runuser", "-u", self.name, "--", *argv]

    def own(self, path: Path, recursive: bool = False) -> None:
        """Give ``path`` to this user (no-op unless we are root)."""
        if not self.via_runuser:
            return
        targets = [path]
        if recursive and path.is_dir():
            targets += list(path.rglob("*"))
        for target in targets:
            st = target.lstat()
            if st.st_uid != self.uid or st.st_gid != self.gid:
                os.lchown(target, self.uid, self.gid)

    def can_search(self, directory: Path) -> bool:
        st = directory.stat()
        if st.st_uid == self.uid:
            return bool(st.st_mode & stat.S_IXUSR)
        if st.st_gid in self.groups:
            return bool(st.st_mode & stat.S_IXGRP)
        return bool(st.st_mode & stat.S_IXOTH)

    def make_reachable(self, path: Path, echo: Callable[[str], None]) -> None:
        """Add the search bit to ancestors of ``path`` this user could not traverse."""
        if not self.via_runuser:
            return
        for parent in reversed(path.resolve().parents):
            if parent.is_dir() and not self.can_search(parent):
                mode = parent.stat().st_mode
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
                echo(f"note: added o+x to {parent} so user {self.name!r} can reach {path}")


def _user(name: str, via_runuser: bool) -> RunAs:
    entry = pwd.getpwnam(name)
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    return RunAs(name, entry.pw_uid, entry.pw_gid, frozenset(groups), via_runuser)


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def resolve_run_as(echo: Callable[[str], None] | None = None) -> RunAs:
    """The user to run PostgreSQL as (creating ``civicgrid-pg`` if root and needed)."""
    say = echo or (lambda msg: print(msg, file=sys.stderr))
    if os.geteuid() != 0:
        return _user(pwd.getpwuid(os.geteuid()).pw_name, via_runuser=False)
    if shutil.which("runuser") is None:
        raise StackError(
            "running as root, but 'runuser' (util-linux) is missing: PostgreSQL cannot "
            "run as root; install util-linux or start the stack as a normal user"
        )
    for name in ("postgres", FALLBACK_USER):
        if _exists(name):
            return _user(name, via_runuser=True)
    say(f"creating system user {FALLBACK_USER!r} to run PostgreSQL (it refuses to run as root)")
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and not _exists(FALLBACK_USER):
        raise StackError(
            f"useradd {FALLBACK_USER} failed ({result.stderr.strip()}): create a "
            "'postgres' system user or start the stack as a normal user"
        )
    return _user(FALLBACK_USER, via_runuser=True)
