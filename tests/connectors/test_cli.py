"""`siyu connector add | list | test | remove` as an operator uses them: clear messages, no tracebacks, and no
secret ever printed back (except a generated one, once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from siyu.cli import app
from siyu.connectors.webhook import signing
from tests.conftest import BACKEND
from tests.connectors.receiver import receiver

runner = CliRunner()
pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the CLI's own workspace is SQLite; covered once")
SECRET = "whsec-cli-0123456789abcdef"


@pytest.fixture
def data(tmp_path: Path) -> str:
    folder = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    return str(folder)


def run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception  # no traceback
    return r.exit_code, r.output


def test_add_list_test_remove(data: str) -> None:
    with receiver() as hook:
        code, text = run("connector", "add", "webhook", "tg", "--data", data, "--secret", SECRET,
                         "--outbound-url", hook.url)
        assert code == 0, text
        assert "Connector tg (webhook) added" in text and "/callbacks/webhook/tg" in text
        assert "group posts: automatic" in text and SECRET not in text

        code, text = run("connector", "list", "--data", data)
        assert code == 0 and "tg" in text and "secret: set" in text and "outbound_secret: not set" in text
        assert SECRET not in text and hook.url in text

        code, text = run("connector", "test", "tg", "--data", data)
        assert code == 0 and "tg: OK" in text, text
        (ping,) = hook.got
        assert ping.json["type"] == "ping" and ping.headers["x-siyu-event"] == "ping"
        ts = int(ping.headers["x-siyu-timestamp"])
        assert ping.headers["x-siyu-signature"] == "sha256=" + signing.signature(SECRET, ts, ping.body)

    code, text = run("connector", "test", "tg", "--data", data)  # the receiver is gone now
    assert code == 1 and "tg: failed" in text and "cannot be reached" in text

    code, text = run("connector", "remove", "tg", "--data", data)
    assert code == 0 and "removed" in text
    code, text = run("connector", "list", "--data", data)
    assert code == 0 and "No connector yet" in text


def test_a_left_out_secret_is_generated_and_shown_once(data: str) -> None:
    code, text = run("connector", "add", "webhook", "shop", "--data", data)
    assert code == 0 and "signing secret:" in text and "shown only this once" in text
    generated = text.split("signing secret:")[1].split()[0]
    assert len(generated) >= 32
    code, text = run("connector", "list", "--data", data)
    assert generated not in text and "group posts: not supported" in text  # inbound only
    code, text = run("connector", "test", "shop", "--data", data)
    assert code == 0 and "inbound only" in text


def test_bad_input_is_a_clear_message(data: str) -> None:
    code, text = run("connector", "add", "webhook", "tg", "--data", data, "--secret", "tiny",
                     "--outbound-url", "ftp://nowhere")
    assert code == 1 and "secret:" in text and "outbound_url:" in text and "tiny" not in text
    code, text = run("connector", "add", "webhook", "Bad Name", "--data", data, "--secret", SECRET)
    assert code == 1 and "not a connector name" in text
    code, text = run("connector", "add", "webhook", "sandbox", "--data", data, "--secret", SECRET)
    assert code == 1 and "connector_name_taken" in text
    assert run("connector", "add", "webhook", "tg", "--data", data, "--secret", SECRET)[0] == 0
    code, text = run("connector", "add", "webhook", "tg", "--data", data, "--secret", SECRET)
    assert code == 1 and "a connector named 'tg' exists" in text
    for verb in ("test", "remove"):
        code, text = run("connector", verb, "nope", "--data", data)
        assert code == 1 and "no connector named 'nope'" in text
