"""Settings: environment variables (SIYU_ prefix) over the workspace's own `siyu.toml`, over defaults.

The workspace folder is self-contained: `siyu init DIR` writes `DIR/siyu.toml` with a generated secret key, so
`siyu serve --data DIR` needs nothing else; SIYU_DATABASE_URL / SIYU_QUEUE_URL move storage to PostgreSQL / Redis.
"""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

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
    # Addresses / CIDRs of reverse proxies whose X-Forwarded-For is believed (the login throttle's client
    # address); SIYU_TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8". Default none: the connection's peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request bodies larger than this are refused with 413 while they stream in (bytes).
    max_body_bytes: int = 1024 * 1024
    # The larger limit of the routes that take files: SOP import, moderation word lists.
    max_upload_bytes: int = 16 * 1024 * 1024
    # A live event that occurred more than this many seconds before it arrives is stored as history: it counts
    # and updates state, but no automation greets, answers or removes anyone for it.
    live_staleness_seconds: int = 900
    # Seconds between a standby scheduler's attempts to become the leader (and the leader's checks that it
    # still is): how long periodic jobs pause when the leading process dies.
    leader_retry_seconds: float = 5.0
    # Seconds a playbook step may stay "running" before the tick treats it as left behind by a crash.
    step_lease_seconds: int = 300

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p for p in v.replace(",", " ").split() if p]
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, v: list[str]) -> list[str]:
        import ipaddress

        for p in v:
            ipaddress.ip_network(p, strict=False)  # ValueError names the bad entry
        return v

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
