"""The whole local stack: PostgreSQL, the tansu broker and the four services."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from civicgrid_stack.broker import TansuBroker
from civicgrid_stack.errors import Interrupted, StackError
from civicgrid_stack.paths import RunLayout, default_run_dir
from civicgrid_stack.ports import PORT_ENV, Ports, ensure_port_free
from civicgrid_stack.postgres import PostgresCluster
from civicgrid_stack.services import ServiceProcess, service_modules
from civicgrid_stack.state import (
    StackState,
    read_state,
    record,
    record_alive,
    remove_state,
    write_state,
)

HOST = "127.0.0.1"


def _print(msg: str) -> None:
    print(msg, flush=True)


class Stack:
    """Starts and stops the local stack; records it in ``<run_dir>/stack.json``.

    ``modules`` maps service name to the module run with ``python -m`` (default:
    :func:`~civicgrid_stack.services.service_modules`, i.e. the four services, each
    overridable by ``CIVICGRID_<NAME>_MODULE``); tests pass a stand-in.
    ``extra_env`` is added to every service's environment.
    """

    def __init__(
        self,
        run_dir: Path | None = None,
        ports: Ports | None = None,
        *,
        modules: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        echo: Callable[[str], None] = _print,
    ) -> None:
        self.layout = RunLayout(run_dir if run_dir is not None else default_run_dir())
        self.run_dir = self.layout.run_dir
        self.ports = ports if ports is not None else Ports.from_env()
        self.echo = echo
        self.postgres = PostgresCluster(self.layout.pg_data, self.ports.postgres, HOST, echo=echo)
        self.broker = TansuBroker(self.ports.broker, HOST, self.layout.log("broker"))
        self.extra_env = dict(extra_env or {})
        self.services: dict[str, ServiceProcess] = {
            name: ServiceProcess(
                name, module, self.ports.service_port(name), self.service_env(name),
                self.layout.log(name), HOST,
            )
            for name, module in (modules or service_modules()).items()
        }
        self._state: StackState = {}
        self._owns_postgres = False

    # -- configuration --------------------------------------------------------

    def service_env(self, name: str) -> dict[str, str]:
        """The environment contract of a service (merged over ``os.environ``)."""
        return {
            "CIVICGRID_DATABASE_URL": self.postgres.dsn(),
            "CIVICGRID_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "CIVICGRID_HTTP_HOST": HOST,
            "CIVICGRID_HTTP_PORT": str(self.ports.service_port(name)),
            "CIVICGRID_ENV": "local",
            **self.extra_env,
        }

    # -- lifecycle --------------------------------------------------------------

    def start(self, services: bool = True, timeout: float = 60.0) -> None:
        """PostgreSQL, then the broker, then the services (in parallel) until all ready.

        On any failure everything started so far is stopped again and the error is
        raised (its message says what to do next).
        """
        self.layout.ensure()
        self._claim_run_dir()
        self._check_ports(services)
        self._state = {
            "status": "starting",
            "supervisor": record(os.getpid()),
            "run_dir": str(self.run_dir),
            "log_dir": str(self.layout.log_dir),
            "ports": self.ports.as_dict(),
        }
        self._save()
        try:
            self._start_postgres()
            self._start_broker()
            if services:
                self._start_services(timeout)
        except BaseException as exc:
            self._state["status"] = "failed"
            self._state["error"] = str(exc) or type(exc).__name__
            self._save()
            interrupted = isinstance(exc, Interrupted | KeyboardInterrupt)
            why = "interrupted" if interrupted else "failed"
            self.echo(f"startup {why}: stopping what was started")
            self.stop(remove=False)
            raise
        self._state["status"] = "ready"
        self._save()

    def stop(self, remove: bool = True) -> None:
        """Services, then the broker, then PostgreSQL; then drop the state file."""
        if self._state:
            self._state["status"] = "stopping"
            self._save()
        running = [s for s in self.services.values() if s.pid is not None]
        if running:
            self.echo("stopping services ...")
            with concurrent.futures.ThreadPoolExecutor(len(running)) as pool:
                list(pool.map(lambda s: s.stop(), running))
        if self.broker.is_running():
            self.echo("stopping broker ...")
        self.broker.stop()
        if self._owns_postgres and self.postgres.is_running():
            self.echo("stopping PostgreSQL ...")
            self.postgres.stop()
        self._owns_postgres = False
        if remove:
            remove_state(self.layout.state_file)
        self._state = {}

    def unexpected_exits(self) -> dict[str, int]:
        """Services that exited on their own since ``start()``: name -> exit code."""
        out: dict[str, int] = {}
        for name, svc in self.services.items():
            code = svc.returncode()
            if code is not None:
                out[name] = code
        return out

    @property
    def state(self) -> StackState:
        return self._state

    # -- steps ------------------------------------------------------------------

    def _save(self) -> None:
        write_state(self.layout.state_file, self._state)

    def _claim_run_dir(self) -> None:
        existing = read_state(self.layout.state_file)
        if existing is None:
            return
        sup = existing.get("supervisor")
        if record_alive(sup) and sup is not None and sup["pid"] != os.getpid():
            raise StackError(
                f"a stack is already running from {self.run_dir} (supervisor pid "
                f"{sup['pid']}): stop it with 'python -m civicgrid_stack down' first"
            )
        from civicgrid_stack.control import stop_recorded

        self.echo(f"cleaning up after a stack that did not stop cleanly ({self.run_dir})")
        stop_recorded(self.run_dir, echo=self.echo)

    def _check_ports(self, services: bool) -> None:
        checks = [("postgres", "PostgreSQL"), ("broker", "Kafka broker")]
        if services:
            checks += [(name, f"service {name}") for name in self.services]
        for field, what in checks:
            port = getattr(self.ports, field)
            if field == "postgres" and self.postgres.is_running():
                continue  # our own cluster, left running: start() is idempotent
            ensure_port_free(port, what, PORT_ENV.get(field), HOST)

    def _timed(self, what: str, action: Callable[[], object]) -> None:
        self.echo(f"starting {what} ...")
        started = time.monotonic()
        action()
        self.echo(f"  {what}: ready in {time.monotonic() - started:.1f}s")

    def _start_postgres(self) -> None:
        self._owns_postgres = True
        self._timed(f"PostgreSQL on {HOST}:{self.ports.postgres}", self.postgres.start)
        pid = self.postgres.postmaster_pid()
        self._state["postgres"] = {
            "data_dir": str(self.postgres.data_dir),
            "port": self.ports.postgres,
            "dsn": self.postgres.dsn(),
            "log": str(self.postgres.log_path),
            **(record(pid) if pid is not None else {}),
        }
        self._save()

    def _start_broker(self) -> None:
        self._timed(f"broker (tansu, memory only) on {self.broker.bootstrap}", self.broker.start)
        assert self.broker.pid is not None
        self._state["broker"] = {
            **record(self.broker.pid),
            "bootstrap": self.broker.bootstrap,
            "log": str(self.broker.log_path),
        }
        self._save()

    def _start_services(self, timeout: float) -> None:
        names = ", ".join(f"{n}:{s.port}" for n, s in self.services.items())
        self.echo(f"starting services ({names}) ...")
        self._state["services"] = {}
        for name, svc in self.services.items():
            svc.start()
            assert svc.pid is not None
            self._state["services"][name] = {
                **record(svc.pid),
                "module": svc.module,
                "url": svc.base_url,
                "log": str(svc.log_path),
            }
        self._save()
        errors: list[str] = []
        with concurrent.futures.ThreadPoolExecutor(max(1, len(self.services))) as pool:
            futures = {pool.submit(svc.wait_ready, timeout): name
                       for name, svc in self.services.items()}
            try:
                self._collect_ready(futures, errors)
            except BaseException:
                # Interrupted (Ctrl-C): make the waiting threads return at once.
                for svc in self.services.values():
                    svc.kill()
                raise
        if errors:
            raise StackError("\n\n".join(errors))

    def _collect_ready(
        self, futures: dict[concurrent.futures.Future[float], str], errors: list[str]
    ) -> None:
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                took = future.result()
            except StackError as exc:
                if errors:  # killed below because another one failed first
                    self.echo(f"  {name}: not ready (stopped)")
                    continue
                errors.append(str(exc))
                self.echo(f"  {name}: FAILED")
                # Stop the rest now rather than waiting out their timeouts.
                for other in self.services.values():
                    other.kill()
            else:
                self.echo(f"  {name}: ready in {took:.1f}s ({self.services[name].base_url})")
