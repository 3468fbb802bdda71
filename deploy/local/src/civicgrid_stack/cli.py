"""``python -m civicgrid_stack {run,up,down,status}``: the local stack from a shell."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from civicgrid_stack.control import stack_status, stop_recorded
from civicgrid_stack.errors import Interrupted, StackError
from civicgrid_stack.paths import RunLayout, default_run_dir, project_root
from civicgrid_stack.ports import Ports
from civicgrid_stack.procutil import tail
from civicgrid_stack.stack import DEFAULT_DAYS_SCALE, SimulatorOptions, Stack
from civicgrid_stack.state import StackState, read_state, record_alive

UP_TIMEOUT = 300.0


def _say(msg: str) -> None:
    print(msg, flush=True)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def format_table(state: StackState) -> str:
    """Where to look, for a started stack."""
    run_dir = state.get("run_dir", "")
    lines = [f"civicgrid local stack is up (run dir {run_dir})"]
    services = state.get("services") or {}

    def add(label: str, value: str) -> None:
        lines.append(f"  {label:<22} {value}")

    if "intake" in services:
        add("intake API docs", f"{services['intake']['url']}/docs")
    if "analytics" in services:
        add("analytics indicators", f"{services['analytics']['url']}/v1/indicators")
    for name, rec in services.items():
        add(f"{name}", f"{rec['url']}  (/metrics /health /ready)")
    broker = state.get("broker") or {}
    if broker:
        add("Kafka broker", f"{broker['bootstrap']}  (tansu, in memory: lost on restart)")
    pg = state.get("postgres") or {}
    if pg:
        add("PostgreSQL", str(pg["dsn"]))
    sim = dict(state).get("simulator")
    if isinstance(sim, dict):
        days = sim.get("days")
        mode = f"{days} simulated day{'s' if days != 1 else ''}" if days else "live"
        add("simulated city", f"{mode}, {sim.get('rate')} appeals/s  (log {sim.get('log')};"
                              " off: make run SIM=off)")
    if "analytics" in services:
        add("city screen", f"{services['analytics']['url']}/dashboard")
    add("logs", f"{state.get('log_dir', '')}/")
    return "\n".join(lines)


# -- the simulated city --------------------------------------------------------------


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "off", "no", "false")


def _env_num(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or None


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-sim", action="store_true",
                        default=not _env_flag("CIVICGRID_SIM", True),
                        help="do not start the simulated city (also CIVICGRID_SIM=off)")
    # String defaults: argparse converts them with ``type`` (a bad value is a usage error).
    parser.add_argument("--sim-rate", type=float,
                        default=_env_num("CIVICGRID_SIM_RATE") or "1",
                        help="the simulated city's appeals per second, on average (default 1; "
                             "also CIVICGRID_SIM_RATE)")
    parser.add_argument("--sim-days", type=int, default=_env_num("CIVICGRID_SIM_DAYS"),
                        help="play this many simulated days fast, with dispatch at "
                             "--sim-scale (also CIVICGRID_SIM_DAYS)")
    parser.add_argument("--sim-scale", default=_env_num("CIVICGRID_SIM_SCALE")
                        or DEFAULT_DAYS_SCALE,
                        help=f"dispatch's time scale in days mode (default {DEFAULT_DAYS_SCALE}"
                             ": a simulated day per real minute)")
    parser.add_argument("--sim-seed", type=int, default=None, help=argparse.SUPPRESS)


def sim_options(args: argparse.Namespace) -> SimulatorOptions | None:
    if args.no_sim or args.no_services:
        return None
    if args.sim_rate < 0 or (args.sim_days is not None and args.sim_days < 1):
        raise StackError("--sim-rate must be >= 0 and --sim-days at least 1")
    return SimulatorOptions(rate=args.sim_rate, days=args.sim_days,
                            time_scale=args.sim_scale, seed=args.sim_seed)


def sim_argv(args: argparse.Namespace) -> list[str]:
    """The simulator flags of ``run``, passed on by ``up`` to its background ``run``."""
    if args.no_sim:
        return ["--no-sim"]
    argv = ["--sim-rate", f"{args.sim_rate:g}", "--sim-scale", args.sim_scale]
    if args.sim_days is not None:
        argv += ["--sim-days", str(args.sim_days)]
    if args.sim_seed is not None:
        argv += ["--sim-seed", str(args.sim_seed)]
    return argv


# -- run ---------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # Only the first signal interrupts; cleanup must not be interrupted in turn.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def _watch_simulator(stack: Stack, echo: bool, offset: int, reported: set[str]) -> int:
    """Show the simulator's lines (foreground runs) and say when it has exited."""
    sim = stack.simulator
    if sim is None:
        return offset
    if echo:
        offset = _follow(sim.log_path, offset)
    code = stack.simulator_exit()
    if code is not None and "simulator" not in reported:
        reported.add("simulator")
        if code == 0:
            _say(f"the simulated city has finished (log {sim.log_path}); the platform "
                 "keeps running")
        else:
            _err(f"the simulator exited with code {code}; last lines of {sim.log_path}:\n"
                 f"{tail(sim.log_path, 30)}")
    return offset


def cmd_run(args: argparse.Namespace) -> int:
    try:
        simulator = sim_options(args)
        stack = Stack(args.run_dir, Ports.from_env(), simulator=simulator)
    except StackError as exc:
        _err(f"error: {exc}")
        return 1
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if args.daemon:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    code = 0
    try:
        stack.start(services=not args.no_services)
        if not args.daemon:
            _say(format_table(stack.state))
            _say("press Ctrl-C to stop everything")
        reported: set[str] = set()
        sim_offset = stack.simulator_log_start
        while True:
            time.sleep(0.5)
            sim_offset = _watch_simulator(stack, not args.daemon, sim_offset, reported)
            for name, exit_code in stack.unexpected_exits().items():
                if name not in reported:
                    reported.add(name)
                    log = stack.services[name].log_path
                    _err(f"service {name} exited with code {exit_code}; last lines of {log}:"
                         f"\n{tail(log, 30)}")
    except Interrupted as exc:
        _say(f"received {exc}: stopping ...")
    except StackError as exc:
        _err(f"error: {exc}")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        _say("stopped: no stack process left running")
    return code


# -- up ----------------------------------------------------------------------------


def _follow(path: Path, offset: int) -> int:
    """Print what was appended to ``path`` since ``offset``; return the new offset."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return offset
    if data:
        sys.stdout.write(data.decode("utf-8", errors="replace"))
        sys.stdout.flush()
    return offset + len(data)


def cmd_up(args: argparse.Namespace) -> int:
    layout = RunLayout(args.run_dir)
    existing = read_state(layout.state_file)
    if existing is not None and record_alive(existing.get("supervisor")):
        if existing.get("status") == "ready":
            _say("already running")
            _say(format_table(existing))
            return 0
        _err(f"a stack is already {existing.get('status')} from {layout.run_dir}: "
             "wait for it or run 'python -m civicgrid_stack down'")
        return 1
    layout.ensure()
    log = layout.supervisor_log
    offset = log.stat().st_size if log.exists() else 0
    argv = [sys.executable, "-m", "civicgrid_stack", "--run-dir", str(layout.run_dir), "run",
            "--daemon", *(["--no-services"] if args.no_services else []), *sim_argv(args)]
    with log.open("ab") as out:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=str(project_root()),
        )
    deadline = time.monotonic() + UP_TIMEOUT
    while True:
        offset = _follow(log, offset)
        state = read_state(layout.state_file)
        sup = state.get("supervisor") if state is not None else None
        if state is not None and sup is not None and sup["pid"] == child.pid \
                and state.get("status") == "ready":
            _say(format_table(state))
            _say(f"supervisor pid {child.pid}; stop with: python -m civicgrid_stack down")
            return 0
        exit_code = child.poll()
        if exit_code is not None:
            _follow(log, offset)
            _err(f"the stack failed to start (supervisor exit code {exit_code}); "
                 f"full log: {log}")
            stop_recorded(layout.run_dir, echo=_err)
            return 1
        if time.monotonic() > deadline:
            _err(f"the stack was not ready after {UP_TIMEOUT:.0f}s: stopping it; see {log}")
            stop_recorded(layout.run_dir, echo=_err)
            return 1
        time.sleep(0.2)


# -- down / status -----------------------------------------------------------------


def cmd_down(args: argparse.Namespace) -> int:
    try:
        stopped = stop_recorded(args.run_dir, echo=_say)
    except StackError as exc:
        _err(f"error: {exc}")
        return 1
    _say("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state, rows = stack_status(args.run_dir)
    if state is None:
        _say(f"no stack recorded in {RunLayout(args.run_dir).state_file}")
    else:
        sup = state.get("supervisor")
        alive = record_alive(sup)
        _say(f"stack {state.get('status', '?')}; supervisor pid {sup['pid'] if sup else '-'} "
             f"{'running' if alive else 'NOT running'}; run dir {state.get('run_dir')}")
    for row in rows:
        pid = str(row.pid) if row.pid else "-"
        _say(f"  {row.component:<12} {row.health:<28} pid {pid:<8} {row.address}")
    if state is None:
        return 3 if all(r.health == "down" for r in rows) else 1
    return 0 if all(r.health == "ready" for r in rows) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m civicgrid_stack",
        description="The civicgrid local stack without Docker: PostgreSQL, the tansu "
        "broker (in memory: forgets everything on restart) and the four services. Ports "
        "come from CIVICGRID_{INTAKE,DISPATCH,ENFORCEMENT,ANALYTICS,BROKER,PG}_PORT.",
    )
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="state, logs and PostgreSQL data (default: <project>/.run, "
                        "or $CIVICGRID_RUN_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start everything in the foreground; Ctrl-C stops it")
    run.add_argument("--no-services", action="store_true",
                     help="only PostgreSQL and the broker")
    run.add_argument("--daemon", action="store_true", help=argparse.SUPPRESS)
    add_sim_arguments(run)
    up = sub.add_parser("up", help="start everything in the background, exit when ready")
    up.add_argument("--no-services", action="store_true",
                    help="only PostgreSQL and the broker")
    add_sim_arguments(up)
    sub.add_parser("down", help="stop everything 'up' or 'run' started")
    sub.add_parser("status", help="what runs, and whether it is ready")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.run_dir = (args.run_dir or default_run_dir()).absolute()
    handlers = {"run": cmd_run, "up": cmd_up, "down": cmd_down, "status": cmd_status}
    try:
        return handlers[args.command](args)
    except StackError as exc:
        _err(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
