"""The error answers of the services, for their OpenAPI documents.

Every error answers ``{"error": ...}``; an input error adds each field's path and the
reason (never the value): ``"errors": [{"field": ..., "reason": ...}]``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    error: str
    errors: list[FieldError] | None = None


MEANING = {
    401: "Missing or unknown X-Api-Key.",
    403: "The key may not do this.",
    404: "No such resource (or not one of the caller's).",
    409: "Not possible in the resource's current state.",
    413: "The body is larger than the limit.",
    422: "Invalid input: each field's path and the reason.",
    429: "The key's rate limit is exceeded; see Retry-After.",
    503: "Temporarily unavailable (database or broker); see Retry-After.",
}


def error_responses(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each code with the error body and its meaning
    (``described`` overrides a meaning: ``error_responses(404, e404="No such case.")``)."""
    return {code: {"model": ErrorBody,
                   "description": described.get(f"e{code}", MEANING[code])} for code in codes}
