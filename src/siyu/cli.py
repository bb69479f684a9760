"""The `siyu` command."""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from siyu import __version__, config

if TYPE_CHECKING:
    from siyu.runtime import Runtime

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


def _connector_app() -> typer.Typer:
    from siyu.integrations.cli import app as connector_app

    return connector_app


app.add_typer(_connector_app(), name="connector")


def _wecom_fake_command() -> None:
    from siyu.wecom_fake.cli import wecom_fake

    app.command("wecom-fake")(wecom_fake)


_wecom_fake_command()
out = Console(soft_wrap=True)  # no wrapping at 80 columns in logs and pipes
err = Console(stderr=True, soft_wrap=True)

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


def _preflight(settings: config.Settings, data: Path) -> None:
    """Stop with the operator's next step when the database has no (or another) schema."""
    from siyu.worker.preflight import PreflightError, check_schema

    try:
        check_schema(settings.db_url, str(data))
    except PreflightError as e:
        err.print(f"[red]Cannot start:[/] {escape(str(e))}")
        raise typer.Exit(2) from None


def _check_key(rt: Runtime) -> None:
    from siyu.runtime import DEFAULT_WORKSPACE
    from siyu.worker.preflight import PreflightError, check_secret_key

    try:
        check_secret_key(rt.sessions, DEFAULT_WORKSPACE, rt.settings.secret_key.get_secret_value())
    except PreflightError as e:
        rt.close()
        err.print(f"[red]Cannot start:[/] {escape(str(e))}")
        raise typer.Exit(2) from None


def _where(settings: config.Settings) -> str:
    from siyu.worker.preflight import safe_url

    queue = safe_url(settings.queue_url) if settings.is_redis_queue and settings.queue_url else \
        str(settings.queue_path)
    return f"database {safe_url(settings.db_url)}, queue {queue}"


def _print_admin(password: str | None, data: Path) -> None:
    if password:
        out.print("[bold green]Created the first admin.[/] Log in with:")
        out.print(f"  username: [bold]admin[/]\n  password: [bold]{password}[/]")
        out.print(f"  (also saved in {data / 'initial-admin-password.txt'}; delete it once you have changed it)")


@app.command()
def init(
    data: Annotated[Path, typer.Argument(help="workspace folder")] = DEFAULT_DATA,
    secret_key: Annotated[str | None, typer.Option(
        "--secret-key", help="the installation's secret key, for a second host of an existing installation "
                             "(default: a new one, or SIYU_SECRET_KEY when set)")] = None,
) -> None:
    """Create a workspace: config file with a secret key, database, first admin (printed once)."""
    from siyu.workspace import init as do_init

    _write_config(data, secret_key)
    res = do_init(data)
    from siyu.runtime import Runtime

    rt = Runtime(res.settings, immediate=True)
    try:
        _check_key(rt)
    finally:
        rt.close()
    out.print(f"Workspace ready in [bold]{data}[/] ({res.settings.db_url.split('://')[0]}).")
    if res.admin_password is None and secret_key:
        out.print("This database already has its users: log in with an existing one.")
    _print_admin(res.admin_password, data)


def _write_config(data: Path, secret_key: str | None) -> None:
    """The workspace's siyu.toml, before `workspace.init` (which keeps an existing file as it is).

    A second host of an installation must sign sessions with the installation's key: `--secret-key` writes
    that key; SIYU_SECRET_KEY leaves the key out of the file (the environment provides it); with neither, a new
    key is made, unless the database already belongs to an installation (then that would be the wrong key)."""
    from siyu.worker.preflight import key_fingerprint

    cfg = data / config.CONFIG_FILE
    if cfg.exists():
        if secret_key and config.load(data).secret_key.get_secret_value() != secret_key:
            err.print(f"[red]{cfg} already holds another secret key.[/] Edit it by hand if you mean to replace "
                      "it.")
            raise typer.Exit(2)
        return
    env_key = os.environ.get("SIYU_SECRET_KEY", "")
    recorded = _recorded_key_check(config.load(data))
    key = secret_key or env_key
    if recorded is not None and not key:
        err.print("[red]This database already belongs to a siyu installation[/] with its own secret key; a new "
                  "key here would make the other hosts refuse this one's logins (and the other way round).\n"
                  f"Copy siyu.toml from an existing host's workspace folder into {data}, or run "
                  f"`siyu init {data} --secret-key KEY` with the key from that file.")
        raise typer.Exit(2)
    if recorded is not None and key_fingerprint(key) != recorded:
        err.print("[red]This secret key is not the one this database's installation uses.[/] Take it from "
                  "siyu.toml of an existing host's workspace folder.")
        raise typer.Exit(2)
    if not secret_key and not env_key:
        config.write_workspace_config(data)
        return
    data.mkdir(parents=True, exist_ok=True)
    # json.dumps quotes and escapes the way a TOML basic string does.
    line = f"secret_key = {json.dumps(secret_key)}\n" if secret_key else "# secret_key: from SIYU_SECRET_KEY\n"
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not for a moment
    with os.fdopen(fd, "w") as fh:
        fh.write("# siyu workspace settings; SIYU_* environment variables override these.\n"
                 f'{line}timezone = "Asia/Shanghai"\n')


def _recorded_key_check(settings: config.Settings) -> str | None:
    """The secret key fingerprint an existing installation recorded in this database, if any."""
    from siyu.kit.db import make_engine, make_sessionmaker
    from siyu.runtime import DEFAULT_WORKSPACE
    from siyu.worker.preflight import recorded_fingerprint

    if settings.db_url.startswith("sqlite") and not (settings.data_dir / "siyu.db").exists() and \
            settings.database_url is None:
        return None  # a new embedded workspace: no database yet
    engine = make_engine(settings.db_url)
    try:
        return recorded_fingerprint(make_sessionmaker(engine), DEFAULT_WORKSPACE)
    finally:
        engine.dispose()


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


@db_app.command("forget-secret-key")
def db_forget_secret_key(data: DataOpt = DEFAULT_DATA) -> None:
    """After changing the secret key on every host on purpose: let the next process record the new one."""
    from siyu.kit.db import make_engine, make_sessionmaker
    from siyu.runtime import DEFAULT_WORKSPACE
    from siyu.worker.preflight import forget_secret_key

    settings = _require_workspace(data)
    _preflight(settings, data)
    engine = make_engine(settings.db_url)
    try:
        forgot = forget_secret_key(make_sessionmaker(engine), DEFAULT_WORKSPACE)
    finally:
        engine.dispose()
    out.print("Forgot the recorded secret key; the next siyu process records its own." if forgot
              else "No secret key was recorded.")


@app.command()
def serve(
    data: DataOpt = DEFAULT_DATA,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(
        help="delivery worker threads in this process (0: none; run `siyu worker` processes instead)")] = 2,
    scheduler: Annotated[bool, typer.Option(
        help="run the periodic jobs (outbox sweeper, calendar, playbook steps) here while this process is the "
             "scheduler leader; several serves and `siyu scheduler`s elect one leader")] = True,
) -> None:
    """Run the API and console; by default also delivery worker threads and the scheduler (one process does it
    all). Prints at startup what this process runs."""
    import uvicorn

    from siyu.app import create_app
    from siyu.runtime import Runtime
    from siyu.worker.leader import leader_for
    from siyu.worker.queue import start_embedded

    settings = _require_workspace(data)
    _preflight(settings, data)
    base_url_set = "base_url" in settings.model_fields_set
    if not base_url_set and settings.base_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        settings.base_url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    rt = Runtime(settings)
    rt.ensure_workspace()
    _check_key(rt)
    leader = leader_for(settings) if scheduler else None
    for line in serve_summary(settings, host=host, port=port, workers=workers, scheduler=scheduler,
                              base_url_set=base_url_set, leader_kind=leader.describe() if leader else None):
        out.print(line)
    # The scheduler runs whenever it is asked for, with or without delivery threads beside it.
    consumer = start_embedded(rt.huey, workers, periodic=True, leader=leader) if scheduler else \
        (start_embedded(rt.huey, workers, periodic=False) if workers > 0 else None)
    pw = data / "initial-admin-password.txt"
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


def serve_summary(settings: config.Settings, *, host: str, port: int, workers: int, scheduler: bool,
                  base_url_set: bool, leader_kind: str | None) -> list[str]:
    """What a `siyu serve` process runs, in the words of its flags: printed at startup so nothing runs unsaid."""
    lines = [f"[bold]siyu {__version__}[/] API and console on [link]http://{host}:{port}[/link] "
             f"({escape(_where(settings))})"]
    if workers > 0:
        lines.append(f"Delivery: {workers} worker thread{'s' if workers != 1 else ''} in this process "
                     "(`--workers 0` for none).")
    else:
        lines.append("Delivery: none in this process (`--workers 0`); run `siyu worker` beside it, or nothing "
                     "is delivered.")
    if scheduler:
        lines.append(f"Scheduler: on; the periodic jobs run here while this process is the leader "
                     f"({escape(leader_kind or 'lock')}), other serves and `siyu scheduler`s stand by "
                     "(`--no-scheduler` to turn it off).")
    else:
        lines.append("Scheduler: off (`--no-scheduler`); run one `siyu scheduler` (or a serve without "
                     "`--no-scheduler`) for the sweeper, calendar and playbook steps.")
    if base_url_set:
        lines.append(f"QR codes and links point at {escape(settings.base_url)} (SIYU_BASE_URL).")
    else:
        warn = "[yellow]" if settings.db_url.startswith("postgresql") else ""
        lines.append(f"{warn}QR codes and links point at {escape(settings.base_url)}, this process's own address: "
                     f"behind a load balancer set SIYU_BASE_URL to the address people reach.{'[/]' if warn else ''}")
    return lines


def _consumer(data: Path, workers: int, periodic: bool) -> None:
    from siyu.runtime import Runtime
    from siyu.worker.leader import leader_for
    from siyu.worker.queue import SiyuConsumer

    settings = _require_workspace(data)
    _preflight(settings, data)
    rt = Runtime(settings)
    leader = leader_for(settings) if periodic else None
    # SIGTERM (systemd, docker stop) finishes in-flight deliveries instead of leaving them to the sweeper.
    consumer = SiyuConsumer(rt.huey, leader=leader, workers=workers, worker_type="thread", periodic=periodic,
                            check_worker_health=True, graceful_signal="TERM")
    if periodic:
        assert leader is not None
        out.print(f"scheduler started ({workers} delivery thread{'s' if workers != 1 else ''}, "
                  f"{escape(_where(settings))}): periodic jobs run here while this process is the leader "
                  f"({escape(leader.describe())}); others stand by")
    else:
        out.print(f"worker started ({workers} threads, {escape(_where(settings))})")
    consumer.run()


@app.command()
def worker(data: DataOpt = DEFAULT_DATA,
           threads: Annotated[int, typer.Option(help="worker threads")] = 4) -> None:
    """Deliver outbox actions (scale out: run several, on PostgreSQL + Redis)."""
    _consumer(data, threads, periodic=False)


@app.command()
def scheduler(data: DataOpt = DEFAULT_DATA) -> None:
    """Run the periodic jobs (outbox sweeper, calendar, playbook steps). Several may run: one leads, the others
    stand by and take over when it stops."""
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
