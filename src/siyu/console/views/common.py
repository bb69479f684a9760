"""Helpers shared by the console views: form parsing, validation into domain errors, safe redirects."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from siyu.console.labels import plain_errors
from siyu.kit.errors import Invalid
from siyu.kit.patch import PatchModel

M = TypeVar("M", bound=BaseModel)


async def form_data(request: Request) -> FormData:
    """The posted form (cached by Starlette, so the CSRF check and the view read the same one)."""
    return await request.form()


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def integer(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(f"{name} must be a whole number", code="invalid_number", detail={"field": name}) from None


def lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace("\r", "\n").split("\n") if line.strip()]


def options(raw: str) -> list[str]:
    """Questionnaire options: one per line, or separated by commas / slashes."""
    out: list[str] = []
    for part in raw.replace("，", ",").replace("/", ",").replace("\n", ",").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form input with the API's own schema; errors become a 422 with the field named.

    For a PATCH schema an empty form field (None here) means "leave it", so it is left out rather than sent as an
    explicit null, which those schemas refuse."""
    if issubclass(model, PatchModel):
        data = {k: v for k, v in data.items() if v is not None or k in model.NULLABLE}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        # `detail` keeps the structured errors: the console translates each field and limit (console/labels.py)
        detail = plain_errors(exc.errors())
        raise Invalid("; ".join(parts), code="validation_error", detail=detail) from None


def safe_next(target: str | None, default: str = "/") -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
