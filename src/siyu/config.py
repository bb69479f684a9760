"""Settings: environment variables (SIYU_ prefix) over the workspace's own `siyu.toml`, over defaults.

The workspace folder is self-contained: `siyu init DIR` writes `DIR/siyu.toml` with a generated secret key, so
`siyu serve --data DIR` needs nothing else; SIYU_DATABASE_URL / SIYU_QUEUE_URL move storage to PostgreSQL / Redis.
"""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILE = "siyu.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", extra="ignore")

    data_dir: Path = Field(default=Path("siyu-data"))
    database_url: str | None = None
    queue_url: str | None = None
    secret_key: SecretStr = Field(default=SecretStr(""))
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    base_url: str = "http://127.0.0.1:8000"
    workers: int = 2
    # Seconds an action may stay in "sending" before the sweeper reconciles it with the platform.
    sending_lease_seconds: int = 60
    max_attempts: int = 5

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the workspace file, which is passed in as init kwargs by `load`.
        return env_settings, init_settings

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'siyu.db').resolve()}"

    @property
    def queue_path(self) -> Path:
        return (self.data_dir / "queue.db").resolve()

    @property
    def is_redis_queue(self) -> bool:
        return bool(self.queue_url and self.queue_url.startswith("redis"))


def load(data_dir: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings for a workspace folder; values in `overrides` beat the file but not the environment."""
    base = Settings()
    folder = Path(data_dir) if data_dir is not None else base.data_dir
    values: dict[str, Any] = {}
    cfg = folder / CONFIG_FILE
    if cfg.exists():
        with cfg.open("rb") as fh:
            values.update(tomllib.load(fh))
    values.update(overrides)
    values["data_dir"] = folder
    return Settings(**values)


def write_workspace_config(folder: Path, *, timezone: str = "Asia/Shanghai") -> Path:
    """Create the workspace config once; an existing file (and its secret key) is never overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(
            "# siyu workspace settings; SIYU_* environment variables override these.\n"
            f'secret_key = "{secrets.token_urlsafe(32)}"\n'
            f'timezone = "{timezone}"\n'
        )
        cfg.chmod(0o600)
    return cfg
