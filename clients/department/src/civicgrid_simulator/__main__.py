"""``python -m civicgrid_simulator``: run the simulated city against a running platform."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from civicgrid_simulator.city import Endpoints, Options, Simulator
from civicgrid_simulator.schedule import parse_scale


def _port(name: str, default: int) -> int:
    raw = os.environ.get(f"CIVICGRID_{name}_PORT", "").strip()
    return int(raw) if raw.isdigit() else default


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m civicgrid_simulator",
        description="A simulated city: citizens, grid workers, departments and the city "
                    "platform's desks using a running civicgrid platform. Ctrl-C stops it.")
    p.add_argument("--rate", type=float, default=1.0,
                   help="appeals per real second, on average (default 1)")
    p.add_argument("--days", type=int, default=None,
                   help="play this many simulated days fast, then stop (needs dispatch "
                        "running with a time scale: see --time-scale)")
    p.add_argument("--time-scale", default=os.environ.get("CIVICGRID_DISPATCH_TIME_SCALE",
                                                          "1"),
                   help="dispatch's CIVICGRID_DISPATCH_TIME_SCALE, e.g. 1/1440 (a simulated "
                        "day per real minute); default: that variable, else 1 (real time)")
    p.add_argument("--work-minutes", type=float, default=5.0,
                   help="live mode: units do their on-time work, and citizens answer "
                        "call-backs, within this many minutes however long the real limit "
                        "(default 5, so the dashboard moves); 0 plays the real limits out. "
                        "Deadlines are untouched: late and overdue cases take real hours. "
                        "Days mode always plays the limits out.")
    p.add_argument("--seed", type=int, default=None, help="seed of the random choices")
    p.add_argument("--intake", default=f"http://127.0.0.1:{_port('INTAKE', 8001)}")
    p.add_argument("--dispatch", default=f"http://127.0.0.1:{_port('DISPATCH', 8002)}")
    p.add_argument("--analytics", default=f"http://127.0.0.1:{_port('ANALYTICS', 8004)}",
                   help="shown in the progress line; 'off' to skip")
    p.add_argument("--bootstrap", default=f"127.0.0.1:{_port('BROKER', 9092)}",
                   help="the Kafka broker")
    p.add_argument("--progress-every", type=float, default=5.0,
                   help="seconds between progress lines (default 5)")
    p.add_argument("--all-cases", action="store_true",
                   help="play the departments for every case, not only the simulator's own")
    p.add_argument("--summary", type=Path, default=None,
                   help="write the final counts to this JSON file")
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scale = parse_scale(args.time_scale)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.rate < 0 or args.progress_every <= 0:
        print("error: --rate must be >= 0 and --progress-every > 0", file=sys.stderr)
        return 2
    if args.days is not None and args.days < 1:
        print("error: --days must be at least 1", file=sys.stderr)
        return 2
    if args.days is not None and scale == 1.0:
        print("error: --days plays simulated days fast, which needs dispatch to run fast "
              "too: start dispatch with CIVICGRID_DISPATCH_TIME_SCALE (e.g. 1/1440, a day "
              "per minute: make run SIM_DAYS=7 does this) and pass the same --time-scale",
              file=sys.stderr)
        return 2
    endpoints = Endpoints(
        intake=args.intake.rstrip("/"), dispatch=args.dispatch.rstrip("/"),
        analytics=None if args.analytics == "off" else args.analytics.rstrip("/"),
        bootstrap=args.bootstrap)
    options = Options(rate=args.rate, days=args.days, scale=scale, seed=args.seed,
                      progress_every=args.progress_every, all_cases=args.all_cases,
                      parent_pid=args.parent_pid, work_cap=args.work_minutes * 60)

    def say(line: str) -> None:
        print(line, flush=True)

    plural = "" if args.days == 1 else "s"

    if args.days:
        real = args.days * 86_400 * scale
        say(f"[simulator] playing {args.days} simulated day{plural} in {real:.0f} real seconds "
            f"(time scale {scale:.6g}), {args.rate:g} appeals/s on average")
    else:
        say(f"[simulator] a living city on real time, {args.rate:g} appeals/s on average; "
            "Ctrl-C stops it")
    say(f"[simulator] intake {endpoints.intake}, dispatch {endpoints.dispatch}, "
        f"broker {endpoints.bootstrap}")

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sim = Simulator(endpoints, options, out=say)
        stats = await sim.run(stop)
        if args.summary is not None:
            args.summary.write_text(json.dumps(stats.summary(), indent=2) + "\n",
                                    encoding="utf-8")
        say(f"[simulator] done: played {args.days} simulated day{plural}" if sim.finished
            else "[simulator] stopped")
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
