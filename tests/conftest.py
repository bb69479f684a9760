"""Shared fixtures. The backend comes from SIYU_TEST_DB (sqlite | postgresql); `make test` runs the suite on both.

Every test gets an empty database built by the real Alembic migrations: SQLite copies a migrated template file,
PostgreSQL truncates the migrated schema. Nothing of siyu's own database is mocked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from siyu import config
from siyu.auth import service as auth
from siyu.kit import migrate
from siyu.kit.clock import FrozenClock
from siyu.kit.db import Base
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

BACKEND = os.environ.get("SIYU_TEST_DB", "sqlite")
PG_URL = os.environ.get("SIYU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SIYU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Asia/Shanghai
SECRET = "test-secret-key-not-for-production"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    if BACKEND == "postgresql":
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        migrate.upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def db_url(_template: str, tmp_path: Path) -> str:
    if BACKEND == "postgresql":
        engine = sa.create_engine(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        engine.dispose()
        return PG_URL
    target = tmp_path / "siyu.db"
    shutil.copy(_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> config.Settings:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return config.Settings(data_dir=data, database_url=db_url, secret_key=SECRET,  # type: ignore[arg-type]
                           base_url="http://testserver")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def rt(settings: config.Settings, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(settings, clock=clock, immediate=True)
    runtime.ensure_workspace()
    yield runtime
    runtime.close()


@pytest.fixture
def app_client(rt: Runtime) -> Iterator[TestClient]:
    from siyu.app import create_app

    with TestClient(create_app(runtime=rt)) as c:
        yield c


def make_token(rt: Runtime, role: str) -> str:
    with rt.tx() as s:
        _, token = auth.create_token(s, DEFAULT_WORKSPACE, f"test-{role}", role)
    return token


@pytest.fixture
def api(app_client: TestClient, rt: Runtime) -> Any:
    """`api(role)` → a client whose requests carry a fresh token of that role (default operator)."""

    def make(role: str = "operator") -> TestClient:
        app_client.headers["Authorization"] = f"Bearer {make_token(rt, role)}"
        return app_client

    return make


from tests.browser import server  # noqa: E402,F401  (the `siyu serve` fixture of the browser tests)
