"""Creating and opening a workspace folder: config file, database schema, default workspace, first admin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from siyu import config
from siyu.auth import service as auth
from siyu.kit import migrate
from siyu.runtime import DEFAULT_WORKSPACE, Runtime

PASSWORD_FILE = "initial-admin-password.txt"


@dataclass
class InitResult:
    settings: config.Settings
    admin_password: str | None


def init(folder: Path) -> InitResult:
    """Idempotent: a second init upgrades the schema and changes nothing else."""
    config.write_workspace_config(folder)
    settings = config.load(folder)
    migrate.upgrade(settings.db_url)
    rt = Runtime(settings, immediate=True)
    try:
        rt.ensure_workspace()
        with rt.tx() as s:
            password = auth.ensure_first_admin(s, DEFAULT_WORKSPACE)
    finally:
        rt.close()
    if password:
        pw = folder / PASSWORD_FILE
        pw.write_text(f"username: admin\npassword: {password}\n")
        pw.chmod(0o600)
    return InitResult(settings, password)


def is_initialized(folder: Path) -> bool:
    return (folder / config.CONFIG_FILE).exists()
