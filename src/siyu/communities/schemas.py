"""The shapes of a community: A1 positioning profile, A2 type, A3 five-part rules, A4 roles."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from siyu.kit.params import Id, Id64
from siyu.kit.patch import PatchModel

CommunityType = Literal["traffic", "flash", "content", "checkin"]
RoleName = Literal["owner", "admin", "customer_service", "kol", "koc", "vest", "robot"]
ROLES: tuple[str, ...] = ("owner", "admin", "customer_service", "kol", "koc", "vest", "robot")
#: Roles that are on the platform but never counted as members (A4).
NOT_COUNTED = ("vest", "robot")


class TargetUsers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["users", "decision_makers", "both"] = "users"
    description: str = Field(default="", max_length=500)
    age: str = Field(default="", max_length=50)
    gender: str = Field(default="", max_length=20)
    region: str = Field(default="", max_length=100)
    occupation: str = Field(default="", max_length=100)


class Profile(BaseModel):
    """A1: the six positioning dimensions plus the fee."""

    model_config = ConfigDict(extra="forbid")
    purpose: Literal["acquire", "convert", "retain"] = "retain"
    north_star: str = Field(default="", max_length=200)
    target_users: TargetUsers = Field(default_factory=TargetUsers)
    orientation: Literal["interest", "knowledge", "product", "vertical", "other"] = "knowledge"
    culture: str = Field(default="", max_length=300)
    scale: Literal["small", "growing"] = "growing"
    expansion: Literal["open", "share_to_join", "invite_only", "card"] = "open"
    management: Literal["flat", "pyramid"] = "pyramid"
    function: Literal["communication", "functional"] = "communication"
    fee: Literal["free", "paid"] = "free"
    fee_amount: float = Field(default=0, ge=0)


class Rules(BaseModel):
    """A3: the five-part group rules, with the penalties stated."""

    model_config = ConfigDict(extra="forbid")
    name_card: str = Field(default="", max_length=500)
    offers: str = Field(default="", max_length=1000)
    how_to_ask: str = Field(default="", max_length=1000)
    forbidden: str = Field(default="", max_length=1000)
    allowed: str = Field(default="", max_length=1000)
    penalties: str = Field(default="", max_length=500)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=200)
    tag_group: str = Field(min_length=1, max_length=30)
    options: list[str] = Field(min_length=1, max_length=40)


class CommunityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    type: CommunityType = "content"
    profile: Profile = Field(default_factory=Profile)
    rules: Rules = Field(default_factory=Rules)
    welcome_text: str = Field(default="", max_length=2000)
    activities: str = Field(default="", max_length=1000)
    questionnaire: list[Question] = Field(default_factory=list, max_length=10)
    default_capacity: int = Field(default=200, ge=2, le=2000)


class CommunityPatch(PatchModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    type: CommunityType | None = None
    profile: Profile | None = None
    rules: Rules | None = None
    welcome_text: str | None = Field(default=None, max_length=2000)
    activities: str | None = Field(default=None, max_length=1000)
    questionnaire: list[Question] | None = Field(default=None, max_length=10)
    default_capacity: int | None = Field(default=None, ge=2, le=2000)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    community_id: Id | None = None
    platform: str = "sandbox"
    external_id: str | None = Field(default=None, max_length=128)
    owner: str = Field(default="", max_length=100)
    capacity: int = Field(default=200, ge=2, le=2000)


class GroupPatch(PatchModel):
    """Change a group: its name, owner (the staff account that owns it on the platform), capacity."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    owner: str | None = Field(default=None, max_length=100)
    capacity: int | None = Field(default=None, ge=2, le=2000)


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: Id64
    role: RoleName
