"""contact search: trigram indexes on contact names and platform ids (pg_trgm on PostgreSQL, FTS5 on SQLite)

Revision ID: 7d1e0c0d0001
Revises: 7c1e0c0c0001
Create Date: 2026-12-01 18:00:00

See siyu/kit/search_index.py. On SQLite the FTS5 tables use external content (the rows stay in `contacts` and
`identities`); triggers keep them current and `rebuild` indexes what is already there.
"""
from alembic import op

revision = '7d1e0c0d0001'
down_revision = '7c1e0c0c0001'
branch_labels = None
depends_on = None

SQLITE = [
    ("contacts_search", "contacts", "display_name"),
    ("identities_search", "identities", "external_id"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_contacts_display_name_trgm ON contacts "
                   "USING gin (display_name gin_trgm_ops)")
        op.execute("CREATE INDEX IF NOT EXISTS ix_identities_external_id_trgm ON identities "
                   "USING gin (external_id gin_trgm_ops)")
        return
    for fts, table, col in SQLITE:
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({col}, content='{table}', content_rowid='id', "
                   f"tokenize='trigram')")
        op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END")
        op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); END")
        op.execute(f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {table} BEGIN "
                   f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.id, old.{col}); "
                   f"INSERT INTO {fts}(rowid, {col}) VALUES (new.id, new.{col}); END")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_identities_external_id_trgm")
        op.execute("DROP INDEX IF EXISTS ix_contacts_display_name_trgm")
        return
    for fts, _table, _col in SQLITE:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
