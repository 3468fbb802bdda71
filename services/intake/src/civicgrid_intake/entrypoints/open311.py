"""Open311 GeoReport v2 facade (JSON only) over the same appeal pipeline.

* services come from the matter catalog (service_code = the matter's service code);
* POST requests.json takes form-encoded or JSON bodies, ``api_key`` (an open311 key)
  and needs lat/long: an address alone cannot be placed on a grid, so it is refused;
* service_request_id is the appeal id; the token is the citizen's tracking code;
* listings show no personal data: no description, address or exact point;
* errors are the spec's array ``[{"code": .., "description": ..}]`` with 400/403/404.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from civicgrid_shared.contracts.events import Channel
from civicgrid_shared.errors import SafeError
from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.models import Matter
from civicgrid_shared.web.inputs import utc_in_range
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from civicgrid_intake.adapters.repository import ListFilter
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.model import Appeal
from civicgrid_intake.entrypoints.security import Access, AccessDenied
from civicgrid_intake.service_layer.handlers import Submit
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork

CLOSED_STATUSES = ("closed", "rejected", "merged")
OPEN_STATUSES = ("received", "registered", "assigned", "signed_for", "resolved",
                 "called_back", "reopened")
MAX_SPAN = timedelta(days=90)
#: The fields of a new request, as the spec names them. All but the description (its
#: control characters are stripped, as any appeal's text) must be free of NUL characters.
REQUEST_FIELDS = ("api_key", "jurisdiction_id", "service_code", "lat", "long",
                  "address_string", "address_id", "email", "device_id", "account_id",
                  "first_name", "last_name", "phone", "media_url")


# -- what the OpenAPI document says (the handlers read the raw request) ----------------

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _array_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_ERROR_SCHEMA = _array_of(_object(["code", "description"], code={"type": "integer"},
                                  description=_STR))
_SERVICE_SCHEMA = _object(
    ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
    service_code=_STR, service_name=_STR, description=_STR, metadata={"type": "boolean"},
    type={"enum": ["realtime", "batch", "blackbox"]}, keywords=_STR, group=_STR)
_REQUEST_SCHEMA = _object(
    ["service_request_id", "status", "service_code", "requested_datetime"],
    service_request_id=_STR, status={"enum": ["open", "closed"]},
    status_notes=_NULLABLE_STR, service_name=_NULLABLE_STR, service_code=_STR,
    description={"type": "null"}, agency_responsible=_NULLABLE_STR,
    service_notice=_NULLABLE_STR, requested_datetime=_STR, updated_datetime=_NULLABLE_STR,
    expected_datetime=_NULLABLE_STR, address={"type": "null"}, address_id={"type": "null"},
    zipcode={"type": "null"}, lat={"type": "null"}, long={"type": "null"},
    media_url={"type": "null"})
_CREATED_SCHEMA = _array_of(_object(
    ["service_request_id", "token"], service_request_id=_STR, token=_STR,
    service_notice=_NULLABLE_STR, account_id=_NULLABLE_STR))
_TOKEN_SCHEMA = _array_of(_object(["token", "service_request_id"], token=_STR,
                                  service_request_id=_STR))
_NEW_REQUEST_SCHEMA = _object(
    ["api_key", "service_code", "lat", "long", "description"],
    api_key={**_STR, "description": "An Open311 key."},
    service_code=_STR,
    lat={"type": "number", "description": "WGS 84 latitude (required: a point is needed)."},
    long={"type": "number", "description": "WGS 84 longitude (required)."},
    address_string=_STR, address_id=_STR, email=_STR, device_id=_STR, account_id=_STR,
    first_name=_STR, last_name=_STR, phone=_STR,
    description={**_STR, "description": "The request's text (up to 5000 characters)."},
    media_url=_STR)


def _ok(description: str, schema: dict[str, Any], *errors: int) -> dict[int | str, Any]:
    """The ``responses`` of an Open311 route: its 200 and its error arrays."""
    meaning = {400: "Invalid or missing input.", 403: "api_key is missing or not an Open311 key.",
               404: "No such service, request or token."}
    out: dict[int | str, Any] = {
        200: {"description": description, "content": {"application/json": {"schema": schema}}}}
    for code in errors:
        out[code] = {"description": meaning[code],
                     "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    return out


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": _STR,
            "description": description}


_LISTING_PARAMETERS = [
    _query("service_request_id", "Request ids (comma-separated)."),
    _query("service_code", "Only this service."),
    _query("start_date", "ISO 8601; default: 90 days before end_date (or now)."),
    _query("end_date", "ISO 8601; at most 90 days after start_date."),
    _query("status", "open, closed, or both comma-separated."),
]


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse(status_code=code, content=[{"code": code, "description": description}])


def _service(m: Matter) -> dict[str, Any]:
    return {"service_code": m.service_code, "service_name": m.name,
            "description": f"{m.category_name} / {m.name} ({m.name_en})", "metadata": False,
            "type": "realtime", "keywords": ",".join(m.keywords), "group": m.service_group}


def _request(a: Appeal, catalog: MatterCatalog, notes: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    matter = catalog.matter(a.matter_code) if a.matter_code else None
    closed = a.status in CLOSED_STATUSES
    return {
        "service_request_id": str(a.appeal_id),
        "status": "closed" if closed else "open",
        "status_notes": notes.get(a.appeal_id),
        "service_name": matter.name if matter else None,
        "service_code": matter.service_code if matter else "unclassified",
        "description": None,  # free text may hold personal data: not listed publicly
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": a.received_at.isoformat(),
        "updated_datetime": None,
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date-time") from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not utc_in_range(value):
        raise Open311Error(400, f"{name} is out of range")
    return value


def _first(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    return str(value).strip() or None


def _float(form: Mapping[str, Any], name: str) -> float | None:
    raw = _first(form, name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None


def _storable(form: Mapping[str, Any]) -> None:
    """A request's fields hold no NUL character (PostgreSQL text cannot store it)."""
    for name in REQUEST_FIELDS:
        value = form.get(name)
        if any("\x00" in str(v) for v in (value if isinstance(value, list) else [value])):
            raise Open311Error(400, f"{name} must not contain a NUL character")


def build_open311_router(make_uow: Callable[[], IntakeUnitOfWork], submit_appeal: Submit,
                         access: Access, catalog: MatterCatalog) -> APIRouter:
    router = APIRouter(prefix="/open311/v2", tags=["open311"])

    @router.get("/services.json", summary="Service types: the matter catalog.",
                responses=_ok("The services.", _array_of(_SERVICE_SCHEMA)))
    async def services() -> JSONResponse:
        return JSONResponse([_service(m) for m in catalog.all()])

    @router.get("/services/{service_code}.json", summary="A service's definition.",
                responses=_ok("The service's attributes (none).", _object(
                    ["service_code", "attributes"], service_code=_STR,
                    attributes=_array_of({"type": "object"})), 404))
    async def service_definition(service_code: str) -> JSONResponse:
        m = catalog.by_service_code(service_code)
        if m is None:
            return _error(404, "no service with this service_code")
        return JSONResponse({"service_code": m.service_code, "attributes": []})

    async def _form(request: Request) -> dict[str, Any]:
        body = await request.body()
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                parsed = json.loads(body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise Open311Error(400, "the body is not valid JSON") from None
            if not isinstance(parsed, dict):
                raise Open311Error(400, "the body must be a JSON object")
            form: dict[str, Any] = parsed
        else:
            try:
                form = dict(parse_qs(body.decode("utf-8"), keep_blank_values=False))
            except UnicodeDecodeError:
                raise Open311Error(400, "the body is not UTF-8") from None
        for name, values in request.query_params.multi_items():
            form.setdefault(name, [values])
        return form

    @router.post("/requests.json", summary="Create a service request (form or JSON).",
                 responses={**_ok("The request's id and token.", _CREATED_SCHEMA, 400, 403, 404),
                            429: {"description": "The key's rate limit is exceeded."}},
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/x-www-form-urlencoded": {"schema": _NEW_REQUEST_SCHEMA},
                     "application/json": {"schema": _NEW_REQUEST_SCHEMA}}}})
    async def create(request: Request) -> JSONResponse:
        try:
            form = await _form(request)
            try:
                access.submitter(_first(form, "api_key"), Channel.OPEN311)
            except AccessDenied as denied:
                if denied.status == 429:
                    raise denied.as_http() from None
                return _error(403, "api_key is missing, unknown or not an Open311 key")
            _storable(form)
            service_code = _first(form, "service_code")
            if service_code is None:
                raise Open311Error(400, "service_code is required")
            matter = catalog.by_service_code(service_code)
            if matter is None:
                raise Open311Error(404, "no service with this service_code")
            lat, lon = _float(form, "lat"), _float(form, "long")
            if lat is None or lon is None:
                raise Open311Error(400, "lat and long are required (address_string or "
                                        "address_id alone cannot be located)")
            description = _first(form, "description")
            if description is None:
                raise Open311Error(400, "description is required")
            media = _first(form, "media_url")
            try:
                cmd = SubmitAppeal(channel=Channel.OPEN311, content=description[:5000],
                                   latitude=lat, longitude=lon,
                                   contact_phone=_first(form, "phone"),
                                   matter_code=matter.code, media=[media] if media else [])
            except ValidationError as exc:
                fields = sorted({str(e["loc"][0]) if e["loc"] else "request"
                                 for e in exc.errors(include_input=False)})
                raise Open311Error(400, "invalid: " + ", ".join(fields)) from None
            try:
                result = await submit_appeal(cmd, None)
            except SafeError as exc:
                raise Open311Error(400, str(exc)) from None
        except Open311Error as err:
            return _error(err.code, err.description)
        a = result.appeal
        return JSONResponse([{"service_request_id": str(a.appeal_id),
                              "token": a.tracking_code,
                              "service_notice": f"受理编号 {a.tracking_code}",
                              "account_id": None}])

    async def _notes(uow: IntakeUnitOfWork, appeals: list[Appeal]) -> dict[uuid.UUID, str]:
        notes: dict[uuid.UUID, str] = {}
        for a in appeals:
            progress = await uow.appeals.progress(a.appeal_id)
            if progress:
                notes[a.appeal_id] = progress[-1].note
        return notes

    @router.get("/requests.json", summary="Service requests, filtered.",
                responses=_ok("The requests (no personal data).", _array_of(_REQUEST_SCHEMA),
                              400, 404),
                openapi_extra={"parameters": _LISTING_PARAMETERS})
    async def listing(request: Request) -> JSONResponse:
        q = request.query_params
        try:
            ids: list[uuid.UUID] | None = None
            if q.get("service_request_id"):
                try:
                    ids = [uuid.UUID(x.strip()) for x in q["service_request_id"].split(",")
                           if x.strip()]
                except ValueError:
                    raise Open311Error(400, "service_request_id is not a request id") from None
            matter_code = None
            if q.get("service_code"):
                m = catalog.by_service_code(q["service_code"])
                if m is None:
                    raise Open311Error(404, "no service with this service_code")
                matter_code = m.code
            end = _parse_time(q["end_date"], "end_date") if q.get("end_date") else None
            start = _parse_time(q["start_date"], "start_date") if q.get("start_date") else None
            if start is not None and end is not None and end - start > MAX_SPAN:
                raise Open311Error(400, "start_date to end_date may span at most 90 days")
            if start is None and ids is None:
                start = (end or datetime.now(UTC)) - MAX_SPAN
            statuses: list[str] | None = None
            if q.get("status"):
                wanted = {s.strip() for s in q["status"].split(",")}
                if not wanted <= {"open", "closed"}:
                    raise Open311Error(400, "status must be open or closed")
                statuses = [*(OPEN_STATUSES if "open" in wanted else ()),
                            *(CLOSED_STATUSES if "closed" in wanted else ())]
        except Open311Error as err:
            return _error(err.code, err.description)
        uow = make_uow()
        async with uow:
            found = await uow.appeals.listing(ListFilter(ids, matter_code, start, end, statuses))
            notes = await _notes(uow, found)
        return JSONResponse([_request(a, catalog, notes) for a in found])

    @router.get("/requests/{service_request_id}.json", summary="One service request.",
                responses=_ok("The request (no personal data).", _array_of(_REQUEST_SCHEMA),
                              404))
    async def one(service_request_id: str) -> JSONResponse:
        try:
            appeal_id = uuid.UUID(service_request_id)
        except ValueError:
            return _error(404, "no service request with this id")
        uow = make_uow()
        async with uow:
            found = await uow.appeals.listing(ListFilter(appeal_ids=[appeal_id]))
            notes = await _notes(uow, found)
        if not found:
            return _error(404, "no service request with this id")
        return JSONResponse([_request(found[0], catalog, notes)])

    @router.get("/tokens/{token}.json", summary="The request id behind a token.",
                responses=_ok("The request id.", _TOKEN_SCHEMA, 404))
    async def token(token: str) -> JSONResponse:
        if len(token) != 10 or not token.isalnum():
            return _error(404, "no service request with this token")
        uow = make_uow()
        async with uow:
            appeal = await uow.appeals.by_tracking_code(token.upper())
        if appeal is None or appeal.status == "triage":
            return _error(404, "no service request with this token")
        return JSONResponse([{"token": appeal.tracking_code,
                              "service_request_id": str(appeal.appeal_id)}])

    return router
