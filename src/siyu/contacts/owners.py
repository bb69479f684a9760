"""Who a contact is assigned to: `contacts.owner_user_id`, a console user (usually sales).

Sales principals see only the contacts assigned to them — the list and search (`service.search(owner=…)`), and
every route with a `contact_id` (`auth/web._check_contact_scope`, a 404 otherwise). Admins and operators assign;
lead assignment rules come later and will write the same column.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts import service
from siyu.kit.errors import Invalid
from siyu.models import Contact, User


def set_owner(session: Session, ws: int, contact_id: int, user_id: int | None) -> Contact:
    """Assign the contact to an active user of the workspace (None: to nobody)."""
    c = service.get(session, ws, contact_id)
    if user_id is not None:
        u = session.get(User, user_id)
        if u is None or u.workspace_id != ws or not u.active:
            raise Invalid(f"no active user {user_id} to assign the contact to", code="unknown_owner")
    c.owner_user_id = user_id
    session.flush()
    return c


def assignable_users(session: Session, ws: int) -> list[User]:
    """Active users a contact can be assigned to, sales first (the ones who need assignments to see anything)."""
    users = list(session.scalars(select(User).where(User.workspace_id == ws, User.active.is_(True))
                                 .order_by(User.username)))
    return sorted(users, key=lambda u: u.role != "sales")


def owner_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(User.id, User.username).where(User.id.in_(ids)))}
