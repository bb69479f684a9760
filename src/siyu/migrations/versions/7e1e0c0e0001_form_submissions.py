"""form submissions: a console form does its work once, however often it is sent

Revision ID: 7e1e0c0e0001
Revises: 7d1e0c0d0001
Create Date: 2026-12-01 18:30:00
"""
import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '7e1e0c0e0001'
down_revision = '7d1e0c0d0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'form_submissions',
        sa.Column('id', siyu.kit.db.BigId, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('location', sa.String(length=500), nullable=True),
        sa.Column('at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_form_submissions_workspace_id_workspaces')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submissions')),
        sa.UniqueConstraint('workspace_id', 'key', name=op.f('uq_form_submissions_workspace_id_key')),
    )
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submissions_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submissions_at'))
    op.drop_table('form_submissions')
