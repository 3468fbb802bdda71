"""Exceptions no route handled: answered by the shell, logged by class only."""

from __future__ import annotations

import asyncpg
import pytest
from civicgrid_shared.web.app import AnswerFaults, Correlate
from fastapi import FastAPI
from fastapi.testclient import TestClient

PHONE = "13800138000"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/db-gone")
    async def db_gone() -> None:
        raise asyncpg.exceptions.InternalClientError(
            f"cannot switch to state 15 while sending {PHONE}")

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError(f"row for {PHONE} broke")

    app.add_middleware(AnswerFaults)
    app.add_middleware(Correlate)
    return app


def test_a_database_fault_answers_503_and_a_defect_500_without_their_text(
        capsys: pytest.CaptureFixture[str]) -> None:
    client = TestClient(_app(), raise_server_exceptions=True)

    gone = client.get("/db-gone")
    assert gone.status_code == 503
    assert gone.headers["Retry-After"] == "1"
    assert gone.headers["X-Correlation-ID"]

    bug = client.get("/bug")  # raise_server_exceptions: nothing escaped the app
    assert bug.status_code == 500
    assert bug.json() == {"error": "internal error"}

    assert PHONE not in gone.text + bug.text
    captured = capsys.readouterr()
    logged = captured.out + captured.err  # the service's log lines go to the console
    assert "InternalClientError" in logged and "RuntimeError" in logged
    assert PHONE not in logged
