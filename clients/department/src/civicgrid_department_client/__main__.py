"""``python -m civicgrid_department_client --unit UNIT_ID``: run the reference client."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from civicgrid_department_client.client import DepartmentClient
from civicgrid_department_client.policy import Policy
from civicgrid_department_client.state import DepartmentState


def main() -> None:
    parser = argparse.ArgumentParser(description="civicgrid reference department client")
    parser.add_argument("--unit", required=True, help="the unit id whose tasks to take")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--state", type=Path, default=None,
                        help="SQLite file for the department's own state")
    parser.add_argument("--via", choices=["kafka", "http"], default="kafka",
                        help="answer on the responses topic or through the workbench API")
    parser.add_argument("--workbench", default="http://127.0.0.1:8002")
    parser.add_argument("--api-key", default=None, help="the unit's workbench API key")
    parser.add_argument("--return-matters", default="",
                        help="comma-separated matter codes this unit returns as not its job")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    state = DepartmentState(args.state or Path(f"department-{args.unit}.sqlite"))
    policy = Policy(not_ours=frozenset(c for c in args.return_matters.split(",") if c))
    client = DepartmentClient(args.unit, args.bootstrap, state, policy, via=args.via,
                              workbench_url=args.workbench, api_key=args.api_key)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logging.info("taking tasks of %s from %s", args.unit, client.topic)
        await client.run(stop)

    try:
        asyncio.run(run())
    finally:
        state.close()


if __name__ == "__main__":
    main()
