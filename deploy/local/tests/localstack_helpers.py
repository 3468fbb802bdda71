"""Helpers shared by the civicgrid_stack tests (unique module name: no package here)."""

from __future__ import annotations

import socket
from pathlib import Path

FAKE_SERVICE_DIR = Path(__file__).parent / "fakesvc"
FAKE_MODULE = "civicgrid_fakesvc"
SERVICES = ("intake", "dispatch", "enforcement", "analytics")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def fake_modules() -> dict[str, str]:
    return dict.fromkeys(SERVICES, FAKE_MODULE)
