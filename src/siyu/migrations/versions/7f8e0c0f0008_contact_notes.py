"""contact notes: staff's follow-up notes on a contact (who, when, text)

Revision ID: 7f8e0c0f0008
Revises: 7e1e0c0e0001
Create Date: 2026-12-02 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '7f8e0c0f0008'
down_revision = '7e1e0c0e0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_notes',
        sa.Column('id', siyu.kit.db.BigId, autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', siyu.kit.db.BigId, nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=True),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', siyu.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'],
                                name=op.f('fk_contact_notes_workspace_id_workspaces')),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_notes_contact_id_contacts')),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'],
                                name=op.f('fk_contact_notes_author_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_notes')),
    )
    with op.batch_alter_table('contact_notes', schema=None) as batch_op:
        batch_op.create_index('ix_contact_notes_contact', ['contact_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_notes_contact')
    op.drop_table('contact_notes')
