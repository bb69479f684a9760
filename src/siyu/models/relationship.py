from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.kit.db import Base, BigId, UTCDateTime


class ContactRelationship(Base):
    """Whether a contact is a friend of a staff account (WeCom: an external contact of a follow user), as of the
    latest platform fact about the pair. Facts apply by their time, not their arrival, so a late or replayed
    `contact.added` never resurrects a relationship a later `contact.removed` ended."""

    __tablename__ = "contact_relationships"
    __table_args__ = (UniqueConstraint("contact_id", "staff"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id"))
    #: The staff member's id on the platform (WeCom userid).
    staff: Mapped[str] = mapped_column(String(64))
    #: active | removed
    status: Mapped[str] = mapped_column(String(16))
    #: Who ended it: contact (deleted the staff) | staff (deleted the contact); empty while active.
    removed_by: Mapped[str] = mapped_column(String(16), default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Time of the latest fact applied; an older fact changes nothing.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of_event_id: Mapped[int] = mapped_column(BigId)
    channel_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
