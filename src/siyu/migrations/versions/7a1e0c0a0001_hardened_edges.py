"""hardened edges: revocable console sessions; an owner (sales user) on contacts

Revision ID: 7a1e0c0a0001
Revises: 5b1e0c7d2a94
Create Date: 2026-12-01 09:00:00

console_sessions: the console cookie now carries a random session token whose hash is stored here, so logout, a
password change or disabling a user ends sessions server-side (siyu/auth/sessions.py). Cookies from before this
revision carry no token and are logged out once. contacts.owner_user_id: the sales user a contact is assigned to;
sales see only their own contacts.
"""
import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '7a1e0c0a0001'
down_revision = '5b1e0c7d2a94'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', siyu.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', siyu.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', siyu.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_sessions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash')),
    )
    op.create_index(op.f('ix_console_sessions_user_id'), 'console_sessions', ['user_id'], unique=False)

    fk_name = op.f('fk_contacts_owner_user_id_users')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot add a constraint to an existing table; the reference goes inline with the column (no
        # table rebuild of contacts, which other tables reference).
        op.add_column('contacts', sa.Column('owner_user_id', sa.Integer(), sa.ForeignKey('users.id', name=fk_name),
                                            nullable=True), inline_references=True)
    else:
        op.add_column('contacts', sa.Column('owner_user_id', sa.Integer(), nullable=True))
        op.create_foreign_key(fk_name, 'contacts', 'users', ['owner_user_id'], ['id'])
    op.create_index(op.f('ix_contacts_owner_user_id'), 'contacts', ['owner_user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_contacts_owner_user_id'), table_name='contacts')
    with op.batch_alter_table('contacts') as batch:
        if op.get_bind().dialect.name != 'sqlite':
            batch.drop_constraint(op.f('fk_contacts_owner_user_id_users'), type_='foreignkey')
        batch.drop_column('owner_user_id')
    op.drop_index(op.f('ix_console_sessions_user_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
