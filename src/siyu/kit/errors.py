"""Domain errors carry their HTTP status and a machine code so one handler renders them all.

Expected conflicts (duplicate names, full groups, bad references) must never surface as a 500. Every JSON error
the API answers — domain errors, request validation (422), oversized bodies (413), unknown routes — has the one
shape `ErrorOut` (`code`, `message`, optional `detail`), and `ERROR_RESPONSES` publishes it in OpenAPI for every
operation, so a client can rely on the schema for its error handling too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SiyuError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class NotFound(SiyuError):
    status = 404
    code = "not_found"


class Conflict(SiyuError):
    status = 409
    code = "conflict"


class Invalid(SiyuError):
    status = 422
    code = "invalid"


class Forbidden(SiyuError):
    status = 403
    code = "forbidden"


class Unauthorized(SiyuError):
    status = 401
    code = "unauthorized"


class TooManyRequests(SiyuError):
    status = 429
    code = "too_many_requests"


class ErrorOut(BaseModel):
    """The body of every JSON error answer."""

    code: str = Field(description="machine-readable reason, stable across versions (e.g. `contact_not_found`)")
    message: str = Field(description="what went wrong, for a person")
    detail: Any = Field(default=None, description="more about it: the failing fields of a 422, rows of an import")


_ERROR_STATUSES = {
    400: "Bad request",
    401: "Not authenticated: log in or send an API token",
    403: "Authenticated but not allowed (role, CSRF)",
    404: "No such object (or not visible to the caller)",
    409: "Conflicts with the current state (duplicate, last admin, full group)",
    413: "Request body too large",
    422: "The request does not match the schema or the domain rules",
    429: "Too many requests",
}
#: `responses=` for FastAPI: the error answers every operation may give, all with the `ErrorOut` body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _ERROR_STATUSES.items()
}
