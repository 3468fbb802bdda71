"""FastAPI application shell: /health, /ready, /metrics and error responses.

Validation errors answer 422 with each field's path and the reason, never the
submitted value (it may be a phone number). Infrastructure faults answer 503 with
Retry-After, never a 500 with a stack trace.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicgrid_shared.errors import SafeError, is_transient, safe_reason
from civicgrid_shared.logs import correlation_id, get_logger
from civicgrid_shared.runtime import ServiceRuntime

log = get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append({"field": ".".join(loc), "reason": str(err.get("msg", "invalid"))})
    return errors


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    on_startup: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if on_startup is not None:
            await on_startup()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)

    @app.middleware("http")
    async def correlate(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                        ) -> Response:
        raw = request.headers.get(CORRELATION_HEADER, "")
        try:
            cid = str(uuid.UUID(raw))
        except ValueError:
            cid = str(uuid.uuid4())
        token = correlation_id.set(cid)
        try:
            response = await call_next(request)
        finally:
            correlation_id.reset(token)
        response.headers[CORRELATION_HEADER] = cid
        return response

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422,
                            content={"error": "invalid_request", "errors": field_errors(exc)})

    @app.exception_handler(SafeError)
    async def on_domain(_: Request, exc: SafeError) -> JSONResponse:
        return JSONResponse(status_code=422, content={
            "error": "rejected", "errors": [{"field": "", "reason": str(exc)}]})

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI answers 400 for a body it cannot decode; every input error is 422 here.
            return JSONResponse(status_code=422, content={
                "error": "invalid_request",
                "errors": [{"field": "body", "reason": "the body is not valid UTF-8 JSON"}]})
        return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                            content={"error": str(exc.detail)})

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            log.warning("request failed on a transient fault", reason=safe_reason(exc))
            return JSONResponse(status_code=503, headers={"Retry-After": "1"},
                                content={"error": "temporarily unavailable, retry shortly"})
        log.error("request failed", reason=safe_reason(exc))
        return JSONResponse(status_code=500, content={"error": "internal error"})

    @app.get("/health", tags=["operations"], summary="The process is alive.")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/ready", tags=["operations"], summary="Database, broker and relay are ready.")
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        ok = all(checks.values())
        return JSONResponse(status_code=200 if ok else 503,
                            content={"ready": ok, "checks": checks, "service": runtime.name})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics.",
             include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
