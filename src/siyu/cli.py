"""The `siyu` command."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from siyu import __version__, config

app = typer.Typer(help="siyu: private-domain community growth engine.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Console users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _playbook_app() -> typer.Typer:
    from siyu.playbooks.cli import app as playbook_app

    return playbook_app


app.add_typer(_playbook_app(), name="playbook")
out = Console()
err = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option("--data", "-d", help="workspace folder", envvar="SIYU_DATA_DIR")]
DEFAULT_DATA = Path("siyu-data")


def _version(value: bool) -> None:
    if value:
        out.print(f"siyu {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version")] = False,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("siyu").setLevel(os.environ.get("SIYU_LOG_LEVEL", "INFO"))


def _require_workspace(data: Path) -> config.Settings:
    from siyu.workspace import is_initialized

    if not is_initialized(data) and not os.environ.get("SIYU_SECRET_KEY"):
        err.print(f"[red]{data} is not a siyu workspace.[/] Run `siyu init {data}` first.")
        raise typer.Exit(2)
    return config.load(data)


def _print_admin(password: str | None, data: Path) -> None:
    if password:
        out.print("[bold green]Created the first admin.[/] Log in with:")
        out.print(f"  username: [bold]admin[/]\n  password: [bold]{password}[/]")
        out.print(f"  (also saved in {data / 'initial-admin-password.txt'}; delete it once you have changed it)")


@app.command()
def init(data: Annotated[Path, typer.Argument(help="workspace folder")] = DEFAULT_DATA) -> None:
    """Create a workspace: config file with a secret key, database, first admin (printed once)."""
    from siyu.workspace import init as do_init

    res = do_init(data)
    out.print(f"Workspace ready in [bold]{data}[/] ({res.settings.db_url.split('://')[0]}).")
    _print_admin(res.admin_password, data)


@app.command()
def demo(data: Annotated[Path, typer.Argument(help="workspace folder")] = DEFAULT_DATA) -> None:
    """Create (if needed) a workspace and fill it with a demo: communities, groups, codes, contacts with history."""
    from siyu.demo.populate import populate
    from siyu.workspace import init as do_init

    res = do_init(data)
    _print_admin(res.admin_password, data)
    made = populate(res.settings)
    if made:
        out.print(f"Demo data added: {made}")
    else:
        out.print("Demo data already present; nothing added.")


@db_app.command("upgrade")
def db_upgrade(data: DataOpt = DEFAULT_DATA) -> None:
    """Apply schema migrations."""
    from siyu.kit import migrate

    settings = _require_workspace(data)
    migrate.upgrade(settings.db_url)
    out.print("Database is at the newest schema.")


@app.command()
def serve(
    data: DataOpt = DEFAULT_DATA,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="delivery worker threads in this process (0: none)")] = 2,
    scheduler: Annotated[bool, typer.Option(help="run periodic jobs (sweeper, schedules) here")] = True,
) -> None:
    """Run the API and console, with delivery workers and the scheduler in the same process."""
    import uvicorn

    from siyu.app import create_app
    from siyu.runtime import Runtime
    from siyu.worker.queue import start_embedded

    settings = _require_workspace(data)
    if settings.base_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        settings.base_url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    rt = Runtime(settings)
    rt.ensure_workspace()
    consumer = start_embedded(rt.huey, workers, periodic=scheduler) if workers > 0 else None
    if consumer is None and scheduler:
        out.print("[yellow]--workers 0: this process runs no delivery and no periodic jobs; "
                  "run `siyu worker` and one `siyu scheduler` beside it.[/]")
    pw = data / "initial-admin-password.txt"
    out.print(f"[bold]siyu {__version__}[/] console and API on [link]http://{host}:{port}[/link]")
    if pw.exists():
        out.print(f"Log in as [bold]admin[/]; the password is in {pw}.")
    else:
        out.print("Log in with your console user (create one with `siyu user add NAME --role admin`).")
    try:
        uvicorn.run(create_app(runtime=rt), host=host, port=port, log_level="warning")
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        rt.close()


def _consumer(data: Path, workers: int, periodic: bool) -> None:
    from siyu.runtime import Runtime

    settings = _require_workspace(data)
    rt = Runtime(settings)
    # SIGTERM (systemd, docker stop) finishes in-flight deliveries instead of leaving them to the sweeper.
    consumer = rt.huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                       check_worker_health=True, graceful_signal="TERM")
    out.print(f"{'scheduler' if periodic else 'worker'} started ({workers} threads, queue "
              f"{'redis' if settings.is_redis_queue else settings.queue_path})")
    consumer.run()


@app.command()
def worker(data: DataOpt = DEFAULT_DATA,
           threads: Annotated[int, typer.Option(help="worker threads")] = 4) -> None:
    """Deliver outbox actions (scale out: run several, on PostgreSQL + Redis)."""
    _consumer(data, threads, periodic=False)


@app.command()
def scheduler(data: DataOpt = DEFAULT_DATA) -> None:
    """Run periodic jobs (the outbox sweeper, schedules). Run one per installation."""
    _consumer(data, 1, periodic=True)


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | operator | sales | viewer")] = "operator",
    password: Annotated[str | None, typer.Option(help="leave out to generate one")] = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Add a console user; prints the password when generated."""
    from siyu.auth import service as auth
    from siyu.kit.errors import SiyuError
    from siyu.runtime import DEFAULT_WORKSPACE, Runtime

    rt = Runtime(_require_workspace(data), immediate=True)
    generated = password is None
    pw = password or secrets.token_urlsafe(12)
    try:
        with rt.tx() as s:
            auth.create_user(s, DEFAULT_WORKSPACE, username, pw, role)
    except SiyuError as e:
        err.print(f"[red]{escape(e.message)}[/] ({e.code})")
        raise typer.Exit(1) from None
    out.print(f"User [bold]{username}[/] ({role}) created." + (f" Password: [bold]{pw}[/]" if generated else ""))


@user_app.command("passwd")
def user_passwd(username: str, data: DataOpt = DEFAULT_DATA) -> None:
    """Set a new random password for a user and print it."""
    from sqlalchemy import select

    from siyu.auth import service as auth
    from siyu.models import User
    from siyu.runtime import Runtime

    rt = Runtime(_require_workspace(data), immediate=True)
    pw = secrets.token_urlsafe(12)
    with rt.tx() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            err.print(f"[red]no user {username!r}[/]")
            raise typer.Exit(1)
        auth.set_password(s, user, pw)
    out.print(f"New password for [bold]{username}[/]: [bold]{pw}[/]")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin | operator | sales | viewer")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Create an API token and print it (only its hash is kept)."""
    from siyu.auth import service as auth
    from siyu.kit.errors import SiyuError
    from siyu.runtime import DEFAULT_WORKSPACE, Runtime

    rt = Runtime(_require_workspace(data), immediate=True)
    try:
        with rt.tx() as s:
            _, token = auth.create_token(s, DEFAULT_WORKSPACE, name, role)
    except SiyuError as e:
        err.print(f"[red]{escape(e.message)}[/] ({e.code})")
        raise typer.Exit(1) from None
    print(token)


def main() -> None:
    app()
if __name__ == "__main__":
    main()
