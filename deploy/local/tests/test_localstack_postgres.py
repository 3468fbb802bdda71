"""PostgresCluster against the real server binaries (initdb, pg_ctl, crash recovery)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncpg
import pytest
from civicgrid_stack import PortInUseError, PostgresCluster
from civicgrid_stack.ports import port_is_free
from civicgrid_stack.procutil import pid_alive
from localstack_helpers import free_port


def _query(dsn: str, sql: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(run())


def _execute(dsn: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def test_select_one_and_database_exists(pg_cluster: PostgresCluster) -> None:
    assert pg_cluster.is_running()
    dsn = pg_cluster.dsn()
    assert dsn == f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/civicgrid"
    rows = _query(dsn, "select 1 as one, current_database() as db, current_user as u")
    assert (rows[0]["one"], rows[0]["db"], rows[0]["u"]) == (1, "civicgrid", "postgres")


def test_settings(pg_cluster: PostgresCluster) -> None:
    rows = _query(
        pg_cluster.dsn(),
        "select name, setting from pg_settings where name in ('fsync', 'synchronous_commit',"
        " 'max_connections', 'listen_addresses', 'shared_buffers', 'full_page_writes')",
    )
    settings = {r["name"]: r["setting"] for r in rows}
    assert settings["fsync"] == "on"
    assert settings["synchronous_commit"] == "on"
    assert settings["full_page_writes"] == "on"
    assert settings["max_connections"] == "200"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["shared_buffers"] == str(256 * 1024 // 8)  # in 8 kB pages


def test_start_is_idempotent(pg_cluster: PostgresCluster) -> None:
    pid = pg_cluster.postmaster_pid()
    pg_cluster.start()
    assert pg_cluster.postmaster_pid() == pid


def test_other_database_dsn(pg_cluster: PostgresCluster) -> None:
    rows = _query(pg_cluster.dsn("postgres"), "select current_database() as db")
    assert rows[0]["db"] == "postgres"


def test_committed_data_survives_restart_and_kill(pg_cluster: PostgresCluster) -> None:
    dsn = pg_cluster.dsn()
    _execute(dsn, "create table if not exists t_durable (v int); insert into t_durable values (1)")
    pg_cluster.restart()
    _execute(dsn, "insert into t_durable values (2)")
    old_pid = pg_cluster.postmaster_pid()
    assert old_pid is not None
    pg_cluster.kill()  # SIGKILL: crash
    assert not pg_cluster.is_running()
    assert not pid_alive(old_pid)
    pg_cluster.start()  # crash recovery
    rows = _query(dsn, "select v from t_durable order by v")
    assert [r["v"] for r in rows] == [1, 2]


def test_stop_frees_port(tmp_path: Path) -> None:
    cluster = PostgresCluster(tmp_path / "data", free_port())
    cluster.start()
    try:
        assert not port_is_free(cluster.port)
    finally:
        cluster.stop()
    assert not cluster.is_running()
    assert port_is_free(cluster.port)
    cluster.stop()  # idempotent


def test_long_data_dir_path_uses_short_socket_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    cluster = PostgresCluster(deep, free_port())
    assert cluster.socket_dir != deep
    cluster.start()
    try:
        assert (cluster.socket_dir / f".s.PGSQL.{cluster.port}").exists()
        assert _query(cluster.dsn(), "select 1 as one")[0]["one"] == 1
    finally:
        cluster.stop()


def test_port_in_use_is_reported(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cluster = PostgresCluster(tmp_path / "data", port)
        with pytest.raises(PortInUseError, match="CIVICGRID_PG_PORT"):
            cluster.start()
