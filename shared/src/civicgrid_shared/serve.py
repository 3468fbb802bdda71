"""Running a service's ASGI app under uvicorn with the shared settings."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from civicgrid_shared.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging is configured by the runtime
        access_log=False,
        timeout_graceful_shutdown=10,
        limit_concurrency=2000,
    )
