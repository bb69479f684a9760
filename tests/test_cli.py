"""The `siyu` command as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siyu import __version__
from siyu.cli import app
from tests.conftest import BACKEND

runner = CliRunner()
pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the CLI's own workspace is SQLite; covered once")


def test_version() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.stdout


def test_init_prints_admin_once_and_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "ws"
    first = runner.invoke(app, ["init", str(data)])
    assert first.exit_code == 0, first.stdout
    assert "password" in first.stdout
    assert (data / "siyu.toml").exists() and (data / "siyu.db").exists()
    assert oct((data / "siyu.toml").stat().st_mode)[-3:] == "600"
    key = (data / "siyu.toml").read_text()
    second = runner.invoke(app, ["init", str(data)])
    assert second.exit_code == 0 and "password" not in second.stdout
    assert (data / "siyu.toml").read_text() == key      # the secret key is never replaced


def test_users_and_tokens(tmp_path: Path) -> None:
    data = tmp_path / "ws"
    runner.invoke(app, ["init", str(data)])
    r = runner.invoke(app, ["user", "add", "lina", "--role", "sales", "--data", str(data)])
    assert r.exit_code == 0 and "Password" in r.stdout
    dup = runner.invoke(app, ["user", "add", "lina", "--role", "sales", "--data", str(data)])
    assert dup.exit_code == 1 and "username_taken" in dup.output
    bad = runner.invoke(app, ["token", "create", "--role", "god", "--data", str(data)])
    assert bad.exit_code == 1 and "invalid_role" in bad.output
    tok = runner.invoke(app, ["token", "create", "--role", "viewer", "--data", str(data)])
    assert tok.exit_code == 0 and tok.stdout.strip().startswith("siyu_")


def test_commands_on_a_folder_that_is_no_workspace_say_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    r = subprocess.run([sys.executable, "-m", "siyu.cli", "db", "upgrade", "--data", str(tmp_path / "nope")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "siyu init" in r.stderr


def test_demo_creates_explorable_data_once(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    r = runner.invoke(app, ["demo", str(data)])
    assert r.exit_code == 0, r.output
    assert "communities" in r.stdout
    again = runner.invoke(app, ["demo", str(data)])
    assert again.exit_code == 0 and "already present" in again.stdout


def test_demo_contacts_have_history_and_were_welcomed(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from siyu import config
    from siyu.models import Action, ChannelCode, Community, Event, Group, PlaybookRun, SopOccurrence
    from siyu.runtime import Runtime

    data = tmp_path / "demo"
    assert runner.invoke(app, ["demo", str(data)]).exit_code == 0
    rt = Runtime(config.load(data), immediate=True)
    try:
        with rt.tx() as s:
            def count(q: object) -> int:
                return int(s.scalar(q) or 0)  # type: ignore[call-overload]

            assert count(select(func.count()).select_from(Community)) == 3
            assert count(select(func.count()).select_from(Group)) >= 5
            assert count(select(func.count()).select_from(ChannelCode)) == 3
            joins = count(select(func.count()).select_from(Event).where(Event.type == "group.member_joined"))
            welcomed = count(select(func.count()).select_from(Action).where(
                Action.kind == "welcome", Action.state == "sent"))
            assert joins >= 20 and welcomed == joins
            # the calendar has weeks of history and the three playbooks are applied
            sent = list(s.scalars(select(SopOccurrence.due_at).join(Action, Action.id == SopOccurrence.action_id)
                                  .where(Action.state == "sent")))
            assert len(sent) > 50 and (max(sent) - min(sent)).days >= 14
            assert {r.name for r in s.scalars(select(PlaybookRun))} == {
                "knowledge-community", "course-cycle", "flash-sale"}
            kinds = set(s.scalars(select(Event.type).distinct()))
            assert {"contact.joined_via_channel", "message.posted", "link.clicked", "contact.tagged"} <= kinds
    finally:
        rt.close()


# --- starting on a database that is not ready, and a second host of one installation --------------------------

def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.update(extra)
    return env


@pytest.mark.parametrize("command", ["serve", "worker", "scheduler"])
def test_starting_on_a_database_without_the_schema_says_to_run_db_upgrade(tmp_path: Path, command: str) -> None:
    """Before: `siyu serve` on a new PostgreSQL database crashed with UndefinedTable on the first request."""
    from siyu import config

    data = tmp_path / "ws"
    config.write_workspace_config(data)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(app, [command, "--data", str(data)], env={"SIYU_DATABASE_URL": url})
    assert r.exit_code == 2, r.output
    assert "no siyu schema" in r.output and f"siyu db upgrade --data {data}" in r.output
    assert "Traceback" not in r.output
    up = runner.invoke(app, ["db", "upgrade", "--data", str(data)], env={"SIYU_DATABASE_URL": url})
    assert up.exit_code == 0, up.output


def test_starting_on_an_older_schema_says_to_run_db_upgrade(tmp_path: Path) -> None:
    from siyu import config
    from siyu.kit import migrate

    data = tmp_path / "ws"
    config.write_workspace_config(data)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "c84593e96cf9")  # the first schema siyu ever had
    r = runner.invoke(app, ["worker", "--data", str(data)], env={"SIYU_DATABASE_URL": url})
    assert r.exit_code == 2 and "older schema" in r.output and "siyu db upgrade" in r.output, r.output


def _key_of(folder: Path) -> str:
    from siyu import config

    return config.load(folder).secret_key.get_secret_value()


def test_a_second_host_gets_the_installations_secret_key_or_is_told_how(tmp_path: Path) -> None:
    """Before: `siyu init` on a second host made a new key, and logins on one serve were refused by the other."""
    shared = {"SIYU_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    first, second = tmp_path / "host1", tmp_path / "host2"
    assert runner.invoke(app, ["init", str(first)], env=shared).exit_code == 0

    plain = runner.invoke(app, ["init", str(second)], env=shared)
    assert plain.exit_code == 2 and "already belongs to a siyu installation" in plain.output
    assert "--secret-key" in plain.output and not (second / "siyu.toml").exists(), "nothing half-made"

    wrong = runner.invoke(app, ["init", str(second), "--secret-key", "not-the-key"], env=shared)
    assert wrong.exit_code == 2 and "not the one" in wrong.output

    ok = runner.invoke(app, ["init", str(second), "--secret-key", _key_of(first)], env=shared)
    assert ok.exit_code == 0, ok.output
    assert "password" not in ok.output and "already has its users" in ok.output
    assert _key_of(second) == _key_of(first)
    assert oct((second / "siyu.toml").stat().st_mode)[-3:] == "600"


def test_a_serve_with_another_secret_key_is_refused_until_the_change_is_confirmed(tmp_path: Path) -> None:
    from siyu import config
    from siyu.kit.db import make_engine, make_sessionmaker
    from siyu.worker.preflight import check_secret_key

    shared = {"SIYU_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    first = tmp_path / "host1"
    assert runner.invoke(app, ["init", str(first)], env=shared).exit_code == 0
    # a copied workspace whose key someone replaced by hand (or SIYU_SECRET_KEY set differently on one host)
    r = runner.invoke(app, ["serve", "--data", str(first), "--port", "1"],
                      env={**shared, "SIYU_SECRET_KEY": "another-key"})
    assert r.exit_code == 2, r.output
    assert "secret key is not the one" in r.output and "siyu.toml" in r.output

    forgot = runner.invoke(app, ["db", "forget-secret-key", "--data", str(first)], env=shared)
    assert forgot.exit_code == 0 and "Forgot" in forgot.output
    engine = make_engine(config.load(first, database_url=shared["SIYU_DATABASE_URL"]).db_url)
    try:
        check_secret_key(make_sessionmaker(engine), 1, "another-key")  # the next process records its key
        check_secret_key(make_sessionmaker(engine), 1, "another-key")
    finally:
        engine.dispose()


def test_init_with_siyu_secret_key_keeps_the_key_out_of_the_file(tmp_path: Path) -> None:
    data = tmp_path / "ws"
    r = runner.invoke(app, ["init", str(data)], env={"SIYU_SECRET_KEY": "from-the-vault"})
    assert r.exit_code == 0, r.output
    text = (data / "siyu.toml").read_text()
    assert "from-the-vault" not in text and "secret_key =" not in text


def test_serve_says_what_it_runs() -> None:
    from siyu import config
    from siyu.cli import serve_summary

    pg = config.Settings(database_url="postgresql+psycopg://siyu:pw@db/siyu", queue_url="redis://q:6379/0")
    lines = "\n".join(serve_summary(pg, host="0.0.0.0", port=8001, workers=0, scheduler=True,
                                    base_url_set=False, leader_kind="PostgreSQL advisory lock"))
    assert "Delivery: none in this process" in lines and "siyu worker" in lines
    assert "Scheduler: on" in lines and "leader" in lines
    assert "SIYU_BASE_URL" in lines and "pw" not in lines
    off = "\n".join(serve_summary(pg, host="0.0.0.0", port=8001, workers=2, scheduler=False, base_url_set=True,
                                  leader_kind=None))
    assert "Delivery: 2 worker threads" in off and "Scheduler: off" in off and "siyu scheduler" in off


def test_serve_with_no_workers_still_runs_the_scheduler(tmp_path: Path) -> None:
    """Before: `--workers 0` silently turned the scheduler off, even with `--scheduler`. Now the periodic jobs are
    enqueued (for the `siyu worker` processes to run: here there is none, so they wait in the queue)."""
    from huey import SqliteHuey

    from tests.durability.conftest import Procs, free_port, wait_until

    data = tmp_path / "ws"
    env = _env()
    assert subprocess.run([sys.executable, "-m", "siyu.cli", "init", str(data)], env=env, capture_output=True,
                          timeout=120).returncode == 0
    procs = Procs(tmp_path / "logs")
    try:
        serve = procs.serve(data, free_port(), env, workers=0, scheduler=True)
        assert "Scheduler: on" in serve.log() and "Delivery: none" in serve.log()
        queue = SqliteHuey("siyu", filename=str(data / "queue.db"))

        def enqueued() -> bool:  # raw messages: this process has no task registry to decode them with
            raw = b"".join(queue.storage.enqueued_items())
            return b"delivery.sweep" in raw and b"playbooks.tick" in raw

        wait_until(enqueued, timeout=30, what="the serve's scheduler to enqueue the periodic jobs")
    finally:
        procs.stop_all()
