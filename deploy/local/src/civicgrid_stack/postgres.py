"""A project-local PostgreSQL cluster for development and tests.

LOCAL DEVELOPMENT ONLY: the cluster listens on 127.0.0.1 alone and trusts every local
connection (``trust`` authentication, no password) for the superuser ``postgres``.
Never expose it or reuse this configuration elsewhere.

Durability is kept as in production (``fsync=on``, ``synchronous_commit=on``,
``full_page_writes=on``): a service answering 2xx after a commit must not lose the
write when the cluster is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from civicgrid_stack.errors import StackError
from civicgrid_stack.pgbin import find_pg_bin, server_major_version
from civicgrid_stack.pguser import RunAs, resolve_run_as
from civicgrid_stack.ports import ensure_port_free, wait_port_free
from civicgrid_stack.procutil import (
    children_of,
    pid_alive,
    tail,
    wait_gone,
)

DEFAULT_DATABASE = "civicgrid"
SUPERUSER = "postgres"
CONF_NAME = "civicgrid.conf"
LOG_NAME = "postgresql.log"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin

_HBA = """\
# Local development cluster (civicgrid_stack): trust, 127.0.0.1 only. NOT for production.
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
"""


class PostgresCluster:
    """One PostgreSQL cluster in ``data_dir``, served on ``host:port``.

    ``start()`` runs ``initdb`` when the directory holds no cluster yet, then
    ``pg_ctl start -w``, and creates the ``civicgrid`` database if it is missing.
    Unlike the broker, the data survives ``stop()``/``start()`` and ``kill()``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        *,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self._echo = echo or (lambda msg: print(msg, file=sys.stderr))
        self._bin: Path | None = None
        self._run_as: RunAs | None = None

    # -- public API ---------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        """The server log (``pg_ctl -l``), inside the data directory."""
        return self.data_dir / LOG_NAME

    @property
    def socket_dir(self) -> Path:
        """Unix socket directory: the data dir, or a short /tmp path if that is too long."""
        socket_file = self.data_dir / f".s.PGSQL.{self.port}"
        if len(os.fsencode(socket_file)) <= _SOCKET_PATH_MAX:
            return self.data_dir
        digest = hashlib.sha1(os.fsencode(self.data_dir)).hexdigest()[:12]  # noqa: S324
        return Path(tempfile.gettempdir()) / f"civicgrid-pg-{digest}"

    def dsn(self, database: str = DEFAULT_DATABASE) -> str:
        """libpq/asyncpg URL, e.g. ``postgresql://postgres@127.0.0.1:5433/civicgrid``."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def postmaster_pid(self) -> int | None:
        """Pid of the running postmaster, or None when the cluster is not running."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first.strip())
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return pid  # no /proc: trust the pid file
        return pid if comm in ("postgres", "postmaster") else None

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        """Start the cluster (initdb first if needed); a no-op if it already runs."""
        if self.is_running():
            self.ensure_database()
            return
        ensure_port_free(self.port, "PostgreSQL", "CIVICGRID_PG_PORT", self.host)
        self._remove_stale_pidfile()
        run_as = self._user()
        self._prepare_dirs(run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(run_as)
        self._check_version()
        self._write_config(run_as)
        result = self._run(
            [str(self._pg_bin() / "pg_ctl"), "start", "-D", str(self.data_dir), "-w",
             "-t", str(int(timeout)), "-s", "-l", str(self.log_path)],
            timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise StackError(
                f"PostgreSQL failed to start on {self.host}:{self.port} "
                f"(pg_ctl exit {result.returncode}: {result.stderr.strip()}).\n"
                f"Last lines of {self.log_path}:\n{tail(self.log_path)}"
            )
        self.ensure_database()

    def stop(self, timeout: float = 60.0) -> None:
        """``pg_ctl stop -m fast`` (falls back to ``immediate``, then SIGKILL)."""
        if not self.is_running():
            return
        for mode in ("fast", "immediate"):
            result = self._run(
                [str(self._pg_bin() / "pg_ctl"), "stop", "-D", str(self.data_dir),
                 "-m", mode, "-w", "-t", str(int(timeout)), "-s"],
                timeout=timeout + 10,
            )
            if result.returncode == 0 or not self.is_running():
                break
        else:
            self.kill()
        self._remove_short_socket_dir()
        # pg_ctl returns once postmaster.pid is gone; the listening socket may close a
        # moment later. Wait, so that an immediate start() (restart) finds the port free.
        wait_port_free(self.port, self.host, 10.0)

    def _remove_short_socket_dir(self) -> None:
        sock = self.socket_dir
        if sock != self.data_dir:
            with contextlib.suppress(OSError):
                sock.rmdir()  # only when empty

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends: a crash, for fault tests.

        The data stays; the next ``start()`` runs crash recovery from the WAL.
        """
        pid = self.postmaster_pid()
        if pid is None:
            return
        victims = [pid, *children_of(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        if not wait_gone(victims, 10.0):
            raise StackError(f"PostgreSQL processes {victims} survived SIGKILL")
        wait_port_free(self.port, self.host, 10.0)
        # The postmaster was re-parented; until its new parent reaps it, a zombie holds
        # the pid and a new postmaster would refuse to start. Give the reaper a moment.
        wait_gone([pid], 2.0, reaped=True)
        self._remove_stale_pidfile()

    def _remove_stale_pidfile(self) -> None:
        """Drop ``postmaster.pid`` when it names no live postmaster (dead, zombie, reused).

        PostgreSQL itself refuses to start while the recorded pid exists at all, which
        after a SIGKILL includes an unreaped zombie.
        """
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists() and self.postmaster_pid() is None:
            pidfile.unlink(missing_ok=True)

    def ensure_database(self, database: str = DEFAULT_DATABASE) -> None:
        """Create ``database`` unless it exists (connects over TCP as ``postgres``)."""
        found = self._psql("SELECT 1 FROM pg_database WHERE datname = :'db';", db=database)
        if found.strip() == "1":
            return
        try:
            self._psql('CREATE DATABASE :"db";', db=database)
        except StackError as exc:
            if "already exists" not in str(exc):
                raise

    # -- internals ----------------------------------------------------------------

    def _pg_bin(self) -> Path:
        if self._bin is None:
            self._bin = find_pg_bin(echo=self._echo)
        return self._bin

    def _user(self) -> RunAs:
        if self._run_as is None:
            self._run_as = resolve_run_as(self._echo)
        return self._run_as

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        # cwd="/": the postgres user may not be allowed into our working directory.
        # start_new_session: a Ctrl-C in the terminal must not reach the server directly.
        return subprocess.run(
            self._user().wrap(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            start_new_session=True,
            check=False,
        )

    def _psql(self, sql: str, **variables: str) -> str:
        """Run ``sql`` (read from stdin, so ``:'var'``/``:"var"`` quoting applies)."""
        argv = [str(self._pg_bin() / "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"]
        for name, value in variables.items():
            argv += ["-v", f"{name}={value}"]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        for key in ("PGPASSWORD", "PGSERVICE", "PGOPTIONS", "PGDATABASE", "PGUSER"):
            env.pop(key, None)
        result = subprocess.run(argv, input=sql, capture_output=True, text=True, env=env,
                                timeout=30, check=False)
        if result.returncode != 0:
            raise StackError(f"psql on {self.dsn('postgres')} failed: {result.stderr.strip()}")
        return result.stdout

    def _prepare_dirs(self, run_as: RunAs) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        run_as.own(self.data_dir, recursive=self.data_dir.stat().st_uid != run_as.uid)
        run_as.make_reachable(self.data_dir, self._echo)
        sock = self.socket_dir
        if sock != self.data_dir:
            sock.mkdir(mode=0o700, exist_ok=True)
            run_as.own(sock)

    def _initdb(self, run_as: RunAs) -> None:
        if any(self.data_dir.iterdir()):
            raise StackError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster: "
                "remove it or choose another run directory"
            )
        result = self._run(
            [str(self._pg_bin() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--locale=C"],
            timeout=300,
        )
        if result.returncode != 0:
            raise StackError(
                f"initdb {self.data_dir} failed: {result.stderr.strip() or result.stdout}"
            )
        with (self.data_dir / "postgresql.conf").open("a") as fh:
            fh.write(f"\n# Settings of the civicgrid local stack (rewritten on start):\n"
                     f"include_if_exists = '{CONF_NAME}'\n")

    def _check_version(self) -> None:
        data_version = (self.data_dir / "PG_VERSION").read_text().strip()
        server = server_major_version(self._pg_bin())
        if data_version != str(server):
            raise StackError(
                f"{self.data_dir} was created by PostgreSQL {data_version} but the server "
                f"found is {server} ({self._pg_bin()}): set CIVICGRID_PG_BIN to a "
                f"PostgreSQL {data_version} bin directory, or delete {self.data_dir} "
                "(its data will be lost)"
            )

    def _write_config(self, run_as: RunAs) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'" if self.host == "127.0.0.1" else f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "shared_buffers": "256MB",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "logging_collector": "off",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "log_timezone": "'UTC'",
            "timezone": "'UTC'",
        }
        body = "# Written by civicgrid_stack on every start; edits are overwritten.\n"
        body += "".join(f"{key} = {value}\n" for key, value in settings.items())
        conf = self.data_dir / CONF_NAME
        conf.write_text(body)
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        run_as.own(conf)
        run_as.own(self.data_dir / "pg_hba.conf")
