"""ServiceProcess with a stand-in service module (the real services may not run yet)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from civicgrid_stack import ServiceFailedError, ServiceProcess
from civicgrid_stack.procutil import group_alive, pid_alive
from localstack_helpers import FAKE_MODULE, FAKE_SERVICE_DIR, free_port


def _service(tmp_path: Path, **extra: str) -> ServiceProcess:
    port = free_port()
    env = {
        "PYTHONPATH": str(FAKE_SERVICE_DIR),
        "CIVICGRID_HTTP_HOST": "127.0.0.1",
        "CIVICGRID_HTTP_PORT": str(port),
        "CIVICGRID_ENV": "local",
        **extra,
    }
    return ServiceProcess("fake", FAKE_MODULE, port, env, tmp_path / "fake.log")


def test_start_ready_stop(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.start()
    try:
        took = svc.wait_ready(timeout=30)
        assert took < 30
        pid = svc.pid
        assert pid is not None and pid_alive(pid)
        assert os.getpgid(pid) == pid  # own process group
        env = httpx.get(f"{svc.base_url}/env", trust_env=False).json()
        assert env["CIVICGRID_HTTP_PORT"] == str(svc.port)
        assert env["CIVICGRID_ENV"] == "local"
    finally:
        svc.stop()
    assert not pid_alive(pid) and not group_alive(pid)
    assert "fake service ready" in (tmp_path / "fake.log").read_text()


def test_exit_before_ready_raises_with_log_tail(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.env["CIVICGRID_FAKE_FAIL"] = str(svc.port)
    svc.start()
    try:
        with pytest.raises(ServiceFailedError, match="exited with code 3") as info:
            svc.wait_ready(timeout=30)
        assert "failing on purpose" in str(info.value)
    finally:
        svc.stop()


def test_not_ready_in_time(tmp_path: Path) -> None:
    svc = _service(tmp_path, CIVICGRID_FAKE_DELAY="30")
    svc.start()
    try:
        with pytest.raises(ServiceFailedError, match="not ready"):
            svc.wait_ready(timeout=1)
    finally:
        svc.kill()
    assert svc.pid is not None and not pid_alive(svc.pid)
