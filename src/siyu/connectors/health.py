"""How a connector is doing, for the console's health column: the last inbound callback, the last outbound call,
the last error, and the error rate over the last hour from per-minute counters (`ConnectorStat`).

Connectors record their own calls in short transactions of their own (`PlatformLink.sessions`), after the call
and never around it; the callback edge records an accepted callback in the transaction of its events. A refused
callback (bad signature) records nothing: "nothing stored" holds for forgeries too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.connectors import instances
from siyu.connectors.base import Capabilities
from siyu.connectors.instances import Setting
from siyu.connectors.registry import ConnectorRegistry, Unusable
from siyu.kit.db import dialect_name
from siyu.models import ConnectorInstance, ConnectorStat

STATS: Table = ConnectorStat.__table__  # type: ignore[assignment]
KEEP = timedelta(days=2)
WINDOW = timedelta(hours=1)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


#: When this process last pruned a connector's old counters: once per `PRUNE_EVERY` is plenty for two days.
_pruned: dict[int, datetime] = {}
PRUNE_EVERY = timedelta(minutes=10)


def record(session: Session, name: str, now: datetime, *, ok: bool, direction: Literal["in", "out"] = "out",
           error: str = "", connector_id: int | None = None) -> None:
    """Count one call to (`out`) or from (`in`) the platform; a failure also becomes the connector's last error.
    Three statements on the hot path of a callback (fewer lookups when the caller knows the id)."""
    cid = connector_id if connector_id is not None else session.scalar(
        select(ConnectorInstance.id).where(ConnectorInstance.name == name))
    if cid is None:  # removed meanwhile
        return
    values: dict[str, object] = {"last_inbound_at" if direction == "in" else "last_outbound_at": now}
    if not ok:
        values.update(last_error=error[:2000], last_error_at=now)
    # the connector's row first: concurrent recorders of one connector take their locks in this one order
    session.execute(update(ConnectorInstance).where(ConnectorInstance.id == cid).values(**values))
    errors = 0 if ok else 1
    ins = (postgresql.insert(STATS) if dialect_name(session) == "postgresql" else sqlite.insert(STATS)).values(
        connector_id=cid, minute=_minute(now), calls=1, errors=errors)
    session.execute(ins.on_conflict_do_update(
        index_elements=["connector_id", "minute"],
        set_={"calls": STATS.c.calls + 1, "errors": STATS.c.errors + errors}))
    last = _pruned.get(cid)
    if last is None or not (now - PRUNE_EVERY < last <= now):
        _pruned[cid] = now
        session.execute(delete(ConnectorStat).where(ConnectorStat.connector_id == cid,
                                                    ConnectorStat.minute < now - KEEP))


@dataclass(frozen=True)
class Health:
    calls: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        """Failed share of the last hour's calls; None when there were none."""
        return self.errors / self.calls if self.calls else None


def last_hour(session: Session, connector_ids: list[int], now: datetime) -> dict[int, Health]:
    """Calls and failures of each connector over the last hour (whole minutes)."""
    if not connector_ids:
        return {}
    rows = session.execute(
        select(ConnectorStat.connector_id, func.sum(ConnectorStat.calls), func.sum(ConnectorStat.errors))
        .where(ConnectorStat.connector_id.in_(connector_ids), ConnectorStat.minute > _minute(now) - WINDOW)
        .group_by(ConnectorStat.connector_id)).all()
    found = {int(cid): Health(int(calls or 0), int(errors or 0)) for cid, calls, errors in rows}
    return {cid: found.get(cid, Health(0, 0)) for cid in connector_ids}


@dataclass(frozen=True)
class Status:
    """One connector as the CLI, the console and the API show it: masked settings, declared capabilities,
    health. Built in one read transaction for a page of instances."""

    name: str
    kind: str
    settings: list[Setting]
    capabilities: Capabilities
    callback_url: str
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    last_hour: Health
    usable: bool
    created_at: datetime
    updated_at: datetime


def statuses(session: Session, registry: ConnectorRegistry, rows: list[ConnectorInstance], now: datetime, *,
             secret_key: str, base_url: str) -> list[Status]:
    stats = last_hour(session, [i.id for i in rows], now)
    out: list[Status] = []
    for inst in rows:
        connector = registry.of(inst)
        out.append(Status(
            name=inst.name, kind=inst.kind, settings=instances.masked(inst, secret_key),
            capabilities=connector.capabilities(inst.settings),
            callback_url=f"{base_url.rstrip('/')}/callbacks/{inst.kind}/{inst.name}",
            last_inbound_at=inst.last_inbound_at, last_outbound_at=inst.last_outbound_at,
            last_error=inst.last_error, last_error_at=inst.last_error_at, last_hour=stats[inst.id],
            usable=not isinstance(connector, Unusable), created_at=inst.created_at, updated_at=inst.updated_at))
    return out
