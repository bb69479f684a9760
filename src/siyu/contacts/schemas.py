from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from siyu.kit.params import Id, Id64
from siyu.kit.patch import PatchModel


class IdentityOut(BaseModel):
    platform: str
    external_id: str


class ContactOut(BaseModel):
    id: int
    display_name: str
    blacklisted: bool
    created_at: datetime
    owner_user_id: int | None = Field(default=None, description="the user (sales) the contact is assigned to")
    identities: list[IdentityOut] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactPage(BaseModel):
    items: list[ContactOut]
    total: int
    offset: int
    limit: int


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(default="", max_length=200)
    identities: list[IdentityOut] = Field(min_length=1, max_length=10)


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(min_length=1, max_length=32)
    external_id: str = Field(min_length=1, max_length=200)


class ContactPatch(PatchModel):
    """Change a contact: its display name, or who it is assigned to (`owner_user_id`; null: nobody)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"owner_user_id"})
    display_name: str | None = Field(default=None, max_length=200)
    owner_user_id: Id | None = None


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=30)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    absorb_contact_id: Id64


class TagOut(BaseModel):
    id: int
    group: str
    name: str


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


class NoteOut(BaseModel):
    """A follow-up note: who wrote it (the user's name, or the API token's), when, and what."""

    id: int
    contact_id: int
    author: str
    author_user_id: int | None
    text: str
    created_at: datetime


class BulkTagIn(BaseModel):
    """Tag many contacts at once (a page of the list): the tag by group and name, created when missing."""

    model_config = ConfigDict(extra="forbid")
    contact_ids: list[Id64] = Field(min_length=1, max_length=200)
    group: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=30)


class BulkUntagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_ids: list[Id64] = Field(min_length=1, max_length=200)
    tag_id: Id


class BulkOut(BaseModel):
    tag_id: int
    #: The contacts that changed (the others had the tag already, or did not have it).
    changed: list[int]
