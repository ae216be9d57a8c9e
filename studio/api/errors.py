"""The one place the API turns errors into answers: the error family's kinds into HTTP statuses, every body alike.

Every error body has `field` (the input at fault, or null) and `message`, next to FastAPI's `detail`: a list of
`{loc, msg, type}` for bad input (422), a sentence otherwise.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from studio.domain.errors import Conflict, InvalidInput, Limited, NotFound, OutOfSpace, Refused, Unavailable

STATUS: list[tuple[type[Refused], int]] = [  # the first match wins: subclasses before their parents
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (Limited, status.HTTP_429_TOO_MANY_REQUESTS),
    (OutOfSpace, status.HTTP_507_INSUFFICIENT_STORAGE),
    (Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def status_of(exc: Refused) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)


def body(detail: Any, field: str | None, message: str) -> dict[str, Any]:
    return {"detail": detail, "field": field, "message": message}


def refusal(exc: Refused) -> JSONResponse:
    """The answer to any error of the family."""
    if isinstance(exc, InvalidInput):
        detail: Any = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
    else:
        detail = str(exc)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, Limited) else None
    return JSONResponse(body(detail, exc.field, exc.message), status_code=status_of(exc), headers=headers)


def add_handlers(app: FastAPI, *bodies: type[BaseModel]) -> None:
    """Install the handlers; `bodies` are the request models whose declared bounds 422 messages quote."""
    allowed = _allowed_ranges(*bodies)

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape, with messages that start with the field name like every other 422 here.
        errors = exc.errors()
        detail = [
            {
                **{k: _json_safe(v) for k, v in error.items() if k in ("loc", "type", "ctx")},
                "msg": _field_message(error, allowed),
            }
            for error in errors
        ]
        field = _field(errors[0]) if errors else None
        message = detail[0]["msg"].removeprefix(f"{field}: ") if detail else "invalid request"
        return JSONResponse(body(detail, field, message), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(HTTPException)
    async def http(_request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(body(exc.detail, None, message), status_code=exc.status_code, headers=exc.headers)


def _json_safe(value: Any) -> Any:
    """A validation error's context as JSON: an exception in it (e.g. a text sent where a file belongs) as its text."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value if isinstance(value, str | int | float | bool | None) else str(value)


def _field(error: Any) -> str | None:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    return loc[-1] if loc else None


def _allowed_ranges(*models: type[BaseModel]) -> dict[str, str]:
    """Field name → "low–high" from the bounds declared on the API's body models."""
    ranges: dict[str, str] = {}
    for model in models:
        for name, field in model.model_fields.items():
            low = next(
                (getattr(m, a) for m in field.metadata for a in ("ge", "gt", "min_length") if hasattr(m, a)), None
            )
            high = next(
                (getattr(m, a) for m in field.metadata for a in ("le", "lt", "max_length") if hasattr(m, a)), None
            )
            if low is not None and high is not None:
                unit = " characters" if any(hasattr(m, "max_length") for m in field.metadata) else ""
                ranges[name] = f"{low}–{high}{unit}"
    return ranges


def _field_message(error: Any, allowed: dict[str, str]) -> str:
    """E.g. "seed: Input should be less than or equal to 4294967295 (allowed: -1–4294967295)"."""
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = loc[-1] if loc else "body"
    hint = f" (allowed: {allowed[field]})" if field in allowed else ""
    return f"{'.'.join(loc) or 'body'}: {error.get('msg')}{hint}"
