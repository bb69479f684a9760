"""events: dedupe on a 64-bit source hash; partial contact / group indexes; type index by id; hourly counts;
identity epoch

Revision ID: 5b1e0c7d2a94
Revises: f0fdb1b97236
Create Date: 2026-11-23 07:20:00

The text unique key on (workspace_id, source_key), the full contact / group indexes and the type index by
occurred_at made a batch of random client keys (and imported history) dirty most index pages on every commit;
see siyu/events/keys.py, docs/events.md and docs/bench.md. workspaces.identity_epoch lets processes cache
identity lookups (siyu/contacts/identity_cache.py); event_hours feeds day charts (siyu/events/rollup.py).
"""
from hashlib import blake2b
from typing import Any

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '5b1e0c7d2a94'
down_revision = 'f0fdb1b97236'
branch_labels = None
depends_on = None

CHUNK = 5000


def _source_hash(workspace_id: int, source_key: str) -> int:
    # A frozen copy of siyu.events.keys.source_hash: the stored values must never depend on later code.
    digest = blake2b(f"{workspace_id}\x00{source_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _where(column: str) -> dict[str, Any]:
    cond = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": cond, "postgresql_where": cond}


def upgrade() -> None:
    op.add_column('workspaces', sa.Column('identity_epoch', sa.Integer(), server_default='0', nullable=False))
    op.add_column('events', sa.Column('source_hash', sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text("SELECT id, workspace_id, source_key FROM events WHERE id > :last "
                                    "ORDER BY id LIMIT :n"), {"last": last, "n": CHUNK}).fetchall()
        if not rows:
            break
        conn.execute(sa.text("UPDATE events SET source_hash = :h WHERE id = :id"),
                     [{"h": _source_hash(ws, key), "id": i} for i, ws, key in rows])
        last = rows[-1][0]
    op.drop_index('ix_events_contact_time', table_name='events')
    op.drop_index('ix_events_group_time', table_name='events')
    op.drop_index('ix_events_type_time', table_name='events')
    with op.batch_alter_table('events') as batch:
        batch.alter_column('source_hash', existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint('uq_events_workspace_id_source_key', type_='unique')
        batch.create_unique_constraint('uq_events_source_hash', ['source_hash'])
    op.create_index('ix_events_contact_time', 'events', ['contact_id', 'occurred_at'], **_where('contact_id'))
    op.create_index('ix_events_group_time', 'events', ['group_id', 'occurred_at'], **_where('group_id'))
    op.create_index('ix_events_type_id', 'events', ['workspace_id', 'type', 'id'])
    op.create_table(
        'event_hours',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('hour', siyu.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('events', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_event_hours_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('workspace_id', 'hour', 'shard', name=op.f('pk_event_hours')),
    )
    if conn.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC
        hour = "substr(occurred_at, 1, 13) || ':00:00.000000'"
    else:
        hour = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    conn.execute(sa.text(f"INSERT INTO event_hours (workspace_id, hour, shard, events) "
                         f"SELECT workspace_id, {hour}, 0, count(*) FROM events GROUP BY workspace_id, {hour}"))


def downgrade() -> None:
    op.drop_table('event_hours')
    op.drop_index('ix_events_contact_time', table_name='events')
    op.drop_index('ix_events_group_time', table_name='events')
    op.drop_index('ix_events_type_id', table_name='events')
    with op.batch_alter_table('events') as batch:
        batch.drop_constraint('uq_events_source_hash', type_='unique')
        batch.create_unique_constraint('uq_events_workspace_id_source_key', ['workspace_id', 'source_key'])
        batch.drop_column('source_hash')
    op.create_index('ix_events_contact_time', 'events', ['workspace_id', 'contact_id', 'occurred_at'])
    op.create_index('ix_events_group_time', 'events', ['workspace_id', 'group_id', 'occurred_at'])
    op.create_index('ix_events_type_time', 'events', ['workspace_id', 'type', 'occurred_at'])
    with op.batch_alter_table('workspaces') as batch:
        batch.drop_column('identity_epoch')
