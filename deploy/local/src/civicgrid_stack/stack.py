"""The whole local stack: PostgreSQL, the tansu broker and the four services."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

from civicgrid_stack.broker import TansuBroker
from civicgrid_stack.errors import Interrupted, StackError
from civicgrid_stack.paths import RunLayout, default_run_dir
from civicgrid_stack.ports import PORT_ENV, Ports, ensure_port_free
from civicgrid_stack.postgres import PostgresCluster
from civicgrid_stack.services import ServiceProcess, service_modules, simulator_module
from civicgrid_stack.state import (
    StackState,
    read_state,
    record,
    record_alive,
    remove_state,
    write_state,
)

HOST = "127.0.0.1"
#: Days mode's default time scale for dispatch: a simulated day per real minute.
DEFAULT_DAYS_SCALE = "1/1440"


def _print(msg: str) -> None:
    print(msg, flush=True)


@dataclass(frozen=True)
class SimulatorOptions:
    """The simulated city (``civicgrid_simulator``), an optional extra process started
    once the services are ready. ``days`` plays that many simulated days with dispatch
    at ``time_scale`` (a fraction like ``1/1440``), then the simulator stops."""

    rate: float = 1.0
    days: int | None = None
    time_scale: str = DEFAULT_DAYS_SCALE
    seed: int | None = None

    def dispatch_scale(self) -> str | None:
        """The dispatch time scale days mode needs (None in live mode)."""
        if self.days is None:
            return None
        try:
            value = float(Fraction(self.time_scale.strip()))
        except (ValueError, ZeroDivisionError):
            raise StackError(f"simulator time scale {self.time_scale!r} is not a number or "
                             "a fraction like 1/1440") from None
        if not 0 < value <= 1:
            raise StackError(f"simulator time scale {self.time_scale!r} must be in (0, 1]")
        return repr(value)


class Stack:
    """Starts and stops the local stack; records it in ``<run_dir>/stack.json``.

    ``modules`` maps service name to the module run with ``python -m`` (default:
    :func:`~civicgrid_stack.services.service_modules`, i.e. the four services, each
    overridable by ``CIVICGRID_<NAME>_MODULE``); tests pass a stand-in.
    ``extra_env`` is added to every service's environment. ``simulator`` adds the
    simulated city (off unless given; ``make run`` gives it): intake then also accepts
    the channels' development keys, and in days mode dispatch runs at the time scale.
    """

    def __init__(
        self,
        run_dir: Path | None = None,
        ports: Ports | None = None,
        *,
        modules: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        echo: Callable[[str], None] = _print,
        simulator: SimulatorOptions | None = None,
    ) -> None:
        self.layout = RunLayout(run_dir if run_dir is not None else default_run_dir())
        self.run_dir = self.layout.run_dir
        self.ports = ports if ports is not None else Ports.from_env()
        self.echo = echo
        self.postgres = PostgresCluster(self.layout.pg_data, self.ports.postgres, HOST, echo=echo)
        self.broker = TansuBroker(self.ports.broker, HOST, self.layout.log("broker"))
        self.extra_env = dict(extra_env or {})
        self.simulator_options = simulator
        self._dispatch_scale = simulator.dispatch_scale() if simulator is not None else None
        self.services: dict[str, ServiceProcess] = {
            name: ServiceProcess(
                name, module, self.ports.service_port(name), self.service_env(name),
                self.layout.log(name), HOST,
            )
            for name, module in (modules or service_modules()).items()
        }
        self.simulator: ServiceProcess | None = None
        self.simulator_log_start = 0
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
            **self._simulator_env(name),
            **self.extra_env,
        }

    def _simulator_env(self, name: str) -> dict[str, str]:
        """What the simulated city needs from a service; a value set in the environment
        wins. Intake: the channels' development keys (dev-hotline, ...: local only).
        Dispatch in days mode: the time scale."""
        if self.simulator_options is None:
            return {}
        wanted: dict[str, str] = {}
        if name == "intake":
            wanted["CIVICGRID_DEV_CHANNEL_KEYS"] = "1"
        if name == "dispatch" and self._dispatch_scale is not None:
            wanted["CIVICGRID_DISPATCH_TIME_SCALE"] = self._dispatch_scale
        return {k: v for k, v in wanted.items() if k not in os.environ}

    def simulator_args(self) -> list[str]:
        """The simulator's command line: this stack's addresses and the options."""
        opts = self.simulator_options
        assert opts is not None
        url = {n: f"http://{HOST}:{self.ports.service_port(n)}"
               for n in ("intake", "dispatch", "analytics")}
        scale = os.environ.get("CIVICGRID_DISPATCH_TIME_SCALE") or self._dispatch_scale or "1"
        args = ["--rate", f"{opts.rate:g}", "--time-scale", scale,
                "--intake", url["intake"], "--dispatch", url["dispatch"],
                "--analytics", url["analytics"], "--bootstrap", self.broker.bootstrap,
                "--progress-every", "10", "--parent-pid", str(os.getpid())]
        if opts.days is not None:
            args += ["--days", str(opts.days)]
        if opts.seed is not None:
            args += ["--seed", str(opts.seed)]
        return args

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
                if self.simulator_options is not None:
                    self._start_simulator()
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
        if self.simulator is not None and self.simulator.pid is not None:
            self.echo("stopping the simulator ...")
            self.simulator.stop()
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

    def simulator_exit(self) -> int | None:
        """The simulator's exit code once it has exited (days mode ends by itself)."""
        return self.simulator.returncode() if self.simulator is not None else None

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

    def _start_simulator(self) -> None:
        opts = self.simulator_options
        assert opts is not None
        log = self.layout.log("simulator")
        self.simulator_log_start = log.stat().st_size if log.exists() else 0
        # Not a service: no port (0), no /ready; the supervisor watches its exit code.
        self.simulator = ServiceProcess("simulator", simulator_module(), 0, self.extra_env,
                                        log, HOST, args=self.simulator_args())
        self.simulator.start()
        assert self.simulator.pid is not None
        what = "live" if opts.days is None else \
            f"{opts.days} simulated day{'s' if opts.days != 1 else ''}"
        self.echo(f"started the simulated city ({what}, {opts.rate:g} appeals/s; log {log})")
        # StackState (state.py) has no "simulator" key yet: written as a plain mapping.
        cast(dict[str, Any], self._state)["simulator"] = {
            **record(self.simulator.pid),
            "module": self.simulator.module,
            "rate": opts.rate,
            "days": opts.days,
            "log": str(log),
        }
        self._save()

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
