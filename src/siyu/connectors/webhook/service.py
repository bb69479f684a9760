"""The webhook bridge's own state: the signatures of accepted callbacks, kept while their timestamp is inside the
tolerance window. Claiming one is an INSERT … ON CONFLICT DO NOTHING on a unique constraint in the same
transaction as the events the callback carries, so a replay — even several copies racing in at once, from any
number of processes — stores its events once: on PostgreSQL the second insert waits for the first transaction and
then finds the row; on SQLite writers take turns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from siyu.connectors.webhook.signing import Verified
from siyu.kit.db import insert_ignore
from siyu.kit.errors import Conflict
from siyu.models import WebhookSignature

SIGNATURES: Table = WebhookSignature.__table__  # type: ignore[assignment]


def claim(session: Session, connector_id: int, verified: Verified, now: datetime) -> None:
    """Take this signature for this request, or refuse the request as a replay (409 `replayed_signature`)."""
    row = session.execute(insert_ignore(session, SIGNATURES, ["connector_id", "signature"])
                          .returning(SIGNATURES.c.id), [{
                              "connector_id": connector_id, "signature": verified.signature,
                              "signed_at": verified.signed_at, "received_at": now}]).first()
    if row is None:
        raise Conflict("this signed request was already received; sign each request anew (a fresh timestamp)",
                       code="replayed_signature")


#: When this process last pruned a connector's signatures. Pruning only keeps the table small (a replay of a
#: pruned signature is refused as stale anyway), so once a minute is enough.
_pruned: dict[int, datetime] = {}
PRUNE_EVERY = timedelta(minutes=1)


def prune(session: Session, connector_id: int, now: datetime, tolerance_s: int) -> int:
    """Forget signatures whose timestamp left the window: a replay of one is refused as stale anyway. Called
    after the connector's row is locked (`health.record`), so concurrent callbacks take their locks in one order."""
    last = _pruned.get(connector_id)
    if last is not None and now - PRUNE_EVERY < last <= now:
        return 0
    _pruned[connector_id] = now
    res: Any = session.execute(delete(WebhookSignature).where(
        WebhookSignature.connector_id == connector_id,
        WebhookSignature.signed_at < now - timedelta(seconds=tolerance_s)))
    return int(res.rowcount or 0)
