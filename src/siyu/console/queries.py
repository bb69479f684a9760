"""Read-only queries the console needs and no REST endpoint does (dashboard figures, names for ids)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.events import rollup
from siyu.models import Action, ChannelCode, Community, Contact, Group


def contact_count(session: Session, ws: int) -> int:
    return session.scalar(select(func.count()).select_from(Contact).where(
        Contact.workspace_id == ws, Contact.merged_into_id.is_(None))) or 0


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def events_per_day(session: Session, ws: int, today: date, tz: ZoneInfo, days: int = 30) -> list[tuple[date, int]]:
    """Events per local day for the last `days` days (today included), from the hourly counts."""
    first = today - timedelta(days=days - 1)
    bounds = [local_midnight(first + timedelta(days=i), tz) for i in range(days + 1)]
    return list(zip([first + timedelta(days=i) for i in range(days)], rollup.per_range(session, ws, bounds),
                    strict=True))


def events_between(session: Session, ws: int, start: datetime, end: datetime) -> int:
    return rollup.count_between(session, ws, start, end)


def group_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(Group.id, Group.name).where(Group.id.in_(ids)))}


def community_names(session: Session, ws: int) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(Community.id, Community.name)
                                             .where(Community.workspace_id == ws))}


def code_names(session: Session, ws: int) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(ChannelCode.id, ChannelCode.name)
                                             .where(ChannelCode.workspace_id == ws))}


def faq_questions(session: Session, ws: int, ids: set[int]) -> dict[int, str]:
    """FAQ entries' questions, so a timeline says which question the FAQ answered."""
    from siyu.models import FaqEntry

    if not ids:
        return {}
    return {i: q for i, q in session.execute(select(FaqEntry.id, FaqEntry.question).where(
        FaqEntry.workspace_id == ws, FaqEntry.id.in_(ids)))}


def interaction_titles(session: Session, ws: int, ids: set[int]) -> dict[int, str]:
    """Interactions' titles, so a timeline names the solitaire or draw rather than its id."""
    from siyu.models import Interaction

    if not ids:
        return {}
    return {i: t for i, t in session.execute(select(Interaction.id, Interaction.title).where(
        Interaction.workspace_id == ws, Interaction.id.in_(ids)))}


def contact_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(Contact.id, Contact.display_name).where(Contact.id.in_(ids)))}


def recent_actions(session: Session, ws: int, limit: int = 30) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.workspace_id == ws)
                                .order_by(Action.id.desc()).limit(limit)))


def contact_of_identity(session: Session, ws: int, platform: str, external_id: str) -> int | None:
    from siyu.models import Identity

    return session.scalar(select(Identity.contact_id).where(
        Identity.workspace_id == ws, Identity.platform == platform, Identity.external_id == external_id))


def groups_by_external(session: Session, ws: int, external_ids: set[str]) -> dict[str, Group]:
    if not external_ids:
        return {}
    return {g.external_id: g for g in session.scalars(select(Group).where(
        Group.workspace_id == ws, Group.external_id.in_(external_ids)))}
