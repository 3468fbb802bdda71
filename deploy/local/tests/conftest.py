"""Fixtures for the civicgrid_stack tests: real processes on free ports, cleaned up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from civicgrid_stack import PostgresCluster, TansuBroker
from localstack_helpers import free_port


@pytest.fixture(scope="module")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path_factory.mktemp("pg") / "data", free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        cluster.kill()
        assert not cluster.is_running()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    b = TansuBroker(free_port(), log_path=tmp_path / "broker.log")
    b.start()
    try:
        yield b
    finally:
        b.kill()
