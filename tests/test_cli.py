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
