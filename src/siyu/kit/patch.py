"""PATCH bodies: a field left out keeps its value; an explicit `null` is accepted only where null means something.

PATCH schemas declare every field optional (`x: str | None = None`) so that leaving it out is possible, and that
used to let `{"name": null}` through validation — to fail later on a NOT NULL column (a 500) or in the response
model. `PatchModel` rejects explicit null (422, at the field) for every field not named in `NULLABLE`, and
publishes the same rule in OpenAPI: such fields are not nullable in the schema, only optional.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


def _drop_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    nullable: frozenset[str] = getattr(model, "NULLABLE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or not isinstance(prop, dict):
            continue
        if prop.get("default", ...) is None:
            del prop["default"]
        options = prop.get("anyOf")
        if not isinstance(options, list):
            continue
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == len(options):
            continue
        del prop["anyOf"]
        if len(kept) == 1:
            for key, value in kept[0].items():
                prop.setdefault(key, value)
        else:
            prop["anyOf"] = kept


class PatchModel(BaseModel):
    """Base of every PATCH body. Subclasses list the fields where null is a value (e.g. "no end date")."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_explicit_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise PydanticCustomError("null_not_allowed",
                                      "may not be null; leave the field out to keep its value")
        return value
