"""The real stack for integration tests: PostgreSQL, the Kafka-protocol broker and the
four services as separate processes, on free ports, started by the test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from civicgrid_stack.ports import Ports
from civicgrid_stack.stack import Stack

pytestmark = pytest.mark.integration

# Fast recovery settings for tests; production defaults are in ServiceSettings.
TEST_ENV = {
    "CIVICGRID_BROKER_WATCH_INTERVAL_S": "0.5",
    "CIVICGRID_LOG_LEVEL": "INFO",
}


def start_stack(run_dir: Path) -> Stack:
    stack = Stack(run_dir, Ports.free(), extra_env=TEST_ENV, echo=lambda m: print(m))
    stack.start(timeout=120)
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield s
    finally:
        s.stop()
        keep = os.environ.get("CIVICGRID_KEEP_TEST_LOGS")
        if keep:
            print(f"service logs in {s.layout.log_dir}")
