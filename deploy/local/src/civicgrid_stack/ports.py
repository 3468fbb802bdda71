"""Port assignment for the local stack, and port availability checks."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass, fields

from civicgrid_stack.errors import PortInUseError, StackError

#: Environment variable that overrides each port (field name -> variable).
PORT_ENV: dict[str, str] = {
    "intake": "CIVICGRID_INTAKE_PORT",
    "dispatch": "CIVICGRID_DISPATCH_PORT",
    "enforcement": "CIVICGRID_ENFORCEMENT_PORT",
    "analytics": "CIVICGRID_ANALYTICS_PORT",
    "broker": "CIVICGRID_BROKER_PORT",
    "postgres": "CIVICGRID_PG_PORT",
}


@dataclass(frozen=True)
class Ports:
    """TCP ports of every process in the local stack (all bound to 127.0.0.1)."""

    intake: int = 8001
    dispatch: int = 8002
    enforcement: int = 8003
    analytics: int = 8004
    broker: int = 9092
    postgres: int = 5433

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Ports:
        """Defaults, each overridden by its ``CIVICGRID_*_PORT`` variable when set."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field in fields(cls):
            var = PORT_ENV[field.name]
            raw = env.get(var, "").strip()
            if not raw:
                continue
            try:
                port = int(raw)
            except ValueError:
                raise StackError(f"{var}={raw!r} is not a port number") from None
            if not 0 < port < 65536:
                raise StackError(f"{var}={port} is outside 1..65535")
            values[field.name] = port
        return cls(**values)

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> Ports:
        """Six distinct ports that are free right now (for tests and parallel stacks)."""
        socks: list[socket.socket] = []
        try:
            for _ in fields(cls):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((host, 0))
                socks.append(s)
            numbers = [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()
        return cls(*numbers)

    def service_port(self, service: str) -> int:
        """Port of one of the four services, by name."""
        port: int = asdict(self)[service]
        return port

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``host:port`` and we could bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ensure_port_free(port: int, what: str, env_var: str | None, host: str = "127.0.0.1") -> None:
    """Raise :class:`PortInUseError` with a next step if ``host:port`` is taken."""
    if port_is_free(port, host):
        return
    hint = f" or set {env_var}" if env_var else ""
    raise PortInUseError(
        f"port {port} ({what}) on {host} is in use: stop the other process{hint}"
        f" (see who holds it: ss -ltnp 'sport = :{port}')"
    )


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_free(port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> bool:
    """Wait until ``host:port`` can be bound again (after stopping its owner)."""
    deadline = time.monotonic() + timeout
    while not port_is_free(port, host):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
