"""`siyu connector add <kind> NAME | list | test NAME | remove NAME`: connector instances from the shell.

Secrets are never printed back: `list` says only whether each is set. A secret left out of `add` is generated and
printed once (like an API token), so the sending side can be configured with it. Every change is audited as
`cli:<os user>`. Bad input is a one-line message and exit code 1 (2 for a folder that is no workspace).
"""

from __future__ import annotations

import getpass
import secrets as random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from siyu.kit.errors import SiyuError

if TYPE_CHECKING:
    from siyu.runtime import Runtime

app = typer.Typer(help="Connectors: the platforms siyu talks to (webhook bridges now; WeCom, Matrix, email, SMS "
                       "to come).", no_args_is_help=True)
add_app = typer.Typer(help="Add a connector of a kind.", no_args_is_help=True)
app.add_typer(add_app, name="add")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DataOpt = Annotated[Path, typer.Option("--data", "-d", help="workspace folder", envvar="SIYU_DATA_DIR")]
DEFAULT_DATA = Path("siyu-data")
Name = Annotated[str, typer.Argument(help="the connector's name (its platform name in siyu), e.g. tg")]


def _runtime(data: Path) -> Runtime:
    from siyu.cli import _preflight, _require_workspace
    from siyu.runtime import Runtime

    settings = _require_workspace(data)
    _preflight(settings, data)
    return Runtime(settings, immediate=True)


def _fail(e: SiyuError) -> NoReturn:
    """One line per problem; a settings error names each field."""
    if e.code == "validation_error" and isinstance(e.detail, list):
        for item in e.detail:
            field = ".".join(str(p) for p in item.get("loc", ())) or "settings"
            err.print(f"[red]{escape(field)}[/]: {escape(str(item.get('msg', '')))}")
        raise typer.Exit(1)
    err.print(f"[red]{escape(e.message)}[/] ({e.code})")
    raise typer.Exit(1)


def _who() -> Any:
    from siyu.auth.service import Principal
    from siyu.runtime import DEFAULT_WORKSPACE

    try:
        user = getpass.getuser()
    except Exception:  # no login name in a container: still say it was the CLI
        user = "unknown"
    return Principal(kind="cli", id=0, name=user[:80], role="admin", workspace_id=DEFAULT_WORKSPACE)


@add_app.command("webhook")
def add_webhook(
    name: Name,
    secret: Annotated[str | None, typer.Option(
        help="shared HMAC-SHA256 key the sender signs its callbacks with (16+ characters); left out: one is "
             "generated and printed once")] = None,
    outbound_url: Annotated[str | None, typer.Option(
        help="where siyu posts group posts and direct messages, signed; left out: inbound only")] = None,
    outbound_secret: Annotated[str | None, typer.Option(
        help="key siyu signs its outbound calls with (default: --secret)")] = None,
    tolerance_seconds: Annotated[int, typer.Option(help="how far a callback's timestamp may be from the clock")] = 300,
    timeout_seconds: Annotated[float, typer.Option(help="how long to wait for the outbound URL")] = 10.0,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """A signed webhook bridge: events in at /callbacks/webhook/NAME, actions out to --outbound-url."""
    generated = secret is None
    values = {"secret": secret or random.token_urlsafe(32), "outbound_url": outbound_url,
              "outbound_secret": outbound_secret, "tolerance_seconds": tolerance_seconds,
              "timeout_seconds": timeout_seconds}
    inst = _add(data, "webhook", name, values)
    out.print(f"Connector [bold]{escape(inst[0])}[/] (webhook) added.")
    out.print(f"  callback URL: {escape(inst[1])}/callbacks/webhook/{escape(inst[0])}")
    if generated:
        out.print(f"  signing secret: [bold]{values['secret']}[/]  (shown only this once: give it to the sender)")
    out.print(f"  {escape(inst[2])}")


def _add(data: Path, kind: str, name: str, values: dict[str, Any]) -> tuple[str, str, str]:
    from siyu.auth import service as auth
    from siyu.connectors import describe, instances
    from siyu.runtime import DEFAULT_WORKSPACE

    rt = _runtime(data)
    try:
        key = rt.settings.secret_key.get_secret_value()
        with rt.tx() as s:
            inst = instances.add(s, DEFAULT_WORKSPACE, kind, name, values, secret_key=key, now=rt.clock.now(),
                                 reserved=rt.connectors.built_in())
            auth.audit(s, _who(), "connector.add", "connector", inst.name, {"kind": kind}, now=rt.clock.now())
            caps = rt.connectors.of(inst).capabilities(inst.settings)
            return inst.name, rt.settings.base_url, describe.sentence(caps)
    except SiyuError as e:
        _fail(e)
    finally:
        rt.close()


@app.command("list")
def list_connectors(data: DataOpt = DEFAULT_DATA) -> None:
    """The connectors, their settings (secrets only as set / not set), what they can do and how they are doing."""
    from siyu.connectors import describe, health, instances
    from siyu.runtime import DEFAULT_WORKSPACE

    rt = _runtime(data)
    try:
        with rt.read() as s:
            rows = instances.page(s, DEFAULT_WORKSPACE, limit=200).items
            found = health.statuses(s, rt.connectors, rows, rt.clock.now(),
                                    secret_key=rt.settings.secret_key.get_secret_value(),
                                    base_url=rt.settings.base_url)
    finally:
        rt.close()
    if not found:
        out.print("No connector yet. Add one with `siyu connector add webhook NAME`.")
        return
    blocks = []  # one block per connector, one fact per line: it reads in a terminal and greps in a script
    for st in found:
        shown = [f"{f.name}: {'set' if f.value else 'not set'}" if f.secret else f"{f.name}: {f.value}"
                 for f in st.settings if f.secret or f.value is not None]
        last_in = st.last_inbound_at.isoformat(timespec="seconds") if st.last_inbound_at else "never"
        blocks.append("\n".join([
            f"[bold]{escape(st.name)}[/] ({st.kind})" + ("" if st.usable else " [red]unusable[/]"),
            f"  callback URL: {escape(st.callback_url)}",
            f"  settings: {escape('; '.join(shown))}",
            f"  can do: {escape(describe.sentence(st.capabilities))}",
            f"  last callback: {last_in}; errors in the last hour: {st.last_hour.errors} of {st.last_hour.calls} "
            "calls",
            f"  last error: {escape(st.last_error[:200]) or 'none'}",
        ]))
    out.print("\n\n".join(blocks))


@app.command("test")
def test_connector(name: Name, data: DataOpt = DEFAULT_DATA) -> None:
    """Run the connector's self-check (a webhook: a signed ping to its outbound URL). Exit code 1 if it fails."""
    from siyu.connectors import instances
    from siyu.connectors.base import SelfTest
    from siyu.runtime import DEFAULT_WORKSPACE

    rt = _runtime(data)
    try:
        with rt.read() as s:
            inst = instances.get(s, DEFAULT_WORKSPACE, name)
            connector = rt.connectors.of(inst)
        if not isinstance(connector, SelfTest):
            out.print(f"{escape(name)}: this kind of connector has no self-check.")
            return
        check = connector.self_test(rt.clock.now())  # no transaction open: it may take seconds
    except SiyuError as e:
        _fail(e)
    finally:
        rt.close()
    if check.ok:
        out.print(f"[green]{escape(name)}: OK[/] — {escape(check.message)}")
    else:
        err.print(f"[red]{escape(name)}: failed[/] — {escape(check.message)}")
        raise typer.Exit(1)


@app.command("remove")
def remove_connector(name: Name, data: DataOpt = DEFAULT_DATA) -> None:
    """Remove a connector (refused while the outbox still has actions waiting for it)."""
    from siyu.auth import service as auth
    from siyu.connectors import instances
    from siyu.runtime import DEFAULT_WORKSPACE

    rt = _runtime(data)
    try:
        with rt.tx() as s:
            inst = instances.get(s, DEFAULT_WORKSPACE, name)
            instances.remove(s, inst)
            auth.audit(s, _who(), "connector.remove", "connector", name, now=rt.clock.now())
    except SiyuError as e:
        _fail(e)
    finally:
        rt.close()
    out.print(f"Connector [bold]{escape(name)}[/] removed.")
