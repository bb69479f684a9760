"""Domain errors carry their HTTP status and a machine code so one handler renders them all.

Expected conflicts (duplicate names, full groups, bad references) must never surface as a 500.
"""

from __future__ import annotations

from typing import Any


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
