"""What every HTTP input must be, whatever its declared type: storable and computable.

A route's parameters and body pass FastAPI's (pydantic's) validation first. Some values
pass it and still fail later, deep in a handler or in PostgreSQL, as a 500:

* text with a NUL character (PostgreSQL text cannot hold ``\\x00``);
* an aware date-time whose UTC value falls outside the years datetime can hold
  (``0001-01-01T00:00:00+14:00``), or so close to the edge that adding a deadline or
  subtracting a baseline overflows;
* an integer that does not fit PostgreSQL's bigint;
* a float that is not finite (``NaN``, ``Infinity``: JSON answers cannot carry them).

``ValidatedRoute`` checks the decoded values of the route's query, path, header and
body parameters after the key checks and validation ran, before the handler: a bad value
answers 422 with its field path and the reason (never the value), as any other invalid
input does. Services use it as their routers' ``route_class``; a service that cleans
some free-text fields itself (intake strips control characters from an appeal's text)
names them in a subclass's ``nul_cleaned``.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

Loc = tuple[str | int, ...]

#: The UTC range an input date-time must fall in: a year inside datetime's own range on
#: both sides, so deadlines and look-back windows computed from it cannot overflow.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
BIGINT = (-(2**63), 2**63 - 1)

NUL_REASON = "must not contain a NUL character (\\u0000)"
DATETIME_REASON = "must fall between 0002-01-01 and 9998-12-31 (UTC, with its offset applied)"
INTEGER_REASON = "must fit in a 64-bit integer"
FLOAT_REASON = "must be a finite number"


def problems(value: Any, loc: Loc, nul_cleaned: frozenset[str] = frozenset()
             ) -> Iterator[tuple[Loc, str]]:
    """Each (field path, reason) of an unstorable value within ``value``; a field named in
    ``nul_cleaned`` may hold NUL characters (its service removes them)."""
    if isinstance(value, str):
        if "\x00" in value and not (loc and loc[-1] in nul_cleaned):
            yield loc, NUL_REASON
    elif isinstance(value, Enum | bool | None):
        return
    elif isinstance(value, int):
        if not BIGINT[0] <= value <= BIGINT[1]:
            yield loc, INTEGER_REASON
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield loc, FLOAT_REASON
    elif isinstance(value, datetime):
        if value.tzinfo is not None and not utc_in_range(value):
            yield loc, DATETIME_REASON
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from problems(getattr(value, name), (*loc, field.alias or name), nul_cleaned)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from problems(key, (*loc, str(key)))
            yield from problems(item, (*loc, str(key)), nul_cleaned)
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from problems(item, (*loc, i), nul_cleaned)


def utc_in_range(value: datetime) -> bool:
    try:
        return EARLIEST <= value.astimezone(UTC) <= LATEST
    except OverflowError:
        return False


def check(values: Iterable[tuple[Any, Loc]], nul_cleaned: frozenset[str] = frozenset()
          ) -> None:
    """Raise RequestValidationError (422, field and reason) for any unstorable value."""
    errors = [{"loc": loc, "msg": reason, "type": "value_error", "input": None}
              for value, at in values for loc, reason in problems(value, at, nul_cleaned)]
    if errors:
        raise RequestValidationError(errors)


def _inputs(dependant: Dependant, values: Mapping[str, Any]) -> Iterator[tuple[Any, Loc]]:
    """The route's own inputs among the endpoint's arguments, with their locations."""
    for where, params in (("query", dependant.query_params), ("path", dependant.path_params),
                          ("header", dependant.header_params)):
        for p in params:
            if p.name in values:
                yield values[p.name], (where, p.alias)
    bodies = dependant.body_params
    embed = len(bodies) > 1 or any(getattr(b.field_info, "embed", False) for b in bodies)
    for b in bodies:
        if b.name in values:
            yield values[b.name], ("body", b.alias) if embed else ("body",)


class ValidatedRoute(APIRoute):
    """An APIRoute whose endpoint first checks its inputs with :func:`problems`."""

    #: Body fields whose NUL characters the service removes itself (none by default).
    nul_cleaned: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        route = self

        if inspect.iscoroutinefunction(endpoint):
            @functools.wraps(endpoint)
            async def checked(*args: Any, **values: Any) -> Any:
                check(_inputs(route.dependant, values), route.nul_cleaned)
                return await endpoint(*args, **values)
        else:
            @functools.wraps(endpoint)
            def checked(*args: Any, **values: Any) -> Any:
                check(_inputs(route.dependant, values), route.nul_cleaned)
                return endpoint(*args, **values)

        super().__init__(path, checked, **kwargs)
