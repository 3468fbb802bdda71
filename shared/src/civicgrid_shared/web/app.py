"""FastAPI application shell: /health, /ready, /metrics and error responses.

Validation errors answer 422 with each field's path and the reason, never the
submitted value (it may be a phone number). Infrastructure faults answer 503 with
Retry-After, never a 500 with a stack trace.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicgrid_shared.errors import SafeError, is_transient, safe_reason
from civicgrid_shared.logs import correlation_id, get_logger
from civicgrid_shared.runtime import ServiceRuntime

log = get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"
API_KEY_HEADER = "X-Api-Key"


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append({"field": ".".join(loc), "reason": str(err.get("msg", "invalid"))})
    return errors


# A domain error names its field first, as "field: reason" ("contact_phone: not a valid
# phone number"): the same text a dead letter's reason carries.
_FIELD_FIRST = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$", re.DOTALL)


def domain_error(request: Request, exc: SafeError) -> dict[str, str]:
    """The answer's error entry for a domain error: ``field`` says where the input it names
    came from (``path.``, ``query.`` or ``body.``), as the request's own validation errors
    do; empty when it names none."""
    m = _FIELD_FIRST.match(str(exc))
    if m is None:
        return {"field": "", "reason": str(exc)}
    name = m.group(1)
    top = name.split(".", 1)[0]
    if top in request.path_params:
        where = "path"
    elif top in request.query_params or request.method in ("GET", "HEAD", "DELETE"):
        where = "query"
    else:
        where = "body"
    return {"field": f"{where}.{name}", "reason": m.group(2)}


def _key_checks(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependencies that take nothing but the X-Api-Key header (the key
    checks), innermost first."""
    for sub in dependant.dependencies:
        yield from _key_checks(sub)
        headers = [p.alias.lower() for p in sub.header_params]
        if (headers == [API_KEY_HEADER.lower()] and sub.call is not None
                and not (sub.dependencies or sub.path_params or sub.query_params
                         or sub.cookie_params or sub.body_params)):
            yield sub


async def refused_key(request: Request) -> StarletteHTTPException | None:
    """For a body that cannot be decoded: the refusal of the route's key check, if any.

    FastAPI decodes a JSON body before it runs a route's dependencies, so without this a
    caller with no key or a wrong one would be told about the body (422) instead of
    being refused (401/403) as for any other input.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    for check in _key_checks(dependant):
        assert check.call is not None
        name = check.header_params[0].name
        try:
            result = check.call(**{name: request.headers.get(API_KEY_HEADER)})
            if inspect.isawaitable(result):
                await result
        except StarletteHTTPException as exc:
            return exc
    return None


def _is_undecodable_body(exc: RequestValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in exc.errors())


def _http_error(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                        content={"error": str(exc.detail)})


#: The body of every error answer of the shell (422 with each field's path and reason;
#: 401/403/404/409 ... with ``error`` alone or with ``errors``).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "title": "Error"},
        "errors": {"type": "array", "title": "Errors", "items": {
            "type": "object", "required": ["field", "reason"],
            "properties": {"field": {"type": "string", "title": "Field"},
                           "reason": {"type": "string", "title": "Reason"}}}},
    },
}


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents its own 422 body (``{"detail": [...]}``); this shell answers
    ``{"error", "errors": [{"field", "reason"}]}``: the document says so."""
    schemas = doc.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"] = {**ERROR_SCHEMA, "title": "HTTPValidationError"}
        if "#/components/schemas/ValidationError\"" not in json.dumps(doc):
            schemas.pop("ValidationError", None)  # only FastAPI's 422 body used it
    return doc


class _HttpMiddleware:
    """Plain ASGI middleware for HTTP requests (others pass through). Starlette's
    ``BaseHTTPMiddleware`` (what ``@app.middleware`` builds) runs every request in an extra
    task with stream plumbing, which profiled as a visible share of intake's time per
    appeal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class Correlate(_HttpMiddleware):
    """Each request runs with a correlation id (the caller's, or a new one) that logs and
    events carry, and the answer returns it."""

    _header = CORRELATION_HEADER.lower().encode()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = next((v for k, v in scope.get("headers") or () if k == self._header), b"")
        try:
            cid = str(uuid.UUID(raw.decode("latin-1")))
        except ValueError:
            cid = str(uuid.uuid4())
        header = (self._header, cid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = correlation_id.set(cid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


class AnswerFaults(_HttpMiddleware):
    """Answers an exception no route handled: 503 with Retry-After for a fault of the
    database or broker, 500 otherwise. An exception let out of the app reaches the server,
    which logs its traceback and message, and a driver's message can quote row values
    (personal data); here only the exception's class is logged."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            transient = is_transient(exc)
            if transient:
                log.warning("request failed on a transient fault", reason=safe_reason(exc))
            else:
                log.error("request failed", reason=safe_reason(exc))
            if started:
                return  # too late for another answer: the server closes the connection
            response = (
                JSONResponse(status_code=503, headers={"Retry-After": "1"},
                             content={"error": "temporarily unavailable, retry shortly"})
                if transient else
                JSONResponse(status_code=500, content={"error": "internal error"}))
            await response(scope, receive, send)


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

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(AnswerFaults)
    app.add_middleware(Correlate)  # added last, so outermost: fault answers carry the id too

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _is_undecodable_body(exc) and (refusal := await refused_key(request)) is not None:
            return _http_error(refusal)
        return JSONResponse(status_code=422,
                            content={"error": "invalid_request", "errors": field_errors(exc)})

    @app.exception_handler(SafeError)
    async def on_domain(request: Request, exc: SafeError) -> JSONResponse:
        return JSONResponse(status_code=422, content={
            "error": "rejected", "errors": [domain_error(request, exc)]})

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI answers 400 for a body it cannot decode; every input error is 422 here.
            if (refusal := await refused_key(request)) is not None:
                return _http_error(refusal)
            return JSONResponse(status_code=422, content={
                "error": "invalid_request",
                "errors": [{"field": "body", "reason": "the body is not valid UTF-8 JSON"}]})
        return _http_error(exc)

    @app.get("/health", tags=["operations"], summary="The process is alive.")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @app.get("/ready", tags=["operations"], summary="Database, broker and relay are ready.",
             responses={503: {"description": "Not ready: the checks say which part is not."}})
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
