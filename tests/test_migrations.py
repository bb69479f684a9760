"""The Alembic migrations build exactly the schema the models describe, on this backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine

from siyu.events import service
from siyu.kit import migrate
from siyu.kit.db import Base, make_engine, make_sessionmaker, transaction
from siyu.kit.search_index import include_object
from tests.conftest import BACKEND


def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include_object}),
                                Base.metadata)
    engine.dispose()
    assert diff == [], diff


def _old_workspace(tmp_path: Path, revision: str) -> tuple[str, Engine]:
    """A SQLite workspace database at an older revision, with its workspace row."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, revision)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO workspaces (id, name, timezone, sandbox_mode, settings, created_at) "
                             "VALUES (1, 'w', 'Asia/Shanghai', 'bot', '{}', '2026-01-01 00:00:00.000000')")
    return url, engine


# The PostgreSQL template schema is shared by the suite; SQLite shows the same migration path.
old_sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="upgrades of old databases run on SQLite")


@old_sqlite_only
def test_upgrade_keeps_existing_rows(tmp_path: Path) -> None:
    """Upgrading a workspace created by the first schema keeps its data and fills new columns."""
    url, engine = _old_workspace(tmp_path, "c84593e96cf9")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO communities (workspace_id, name, type, profile, rules, welcome_text, "
                             "activities, questionnaire, default_capacity, created_at) VALUES "
                             "(1, '会计圈', 'content', '{}', '{}', '', '', '[]', 200, '2026-01-01 00:00:00.000000')")
    migrate.upgrade(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT name, settings FROM communities").fetchall() == [("会计圈", "{}")]
    engine.dispose()


@old_sqlite_only
def test_upgrade_backfills_the_event_dedupe_hash(tmp_path: Path) -> None:
    """Events stored before the hash column existed still deduplicate after the upgrade."""
    url, engine = _old_workspace(tmp_path, "f0fdb1b97236")
    with engine.begin() as conn:
        for i in range(3):
            conn.exec_driver_sql(
                "INSERT INTO events (workspace_id, type, occurred_at, received_at, source_key, payload) VALUES "
                f"(1, 'custom.old', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 'old-{i}', '{{}}')")
    engine.dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            res = service.ingest(s, 1, [{"type": "custom.old", "source_key": "old-1"},
                                        {"type": "custom.old", "source_key": "new-1"}],
                                 now=datetime(2026, 2, 1, tzinfo=UTC))
        assert [r.status for r in res] == ["duplicate", "stored"]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE source_hash IS NULL").scalar() == 0
            # the day charts count the old events too: 3 backfilled in their hour, 1 new
            assert conn.exec_driver_sql("SELECT hour, sum(events) FROM event_hours GROUP BY hour ORDER BY hour"
                                        ).fetchall() == [("2026-01-01 00:00:00.000000", 3),
                                                         ("2026-02-01 00:00:00.000000", 1)]
    finally:
        engine.dispose()
