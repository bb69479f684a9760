"""engine: events live / history, memberships projected from events with one open stay per member, contact
relationships, automation failures

Revision ID: 7c1e0c0c0001
Revises: 7a1e0c0a0001
Create Date: 2026-12-01 16:00:00

Memberships now follow from `group.member_joined` / `group.member_left` events (siyu/communities/projection.py);
the partial unique index makes a second open stay of one member in one group impossible under any concurrency.
Databases from before may hold such duplicates (the PostgreSQL race this fixes): all but the oldest open stay
are closed at its join time before the index is built.
"""
import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '7c1e0c0c0001'
down_revision = '7a1e0c0a0001'
branch_labels = None
depends_on = None

OPEN = sa.text("left_at IS NULL")


def upgrade() -> None:
    op.add_column('events', sa.Column('live', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('memberships', sa.Column('join_event_id', siyu.kit.db.BigId, nullable=True))
    op.add_column('memberships', sa.Column('leave_event_id', siyu.kit.db.BigId, nullable=True))
    op.execute(
        "UPDATE memberships SET left_at = joined_at, quit_scene = 'duplicate' WHERE left_at IS NULL AND id NOT IN "
        "(SELECT MIN(id) FROM memberships WHERE left_at IS NULL GROUP BY group_id, contact_id)")
    op.create_index('uq_memberships_open', 'memberships', ['group_id', 'contact_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        'automation_failures',
        sa.Column('id', siyu.kit.db.BigId, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('event_id', siyu.kit.db.BigId, nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('automation', sa.String(length=200), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('next_attempt_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('created_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_automation_failures_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_failures')),
        sa.UniqueConstraint('event_id', 'automation', name=op.f('uq_automation_failures_event_id_automation')),
    )
    op.create_index('ix_automation_failures_due', 'automation_failures', ['state', 'next_attempt_at'])
    op.create_table(
        'contact_relationships',
        sa.Column('id', siyu.kit.db.BigId, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', siyu.kit.db.BigId, nullable=False),
        sa.Column('staff', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('removed_by', sa.String(length=16), nullable=False),
        sa.Column('since', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('as_of', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('as_of_event_id', siyu.kit.db.BigId, nullable=False),
        sa.Column('channel_state', sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_contact_relationships_contact_id_contacts')),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_contact_relationships_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_relationships')),
        sa.UniqueConstraint('contact_id', 'staff', name=op.f('uq_contact_relationships_contact_id_staff')),
    )


def downgrade() -> None:
    op.drop_table('contact_relationships')
    op.drop_index('ix_automation_failures_due', table_name='automation_failures')
    op.drop_table('automation_failures')
    op.drop_index('uq_memberships_open', table_name='memberships')
    with op.batch_alter_table('memberships') as batch:
        batch.drop_column('leave_event_id')
        batch.drop_column('join_event_id')
    with op.batch_alter_table('events') as batch:
        batch.drop_column('live')
