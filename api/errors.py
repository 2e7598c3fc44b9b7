"""Domain errors and their RFC 9457 problem+json rendering."""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://fieldwork.dev/problems/"


class FieldworkError(Exception):
    """A failure a caller can act on; rendered as problem+json with ``status``."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        return {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else None


class NotFound(FieldworkError):
    status, slug, title = 404, "not-found", "Not found"


class Unauthorized(FieldworkError):
    status, slug, title = 401, "unauthorized", "Not authenticated"


class Forbidden(FieldworkError):
    status, slug, title = 403, "forbidden", "Not allowed"


class Conflict(FieldworkError):
    status, slug, title = 409, "conflict", "Conflict"


class InvalidTransition(Conflict):
    slug, title = "invalid-transition", "Not possible in the current state"


class CapExceeded(Conflict):
    """An assignment refused by one of the project's caps or eligibility rules."""

    slug, title = "cap-exceeded", "Refused by a project rule"

    def __init__(self, detail: str, *, rule: str, **extra: Any) -> None:
        super().__init__(detail, rule=rule, **extra)
        self.rule = rule


class Invalid(FieldworkError):
    """Input that parses but breaks a rule; ``errors`` lists each field."""

    status, slug, title = 422, "validation-error", "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail, errors=errors or [], **extra)
        self.errors = errors or []


class PayloadTooLarge(FieldworkError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(FieldworkError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class RateLimited(FieldworkError):
    """Too many requests; ``retry_after`` whole seconds until one may go (also a header)."""

    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: float, **extra: Any) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(detail, retry_after=self.retry_after, **extra)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


def problem_response(
    problem: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem, status_code=problem["status"], media_type=PROBLEM_JSON, headers=headers
    )


class FieldProblem(ValueError):
    """A model validator's complaint about one of the fields it compares (``ends_on`` before
    ``starts_on``): raised instead of a bare ValueError so the 422 names that field, which a
    model-level check otherwise cannot."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


REQUEST_PARTS = ("body", "query", "path", "header", "form")


def error_loc(err: Mapping[str, Any]) -> tuple[Any, ...]:
    """A pydantic error's location, with the field a ``FieldProblem`` names appended."""
    loc = tuple(err.get("loc", ()))
    cause = (err.get("ctx") or {}).get("error")
    return (*loc, cause.field) if isinstance(cause, FieldProblem) else loc


def error_field(err: Mapping[str, Any]) -> str:
    """The dotted field a pydantic error is about ("" for the whole input), without the request
    part (body, query, …) FastAPI puts in front."""
    return ".".join(str(p) for p in error_loc(err) if p not in REQUEST_PARTS)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FieldworkError)
    async def _domain(_: Request, exc: FieldworkError) -> JSONResponse:
        return problem_response(exc.problem(), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": error_field(err) or ".".join(str(p) for p in err.get("loc", ())),
                "location": str(err.get("loc", ("body",))[0]),
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request"
        return problem_response(Invalid(detail, errors).problem())

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception itself; the caller gets a problem without internals.
        problem = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "Something went wrong on the server; nothing of the request was saved.",
        }
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        problem = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": exc.detail if isinstance(exc.detail, str) else title,
        }
        return problem_response(problem, dict(exc.headers) if exc.headers else None)
