"""connector instances: named connectors of a kind with sealed secrets, their per-minute health counters, and the
signatures of accepted webhook callbacks (replay protection)

Revision ID: 7f9e0c0f0009
Revises: 7f8e0c0f0008
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '7f9e0c0f0009'
down_revision = '7f8e0c0f0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'connectors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('settings', siyu.kit.db.JsonType, nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('last_inbound_at', siyu.kit.db.UTCDateTime(), nullable=True),
        sa.Column('last_outbound_at', siyu.kit.db.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('last_error_at', siyu.kit.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_connectors_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_connectors')),
        sa.UniqueConstraint('name', name=op.f('uq_connectors_name')),
    )
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connectors_workspace_id'), ['workspace_id'], unique=False)
    op.create_table(
        'connector_stats',
        sa.Column('connector_id', sa.Integer(), nullable=False),
        sa.Column('minute', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('errors', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'],
                                name=op.f('fk_connector_stats_connector_id_connectors'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('connector_id', 'minute', name=op.f('pk_connector_stats')),
    )
    op.create_table(
        'webhook_signatures',
        sa.Column('id', siyu.kit.db.BigId, autoincrement=True, nullable=False),
        sa.Column('connector_id', sa.Integer(), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.Column('signed_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.Column('received_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'],
                                name=op.f('fk_webhook_signatures_connector_id_connectors'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_signatures')),
        sa.UniqueConstraint('connector_id', 'signature', name=op.f('uq_webhook_signatures_connector_id_signature')),
    )
    with op.batch_alter_table('webhook_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_signatures_connector_signed', ['connector_id', 'signed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_signatures_connector_signed')
    op.drop_table('webhook_signatures')
    op.drop_table('connector_stats')
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connectors_workspace_id'))
    op.drop_table('connectors')
