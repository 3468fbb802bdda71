"""The composed Stack and the CLI (up/status/down) with stand-in services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from civicgrid_stack import Ports, Stack, StackError
from civicgrid_stack.ports import PORT_ENV
from civicgrid_stack.procutil import pid_alive
from civicgrid_stack.stack import SimulatorOptions
from localstack_helpers import FAKE_SERVICE_DIR, SERVICES, fake_modules


def _assert_all_gone(state: dict[str, object]) -> None:
    pids = [state["broker"]["pid"], state["postgres"]["pid"]]  # type: ignore[index]
    pids += [rec["pid"] for rec in state["services"].values()]  # type: ignore[attr-defined]
    if "simulator" in state:
        pids.append(state["simulator"]["pid"])  # type: ignore[index]
    assert [p for p in pids if pid_alive(p)] == []


def test_ports_from_env() -> None:
    env = {PORT_ENV["broker"]: "19999", PORT_ENV["postgres"]: "15999"}
    ports = Ports.from_env(env)
    assert (ports.broker, ports.postgres, ports.intake) == (19999, 15999, 8001)
    with pytest.raises(StackError, match="CIVICGRID_PG_PORT"):
        Ports.from_env({PORT_ENV["postgres"]: "abc"})
    free = Ports.free()
    assert len(set(free.as_dict().values())) == 6


def test_stack_start_stop(tmp_path: Path) -> None:
    stack = Stack(
        tmp_path / "run", Ports.free(), modules=fake_modules(),
        extra_env={"PYTHONPATH": str(FAKE_SERVICE_DIR)}, echo=lambda _msg: None,
    )
    stack.start()
    try:
        state = json.loads((tmp_path / "run" / "stack.json").read_text())
        assert state["status"] == "ready"
        assert set(state["services"]) == set(SERVICES)
        for name in SERVICES:
            url = stack.services[name].base_url
            env = httpx.get(f"{url}/env", trust_env=False).json()
            assert env["CIVICGRID_DATABASE_URL"] == stack.postgres.dsn()
            assert env["CIVICGRID_KAFKA_BOOTSTRAP"] == stack.broker.bootstrap
            assert env["CIVICGRID_HTTP_PORT"] == str(stack.ports.service_port(name))
            assert env["CIVICGRID_HTTP_HOST"] == "127.0.0.1"
            assert env["CIVICGRID_ENV"] == "local"
            assert "CIVICGRID_DEV_CHANNEL_KEYS" not in env  # no simulator unless asked
        assert "simulator" not in state and stack.simulator is None
    finally:
        stack.stop()
    assert not (tmp_path / "run" / "stack.json").exists()
    _assert_all_gone(state)


@pytest.mark.skipif("CIVICGRID_DISPATCH_TIME_SCALE" in os.environ,
                    reason="the environment sets dispatch's time scale itself")
def test_stack_with_the_simulated_city(tmp_path: Path) -> None:
    """Asked for, the simulator runs once the services are ready, with what it needs:
    intake takes the channels' dev keys, dispatch runs at the days mode's time scale.
    (Against stand-in services the real simulator just waits for the cases topic.)"""
    stack = Stack(
        tmp_path / "run", Ports.free(), modules=fake_modules(),
        extra_env={"PYTHONPATH": str(FAKE_SERVICE_DIR)}, echo=lambda _msg: None,
        simulator=SimulatorOptions(rate=2.0, days=3, time_scale="1/100"),
    )
    stack.start()
    try:
        state = json.loads((tmp_path / "run" / "stack.json").read_text())
        env = {n: httpx.get(f"{stack.services[n].base_url}/env", trust_env=False).json()
               for n in ("intake", "dispatch", "enforcement")}
        assert env["intake"]["CIVICGRID_DEV_CHANNEL_KEYS"] == "1"
        assert float(env["dispatch"]["CIVICGRID_DISPATCH_TIME_SCALE"]) == 0.01
        assert "CIVICGRID_DEV_CHANNEL_KEYS" not in env["enforcement"]
        assert "CIVICGRID_DISPATCH_TIME_SCALE" not in env["enforcement"]
        assert stack.simulator is not None and stack.simulator.is_running()
        assert state["simulator"]["pid"] == stack.simulator.pid
        args = " ".join(stack.simulator.args)
        assert "--days 3" in args and "--time-scale 0.01" in args and "--rate 2" in args
        assert f"--intake http://127.0.0.1:{stack.ports.intake}" in args
        assert f"--bootstrap {stack.broker.bootstrap}" in args
        assert stack.simulator_exit() is None
    finally:
        stack.stop()
    _assert_all_gone(state)
    with pytest.raises(StackError, match="time scale"):
        Stack(tmp_path / "other", Ports.free(),
              simulator=SimulatorOptions(days=1, time_scale="fast"))


def test_stack_failure_stops_everything(tmp_path: Path) -> None:
    ports = Ports.free()
    stack = Stack(
        tmp_path / "run", ports, modules=fake_modules(), echo=lambda _msg: None,
        extra_env={"PYTHONPATH": str(FAKE_SERVICE_DIR),
                   "CIVICGRID_FAKE_FAIL": str(ports.dispatch)},
    )
    with pytest.raises(StackError, match=r"dispatch .*exited with code 3"):
        stack.start()
    assert not stack.postgres.is_running() and not stack.broker.is_running()
    assert all(not s.is_running() for s in stack.services.values())


def _cli(run_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicgrid_stack", "--run-dir", str(run_dir), *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_cli_up_status_down(tmp_path: Path) -> None:
    ports = Ports.free()
    env = {**os.environ, "PYTHONPATH": str(FAKE_SERVICE_DIR)}
    env.update({PORT_ENV[k]: str(v) for k, v in ports.as_dict().items()})
    env.update({f"CIVICGRID_{n.upper()}_MODULE": "civicgrid_fakesvc" for n in SERVICES})
    run_dir = tmp_path / "run"
    state: dict[str, object] = {}
    try:
        up = _cli(run_dir, env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{ports.intake}/docs" in up.stdout
        assert f"postgresql://postgres@127.0.0.1:{ports.postgres}/civicgrid" in up.stdout
        state = json.loads((run_dir / "stack.json").read_text())
        assert "simulator" in state  # on by default; stopped by down like the rest
        assert "simulated city" in up.stdout
        status = _cli(run_dir, env, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count("ready") >= 6
    finally:
        down = _cli(run_dir, env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (run_dir / "stack.json").exists()
    assert not pid_alive(state["supervisor"]["pid"])  # type: ignore[index]
    _assert_all_gone(state)
    again = _cli(run_dir, env, "down")
    assert again.returncode == 0 and "nothing was running" in again.stdout
    assert _cli(run_dir, env, "status").returncode == 3
